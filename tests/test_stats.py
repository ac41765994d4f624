"""Statistics over seeds: agreement with scipy and with hand computations."""
from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest
from scipy import stats

from pixelreg.errors import ConfigError
from pixelreg.analysis.stats import (PERMUTATION_MIN_N, auc, bonferroni, compare_conditions, interval, pformat,
                            seeds_needed, wald_test, hedges_g, hedges_g_ci, holm, mde,
                            mde_paired, mde_welch, mean_sem, paired_test, power_t, shifted_p, sign_flip_p, tost,
                            tradeoff, two_sample_test, welch_df, welch_test)


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


# ---- one summary per run: primary tests, equivalence, power (issue 13) -----------------------------------


def test_paired_t_hand_computation():
    a, b = [1.0, 2.0, 3.0, 4.0], [2.0, 4.0, 5.0, 5.0]
    # d = 1, 2, 2, 1: mean 1.5, SD sqrt(1/3) = 0.57735, se = 0.288675, t = 5.19615, df = 3
    # t_{3, 0.975} = 3.182446: CI 1.5 ± 0.918694; d_z = 1.5 / 0.57735 = 2.598076; p = 2 sf(5.19615; 3) = 0.013847
    c = paired_test(a, b)
    assert (c.test, c.n, c.n_a, c.n_b, c.df) == ("paired t", 4, 4, 4, 3)
    assert c.estimate == pytest.approx(1.5) and c.se == pytest.approx(0.288675, rel=1e-5)
    assert (c.ci_low, c.ci_high) == (pytest.approx(0.581306, rel=1e-5), pytest.approx(2.418694, rel=1e-5))
    assert c.effect == pytest.approx(2.598076, rel=1e-6) and c.effect_name == "d_z"
    assert c.p == pytest.approx(0.0138468, rel=1e-4)
    assert c.p == pytest.approx(stats.ttest_rel(b, a).pvalue)
    assert math.isnan(c.p_perm) and "cannot go below" in c.perm_note  # n = 4 < 6
    assert c.to_dict()["estimate"] == 1.5 and "a" not in c.to_dict()
    with pytest.raises(ConfigError, match="a/b"):
        paired_test([1.0, 2.0], [1.0])


def test_paired_degenerate_inputs_give_nan():
    one = paired_test([0.5], [0.7])
    assert one.estimate == pytest.approx(0.2) and math.isnan(one.p) and math.isnan(one.sd)
    same = paired_test([0.5, 0.6, 0.7], [0.6, 0.7, 0.8])  # identical differences: no spread, no t
    assert math.isnan(same.p) and math.isnan(same.effect) and math.isnan(tost(same, 0.5)[0])
    assert math.isnan(mde(one)) and math.isnan(mde(same))


def test_welch_hand_computation():
    a, b = [1.0, 2.0, 3.0], [2.0, 4.0, 6.0, 8.0]
    # var_a = 1, var_b = 20/3; se² = 1/3 + 5/3 = 2; df = 4 / ((1/3)²/2 + (5/3)²/3) = 4 / (1/18 + 25/27) = 4.07547
    c = welch_test(a, b)
    assert c.test == "Welch t" and c.estimate == pytest.approx(3.0) and c.se == pytest.approx(math.sqrt(2))
    assert c.df == pytest.approx(4.0754717, rel=1e-6)
    assert welch_df(1.0, math.sqrt(20 / 3), 3, 4) == pytest.approx(4.0754717, rel=1e-6)
    half = stats.t.ppf(0.975, 4.0754717) * math.sqrt(2)
    assert (c.ci_low, c.ci_high) == (pytest.approx(3 - half), pytest.approx(3 + half))
    assert c.p == pytest.approx(2 * stats.t.sf(3 / math.sqrt(2), 4.0754717))
    assert c.effect == pytest.approx(hedges_g(a, b)) and c.effect_name == "Hedges g"
    assert (c.n, c.n_a, c.n_b) == (7, 3, 4) and math.isnan(c.p_perm)


