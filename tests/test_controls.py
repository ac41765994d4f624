"""The controls page (issue 22 item 3): the beyond page's controls under transferred FGSM and the converged
boundary attack. Its plan (the beyond page's and Fig. 2's runs under their hashes, a source no page evaluates),
bad input, the comparisons on known answers, and the page built at smoke."""
from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from conftest import needs_fmnist

from pixelreg.errors import ConfigError
from pixelreg.experiment.config import config_hash
from pixelreg.figures.beyond import Beyond
from pixelreg.figures.controls import (CONDITIONS, CONTRASTS, RULE, Controls, ahead_in_seeds, comparison_sentences,
                                       comparisons, contrasts, specificity_sentence)
from pixelreg.figures.fig2 import Fig2
from pixelreg.figures.fig3 import Fig3


def test_full_plan_is_seeds_7_to_9_of_the_beyond_runs_and_a_source_of_its_own():
    page = Controls(profile="full")
    assert page.seeds == (7, 8, 9) and page.source_seed == 1001 != Fig3(profile="full").source_seed
    configs = page.configs()
    assert len(configs) == 3 * 5 + 1
    beyond = Beyond(profile="full", seeds=(7, 8, 9)).configs()
    assert {config_hash(c) for c in configs[:-1]} == {config_hash(c) for c in beyond}
    fig2 = {config_hash(c) for c in Fig2(profile="full", seeds=(7, 8, 9)).configs()}
    # the unregularized, S^pixel and S^Th runs are Fig. 2's (Fashion-MNIST pool): nothing is trained twice
    assert len(fig2 & {config_hash(c) for c in configs}) == 3 * 3
    src = configs[-1]
    assert src.seed == 1001 and not src.regularized and src.noise_aug == 0
    assert not Controls(profile="smoke").configs()[-1].seed in Controls(profile="smoke").seeds


@pytest.mark.parametrize("kw, name", [(dict(noise_sigma=0), "noise_sigma"), (dict(noise_sigma=1.5), "noise_sigma"),
                                      (dict(seeds=(7, 1001)), "source_seed"), (dict(source_seed=-1), "source_seed"),
                                      (dict(converged_cap=3), "converged_cap"), (dict(converged_images=0),
                                                                                 "converged_images"),
                                      (dict(boundary="yes"), "boundary"), (dict(cutoff=0.6), "cutoff"),
                                      (dict(seeds="a"), "seeds")])
def test_bad_parameters_are_named(kw, name):
    with pytest.raises(ConfigError, match=name):
        Controls(profile="full", **kw)


def per_run(values: dict[str, list[float]]) -> pd.DataFrame:
    return pd.DataFrame([dict(run=f"{c}{s}", seed=s, condition=c, auc=v) for c, vs in values.items()
                         for s, v in enumerate(vs)])


def test_comparisons_are_paired_by_seed_with_known_answers():
    base = [0.50, 0.60, 0.40, 0.55]
    t = per_run({"unregularized": base, "S^Th": [b + 0.10 for b in base],
                 "noise-aug": [b + 0.20 for b in base], "shuffled": [b + 0.0 for b in base],
                 "S^pixel": [b + 0.05 + 0.01 * i for i, b in enumerate(base)]})
    c = comparisons(t, "auc").set_index(["a", "b"])
    assert len(c) == len(CONDITIONS) + len(CONTRASTS)
    # a constant per-seed offset is recovered exactly: the seed effect cancels
    assert c.loc[("unregularized", "S^Th"), "diff"] == pytest.approx(0.10)
    assert c.loc[("noise-aug", "S^Th"), "diff"] == pytest.approx(-0.10)
    assert c.loc[("shuffled", "S^Th"), "diff"] == pytest.approx(0.10)
    # S^pixel: offsets 0.05, 0.06, 0.07, 0.08: mean 0.065, paired t interval by hand
    d = np.array([0.05, 0.06, 0.07, 0.08])
    from scipy import stats
    half = stats.t.ppf(0.975, 3) * d.std(ddof=1) / 2
    r = c.loc[("unregularized", "S^pixel")]
    assert r["diff"] == pytest.approx(0.065) and r["ci_low"] == pytest.approx(0.065 - half)
    assert set(c["n_a"]) == {4} and set(c["test"]) == {"paired t"}


