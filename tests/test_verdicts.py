"""Claim verdicts (issue 13): every verdict on inputs built for it, the 'large' threshold, the no-loss rule, the
ablation guard, Holm across a page, per-run summaries paired by seed, and the low-frequency tests."""
from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest
import torch

from pixelreg.analysis import stats
from pixelreg.errors import ConfigError
from pixelreg.robustness.spectra import filtered_noise, share_table, start_direction
from pixelreg.analysis.stats import paired_test, welch_test
from pixelreg.analysis.verdicts import (EXPLORATORY_LABELS, NEGLIGIBLE, Rule, Verdict, auc_by_run, intersection_union, compare_by_seed, judge, lowfreq_excess_test,
                               lowfreq_null_test, lowfreq_test, pair_by_seed, primary_tests, seed_means,
                               value_at, verdict, verdict_table)

EPS = (0.0, 0.05, 0.1, 0.2)
NOISY = (0.05, 0.1, 0.2)


def _curves(gain: float, n_seeds: int, noise: float, clean: float = 0.0, seed_sd: float = 0.03,
            rng: int = 0, seeds=None, conds=("unregularized", "S^Th")) -> pd.DataFrame:
    """Tidy robustness table: accuracy = 0.9 − 2ε + seed offset (shared by the conditions of a seed, as shared
    initial weights would) + run noise, plus ``gain`` at ε > 0 and ``clean`` at ε = 0 for the regularized one."""
    g = np.random.default_rng(rng)
    rows = []
    for s in (range(n_seeds) if seeds is None else seeds):
        off = g.normal(0, seed_sd)
        for cond in conds:
            run_noise = g.normal(0, noise)
            for e in EPS:
                shift = 0.0 if cond == conds[0] else (gain if e > 0 else clean)
                rows.append(dict(run=f"{cond}-{s}", seed=s, condition=cond, attack="gaussian", epsilon=e,
                                 accuracy=0.9 - 2 * e + off + run_noise + shift))
    return pd.DataFrame(rows)


def _auc_cmp(gain, n_seeds, noise, **kw):
    aucs = auc_by_run(_curves(gain, n_seeds, noise, **kw), epsilons=NOISY)
    return compare_by_seed(aucs, "unregularized", "S^Th")


EFFECT = Rule(sesoi=0.01, unit="AUC")


# ---- the four verdicts on tables built for each ----------------------------------------------------------

def test_strong_effect_is_reproduced_and_pairing_helps():
    c = _auc_cmp(0.05, 8, 0.005)
    assert c.test == "paired t" and c.n == 8
    assert c.estimate == pytest.approx(0.05, abs=0.01)
    v = verdict(c, EFFECT)
    assert v.verdict == v.category == "reproduced"
    assert "reproduced: the 95% interval" in v.rule and v.p_adj == v.p and v.m == 1
    assert v.ci_low > 0 and v.mde < 0.05 and v.sesoi == 0.01
    # the shared seed offsets (SD 0.03) swamp an unpaired test of the same numbers
    aucs = auc_by_run(_curves(0.05, 8, 0.005), epsilons=NOISY)
    w = welch_test(*(aucs.loc[aucs.condition == k, "auc"] for k in ("unregularized", "S^Th")))
    assert w.p > 10 * c.p


def test_null_effect_with_many_tight_seeds_is_not_reproduced():
    c = _auc_cmp(0.0, 30, 0.002)
    v = verdict(c, EFFECT)
    assert v.verdict == "not reproduced (negligible)" and v.category == "not reproduced", v.rule
    assert v.test2.startswith("TOST") and v.p2 <= 0.025 and "±0.01" in v.test2
    assert -0.01 < v.ci_low and v.ci_high < 0.01


def test_reversed_effect_is_contradicted():
    v = verdict(_auc_cmp(-0.05, 8, 0.005), EFFECT)
    assert v.verdict == "contradicted" and v.estimate < 0
    assert "opposite to the claim" in v.rule
    # the same data under the opposite claim (b < a) is reproduced
    assert verdict(_auc_cmp(-0.05, 8, 0.005), Rule(direction=-1, sesoi=0.01)).verdict == "reproduced"


