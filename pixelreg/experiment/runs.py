"""The run store: one directory per training config, named by the config's hash.

Layout of ``<root>/<hash>/``::

    config.json        the full TrainConfig (written once, when the run is created)
    checkpoint.pt      last completed epoch: model, regularizer, optimizer, best state, metrics (tensors only)
    best.pt            best-validation-loss weights (written when the run finishes)
    metrics.json       per-epoch metrics (rewritten after every epoch)
    provenance.json    git commit, package versions, device, wall time
    DONE               marker: the run finished
    evals/             cached evaluations (CSV per attack setting), perturbations
    RECORD_ONLY        marker: imported from a published record (pixelreg.experiment.records); no checkpoint

Every file is written to a temporary name and moved into place (``os.replace`` is atomic on POSIX), so a
reader never sees a half-written file. One lock file per run (``<root>/<hash>.lock``) serialises writers: a
second process asking for the same run waits, then reuses the finished run. A killed process releases its
lock (fcntl locks die with the process), and the next one resumes from ``checkpoint.pt``.
"""
from __future__ import annotations

import errno
import io
import json
import math
import os
import platform
import shutil
import subprocess
import sys
import tempfile
from contextvars import ContextVar
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable, Sequence

import pandas as pd
import torch
from filelock import FileLock

from pixelreg.experiment import atomic
from pixelreg.experiment.config import TrainConfig, config_hash, make_config
from pixelreg.errors import ConfigError, MissingRunsError, RecordOnlyRunError, StorageError
from pixelreg.hashing import content_hash
from pixelreg.experiment.config import NUM_CLASSES
from pixelreg.models import CIFAR_INPUT_SCALE, paper_resnet

REPO_ROOT = Path(__file__).resolve().parents[2]
RECORD_ONLY = "RECORD_ONLY"  # marker file of a run imported from a record (pixelreg.experiment.records): no best.pt


def training_allowed() -> bool:
    """False when ``$PIXELREG_TRAIN`` is ``0`` (the book's records mode): missing runs raise
    :class:`pixelreg.errors.MissingRunsError` instead of being trained."""
    return os.environ.get("PIXELREG_TRAIN", "1").strip().lower() not in ("0", "false", "no", "off")


def default_runs_dir() -> Path:
    """``$PIXELREG_RUNS_DIR`` if set, else ``<repo>/data/runs`` (git-ignored)."""
    env = os.environ.get("PIXELREG_RUNS_DIR")
    return Path(env).expanduser().resolve() if env else REPO_ROOT / "data" / "runs"


# Write failures the user can fix; anything else keeps its traceback.
_STORAGE_ERRNOS = {errno.ENOSPC: "no space left on device", errno.EDQUOT: "disk quota exceeded",
                   errno.EROFS: "read-only file system", errno.EACCES: "permission denied"}


def _storage_error(e: BaseException, path: Path, param: str = "runs_dir") -> StorageError | None:
    """A :class:`StorageError` naming ``path`` for a full disk, a quota, a read-only folder; else None."""
    if not isinstance(e, OSError) or e.errno not in _STORAGE_ERRNOS:
        return None
    reason = _STORAGE_ERRNOS[e.errno]
    if e.errno in (errno.ENOSPC, errno.EDQUOT):
        p = Path(path)
        while not p.exists() and p != p.parent:
            p = p.parent
        try:
            reason += f" ({shutil.disk_usage(p).free / 2**20:.1f} MiB free on that file system)"
        except OSError:
            pass
        fix = ("Free some disk space, or put the run store on another disk (--runs-dir or $PIXELREG_RUNS_DIR). "
               "Nothing was replaced and no partial file was left: files are written under a temporary name, "
               "then renamed")
    else:
        fix = "Choose a folder you can write to (the run store: --runs-dir or $PIXELREG_RUNS_DIR)"
    return StorageError(param, path, reason, fix)


