"""The run store's evaluation cache verifies what it serves: a damaged CSV is never returned; it is recomputed
(or re-imported from the published record of a record-only run) with one warning line naming it."""
from __future__ import annotations

import hashlib
import json

import pandas as pd
import pytest

from pixelreg.experiment.runs import RECORD_ONLY, cached_lookup, cached_table, params_hash

PARAMS = {"attack": "GaussianNoise(clip='bounds')", "epsilons": [0.0, 0.5], "data": "x", "seed": 0}
TABLE = pd.DataFrame({"epsilon": [0.0, 0.5], "accuracy": [0.875, 0.25]})


def _entry(run_dir):
    stem = f"acc-gaussian-{params_hash(PARAMS)}"
    return run_dir / "evals" / f"{stem}.csv", run_dir / "evals" / f"{stem}.json"


def _counting(table):
    calls = []

    def compute():
        calls.append(1)
        return table.copy()
    return compute, calls


def test_entry_carries_the_checksum_of_its_csv(tmp_path):
    compute, calls = _counting(TABLE)
    cached_table(tmp_path, "acc-gaussian", PARAMS, compute)
    csv, js = _entry(tmp_path)
    entry = json.loads(js.read_text())
    assert entry == {"params": PARAMS, "csv_sha256": hashlib.sha256(csv.read_bytes()).hexdigest()}
    pd.testing.assert_frame_equal(cached_table(tmp_path, "acc-gaussian", PARAMS, compute), TABLE)
    assert len(calls) == 1  # served from the cache the second time


@pytest.mark.parametrize("damage", ["truncate", "edit"])
def test_a_damaged_entry_is_recomputed_with_one_warning(tmp_path, capsys, damage):
    compute, calls = _counting(TABLE)
    cached_table(tmp_path, "acc-gaussian", PARAMS, compute)
    csv, _ = _entry(tmp_path)
    data = csv.read_bytes()
    csv.write_bytes(data[: len(data) // 2] if damage == "truncate" else data.replace(b"0.25", b"0.95"))
    assert cached_lookup(tmp_path, "acc-gaussian", PARAMS) is None  # never served
    capsys.readouterr()
    got = cached_table(tmp_path, "acc-gaussian", PARAMS, compute)
    pd.testing.assert_frame_equal(got, TABLE)  # the recomputed table, not the damaged one
    assert len(calls) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and str(csv) in err[0] and "checksum" in err[0]
    assert csv.read_bytes() == data  # the entry is sound again
    pd.testing.assert_frame_equal(cached_lookup(tmp_path, "acc-gaussian", PARAMS), TABLE)


def test_an_entry_from_before_checksums_is_accepted_once_and_gains_its_checksum(tmp_path):
    csv, js = _entry(tmp_path)
    csv.parent.mkdir(parents=True)
    csv.write_bytes(TABLE.to_csv(index=False).encode())
    js.write_text(json.dumps(PARAMS))  # the old layout: the bare parameters
    pd.testing.assert_frame_equal(cached_lookup(tmp_path, "acc-gaussian", PARAMS), TABLE)
    assert json.loads(js.read_text())["csv_sha256"] == hashlib.sha256(csv.read_bytes()).hexdigest()


def _record_only_run(tmp_path, table_bytes):
    """A record-only run whose record holds the entry (as records.import_records leaves it)."""
    run = tmp_path / "runs" / "abc"
    stem = f"acc-gaussian-{params_hash(PARAMS)}"
    record = tmp_path / "record.json"
    record.write_text(json.dumps({"evaluations": [{"key": stem, "params": PARAMS, "csv": table_bytes.decode().split("\n"),
                                                   "csv_sha256": hashlib.sha256(table_bytes).hexdigest()}]}))
    (run / "evals").mkdir(parents=True)
    (run / RECORD_ONLY).write_text(json.dumps({"record": str(record)}))
    return run


def test_a_damaged_entry_of_a_record_only_run_is_reimported_from_its_record(tmp_path, capsys):
    good = TABLE.to_csv(index=False).encode()
    run = _record_only_run(tmp_path, good)
    csv, js = _entry(run)
    csv.write_bytes(good[:10])
    js.write_text(json.dumps({"params": PARAMS, "csv_sha256": hashlib.sha256(good).hexdigest()}))
    pd.testing.assert_frame_equal(cached_lookup(run, "acc-gaussian", PARAMS), TABLE)
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and str(csv) in err[0] and "record" in err[0]
    assert csv.read_bytes() == good


def test_an_old_entry_of_a_record_only_run_is_checked_against_its_record(tmp_path, capsys):
    good = TABLE.to_csv(index=False).encode()
    run = _record_only_run(tmp_path, good)
    csv, js = _entry(run)
    csv.write_bytes(good.replace(b"0.25", b"0.95"))  # damaged, and no checksum of its own
    js.write_text(json.dumps(PARAMS))
    pd.testing.assert_frame_equal(cached_lookup(run, "acc-gaussian", PARAMS), TABLE)
    assert "re-imported" in capsys.readouterr().err
    assert csv.read_bytes() == good


def test_fig1_tables_are_served_from_their_checksummed_cache_and_a_damaged_one_is_recomputed(tmp_path, capsys):
    from pixelreg.figures.fig1 import fig1_tables

    first = fig1_tables("smoke", cache_dir=tmp_path, n_boot=5, num_threads=1)
    (cached,) = tmp_path.glob("fig1-tables-*.json")
    again = fig1_tables("smoke", cache_dir=tmp_path, n_boot=5, num_threads=1)
    meta = dict(zip(again["meta"].parameter, again["meta"].value))
    assert meta["tables_from"] == str(cached) and meta["cache_hit"] is True
    pd.testing.assert_frame_equal(again["correlations"], first["correlations"])
    assert (again["pairs"]["predictor"] - first["pairs"]["predictor"]).abs().max() < 1e-6  # stored as float32
    cached.write_bytes(cached.read_bytes()[:1000])
    capsys.readouterr()
    third = fig1_tables("smoke", cache_dir=tmp_path, n_boot=5, num_threads=1)
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and str(cached) in err[0] and "damaged" in err[0]
    assert "tables_from" not in set(third["meta"].parameter)  # recomputed, and the cache rewritten
    pd.testing.assert_frame_equal(third["correlations"], first["correlations"])
    assert "tables_from" in set(fig1_tables("smoke", cache_dir=tmp_path, n_boot=5, num_threads=1)["meta"].parameter)


def test_the_published_fig1_tables_serve_the_full_page_without_computing(monkeypatch):
    from pixelreg.figures import fig1

    if not any(fig1.published_tables_dir("full").glob("fig1-*.json")):
        pytest.skip("Fig. 1's tables are not published")
    monkeypatch.setattr(fig1, "SimulatedV1", lambda *a, **k: pytest.fail("Fig. 1 recomputed"))
    for zero_dc in fig1.SIMULATIONS.values():
        t = fig1.fig1_tables("full", seed=0, zero_dc=zero_dc)  # the page's defaults
        meta = dict(zip(t["meta"].parameter, t["meta"].value))
        assert meta["tables_from"].startswith(str(fig1.published_tables_dir("full")))
        assert meta["zero_dc"] is zero_dc and meta["n_neurons"] == 1000 and len(t["pairs"]) == 20_000
