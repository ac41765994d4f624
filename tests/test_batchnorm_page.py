"""The BatchNorm page's decision text (:func:`pixelreg.figures.batchnorm.bn_meaning`): known answers for each
branch of its clean-cost and robustness-gain rules, and its paired effects table against a hand computation."""
from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from scipy import stats as st

from pixelreg.figures.batchnorm import BatchNorm, bn_meaning, same_training


def _rows(values: dict, n: int | None = None):
    """``row`` for bn_meaning from {(target, comparison, metric): (diff, low, high)} on the natural pool (with
    ``n`` seed pairs where given)."""
    def row(pool, target, comparison, metric):
        v = values.get((target, comparison, metric))
        extra = {} if n is None else dict(n=n)
        return None if v is None else pd.Series(dict(diff=v[0], ci_low=v[1], ci_high=v[2], **extra))
    return row


def _case(c_tr, c_re, a_tr, a_re, d_auc, d_clean=None, target="S^Th"):
    d_clean = d_clean if d_clean is not None else (c_re[0] - c_tr[0], c_re[0] - c_tr[0] - 0.01, c_re[0] - c_tr[0] + 0.01)
    return {(target, "as trained - unregularized", "clean"): c_tr,
            (target, "re-estimated - unregularized", "clean"): c_re,
            (target, "as trained - unregularized", "auc"): a_tr,
            (target, "re-estimated - unregularized", "auc"): a_re,
            (target, "re-estimated - as trained", "clean"): d_clean,
            (target, "re-estimated - as trained", "auc"): d_auc}


def test_cost_is_batchnorm_and_part_of_the_gain_goes_with_it():
    text = bn_meaning(_rows(_case(c_tr=(-0.15, -0.2, -0.1), c_re=(-0.03, -0.05, -0.01), a_tr=(0.29, 0.2, 0.38),
                                  a_re=(0.19, 0.1, 0.28), d_auc=(-0.1, -0.15, -0.05),
                                  d_clean=(0.12, 0.1, 0.14))), "natural")
    assert ("for S^Th <- natural, re-estimating its BatchNorm statistics on task images, same weights, raises its "
            "clean accuracy by +0.120 [+0.100, +0.140]") in text
    assert "clean difference as trained (-0.150 [-0.200, -0.100]) is the pool's share" in text
    assert "a clean cost remains after re-estimation (-0.030 [-0.050, -0.010])" in text
    assert "a Gaussian-AUC gain remains after re-estimation (+0.190 [+0.100, +0.280])" in text
    assert "re-estimation takes -0.100 [-0.150, -0.050] of it, so part of the gain was BatchNorm's too" in text
    assert "S^pixel" not in text  # no S^pixel rows: nothing said about it


def test_gain_taken_away_and_a_gain_that_stays_whole():
    values = {**_case(c_tr=(-0.12, -0.2, -0.04), c_re=(0.0, -0.02, 0.02), a_tr=(0.23, 0.1, 0.36),
                      a_re=(-0.01, -0.05, 0.03), d_auc=(-0.24, -0.3, -0.18), d_clean=(0.12, 0.05, 0.19),
                      target="S^pixel"),
              **_case(c_tr=(-0.1, -0.2, -0.01), c_re=(-0.02, -0.04, 0.0), a_tr=(0.2, 0.1, 0.3),
                      a_re=(0.19, 0.1, 0.28), d_auc=(-0.01, -0.04, 0.02))}
    text = bn_meaning(_rows(values), "natural")
    th, px = text.split(" And ")
    assert "a Gaussian-AUC gain remains after re-estimation (+0.190" in th
    assert "whether it is smaller than as trained (+0.200 [+0.100, +0.300]) is undecided" in th  # -0.04 < -SESOI
    assert "as large as trained" not in th
    same = bn_meaning(_rows(_case(c_tr=(-0.1, -0.2, -0.01), c_re=(-0.02, -0.04, 0.0), a_tr=(0.2, 0.1, 0.3),
                                  a_re=(0.19, 0.1, 0.28), d_auc=(-0.01, -0.025, 0.02))), "natural")
    assert "as large as trained (+0.200 [+0.100, +0.300]): the change, -0.010 [-0.025, +0.020], lies within ±0.03" in same
    more = bn_meaning(_rows(_case(c_tr=(-0.1, -0.2, -0.01), c_re=(-0.02, -0.04, 0.0), a_tr=(0.2, 0.1, 0.3),
                                  a_re=(0.25, 0.15, 0.35), d_auc=(0.05, 0.01, 0.09))), "natural")
    assert "larger than as trained (+0.200 [+0.100, +0.300]): re-estimation adds +0.050 [+0.010, +0.090]" in more
    assert "for S^pixel <- natural, re-estimating its BatchNorm statistics on task images, same weights, raises" in px
    assert "after re-estimation no clean cost is left that its interval can tell from zero (+0.000" in px
    assert "not evidence of no cost" in px
    assert ("re-estimation takes -0.240 [-0.300, -0.180] of its Gaussian AUC, and no gain over the unregularized "
            "model is left") in px and "the gain went with the BatchNorm statistics" in px