def atomic_write_bytes(path: Path, data: bytes) -> None:
    """Write ``data`` to a temporary file next to ``path``, then rename it into place (:mod:`pixelreg.experiment.atomic`).

    Raises:
        StorageError: the disk is full, a quota is exceeded, or the folder is read-only or not ours; the
            temporary file is removed and ``path`` is left as it was.
    """
    path = Path(path)
    try:
        atomic.atomic_write_bytes(path, data)
    except OSError as e:
        err = _storage_error(e, path)
        if err is not None:
            raise err from e
        raise


def atomic_write_json(path: Path, obj: Any) -> None:
    atomic_write_bytes(path, (json.dumps(obj, indent=1, sort_keys=True, default=str) + "\n").encode())


def atomic_torch_save(path: Path, obj: Any) -> None:
    buf = io.BytesIO()
    torch.save(obj, buf)
    atomic_write_bytes(path, buf.getvalue())


def load_checkpoint(path: Path) -> dict:
    """Load a tensors-only checkpoint (``weights_only=True``); a corrupt file gives a clear error."""
    try:
        return torch.load(path, map_location="cpu", weights_only=True)
    except Exception as e:  # noqa: BLE001 - torch raises many types for a damaged file
        raise ConfigError("checkpoint", str(path), f"a readable tensors-only checkpoint; loading failed: {e}") from e


def provenance(device: str | torch.device) -> dict:
    """Git commit (and whether the tree was dirty), package versions, device, CPU kernels and torch threads of
    this process."""
    import numpy
    import torchvision

    device = torch.device(device)
    try:
        commit = subprocess.run(["git", "-C", str(REPO_ROOT), "rev-parse", "HEAD"], capture_output=True,
                                text=True, timeout=10).stdout.strip() or None
        dirty = bool(subprocess.run(["git", "-C", str(REPO_ROOT), "status", "--porcelain", "--untracked-files=no"],
                                    capture_output=True, text=True, timeout=10).stdout.strip())
    except (OSError, subprocess.SubprocessError):
        commit, dirty = None, None
    from pixelreg import __version__

    return {
        "git_commit": commit, "git_dirty": dirty, "pixelreg": __version__, "python": sys.version.split()[0],
        "torch": torch.__version__, "torchvision": torchvision.__version__, "numpy": numpy.__version__,
        "device": str(device), "device_name": torch.cuda.get_device_name(device) if device.type == "cuda"
        else platform.processor() or platform.machine(), "threads": torch.get_num_threads(),
        # the CPU kernels torch dispatched to ("AVX2", "AVX512"): float32 results differ in their last bits
        # between them, so a run retrained on another kind of CPU is not bit-identical to its record
        "cpu_capability": torch.backends.cpu.get_cpu_capability(),
    }


def weights_digest(state: dict) -> str:
    """sha256 (16 hex digits) over the (name, tensor bytes) pairs of a state dict, in order: which weights a
    run's evaluations were computed on (``provenance["weights_sha256"]``)."""
    return content_hash(*[part for k, v in state.items() for part in (k, v)], length=16)


def build_model(config) -> nn.Module:
    """The paper ResNet for a :class:`~pixelreg.experiment.config.TrainConfig` (inputs in [0, 1]; CIFAR scaling lives
    inside the model).

    Weights stay in the default (contiguous) layout: channels-last was 1.3x faster on this CPU but its
    convolution backward crashes (segfault, heap corruption) on 36x64 regularization images with
    torch 2.14.1 (BENCHMARKS.md), so it is not used.
    """
    return paper_resnet(
        config.arch,
        in_channels=3 if config.rgb else 1,
        num_classes=NUM_CLASSES[config.task],
        width=config.width,
        input_scale=CIFAR_INPUT_SCALE if config.task.startswith("cifar") else None,
    )


# ----------------------------------------------------------------------------------------------------
# failed runs

NONFINITE = "nonfinite-loss"  # the training loss became NaN or infinite (training stops after that epoch)
UNTRAINED = "untrained-selected"  # model selection kept the untrained epoch-0 state


def describe_failure(failure: dict | None) -> str:
    """One phrase for a failure record (None: "")."""
    if not failure:
        return ""
    if failure["reason"] == NONFINITE:
        at = f" at step {failure['step']}" if failure.get("step") is not None else ""
        return f"non-finite loss in epoch {failure['epoch']}{at}"
    return "model selection kept the untrained epoch-0 state (every epoch's validation loss was higher)"


