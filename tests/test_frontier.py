"""The noise-augmentation frontier (issue 22 item 3): the matched-clean-accuracy rule on known answers, the
page's plan (the beyond page's and Fig. 2's runs reused under their hashes) and the page built at smoke."""
from __future__ import annotations

import dataclasses
import math

import numpy as np
import pandas as pd
import pytest
from conftest import needs_fmnist

from pixelreg.analysis.stats import curve_at, matched_difference
from pixelreg.errors import ConfigError
from pixelreg.experiment.config import config_hash
from pixelreg.figures.beyond import Beyond
from pixelreg.figures.fig2 import Fig2
from pixelreg.figures.frontier import AUG, BOTH, LEVELS, STH, UNREG, Frontier, matched_sentences

SEEDS = 5


def line(xs, slope, intercept, jitter=0.0, seed_shift=None):
    """(conditions, seeds) x and y of points on y = slope·x + intercept; each seed moves a condition's point
    along the line by ``jitter`` (so the seed mean stays on it) and shifts y by ``seed_shift`` (per seed)."""
    rng = np.random.default_rng(1)
    x = np.asarray(xs, float)[:, None] + jitter * rng.standard_normal((len(xs), SEEDS))
    y = slope * x + intercept
    if seed_shift is not None:
        y = y + np.asarray(seed_shift, float)[None]
    return x, y


# ---- the rule, on known answers ------------------------------------------------------------------------------

def test_curve_at_interpolates_in_order_of_x_and_never_extrapolates():
    assert curve_at([0.9, 0.8, 0.85], [0.1, 0.3, 0.2], 0.825) == pytest.approx(0.25)  # unsorted input
    assert curve_at([0.8, 0.9], [0.3, 0.1], 0.8) == pytest.approx(0.3)  # the ends are covered
    assert math.isnan(curve_at([0.8, 0.9], [0.3, 0.1], 0.91))
    assert math.isnan(curve_at([0.8, 0.9], [0.3, 0.1], 0.79))
    assert math.isnan(curve_at([np.nan], [np.nan], 0.8))


def test_two_lines_with_a_known_offset_give_that_offset_and_a_narrow_interval():
    # S^Th: AUC = 2·clean − 1 on its grid; augmentation: the same line + 0.05, at other clean accuracies; the
    # seeds scatter each point along its line, so every resample's seed-mean curve is still the line
    a = line([0.80, 0.84, 0.87, 0.90], 2.0, -1.0, jitter=0.004)
    b = line([0.82, 0.86, 0.89, 0.92], 2.0, -0.95, jitter=0.004)
    m = matched_difference(*a, *b, LEVELS, n_resamples=500)
    assert list(m.level) == list(LEVELS)
    np.testing.assert_allclose(m.estimate, 0.05, atol=1e-12)
    np.testing.assert_allclose(m.a, 2 * np.array(LEVELS) - 1, atol=1e-12)
    np.testing.assert_allclose(m.ci_low, 0.05, atol=1e-9)
    np.testing.assert_allclose(m.ci_high, 0.05, atol=1e-9)
    assert m.a_covers.all() and m.b_covers.all() and (m.defined == 1).all() and (m.n_seeds == SEEDS).all()


def test_a_curve_that_does_not_reach_a_level_is_not_covered():
    a = line([0.80, 0.83, 0.85], 1.0, 0.0)  # S^Th never reaches 0.86
    b = line([0.85, 0.90], 1.0, 0.0)
    m = matched_difference(*a, *b, (0.86, 0.95), n_resamples=200).set_index("level")
    assert not m.loc[0.86, "a_covers"] and m.loc[0.86, "b_covers"]
    assert not m.loc[0.95, "a_covers"] and not m.loc[0.95, "b_covers"]
    assert m[["a", "estimate", "ci_low", "ci_high"]].isna().all().all()
    assert m.loc[0.86, "b"] == pytest.approx(0.86)
    text = matched_sentences(m.reset_index().rename(columns={"a": "sth", "b": "aug", "a_covers": "sth_covers",
                                                             "b_covers": "aug_covers"}).assign(attack="gaussian"))
    assert "S^Th does not reach this clean accuracy" in text
    assert "S^Th and noise augmentation do not reach" in text


