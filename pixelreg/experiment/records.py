"""Published run records: a light JSON copy of a finished run, committed under ``data/results/<profile>/``.

A record holds what the book's pages read from a run, and no checkpoint: the config, the per-epoch metrics,
the provenance (commit, versions, device, wall time; the training precision is a config field), every
cached evaluation of the run with its exact cache key, and the evaluation tensors next to them (the
boundary-attack perturbations δ). :func:`export_runs` writes records; :func:`import_records` turns each record
back into a *record-only* run directory of the run store, with every cache file exactly where
:func:`pixelreg.experiment.runs.cached_table` and :func:`pixelreg.robustness.evaluate.boundary_distances` look, so the figures read
the published numbers without training or evaluating. An evaluation that is not in the record needs the
model: :meth:`pixelreg.experiment.runs.Run.load_model` then raises :class:`RecordOnlyRunError`, naming the run, the
evaluation and how to retrain.

File: ``<results>/<profile>/<run hash>.json``, plain JSON (``indent=1``, sorted keys), schema version 1::

    schema            "pixelreg.run-record"
    schema_version    1
    run               the config hash = the run directory's name = the file name
    profile           the profile the run was exported under (smoke, cpu, full, paper)
    config            TrainConfig.to_dict() (it must hash to ``run``)
    metrics           metrics.json: one dict per epoch
    provenance        provenance.json: git commit, package versions, device, threads, wall time, best epoch ...
    evaluations       one entry per cached evaluation, sorted by key:
        key           the cache file stem ``<name>-<params_hash(params)>`` (evals/<key>.csv and .json)
        name          e.g. "acc-gaussian", "acc-fgsm", "boundary"
        params        the cache parameters, as cached_table hashed them
        csv           the cached CSV, one string per line (joined with "\\n" it is the file, byte for byte)
        csv_sha256    of the CSV bytes
        tensors       (only where the evaluation keeps one) file name -> tensor:
            dtype "float16", restore_dtype (e.g. "float32"), shape, encoding "zlib+base64",
            sha256 (of the float16 bytes), data
    exported_with     {"pixelreg": version}

Why plain JSON rather than gzip: records are committed and re-exported, and plain JSON diffs line by line
(a changed accuracy is a one-line diff; CSV tables are stored as lists of lines for that reason); git
compresses its objects itself (zlib, plus deltas between versions in packs), which gzip would defeat. The
only bulky part, the perturbations, is compressed inside the record (zlib over float16) and base64-encoded.

Why float16 perturbations: the boundary attack's cache needs its δ file next to the table
(``boundary_distances`` recomputes, and loads the model, when the ``.pt`` is missing), and the Fig. 4 page
computes spectra from δ of the strong attack inside ``fig4_data``, with the cutoff as a page parameter, so
there is no spectrum cache to store instead. float16 keeps 11 significant bits: the rounding error is at
most 2^-12 (2.4e-4) for |δ| <= 1 and 2^-11 of |δ| relative, which moves normalised power spectra by about
1e-3 relative; the MSE column of the boundary table is stored exactly in the CSV. Importing and exporting
again gives the same bytes (float16 -> float32 -> float16 is exact). A
full-profile record (32 boundary images: 5 + 1 repeats) is about 0.4 MB; no record may exceed
``MAX_RECORD_BYTES`` (1 MB): the export fails, naming the run, and writes nothing.
"""
from __future__ import annotations

import base64
import functools
import io
import json
import math
import os
import re
import shutil
import tempfile
import zlib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Iterable

import numpy as np
import pandas as pd
import torch

from pixelreg.experiment.config import PROFILES, TrainConfig, config_hash
from pixelreg.errors import ConfigError, RecordOnlyRunError
from pixelreg.hashing import content_hash
from pixelreg.experiment.runs import (RECORD_ONLY, REPO_ROOT, Run, RunStore, atomic_torch_save, atomic_write_bytes,
                   atomic_write_json, params_hash, read_cache_entry, record_only_error, write_cache_entry)

