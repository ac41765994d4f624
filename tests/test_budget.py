"""The training-budget page: its plan at full (1-20 epochs; the published 1/2/3-epoch runs keep their hashes),
known-answer tests of its trend fit and of the largest budget's paired statement, readable tick labels, records
mode (an interim page while the 10/20-epoch runs train) and the page built at smoke."""
from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from scipy import stats as st

from pixelreg.analysis import stats
from pixelreg.errors import ConfigError, MissingRunsError
from pixelreg.experiment.config import config_hash
from pixelreg.figures import Budget, FigureData
from pixelreg.figures.budget import (DEFAULT_EPOCHS, PAPER_BUDGETS, budget_tables, final_text, linear_trend,
                                     overlapping_tick_labels, plot, sd_interval_factors, summary_table, trend_text)
from pixelreg.figures.common import pfmt

RECORDS = Path(__file__).resolve().parent.parent / "data" / "results" / "full"
FULL_STEPS = {1.0: 929, 2.0: 1858, 3.0: 2787, 10.0: 9290, 20.0: 18580}
T975_2 = 4.302652729911275  # t quantile (0.975, 2 df)

# the published 1/2/3-epoch runs (unregularized, S^Th per seed 0-2) and the 10/20-epoch runs training now
# (scripts/round_queue.py): a changed hash would orphan both
PUBLISHED = {1.0: ["67907d2be717", "85bbc54845ec", "94242f64ee45", "b24975bbac73", "54e1d1416a13", "fd5b0246f193"],
             2.0: ["dcec2bdf36f8", "50be91707aa9", "0fa3c414a71f", "8dc191e9f9a4", "74c3a292cdac", "559094953436"],
             3.0: ["78fd56ae0d9a", "a3b6ee1b1a3a", "82bbd7df1b2f", "95f82108c3af", "a8c0ba932dc1", "404f700e8949"]}
TRAINING = {10.0: ["a83bca45f469", "9f7461a3d46d", "8970273f746d", "f1c95afcaabb", "533b8ed8dd69", "f271ec96b9df"],
            20.0: ["204965391b16", "3460a84b7145", "9b89bc09ce1f", "64b91977ef38", "1c801cf455e9", "5a0934e77063"]}
CPU_POINT = ["fa700698649f", "4121cad6cecf", "ee03610f1cb2", "767620b4a70b", "57bf338f42de", "274828caa5ba"]


# ------------------------------------------------------------------------------------------------ the plan

def test_full_plan_is_1_to_20_epochs_and_keeps_the_published_hashes():
    page = Budget(profile="full")  # records mode shows the published budgets until 10/20 are (tests/test_interim.py)
    assert DEFAULT_EPOCHS["full"] == (1.0, 2.0, 3.0, *PAPER_BUDGETS)
    assert page.epochs == (1.0, 2.0, 3.0, 10.0, 20.0) and page.seeds == (0, 1, 2)
    by_epochs: dict[float, list[str]] = {}
    for label, u, r in page.budget_plan():
        if label.startswith("full"):
            assert u.epochs == r.epochs and u.phase_duration == r.phase_duration == u.epochs / 5
            assert not u.regularized and r.regularized and r.target == "thresholded" and r.pool_source == "fashion-mnist"
            by_epochs.setdefault(u.epochs, []).extend([config_hash(u), config_hash(r)])
    assert by_epochs == {**PUBLISHED, **TRAINING}
    assert [config_hash(c) for c in page.configs()][-6:] == CPU_POINT
    for h in [h for hs in PUBLISHED.values() for h in hs] + CPU_POINT:
        assert (RECORDS / f"{h}.json").is_file(), h
    # the round's queue builds its 10/20-epoch runs with the same helper
    queue = Budget(profile="full", epochs=(10.0, 20.0), seeds=(0, 1, 2)).budget_plan()
    assert {config_hash(c) for _, u, r in queue if u.epochs in (10.0, 20.0) for c in (u, r)} == \
        {h for hs in TRAINING.values() for h in hs}