def _noisy_pair(offset: float, noise: float = 0.01):
    """Both methods on the same line, b shifted by ``offset``, plus independent per-run noise in the AUC."""
    rng = np.random.default_rng(7)
    a = line([0.82, 0.86, 0.90], 1.0, 0.0)
    b = line([0.82, 0.86, 0.90], 1.0, offset)
    return (a[0], a[1] + noise * rng.standard_normal(a[1].shape), b[0], b[1] + noise * rng.standard_normal(b[1].shape))


@pytest.mark.parametrize("offset, call", [(0.05, "noise augmentation ahead"), (-0.05, "S^Th ahead"),
                                          (0.0, "the interval includes 0")])
def test_the_interval_decides_ahead_behind_or_neither(offset, call):
    m = matched_difference(*_noisy_pair(offset), (0.86,), n_resamples=2000, seed=3)
    r = m.iloc[0]
    assert r.ci_low <= r.estimate <= r.ci_high
    if offset > 0:
        assert r.ci_low > 0
    elif offset < 0:
        assert r.ci_high < 0
    else:
        assert r.ci_low < 0 < r.ci_high
    t = m.rename(columns={"a": "sth", "b": "aug", "a_covers": "sth_covers", "b_covers": "aug_covers"})
    assert call in matched_sentences(t.assign(attack="gaussian"))


@pytest.mark.parametrize("n, judged", [(2, False), (4, False), (5, True)])
def test_below_five_seeds_the_estimate_is_shown_but_no_interval_and_no_call(n, judged):
    """The same clear offset (augmentation ahead by 0.05) is called, with its interval, only with 5 seeds or more:
    2 seeds give 3 distinct resamples, 4 give 35 (C(2n-1, n)); below, the sentence shows the estimate alone."""
    a, b = line([0.82, 0.86, 0.90], 1.0, 0.0), line([0.82, 0.86, 0.90], 1.0, 0.05)
    m = matched_difference(a[0][:, :n], a[1][:, :n], b[0][:, :n], b[1][:, :n], (0.86,), n_resamples=500, seed=3)
    t = m.rename(columns={"a": "sth", "b": "aug", "a_covers": "sth_covers", "b_covers": "aug_covers"})
    text = matched_sentences(t.assign(attack="gaussian"))
    assert ("noise augmentation ahead" in text) is judged
    assert (f"not judged: {n} seeds give at most {math.comb(2 * n - 1, n)} distinct resamples, too few for a "
            "bootstrap interval to decide" in text) is not judged
    assert "+0.050" in text  # the estimate is shown either way
    r = t.iloc[0]
    assert (f"[{r.ci_low:.3f}, {r.ci_high:.3f}]" in text) is judged


def test_seeds_are_paired_a_shared_seed_effect_cancels():
    # a large seed effect common to both methods (same initial weights, split and data order) moves both curves
    # alike: resampling the same seed indices for both keeps the difference exact; unpaired it would not
    shift = [0.0, 0.1, -0.1, 0.05, -0.05]
    a = line([0.82, 0.86, 0.90], 1.0, 0.0, seed_shift=shift)
    b = line([0.82, 0.86, 0.90], 1.0, 0.03, seed_shift=shift)
    r = matched_difference(*a, *b, (0.86,), n_resamples=1000).iloc[0]
    assert r.estimate == pytest.approx(0.03) and r.ci_low == pytest.approx(0.03) and r.ci_high == pytest.approx(0.03)


def test_a_missing_run_is_left_out_of_its_conditions_mean():
    a = line([0.82, 0.86, 0.90], 1.0, 0.0)
    b = line([0.82, 0.86, 0.90], 1.0, 0.02)
    b[0][1, 2] = b[1][1, 2] = np.nan  # a failed run
    r = matched_difference(*a, *b, (0.86,), n_resamples=300).iloc[0]
    assert r.estimate == pytest.approx(0.02) and np.isfinite(r.ci_low)


def test_the_bootstrap_is_seeded_and_bad_input_is_named():
    args = _noisy_pair(0.02)
    pd.testing.assert_frame_equal(matched_difference(*args, LEVELS, seed=5), matched_difference(*args, LEVELS, seed=5))
    with pytest.raises(ConfigError, match="a_x"):
        matched_difference(args[0], args[1], args[2][:, :3], args[3][:, :3], LEVELS)
    with pytest.raises(ConfigError, match="n_resamples"):
        matched_difference(*args, LEVELS, n_resamples=0)