def test_a_condition_with_fewer_than_two_runs_is_left_out():
    t = per_run({"unregularized": [0.5, 0.6], "S^Th": [0.6, 0.7], "noise-aug": [0.7]})
    c = comparisons(t, "auc")
    assert set(zip(c.a, c.b)) == {("unregularized", "S^Th")}
    assert comparisons(t.iloc[:0], "auc").empty


def test_sentences_say_whether_the_interval_holds_zero():
    base = [0.50, 0.60, 0.40]
    noisy = per_run({"unregularized": base, "S^Th": [0.52, 0.58, 0.41]})
    clear = per_run({"unregularized": base, "S^Th": [0.60, 0.71, 0.49]})
    assert "holds 0" in comparison_sentences(comparisons(noisy, "auc"))[1]
    assert "excludes 0" in comparison_sentences(comparisons(clear, "auc"))[1]
    assert comparison_sentences(comparisons(clear, "auc"))[0].startswith("**AUC over ε > 0 under transferred FGSM**")


@pytest.mark.parametrize("aug, shuf, call", [
    ([0.40, 0.52, 0.28], [0.41, 0.50, 0.31], "**Specific:**"),      # S^Th above both controls by > SESOI
    ([0.65, 0.76, 0.53], [0.41, 0.50, 0.31], "**Not specific:**"),  # augmentation above S^Th
    ([0.545, 0.662, 0.441], [0.41, 0.50, 0.31], "**Not specific:**"),  # augmentation equivalent within ±0.03
    ([0.56, 0.59, 0.45], [0.41, 0.50, 0.31], "**Not shown either way at 3 seeds**"),  # wide interval
])
def test_the_answer_follows_the_claims_rule_on_each_control(aug, shuf, call):
    t = per_run({"unregularized": [0.40, 0.50, 0.30], "S^Th": [0.55, 0.66, 0.44], "noise-aug": aug, "shuffled": shuf})
    text = specificity_sentence(t)
    assert text.startswith(call), text
    assert "S^Th − noise-aug" in text and "S^Th − shuffled" in text and "3 pairs" in text
    # the page and the claim row transfer-specific read one rule: the row's verdict matches the page's call
    from pixelreg.analysis.verdicts import intersection_union, verdict
    row = intersection_union({c: verdict(cmp, RULE, confirmatory=False) for c, cmp in contrasts(t).items()})[0]
    expect = {"**Specific:**": "reproduced", "**Not specific:**": ("contradicted", "not reproduced"),
              "**Not shown either way at 3 seeds**": "inconclusive"}[call]
    assert row.startswith(expect), row


def test_the_answer_is_not_judged_below_three_seeds_or_without_a_control():
    t = per_run({"unregularized": [0.40, 0.50], "S^Th": [0.55, 0.66], "noise-aug": [0.30, 0.41],
                 "shuffled": [0.31, 0.40]})  # S^Th far ahead of both, but 2 seeds: the rule needs 3
    text = specificity_sentence(t)
    assert text.startswith("**Not shown either way at 2 seeds**") and "not judged (2 seeds)" in text
    three = per_run({"unregularized": [0.40, 0.50, 0.30], "S^Th": [0.55, 0.66, 0.44],
                     "noise-aug": [0.40, 0.52, 0.28]})
    one = specificity_sentence(three)  # only one control: never "Specific"
    assert one.startswith("**Not shown either way") and "no comparison with shuffled" in one
    assert specificity_sentence(t.iloc[:0]) == ""


def test_too_few_shared_seeds_are_compared_unpaired_and_say_so():
    t = pd.DataFrame([dict(run=f"{c}{s}", seed=s, condition=c, auc=v) for c, s, v in
                      [("unregularized", 0, 0.5), ("unregularized", 1, 0.6), ("S^Th", 1, 0.7), ("S^Th", 2, 0.8)]])
    c = comparisons(t, "auc")
    assert c.test.iloc[0].lower().startswith("welch")
    assert "1 vs 1 runs, unpaired" not in comparison_sentences(c)[1] and "unpaired" in comparison_sentences(c)[1]


