"""Published run records: export -> import -> the same tables without a checkpoint, on real smoke runs."""
from __future__ import annotations

import json
import re
import shlex
import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import torch
from conftest import needs_fmnist
from test_train import smoke

import pixelreg.experiment.records as records
from pixelreg.experiment.config import config_hash, make_config
from pixelreg.errors import ConfigError
from pixelreg.robustness.evaluate import boundary_distances, robust_accuracy
from pixelreg.experiment.records import (RecordOnlyRunError, drop_record_only_runs, export_runs, import_records,
                              read_record, records_status)
from pixelreg.experiment.runs import RECORD_ONLY, Run, RunStore
from pixelreg.robustness.spectra import low_frequency_fraction, power_spectrum, radial_profile
from pixelreg.experiment.train import train

pytestmark = [needs_fmnist, pytest.mark.slow]  # end-to-end: trains, evaluates, exports, imports

N = 64  # test images per accuracy curve
CURVES = [dict(attack="gaussian", precision="auto"), dict(attack="fgsm")]  # noise curve, white-box FGSM
BOUNDARY = [dict(n_images=8, steps=10, repeats=2), dict(n_images=8, steps=20, repeats=1)]  # reference, spectra


def _curves(runs):
    return [robust_accuracy(runs, n_images=N, **kw) for kw in CURVES]


def _boundaries(run):
    return [boundary_distances(run, **kw) for kw in BOUNDARY]


@pytest.fixture(scope="module")
def trained(tmp_path_factory):
    """Three finished smoke runs: unregularized and S^Th (evaluated), and a transfer source; exported."""
    root = tmp_path_factory.mktemp("store")
    # two epochs: after one, the smoke models predict one class and the boundary attack finds no start
    runs = [train(smoke(alpha=0.0, seed=0, epochs=2), runs_dir=root, progress=False),
            train(smoke(seed=0, epochs=2), runs_dir=root, progress=False)]
    source = train(smoke(alpha=0.0, seed=1000), runs_dir=root, progress=False)
    curves = _curves(runs)
    transferred = robust_accuracy(runs, "fgsm", n_images=N, source=source)
    boundary = _boundaries(runs[0])
    out = tmp_path_factory.mktemp("results") / "smoke"
    exported = export_runs(runs + [source], "smoke", out_dir=out)
    return dict(root=root, runs=runs, source=source, curves=curves, transferred=transferred, boundary=boundary,
                out=out, exported=exported)


@pytest.fixture
def imported(trained, tmp_path):
    store = tmp_path / "fresh"
    result = import_records(trained["out"], runs_dir=store)
    return store, result


@pytest.fixture
def no_model(monkeypatch):
    """Fail the test if any run's model is loaded."""
    loaded = []

    def load_model(self, device="cpu"):
        loaded.append(self.id)
        raise AssertionError(f"model of {self.id} loaded")

    monkeypatch.setattr(Run, "load_model", load_model)
    return loaded


def _tree(root: Path) -> dict[str, bytes]:
    """Every file under ``root`` but lock files (taking a lock may touch its file)."""
    return {str(p.relative_to(root)): p.read_bytes() for p in sorted(root.rglob("*"))
            if p.is_file() and p.suffix != ".lock"}


def test_record_is_plain_json_with_every_evaluation_and_no_checkpoint(trained):
    run = trained["runs"][0]
    info = next(r for r in trained["exported"] if r["run"] == run.id)
    path = trained["out"] / f"{run.id}.json"
    assert info["path"] == path and info["written"] and info["bytes"] == path.stat().st_size < records.MAX_RECORD_BYTES
    data = json.loads(path.read_text())
    assert data["schema"] == records.SCHEMA and data["schema_version"] == 1 and data["profile"] == "smoke"
    assert data["config"] == run.config.to_dict() and data["metrics"] == run.metrics
    assert data["provenance"] == run.provenance and {"git_commit", "torch", "device", "wall_time_seconds"} <= set(
        data["provenance"])
    names = sorted(e["name"] for e in data["evaluations"])
    assert names == ["acc-fgsm", "acc-fgsm", "acc-gaussian", "boundary", "boundary"]  # white-box + transferred
    assert info["evaluations"] == [e["key"] for e in data["evaluations"]]
    for e in data["evaluations"]:
        assert "\n".join(e["csv"]).encode() == (run.dir / "evals" / f"{e['key']}.csv").read_bytes()
        if e["name"] == "boundary":
            (fname, t), = e["tensors"].items()
            assert t["dtype"] == "float16" and t["restore_dtype"] == "float32" and t["encoding"] == "zlib+base64"
            assert t["shape"] == list(torch.load(run.dir / "evals" / fname, weights_only=True).shape)
    assert "best.pt" not in path.read_text() and info["left_out"] == []
    assert not list(trained["out"].glob(".*"))  # no temporary files