# ---- the plan ------------------------------------------------------------------------------------------------

def test_the_grid_reuses_the_beyond_and_fig2_runs_at_full():
    page = Frontier(profile="full")
    plan = page.plan_runs()
    assert page.seeds == (0, 1, 2, 3, 4) and page.alphas == (3.0, 10.0, 30.0)  # no α 1 at full (frontier.ALPHAS)
    assert len(plan) == 5 * 10
    beyond = Beyond(profile="full")
    fig2 = {config_hash(c) for c in Fig2(profile="full").configs()}
    for seed in page.seeds:
        mine = {(m, a, s): config_hash(c) for m, a, s, c in plan if c.seed == seed}
        # the beyond page's unregularized, noise-augmentation (σ 0.2) and S^Th runs, and Fig. 2's
        b = {config_hash(c): c for c in beyond.configs() if c.seed == seed}
        assert mine[(UNREG, 0.0, 0.0)] == config_hash(beyond.unreg(seed)) in fig2
        assert mine[(AUG, 0.0, 0.2)] == config_hash(beyond.unreg(seed, noise_aug=0.2)) in b
        sth = beyond.cfg(reg_data="fashion-mnist", alpha=10.0, th=0.8, target="thresholded", seed=seed)
        assert mine[(STH, 10.0, 0.0)] == config_hash(sth) in fig2 and config_hash(sth) in b
        # this round's queue (scripts/round_queue.py) builds the rest the same way
        for a in (3.0, 30.0):
            assert mine[(STH, a, 0.0)] == config_hash(beyond.cfg(reg_data="fashion-mnist", alpha=a, th=0.8,
                                                                 target="thresholded", seed=seed))
        for s in (0.05, 0.1, 0.3, 0.5):
            assert mine[(AUG, 0.0, s)] == config_hash(beyond.unreg(seed, noise_aug=s))
        assert mine[(BOTH, 10.0, 0.2)] == config_hash(sth.replace(noise_aug=0.2))


def test_the_transferred_grid_is_the_same_grid_at_the_controls_seeds_with_its_source():
    """At full: the grid again at seeds 7-9 (the controls page's, trained on one machine with the source of
    seed 1001); its unregularized, α 10 and σ 0.2 runs are the controls page's own; the source comes last."""
    from pixelreg.figures.controls import Controls

    page = Frontier(profile="full")
    assert page.transfer_seeds == (7, 8, 9) and page.source_seed == 1001
    configs = page.configs()
    assert len(configs) == 5 * 10 + 3 * 10 + 1 and configs[-1] == page.unreg(1001) == Controls(profile="full").configs()[-1]
    ctl = {config_hash(c) for c in Controls(profile="full").configs()}
    shared = {config_hash(c) for *_, c in page.plan_runs((7, 8, 9))} & ctl
    assert len(shared) == 3 * 3  # unregularized, S^Th α 10 and augmentation σ 0.2 at each seed
    assert Frontier(profile="full", transfer_seeds="").configs() == [c for *_, c in page.plan_runs()]
    assert Frontier(profile="full", transfer_seeds="").source() is None
    with pytest.raises(ConfigError, match="source_seed"):
        Frontier(profile="full", source_seed=7)
    with pytest.raises(ConfigError, match="transfer_seeds"):
        Frontier(profile="full", transfer_seeds="a")


def test_each_attack_is_matched_on_its_own_seeds():
    """The noise curves have seeds 0-4 and the transferred grid 7-9: each attack's bootstrap pairs its own seeds
    (a shared seed list would fill the other attack's columns with NaN)."""
    rows = []
    for attack, seeds in (("gaussian", range(5)), ("transferred fgsm", (7, 8, 9))):
        for seed in seeds:
            for method, key, v in ((STH, "alpha", 3.0), (STH, "alpha", 30.0), (AUG, "sigma", 0.1), (AUG, "sigma", 0.5)):
                clean = {3.0: 0.89, 30.0: 0.83, 0.1: 0.90, 0.5: 0.82}[v]
                rows.append(dict(run=f"{attack}{seed}{v}", seed=seed, method=method, attack=attack,
                                 alpha=v if key == "alpha" else 0.0, sigma=v if key == "sigma" else 0.0,
                                 clean=clean, auc=1.2 - clean + (0.05 if method == AUG else 0.0) + 0.01 * seed))
    m = Frontier(profile="smoke", n_boot=200, levels=(0.86,)).matched(pd.DataFrame(rows)).set_index("attack")
    assert m.loc["gaussian", "n_seeds"] == 5 and m.loc["transferred fgsm", "n_seeds"] == 3
    assert m["estimate"].to_numpy() == pytest.approx([0.05, 0.05])
    text = matched_sentences(m.reset_index())
    assert "transferred fgsm: noise augmentation's AUC" in text and "not judged: 3 seeds" in text
    assert m.loc["gaussian", "call"] == "noise augmentation ahead"
    assert m.loc["transferred fgsm", "call"] == "not judged (3 seeds)"