def test_more_seeds_train_at_the_largest_budget_only_and_keep_every_other_hash():
    """The rule's next step (seeds 3-4 at 20 epochs) adds exactly 4 runs, at 20 epochs, and changes no other
    run; the sentence names them; seeds already on the page, or negative, are refused naming the parameter."""
    from pixelreg.figures.budget import MORE_SEEDS

    assert "full" not in MORE_SEEDS and Budget(profile="full").more_seeds == ()  # not needed so far
    base = Budget(profile="full").configs()
    more = Budget(profile="full", more_seeds="3,4")
    assert more.more_seeds == (3, 4)
    added = [c for c in more.configs() if c not in base]
    assert set(base) <= set(more.configs()) and len(added) == 4
    assert {(c.seed, c.epochs, c.regularized) for c in added} == {(s, 20.0, r) for s in (3, 4) for r in (False, True)}
    assert "and seeds 3 and 4 at 20 epochs" in more.budgets_text()
    assert "seeds 3 and 4" not in Budget(profile="full").budgets_text()
    for bad in ("2,3", "-1"):
        with pytest.raises(ConfigError, match="more_seeds"):
            Budget(profile="full", more_seeds=bad)


def test_budgets_sentence_comes_from_the_profile():
    full = Budget(profile="full", epochs=(1.0, 2.0, 3.0, 10.0, 20.0)).budgets_text()
    assert "1, 2, 3, 10 and 20 epochs" in full and "929, 1,858, 2,787, 9,290 and 18,580 SGD steps" in full
    assert "158 steps on 5,000 images" in full and "left out of the plot and the trend" in full
    smoke = Budget(profile="smoke").budgets_text()
    assert "`smoke` profile" in smoke and "158" not in smoke and "cpu" not in smoke


# ------------------------------------------------------------------------------------- planted tables

def _points(d_clean: dict, d_auc: dict | None = None, seeds=(0, 1, 2), base_clean=0.9, base_auc=0.45,
            drop=()) -> pd.DataFrame:
    """Planted per-run points: per budget (epochs) and seed, unregularized at a base value plus a seed offset
    (seed effects cancel in the paired differences) and S^Th = unregularized + the planted difference."""
    rows = []
    for e, diffs in d_clean.items():
        for i, s in enumerate(seeds):
            u_c, u_a = base_clean + 0.01 * s, base_auc - 0.02 * s
            vals = {"unregularized": (u_c, u_a),
                    "S^Th": (u_c + diffs[i], u_a + (d_auc[e][i] if d_auc else 0.1))}
            for cond, (c, a) in vals.items():
                if (e, s, cond) in drop:
                    continue
                rows.append(dict(budget=f"full, {e:g} epochs", own_profile=True, run=f"{cond}{e}{s}", seed=s,
                                 condition=cond, alpha=0.0 if cond == "unregularized" else 10.0, epochs=e,
                                 train_images=59400, steps=FULL_STEPS[e], clean=c, auc=a))
    return pd.DataFrame(rows)


def _linear(slope: float, intercept: float, noise=(-0.005, 0.0, 0.005)) -> dict:
    """Per budget, per seed: intercept + slope·log2(steps) + a seed noise summing to 0 at every budget (so it
    is orthogonal to the line, and least squares recovers the slope exactly)."""
    return {e: [intercept + slope * math.log2(s) + n for n in noise] for e, s in FULL_STEPS.items()}


def test_linear_trend_known_slope_and_interval():
    x = np.log2([929, 929, 929, 1858, 1858, 1858, 18580, 18580, 18580])
    y = 0.5 + 0.02 * x + np.tile([-0.01, 0.0, 0.01], 3)
    fit = linear_trend(x, y)
    assert fit["slope"] == pytest.approx(0.02, abs=1e-12) and fit["intercept"] == pytest.approx(0.5, abs=1e-10)
    ref = st.linregress(x, y)  # scipy's fit: the same slope, its interval from its standard error
    half = st.t.ppf(0.975, len(x) - 2) * ref.stderr
    assert fit["ci_low"] == pytest.approx(ref.slope - half) and fit["ci_high"] == pytest.approx(ref.slope + half)
    assert fit["p"] == pytest.approx(ref.pvalue) and fit["n_points"] == 9 and fit["n_x"] == 3
    assert math.isnan(linear_trend([1.0, 1.0, 1.0], [1.0, 2.0, 3.0])["slope"])  # one budget: no slope
    assert math.isnan(linear_trend([1.0, 2.0], [1.0, 2.0])["ci_low"])  # no residual df


def _seed_lines(slopes, intercept: float) -> dict:
    """Per budget, per seed: intercept + that seed's slope · log2(steps)."""
    return {e: [intercept + b * math.log2(s) for b in slopes] for e, s in FULL_STEPS.items()}