SCHEMA = "pixelreg.run-record"
SCHEMA_VERSION = 1
MAX_RECORD_BYTES = 1_000_000  # per record file (the repository's limit for committed results)
RESULTS_DIR = REPO_ROOT / "data" / "results"
TENSOR_DTYPE = "float16"
TENSOR_ENCODING = "zlib+base64"

_RUN_RE = re.compile(r"^[0-9a-f]{12}$")
_KEY_RE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]*-[0-9a-f]{12}$")  # a plain file stem: no folders, no dot-files
_FLOAT_DTYPES = {"float16": torch.float16, "bfloat16": torch.bfloat16, "float32": torch.float32,
                 "float64": torch.float64}


# --------------------------------------------------------------------------------------------------------
# locations and names

def records_dir(profile_or_dir: str | os.PathLike) -> Path:
    """The records folder: ``data/results/<profile>`` for a profile name, else the given folder."""
    if isinstance(profile_or_dir, str) and profile_or_dir in PROFILES:
        return RESULTS_DIR / profile_or_dir
    p = Path(profile_or_dir)
    if p.is_dir():
        return p
    raise ConfigError("records", str(profile_or_dir),
                      f"a profile name ({', '.join(PROFILES)}) or an existing folder of run records")


def tensor_file_name(name: str, params: dict) -> str:
    """The tensor file an evaluation keeps beside its table: ``evals/<name>-<sha256(params)[:12]>.pt``.

    This is the name :func:`pixelreg.robustness.evaluate.boundary_distances` gives its perturbations δ (a JSON of the
    parameters with default separators, not the compact one of :func:`pixelreg.experiment.runs.params_hash`).
    """
    return f"{name}-{content_hash(params, compact=False)}.pt"


def _display(path: Path) -> str:
    path = Path(path).resolve()
    try:
        return str(path.relative_to(REPO_ROOT))
    except ValueError:
        return str(path)


def _sha256(data: bytes) -> str:
    return content_hash(data, length=None)


def encode_record(record: dict) -> bytes:
    return (json.dumps(record, indent=1, sort_keys=True) + "\n").encode()


# --------------------------------------------------------------------------------------------------------
# tensors

def encode_tensor(t: torch.Tensor) -> dict:
    """A floating tensor as float16, zlib-compressed and base64-encoded, with its shape and dtype."""
    if not isinstance(t, torch.Tensor) or not t.is_floating_point():
        raise ConfigError("tensor", type(t).__name__, "a floating-point tensor")
    t = t.detach().cpu()
    h = t.to(torch.float16)
    if not torch.equal(torch.isfinite(t), torch.isfinite(h)):
        raise ConfigError("tensor", f"max |value| {float(t[torch.isfinite(t)].abs().max()):g}",
                          "values within float16's range (|x| < 65504)")
    raw = h.numpy().astype("<f2").tobytes()
    restore = str(t.dtype).removeprefix("torch.")
    return dict(dtype=TENSOR_DTYPE, restore_dtype=restore, shape=list(t.shape), encoding=TENSOR_ENCODING,
                sha256=_sha256(raw), data=base64.b64encode(zlib.compress(raw, 9)).decode("ascii"))


def decode_tensor(entry: dict) -> torch.Tensor:
    """Inverse of :func:`encode_tensor` (raises ValueError/KeyError/zlib.error on a damaged entry)."""
    if entry.get("dtype") != TENSOR_DTYPE or entry.get("encoding") != TENSOR_ENCODING:
        raise ValueError(f"dtype {entry.get('dtype')!r} / encoding {entry.get('encoding')!r} "
                         f"(expected {TENSOR_DTYPE} / {TENSOR_ENCODING})")
    shape = entry["shape"]
    if not isinstance(shape, list) or not all(isinstance(s, int) and s >= 0 for s in shape):
        raise ValueError(f"shape {shape!r}")
    restore = _FLOAT_DTYPES.get(entry.get("restore_dtype"))
    if restore is None:
        raise ValueError(f"restore_dtype {entry.get('restore_dtype')!r}")
    raw = zlib.decompress(base64.b64decode(entry["data"], validate=True))
    if len(raw) != 2 * math.prod(shape):
        raise ValueError(f"{len(raw)} bytes for shape {shape}")
    if _sha256(raw) != entry["sha256"]:
        raise ValueError("sha256 does not match the data")
    return torch.from_numpy(np.frombuffer(raw, dtype="<f2").astype(np.float16).reshape(shape).copy()).to(restore)