def test_the_transferred_grid_may_be_left_out_of_an_interim_page():
    """Records mode with none of the transferred grid published: the page keeps its noise grid (seeds with all
    their runs) and shows no transferred FGSM, saying so; a noise grid below two seeds still leaves no page."""
    page = Frontier(profile="full")
    grid = {c for *_, c in page.plan_runs((0, 1, 2))}
    kept = page.narrowed(grid.__contains__)
    assert kept == {"seeds": (0, 1, 2), "transfer_seeds": ()}
    narrowed = dataclasses.replace(page, **kept)
    assert narrowed.source() is None and len(narrowed.configs()) == 30
    assert page.narrowed({c for *_, c in page.plan_runs((0,))}.__contains__) is None


def _stubbed(monkeypatch):
    """Frontier.data without training or attacks: each run is its config, each curve a function of it."""
    import pixelreg.figures.frontier as fr

    class Run:
        def __init__(self, config):
            self.config, self.id = config, config_hash(config)

    def table(runs, attack):
        return pd.DataFrame([dict(run=r.id, seed=r.config.seed, condition="c", alpha=r.config.alpha, attack=attack,
                                  epsilon=e, accuracy=0.9 - e * (1 - r.config.alpha / 40 - r.config.noise_aug))
                             for r in runs for e in (0.0, 0.1, 0.2)])
    monkeypatch.setattr(fr, "ensure_runs", lambda configs, *a, **k: [Run(c) for c in configs])
    monkeypatch.setattr(fr, "runs_table", lambda runs: pd.DataFrame({"run": [r.id for r in runs]}))
    monkeypatch.setattr(Frontier, "curves", lambda self, runs, attacks, n: pd.concat([table(runs, a) for a in attacks]))
    monkeypatch.setattr(fr, "transferred_fgsm", lambda page, targets, source: table(targets, "fgsm"))


def test_the_transferred_panel_labels_each_run_by_its_own_plan(monkeypatch):
    """At full the two grids have different seeds: each transferred point carries its own run's method, α and σ,
    the panel has seeds 7-9 only, and the runs table lists each run once (the source included)."""
    _stubbed(monkeypatch)
    page = Frontier(profile="full", n_boot=50)
    data = page.data()
    p = data["points"]
    t = p[p.attack == "transferred fgsm"]
    assert set(t.seed) == {7, 8, 9} and set(p[p.attack != "transferred fgsm"].seed) == {0, 1, 2, 3, 4}
    plan = {config_hash(c): (m, a, s) for m, a, s, c in page.plan_runs((7, 8, 9))}
    assert len(t) == len(plan) == 30
    for r in t.itertuples():
        assert (r.method, r.alpha, r.sigma) == plan[r.run]
        assert r.clean == pytest.approx(0.9)
    assert len(data.runs) == data.runs["run"].nunique() == 5 * 10 + 3 * 10 + 1
    m = data["matched"].set_index(["attack", "level"])
    assert set(m.loc["transferred fgsm", "n_seeds"]) == {3}
    assert "computed on the grid at seeds 7, 8, 9" in data.what_we_see()


def test_without_the_transferred_grid_the_page_says_why(monkeypatch):
    _stubbed(monkeypatch)
    data = Frontier(profile="full", n_boot=50, transfer_seeds="").data()
    assert "transferred fgsm" not in set(data["points"].attack)
    assert "not shown: ``transfer_seeds`` is empty" in data.what_we_see()
    # an interim page whose transferred grid is not published yet: it says so, and shows the noise grid
    page = Frontier(profile="full", n_boot=50)
    have = {c for *_, c in page.plan_runs((0, 1, 2))}
    monkeypatch.setattr(Frontier, "held", lambda self, configs, runs_dir=None: have & set(configs))
    part = page.published_part()
    assert part.transfer_seeds == () and part.seeds == (0, 1, 2)
    assert "none of the transferred-FGSM grid's seeds yet (planned: 7, 8, 9)" in part.interim.sentence()
    assert "not shown yet: none of its grid's seeds (7, 8, 9) is published" in part.data().what_we_see()