def test_ahead_in_seeds_counts_the_seeds_known_answer():
    """S^Th's mean lead carried by one seed shows as "ahead in 1 of 3 seeds" in the page's answer."""
    t = per_run({"unregularized": [0.40, 0.50, 0.30], "S^Th": [0.26, 0.34, 0.26], "noise-aug": [0.30, 0.27, 0.26],
                 "shuffled": [0.27, 0.30, 0.24]})
    assert ahead_in_seeds(t, "noise-aug") == (1, 3)  # seed 1 only (seed 2: a tie is not ahead)
    assert ahead_in_seeds(t, "shuffled") == (2, 3)
    assert ahead_in_seeds(t, "absent") == (0, 0) and ahead_in_seeds(t.iloc[:0], "noise-aug") == (0, 0)
    text = specificity_sentence(t)
    assert "(3 pairs; S^Th ahead in 1 of 3 seeds)" in text and "(3 pairs; S^Th ahead in 2 of 3 seeds)" in text


def test_the_boundary_line_says_what_leaving_runs_out_does():
    from pixelreg.figures.common import FigureData
    bnd = pd.DataFrame([dict(run=f"r{i}", seed=i, condition="S^Th", converged=i != 0, converged_steps=8,
                             median_l2=1.0, share=0.2, n_images=4, note="unconverged at the cap of 128 iterations"
                             if i == 0 else "") for i in range(3)])
    text = Controls(profile="smoke").what_we_see(FigureData("controls", {}, {"auc": per_run({}), "tests": pd.DataFrame(
        columns=["measure"]), "boundary": bnd}))
    assert "converged on 2 of 3 runs" in text and "r0 (S^Th, seed 0): unconverged at the cap of 128 iterations" in text
    assert "compared unpaired (Welch)" in text and "Each run's median rests on 4 attacked images." in text


def test_an_undefined_interval_is_not_read_as_holding_zero():
    t = per_run({"unregularized": [0.5, 0.6, 0.4], "S^Th": [0.6, 0.7, 0.5]})  # constant offset: no spread
    line = comparison_sentences(comparisons(t, "auc"))[1]
    assert "no interval" in line and "holds 0" not in line


@needs_fmnist
@pytest.mark.slow  # trains 11 smoke runs (the source is Fig. 3's) and runs FGSM and a short HopSkipJump on 10
def test_page_builds_at_smoke(tmp_path):
    page = Controls(profile="smoke")
    data = page.data(runs_dir=tmp_path / "runs", progress=False)
    cur = data["curves"]
    assert set(cur.condition) == {"unregularized", *CONDITIONS} and cur.run.nunique() == 10
    assert set(cur.source.unique()) != {None} and cur.attack.unique().tolist() == ["fgsm"]
    # ε = 0 is the clean accuracy: the same for the transferred attack as for any other (Gaussian noise at ε 0)
    clean = page.curves([r for r in _runs(page, tmp_path)], ("gaussian",), page.n_images)
    both = cur[cur.epsilon == 0].merge(clean[clean.epsilon == 0], on="run")
    assert np.allclose(both.accuracy_x, both.accuracy_y)
    b = data["boundary"]
    assert len(b) == 10 and set(b.condition) == set(cur.condition)
    assert b.loc[b.converged.astype(bool), "share"].between(0, 1).all()
    assert data["auc"]["auc"].between(0, 1).all()
    assert "transferred FGSM" in data.what_we_see()


def _runs(page, tmp_path):
    from pixelreg.experiment.runs import RunStore
    store = RunStore(tmp_path / "runs")
    return [store.get(c) for c in page.configs()[:-1]]