# --------------------------------------------------------------------------------------------------------
# export

def _as_run(run: Any) -> Run:
    if isinstance(run, Run):
        return run
    if isinstance(run, (str, os.PathLike)):
        return Run.open(run)
    raise ConfigError("runs", repr(run), "Run objects or run directories")


def build_record(run: Run, profile: str) -> tuple[dict, list[str]]:
    """The record of a finished run, and the names of the files of ``evals/`` it leaves out (unfinished
    evaluations, lock files, tensors whose table is missing)."""
    if not run.finished:
        raise ConfigError("run", run.id, f"a finished run to export ({run.dir} has no DONE marker)")
    evals = run.dir / "evals"
    files = sorted(p.name for p in evals.iterdir() if p.is_file()) if evals.is_dir() else []
    used: set[str] = set()
    entries = []
    for name in files:
        if not name.endswith(".json") or name.startswith("."):
            continue
        key = name[:-5]
        csv = evals / f"{key}.csv"
        if not csv.is_file():  # a computation that never finished (the params are written first)
            continue
        if not _KEY_RE.match(key):
            raise ConfigError("evaluation", str(evals / name), "a cache file named <name>-<12 hex digits>.json")
        try:
            params, sha = read_cache_entry(evals / name)
        except ValueError as e:
            raise ConfigError("evaluation", str(evals / name), f"a JSON of cache parameters ({e})") from e
        ev_name, _, digest = key.rpartition("-")
        if params_hash(params) != digest:
            raise ConfigError("evaluation", str(evals / name),
                              f"cache parameters that hash to {digest} (they hash to {params_hash(params)})")
        text = csv.read_bytes()
        if sha is not None and _sha256(text) != sha:
            raise ConfigError("evaluation", str(csv), "a cached table that matches its checksum (it was damaged "
                              "after it was computed; delete it and its .json to recompute it)")
        entry: dict[str, Any] = dict(key=key, name=ev_name, params=params, csv=text.decode("utf-8").split("\n"),
                                     csv_sha256=_sha256(text))
        used.update({name, csv.name})
        pt = evals / tensor_file_name(ev_name, params)
        if pt.is_file():
            t = torch.load(pt, map_location="cpu", weights_only=True)
            try:
                entry["tensors"] = {pt.name: encode_tensor(t)}
            except ConfigError as e:
                raise ConfigError("tensor", str(pt), e.allowed) from e
            used.add(pt.name)
        entries.append(entry)
    from pixelreg import __version__

    record = dict(schema=SCHEMA, schema_version=SCHEMA_VERSION, run=run.id, profile=profile,
                  config=run.config.to_dict(), metrics=run.metrics, provenance=run.provenance,
                  evaluations=sorted(entries, key=lambda e: e["key"]), exported_with={"pixelreg": __version__})
    left_out = [f for f in files if f not in used and not f.endswith(".lock") and not f.startswith(".")]
    return record, left_out


def _largest_parts(record: dict) -> str:
    parts = []
    for e in record["evaluations"]:
        parts.append((len(json.dumps(e)), e["key"] + (" (with tensors)" if "tensors" in e else "")))
    parts.append((len(json.dumps(record["metrics"])), "metrics"))
    parts.sort(reverse=True)
    return ", ".join(f"{what} {size / 1e3:.0f} kB" for size, what in parts[:3])