def test_records_hold_the_transferred_grid_only_with_transferred_fgsm(monkeypatch):
    import pixelreg.experiment.sweep as sweep
    calls = []

    def fake(configs, runs_dir=None, evaluations=()):
        calls.append((sorted({c.seed for c in configs}), tuple(evaluations)))
        return set(configs)
    monkeypatch.setattr(sweep, "held_runs", fake)
    page = Frontier(profile="full")
    assert page.held(page.configs()) == set(page.configs())
    noise = ("acc-gaussian", "acc-uniform", "acc-salt-pepper")
    assert [c[0] for c in calls] == [[7, 8, 9], [0, 1, 2, 3, 4], [1001]] and calls[1][1] == noise and calls[2][1] == ()
    (name, test), = calls[0][1]  # FGSM transferred from the page's own source, not any FGSM curve
    src = config_hash(page.source())
    assert name == "acc-fgsm" and src == "b9d4081fb87c"
    assert test({"attack": f"FGSM(source=run:{src}@928b0294f9b3fef5)"}) and test({"attack": f"FGSM(source=run:{src})"})
    assert not test({"attack": "FGSM(white-box)"}) and not test({"attack": "FGSM(source=run:849fcd29eafa)"})
    assert not test({})


def test_the_transferred_grid_narrows_by_seed_and_is_left_out_whole_where_it_must_be():
    page = Frontier(profile="full")
    noise = {c for *_, c in page.plan_runs((0, 1, 2))}
    seven = {c for *_, c in page.plan_runs((7,))}
    assert page.narrowed((noise | seven | {page.source()}).__contains__) == {"seeds": (0, 1, 2), "transfer_seeds": (7,)}
    # without its source no transferred seed can be shown, but the noise grid still is
    assert page.narrowed((noise | seven).__contains__) == {"transfer_seeds": (), "seeds": (0, 1, 2)}
    # one transferred seed can be left out; and where both grids share their seeds (off full) too
    one = Frontier(profile="full", transfer_seeds="7")
    assert one.narrowed(noise.__contains__) == {"seeds": (0, 1, 2), "transfer_seeds": ()}
    cpu = Frontier(profile="cpu")
    assert cpu.seeds == cpu.transfer_seeds
    kept = cpu.narrowed({c for *_, c in cpu.plan_runs(cpu.seeds[:2])}.__contains__)
    assert kept == {"transfer_seeds": (), "seeds": cpu.seeds[:2]}
    # the source is none of the page's runs, and a page's own seeds are the default transferred seeds
    with pytest.raises(ConfigError, match="source_seed"):
        Frontier(profile="full", source_seed=0)
    assert Frontier(profile="smoke", seeds="0").transfer_seeds == (0,)


def test_smoke_grid_is_small_and_bad_grids_are_named():
    page = Frontier(profile="smoke")
    assert page.alphas == (1.0, 10.0) and page.sigmas == (0.2, 0.5) and len(page.configs()) == 2 * 6 + 1
    assert page.transfer_seeds == page.seeds and page.source_seed == 1000  # Fig. 3's source at smoke
    assert Frontier(profile="smoke", alphas="1,3", sigmas="0.1").alphas == (1.0, 3.0)
    for kw, name in ((dict(alphas="0"), "alphas"), (dict(sigmas="1.5"), "sigmas"), (dict(levels="0.9,1.2"), "levels"),
                     (dict(combo_sigma=0), "combo_sigma"), (dict(n_boot=0), "n_boot"), (dict(alphas="a"), "alphas")):
        with pytest.raises(ConfigError, match=name):
            Frontier(profile="smoke", **kw)


# ---- the page at smoke ---------------------------------------------------------------------------------------