def test_round_trip_serves_the_same_tables_without_the_model(trained, imported, no_model):
    store, result = imported
    assert sorted(r["status"] for r in result) == ["imported"] * 3
    runs = [Run.open(store / r.id) for r in trained["runs"]]
    assert all(r.finished and r.record_only and not (r.dir / "best.pt").exists() for r in runs)
    for orig, new in zip(trained["runs"], runs):
        assert new.config == orig.config and new.metrics == orig.metrics and new.provenance == orig.provenance
        before = _tree(orig.dir / "evals")
        for name, blob in _tree(new.dir / "evals").items():  # the cache files, byte for byte
            if name.endswith((".csv", ".json")):
                assert before[name] == blob
    evals_before = _tree(store)
    for want, got in zip(trained["curves"], _curves(runs)):
        pd.testing.assert_frame_equal(want, got)
    for (want_t, want_d), (got_t, got_d) in zip(trained["boundary"], _boundaries(runs[0])):
        pd.testing.assert_frame_equal(want_t, got_t)
        assert got_d.dtype == torch.float32 and got_d.shape == want_d.shape
        torch.testing.assert_close(got_d, want_d, atol=2.5e-4, rtol=0, equal_nan=True)
    # what the Fig. 4 page computes from the strong attack's perturbations
    (t0, d0), (t1, d1) = trained["boundary"][1], _boundaries(runs[0])[1]
    ok = torch.tensor(t0.success.to_numpy())
    assert ok.any()
    p0, p1 = (radial_profile(power_spectrum(d[0][ok]))[1] for d in (d0, d1))
    np.testing.assert_allclose((p1 / p1.sum()).numpy(), (p0 / p0.sum()).numpy(), rtol=5e-3, atol=1e-6)
    assert low_frequency_fraction(d1[0][ok], 0.1) == pytest.approx(low_frequency_fraction(d0[0][ok], 0.1), abs=1e-3)
    assert no_model == [] and _tree(store) == evals_before  # nothing computed, nothing written


def test_cached_tables_need_no_dataset(trained, imported, no_model, monkeypatch):
    """A records-only reader without the dataset: every cached table is served before any data is loaded."""
    import pixelreg.experiment.data

    def no_data(*a, **k):
        raise AssertionError("dataset loaded")

    monkeypatch.setattr(pixelreg.experiment.data, "load_dataset", no_data)
    store, _ = imported
    runs = [Run.open(store / r.id) for r in trained["runs"]]
    for want, got in zip(trained["curves"], _curves(runs)):
        pd.testing.assert_frame_equal(want, got)
    got = robust_accuracy(runs, "fgsm", n_images=N, source=Run.open(store / trained["source"].id))
    pd.testing.assert_frame_equal(trained["transferred"], got)
    for (want_t, _), (got_t, _) in zip(trained["boundary"], _boundaries(runs[0])):
        pd.testing.assert_frame_equal(want_t, got_t)
    with pytest.raises(AssertionError, match="dataset loaded"):  # a miss does need the data
        robust_accuracy(runs[0], "uniform", n_images=N)