def export_runs(runs: Run | str | os.PathLike | Iterable[Run | str | os.PathLike], profile: str,
                out_dir: str | os.PathLike | None = None, max_bytes: int = MAX_RECORD_BYTES) -> list[dict]:
    """Write one record per finished run to ``out_dir`` (default ``data/results/<profile>/``).

    Every record is built and checked before any is written: an unfinished run or a record larger than
    ``max_bytes`` raises ConfigError naming the run, and nothing is written. Each file is written atomically;
    a record whose bytes have not changed is left untouched.

    Returns:
        one dict per run: run, path, bytes, evaluations (their keys), written (False = unchanged),
        left_out (files of the run's evals/ not in the record).
    """
    if profile not in PROFILES:
        raise ConfigError("profile", profile, f"one of {', '.join(PROFILES)}")
    if isinstance(runs, (Run, str, os.PathLike)):
        runs = [runs]
    out = Path(out_dir) if out_dir is not None else RESULTS_DIR / profile
    built = []
    for run in dict.fromkeys(_as_run(r) for r in runs):
        record, left_out = build_record(run, profile)
        blob = encode_record(record)
        if len(blob) > max_bytes:
            raise ConfigError("record", run.id, f"a record of at most {max_bytes:,} bytes; run {run.id}'s would be "
                              f"{len(blob):,} bytes (largest parts: {_largest_parts(record)}). Nothing was "
                              f"exported. Evaluate fewer boundary images, or export without that evaluation")
        built.append((run, record, blob, left_out))
    results = []
    for run, record, blob, left_out in built:
        path = out / f"{run.id}.json"
        unchanged = path.is_file() and path.read_bytes() == blob
        if not unchanged:
            atomic_write_bytes(path, blob)
        results.append(dict(run=run.id, path=path, bytes=len(blob), written=not unchanged,
                            evaluations=[e["key"] for e in record["evaluations"]], left_out=left_out))
    return results


# --------------------------------------------------------------------------------------------------------
# reading and import

@dataclass
class Record:
    """A validated record; ``tables`` maps cache key -> CSV bytes, ``tensors`` file name -> tensor."""

    path: Path
    run: str
    profile: str
    config: TrainConfig
    data: dict
    sha256: str
    tables: dict[str, bytes] = field(default_factory=dict)
    tensors: dict[str, torch.Tensor] = field(default_factory=dict)

    @property
    def evaluations(self) -> list[str]:
        return [e["key"] for e in self.data["evaluations"]]


def read_record(path: str | os.PathLike, decode: bool = True) -> Record:
    """Read and check a record; ``decode=False`` skips decoding the tensors (for listings).

    Raises:
        ConfigError naming the file: not JSON, an unknown schema or version, a config that does not hash to
        the run, a table or tensor whose checksum fails, a cache key that is not a plain file name.
    """
    path = Path(path)

    def bad(what: str) -> ConfigError:
        return ConfigError("record", str(path), f"a pixelreg run record ({SCHEMA} version {SCHEMA_VERSION}); {what}. "
                           f"Re-export it from its run (pixelreg.experiment.records.export_runs) or delete it")

    try:
        raw = path.read_bytes()
        data = json.loads(raw)
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as e:
        raise bad(f"it cannot be read as JSON: {e}") from e
    if not isinstance(data, dict) or data.get("schema") != SCHEMA:
        raise bad(f"its schema is {data.get('schema') if isinstance(data, dict) else type(data).__name__!r}")
    if data.get("schema_version") != SCHEMA_VERSION:
        raise bad(f"its schema_version is {data.get('schema_version')!r}, which this version of pixelreg does not "
                  f"know (update pixelreg if the record is newer)")
    for key, typ in (("run", str), ("profile", str), ("config", dict), ("metrics", list), ("provenance", dict),
                     ("evaluations", list)):
        if not isinstance(data.get(key), typ):
            raise bad(f"field {key!r} is missing or not a {typ.__name__}")
    run = data["run"]
    if not _RUN_RE.match(run) or path.stem != run:
        raise bad(f"its run {run!r} is not a 12-digit hash equal to the file name")
    try:
        config = TrainConfig.from_dict(data["config"])
    except (ConfigError, TypeError) as e:
        raise bad(f"its config is not a valid TrainConfig here ({e})") from e
    if config_hash(config) != run:
        raise bad(f"its config hashes to {config_hash(config)}, not {run} (the config's fields or their defaults "
                  f"changed since the export)")
    rec = Record(path, run, data["profile"], config, data, _sha256(raw))
    seen_files = set()
    for i, e in enumerate(data["evaluations"]):
        where = f"evaluation {i}"
        if not isinstance(e, dict) or not all(k in e for k in ("key", "name", "params", "csv", "csv_sha256")):
            raise bad(f"{where} lacks one of key, name, params, csv, csv_sha256")
        key, params = e["key"], e["params"]
        if not isinstance(key, str) or not _KEY_RE.match(key) or not isinstance(params, dict):
            raise bad(f"{where} has key {key!r}, not a plain <name>-<hash> file stem, or params that are not a dict")
        if key != f"{e['name']}-{params_hash(params)}":
            raise bad(f"{where}: key {key} does not match its name and params (they give "
                      f"{e['name']}-{params_hash(params)})")
        if key in rec.tables:
            raise bad(f"evaluation {key} appears twice")
        if not isinstance(e["csv"], list) or not all(isinstance(s, str) for s in e["csv"]):
            raise bad(f"evaluation {key}: csv is not a list of lines")
        text = "\n".join(e["csv"]).encode("utf-8")
        if _sha256(text) != e["csv_sha256"]:
            raise bad(f"evaluation {key}: the table does not match its checksum (edited or damaged)")
        rec.tables[key] = text
        tensors = e.get("tensors", {})
        if not isinstance(tensors, dict):
            raise bad(f"evaluation {key}: tensors is not a dict")
        for fname, t in tensors.items():
            if fname != tensor_file_name(e["name"], params) or fname in seen_files:
                raise bad(f"evaluation {key}: tensor file {fname!r} is not the one its params name "
                          f"({tensor_file_name(e['name'], params)})")
            seen_files.add(fname)
            if not isinstance(t, dict):
                raise bad(f"evaluation {key}: tensor {fname} is not a dict")
            if decode:
                try:
                    rec.tensors[fname] = decode_tensor(t)
                except (KeyError, ValueError, TypeError, zlib.error) as err:
                    raise bad(f"evaluation {key}: tensor {fname} cannot be decoded ({err})") from err
    return rec