def test_few_noisy_seeds_are_inconclusive():
    c = _auc_cmp(0.02, 3, 0.05)
    v = verdict(c, EFFECT)
    assert v.verdict == "inconclusive"
    assert v.ci_low < 0 < 0.01 < v.ci_high  # the interval holds both no effect and the claimed effect
    assert "holds 0 and reaches beyond" in v.rule
    assert math.isnan(v.mde) and v.power_note.startswith("too few seeds (3)")  # no MDE from 3 seeds


def test_large_threshold_flips_reproduced_and_not():
    c = _auc_cmp(0.05, 8, 0.005)
    assert verdict(c, Rule(sesoi=0.01, large=0.03)).verdict == "reproduced"
    v = verdict(c, Rule(sesoi=0.01, large=0.2))
    assert v.verdict == "not reproduced (below the 'large' threshold)" and v.sesoi == 0.01
    assert "'large' threshold" in v.rule
    # as an effect size: d_z is about 7 here
    assert c.effect > 3
    assert verdict(c, Rule(sesoi=0.01, large_effect=2.0)).verdict == "reproduced"
    v = verdict(c, Rule(sesoi=0.01, large_effect=100.0))
    assert v.verdict.startswith("not reproduced") and v.large == pytest.approx(100 * c.sd)
    # significant, below 'large', and the interval still reaches it: inconclusive, not reproduced
    d = paired_test(np.zeros(4), np.array([0.03, 0.05, 0.07, 0.05]))
    assert d.p < 0.05 and d.ci_high > 0.06
    v = verdict(d, Rule(sesoi=0.01, large=0.06))
    assert v.verdict == "inconclusive" and "below the 'large' threshold" in v.rule


# ---- "no loss": non-inferiority with a margin, both ways ---------------------------------------------------

NO_LOSS = Rule(kind="no_loss", margin=0.01, unit="accuracy")


def _clean_cmp(clean, n_seeds, noise, **kw):
    return compare_by_seed(value_at(_curves(0.0, n_seeds, noise, clean=clean, **kw), 0.0), "unregularized",
                           "S^Th", value="accuracy")


def test_no_loss_reproduced_when_a_loss_beyond_the_margin_is_ruled_out():
    c = _clean_cmp(-0.002, 10, 0.002)
    assert c.p < 0.05  # a small loss is significant ...
    v = verdict(c, NO_LOSS)
    assert v.verdict == "reproduced", v.rule  # ... but smaller than the margin: no loss in the stated sense
    assert v.test.startswith("non-inferiority (paired t, margin 0.01)") and v.margin == 0.01
    assert v.ci_low > -0.01


def test_no_loss_contradicted_by_a_loss_beyond_the_margin():
    v = verdict(_clean_cmp(-0.05, 10, 0.002), NO_LOSS)
    assert v.verdict == "contradicted" and v.test2.startswith("inferiority") and v.p2_adj <= 0.05
    assert v.ci_high < -0.01


def test_no_loss_is_never_judged_by_absence_of_significance():
    c = _clean_cmp(-0.005, 3, 0.03)
    assert c.p > 0.05  # no significant drop ...
    v = verdict(c, NO_LOSS)
    assert v.verdict == "inconclusive" and "holds both a loss within" in v.rule  # ... is not "no loss"


def test_no_loss_for_a_lower_is_better_summary():
    rule = Rule(kind="no_loss", direction=-1, margin=0.01)  # e.g. an error rate: b must not be higher
    up = paired_test(np.zeros(10), np.full(10, 0.05) + np.linspace(-1e-3, 1e-3, 10))
    assert verdict(up, rule).verdict == "contradicted"
    flat = paired_test(np.zeros(10), np.linspace(-1e-3, 1e-3, 10))
    assert verdict(flat, rule).verdict == "reproduced"


# ---- the ablation guard and Holm across a page -------------------------------------------------------------

def test_ablation_guard():
    rule = Rule(sesoi=0.01, min_seeds=3)
    one = _auc_cmp(0.05, 1, 0.005)
    v = verdict(one, rule)
    assert v.verdict == "inconclusive (1 seed)" and v.category == "inconclusive"
    assert math.isnan(v.p) and math.isnan(v.mde)
    two = _auc_cmp(0.05, 2, 0.001)
    assert two.p < 0.05  # significant, but not judged with 2 seeds
    assert verdict(two, rule).verdict == "inconclusive (2 seeds)"
    assert verdict(_auc_cmp(0.05, 3, 0.001), rule).verdict == "reproduced"
    # unpaired cells: the smaller one counts
    w = welch_test([0.5, 0.6, 0.55, 0.52], [0.9, 0.95])
    assert verdict(w, rule).verdict == "inconclusive (2 seeds)"