def test_an_evaluation_missing_from_the_record_names_the_run_and_how_to_retrain(trained, imported):
    store, _ = imported
    run = Run.open(store / trained["runs"][1].id)
    with pytest.raises(RecordOnlyRunError) as err:
        robust_accuracy(run, "uniform", n_images=N)
    msg = str(err.value)
    assert isinstance(err.value, ConfigError) and err.value.run_id == run.id
    assert err.value.evaluation.startswith("acc-uniform-") and err.value.evaluation in msg
    assert f"run {run.id} has no checkpoint" in msg and "acc-gaussian-" in msg  # what the record does hold
    assert "python -m pixelreg.book --profile smoke --retrain" in msg and f"{trained['out'] / run.id}.json" in msg
    # the single-run command rebuilds exactly this config
    cmd = msg.split("&& ")[1].rstrip("`")
    argv = shlex.split(cmd)
    assert argv[:4] == ["pixelreg", "train", "--profile", "smoke"]
    flags = dict(zip(argv[4::2], argv[5::2]))
    seed = int(flags.pop("--seed"))
    over = {k[2:].replace("-", "_"): v for k, v in flags.items()}
    parse = {bool: lambda v: v == "true", int: int, float: float, str: str}
    cfg = make_config("smoke", seed=seed, **{k: parse[type(getattr(run.config, k))](v) for k, v in over.items()})
    assert config_hash(cfg) == run.id
    # outside the cache (a boundary attack whose perturbations are not in the record): still names the run
    with pytest.raises(RecordOnlyRunError, match=f"run {run.id} has no checkpoint.*outside the evaluation cache"):
        boundary_distances(run, n_images=4, steps=11, repeats=1)
    with pytest.raises(RecordOnlyRunError, match=run.id):
        run.load_model()
    assert not list((run.dir / "evals").glob("*uniform*.csv"))


def test_transferred_fgsm_from_records(trained, imported, no_model):
    store, _ = imported
    runs = [Run.open(store / r.id) for r in trained["runs"]]
    got = robust_accuracy(runs, "fgsm", n_images=N, source=Run.open(store / trained["source"].id))
    pd.testing.assert_frame_equal(trained["transferred"], got)


def test_size_limit_fails_the_export_naming_the_run(trained, tmp_path):
    big, small = trained["runs"]  # the unregularized run holds the boundary perturbations
    size = next(r["bytes"] for r in trained["exported"] if r["run"] == big.id)
    assert size > 2 * next(r["bytes"] for r in trained["exported"] if r["run"] == small.id)
    out = tmp_path / "out"
    with pytest.raises(ConfigError, match=f"{big.id}'s would be {size:,} bytes.*boundary-.*Nothing was exported"):
        export_runs([small, big], "smoke", out_dir=out, max_bytes=size - 1)
    assert not out.exists()
    with pytest.raises(ConfigError, match="finished run"):  # an unfinished run is refused the same way
        export_runs([small, RunStore(tmp_path / "s").create(smoke(seed=5))], "smoke", out_dir=out)
    assert not out.exists()
    with pytest.raises(ConfigError, match="profile"):
        export_runs([small], "nonesuch", out_dir=out)


def _mutate(data, how):
    if how == "schema_version":
        data["schema_version"] = 2
    elif how == "config":
        data["config"]["seed"] += 7
    elif how == "config_field":
        data["config"]["dropout"] = 0.5
    elif how == "table":
        e = next(e for e in data["evaluations"] if e["name"] == "acc-gaussian")
        e["csv"][2] = e["csv"][2][:-1] + ("1" if e["csv"][2][-1] != "1" else "2")
    elif how == "tensor":
        t = next(iter(next(e for e in data["evaluations"] if e["name"] == "boundary")["tensors"].values()))
        t["data"] = t["data"][:100] + ("A" if t["data"][100] != "A" else "B") + t["data"][101:]
    elif how == "traversal":
        e = data["evaluations"][0]
        e["name"] = "../../evil"
        e["key"] = f"../../evil-{records.params_hash(e['params'])}"
    elif how == "schema":
        data["schema"] = "something-else"
    return data


@pytest.mark.parametrize("how", ["truncated", "schema", "schema_version", "config", "config_field", "table",
                                 "tensor", "traversal"])
def test_corrupt_or_unknown_record_is_rejected_and_nothing_imported(trained, tmp_path, how):
    folder = tmp_path / "records"
    shutil.copytree(trained["out"], folder)
    bad = folder / f"{trained['runs'][0].id}.json"
    if how == "truncated":
        bad.write_bytes(bad.read_bytes()[:5000])
    else:
        bad.write_text(json.dumps(_mutate(json.loads(bad.read_text()), how)))
    store = tmp_path / "store"
    with pytest.raises(ConfigError, match=re.escape(f"invalid record='{bad}'")):
        import_records(folder, runs_dir=store)
    assert not store.exists() or not list(store.iterdir())  # the good records were not imported either
    if how in ("schema_version", "table", "config"):
        status = records_status(folder)
        row = status[status.run == bad.stem].iloc[0]
        assert not row.has_record and row.problem and bad.name in row.problem