def test_sign_flip_permutation_only_from_six_pairs():
    assert PERMUTATION_MIN_N == 6
    p5, note5 = sign_flip_p([1.0, 2, 3, 4, 5])
    assert math.isnan(p5) and "2/2^5 = 0.0625" in note5
    # all six differences positive: only the all-plus and all-minus patterns are as extreme: p = 2/64
    p6, note6 = sign_flip_p([1.0, 2, 3, 4, 5, 6])
    assert p6 == pytest.approx(2 / 64) and "exact" in note6
    assert paired_test(np.zeros(6), np.arange(1.0, 7)).p_perm == pytest.approx(2 / 64)
    # one negative difference among six: patterns with |mean| >= |1+2+3+4+5-6|/6 ... counted by hand:
    # the sum S = Σ s_i |d_i| with |d| = 1..6; |S| >= 9 happens for 12 of 64 sign patterns
    d = np.array([1.0, 2, 3, 4, 5, -6])
    sums = np.array([np.dot(s, np.abs(d)) for s in np.array(np.meshgrid(*[[-1, 1]] * 6)).reshape(6, -1).T])
    assert sign_flip_p(d)[0] == pytest.approx(np.mean(np.abs(sums) >= 9 - 1e-12))
    p20, note20 = sign_flip_p(np.arange(1.0, 21), n_resamples=2000)  # beyond 16 pairs: random patterns
    assert p20 < 0.01 and "random" in note20


def test_shifted_p_and_tost():
    rng = np.random.default_rng(4)
    a = rng.normal(0.5, 0.01, 12)
    b = a + rng.normal(0.002, 0.003, 12)
    c = paired_test(a, b)
    d = b - a
    assert shifted_p(c, -0.01, "greater") == pytest.approx(stats.t.sf((d.mean() + 0.01) / c.se, 11))
    p, lo, up = tost(c, 0.01)
    assert p == max(lo, up)
    # TOST at α rejects exactly when the (1 − 2α) CI lies inside ±margin
    for margin in (0.002, 0.004, 0.006, 0.01):
        ci = stats.ttest_rel(b, a).confidence_interval(0.90)
        assert (tost(c, margin)[0] <= 0.05) == (-margin < ci.low and ci.high < margin)
    w = welch_test(a, b)
    assert shifted_p(w, 0.001, "less") == pytest.approx(
        stats.t.cdf((w.estimate - 0.001) / w.se, w.df), rel=1e-6)
    with pytest.raises(ConfigError, match="margin"):
        tost(c, 0.0)
    with pytest.raises(ConfigError, match="alternative"):
        shifted_p(c, 0.0, "two-sided")


def test_mde_known_values_and_monte_carlo_power():
    # one-sample/paired t, n = 10, two-sided α = 0.05, power 0.8: d_z ≈ 0.996 (Cohen's tables: d = 1.0 -> 0.80)
    assert mde_paired(1.0, 10) == pytest.approx(0.996, abs=0.002)
    assert power_t(mde_paired(1.0, 10), 1 / math.sqrt(10), 9) == pytest.approx(0.8, abs=1e-6)
    assert power_t(0.0, 1.0, 5, 0.05) == pytest.approx(0.05)  # no effect: power = α
    assert mde_paired(1.0, 10, level=0.01) > mde_paired(1.0, 10)  # a corrected α needs a larger effect
    rng = np.random.default_rng(0)
    # paired: 8 pairs, SD of differences 0.02, true mean = MDE -> the t-test rejects in ~80% of 20,000 draws
    sd, n, level = 0.02, 8, 0.05 / 3
    delta = mde_paired(sd, n, level)
    x = rng.normal(delta, sd, (20000, n))
    rate = np.mean(stats.ttest_1samp(x, 0.0, axis=1).pvalue <= level)
    assert rate == pytest.approx(0.8, abs=0.015)
    # Welch: 6 vs 6 runs, SDs 0.01 and 0.02 (the noncentral-t approximation of Welch's test)
    delta = mde_welch(0.01, 0.02, 6, 6, 0.05)
    xa, xb = rng.normal(0, 0.01, (20000, 6)), rng.normal(delta, 0.02, (20000, 6))
    rate = np.mean(stats.ttest_ind(xb, xa, axis=1, equal_var=False).pvalue <= 0.05)
    assert rate == pytest.approx(0.8, abs=0.03)
    c = welch_test(xa[0], xb[0])
    assert mde(c) == pytest.approx(mde_welch(c.sd_a, c.sd_b, 6, 6))
    assert math.isnan(mde_welch(0.01, 0.02, 1, 6))
    with pytest.raises(ConfigError, match="power"):
        mde_paired(1.0, 10, power=0.01)