def run_failure(metrics: list[dict], provenance: dict) -> dict | None:
    """The failure of a finished run, or None (the rule of :func:`train`, applied to any run or record).

    A run fails when its loss became non-finite or when model selection kept the untrained epoch-0 state.
    Runs trained since the rule exists carry ``failure`` in their provenance; for older runs it is derived
    from the per-epoch metrics (the first epoch with a non-finite training, regularization or validation
    loss; the step is then unknown) and the selected epoch.
    """
    if "failure" in provenance:
        return provenance["failure"]
    for m in metrics[1:]:
        vals = [m.get(k) for k in ("train_loss", "reg_loss", "valid_loss")]
        if any(v is not None and not math.isfinite(float(v)) for v in vals):
            return dict(reason=NONFINITE, epoch=m["epoch"], step=None)
    if provenance.get("best_epoch") == 0:
        return dict(reason=UNTRAINED, epoch=0, step=None)
    return None


@dataclass(frozen=True)
class Run:
    """A run directory. ``config`` is read from ``config.json``."""

    dir: Path
    config: TrainConfig

    @classmethod
    def open(cls, path: str | os.PathLike) -> "Run":
        path = Path(path)
        cfg = path / "config.json"
        if not cfg.is_file():
            raise ConfigError("run_dir", str(path), "a run directory containing config.json (printed by `pixelreg train`)")
        return cls(path, TrainConfig.from_dict(json.loads(cfg.read_text())))

    @property
    def id(self) -> str:
        return self.dir.name

    @property
    def finished(self) -> bool:
        return (self.dir / "DONE").is_file()

    @property
    def metrics(self) -> list[dict]:
        p = self.dir / "metrics.json"
        return json.loads(p.read_text()) if p.is_file() else []

    @property
    def provenance(self) -> dict:
        p = self.dir / "provenance.json"
        return json.loads(p.read_text()) if p.is_file() else {}

    @property
    def failure(self) -> dict | None:
        """Why this finished run failed (:func:`run_failure`), or None."""
        return run_failure(self.metrics, self.provenance)

    @property
    def record_only(self) -> bool:
        """Imported from a published record (:mod:`pixelreg.experiment.records`): metrics and evaluations, no checkpoint."""
        return (self.dir / RECORD_ONLY).is_file()

    def load_model(self, device: str | torch.device = "cpu") -> torch.nn.Module:
        """The best-validation-loss model in eval mode; it takes images in [0, 1]."""
        if not self.finished:
            raise ConfigError("run", str(self.dir), "a finished run (train it first with `pixelreg train`)")
        if self.record_only and not (self.dir / "best.pt").is_file():
            raise record_only_error(self)  # names the run, the evaluation asked for, and how to retrain
        state = load_checkpoint(self.dir / "best.pt")
        model = build_model(self.config)
        model.load_state_dict(state["model"])
        return model.to(device).eval()

    def write_provenance(self, device: str | torch.device, **facts: Any) -> dict:
        """Write ``provenance.json``: where and with what the run was trained (git commit, package versions,
        device, threads) plus ``facts`` from the trainer (wall time, best epoch, steps, ...); return it."""
        prov = {**provenance(device), **facts}
        atomic_write_json(self.dir / "provenance.json", prov)
        return prov

    def __repr__(self) -> str:
        c = self.config
        return (f"Run({self.id}: {c.task} <- {c.pool_source if c.regularized else '-'}, alpha={c.alpha}, "
                f"th={c.th}, target={c.target}, seed={c.seed}, {'finished' if self.finished else 'unfinished'})")