@needs_fmnist
@pytest.mark.slow  # trains 13 smoke runs (the source too), evaluates 3 noise curves and transferred FGSM on each
def test_page_builds_at_smoke(tmp_path):
    page = Frontier(profile="smoke", n_boot=200)
    data = page.data(runs_dir=tmp_path / "runs", progress=False)
    p = data["points"]
    assert set(p.method) == {STH, AUG, BOTH, UNREG} and len(p) == 12 * 4
    assert p[["clean", "auc"]].apply(lambda v: v.between(0, 1)).all().all()
    assert set(data["frontier"].n) == {2}
    m = data["matched"]
    assert len(m) == 4 * len(LEVELS) and set(m.attack) == {"gaussian", "uniform", "salt-pepper", "transferred fgsm"}
    # the transferred attack at ε 0 is the clean accuracy, the same as the noise curves' (one model, one test set)
    c = data["curves"]
    clean = c[c.epsilon == 0].groupby("run")["accuracy"].nunique()
    assert (clean == 1).all() and len(data.runs) == 13
    # at a level between the two curves' clean accuracies (whatever they are at this scale) the estimate is the
    # difference of the two interpolated seed-mean curves
    text = data.what_we_see()
    assert "At clean accuracy 0.86" in text and "from the unregularized run of seed 1000" in text
    assert "The boundary attack is not run on this grid" in text
    g = data["frontier"][data["frontier"].attack == "gaussian"]
    lo = max(g[g.method == STH].clean.min(), g[g.method == AUG].clean.min())
    hi = min(g[g.method == STH].clean.max(), g[g.method == AUG].clean.max())
    if lo <= hi:
        level = (lo + hi) / 2
        r = Frontier(profile="smoke", n_boot=200, levels=(level,)).matched(p).set_index("attack").loc["gaussian"]
        def at(method):
            t = g[g.method == method]
            return curve_at(t.clean, t.auc, level)
        assert r.estimate == pytest.approx(at(AUG) - at(STH))


def test_the_page_names_the_grid_settings_each_level_is_read_between():
    """Each level is read off a seed-mean curve between two neighbouring settings in order of clean accuracy (not of
    strength); a level outside the curve gives its span; a point on the level names that setting alone."""
    from pixelreg.figures.frontier import between
    # α 3 has the higher clean accuracy: 0.86 lies between α 10 (0.853) and α 3 (0.865), whatever the order given
    assert between([30.0, 3.0, 10.0], [0.847, 0.865, 0.853], 0.86, "α") == "α 10 (0.853) and α 3 (0.865)"
    assert between([30.0, 3.0, 10.0], [0.847, 0.865, 0.853], 0.88, "α") == "0.847-0.865, not reached"
    assert between([0.1, 0.5], [0.86, 0.82], 0.86, "σ") == "σ 0.1 (0.860)"
    assert between([0.1], [float("nan")], 0.86, "σ") == "no runs"
    rows = []
    for seed in range(5):
        for method, key, v, clean in ((STH, "alpha", 3.0, 0.87), (STH, "alpha", 30.0, 0.83),
                                      (AUG, "sigma", 0.1, 0.90), (AUG, "sigma", 0.5, 0.82)):
            rows.append(dict(run=f"{seed}{v}", seed=seed, method=method, attack="gaussian",
                             alpha=v if key == "alpha" else 0.0, sigma=v if key == "sigma" else 0.0,
                             clean=clean, auc=1.2 - clean))
    m = Frontier(profile="smoke", n_boot=100, levels=(0.86, 0.88)).matched(pd.DataFrame(rows)).set_index("level")
    assert m.loc[0.86, "sth_between"] == "α 30 (0.830) and α 3 (0.870)"
    assert m.loc[0.86, "aug_between"] == "σ 0.5 (0.820) and σ 0.1 (0.900)"
    assert m.loc[0.88, "sth_between"] == "0.830-0.870, not reached"
    text = matched_sentences(m.reset_index())
    assert "(read between σ 0.5 (0.820) and σ 0.1 (0.900), and between α 30 (0.830) and α 3 (0.870))" in text
    assert ("S^Th does not reach this clean accuracy (not extrapolated; S^Th's settings' seed means span 0.830-0.870; a limit of "
            "S^Th's grid, whose smallest α sets its largest clean accuracy)") in text
    # a level below S^Th's settings is not blamed on the grid's smallest α
    low = Frontier(profile="smoke", n_boot=100, levels=(0.80,)).matched(pd.DataFrame(rows))
    assert "not reach" in matched_sentences(low) and "a limit of S^Th's grid" not in matched_sentences(low)