def test_undecided_when_the_intervals_cover_zero_and_the_no_artefact_branches():
    # 2 seed pairs, wide intervals: nothing is called, neither "no cost" nor "the gain is gone"
    und = _case(c_tr=(-0.187, -0.628, 0.255), c_re=(-0.062, -0.514, 0.389), a_tr=(0.305, 0.107, 0.503),
                a_re=(0.273, -0.831, 1.378), d_auc=(-0.03, -0.9, 0.84), d_clean=(0.124, -0.5, 0.75))
    text = bn_meaning(_rows(und, n=3), "natural")
    assert "does not change its clean accuracy beyond its interval (+0.124 [-0.500, +0.750]): undecided at 3 seed pairs" in text
    assert "whether its Gaussian-AUC gain survives re-estimation is undecided at 3 seed pairs" in text
    assert "no cost for BatchNorm to explain" not in text and "is left that its interval" in text
    # no gain as trained either: the sentence does not presuppose one
    none = bn_meaning(_rows(_case(c_tr=(-0.187, -0.628, 0.255), c_re=(-0.062, -0.514, 0.389),
                                  a_tr=(0.21, -0.042, 0.462), a_re=(0.273, -0.831, 1.378),
                                  d_auc=(-0.03, -0.9, 0.84), d_clean=(0.124, -0.5, 0.75)), n=3), "natural")
    assert "survives" not in none
    assert ("no Gaussian-AUC gain over the unregularized model is shown, as trained or re-estimated (undecided at 3 "
            "seed pairs, not evidence of no gain): +0.210 [-0.042, +0.462] as trained") in none
    # at 2 seed pairs nothing is called, whatever the intervals: the estimates are listed
    two = bn_meaning(_rows(_case(c_tr=(-0.15, -0.2, -0.1), c_re=(-0.03, -0.05, -0.01), a_tr=(0.29, 0.2, 0.38),
                                 a_re=(0.19, 0.1, 0.28), d_auc=(-0.1, -0.15, -0.05), d_clean=(0.12, 0.1, 0.14)), n=2),
                     "natural")
    assert two.count("not judged at 2 seed pairs") == 1 and "clean accuracy re-estimated − as trained +0.120" in two
    assert "raises" not in two and "remains" not in two
    lowered = bn_meaning(_rows(_case(c_tr=(-0.1, -0.15, -0.05), c_re=(-0.14, -0.19, -0.09), a_tr=(0.1, 0.05, 0.15),
                                     a_re=(-0.1, -0.15, -0.05), d_auc=(-0.2, -0.3, -0.1),
                                     d_clean=(-0.04, -0.06, -0.02))), "natural")
    assert "lowers its clean accuracy (-0.040 [-0.060, -0.020])" in lowered and "is not a BatchNorm artefact" in lowered
    assert "it is less robust than the unregularized model (-0.100 [-0.150, -0.050])" in lowered