def _materialise(store: RunStore, rec: Record) -> str:
    """Write ``rec`` as a record-only run directory; return "imported", "present", "unfinished" or "busy"."""
    from filelock import Timeout

    final = store.root / rec.run
    lock = store.lock(rec.config)
    try:
        lock.acquire(timeout=0)
    except Timeout:
        return "busy"  # a process holds the run's lock: it is training or importing this run now
    try:
        stale = _stale_import(final, rec.sha256)
        if final.exists() and not stale:
            return "present" if (final / "DONE").is_file() else "unfinished"
        tmp = Path(tempfile.mkdtemp(dir=store.root, prefix=f".{rec.run}.record."))
        try:
            evals = tmp / "evals"
            for e in rec.data["evaluations"]:
                write_cache_entry(evals, e["key"], e["params"], rec.tables[e["key"]])
            for fname, t in rec.tensors.items():
                atomic_torch_save(evals / fname, t)
            atomic_write_json(tmp / "metrics.json", rec.data["metrics"])
            atomic_write_json(tmp / "provenance.json", rec.data["provenance"])
            atomic_write_json(tmp / RECORD_ONLY, dict(record=_display(rec.path), record_sha256=rec.sha256,
                                                      profile=rec.profile, evaluations=rec.evaluations))
            atomic_write_bytes(tmp / "DONE", b"")
            atomic_write_json(tmp / "config.json", rec.config.to_dict())  # last: RunStore.runs() lists by it
            os.chmod(tmp, 0o755)
            if stale:  # the record changed since its import (it gained evaluations): swap the whole folder
                old_dir = Path(tempfile.mkdtemp(dir=store.root, prefix=f".{rec.run}.stale."))
                os.replace(final, old_dir / "run")
                os.replace(tmp, final)
                shutil.rmtree(old_dir, ignore_errors=True)
            else:
                os.replace(tmp, final)
        except BaseException:
            shutil.rmtree(tmp, ignore_errors=True)
            raise
    finally:
        lock.release()
    return "updated" if stale else "imported"


def _file_sha256(path: Path) -> str:
    """The sha256 of a record file, hashed once per (path, size, modification time): every page's runs_for asks
    it of every record-only run."""
    st = path.stat()
    return _file_sha256_cached(str(path.resolve()), st.st_size, st.st_mtime_ns)


