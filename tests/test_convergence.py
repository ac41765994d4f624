"""The converged boundary attack (issue 19 item 2): the convergence rule on known curves, the checkpointed attacks
against foolbox's own runs of each length, the cached evaluation's key, and its record round trip."""
from __future__ import annotations

import json
import math
from types import SimpleNamespace

import numpy as np
import pandas as pd
import pytest
import torch
from _tiny_models import make_data, trained
from conftest import needs_fmnist

from pixelreg.errors import ConfigError, RecordOnlyRunError
from pixelreg.experiment.records import tensor_file_name
from pixelreg.experiment.runs import params_hash
from pixelreg.robustness.attacks import BoundaryAttack, boundary_iterates, hopskipjump_iterates
from pixelreg.robustness.convergence import (CONVERGENCE_NAME, boundary_convergence, convergence_curve,
                                             convergence_summary, converged_steps, doubling_schedule,
                                             relative_changes, start_cosines)


# ---- the rule ------------------------------------------------------------------------------------------------

def test_a_curve_that_flattens_converges_where_the_last_doubling_changed_less_than_5_percent():
    curve = {50: 10.0, 100: 8.0, 200: 6.0, 400: 4.5, 800: 4.4, 1600: 4.39}  # 20%, 25%, 25%, 2.2%, 0.2%
    assert converged_steps(curve) == 800
    assert converged_steps(curve, tol=0.3) == 100  # 20% < 30%
    assert converged_steps(pd.Series(curve)) == 800 and converged_steps(list(curve.items())) == 800
    assert converged_steps({1: 2.0, 2: 3.0, 4: 3.05}) == 4  # a median that grows counts by its size too


def test_exactly_5_percent_is_not_converged():
    # 0.9375 -> 0.890625 is exactly 5% (binary fractions); the next doubling changes 1.05%
    assert relative_changes({1: 1.0, 2: 0.9375, 4: 0.890625})[4] == 0.05
    assert converged_steps({1: 1.0, 2: 0.9375, 4: 0.890625}) is None
    assert converged_steps({1: 1.0, 2: 0.9375, 4: 0.890625, 8: 0.88125}) == 8


def test_a_curve_that_never_flattens_is_unconverged():
    assert converged_steps({50: 10.0, 100: 8.0, 200: 6.4, 400: 5.12, 800: 4.096}) is None  # 20% every doubling
    assert converged_steps({50: 3.0}) is None  # one point: no doubling to judge


def test_a_stalled_start_looks_converged_to_the_rule():
    """Why the converged attack is HopSkipJump: foolbox's boundary attack stalls for its first few hundred steps
    (its step sizes adapt only once its success statistics are full), and the rule cannot tell a stall from
    convergence. The shape below is the one measured on a full run (BENCHMARKS.md section 9)."""
    assert converged_steps({50: 2.234, 100: 2.224, 200: 2.224, 400: 2.209, 800: 2.145, 1600: 1.793}) == 100


@pytest.mark.parametrize("curve", [{}, [], {50: 1.0, 150: 0.9}, {100: 1.0, 50: 2.0}, {50: float("nan"), 100: 1.0},
                                   {50: 1.0, 100: 0.0}, {50: -1.0, 100: 1.0}, {0: 1.0, 1: 1.0}, {50.5: 1.0},
                                   {50: "x"}, {True: 1.0, 2: 1.0}])
def test_bad_curves_raise_config_error(curve):
    with pytest.raises(ConfigError, match="curve"):
        converged_steps(curve)


@pytest.mark.parametrize("tol", [0, 1, -0.1, 1.5, True, "0.05", float("nan")])
def test_bad_tolerance_raises_config_error(tol):
    with pytest.raises(ConfigError, match="tol"):
        converged_steps({1: 1.0, 2: 0.99}, tol)


def test_doubling_schedule():
    assert doubling_schedule(50, 3200) == (50, 100, 200, 400, 800, 1600, 3200)
    assert doubling_schedule(1, 1) == (1,)
    for start, cap in ((50, 3000), (50, 25), (0, 8), (1, True)):
        with pytest.raises(ConfigError):
            doubling_schedule(start, cap)


def test_start_cosines():
    a = torch.tensor([[1.0, 0.0], [1.0, 1.0], [0.0, 0.0]]).view(3, 1, 1, 2)
    b = torch.tensor([[2.0, 0.0], [-1.0, -1.0], [1.0, 0.0]]).view(3, 1, 1, 2)
    c = start_cosines(a, b)
    assert c[0] == pytest.approx(1.0) and c[1] == pytest.approx(-1.0) and math.isnan(c[2])