def test_too_few_seeds_and_no_runs():
    one = _case(c_tr=(-0.1, np.nan, np.nan), c_re=(0.0, np.nan, np.nan), a_tr=(0.2, np.nan, np.nan),
                a_re=(0.1, np.nan, np.nan), d_auc=(-0.1, np.nan, np.nan), d_clean=(0.1, np.nan, np.nan))
    assert "too few seed pairs for intervals: the question stays open" in bn_meaning(_rows(one), "natural")
    assert "no regularized run on this pool" in bn_meaning(_rows({}), "natural")


def _modes(train_update, train_task_only):
    rows = []
    for seed, (u, t) in enumerate(zip(train_update, train_task_only)):
        rows += [dict(pool="natural", target="S^Th", seed=seed, pair_bn="update", train_mode_acc=u, failed=False),
                 dict(pool="natural", target="S^Th", seed=seed, pair_bn="task-only", train_mode_acc=t, failed=False)]
    rows.append(dict(pool="-", target="unregularized", seed=0, pair_bn="-", train_mode_acc=0.9, failed=False))
    return pd.DataFrame(rows)


def test_same_training_is_read_off_the_twins_training_accuracy():
    assert "In all 2 pairs of a reference run and its task-only twin" in same_training(_modes([0.81, 0.82], [0.81, 0.82]))
    assert "differs in 1 of 2 pairs" in same_training(_modes([0.81, 0.82], [0.81, 0.8201]))
    assert same_training(_modes([], [])) == ""
    assert "Model selection" not in same_training(_modes([0.81], [0.81]))  # no selected epochs in the table
    m = _modes([0.81, 0.82, 0.83], [0.81, 0.82, 0.83])
    m["selected_epoch"] = [3, 3, 2, 3, 3, 2, 3]  # seed 0: 3/3, seed 1: 2/3, seed 2: 3/2; the unregularized run last
    assert "kept the same epoch for both twins in 1 of the 3 pairs" in same_training(m)


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
    assert not (e.comparison == "unregularized re-estimated - as trained").any()  # no re-estimated unregularized runs
    # with them, and two regularized targets, the unregularized runs' re-estimation is one row per metric, not one
    # per pool and target
    more = [dict(r, treatment="re-estimated", bn="re-estimated", clean=0.91) for r in rows if r["target"] == "unregularized"]
    more += [dict(r, target="S^pixel", run="p" + r["run"]) for r in rows if r["target"] == "S^Th"]
    e = BatchNorm._effects(pd.DataFrame(rows + more))
    u = e[e.comparison == "unregularized re-estimated - as trained"]
    assert len(u) == 2 and set(u.pool) == {"-"} and set(u.target) == {"unregularized"}
    assert u.set_index("metric").loc["clean", "diff"] == pytest.approx(0.01) and (u.n == 3).all()
    assert set(e[e.target != "unregularized"].target) == {"S^Th", "S^pixel"}


def test_a_record_without_its_gaussian_curves_does_not_serve_the_page(monkeypatch):
    """A seed whose records were published with their metrics only (before its evaluations) stays off the
    interim page: the page asks records for both Gaussian curves, as trained and re-estimated (a record with
    only the first does not serve it)."""
    import pixelreg.experiment.sweep as sweep
    calls = []

    def fake(configs, runs_dir=None, evaluations=()):
        calls.append(tuple(evaluations))
        return set(configs)
    monkeypatch.setattr(sweep, "held_runs", fake)
    page = BatchNorm(profile="full")
    page.held(page.configs())
    (trained, as_trained), (reest, reestimated) = calls[0]  # both curves, told apart by their parameters
    assert len(calls) == 1 and trained == reest == "acc-gaussian"
    plain = {"attack": "GaussianNoise(clip='bounds')"}
    bn = dict(plain, bn_reestimate={"batch_size": 64, "batches": page.bn_batches, "seed": 0})
    assert as_trained(plain) and not as_trained(bn)
    assert reestimated(bn) and not reestimated(plain)
    assert not reestimated(dict(plain, bn_reestimate={"batch_size": 64, "batches": page.bn_batches + 1, "seed": 0}))
