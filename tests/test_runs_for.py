"""Every entry point gets its runs the same way (sweep.runs_for): the run store, else the published records,
else training, announced first with an estimate from measured seconds per step."""
from __future__ import annotations

import json
from pathlib import Path

import pytest

from pixelreg.errors import MissingRunsError
from pixelreg.experiment import records, sweep
from pixelreg.experiment.config import DEFAULT_PROFILE, TrainConfig, config_hash, make_config
from pixelreg.experiment.runs import RunStore

RECORDS = sorted((Path(__file__).resolve().parent.parent / "data" / "results").glob("*/*.json"))
needs_records = pytest.mark.skipif(not RECORDS, reason="no published records")


def test_the_default_profile_is_the_published_one():
    assert DEFAULT_PROFILE == "full" and (records.RESULTS_DIR / DEFAULT_PROFILE).is_dir()


@needs_records
def test_a_recorded_run_is_imported_not_trained(tmp_path, monkeypatch, capsys):
    config = TrainConfig.from_dict(json.loads(RECORDS[0].read_text())["config"])
    monkeypatch.setattr(sweep, "train_runs", lambda *a, **k: pytest.fail("trained a run the records hold"))
    (run,) = sweep.runs_for([config], runs_dir=tmp_path)
    assert run.finished and run.record_only and run.id == config_hash(config) == RECORDS[0].stem
    assert "1 run(s) imported from the published records" in capsys.readouterr().err
    assert sweep.runs_for([config, config], runs_dir=tmp_path) == [run, run]  # now from the store, in order


def test_a_run_in_no_record_is_trained_after_an_estimate_or_refused(tmp_path, monkeypatch):
    config = make_config("smoke", seed=12345)
    monkeypatch.setenv("PIXELREG_TRAIN", "0")
    with pytest.raises(MissingRunsError, match=config_hash(config)):
        sweep.runs_for([config], runs_dir=tmp_path)
    monkeypatch.delenv("PIXELREG_TRAIN")
    trained = []

    def fake_train(cs, runs_dir=None, **k):
        for c in cs:
            trained.append(c)
            (RunStore(runs_dir).create(c).dir / "DONE").write_text("")

    monkeypatch.setattr(sweep, "train_runs", fake_train)
    (run,) = sweep.runs_for([config], runs_dir=tmp_path)
    assert trained == [config] and run.finished and not run.record_only


@needs_records
@pytest.mark.parametrize("path", RECORDS, ids=lambda p: p.stem)
def test_planned_steps_are_the_steps_the_records_trained(path):
    rec = json.loads(path.read_text())
    assert sweep.planned_steps(TrainConfig.from_dict(rec["config"])) == rec["provenance"]["steps"]


def test_the_estimate_names_the_runs_and_scales_measured_seconds_per_step(monkeypatch):
    config = make_config("full", alpha=10.0, seed=0)  # 3 epochs of 59,400 images in batches of 64: 2,787 steps
    assert sweep.planned_steps(config) == 2787
    monkeypatch.setattr(sweep, "measured_step_seconds", lambda store=None: [(config.replace(seed=7), 0.2)])
    line = sweep.training_estimate([config, config.replace(seed=1)], workers=2)
    assert line.startswith("about to train 2 run(s): 2 x S^Th (fashion-mnist, width 16, 3 epochs)")
    assert "estimated 9 min" in line and "5,574 steps, 2 at a time" in line  # 2 x 2787 x 0.2 s / 2 = 557 s
    monkeypatch.setattr(sweep, "measured_step_seconds", lambda store=None: [])
    assert "no measured run" in sweep.training_estimate([config])


def test_runstore_missing_is_the_one_check(tmp_path):
    a, b = make_config("smoke", seed=1), make_config("smoke", seed=2)
    store = RunStore(tmp_path)
    assert store.missing([a, b, a]) == [a, b]
    store.create(a)  # created but unfinished: still missing
    assert store.missing([a]) == [a]
    (store.path(a) / "DONE").write_text("")
    assert store.missing([a, b]) == [b]