def test_import_is_idempotent_and_leaves_existing_runs_alone(trained, imported, tmp_path):
    store, _ = imported
    mtimes = lambda: {p: p.stat().st_mtime_ns for p in store.rglob("*") if p.suffix != ".lock"}  # noqa: E731
    before = mtimes()
    again = import_records(trained["out"], runs_dir=store)
    assert [r["status"] for r in again] == ["present"] * 3
    assert mtimes() == before
    # into the store the runs were trained in: the trained runs stay as they are
    trained_tree = _tree(trained["root"])
    assert [r["status"] for r in import_records(trained["out"], runs_dir=trained["root"])] == ["present"] * 3
    assert _tree(trained["root"]) == trained_tree and not list(trained["root"].rglob(RECORD_ONLY))
    # an unfinished run of the same config, and a run another process holds the lock of
    other = tmp_path / "other"
    first, second = trained["runs"]
    partial = RunStore(other).create(first.config)
    holder = subprocess.Popen([sys.executable, "-c", "import sys, time; from filelock import FileLock; "
                               "l = FileLock(sys.argv[1]); l.acquire(); print('locked', flush=True); time.sleep(60)",
                               str(other / f"{second.id}.lock")], stdout=subprocess.PIPE, text=True)
    try:
        assert holder.stdout.readline().strip() == "locked"
        status = {r["run"]: r["status"] for r in import_records(trained["out"], runs_dir=other)}
    finally:
        holder.kill()
        holder.wait()
    assert status == {first.id: "unfinished", second.id: "busy", trained["source"].id: "imported"}
    assert sorted(p.name for p in partial.dir.iterdir()) == ["config.json"]  # left exactly as it was
    assert not (other / second.id).exists()


def test_nothing_half_written_after_a_failure(trained, tmp_path, monkeypatch):
    store = tmp_path / "store"
    calls = []

    def failing_save(path, obj):
        calls.append(path)
        raise OSError(28, "No space left on device (simulated)")

    monkeypatch.setattr(records, "atomic_torch_save", failing_save)
    with pytest.raises(OSError, match="simulated"):
        import_records(trained["out"], runs_dir=store)
    assert calls  # it failed while writing the boundary perturbations of the unregularized run
    for d in store.iterdir():
        assert not d.name.startswith("."), d  # no temporary folder left
        if d.is_dir():
            assert (d / "DONE").is_file() and (d / "config.json").is_file()  # only whole runs
    assert not (store / trained["runs"][0].id).exists()
    monkeypatch.undo()
    assert "imported" in {r["status"] for r in import_records(trained["out"], runs_dir=store)}
    assert (store / trained["runs"][0].id / "DONE").is_file()

    # export: records are written one by one, each atomically
    out = tmp_path / "out"
    writes = []
    real = records.atomic_write_bytes

    def failing_write(path, data):
        writes.append(path)
        if len(writes) == 2:
            raise OSError(28, "No space left on device (simulated)")
        real(path, data)

    monkeypatch.setattr(records, "atomic_write_bytes", failing_write)
    with pytest.raises(OSError, match="simulated"):
        export_runs(trained["runs"], "smoke", out_dir=out)
    assert [p.name for p in out.iterdir()] == [f"{trained['runs'][0].id}.json"]  # one whole record, no partial
    read_record(out / f"{trained['runs'][0].id}.json")


def test_reexport_of_an_imported_run_is_byte_identical(trained, imported, tmp_path):
    store, _ = imported
    out = tmp_path / "again"
    res = export_runs([store / r.id for r in trained["runs"]], "smoke", out_dir=out)
    for r in res:
        assert (out / f"{r['run']}.json").read_bytes() == (trained["out"] / f"{r['run']}.json").read_bytes()
    again = export_runs([store / r.id for r in trained["runs"]], "smoke", out_dir=out)
    assert [r["written"] for r in again] == [False, False]  # unchanged records are not rewritten