# ---- issue 20: statsmodels cross-checks, intervals at any level, seeds needed, the one p-value format ------

def test_holm_and_bonferroni_match_statsmodels_and_hand_values():
    from statsmodels.stats.multitest import multipletests
    p = [0.01, 0.04, 0.03, 0.005]
    np.testing.assert_allclose(holm(p), multipletests(p, method="holm")[1])
    np.testing.assert_allclose(bonferroni(p), [0.04, 0.16, 0.12, 0.02])  # min(1, 4p)
    out = bonferroni([0.3, np.nan, 0.02])
    assert math.isnan(out[1]) and out[0] == pytest.approx(0.6) and out[2] == pytest.approx(0.04)


def test_tost_matches_statsmodels_and_the_hand_formula():
    from statsmodels.stats.weightstats import ttost_paired
    rng = np.random.default_rng(7)
    a = rng.normal(0.5, 0.01, 9)
    b = a + rng.normal(0.001, 0.004, 9)
    c = paired_test(a, b)
    p, lo, up = tost(c, 0.005)
    d = b - a
    assert lo == pytest.approx(stats.t.sf((d.mean() + 0.005) / c.se, 8))  # H1: diff > −margin
    assert up == pytest.approx(stats.t.cdf((d.mean() - 0.005) / c.se, 8))  # H1: diff < +margin
    assert p == pytest.approx(ttost_paired(b, a, -0.005, 0.005)[0])


def test_interval_at_any_level_decides_like_the_tests():
    rng = np.random.default_rng(3)
    a = rng.normal(0.5, 0.01, 6)
    b = a + rng.normal(0.004, 0.004, 6)
    c = paired_test(a, b)
    lo, hi = interval(c, 0.95)
    assert (lo, hi) == pytest.approx((c.ci_low, c.ci_high))  # the test's own 95% interval
    for level in (0.05, 0.05 / 8, 0.2):
        lo, hi = interval(c, 1 - level)
        assert (c.p <= level) == (lo > 0 or hi < 0)  # the interval excludes 0 exactly when p <= level
        for m in (0.002, 0.006, 0.01, 0.02):
            assert (tost(c, m)[0] <= level / 2) == (-m < lo and hi < m)  # inside ±m exactly when TOST at level/2
    w = wald_test(0.028, 0.009, 500)
    assert interval(w, 0.95) == pytest.approx((0.028 - 1.959964 * 0.009, 0.028 + 1.959964 * 0.009), rel=1e-6)
    with pytest.raises(ConfigError, match="confidence"):
        interval(c, 1.0)


def test_seeds_needed_known_values():
    # d_z = 0.5, two-sided level 0.05, power 0.8: 33.4 pairs by statsmodels (34), Cohen's tables: 34
    a = np.zeros(6)
    b = (np.arange(6.0) - 2.5) / np.std(np.arange(6.0), ddof=1) * 0.2  # SD of the differences exactly 0.2
    c = paired_test(a, b)
    assert c.sd == pytest.approx(0.2)
    n_eff, n_eq = seeds_needed(c, 0.1)
    assert n_eff == 34
    # equivalence at Δ = 0: each one-sided test at 0.025 with power 0.9: (z_0.975 + z_0.9)² / 0.25 ≈ 42, t: 44
    assert n_eq == 44
    # a SESOI at the noise floor needs hundreds of seeds in both directions
    assert min(seeds_needed(c, 0.02)) > 100
    # Welch: per condition, Cohen's d = 0.5: 64 per group
    w = welch_test(np.arange(6.0) / np.std(np.arange(6.0), ddof=1) * 0.2, np.arange(6.0) / np.std(np.arange(6.0), ddof=1) * 0.2 + 0.01)
    assert seeds_needed(w, 0.1)[0] == 64
    # a Wald row counts images: se 0.009 at 500 images, SESOI 0.1 -> 500 (2.80 · 0.009 / 0.1)² = 32
    assert seeds_needed(wald_test(0.028, 0.009, 500), 0.1)[0] == math.ceil(500 * (2.8016 * 0.009 / 0.1) ** 2)
    with pytest.raises(ConfigError, match="sesoi"):
        seeds_needed(c, 0.0)