def test_bonferroni_family_interval_and_verdict_agree():
    c = paired_test(np.zeros(5), np.array([0.1, 0.3, 0.2, 0.0, 0.25]))
    assert 0.05 / 3 < c.p < 0.05
    rule = Rule(sesoi=0.01)
    alone = verdict(c, rule)
    assert alone.verdict == "reproduced" and alone.ci_low > 0  # alone: the 95% interval excludes 0
    out = judge([c, c, c], [rule] * 3)
    for v in out:  # a family of 3: the 1 − 0.05/3 interval holds 0, and the verdict says the same
        assert v.verdict == "inconclusive" and v.ci_low < 0 < v.ci_high
        assert v.confidence == pytest.approx(1 - 0.05 / 3) and v.m == 3
        assert v.p_adj == pytest.approx(min(1, 3 * c.p)) and v.row_level == pytest.approx(0.05 / 3)
    # a family fixed in advance keeps its declared size, whatever rows have data
    assert judge([c], [rule], m=8)[0].confidence == pytest.approx(1 - 0.05 / 8)
    # rows stopped by the guard are not judged
    guarded = Rule(sesoi=0.01, min_seeds=6)
    out = judge([c, c], [rule, guarded], m=1)
    assert out[0].verdict == "reproduced" and out[1].verdict == "inconclusive (5 seeds)"
    table = verdict_table(out)
    assert list(table["verdict"]) == [v.verdict for v in out] and "comparison" not in table.columns
    with pytest.raises(ConfigError, match="rules"):
        judge([c], [rule, rule])
    with pytest.raises(ConfigError, match="level"):
        verdict(c, rule, level=1.5)


def test_interval_and_verdict_cannot_disagree_on_random_rows():
    """Over many random rows and family sizes: reproduced <=> the shown interval is on the claimed side and not
    inside ±SESOI; negligible <=> inside ±SESOI; p_adj <= level <=> the interval excludes 0."""
    rng = np.random.default_rng(11)
    for i in range(300):
        n = int(rng.integers(4, 12))
        c = paired_test(np.zeros(n), rng.normal(rng.normal(0, 0.03), rng.uniform(0.002, 0.05), n))
        m = int(rng.integers(1, 9))
        v = verdict(c, Rule(sesoi=0.02), m=m)
        inside = -0.02 < v.ci_low and v.ci_high < 0.02
        assert (v.verdict == NEGLIGIBLE) == inside
        assert (v.verdict == "reproduced") == (v.ci_low > 0 and not inside)
        assert (v.verdict == "contradicted") == (v.ci_high < 0 and not inside)
        assert (v.p_adj <= 0.05) == (v.ci_low > 0 or v.ci_high < 0)
        assert (v.p2_adj <= 0.05) == inside


# ---- issue 20: negligible beats significant, non-inferiority, intersection-union, power ------------------

def test_significant_but_negligible_is_not_reproduced():
    # lowfreq-start at full: Δ = −0.001, significant, equivalent within the 0.02 SESOI -> never "contradicted"
    d = -0.001 + np.array([-0.0004, 0.0003, -0.0002, 0.0001, 0.0002])
    c = paired_test(np.zeros(5), d)
    assert c.p < 0.05 and c.ci_high < 0  # significant in the opposite direction ...
    v = verdict(c, Rule(sesoi=0.02, unit="share"))
    assert v.verdict == NEGLIGIBLE and "though it also excludes 0" in v.rule  # ... and negligible
    # Fig. 1 without the mean-luminance response: r = 0.028 [0.011, 0.046], SESOI r = 0.1 -> negligible
    w = stats.wald_test(0.028, (0.046 - 0.011) / (2 * 1.959963984540054), 500, what="bootstrap SE")
    assert (w.ci_low, w.ci_high) == pytest.approx((0.0105, 0.0455), abs=1e-6) and w.p < 0.05  # symmetric about r
    v = verdict(w, Rule(sesoi=0.1, unit="r"))
    assert v.verdict == NEGLIGIBLE and v.category == "not reproduced"
    # the same interval with a SESOI below its upper end: reproduced
    assert verdict(w, Rule(sesoi=0.04, unit="r")).verdict == "reproduced"