def test_records_status_lists_records_and_their_evaluations(trained):
    unreg, sth = trained["runs"]
    missing = make_config("smoke", alpha=0.0, seed=77)
    st = records_status(trained["out"], [unreg.config, sth.config, missing, unreg.config])
    assert st["run"].tolist() == [unreg.id, sth.id, config_hash(missing)]
    assert st["has_record"].tolist() == [True, True, False]
    assert st["condition"].tolist() == ["unregularized", "S^Th", "unregularized"]
    assert st["n_evaluations"].tolist() == [5, 3, 0]
    assert any(k.startswith("boundary-") for k in st["evaluations"][0])
    assert len(records_status(trained["out"])) == 3
    assert records_status("paper", [missing])["has_record"].tolist() == [False]  # no folder yet: no records
    with pytest.raises(ConfigError, match="records"):
        records_status("no-such-profile-or-folder")


def test_drop_record_only_runs_leaves_trained_runs(trained, imported):
    store, _ = imported
    # a trained run (with best.pt) beside the record-only ones is never dropped
    shutil.copytree(trained["root"] / trained["runs"][0].id, store / "000000000000")
    cfg_dir = store / "000000000000"
    assert drop_record_only_runs(store, [trained["runs"][1].config]) == [trained["runs"][1].id]
    assert not (store / trained["runs"][1].id).exists()
    assert sorted(drop_record_only_runs(store)) == sorted([trained["runs"][0].id, trained["source"].id])
    assert (cfg_dir / "best.pt").is_file() and not [p for p in store.iterdir() if p.name.startswith(".") and p.is_dir()]


def test_a_record_that_gained_an_evaluation_replaces_its_older_import(trained, tmp_path, monkeypatch):
    """A seed's records are published with their metrics first and their evaluations later: a store that
    imported the first version follows the committed record (import_records and import_for), whole; trained
    runs are never touched."""
    out = tmp_path / "records"
    out.mkdir()
    run = trained["runs"][0]
    src = trained["out"] / f"{run.id}.json"
    data = json.loads(src.read_text())
    early = dict(data, evaluations=[])
    (out / src.name).write_text(json.dumps(early))
    store = tmp_path / "store"
    assert [r["status"] for r in import_records(out, runs_dir=store)] == ["imported"]
    assert json.loads((store / run.id / RECORD_ONLY).read_text())["evaluations"] == []
    assert [r["status"] for r in import_records(out, runs_dir=store)] == ["present"]
    (out / src.name).write_text(src.read_text())  # the record gains its evaluations
    assert [r["status"] for r in import_records(out, runs_dir=store)] == ["updated"]
    keys = json.loads((store / run.id / RECORD_ONLY).read_text())["evaluations"]
    assert keys == [e["key"] for e in data["evaluations"]]
    assert sorted(p.stem for p in (store / run.id / "evals").glob("*.csv")) == sorted(keys)
    assert not [p for p in store.iterdir() if p.name.startswith(".")]  # no temporary folder left
    assert [r["status"] for r in import_records(out, runs_dir=trained["root"])] == ["present"]  # weights: kept
    # import_for, the pages' path: a config whose import is stale is imported again
    (out / src.name).write_text(json.dumps(early))
    monkeypatch.setattr(records, "published_record", lambda c: out / src.name if config_hash(c) == run.id else None)
    assert records.import_for([run.config], runs_dir=store) == [run.id]
    assert records.import_for([run.config], runs_dir=store) == []
    assert json.loads((store / run.id / RECORD_ONLY).read_text())["evaluations"] == []
    # runs_for, what a page calls (e.g. papermill on one notebook after a pull): a stale import it already has
    # in the store is refreshed too, not only the runs the store lacks
    from pixelreg.experiment.sweep import runs_for
    (out / src.name).write_text(src.read_text())
    monkeypatch.setenv("PIXELREG_TRAIN", "0")
    got = runs_for([run.config], runs_dir=store, progress=False)
    assert [r.id for r in got] == [run.id]
    assert json.loads((store / run.id / RECORD_ONLY).read_text())["evaluations"] == keys