def test_one_p_value_format():
    assert (pformat(0.0123), pformat(0.5), pformat(0.0004), pformat(float("nan")), pformat(None)) == \
        ("0.012", "0.5", "<0.001", "n/a", "n/a")


def test_compare_conditions_paired_by_seed():
    rows = []
    for s, off in enumerate([0.0, 0.1, -0.1, 0.05]):  # seed offsets shared by both conditions
        for cond, gain in (("unregularized", 0.0), ("S^Th", 0.02 + 0.001 * s)):
            rows.append(dict(seed=s, condition=cond, attack="gaussian", epsilon=0.1, accuracy=0.5 + off + gain))
    t = pd.DataFrame(rows)
    out = compare_conditions(t, "unregularized", "S^Th", test="paired")
    a = t[t.condition == "unregularized"].accuracy.to_numpy()
    b = t[t.condition == "S^Th"].accuracy.to_numpy()
    assert out.test.iloc[0] == "paired t" and out.p.iloc[0] == pytest.approx(stats.ttest_rel(b, a).pvalue)
    assert out.p.iloc[0] < 0.001 < compare_conditions(t, "unregularized", "S^Th").p.iloc[0]  # Welch: offsets swamp it
    lone = t[~((t.condition == "S^Th") & (t.seed > 0))]  # one shared seed: Welch
    assert compare_conditions(lone, "unregularized", "S^Th", test="paired").test.iloc[0] == "Welch t"


def test_ablation_ranking_is_a_descriptive_screen_that_leaves_single_runs_out():
    import pandas as pd

    from pixelreg.figures.sentences import ranking_sentences

    s = pd.DataFrame(dict(variant=["unregularized", "a", "b", "c"], auc=[0.50, 0.60, 0.52, 0.90],
                          auc_sem=[0.01, 0.02, 0.03, float("nan")], clean=[0.9] * 4, n=[3, 3, 3, 1]))
    lines = ranking_sentences(s, cost=False)
    assert lines[0].startswith("- c:") and "(one run: no SEM, left out of the screen below)" in lines[0]
    last = lines[-1]
    assert "A descriptive screen, not a test: 1 of 2 settings with at least two runs" in last  # a only
    none = ranking_sentences(s.assign(auc=[0.5, 0.51, 0.5, 0.9]), cost=False)[-1]
    assert "0 of 2" in none and "not evidence of no effect" in none and "does not appear" not in none


def test_gain_sentence_names_the_tested_difference_and_how_its_eps_was_picked():
    import pandas as pd

    from pixelreg.figures.sentences import gain_sentence

    tests = pd.DataFrame(dict(b="S^Th", epsilon=[0.0, 0.1, 0.2], diff=[-0.02, 0.05, 0.12], p_holm=[0.5, 0.04, 0.01],
                              significant=[False, True, True], n_a=5, n_b=5, test="paired t"))
    summary = pd.DataFrame(dict(condition=["S^Th", "unregularized"], epsilon=0.2, mean=[0.62, 0.50],
                                sem=[0.02, 0.03]))
    s = gain_sentence("**X**", tests, summary, {})
    assert "at ε = 0.2 (the ε > 0 with the largest mean difference in either direction, picked after looking" in s
    assert "S^Th averages 0.620 ± 0.020 vs unregularized 0.500 ± 0.030" in s
    assert "the tested difference S^Th − unregularized is +0.120 (paired t, p_holm = 0.01)" in s
    assert "significant after Holm correction at ε = 0.1, 0.2" in s and "Clean accuracy changes by -0.020" in s
    # a family of losses reports its largest loss, not its smallest
    losses = tests.assign(diff=[-0.02, -0.007, -0.063], significant=False)
    summary2 = summary.assign(epsilon=0.1)
    s2 = gain_sentence("**Y**", losses, pd.concat([summary, summary2]), {})
    assert "at ε = 0.2 (the ε > 0 with the largest" in s2 and "is -0.063" in s2
    assert "No single ε > 0 shows a significant difference, gain or loss, after Holm" in s2