@functools.lru_cache(maxsize=4096)
def _file_sha256_cached(path: str, size: int, mtime_ns: int) -> str:
    return _sha256(Path(path).read_bytes())


def _stale_import(run_dir: Path, record_sha256: str | None = None, record: Path | None = None) -> bool:
    """Whether ``run_dir`` is a record-only run imported from another version of its record than the one
    committed now (``record_sha256``, or the sha256 of the file ``record``): a record published with its
    metrics first gains its evaluations later, and a store imported before then must follow it."""
    marker = run_dir / RECORD_ONLY
    if not marker.is_file() or (run_dir / "best.pt").exists() or (run_dir / "checkpoint.pt").exists():
        return False
    try:
        had = json.loads(marker.read_text()).get("record_sha256")
        now = record_sha256 if record_sha256 is not None else _file_sha256(Path(record))
    except (OSError, ValueError, AttributeError, TypeError):
        return False  # a damaged marker: runs_for says why when the run is read
    return had != now


def import_records(profile_or_dir: str | os.PathLike, runs_dir: str | os.PathLike | None = None) -> list[dict]:
    """Materialise every record of a profile (or folder) as a record-only run in the run store.

    All records are read and checked first; a damaged or unknown one raises ConfigError naming its file,
    and nothing is imported. Then each run appears atomically (built in a hidden temporary folder of the
    store and renamed into place), so an interruption leaves whole runs or none. A run already in the store
    is left alone: finished ("present"), unfinished ("unfinished": delete it to use the record instead), or
    locked by a process training it ("busy"). A profile without a records folder imports nothing.

    Returns:
        one dict per record: run, record (path), status ("imported", "updated": re-imported because its record
        changed since its import, "present", "unfinished", "busy").
    """
    folder = records_dir(profile_or_dir)
    files = sorted(p for p in folder.glob("*.json") if not p.name.startswith(".")) if folder.is_dir() else []
    store = RunStore(runs_dir)
    # a finished run is left alone unless it is a record-only import of another version of its record, so a
    # rebuild hashes the record files of such imports (bytes, not parsed) and parses none of the others
    present = [p for p in files if (store.root / p.stem / "DONE").is_file()
               and not _stale_import(store.root / p.stem, record=p)]
    records = [read_record(p) for p in files if p not in present]
    if isinstance(profile_or_dir, str) and profile_or_dir in PROFILES:
        for rec in records:
            if rec.profile != profile_or_dir:
                raise ConfigError("record", str(rec.path), f"a record of profile {profile_or_dir!r} in "
                                  f"{_display(folder)}; it says profile {rec.profile!r}")
    if records:
        store.root.mkdir(parents=True, exist_ok=True)
    out = [dict(run=p.stem, record=p, status="present") for p in present]
    out += [dict(run=rec.run, record=rec.path, status=_materialise(store, rec)) for rec in records]
    return sorted(out, key=lambda r: r["run"])


def published_record(config: TrainConfig) -> Path | None:
    """The published record of ``config``'s run (``data/results/<profile>/<hash>.json`` of any profile), or None."""
    h = config_hash(config)
    return next((p for p in sorted(RESULTS_DIR.glob(f"*/{h}.json")) if p.is_file()), None)


def import_for(configs: Iterable[TrainConfig], runs_dir: str | os.PathLike | None = None) -> list[str]:
    """Import the published records of those ``configs`` whose run the store lacks, or holds as a record-only run
    imported from an older version of its record; return the imported run ids.

    How every entry point (a page's runs, ``pixelreg train``, a sweep) serves a run that the records hold
    without training it. Each record is read and checked (:func:`read_record`) before its run appears.
    """
    store = RunStore(runs_dir)
    imported = []
    configs = list(configs)
    missing = set(store.missing(configs))
    for c in dict.fromkeys(configs):
        path = published_record(c)
        if path is None or (c not in missing and not _stale_import(store.path(c), record=path)):
            continue
        rec = read_record(path)
        store.root.mkdir(parents=True, exist_ok=True)
        if _materialise(store, rec) in ("imported", "updated"):
            imported.append(rec.run)
    return imported