def test_exploratory_rows_get_a_weaker_label():
    c = _auc_cmp(0.05, 8, 0.005)
    v = verdict(c, EFFECT, confirmatory=False)
    assert v.verdict == "reproduced" and v.label == EXPLORATORY_LABELS["reproduced"] != "reproduced"
    assert v.confidence == 0.95 and not v.confirmatory


def test_intersection_union_needs_every_family():
    strong = verdict(_auc_cmp(0.05, 8, 0.005), EFFECT)
    weak = verdict(_auc_cmp(0.02, 3, 0.05), EFFECT)
    null = verdict(_auc_cmp(0.0, 30, 0.002), EFFECT)
    bad = verdict(_auc_cmp(-0.05, 8, 0.005), EFFECT)
    assert intersection_union({"a": strong, "b": strong})[0] == "reproduced"
    # the mean of a strong and an unclear family may pass; the intersection-union test does not
    v, why, weakest = intersection_union({"gaussian": strong, "salt-pepper": weak})
    assert v == "inconclusive" and "salt-pepper" in why and weakest == "salt-pepper"
    assert intersection_union({"a": strong, "b": null})[0] == NEGLIGIBLE
    assert intersection_union({"a": strong, "b": null, "c": bad})[0] == "contradicted"
    # the row shows the family that decides it: the contradicted one, even when another's interval is wider
    wide = verdict(_auc_cmp(0.0, 3, 0.2), EFFECT)
    assert wide.verdict == "inconclusive" and wide.ci_low < bad.ci_low
    assert intersection_union({"wide": wide, "bad": bad}) == ("contradicted", "contradicted in bad", "bad")
    assert intersection_union({"wide": wide, "null": null})[2] == "null"
    with pytest.raises(ConfigError, match="parts"):
        intersection_union({})


def test_too_few_seeds_for_power_and_seeds_needed_otherwise():
    v3 = verdict(_auc_cmp(0.02, 3, 0.01), EFFECT)
    assert math.isnan(v3.mde) and math.isnan(v3.n_effect) and "too few seeds" in v3.power_note
    v5 = verdict(_auc_cmp(0.02, 5, 0.01), EFFECT)
    assert v5.n_effect == stats.seeds_needed(v5.comparison, 0.01)[0] and v5.n_equivalence > 2
    assert f"{int(v5.n_effect)} pairs detect ±0.01" in v5.power_note
    # the observed gain (about 0.02) is about twice the SESOI: the seeds for a true difference that large are
    # stated too, and they are fewer
    n_obs = stats.seeds_needed(v5.comparison, abs(v5.estimate))[0]
    assert v5.estimate > 0.015 and n_obs < v5.n_effect
    assert f"as large as the observed {v5.estimate:+.3g} would need {int(n_obs)} pairs" in v5.power_note
    small = verdict(_auc_cmp(0.005, 5, 0.01), EFFECT)  # observed below the SESOI: no such clause
    assert "as large as the observed" not in small.power_note


def test_verdict_carries_everything_the_claims_page_shows():
    v = verdict(_auc_cmp(0.05, 8, 0.005), EFFECT)
    assert isinstance(v, Verdict)
    d = v.to_dict()
    for k in ("verdict", "estimate", "ci_low", "ci_high", "test", "p", "p_adj", "mde", "sesoi", "rule",
              "p_perm", "effect", "effect_name", "test2", "p2", "p2_adj", "n_effect", "n_equivalence", "label"):
        assert k in d
    assert v.p_perm == pytest.approx(2 / 2 ** 8)  # 8 pairs, all positive: only the two all-same-sign patterns
    assert v.number("AUC").startswith("Δ = +0.0") and "95% CI" in v.number()
    assert "paired t, n = 8 pairs" in v.uncertainty() and "pairs detect ±0.01" in v.uncertainty()
    assert "±0.01" in EFFECT.describe() and "negligible" in EFFECT.describe()
    assert "non-inferiority" in NO_LOSS.describe() and "Bonferroni, 0.05/8" in NO_LOSS.describe(0.05, 8)
    assert "fewer than 3 seeds" in Rule(sesoi=0.1, min_seeds=3).describe()