def test_a_paired_comparison_reports_the_mean_of_its_pairs_when_a_seed_lost_its_pair():
    """Known answer: a has seeds 0-2, b lost seed 2 (a failed run). The paired test's difference is the mean of the
    two per-seed differences (+0.1, +0.3: +0.2), not mean_b − mean_a over unequal seed sets (0.5 − 0.4 = +0.1)."""
    import pandas as pd

    from pixelreg.analysis.stats import compare_conditions
    from pixelreg.figures.sentences import gain_sentence

    t = pd.DataFrame(dict(condition=["a"] * 3 + ["b"] * 2, seed=[0, 1, 2, 0, 1], attack="x", epsilon=0.0,
                          accuracy=[0.4, 0.2, 0.6, 0.5, 0.5]))
    r = compare_conditions(t, "a", "b", test="paired").iloc[0]
    assert r.test == "paired t" and r.n_pairs == 2 and (r.n_a, r.n_b) == (3, 2)
    assert r["diff"] == pytest.approx(0.2) and r.mean_b - r.mean_a == pytest.approx(0.1)
    welch = compare_conditions(t, "a", "b").iloc[0]
    assert welch.n_pairs == 0 and welch["diff"] == pytest.approx(0.1)
    tests = pd.concat([compare_conditions(t.assign(epsilon=e, accuracy=t.accuracy + (e > 0) * (t.condition == "b")
                                                   * 0.1), "a", "b", test="paired") for e in (0.0, 0.1)])
    summary = pd.DataFrame(dict(condition=["b", "a"], epsilon=0.1, mean=[0.7, 0.3], sem=[0.0, 0.05]))
    s = gain_sentence("**X**", tests, summary, {}, base="a")
    assert "the tested difference b − a is +0.300 (paired t over 2 seed pairs" in s
    assert "Clean accuracy changes by +0.200 (paired t over 2 seed pairs" in s


def test_fmt_never_prints_a_negative_zero():
    """An interval end of -0.0001 reads "0.000", not "-0.000" (Fig. 4's "[-0.001, -0.000]"); real negatives keep
    their sign, and NaN is "n/a"."""
    from pixelreg.figures.sentences import fmt

    assert [fmt(-0.0001), fmt(-0.0), fmt(-1e-9, 2), fmt(-0.0015), fmt(-10.0), fmt(float("nan"))] == [
        "0.000", "0.000", "0.00", "-0.002", "-10.000", "n/a"]


def test_digits_for_never_shows_an_interval_that_excludes_0_as_touching_it():
    """Known answers: Fig. 4's -0.0009 [-0.0015, -0.0002] needs 4 decimals ([-0.0015, -0.0002], not
    [-0.001, 0.000]); an interval that holds 0, or values away from 0, keep 3; exact zeros and NaN are ignored,
    and the decimals stop at ``most``."""
    from pixelreg.figures.fig4 import _cmp_text
    from pixelreg.analysis.stats import Comparison
    from pixelreg.figures.sentences import digits_for

    assert digits_for(-0.0009, -0.0015, -0.0002) == 4
    assert digits_for(0.012, -0.03, 0.05) == 3 and digits_for(0.0, float("nan"), 0.5) == 3
    assert digits_for(1e-12) == 6 and digits_for(1e-12, most=5) == 5
    nan = float("nan")
    c = Comparison(test="paired t", estimate=-0.0009, ci_low=-0.0015, ci_high=-0.0002, p=0.023, n=5, df=4.0,
                   effect=nan, effect_name="d_z", se=nan, sd=nan, n_a=5, n_b=5, sd_a=nan, sd_b=nan)
    assert _cmp_text(c).startswith("-0.0009 [-0.0015, -0.0002] (95% CI; paired t, n = 5 seeds")