def test_the_check_at_each_sth_point_reads_sth_uninterpolated():
    """at_sth: the levels are S^Th's own seed-mean clean accuracies, so S^Th's AUC is its point's and only
    augmentation is interpolated; below 5 seeds the sentence gives no interval, from 5 it does; a point that
    augmentation's curve does not reach is said so."""
    from pixelreg.figures.frontier import at_sth_sentences

    def grid(n_seeds):
        rows = []
        for seed in range(n_seeds):
            for method, key, v, clean in ((STH, "alpha", 3.0, 0.87), (STH, "alpha", 30.0, 0.83),
                                          (STH, "alpha", 100.0, 0.80), (AUG, "sigma", 0.1, 0.90),
                                          (AUG, "sigma", 0.5, 0.82)):
                noise = 0.002 * ((seed * 7 + int(v * 10)) % 5 - 2)
                rows.append(dict(run=f"{seed}{v}{method}", seed=seed, method=method, attack="gaussian",
                                 alpha=v if key == "alpha" else 0.0, sigma=v if key == "sigma" else 0.0,
                                 clean=clean, auc=1.2 - clean + (0.05 if method == AUG else 0.0) + noise))
        return pd.DataFrame(rows)

    page = Frontier(profile="smoke", n_boot=200, levels=(0.86,))
    at = page.matched(grid(4), at_sth=True).set_index("alpha")
    assert list(at.index) == [3.0, 30.0, 100.0] and at.loc[3.0, "level"] == pytest.approx(0.87)
    pts = grid(4)
    assert at.loc[30.0, "sth"] == pytest.approx(pts[(pts.method == STH) & (pts.alpha == 30.0)].auc.mean())
    assert at.loc[3.0, "estimate"] == pytest.approx(0.05, abs=0.005) and not at.loc[100.0, "aug_covers"]
    text = at_sth_sentences(at.reset_index())
    assert "- gaussian: α 3 (0.870): +0.05" in text and "α 100 (0.800): augmentation does not reach it" in text
    assert "[" not in text.split("- gaussian")[1] and "(4 seeds; intervals in the table only" in text
    five = at_sth_sentences(page.matched(grid(5), at_sth=True))
    assert "α 3 (0.870): +0.05" in five and "[" in five.split("- gaussian")[1] and "(5 seeds)." in five
    assert at_sth_sentences(page.matched(grid(0), at_sth=True)) == ""
    assert "call" not in at.columns and "sth_between" not in at.columns  # descriptive: no call


def test_at_points_difference_moves_the_level_with_the_point():
    """Known answer: one S^Th condition at (0.85, 0.50) and (0.87, 0.60) over two seeds, augmentation on the line
    y = 1.25 − x. Its point (0.86, 0.55) gives 0.39 − 0.55 = −0.16; the resamples give −0.10, −0.16 or −0.22, all
    defined, where a level fixed at 0.86 falls outside a one-point resample of S^Th half the time."""
    from pixelreg.analysis.stats import at_points_difference
    a_x, a_y = np.array([[0.85, 0.87]]), np.array([[0.50, 0.60]])
    b_x = np.array([[0.82, 0.82], [0.90, 0.90]])
    b_y = 1.25 - b_x
    r = at_points_difference(a_x, a_y, b_x, b_y, n_resamples=400, seed=1).iloc[0]
    assert r.level == pytest.approx(0.86) and r.a == pytest.approx(0.55) and r.b == pytest.approx(0.39)
    assert r.estimate == pytest.approx(-0.16) and r.defined == 1 and r.b_covers
    assert -0.22 - 1e-9 <= r.ci_low < r.ci_high <= -0.10 + 1e-9
    fixed = matched_difference(a_x, a_y, b_x, b_y, (0.86,), n_resamples=400, seed=1).iloc[0]
    assert fixed.defined < 0.75
    # a point outside augmentation's curve: not covered, no interval
    out = at_points_difference(a_x + 0.1, a_y, b_x, b_y, n_resamples=50).iloc[0]
    assert not out.b_covers and np.isnan(out.estimate) and np.isnan(out.ci_low)
    with pytest.raises(ConfigError):
        at_points_difference(a_x, a_y, b_x[:, :1], b_y[:, :1])
    # one seed: an estimate, and no interval (every resample is the sample itself)
    one = [v[:, :1] for v in (a_x, a_y, b_x, b_y)]
    for r in (at_points_difference(*one, n_resamples=50).iloc[0],
              matched_difference(*one, (0.85,), n_resamples=50).iloc[0]):
        assert np.isfinite(r.estimate) and np.isnan(r.ci_low) and np.isnan(r.ci_high) and r.n_seeds == 1


