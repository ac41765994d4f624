"""Failed runs on a page: a real divergence planted at the smoke scale is counted, named in the caption and
left out of every mean and test (pixelreg.figures.common.FAILED_RUN_RULE)."""
from __future__ import annotations

import dataclasses
import json
import shutil

import pandas as pd
import pytest
from conftest import needs_fmnist

from pixelreg.experiment import config
from pixelreg.experiment.config import config_hash
from pixelreg.experiment.runs import NONFINITE, RunStore
from pixelreg.experiment.train import train
from pixelreg.figures.common import failures_sentence
from pixelreg.figures.prose import runs_details
from pixelreg.figures.fig2 import Fig2

pytestmark = needs_fmnist


@pytest.mark.slow  # end-to-end: trains runs, executes notebooks or builds the book
def test_a_diverged_run_is_counted_and_left_out(tmp_path, monkeypatch):
    # the rule of the cpu, full and paper profiles, on smoke-sized runs
    monkeypatch.setitem(config.PROFILES, "smoke", dataclasses.replace(config.PROFILES["smoke"], drop_failed=True))
    page = Fig2(profile="smoke", panels=("fashion-mnist<-fashion-mnist",), seeds=(0, 1), attacks=("gaussian",))
    runs_dir = tmp_path / "runs"
    store = RunStore(runs_dir)
    configs = page.configs()
    victim = next(c for c in configs if c.target == "thresholded" and c.seed == 1)
    # plant a genuine divergence under the victim's hash: the same config trained with an absurd learning rate
    diverged = train(victim.replace(lr=1e6), runs_dir=tmp_path / "other", progress=False)
    assert diverged.failure["reason"] == NONFINITE
    dest = runs_dir / config_hash(victim)
    dest.parent.mkdir(parents=True, exist_ok=True)
    shutil.copytree(diverged.dir, dest)
    (dest / "config.json").write_text(json.dumps(victim.to_dict()))
    assert store.get(victim).failure["reason"] == NONFINITE

    data = page.data(runs_dir=runs_dir, progress=False)
    runs = data.runs.set_index("run")
    failed = set(runs.index[runs["failure"].notna()])
    assert len(runs) == 6 and config_hash(victim) in failed
    assert "non-finite loss" in runs.loc[config_hash(victim), "failure"]
    # every failed run (the planted one, and any smoke run that never beat its untrained state) is left out of
    # the curves, so of every mean and test built on them; every other run is in
    assert set(data["curves"]["run"]) == set(runs.index) - failed
    assert 1 not in set(data["curves"].query("condition == 'S^Th'")["seed"])
    cap = data.caption()
    n_sth = int(runs.loc[list(failed)].query("condition == 'S^Th'").shape[0])
    assert f"Failed runs: {len(failed)} of 6" in cap and f"S^Th: {n_sth} of 2" in cap and "not replaced" in cap
    # the page lists its runs under the caption: every hash, and the planted failure beside its run
    listing = runs_details(data)
    assert listing.startswith("<details><summary>Runs (6;") and all(h in listing for h in runs.index)
    assert "S^Th" in listing and "<- " not in listing  # labels escaped, not read as tags
    row = next(r for r in listing.split("<tr>") if config_hash(victim) in r)
    assert "non-finite loss" in row
    assert "None" not in listing and "<th>selected epoch</th>" in listing  # no "None" cells; readable headers
    plain = [r for r in listing.split("<tr>") if "<td>unregularized</td>" in r]
    assert plain and not any("thresholded" in r for r in plain)  # no target parameters without the loss
    assert any("thresholded" in r for r in listing.split("<tr>") if "<td>S^Th</td>" in r)
    # the diagnostics page of the same runs flags the failed runs in its tables and leaves them out of its means
    from pixelreg.figures.diagnostics import Diagnostics
    diag = Diagnostics(profile="smoke", panels=("fashion-mnist<-fashion-mnist",), seeds=(0, 1)).data(
        runs_dir=runs_dir, progress=False)
    fin = diag["final"].set_index("run")
    assert set(fin.index[fin.failed]) == failed and set(diag["epochs"].query("dropped")["run"]) == failed
    assert fin.failed.equals(fin.dropped)  # this profile drops failed runs (set above)
    assert fin.loc[config_hash(victim), "max_gamma"] is None or pd.isna(fin.loc[config_hash(victim), "max_gamma"])
    see = Diagnostics(profile="smoke").what_we_see(diag)
    assert f"{len(failed)} failed run(s)" in see and config_hash(victim) in see


def test_failures_sentence_known_answers():
    runs = pd.DataFrame(dict(run=["a", "b", "c"], seed=[0, 1, 0], condition=["S^Th", "S^Th", "unregularized"],
                             failure=[None, "non-finite loss in epoch 2", None]))
    s = failures_sentence(runs)
    assert s.startswith("**Failed runs: 1 of 3**, left out") and "S^Th: 1 of 2 (b seed 1, non-finite loss" in s
    assert "kept in the means" in failures_sentence(runs, dropped=False)
    assert failures_sentence(runs.assign(failure=None)) == ("No run failed (non-finite loss, or the untrained "
                                                            "state selected) of 3.")


def test_diagnostics_sentences_leave_failed_runs_out_and_name_ties():
    from pixelreg.figures.common import FigureData
    from pixelreg.figures.diagnostics import Diagnostics

    fin = pd.DataFrame(dict(run=["r0", "r1", "r2", "r3", "r4"], seed=range(5), condition="S^Th <- natural",
                            failed=[False, False, False, False, True], dropped=[False, False, False, False, True],
                            best_epoch=[3, 3, 2, 3, 1], epochs=3,
                            max_gamma=[0.4, 0.5, 0.6, 0.7, None], heldout_corr=[0.2, 0.4, None, 0.6, None],
                            max_gamma_layer=["layer1", "layer2", "layer1", "layer2", None]))
    data = FigureData("diagnostics", {}, dict(final=fin), pd.DataFrame())
    see = Diagnostics(profile="smoke").what_we_see(data)
    assert "1 failed run(s)** r4 (S^Th <- natural, seed 4)" in see
    assert "0.550 on average (4 runs, from 0.400 to 0.700)" in see  # r4 out of the mean
    assert "single stage" not in see
    high = fin.assign(max_gamma=[0.95, 0.94, 0.93, 0.82, None])
    assert "most of the weight on a single stage in every run" in Diagnostics(profile="smoke").what_we_see(
        FigureData("diagnostics", {}, dict(final=high), pd.DataFrame()))
    mixed = fin.assign(max_gamma=[0.99, 0.98, 0.97, 0.6, None])
    assert "single stage on average" in Diagnostics(profile="smoke").what_we_see(
        FigureData("diagnostics", {}, dict(final=mixed), pd.DataFrame()))
    assert "on `layer1` and `layer2` in 2 of 4 runs each" in see  # a tie is named as one
    assert "0.400 (3 of 4 runs logged it)" in see
    assert "earlier epoch than the last in 2 of 5 runs (failed runs included)" in see
    # a profile that keeps failed runs (smoke): the failed run is flagged in the table but not left out
    kept = Diagnostics(profile="smoke").what_we_see(FigureData("diagnostics", {}, dict(final=fin.assign(dropped=False)),
                                                               pd.DataFrame()))
    assert "Left out" not in kept and "(4 runs, from" in kept  # r4 has no finite layer weights