def test_trend_over_budgets_known_answers():
    """Each seed's slope is one value: planted clean-difference slopes 0.008, 0.010, 0.012 per doubling give a
    mean of 0.010 with the one-sample t interval over the 3 seeds (2 df), which excludes 0, so the page says it
    rises; AUC slopes -0.01, 0, +0.01 give 0 with an interval that holds it. Equal slopes (no spread): no
    interval, said so."""
    t = budget_tables(_points(_seed_lines((0.008, 0.010, 0.012), -0.2), _seed_lines((-0.01, 0.0, 0.01), 0.2)))
    tr = t["trend"].set_index("metric")
    half = st.t.ppf(0.975, 2) * 0.002 / math.sqrt(3)
    assert tr.loc["d_clean", "slope_per_doubling"] == pytest.approx(0.01, abs=1e-10)
    assert (tr.loc["d_clean", "ci_low"], tr.loc["d_clean", "ci_high"]) == (pytest.approx(0.01 - half),
                                                                           pytest.approx(0.01 + half))
    assert tr.loc["d_clean", "p"] == pytest.approx(st.ttest_1samp([0.008, 0.010, 0.012], 0).pvalue)
    assert tr.loc["d_clean", "n_points"] == 15 and tr.loc["d_clean", "n_seeds"] == 3
    assert tr.loc["d_clean", "n_budgets"] == 5 and (tr.loc["d_clean", "epochs_min"], tr.loc["d_clean", "epochs_max"]) == (1, 20)
    assert tr.loc["d_auc", "slope_per_doubling"] == pytest.approx(0.0, abs=1e-10)
    assert tr.loc["d_auc", "ci_low"] < 0 < tr.loc["d_auc", "ci_high"]
    text = trend_text(t["trend"])
    assert "Trend over 1-20 epochs" in text and "averaged over 3 seeds; 15 seed pairs at 5 budgets" in text
    assert "t interval over the seeds' slopes, 2 df" in text
    assert "clean-accuracy difference changes by +0.0100 per doubling" in text and "**it rises with training**" in text
    assert "Gaussian-AUC gain changes by +0.0000" in text and "cannot say whether it rises or falls" in text
    falling = budget_tables(_points(_seed_lines((-0.012, -0.01, -0.008), 0.0)))["trend"]
    assert falling.set_index("metric").loc["d_clean"].ci_high < 0 and "**it falls with training**" in trend_text(falling)
    same = budget_tables(_points(_linear(0.01, -0.2)))["trend"]  # every seed the same slope: no spread
    r = same.set_index("metric").loc["d_clean"]
    assert r.slope_per_doubling == pytest.approx(0.01) and math.isnan(r.ci_low)
    assert "changes by +0.0100 per doubling of the steps: no interval (fewer than 2 seeds" in trend_text(same)


def _largest(clean20, auc20, drop=()):
    d_clean = {e: [-0.05, -0.06, -0.04] for e in FULL_STEPS}
    d_clean[20.0] = clean20
    d_auc = {e: [0.1, 0.12, 0.14] for e in FULL_STEPS}
    d_auc[20.0] = auc20
    t = budget_tables(_points(d_clean, d_auc, drop=drop))
    s = t["summary"]
    return t, s[s.epochs == 20.0].iloc[0]