def test_dominance_counts_settings_beaten_within_their_seed():
    """Known answer: in seed 0 augmentation σ 0.1 (0.90, 0.80) dominates both S^Th settings; in seed 1 S^Th α 3
    (0.91, 0.85) is dominated by nothing and itself dominates σ 0.5; equal clean accuracy with a higher AUC
    dominates, an equal AUC does not."""
    from pixelreg.figures.frontier import dominance, dominance_sentence
    pts = [(0, STH, 3.0, 0.88, 0.60), (0, STH, 30.0, 0.85, 0.65), (0, AUG, 0.1, 0.90, 0.80), (0, AUG, 0.5, 0.82, 0.70),
           (1, STH, 3.0, 0.91, 0.85), (1, STH, 30.0, 0.85, 0.70), (1, AUG, 0.1, 0.85, 0.70), (1, AUG, 0.5, 0.84, 0.60)]
    p = pd.DataFrame([dict(attack="gaussian", seed=s, method=m, alpha=v if m == STH else 0.0,
                           sigma=v if m == AUG else 0.0, clean=c, auc=a) for s, m, v, c, a in pts])
    d = dominance(p).set_index("seed")
    assert d.loc[0, "sth_dominated"] == 2 and d.loc[0, "aug_dominated"] == 0
    # seed 1: α 30 (0.85, 0.70) against σ 0.1 (0.85, 0.70): equal, not dominated; α 3 dominates both σ settings
    assert d.loc[1, "sth_dominated"] == 0 and d.loc[1, "aug_dominated"] == 2
    text = dominance_sentence(dominance(p))
    assert "gaussian: 2 of 4 S^Th settings (augmentation settings dominated by S^Th: 2 of 4; 2 seeds)" in text
    assert dominance(p[p.method == STH]).empty and dominance_sentence(dominance(p[p.method == STH])) == ""


def test_the_page_counts_the_seeds_whose_own_settings_span_each_level():
    """The seed-mean curve can reach a level that some seeds' own settings do not span: those seeds are counted
    (a NaN run is left out of its seed's span) and the sentence says so; where every seed spans it, nothing."""
    from pixelreg.figures.frontier import seeds_reaching

    clean = np.array([[0.87, 0.85, 0.88, np.nan], [0.83, 0.84, 0.86, 0.85]])  # settings x seeds
    assert [seeds_reaching(clean, lv) for lv in (0.86, 0.845, 0.9)] == [2, 2, 0]
    assert seeds_reaching(clean, 0.85) == 3  # a single run on the level spans it
    rows = []
    for seed in range(5):
        hi = 0.87 if seed < 3 else 0.855  # seeds 3 and 4: S^Th's settings stop below 0.86
        for method, key, v, c in ((STH, "alpha", 3.0, hi), (STH, "alpha", 30.0, 0.83),
                                  (AUG, "sigma", 0.1, 0.90), (AUG, "sigma", 0.5, 0.82)):
            rows.append(dict(run=f"{seed}{v}", seed=seed, method=method, attack="gaussian",
                             alpha=v if key == "alpha" else 0.0, sigma=v if key == "sigma" else 0.0,
                             clean=c, auc=1.2 - c))
    m = Frontier(profile="smoke", n_boot=100, levels=(0.84, 0.86)).matched(pd.DataFrame(rows)).set_index("level")
    assert m.loc[0.86, "sth_covers"] and m.loc[0.86, "sth_seeds_reach"] == 3 and m.loc[0.86, "aug_seeds_reach"] == 5
    assert m.loc[0.84, "sth_seeds_reach"] == 5
    text = matched_sentences(m.reset_index())
    assert ("and between α 30 (0.830) and α 3 (0.864); S^Th's own settings reach this level in only 3 of the 5 "
            "seeds (the seed-mean curve reaches it))") in text
    assert text.count("own settings reach") == 1
    assert set(m["pair"]) == {"fashion-mnist <- fashion-mnist"}