class RunStore:
    """Directory of runs keyed by config hash."""

    def __init__(self, root: str | os.PathLike | None = None):
        self.root = Path(root).expanduser().resolve() if root else default_runs_dir()
        self._check_root()   # creates nothing: reading a store never writes

    def _check_root(self) -> None:
        """ConfigError naming runs_dir when the root, or the nearest existing parent, is not a folder."""
        p = self.root
        while not p.exists() and p != p.parent:
            p = p.parent
        if not p.is_dir():
            what = "an existing file" if p == self.root else f"inside {p}, which is a file"
            raise ConfigError("runs_dir", str(self.root), f"a folder for the run store (created when missing), "
                              f"not {what}; pass another --runs-dir or $PIXELREG_RUNS_DIR")

    def _make_root(self) -> None:
        try:
            self.root.mkdir(parents=True, exist_ok=True)
        except OSError as e:
            self._check_root()
            err = _storage_error(e, self.root)
            if err is not None:
                raise err from e
            raise

    def path(self, config: TrainConfig) -> Path:
        return self.root / config_hash(config)

    def lock(self, config: TrainConfig) -> FileLock:
        self._make_root()
        return FileLock(str(self.root / f"{config_hash(config)}.lock"))

    def get(self, config: TrainConfig) -> Run | None:
        p = self.path(config)
        return Run(p, config) if (p / "config.json").is_file() else None

    def create(self, config: TrainConfig) -> Run:
        """Create the run directory atomically (a temporary directory renamed into place)."""
        p = self.path(config)
        if (p / "config.json").is_file():
            return Run(p, config)
        self._make_root()
        try:
            tmp = Path(tempfile.mkdtemp(dir=self.root, prefix=f".{p.name}."))
        except OSError as e:
            err = _storage_error(e, self.root)
            if err is not None:
                raise err from e
            raise
        try:
            atomic_write_json(tmp / "config.json", config.to_dict())
        except BaseException:
            shutil.rmtree(tmp, ignore_errors=True)   # e.g. a full disk: leave no half-made run behind
            raise
        os.replace(tmp, p)
        return Run(p, config)

    def missing(self, configs: Sequence[TrainConfig]) -> list[TrainConfig]:
        """The distinct configs (in order of first appearance) whose run is not finished here: absent, partial
        or training now. The one missing-runs check of the package (the book's plan, the pages, sweeps)."""
        return [c for c in dict.fromkeys(configs) if not ((r := self.get(c)) is not None and r.finished)]

    def runs(self) -> list[Run]:
        if not self.root.is_dir():
            return []
        return [Run.open(d) for d in sorted(self.root.iterdir()) if (d / "config.json").is_file()]

    def __repr__(self) -> str:
        return f"RunStore({self.root})"


def params_hash(params: dict) -> str:
    """The cache key digest of an evaluation's parameters (compact canonical JSON, 12 hex digits)."""
    return content_hash(params)


_EVALUATION: ContextVar[dict | None] = ContextVar("pixelreg_evaluation", default=None)


def current_evaluation() -> dict | None:
    """The evaluation :func:`cached_table` is computing in this context (name, key, params, run_dir), or None.

    A record-only run names it in its error when the computation asks it for the model it does not have.
    """
    return _EVALUATION.get()


# An evaluation cache entry is two files: ``evals/<key>.csv`` (the table) and ``evals/<key>.json``
# ``{"params": <the parameters>, "csv_sha256": <sha256 of the CSV bytes>}``. Entries written before the
# checksum existed hold the bare parameters in the JSON; the first read of such an entry verifies its CSV
# against the published record when the run has one (a record-only run) and otherwise accepts it once, and in
# both cases adds the checksum. A CSV that does not match its checksum is never served: one warning line
# names it, and the table is re-imported from the record (record-only runs) or recomputed.
ENTRY_KEYS = ("params", "csv_sha256")


def cache_entry(params: dict, csv: bytes) -> dict:
    """The JSON of a cache entry (:data:`ENTRY_KEYS`)."""
    return {"params": params, "csv_sha256": content_hash(csv, length=None)}


def read_cache_entry(path: str | os.PathLike) -> tuple[dict, str | None]:
    """(params, csv_sha256) of an entry's JSON; csv_sha256 is None for an entry written before checksums.
    Raises ValueError (json.JSONDecodeError) for a JSON that cannot be read."""
    data = json.loads(Path(path).read_text())
    if not isinstance(data, dict):
        raise ValueError(f"{path}: not a JSON object")
    if set(data) == set(ENTRY_KEYS) and isinstance(data["params"], dict):
        return data["params"], data["csv_sha256"]
    return data, None