def test_largest_budget_cost_decided_known_answer():
    """Paired clean differences (−0.05, −0.06, −0.04) at 20 epochs: mean −0.05, SD 0.01, 95% interval
    −0.05 ± t(0.975, 2)·0.01/√3; it lies below 0, so the page says S^Th costs clean accuracy."""
    t, r = _largest([-0.05, -0.06, -0.04], [0.20, 0.22, 0.24])
    half = T975_2 * 0.01 / math.sqrt(3)
    assert r.n == 3 and r.test == "paired t" and r.seeds == "0,1,2" and r.steps == 18580
    assert r.d_clean_mean == pytest.approx(-0.05) and r.d_clean_sd == pytest.approx(0.01)
    assert (r.d_clean_ci_low, r.d_clean_ci_high) == (pytest.approx(-0.05 - half), pytest.approx(-0.05 + half))
    assert r.d_auc_mean == pytest.approx(0.22) and r.d_auc_ci_low == pytest.approx(0.22 - T975_2 * 0.02 / math.sqrt(3))
    assert r.clean_a == pytest.approx(0.91) and r.clean_b == pytest.approx(0.86)  # each condition's own mean
    assert r.d_clean_mde == pytest.approx(stats.mde_paired(0.01, 3)) and r.d_clean_mde_next == pytest.approx(
        stats.mde_paired(0.01, 5))
    text = final_text(r)
    assert text.startswith("**At 20 epochs** (18,580 steps, the largest budget; 3 seed pairs)")
    assert "clean accuracy -0.050 [-0.075, -0.025]" in text and "Gaussian AUC over ε > 0 +0.220 [+0.170, +0.270]" in text
    assert "**S^Th costs clean accuracy at 20 epochs**, between 2.5 and 7.5 points" in text
    assert "undecided" not in text.split("**What")[0] and "seeds 3-4" not in text
    assert ("(95%, paired t, unadjusted, exploratory) lies above 0: **at 20 epochs S^Th's Gaussian-noise gain is shown "
            "above zero** at 3 seeds") in text
    assert "reused here" not in text and "reused here" in final_text(r, main_runs=True)
    assert "is detected with less than 80% power at 3 seeds" in text
    assert f"at least ±{stats.mde_paired(0.01, 3):.4f} in clean accuracy" in text and "with 2 df" in text
    assert f"With 5 seed pairs at the same SD they would be ±{stats.mde_paired(0.01, 5):.4f} (clean)" in text
    # the page's own paragraph ends with this statement, about the largest of the profile's budgets
    assert Budget(profile="full").what_we_see(FigureData("budget", {}, t)).endswith(text)
    # the page's table: a row per budget, each condition's means and the differences with their intervals
    tab = summary_table(t["summary"]).set_index("budget")
    assert list(tab.index) == [f"full, {e:g} epochs" for e in FULL_STEPS]
    row = tab.loc["full, 20 epochs"]
    assert row["SGD steps"] == 18580 and row["seed pairs"] == 3 and row["clean, unregularized"] == pytest.approx(0.91)
    assert row["clean, S^Th"] == pytest.approx(0.86) and row["clean difference"] == pytest.approx(-0.05)
    assert row["clean 95% CI"] == "[-0.075, -0.025]" and row["AUC 95% CI"] == "[+0.170, +0.270]"
    assert row["AUC gain"] == pytest.approx(0.22) and row["clean p"] == pfmt(r.d_clean_p) != ""


def test_largest_budget_sign_undecided_known_answer():
    """(−0.01, +0.02, −0.04): mean −0.01, SD 0.03, interval −0.01 ± 0.0745 holds 0: the sign is undecided at 3
    seeds and the next step is seeds 3-4 at 20 epochs; an AUC gain whose interval holds 0 is undecided too."""
    _, r = _largest([-0.01, 0.02, -0.04], [0.3, -0.1, 0.1])
    half = T975_2 * 0.03 / math.sqrt(3)
    assert r.d_clean_mean == pytest.approx(-0.01) and r.d_clean_ci_low == pytest.approx(-0.01 - half)
    assert r.d_clean_ci_high == pytest.approx(-0.01 + half) and r.d_clean_ci_low < 0 < r.d_clean_ci_high
    text = final_text(r)
    assert "**the sign of the clean difference is undecided at 3 seeds**" in text
    assert (r.d_clean_below, r.d_clean_above) == (2, 1)  # the sign count beside the interval
    assert ("(which is not evidence of no cost, although S^Th's clean accuracy is lower in 2 of the 3 seed "
            "pairs)") in text
    assert "the next step is seeds 3-4 at 20 epochs" in text and "not evidence of no cost" in text
    assert "next step" not in final_text(r, main_runs=True)  # the main comparison has those seeds already
    assert "the sign of the Gaussian-AUC gain is undecided at 3 seeds" in text
    lo, hi = sd_interval_factors(3)
    assert (lo, hi) == (pytest.approx(math.sqrt(2 / st.chi2.ppf(0.975, 2))), pytest.approx(math.sqrt(2 / st.chi2.ppf(0.025, 2))))
    assert f"from {lo:.2f} to {hi:.2f} times" in text and (round(lo, 2), round(hi, 2)) == (0.52, 6.28)