def test_fig7_names_range_variants_that_select_the_same_pairs():
    """Known answer: "positive" keeps 99.9998% of the pairs, "all" 100%: one experiment, whose per-seed AUC
    differences (-0.1, -0.3) are stated as how far a run moves with everything but its pairs; "low" and "negative"
    with equal curves are "the same run in effect"; "double" (39%) is paired with nothing."""
    import pandas as pd

    from pixelreg.figures.fig7 import same_pair_sentences
    from pixelreg.figures.sentences import signed

    rows = []
    for seed, (a, p, lo) in enumerate(((0.7, 0.6, 0.4), (0.6, 0.3, 0.35))):
        rows += [dict(seed=seed, variant="range=all", auc=a, selected_share=1.0),
                 dict(seed=seed, variant="range=positive", auc=p, selected_share=0.999998),
                 dict(seed=seed, variant="range=low", auc=lo, selected_share=0.992657),
                 dict(seed=seed, variant="range=negative", auc=lo, selected_share=0.992659),
                 dict(seed=seed, variant="range=double", auc=lo, selected_share=0.39),
                 dict(seed=seed, variant="unregularized", auc=0.4, selected_share=float("nan"))]
    out = same_pair_sentences(pd.DataFrame(rows))
    assert len(out) == 2
    assert out[0].startswith("- **range=all and range=positive select practically the same pairs**")
    assert "differ by -0.200 on average (range=positive − range=all; per seed -0.100, -0.300, 2 seeds)" in out[0]
    assert "paired t, 2 pairs: -0.200 [" in out[0] and "directly and the other ranges' by rejection" in out[0]
    assert "a systematic difference 2 seeds cannot rule out" in out[0]
    assert "range=low and range=negative" in out[1] and out[1].endswith("the same run in effect.")
    # the same-pairs gap at every seed with no spread: an interval that excludes 0 is called out
    tight = pd.DataFrame(rows).assign(auc=lambda x: x.auc - 0.2 * (x.variant == "range=positive")
                                      + 0.01 * x.seed * (x.variant == "range=positive"))
    assert "two samplings of the same pairs gave different results" in same_pair_sentences(
        pd.concat([tight, tight.assign(seed=tight.seed + 2, auc=tight.auc + 0.005 * (tight.variant == "range=positive"))]))[0]
    assert "+0.000 on average" in out[1] and not any("double" in x for x in out)
    assert [signed(-0.0001), signed(0.12), signed(-0.055)] == ["+0.000", "+0.120", "-0.055"]


def test_fig6_sentence_counts_the_seeds_of_its_best_cell_and_fills_every_number():
    """The best (α, Th) cell of a known grid: 2 runs at α 10 (one at α 1); its sentence names the SEM's n and
    leaves no unformatted field."""
    import pandas as pd

    from pixelreg.figures import FigureData
    from pixelreg.figures.fig6 import Fig6

    pts = pd.DataFrame([dict(run=r, seed=s, condition=c, alpha=a, th=0.8, attack="gaussian", C=0.9, R=0.5)
                        for r, s, c, a in (("u0", 0, "unregularized", 0.0), ("a", 0, "S^Th", 10.0),
                                           ("b", 1, "S^Th", 10.0), ("c", 0, "S^Th", 1.0))])
    grid = pd.DataFrame([dict(attack="gaussian", alpha=10.0, th=0.8, C_N=0.85, C_N_sem=0.01, R_N=0.6, R_N_sem=0.02,
                              C_0=0.9, R_0=0.4, delta_C=0.05, delta_R=0.2),
                         dict(attack="gaussian", alpha=1.0, th=0.8, C_N=0.89, C_N_sem=0.01, R_N=0.45, R_N_sem=0.02,
                              C_0=0.9, R_0=0.4, delta_C=0.01, delta_R=0.05)])
    text = Fig6(profile="smoke").what_we_see(FigureData("fig6", {}, dict(points=pts, grid=grid)))
    assert "R_N = 0.600 ± 0.020 (mean ± SEM over 2 seeds; ΔR = +0.200" in text
    assert "ΔC = C_0 − C_N = +0.050. 2 of 2 grid points have ΔR > 0." in text and "{" not in text


def test_pstate_writes_a_p_value_as_a_sentence_reads_it():
    from pixelreg.analysis.stats import pstate

    assert [pstate(0.0123), pstate(0.0004), pstate(float("nan")), pstate(0.00001, "p_holm")] == [
        "p = 0.012", "p < 0.001", "p = n/a", "p_holm < 0.001"]