# ---- the checkpointed attacks are foolbox's runs of each length ---------------------------------------------

def _same(a: torch.Tensor, b: torch.Tensor) -> bool:
    return torch.equal(a.nan_to_num(7.0), b.nan_to_num(7.0))


def test_boundary_iterates_equal_foolbox_runs_of_each_length_and_stop_early():
    model = trained()
    x, _ = make_data(10, seed=3)
    it = boundary_iterates(model, x, (5, 10, 20))
    assert it.steps_run == 20 and not it.stopped_early and sorted(it.deltas) == [5, 10, 20]
    for k in (5, 10, 20):  # exactly the reference class's first repeat at k steps
        assert _same(it.deltas[k], BoundaryAttack(steps=k, repeats=1)(model, x).delta[0])
    early = boundary_iterates(model, x, (5, 10, 20), stop=lambda k, d: k == 10)
    assert early.stopped_early and early.steps_run == 10 and sorted(early.deltas) == [5, 10]
    assert _same(early.deltas[10], it.deltas[10]) and _same(early.start, it.start)


def test_hopskipjump_iterates_equal_foolbox_runs_of_each_length_from_the_boundary_attacks_starts():
    model = trained()
    x, _ = make_data(6, seed=4)
    it = hopskipjump_iterates(model, x, (1, 2, 4), seed=2)
    assert _same(it.start, boundary_iterates(model, x, (1,), seed=2).start)  # the same init, the same torch seed
    for k in (1, 2, 4):  # one checkpoint: foolbox's HopSkipJumpAttack(steps=k) itself, unwatched
        assert _same(it.deltas[k], hopskipjump_iterates(model, x, (k,), seed=2).deltas[k])
    ok = it.success
    assert float(it.deltas[4][ok].flatten(1).norm(dim=1).median()) < float(it.start[ok].flatten(1).norm(dim=1).median())
    early = hopskipjump_iterates(model, x, (1, 2, 4), stop=lambda k, d: k == 2, seed=2)
    assert early.stopped_early and early.steps_run == 2 and _same(early.deltas[2], it.deltas[2])


def test_a_model_without_adversarials_fails_every_image_and_is_not_judged():
    from _tiny_models import ConstantModel

    x, _ = make_data(4, seed=1)
    table, delta = boundary_convergence(ConstantModel().eval(), images=x, n_images=4, cap=4)
    assert not table["success"].any() and torch.isnan(delta).all()
    s = convergence_summary(table.assign(run="r"))
    assert s.loc[0, "converged_steps"] is None and not s.loc[0, "converged"] and s.loc[0, "failed"] == 4


# ---- the cached evaluation -----------------------------------------------------------------------------------

def _fake_run(tmp_path, model):
    return SimpleNamespace(config=SimpleNamespace(task="fashion-mnist", seed=3, alpha=0.0, rgb=False), dir=tmp_path,
                           id=tmp_path.name, load_model=lambda device=None: model)


def test_convergence_is_cached_under_its_own_key_and_served_without_the_model(tmp_path):
    model = trained()
    x, y = make_data(12, seed=5)
    run = _fake_run(tmp_path, model)
    table, delta = boundary_convergence(run, images=x, labels=y, n_images=6, cap=4)
    from pixelreg.robustness.evaluate import _tensor_fingerprint

    params = {"attack": "foolbox 3.3.4 HopSkipJumpAttack (l2, defaults) from repeat 0 of BoundaryAttack's starting "
                        "points", "checkpoints": [1, 2, 4], "stop": "median L2 change < tol over the last doubling",
              "tol": 0.05, "data": f"given-{_tensor_fingerprint(x)}", "n_images": 6, "seed": 0, "stop_early": True}
    key = f"{CONVERGENCE_NAME}-{params_hash(params)}"
    names = {p.name for p in (tmp_path / "evals").iterdir() if not p.name.endswith(".lock")}
    assert names == {f"{key}.csv", f"{key}.json", tensor_file_name(CONVERGENCE_NAME, params)}  # beside the table
    assert json.loads((tmp_path / "evals" / f"{key}.json").read_text())["params"] == params
    assert list(table.columns[:3]) == ["run", "seed", "condition"] and set(table["steps"]) <= {0, 1, 2, 4}
    assert delta.shape == (2, 6, 1, 16, 16)
    start = table[table.steps == 0]
    ok = start["success"].to_numpy().copy()
    assert np.allclose(start["l2"].to_numpy()[ok], delta[0][torch.as_tensor(ok)].flatten(1).norm(dim=1).numpy())
    last = table[table.steps == table.steps.max()]
    assert np.allclose(last["l2"].to_numpy()[ok], delta[1][torch.as_tensor(ok)].flatten(1).norm(dim=1).numpy(),
                       rtol=1e-5)
    assert np.allclose(start["cosine"][start["success"]], 1.0)

    def no_model(device=None):
        raise RecordOnlyRunError("x", CONVERGENCE_NAME, "no checkpoint")

    run.load_model = no_model
    table2, delta2 = boundary_convergence(run, images=x, labels=y, n_images=6, cap=4)
    assert _same(delta, delta2) and table2.drop(columns="seconds").equals(table.drop(columns="seconds"))
    with pytest.raises(RecordOnlyRunError):  # another cap is another evaluation: it needs the model
        boundary_convergence(run, images=x, labels=y, n_images=6, cap=8)