def test_a_failed_run_loses_its_pair_and_is_not_replaced():
    """Seed 2's S^Th run at 20 epochs failed (no point): 2 pairs remain, and more seeds start at 3."""
    _, r = _largest([-0.05, -0.06, -0.04], [0.2, 0.22, 0.24], drop={(20.0, 2, "S^Th")})
    assert r.n == 2 and r.seeds == "0,1" and r.seed_max == 2 and r.d_clean_mean == pytest.approx(-0.055)
    _, r = _largest([0.05, -0.06, -0.04], [0.2, 0.22, 0.24], drop={(20.0, 2, "S^Th")})
    assert "the next step is seeds 3-4 at 20 epochs" in final_text(r)


# ----------------------------------------------------------------------------------------------- the figure

def _figure_data(epochs_steps: dict) -> FigureData:
    rows = []
    for e, s in epochs_steps.items():
        for seed in (0, 1, 2):
            for cond, c, a in (("unregularized", 0.9, 0.45), ("S^Th", 0.85 + 0.01 * seed, 0.6)):
                rows.append(dict(budget=f"full, {e:g} epochs", own_profile=True, run=f"{cond}{e}{seed}", seed=seed,
                                 condition=cond, alpha=0.0, epochs=e, train_images=59400, steps=s, clean=c,
                                 auc=a + 0.01 * seed * (cond == "S^Th")))
    pts = pd.DataFrame(rows)
    return FigureData("budget", {"profile": "full"}, dict(points=pts, **budget_tables(pts)))


def test_figure_ticks_name_epochs_and_steps_and_never_overlap():
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig = plot(_figure_data(FULL_STEPS))
    try:
        for ax in fig.axes[2:]:  # the bottom row carries the tick labels (shared x)
            labels = [t.get_text() for t in ax.get_xticklabels() if t.get_visible()]
            assert labels == ["1 ep\n929", "2 ep\n1,858", "3 ep\n2,787", "10 ep\n9,290", "20 ep\n18,580"]
            assert ax.get_xscale() == "log" and overlapping_tick_labels(ax) == []
        assert "ε > 0" in fig.axes[1].get_ylabel() and "ε > 0" in fig.axes[3].get_ylabel()
    finally:
        plt.close(fig)
    crowded = {1.0: 929, 1.05: 975, 1.1: 1022, 20.0: 18580}  # labels that cannot all fit: thinned, the largest kept
    fig = plot(_figure_data(crowded))
    try:
        ax = fig.axes[3]
        shown = [t.get_text() for t in ax.get_xticklabels() if t.get_text()]
        assert overlapping_tick_labels(ax) == [] and "20 ep\n18,580" in shown and len(shown) < 4
    finally:
        plt.close(fig)


# --------------------------------------------------------------------------------- records mode and smoke

def test_full_in_records_mode_names_the_missing_runs(tmp_path, monkeypatch):
    """Training off and the 10/20-epoch runs not published: the full plan's data call raises MissingRunsError
    naming exactly those runs (the notebook asks for the published part first, Page.as_published); the
    published 1/2/3-epoch runs and the cpu point are imported."""
    monkeypatch.setenv("PIXELREG_TRAIN", "0")
    missing = {h for hs in TRAINING.values() for h in hs}
    if all((RECORDS / f"{h}.json").is_file() for h in missing):
        pytest.skip("the 10/20-epoch records are published: the page renders")
    with pytest.raises(MissingRunsError) as info:
        Budget(profile="full", epochs=(1.0, 2.0, 3.0, 10.0, 20.0)).data(runs_dir=tmp_path, progress=False)
    assert set(info.value.run_ids) == {h for h in missing if not (RECORDS / f"{h}.json").is_file()}
    assert f"{len(info.value.run_ids)} run(s) needed here" in str(info.value)


@pytest.mark.slow  # end-to-end: trains 8 smoke runs and evaluates them
def test_smoke_page_builds(tmp_path):
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    page = Budget(profile="smoke")
    data = page.data(runs_dir=tmp_path, progress=False)
    pts = data["points"]
    assert set(pts.condition) <= {"unregularized", "S^Th"} and set(pts.epochs) <= set(page.epochs)
    assert set(data["summary"].budget) <= {f"smoke, {e:g} epoch{'s' if e != 1 else ''}" for e in page.epochs}
    text = page.what_we_see(data)
    assert "Trend over" in text and f"**At {max(page.epochs):g} epoch" in text
    plt.close(plot(data))