def test_records_hold_a_target_only_with_the_pages_evaluations_and_the_source_without(monkeypatch):
    import pixelreg.experiment.sweep as sweep
    calls = []

    def fake(configs, runs_dir=None, evaluations=()):
        calls.append(([c.seed for c in configs], tuple(evaluations)))
        return set(configs)
    monkeypatch.setattr(sweep, "held_runs", fake)
    page = Controls(profile="full")
    assert page.held(page.configs()) == set(page.configs())
    assert [c[0] for c in calls] == [[7] * 5 + [8] * 5 + [9] * 5, [1001]] and calls[1][1] == ()
    (name, test), boundary = calls[0][1]
    assert name == "acc-fgsm" and boundary == "boundary-convergence"
    # FGSM transferred from this page's source (seed 1001), not Fig. 3's or a white-box curve
    assert test({"attack": "FGSM(source=run:b9d4081fb87c@928b0294f9b3fef5)"})
    assert not test({"attack": "FGSM(source=run:849fcd29eafa)"}) and not test({"attack": "FGSM(white-box)"})
    calls.clear()
    Controls(profile="full", boundary=False).held(page.configs())
    assert [n for n, _ in calls[0][1]] == ["acc-fgsm"]


def test_the_beyond_page_shares_the_comparison_table_and_never_reads_a_missing_interval_as_holding_zero():
    """The beyond page's AUC tests come from the same helper as this page's; with one seed per condition there
    is no interval, and its sentence says so rather than "holds 0"."""
    from pixelreg.figures.beyond import Beyond
    from pixelreg.figures.pages import FigureData
    from pixelreg.figures.tables import COMPARISON_COLUMNS, paired_comparisons

    base = [0.50, 0.60, 0.40]
    t = per_run({"unregularized": base, "S^Th": [b + 0.1 for b in base]})
    assert list(paired_comparisons(t, [("unregularized", "S^Th")]).columns) == COMPARISON_COLUMNS
    assert paired_comparisons(t, [("unregularized", "S^Th")]).equals(
        comparisons(t, "auc").drop(columns="measure").iloc[:1].reset_index(drop=True))
    one = paired_comparisons(per_run({"unregularized": [0.5], "S^Th": [0.6]}), [("unregularized", "S^Th")])
    data = FigureData("beyond", {}, {"auc_tests": one.assign(attack="gaussian")})
    text = Beyond(profile="smoke").what_we_see(data)
    assert "no interval" in text and "holds 0" not in text and "1 vs 1 runs, unpaired" in text
    t = per_run({"unregularized": base, "S^Th": [0.60, 0.71, 0.49]})
    clear = paired_comparisons(t, [("unregularized", "S^Th")]).assign(attack="gaussian")
    assert "excludes 0" in Beyond(profile="smoke").what_we_see(FigureData("beyond", {}, {"auc_tests": clear}))


def test_the_beyond_page_tests_sth_against_each_control_directly():
    """S^Th minus each control, paired by seed, is its own block of the beyond page: a control whose gain over the
    unregularized model holds 0 is not thereby behind S^Th; the direct test says whether it is."""
    from pixelreg.figures.beyond import HEAD_TO_HEAD, Beyond
    from pixelreg.figures.pages import FigureData
    from pixelreg.figures.tables import paired_comparisons

    base = [0.50, 0.60, 0.40]
    t = per_run({"unregularized": base, "S^Th": [0.61, 0.70, 0.52], "shuffled": [0.60, 0.71, 0.50],
                 "noise-aug": [0.80, 0.92, 0.69]})
    tab = paired_comparisons(t, [("unregularized", "S^Th"), ("unregularized", "shuffled"), *HEAD_TO_HEAD])
    text = Beyond(profile="smoke").what_we_see(FigureData("beyond", {}, {"auc_tests": tab.assign(attack="gaussian")}))
    head, direct = text.split("S^Th against each control directly")
    assert "vs unregularized" in head and "vs noise-aug" not in head
    assert "S^Th: AUC over ε > 0 0.610 vs noise-aug 0.803 (Δ = -0.193" in direct
    row = tab[(tab.a == "noise-aug") & (tab.b == "S^Th")].iloc[0]
    assert row.test == "paired t" and row.ci_high < 0 and "excludes 0" in direct
    assert tab[(tab.a == "shuffled")].iloc[0].ci_low < 0 < tab[(tab.a == "shuffled")].iloc[0].ci_high