def drop_record_only_runs(runs_dir: str | os.PathLike | None = None,
                          configs: Iterable[TrainConfig] | None = None) -> list[str]:
    """Delete record-only run directories (all, or those of ``configs``) so that training redoes them.

    Only directories with the RECORD_ONLY marker and no checkpoint are removed. Returns their run ids.
    """
    store = RunStore(runs_dir)
    if configs is None:
        candidates = store.runs()
    else:
        candidates = [r for c in dict.fromkeys(configs) if (r := store.get(c)) is not None]
    removed = []
    for run in candidates:
        if not (run.dir / RECORD_ONLY).is_file() or (run.dir / "best.pt").exists() \
                or (run.dir / "checkpoint.pt").exists():
            continue
        with store.lock(run.config):
            trash = Path(tempfile.mkdtemp(dir=store.root, prefix=f".{run.id}.dropped."))
            os.replace(run.dir, trash / run.id)  # out of sight first, then deleted
            shutil.rmtree(trash)
        removed.append(run.id)
    return removed


# --------------------------------------------------------------------------------------------------------
# status and the error of a record-only run

def records_status(profile: str | os.PathLike, configs: Iterable[TrainConfig] | None = None) -> pd.DataFrame:
    """Which runs have a record, and which evaluations each record holds.

    Args:
        profile: a profile name (``data/results/<profile>``) or a folder of records.
        configs: the runs to ask about (one row each, in order, duplicates dropped); None = every record.
    Returns:
        DataFrame with columns run, has_record, task, condition, seed, n_evaluations, evaluations (list of
        cache keys), bytes, problem (why a record could not be read, else None).
    """
    from pixelreg.experiment.config import condition_label

    folder = records_dir(profile)
    found: dict[str, dict] = {}
    for p in sorted(folder.glob("*.json")) if folder.is_dir() else []:
        row: dict[str, Any] = dict(run=p.stem, has_record=True, bytes=p.stat().st_size, problem=None)
        try:
            rec = read_record(p, decode=False)
            row.update(config=rec.config, evaluations=rec.evaluations)
        except ConfigError as e:
            row.update(has_record=False, config=None, evaluations=[], problem=str(e))
        found[p.stem] = row
    if configs is None:
        rows = list(found.values())
    else:
        rows = []
        for c in dict.fromkeys(configs):
            h = config_hash(c)
            rows.append({**found.get(h, dict(run=h, has_record=False, evaluations=[], bytes=None, problem=None)),
                         "config": c})
    out = []
    for r in rows:
        c = r.get("config")
        out.append(dict(run=r["run"], has_record=r["has_record"], task=getattr(c, "task", None),
                        condition=condition_label(c) if c is not None else None, seed=getattr(c, "seed", None),
                        n_evaluations=len(r["evaluations"]), evaluations=r["evaluations"], bytes=r["bytes"],
                        problem=r["problem"]))
    return pd.DataFrame(out, columns=["run", "has_record", "task", "condition", "seed", "n_evaluations",
                                      "evaluations", "bytes", "problem"])


__all__ = ["SCHEMA", "SCHEMA_VERSION", "MAX_RECORD_BYTES", "RESULTS_DIR", "RecordOnlyRunError", "Record",
           "records_dir", "tensor_file_name", "encode_tensor", "decode_tensor", "build_record", "export_runs",
           "read_record", "import_records", "published_record", "import_for", "write_table_record",
           "read_table_record", "drop_record_only_runs", "records_status", "record_only_error"]


# --------------------------------------------------------------------------------------------------------
# table records: computed tables that are not evaluations of one run (Fig. 1's simulated-V1 analysis)

TABLE_SCHEMA = "pixelreg.table-record"
TABLE_SCHEMA_VERSION = 1