def write_cache_entry(evals: Path, stem: str, params: dict, csv: bytes) -> None:
    """Write an entry: the JSON (parameters and checksum) first, then the CSV, each atomically."""
    atomic_write_json(evals / f"{stem}.json", cache_entry(params, csv))
    atomic_write_bytes(evals / f"{stem}.csv", csv)


def _warn(msg: str) -> None:
    print(f"pixelreg: warning: {msg}", file=sys.stderr, flush=True)


def _record_table(run_dir: Path, stem: str) -> tuple[dict, bytes] | None:
    """(params, CSV bytes) of evaluation ``stem`` in the published record of a record-only run, checksum
    verified; None when the run has no record or the record lacks (or has a damaged copy of) the entry."""
    marker = run_dir / RECORD_ONLY
    if not marker.is_file():
        return None
    try:
        record = Path(json.loads(marker.read_text())["record"])
        record = record if record.is_absolute() else REPO_ROOT / record
        data = json.loads(record.read_text())
    except (OSError, ValueError, KeyError, TypeError):
        return None
    for e in data.get("evaluations", []):
        if e.get("key") == stem:
            csv = "\n".join(e["csv"]).encode()
            if content_hash(csv, length=None) == e.get("csv_sha256"):
                return e["params"], csv
    return None


def _serve(evals: Path, stem: str) -> pd.DataFrame | None:
    """The cached table ``stem`` if its CSV matches its checksum (repaired from the record if it can be); None
    when it is absent or damaged beyond repair (the caller computes it). See the comment on :data:`ENTRY_KEYS`."""
    csv, js = evals / f"{stem}.csv", evals / f"{stem}.json"
    if not csv.is_file():
        return None
    data = csv.read_bytes()
    try:
        params, sha = read_cache_entry(js)
    except (OSError, ValueError):
        params, sha = None, "unreadable"
    if sha is None:  # written before checksums: verify against the record if there is one, else accept once
        rec = _record_table(evals.parent, stem)
        if rec is None or rec[1] == data:
            atomic_write_json(js, cache_entry(params, data))
            return pd.read_csv(io.BytesIO(data))
        sha = "the record's"
    if sha != "unreadable" and content_hash(data, length=None) == sha:
        return pd.read_csv(io.BytesIO(data))
    rec = _record_table(evals.parent, stem)
    if rec is not None:
        _warn(f"cached evaluation {csv} does not match its checksum; re-imported from the published record")
        write_cache_entry(evals, stem, rec[0], rec[1])
        return pd.read_csv(io.BytesIO(rec[1]))
    _warn(f"cached evaluation {csv} does not match its checksum; not used, recomputing it")
    return None


def cached_lookup(run_dir: str | os.PathLike, name: str, params: dict) -> pd.DataFrame | None:
    """The cached table of :func:`cached_table` if it exists and matches its checksum, else None (never
    computes; a damaged entry of a record-only run is re-imported from its record)."""
    return _serve(Path(run_dir) / "evals", f"{name}-{params_hash(params)}")


def cached_table(run_dir: str | os.PathLike, name: str, params: dict,
                 compute: Callable[[], pd.DataFrame]) -> pd.DataFrame:
    """Return the cached table ``<run_dir>/evals/<name>-<hash(params)>.csv``, computing it once.

    Concurrent callers serialise on a lock; the CSV appears atomically after a JSON of its parameters and the
    CSV's checksum. A cached CSV is served only when it matches that checksum (:func:`cached_lookup`);
    otherwise it is recomputed and replaced.
    """
    evals = Path(run_dir) / "evals"
    evals.mkdir(parents=True, exist_ok=True)
    stem = f"{name}-{params_hash(params)}"
    damaged = False
    if (evals / f"{stem}.csv").is_file():
        hit = _serve(evals, stem)
        if hit is not None:
            return hit
        damaged = True  # warned once already: recompute without a second look
    with FileLock(str(evals / f"{stem}.lock")):
        if not damaged and (evals / f"{stem}.csv").is_file():  # another process may have written it meanwhile
            hit = _serve(evals, stem)
            if hit is not None:
                return hit
        token = _EVALUATION.set(dict(name=name, key=stem, params=params, run_dir=str(run_dir)))
        try:
            table = compute()
        finally:
            _EVALUATION.reset(token)
        write_cache_entry(evals, stem, params, table.to_csv(index=False).encode())
    return table