def test_curve_and_summary_on_a_known_table():
    rows = []
    for k, l2s in ((0, [4.0, 5.0, 6.0]), (1, [3.0, 4.0, 5.0]), (2, [2.0, 3.0, 4.0]), (4, [1.9, 2.95, 3.9])):
        for i, v in enumerate(l2s):
            rows.append(dict(run="r", seed=0, condition="c", steps=k, image=i, success=True, l2=v,
                             cosine=1.0 - 0.1 * k, seconds=float(k)))
    rows.append(dict(run="r", seed=0, condition="c", steps=0, image=9, success=False, l2=float("nan"),
                     cosine=float("nan"), seconds=0.0))
    t = pd.DataFrame(rows)
    c = convergence_curve(t)
    assert list(c["steps"]) == [1, 2, 4] and list(c["median_l2"]) == [4.0, 3.0, 2.95]
    assert c["rel_change"].iloc[1] == pytest.approx(0.25) and c["rel_change"].iloc[2] == pytest.approx(0.05 / 3)
    s = convergence_summary(t).iloc[0]
    assert s.converged_steps == 4 and s.converged and s.steps_run == 4 and s.failed == 1 and s.n_images == 3
    assert s.median_l2_start == 5.0 and s.median_l2 == 2.95 and s.median_cosine == pytest.approx(0.6)
    assert s.median_l2_first == 4.0


# ---- records --------------------------------------------------------------------------------------------------

def test_fig4_says_how_far_converged_perturbations_still_turned():
    """Known answer: two converged runs whose median cosine fell 0.50 -> 0.43 and 0.36 -> 0.23 over their last
    doubling give "0.07-0.13"; an unconverged run is left out; no table or no converged run, no sentence."""
    from pixelreg.figures.fig4 import direction_still_turning

    curve = pd.DataFrame(dict(run=["a"] * 3 + ["b"] * 2 + ["c"] * 2, steps=[16, 32, 64, 32, 64, 64, 128],
                              median_cosine=[0.6, 0.50, 0.43, 0.36, 0.23, 0.9, 0.1]))
    text = direction_still_turning(curve, {"a", "b"})
    assert "Over the last doubling of the 2 converged runs, the median cosine with the start direction still fell " \
           "by 0.07-0.13." in text
    assert direction_still_turning(curve, set()) == "" and direction_still_turning(None, {"a"}) == ""