def _encode_table(df: pd.DataFrame, binary: bool) -> dict:
    """One table: ``csv`` lines (exact: pandas writes floats with their shortest round-trip repr), or, for a
    large numeric table (``binary``), each column as float32 / int32 bytes, zlib-compressed and base64-encoded."""
    if not binary:
        text = df.to_csv(index=False).encode()
        return dict(format="csv", csv=text.decode().split("\n"), sha256=_sha256(text))
    cols = {}
    for name in df.columns:
        kind = "int32" if pd.api.types.is_integer_dtype(df[name]) else "float32"
        raw = df[name].to_numpy().astype("<i4" if kind == "int32" else "<f4").tobytes()
        cols[str(name)] = dict(dtype=kind, sha256=_sha256(raw),
                               data=base64.b64encode(zlib.compress(raw, 9)).decode("ascii"))
    return dict(format="columns", rows=len(df), columns=cols)


def _decode_table(entry: dict) -> pd.DataFrame:
    """Inverse of :func:`_encode_table`; ValueError (or KeyError, zlib.error) on a damaged entry."""
    if entry.get("format") == "csv":
        text = "\n".join(entry["csv"]).encode()
        if _sha256(text) != entry["sha256"]:
            raise ValueError("a table does not match its checksum")
        return pd.read_csv(io.BytesIO(text))
    if entry.get("format") != "columns":
        raise ValueError(f"table format {entry.get('format')!r}")
    out = {}
    for name, col in entry["columns"].items():
        raw = zlib.decompress(base64.b64decode(col["data"], validate=True))
        if _sha256(raw) != col["sha256"] or len(raw) != 4 * entry["rows"]:
            raise ValueError(f"column {name} does not match its checksum or length")
        out[name] = np.frombuffer(raw, dtype="<i4" if col["dtype"] == "int32" else "<f4").copy()
    return pd.DataFrame(out)


def write_table_record(path: str | os.PathLike, kind: str, key: str, params: dict,
                       tables: dict[str, pd.DataFrame], binary: Iterable[str] = (),
                       meta: dict[str, Any] | None = None, max_bytes: int | None = MAX_RECORD_BYTES) -> int:
    """Write computed tables as one checksummed JSON file (atomically); return its size in bytes.

    ``binary`` names the large numeric tables stored as float32/int32 columns (the others are exact CSV);
    ``meta`` is stored as JSON, values exact. A file larger than ``max_bytes`` raises ConfigError and nothing
    is written (None: no limit, for the run store's caches). Read back with :func:`read_table_record`.
    """
    binary = set(binary)
    record = dict(schema=TABLE_SCHEMA, schema_version=TABLE_SCHEMA_VERSION, kind=kind, key=key, params=params,
                  meta=meta or {}, tables={k: _encode_table(v, k in binary) for k, v in tables.items()})
    from pixelreg import __version__

    record["exported_with"] = {"pixelreg": __version__}
    blob = (json.dumps(record, indent=1, sort_keys=True, default=str) + "\n").encode()
    if max_bytes is not None and len(blob) > max_bytes:
        raise ConfigError("record", str(path), f"a table record of at most {max_bytes:,} bytes; this one would be "
                          f"{len(blob):,} bytes")
    atomic_write_bytes(Path(path), blob)
    return len(blob)


def read_table_record(path: str | os.PathLike, key: str | None = None) -> tuple[dict, dict[str, pd.DataFrame]]:
    """(meta, tables) of a table record written by :func:`write_table_record`, every checksum verified.

    Raises:
        ConfigError naming the file: unreadable, another schema or version, a key other than ``key``, or a
        table that does not match its checksum.
    """
    path = Path(path)
    try:
        data = json.loads(path.read_bytes())
        if data.get("schema") != TABLE_SCHEMA or data.get("schema_version") != TABLE_SCHEMA_VERSION:
            raise ValueError(f"schema {data.get('schema')!r} version {data.get('schema_version')!r}")
        if key is not None and data.get("key") != key:
            raise ValueError(f"key {data.get('key')!r}, expected {key!r}")
        tables = {k: _decode_table(v) for k, v in data["tables"].items()}
    except (OSError, ValueError, KeyError, TypeError, AttributeError, zlib.error) as e:
        raise ConfigError("record", str(path), f"a {TABLE_SCHEMA} version {TABLE_SCHEMA_VERSION} file whose "
                          f"checksums match ({type(e).__name__}: {e}); delete it to recompute") from e
    return data.get("meta", {}), tables