# ----------------------------------------------------------------------------------------------------
# the error of a record-only run (pixelreg.experiment.records imports runs, so it lives here)

_TRAIN_FLAGS = ("task", "reg_data", "alpha", "th", "th2", "reg_range", "target", "criterion", "pairs", "pool_size",
                "arch", "width", "rgb", "epochs", "phase_duration", "batch_size", "train_subset", "test_subset",
                "noise_aug", "pair_bn")  # flags of `pixelreg train` that set a TrainConfig field of the same name


def _train_command(config: TrainConfig, profile: str) -> str | None:
    """A ``pixelreg train`` command line that rebuilds exactly ``config`` (same hash), or None."""
    try:
        base = make_config(profile).to_dict()
    except ConfigError:
        return None
    cfg = config.to_dict()
    for only_changed in (True, False):
        over = {f: cfg[f] for f in _TRAIN_FLAGS if cfg[f] is not None and (not only_changed or cfg[f] != base[f])}
        try:
            same = config_hash(make_config(profile, seed=config.seed, **over)) == config_hash(config)
        except ConfigError:
            same = False
        if same:
            flags = " ".join(f"--{k.replace('_', '-')} {str(v).lower() if isinstance(v, bool) else v}"
                             for k, v in over.items())
            return f"pixelreg train --profile {profile} {flags} --seed {config.seed}".replace("  ", " ")
    return None


def missing_runs_error(configs: Sequence[TrainConfig]) -> MissingRunsError:
    """The error a page raises when training is switched off and ``configs`` are not in the run store: it names
    each run and a ``pixelreg train`` command that rebuilds it (tried under every profile, the first whose
    defaults reproduce the hash)."""
    from pixelreg.experiment.config import PROFILES

    commands = []
    for c in configs:
        cmd = next((x for p in PROFILES if (x := _train_command(c, p)) is not None), None)
        commands.append(cmd or f"pixelreg train ... --seed {c.seed} (run {config_hash(c)})")
    return MissingRunsError([config_hash(c) for c in configs], commands)


def record_only_error(run: Run) -> RecordOnlyRunError:
    """The error :meth:`pixelreg.experiment.runs.Run.load_model` raises for a record-only run.

    It names the run, the evaluation that was asked for and is not in the record (known when it was asked
    for through :func:`pixelreg.experiment.runs.cached_table`), what the record holds, and how to retrain.
    """
    try:
        marker = json.loads((run.dir / RECORD_ONLY).read_text())
    except (OSError, json.JSONDecodeError):
        marker = {}
    profile = marker.get("profile", "<profile>")
    held = marker.get("evaluations", [])
    record = marker.get("record", "its record")
    ev = current_evaluation()
    if ev is not None:
        what = f"{ev['key']} (parameters {json.dumps(ev['params'], sort_keys=True, default=str)})"
    else:
        what = ("requested here (asked for outside the evaluation cache: a boundary attack whose perturbations "
                "are not in the record, or the source model of a transferred attack; see the traceback)")
    cmd = _train_command(run.config, profile)
    if cmd is None:
        cmd = (f"python -c \"import json; from pixelreg.experiment.config import TrainConfig; from pixelreg.experiment.train import train; "
               f"train(TrainConfig.from_dict(json.load(open('{record}'))['config']))\"")
    msg = (f"run {run.id} has no checkpoint: it was imported from the published record {record} (a record-only "
           f"run in {run.dir}), and the evaluation {what} is not in that record. The record holds "
           f"{len(held)} evaluation(s): {', '.join(held) or 'none'}. To compute it, retrain: "
           f"`python -m pixelreg.book --profile {profile} --retrain` (every run of the book, ignoring the "
           f"records), or this run alone: `rm -r {run.dir} && {cmd}`")
    return RecordOnlyRunError(run.id, ev["key"] if ev else None, msg)