def test_record_round_trip_serves_the_converged_evaluation_without_the_model(tmp_path, monkeypatch):
    from pixelreg.experiment.config import make_config
    from pixelreg.experiment.records import MAX_RECORD_BYTES, encode_tensor, export_runs, import_records
    from pixelreg.experiment.runs import Run, RunStore

    real_load_model = Run.load_model
    config = make_config("smoke", alpha=0.0, seed=0)
    run = RunStore(tmp_path / "store").create(config)
    for name, text in (("DONE", ""), ("metrics.json", "[]"), ("provenance.json", "{}")):
        (run.dir / name).write_text(text)
    model = trained()
    monkeypatch.setattr(Run, "load_model", lambda self, device="cpu": model)
    x, y = make_data(10, seed=6)
    table, delta = boundary_convergence(run, images=x, labels=y, n_images=5, cap=2)
    (result,) = export_runs(run, "smoke", out_dir=tmp_path / "records")
    assert any(k.startswith(CONVERGENCE_NAME) for k in result["evaluations"])

    def no_model(self, device="cpu"):
        raise AssertionError("model loaded")

    monkeypatch.setattr(Run, "load_model", no_model)
    import_records(tmp_path / "records", runs_dir=tmp_path / "fresh")
    fresh = RunStore(tmp_path / "fresh").get(config)
    assert fresh.record_only
    table2, delta2 = boundary_convergence(fresh, images=x, labels=y, n_images=5, cap=2)
    assert table2.drop(columns="seconds").equals(table.drop(columns="seconds"))
    ok = torch.isfinite(delta)
    assert torch.equal(ok, torch.isfinite(delta2)) and torch.allclose(delta[ok], delta2[ok], atol=5e-4)
    # an evaluation the record lacks, with no dataset on the machine: the run's own error (which the book turns
    # into its "not run" note), never a DataNotFoundError from loading test images the model could not attack
    import pixelreg.experiment.data as data_mod
    from pixelreg.errors import RecordOnlyRunError

    monkeypatch.setattr(data_mod, "SYSTEM_DIRS", {"fashion-mnist": [str(tmp_path / "no-such-package")]})
    monkeypatch.setenv("PIXELREG_DATA_DIR", str(tmp_path / "no-data"))
    monkeypatch.setattr(Run, "load_model", real_load_model)  # the real one: no checkpoint, so it raises
    with pytest.raises(RecordOnlyRunError) as e:
        boundary_convergence(fresh, n_images=5, cap=2)
    assert e.value.run_id == fresh.id and e.value.evaluation.startswith(CONVERGENCE_NAME)
    # the full profile's setting, 16 Fashion-MNIST images (start and converged), is far below a record's limit
    big = encode_tensor(torch.randn(2, 16, 1, 28, 28) * 0.1)
    assert len(json.dumps(big)) < MAX_RECORD_BYTES / 10


# ---- Fig. 4 at the smoke scale ----------------------------------------------------------------------------------

@needs_fmnist
@pytest.mark.slow
def test_fig4_builds_at_smoke_with_the_converged_rows(tmp_path):
    """Trains the four smoke runs, runs the converged attack on each, and judges the low-frequency rows on it (any
    outcome: smoke models prove the code path, not the science)."""
    from pixelreg.analysis.verdicts import VERDICTS
    from pixelreg.figures.claims import claims_table
    from pixelreg.figures.fig4 import CLAIMS, Fig4

    page = Fig4(profile="smoke")
    assert page.converged_seeds == page.seeds and (page.converged_images, page.converged_cap) == (4, 4)
    data = page.data(runs_dir=tmp_path, progress=False)
    summ = data["converged"]
    assert len(summ) == 4 and set(summ["condition"]) == {"unregularized", "S^Th"}
    assert (summ["steps_run"] <= 4).all() and summ["converged"].dtype == bool
    conv = data["convergence"]
    assert set(conv["steps"]) <= {1, 2, 4} and conv["median_cosine"].between(-1, 1).all()
    assert set(data["converged_shares"]["source"]) <= {"converged", "start"}
    text = page.what_we_see(data)
    assert "converged attack (HopSkipJump" in text or "Converged attack: not run" in text
    rows = claims_table({"fig4": data}, claims=CLAIMS).set_index("key")
    for key in ("lowfreq-mostly", "lowfreq-reg"):
        assert rows.loc[key, "category"] in VERDICTS, rows.loc[key, "verdict"]
    # the same page again is served from the caches (the converged evaluation included), without recomputing
    again = Fig4(profile="smoke").data(runs_dir=tmp_path, progress=False)
    assert again["converged"].drop(columns="seconds").equals(summ.drop(columns="seconds"))


def test_fig4_converged_parameters_are_checked():
    from pixelreg.figures.fig4 import Fig4

    full = Fig4(profile="full")
    assert full.converged_seeds == (5, 6, 7, 8, 9) and full.seeds == (0, 1, 2, 3, 4)
    assert {c.seed for c in full.converged_configs()} == set(range(5, 10))
    assert not set(full.converged_configs()) & set(full.configs())  # never part of the page's plan
    assert Fig4(profile="smoke", converged_seeds="3,4").converged_seeds == (3, 4)
    for kw, name in ((dict(converged_cap=48), "converged_cap"), (dict(converged_cap=0), "converged_cap"),
                     (dict(converged_images=0), "converged_images"), (dict(converged_seeds=""), "converged_seeds"),
                     (dict(converged_seeds="a"), "converged_seeds")):
        with pytest.raises(ConfigError, match=name):
            Fig4(profile="smoke", **kw)