def test_rule_validation():
    with pytest.raises(ConfigError, match="sesoi"):
        Rule()
    with pytest.raises(ConfigError, match="margin"):
        Rule(kind="no_loss")
    with pytest.raises(ConfigError, match="kind"):
        Rule(kind="gain", sesoi=0.1)
    with pytest.raises(ConfigError, match="direction"):
        Rule(sesoi=0.1, direction=0)
    with pytest.raises(ConfigError, match="large/large_effect"):
        Rule(sesoi=0.1, large=0.2, large_effect=1.0)
    with pytest.raises(ConfigError, match="large"):
        Rule(sesoi=0.1, large=-0.2)


def test_primary_tests_match_the_stats_primitives():
    c = _auc_cmp(0.0, 12, 0.01)
    test, p, test2, p2, bound = primary_tests(c, EFFECT)
    assert (test, p, bound) == ("paired t", c.p, 0.01) and p2 == stats.tost(c, 0.01)[0]
    test, p, test2, p2, bound = primary_tests(c, NO_LOSS)
    assert p == stats.shifted_p(c, -0.01, "greater") and p2 == stats.shifted_p(c, -0.01, "less")


# ---- per-run summaries -------------------------------------------------------------------------------------

def test_auc_by_run_and_value_at():
    t = _curves(0.05, 3, 0.005)
    a = auc_by_run(t)
    assert len(a) == 6 and set(a.columns) == {"run", "seed", "condition", "attack", "auc", "n_epsilons"}
    r = t[t.run == "S^Th-1"].sort_values("epsilon")
    assert a.loc[a.run == "S^Th-1", "auc"].item() == pytest.approx(stats.auc(r.epsilon, r.accuracy))
    a2 = auc_by_run(t, epsilons=NOISY)
    assert (a2.n_epsilons == 3).all()
    c = value_at(t.assign(panel="p"), 0.0)
    assert len(c) == 6 and "panel" in c.columns and "accuracy" in c.columns
    with pytest.raises(ConfigError, match="keys"):
        auc_by_run(t.drop(columns="run"))
    with pytest.raises(ConfigError, match="keys"):
        value_at(pd.concat([t, t]), 0.0)


def test_pairing_by_seed_and_unpaired_fallback():
    a = auc_by_run(_curves(0.05, 4, 0.005), epsilons=NOISY)
    p = pair_by_seed(a, "unregularized", "S^Th")
    assert list(p.seed) == [0, 1, 2, 3] and list(p.columns) == ["seed", "a", "b"]
    # seeds that do not match: Welch on all runs
    b = auc_by_run(pd.concat([_curves(0.05, 4, 0.005, conds=("unregularized",)),
                              _curves(0.05, 4, 0.005, seeds=[10, 11, 12, 13], conds=("x", "S^Th"))]))
    b = b[b.condition != "x"]
    assert pair_by_seed(b, "unregularized", "S^Th") is None
    # a seed one condition lacks (a failed run) loses its pair; the rest stay paired
    lost = a[~((a.condition == "S^Th") & (a.seed == 2))]
    p3 = pair_by_seed(lost, "unregularized", "S^Th")
    assert list(p3.seed) == [0, 1, 3]
    assert compare_by_seed(lost, "unregularized", "S^Th").test == "paired t"
    c = compare_by_seed(b, "unregularized", "S^Th")
    assert c.test == "Welch t" and (c.n_a, c.n_b) == (4, 4) and math.isnan(c.p_perm)
    with pytest.raises(ConfigError, match="summary"):  # two attacks in one table: one row per seed required
        compare_by_seed(pd.concat([a, a.assign(attack="fgsm")]), "unregularized", "S^Th")
    with pytest.raises(ConfigError, match="condition"):
        compare_by_seed(a, "unregularized", "S^pixel")


# ---- low frequencies ---------------------------------------------------------------------------------------

