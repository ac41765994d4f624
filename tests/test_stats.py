"""Statistics over seeds: agreement with scipy and with hand computations."""
from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from scipy import stats

from pixelreg.errors import ConfigError
from pixelreg.stats import (auc, compare_conditions, hedges_g, hedges_g_ci, holm, mean_sem, tradeoff,
                            two_sample_test)


def test_holm_hand_example():
    # sorted p: 0.005, 0.01, 0.03, 0.04 -> ×4, ×3, ×2, ×1 = 0.02, 0.03, 0.06, 0.04 -> running max 0.02, 0.03, 0.06, 0.06
    np.testing.assert_allclose(holm([0.01, 0.04, 0.03, 0.005]), [0.03, 0.06, 0.06, 0.02])
    np.testing.assert_allclose(holm([0.5, 0.9]), [1.0, 1.0])  # 2*0.5 = 1; 0.9 raised to the running max
    out = holm([0.01, np.nan, 0.02])  # NaN does not count in m
    np.testing.assert_allclose(out, [0.02, np.nan, 0.02])
    assert holm([]).size == 0


def test_welch_and_permutation_match_scipy():
    rng = np.random.default_rng(0)
    a, b = rng.normal(0.5, 0.02, 7), rng.normal(0.55, 0.05, 7)
    t, p = two_sample_test(a, b, "welch")
    ref = stats.ttest_ind(b, a, equal_var=False)
    assert t == pytest.approx(ref.statistic) and p == pytest.approx(ref.pvalue)
    _, pp = two_sample_test(a, b, "permutation", n_resamples=2000, seed=0)
    ref_p = stats.permutation_test((b, a), lambda x, y, axis=-1: np.mean(x, axis) - np.mean(y, axis), n_resamples=2000,
                                   rng=np.random.default_rng(0)).pvalue
    assert pp == pytest.approx(ref_p, abs=0.02)
    with pytest.raises(ConfigError, match="test"):
        two_sample_test(a, b, "mannwhitney")


def test_hedges_g_hand_computation_and_ci():
    a, b = np.array([1.0, 2.0, 3.0]), np.array([3.0, 4.0, 5.0])
    # pooled sd = 1, d = 2, J = 1 - 3/(4*6 - 9) = 0.8
    assert hedges_g(a, b) == pytest.approx(1.6)
    assert np.isnan(hedges_g([1.0, 1.0], [1.0, 1.0]))
    rng = np.random.default_rng(1)
    x, y = rng.normal(0, 1, 10), rng.normal(1, 1, 10)
    lo, hi = hedges_g_ci(x, y, n_resamples=500)
    assert lo < hedges_g(x, y) < hi
    # 3 vs 3 (the book's seeds): Hedges & Olkin's normal approximation, by hand:
    # se = sqrt(6/9 + 1.6^2/12) = sqrt(0.66667 + 0.21333) = 0.93808; 1.96 * se = 1.83860
    lo, hi = hedges_g_ci(a, b)
    assert (lo, hi) == (pytest.approx(1.6 - 1.83860, abs=1e-4), pytest.approx(1.6 + 1.83860, abs=1e-4))
    assert hedges_g_ci(a, b, method="normal") == (lo, hi)
    with pytest.raises(ConfigError, match="method"):
        hedges_g_ci(a, b, method="exact")


def test_auc_and_mean_sem():
    assert auc([0, 0.5, 1.0], [0.7, 0.7, 0.7]) == pytest.approx(0.7)
    assert auc([0, 0.1, 0.2], [1.0, 0.5, 0.0]) == pytest.approx(0.5)
    np.testing.assert_allclose(auc([0, 1], [[1, 0], [1, 1]]), [0.5, 1.0])
    with pytest.raises(ConfigError, match="epsilons"):
        auc([0.1, 0.0], [1, 1])
    t = pd.DataFrame({"condition": ["u"] * 4, "attack": "g", "epsilon": [0, 0, 0.1, 0.1],
                      "seed": [0, 1, 0, 1], "accuracy": [0.9, 0.8, 0.5, 0.7]})
    out = mean_sem(t)
    assert out["mean"].tolist() == pytest.approx([0.85, 0.6])
    assert out["sem"].tolist() == pytest.approx([stats.sem([0.9, 0.8]), stats.sem([0.5, 0.7])])
    assert out["n"].tolist() == [2, 2]


def _table(seeds=7):
    rng = np.random.default_rng(3)
    rows = []
    for cond, shift in (("unregularized", 0.0), ("S^Th", 0.2)):
        for s in range(seeds):
            for attack in ("gaussian", "fgsm"):
                for e in (0.0, 0.05, 0.1):
                    acc = 0.9 - 3 * e + (shift * e / 0.1) + rng.normal(0, 0.01)
                    rows.append({"condition": cond, "seed": s, "attack": attack, "epsilon": e, "accuracy": acc})
    return pd.DataFrame(rows)


@pytest.mark.parametrize("test", ["welch", "permutation"])
def test_compare_conditions(test):
    out = compare_conditions(_table(), "unregularized", "S^Th", test=test, n_resamples=500)
    assert len(out) == 6
    assert (out["p_holm"] >= out["p"] - 1e-12).all()
    for attack, grp in out.groupby("attack"):
        np.testing.assert_allclose(grp["p_holm"], holm(grp["p"]))  # one Holm family per attack
        sig = dict(zip(grp["epsilon"], grp["significant"]))
        assert sig[0.1] and not sig[0.0]
    assert (out.loc[out.epsilon == 0.1, "diff"] > 0.15).all()
    assert (out.loc[out.epsilon == 0.1, "g_low"] > 0).all()
    with pytest.raises(ConfigError, match="condition"):
        compare_conditions(_table(), "unregularized", "S^pixel")


def test_tradeoff():
    t = pd.DataFrame({"condition": ["unregularized"] * 4 + ["S^Th"] * 4,
                      "attack": "gaussian", "epsilon": [0, 0, 0.1, 0.1] * 2, "seed": [0, 1] * 4,
                      "accuracy": [0.90, 0.92, 0.40, 0.42, 0.88, 0.88, 0.60, 0.62]})
    row = tradeoff(t, "S^Th").iloc[0]
    assert row["C_0"] == pytest.approx(0.91) and row["R_0"] == pytest.approx(0.41)
    assert row["C_N"] == pytest.approx(0.88) and row["R_N"] == pytest.approx(0.61)
    assert row["delta_C"] == pytest.approx(0.03) and row["delta_R"] == pytest.approx(0.20)
    assert row["eps_robust"] == 0.1
