"""The BatchNorm page's decision text (:func:`pixelreg.figures.batchnorm.bn_meaning`): known answers for each
branch of its clean-cost and robustness-gain rules, and its paired effects table against a hand computation."""
from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from scipy import stats as st

from pixelreg.figures.batchnorm import BatchNorm, bn_meaning


def _rows(values: dict):
    """``row`` for bn_meaning from {(target, comparison, metric): (diff, low, high)} on the natural pool."""
    def row(pool, target, comparison, metric):
        v = values.get((target, comparison, metric))
        return None if v is None else pd.Series(dict(diff=v[0], ci_low=v[1], ci_high=v[2]))
    return row


def _case(c_tr, c_re, a_tr, a_re, d_auc, target="S^Th"):
    return {(target, "as trained - unregularized", "clean"): c_tr,
            (target, "re-estimated - unregularized", "clean"): c_re,
            (target, "as trained - unregularized", "auc"): a_tr,
            (target, "re-estimated - unregularized", "auc"): a_re,
            (target, "re-estimated - as trained", "auc"): d_auc}


def test_cost_is_batchnorm_and_part_of_the_gain_goes_with_it():
    text = bn_meaning(_rows(_case(c_tr=(-0.15, -0.2, -0.1), c_re=(-0.03, -0.05, -0.01), a_tr=(0.29, 0.2, 0.38),
                                  a_re=(0.19, 0.1, 0.28), d_auc=(-0.1, -0.15, -0.05))), "natural")
    assert "for S^Th <- natural, its clean-accuracy cost is largely the pool's share of the BatchNorm" in text
    assert "from -0.150 [-0.200, -0.100] to -0.030 [-0.050, -0.010]" in text
    assert "a Gaussian-AUC gain remains after re-estimation (+0.190 [+0.100, +0.280])" in text
    assert "re-estimation takes -0.100 [-0.150, -0.050] of it, so part of the gain was BatchNorm's too" in text
    assert "S^pixel" not in text  # no S^pixel rows: nothing said about it


def test_gain_gone_after_reestimation_and_a_gain_that_stays_whole():
    values = {**_case(c_tr=(-0.12, -0.2, -0.04), c_re=(0.0, -0.02, 0.02), a_tr=(0.23, 0.1, 0.36),
                      a_re=(-0.01, -0.05, 0.03), d_auc=(-0.24, -0.3, -0.18), target="S^pixel"),
              **_case(c_tr=(-0.1, -0.2, -0.01), c_re=(-0.02, -0.04, 0.0), a_tr=(0.2, 0.1, 0.3),
                      a_re=(0.19, 0.1, 0.28), d_auc=(-0.01, -0.04, 0.02))}
    text = bn_meaning(_rows(values), "natural")
    th, px = text.split(" And ")
    assert "a Gaussian-AUC gain remains after re-estimation (+0.190" in th and "as large as trained" in th
    assert "for S^pixel <- natural, its clean-accuracy cost is largely" in px
    assert "no Gaussian-AUC gain is left that its interval can tell from zero (-0.010 [-0.050, +0.030]" in px


def test_no_cost_a_cost_not_batchnorms_and_a_reversed_gain():
    none = bn_meaning(_rows(_case(c_tr=(-0.01, -0.03, 0.01), c_re=(0.0, -0.02, 0.02), a_tr=(0.1, 0.0, 0.2),
                                  a_re=(-0.1, -0.15, -0.05), d_auc=(-0.2, -0.3, -0.1))), "natural")
    assert "shows no clean-accuracy cost that its interval can tell from zero" in none
    assert "it is less robust than the unregularized model (-0.100 [-0.150, -0.050])" in none
    kept = bn_meaning(_rows(_case(c_tr=(-0.1, -0.15, -0.05), c_re=(-0.09, -0.14, -0.04), a_tr=(0.1, 0.05, 0.15),
                                  a_re=(0.1, 0.05, 0.15), d_auc=(0.0, -0.01, 0.01))), "natural")
    assert "its clean-accuracy cost is not a BatchNorm artefact at this scale" in kept


def test_too_few_seeds_and_no_runs():
    one = _case(c_tr=(-0.1, np.nan, np.nan), c_re=(0.0, np.nan, np.nan), a_tr=(0.2, np.nan, np.nan),
                a_re=(0.1, np.nan, np.nan), d_auc=(-0.1, np.nan, np.nan))
    assert "too few seed pairs for intervals: the question stays open" in bn_meaning(_rows(one), "natural")
    assert "no regularized run on this pool" in bn_meaning(_rows({}), "natural")


def test_effects_are_paired_t_intervals_by_seed():
    """Two seeds of S^Th <- natural and the unregularized runs: the re-estimated - as trained difference and its
    95% paired t interval, by hand; a seed that only one side has is left out of the pair."""
    rows = []
    for seed, (u, tr, re) in {0: (0.40, 0.70, 0.60), 1: (0.44, 0.76, 0.62), 2: (0.42, 0.72, None)}.items():
        rows.append(dict(run=f"u{seed}", seed=seed, pool="-", target="unregularized", pair_bn="-",
                         bn="as trained", treatment="as trained", clean=0.9, auc=u))
        rows.append(dict(run=f"t{seed}", seed=seed, pool="natural", target="S^Th", pair_bn="update",
                         bn="as trained", treatment="as trained", clean=0.75, auc=tr))
        if re is not None:
            rows.append(dict(run=f"t{seed}", seed=seed, pool="natural", target="S^Th", pair_bn="update",
                             bn="re-estimated", treatment="re-estimated", clean=0.87, auc=re))
    e = BatchNorm._effects(pd.DataFrame(rows))
    r = e[(e.comparison == "re-estimated - as trained") & (e.metric == "auc")].iloc[0]
    d = np.array([0.60 - 0.70, 0.62 - 0.76])
    half = st.t.ppf(0.975, 1) * d.std(ddof=1) / np.sqrt(2)
    assert r.n == 2 and r["diff"] == pytest.approx(d.mean())
    assert (r.ci_low, r.ci_high) == pytest.approx((d.mean() - half, d.mean() + half))
    g = e[(e.comparison == "as trained - unregularized") & (e.metric == "auc")].iloc[0]
    assert g.n == 3 and g["diff"] == pytest.approx(np.mean([0.30, 0.32, 0.30]))