def test_converged_sentences_name_the_pages_cap_not_the_steps_run():
    """Two runs that converged at 64 iterations under a cap of 128 and one that reached the cap: the sentence
    counts each and names the cap of the page's parameters (the steps run are 64 where the attack stopped)."""
    from pixelreg.figures import FigureData
    from pixelreg.figures.fig4 import converged_sentences

    summ = pd.DataFrame([dict(run=r, seed=s, condition=c, steps_run=n, failed=0, n_images=4, median_l2_start=2.0,
                              converged_steps=k, converged=k is not None, median_l2=0.5, median_cosine=0.4)
                         for r, s, c, n, k in (("a", 5, "S^Th", 64, 64), ("b", 6, "S^Th", 64, 64),
                                               ("c", 5, "unregularized", 128, None))])
    data = FigureData("fig4", dict(converged_cap=128, cutoff=0.1, converged_images=4), dict(converged=summ))
    th, un, judged = converged_sentences(data)
    assert "2 of 2 runs converged (at 64, 64 iterations); 0 reached the cap of 128 iterations unconverged" in th
    assert "0 of 1 runs converged; 1 reached the cap of 128 iterations unconverged" in un
    assert "on the perturbations of the 2 of 3 runs whose attack converged" in judged
    # the images behind each run's median are stated where the numbers are read
    assert "(median over each run's 4 images; mean ± SEM over runs), S^Th" in th
    assert "each run's median over its images, averaged over runs: 0.40" in th
    assert "each run attacks only 4 test images" in judged


def test_boundary_converged_row_compares_converged_runs_only_known_answer():
    """The converged-attack row: log of the squared median L2 per converged run, S^Th − unregularized paired by
    seed; a capped run is left out with its pair; no converged run gives NoData."""
    import math

    import pandas as pd
    import pytest

    from pixelreg.figures import FigureData
    from pixelreg.figures.claimrows import NoData
    from pixelreg.figures.fig4 import _boundary_converged

    rows = []
    for seed, (u, s, conv) in enumerate([(0.5, 0.6, True), (0.4, 0.5, True), (0.45, 0.55, True), (0.3, 0.9, False)]):
        rows += [dict(run=f"u{seed}", seed=seed, condition="unregularized", median_l2=u, converged=True),
                 dict(run=f"s{seed}", seed=seed, condition="S^Th", median_l2=s, converged=conv)]
    fd = FigureData("fig4", {}, dict(converged=pd.DataFrame(rows)))
    c = _boundary_converged({"fig4": fd}, {})
    want = [2 * math.log(s / u) for u, s in [(0.5, 0.6), (0.4, 0.5), (0.45, 0.55)]]
    assert c.paired and c.n_a == c.n_b == 3 and c.estimate == pytest.approx(sum(want) / 3)
    with pytest.raises(NoData, match="unconverged"):
        _boundary_converged({"fig4": FigureData("fig4", {}, dict(converged=pd.DataFrame(rows).assign(
            converged=False)))}, {})


def test_fig4_states_the_high_pass_auc_summary_the_claims_row_judges():
    """Known answer: unregularized AUC over ε > 0 of 0.5, 0.6, 0.4 and S^Th 0.1 higher at each seed: +0.100 with
    an interval that excludes 0, the same summary as the claims page's highfreq row (tables.aucs)."""
    from pixelreg.figures.fig4 import band_auc_sentences

    rows = []
    for seed, base in enumerate((0.5, 0.6, 0.4)):
        for cond, acc in (("unregularized", base), ("S^Th", base + 0.1 + 0.01 * seed)):
            for eps in (0.0, 0.1, 0.2):
                rows.append(dict(run=f"{cond}{seed}", seed=seed, condition=cond, attack="high-pass", epsilon=eps,
                                 accuracy=0.9 if eps == 0 else acc))
    (line,) = band_auc_sentences(pd.DataFrame(rows))
    assert line.startswith("- high-pass noise, AUC over ε > 0, S^Th − unregularized: +0.110 [")
    assert "paired t, 3 pairs" in line and "the interval excludes 0. One summary over the grid" in line
    assert "the claims page's exploratory highfreq row labels it" in line and "fourier-band" in line
    low = band_auc_sentences(pd.DataFrame(rows).assign(attack="low-pass"))
    assert len(low) == 1 and "highfreq" not in low[0]
    assert band_auc_sentences(pd.DataFrame(rows).query("condition == 'S^Th'")) == []