def _shares(n_seeds=6, n_images=8, reg_cut=0.08):
    """Regularized perturbations: low-pass noise; unregularized: white; starts: white noise minus a smooth
    image (as the blended init's u − x), identical for both conditions."""
    rows = []
    yy, xx = torch.meshgrid(torch.arange(16.0), torch.arange(16.0), indexing="ij")
    for s in range(n_seeds):
        g = torch.Generator().manual_seed(s)
        x = (0.5 + 0.3 * torch.sin(2 * math.pi * (xx + s) / 16)).expand(n_images, 1, 16, 16)
        start = 0.7 * x + 0.3 * torch.rand(n_images, 1, 16, 16, generator=g)
        for cond, delta in (("unregularized", torch.randn(n_images, 1, 16, 16, generator=g)),
                            ("S^Th", filtered_noise((n_images, 1, 16, 16), reg_cut, "low", generator=g))):
            rows.append(share_table(delta, 0.1, seed=s, condition=cond, source="attack"))
            rows.append(share_table(start_direction(x, start), 0.1, seed=s, condition=cond, source="start"))
    return pd.concat(rows, ignore_index=True)


def test_lowfreq_tests():
    sh = _shares()
    m = seed_means(sh)
    assert set(m.columns) == {"condition", "seed", "share", "n_images"} and (m.n_images == 8).all()
    c = lowfreq_test(sh, "S^Th")
    assert c.test == "paired t" and c.n == 6 and c.estimate > 0.5
    assert verdict(c, Rule(sesoi=0.05, unit="share")).verdict == "reproduced"
    # the start direction carries the image's low frequency: its share is well above white noise's
    assert seed_means(sh, source="start")["share"].mean() > 0.2  # white noise: 8/255 = 0.03
    null_u, null_r = lowfreq_null_test(sh, "unregularized"), lowfreq_null_test(sh, "S^Th")
    assert null_u.estimate < 0 < null_r.estimate
    ex = lowfreq_excess_test(sh, "S^Th")
    assert ex.estimate == pytest.approx(c.estimate)  # same starts in both conditions: the excess difference is c
    # same spectra in both conditions: the test finds nothing
    same = _shares(reg_cut=0.7)  # "low-pass" at a cutoff above every frequency of a 16x16 grid: white
    assert verdict(lowfreq_test(same, "S^Th"), Rule(sesoi=0.2)).category in ("not reproduced", "inconclusive")
    assert abs(lowfreq_test(same, "S^Th").estimate) < 0.1


def test_a_reproduced_effect_says_when_its_interval_reaches_below_the_sesoi():
    from pixelreg.analysis.verdicts import decide

    rule = Rule(sesoi=0.03, unit="AUC")
    v, why = decide(rule, 0.06, 0.01, 0.11)  # excludes 0, reaches below 0.03
    assert v == "reproduced" and "its end nearer 0, 0.010 AUC, lies within the SESOI ±0.03 AUC" in why
    v, why = decide(rule, 0.10, 0.05, 0.15)  # wholly above the SESOI: nothing to add
    assert v == "reproduced" and "within the SESOI" not in why
    v, why = decide(Rule(sesoi=0.03, unit="AUC", direction=-1), -0.06, -0.11, -0.01)  # a claimed decrease
    assert v == "reproduced" and "its end nearer 0, -0.010 AUC, lies within the SESOI" in why


def test_every_page_auc_leaves_clean_accuracy_out_of_its_own_grid():
    """tables.aucs (Figs. 2, 5, 7) is the book's one summary, the AUC over ε > 0 of each curve's own grid: on
    ε (0, 0.1, 0.2) with accuracies (0.9, 0.5, 0.3) it is the trapezoid over [0.1, 0.2] divided by 0.1, 0.4
    (0.55 with ε = 0 in); an attack with another grid is read on its own ε."""
    from pixelreg.figures.tables import aucs

    rows = [dict(run="r", seed=0, condition="c", attack="gaussian", epsilon=e, accuracy=a)
            for e, a in ((0.0, 0.9), (0.1, 0.5), (0.2, 0.3))]
    rows += [dict(run="r", seed=0, condition="c", attack="salt-pepper", epsilon=e, accuracy=a)
             for e, a in ((0.0, 0.9), (0.05, 0.7), (0.15, 0.5), (0.3, 0.1))]
    t = aucs(pd.DataFrame(rows)).set_index("attack")["auc"]
    assert t["gaussian"] == pytest.approx(0.4)
    assert t["salt-pepper"] == pytest.approx((0.6 * 0.1 + 0.3 * 0.15) / 0.25)
    curves = pd.DataFrame(rows)
    same = auc_by_run(curves[curves.attack == "gaussian"], epsilons=[0.1, 0.2]).set_index("attack")["auc"]
    assert t["gaussian"] == pytest.approx(same["gaussian"])
