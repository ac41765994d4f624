"""Grids of training runs on a local process pool or a SLURM cluster, through submitit.

A sweep is a list of :class:`~pixelreg.experiment.config.TrainConfig` (a grid expanded from flags or a YAML file). Only the
runs missing from the run store are submitted; every job calls :func:`pixelreg.experiment.train.train`, so results land in
the shared run store (atomic writes, one lock per run, resume from the last completed epoch). Nothing here
schedules anything: submitit talks to SLURM (one job array per sweep) or starts local processes.

Executors
    ``slurm``  ``submitit.AutoExecutor(cluster="slurm")``: one array task per missing run. The job callable is a
               ``submitit.helpers.Checkpointable``, so a preempted or timed-out task is requeued and resumes
               from ``checkpoint.pt`` (the work since the last completed epoch is redone).
    ``local``  ``submitit.LocalExecutor``, chosen over ``concurrent.futures.ProcessPoolExecutor`` because each
               job is then the very same pickled callable, log files and failure path as on SLURM (the local
               sweep is a rehearsal of the cluster one), a crashed job (OOM kill, segfault) fails alone instead
               of breaking a whole pool, and each run gets a fresh process (no torch thread pools shared across
               a fork). LocalExecutor starts every submitted job at once and has no concurrency limit, so
               :func:`submit_and_wait` keeps at most ``workers`` jobs alive and submits the next one when one
               ends; the cost is a fresh Python + torch import per run (about 2-4 s). Each job runs torch
               with ``cores // workers`` threads. A local sweep therefore always waits (the submitting process
               is the queue); Ctrl-C cancels its jobs and the next sweep resumes them.
    ``debug``  ``submitit.DebugExecutor``: in-process, sequential (tests, pdb).

Files, all under the run store root (``--runs-dir``, ``$PIXELREG_RUNS_DIR`` or ``data/runs``, git-ignored)::

    sweeps/<sweep_id>.json                  manifest: the grid's config hashes and configs, submissions, job ids
    sweeps/<sweep_id>/logs/                 submitit's pickles and per-job stdout/stderr
    sweeps/<sweep_id>/failures/<hash>.json  error type, message and traceback tail of a failed run

``sweep_id`` is a hash of the sorted config hashes, so the same grid (in any order, from flags or YAML) is the
same sweep, and ``--status`` finds its manifest again.
"""
from __future__ import annotations

import dataclasses
import datetime as _dt
import itertools
import json
import math
import os
import re
import sys
import time
import traceback
from dataclasses import dataclass, fields
from pathlib import Path
from typing import Any, Callable, Iterable, Mapping, Sequence, Union

from pixelreg.experiment.config import DEFAULT_PROFILE, PRESETS, TrainConfig, canonical, config_hash, make_config, profile as get_profile
from pixelreg.errors import ConfigError
from pixelreg.hashing import content_hash
from pixelreg.experiment.runs import Run, RunStore, atomic_write_json

EXECUTORS = ("local", "slurm", "debug")
STATES = ("done", "running", "failed", "pending")
# Grid keys besides TrainConfig fields. `profile` is allowed in a YAML grid (one value).
GRID_EXTRA_KEYS = ("preset", "seeds", "profile")
_FIELD_TYPES = {f.name: str(f.type) for f in fields(TrainConfig)}
# Flags whose values are paths: never split on commas.
_PATH_FIELDS = ("responses", "imagenet_dir")


class SweepError(RuntimeError):
    """Some runs of a sweep failed. ``failures`` maps config hash -> failure record (type, message, traceback)."""

    def __init__(self, failures: dict[str, dict], sweep_dir: Path | None = None):
        self.failures = failures
        lines = [f"{len(failures)} run(s) failed" + (f" (details in {sweep_dir}/failures)" if sweep_dir else "") + ":"]
        for h, f in failures.items():
            lines.append(f"  {h}: {f.get('type')}: {_first_line(f.get('message', ''))}")
        super().__init__("\n".join(lines))


def _first_line(s: str, n: int = 200) -> str:
    s = str(s).strip().splitlines()
    return (s[0] if s else "")[:n]


# --------------------------------------------------------------------------------------------- grid expansion

def _parse_scalar(name: str, text: Any) -> Any:
    """Parse one grid value for TrainConfig field ``name`` (strings from flags, or YAML scalars)."""
    typ = _FIELD_TYPES[name]
    optional = "None" in typ
    if isinstance(text, str):
        s = text.strip()
        if optional and s.lower() in ("none", "null", ""):
            return None
    else:
        if text is None:
            if optional:
                return None
            raise ConfigError(name, text, f"a value of type {typ}")
        s = text
    try:
        if typ.startswith("bool"):
            if isinstance(s, bool):
                return s
            low = str(s).lower()
            if low in ("1", "true", "yes", "on"):
                return True
            if low in ("0", "false", "no", "off"):
                return False
            raise ValueError
        if typ.startswith("int"):
            if isinstance(s, bool):
                raise ValueError
            if isinstance(s, float):
                if not s.is_integer():
                    raise ValueError
                return int(s)
            return int(str(s))
        if typ.startswith("float"):
            if isinstance(s, bool):
                raise ValueError
            return float(s)
        return str(s)
    except (TypeError, ValueError):
        kind = typ.split(" |")[0]
        raise ConfigError(name, text, f"{kind} values{' (or none)' if optional else ''}, "
                          "comma-separated on the command line") from None


def _split(text: str) -> list[str]:
    return [t for t in (p.strip() for p in str(text).split(",")) if t != ""]


def parse_seeds(value: Any, profile_name: str = DEFAULT_PROFILE) -> list[int]:
    """Seeds from ``"0,1,2"``, ``"0-6"`` (inclusive), ``"profile"`` (the profile's seeds), an int or a list."""
    if value is None:
        return [0]
    items = value if isinstance(value, (list, tuple)) else _split(value) if isinstance(value, str) else [value]
    seeds: list[int] = []
    for item in items:
        s = str(item).strip()
        if s == "profile":
            seeds.extend(get_profile(profile_name).seeds)
        elif re.fullmatch(r"\d+-\d+", s):
            lo, hi = map(int, s.split("-"))
            seeds.extend(range(lo, hi + 1))
        elif re.fullmatch(r"\d+", s) and not isinstance(item, (bool, float)):
            seeds.append(int(s))
        else:
            raise ConfigError("seeds", value, "integers >= 0: '0,1,2', a range '0-6', or 'profile'")
    if not seeds or any(s < 0 for s in seeds):
        raise ConfigError("seeds", value, "integers >= 0: '0,1,2', a range '0-6', or 'profile'")
    return list(dict.fromkeys(seeds))


def _axis(name: str, value: Any) -> list[Any]:
    """One grid axis: a list of parsed values for a TrainConfig field."""
    if isinstance(value, (list, tuple)):
        items = list(value)
    elif isinstance(value, str) and name not in _PATH_FIELDS:
        items = _split(value)
        if not items:
            raise ConfigError(name, value, "at least one value")
    else:
        items = [value]
    return list(dict.fromkeys(_parse_scalar(name, v) for v in items))


def expand_grid(axes: dict[str, Any], profile_name: str = DEFAULT_PROFILE) -> list[TrainConfig]:
    """Expand a grid to validated configs: presets x every listed field x seeds, identical configs once.

    ``axes`` maps TrainConfig field names (or ``preset`` and ``seeds``) to a scalar, a list, or a comma-separated
    string. Order: presets outermost, then fields in TrainConfig order, seeds innermost. Each combination goes
    through :func:`pixelreg.experiment.config.make_config` (profile defaults < preset < values) and
    :func:`pixelreg.experiment.train.resolve` (pins a responses file's content), so a bad value raises ConfigError here,
    before anything is submitted.
    """
    from pixelreg.experiment.train import resolve

    names = {f.name for f in fields(TrainConfig)}
    unknown = set(axes) - names - {"preset", "seeds"}
    if unknown:
        raise ConfigError("grid", sorted(unknown), f"keys among TrainConfig fields {sorted(names)}, 'preset', 'seeds'")
    if "seed" in axes:
        raise ConfigError("grid", "seed", "use 'seeds' for the list of seeds")
    presets: list[str | None] = [None]
    if axes.get("preset") is not None:
        raw = axes["preset"]
        raw = raw if isinstance(raw, (list, tuple)) else _split(raw)
        presets = [None if str(p).lower() == "none" else str(p) for p in raw] or [None]
        for p in presets:
            if p is not None and p not in PRESETS:
                raise ConfigError("preset", p, f"one of {', '.join(PRESETS)} (or none)")
    seeds = parse_seeds(axes.get("seeds"), profile_name)
    field_axes = [(f.name, _axis(f.name, axes[f.name])) for f in fields(TrainConfig)
                  if f.name in axes and axes[f.name] is not None and f.name != "seed"]
    configs: dict[str, TrainConfig] = {}
    for preset in presets:
        for combo in itertools.product(*(vals for _, vals in field_axes)):
            overrides = {name: v for (name, _), v in zip(field_axes, combo)}
            for seed in seeds:
                cfg = make_config(profile_name, preset=preset, **overrides, seed=seed)
                nones = {k: None for k, v in overrides.items() if v is None}  # "none" given explicitly:
                if nones:  # make_config reads None as "not given", so set it afterwards (e.g. all training data)
                    cfg = canonical(cfg.replace(**nones).validate())
                cfg = resolve(cfg)
                configs.setdefault(config_hash(cfg), cfg)
    return list(configs.values())


def load_grid_file(path: str | os.PathLike) -> dict[str, Any]:
    """Read a YAML grid: a mapping of TrainConfig field names (or preset, seeds, profile) to scalars or lists."""
    import yaml

    p = Path(path)
    if not p.is_file():
        raise ConfigError("grid", str(p), "an existing YAML file")
    try:
        data = yaml.safe_load(p.read_text()) or {}
    except yaml.YAMLError as e:
        raise ConfigError("grid", str(p), f"valid YAML ({_first_line(e)})") from None
    if not isinstance(data, dict):
        raise ConfigError("grid", str(p), "a YAML mapping of field names to values or lists")
    out = {}
    for k, v in data.items():
        key = str(k).replace("-", "_")
        if isinstance(v, dict):
            raise ConfigError(key, v, "a scalar or a list")
        out[key] = v
    return out


def grid(axes: dict[str, Any], grid_file: str | os.PathLike | None = None,
         profile_name: str | None = None) -> tuple[list[TrainConfig], str]:
    """The configs of a sweep and its profile: the YAML grid (if any), overridden key by key by ``axes`` (None
    values are "not given"). The profile: ``profile_name``, else the grid file's, else the default profile."""
    merged: dict[str, Any] = {}
    if grid_file:
        merged = load_grid_file(grid_file)
        yaml_profile = merged.pop("profile", None)
        if profile_name is None and yaml_profile is not None:
            profile_name = str(yaml_profile)
    profile_name = profile_name or DEFAULT_PROFILE
    get_profile(profile_name)  # ConfigError for an unknown profile in the YAML
    merged.update({k: v for k, v in axes.items() if v is not None})
    return expand_grid(merged, profile_name), profile_name


# --------------------------------------------------------------------------------------------- the sweep store

def sweep_id(configs: Iterable[TrainConfig]) -> str:
    return content_hash(",".join(sorted(config_hash(c) for c in configs)))


@dataclass
class Sweep:
    """A grid of configs and its files under ``<runs_dir>/sweeps``."""

    configs: list[TrainConfig]
    store: RunStore

    @property
    def id(self) -> str:
        return sweep_id(self.configs)

    @property
    def hashes(self) -> list[str]:
        return [config_hash(c) for c in self.configs]

    @property
    def manifest_path(self) -> Path:
        return self.store.root / "sweeps" / f"{self.id}.json"

    @property
    def dir(self) -> Path:
        return self.store.root / "sweeps" / self.id

    @property
    def log_dir(self) -> Path:
        return self.dir / "logs"

    def failure_path(self, h: str) -> Path:
        return self.dir / "failures" / f"{h}.json"

    def manifest(self) -> dict:
        p = self.manifest_path
        return json.loads(p.read_text()) if p.is_file() else {}

    def update_manifest(self, submission: dict | None = None) -> None:
        """Write the manifest (configs and hashes), appending ``submission`` (executor, job ids per hash)."""
        from filelock import FileLock

        self.manifest_path.parent.mkdir(parents=True, exist_ok=True)
        with FileLock(str(self.manifest_path) + ".lock"):
            m = self.manifest()
            now = _now()
            m.setdefault("created", now)
            m.update(sweep_id=self.id, runs_dir=str(self.store.root), updated=now, hashes=self.hashes,
                     configs={config_hash(c): c.to_dict() for c in self.configs})
            subs = m.setdefault("submissions", [])
            if submission is not None:  # a submission is updated in place as its jobs start (matched by id)
                subs[:] = [s for s in subs if s.get("id") != submission.get("id")] + [dict(submission)]
            atomic_write_json(self.manifest_path, m)

    def job_ids(self) -> dict[str, str]:
        """The latest job id per config hash over all submissions."""
        out: dict[str, str] = {}
        for s in self.manifest().get("submissions", []):
            out.update(s.get("jobs", {}))
        return out

    def failure(self, h: str) -> dict | None:
        p = self.failure_path(h)
        try:
            return json.loads(p.read_text()) if p.is_file() else None
        except (OSError, json.JSONDecodeError):
            return None

    def status(self) -> list[dict]:
        """One row per config: hash, state (done / running / failed / pending), epochs saved, job id, error."""
        jobs = self.job_ids()
        rows = []
        for cfg in self.configs:
            h = config_hash(cfg)
            run = self.store.get(cfg)
            epochs = len(run.metrics) - 1 if run is not None and run.metrics else 0
            fail = None
            if run is not None and run.finished:
                state = "done"
            elif lock_held(self.store.root / f"{h}.lock"):
                state = "running"
            else:
                fail = self.failure(h)
                state = "failed" if fail else "pending"
            rows.append(dict(hash=h, state=state, epochs=epochs, job=jobs.get(h, ""), config=cfg,
                             error=f"{fail.get('type')}: {_first_line(fail.get('message', ''))}" if fail else ""))
        return rows


def _now() -> str:
    return _dt.datetime.now().isoformat(timespec="seconds")


def lock_held(path: Path) -> bool:
    """True if another process holds the run's lock (a non-blocking acquire fails): it is training that run."""
    if not path.is_file():
        return False
    from filelock import FileLock, Timeout

    lock = FileLock(str(path), timeout=0)
    try:
        lock.acquire(timeout=0)
    except Timeout:
        return True
    except OSError:
        return False
    lock.release()
    return False


# --------------------------------------------------------------------------------------------- the job

def _failure_record(e: BaseException, tb: str | None = None) -> dict:
    tb = tb if tb is not None else "".join(traceback.format_exception(type(e), e, e.__traceback__))
    return dict(type=type(e).__name__, message=str(e), traceback_tail=tb[-4000:], time=_now(),
                host=os.uname().nodename)


try:  # submitit is in requirements.txt; without it the module still imports (grids, status)
    from submitit.helpers import Checkpointable as _JobBase
except ImportError:  # pragma: no cover
    _JobBase = object


class TrainJob(_JobBase):
    """The job callable: ``train(config, runs_dir)`` with the thread count and failure record of a sweep.

    A :class:`submitit.helpers.Checkpointable`: on SLURM preemption or
    timeout submitit pickles this object again and requeues it; ``train`` then resumes from ``checkpoint.pt``.
    A failure writes ``failures/<hash>.json`` and re-raises (so the job shows as failed), except with
    ``raise_errors=False`` (the in-process debug executor, whose failed jobs would otherwise open pdb).
    """

    def __init__(self, config: dict, runs_dir: str, sweep_dir: str, threads: int | None = None,
                 device: str | None = None, raise_errors: bool = True):
        self.config, self.runs_dir, self.sweep_dir = config, runs_dir, sweep_dir
        self.threads, self.device, self.raise_errors = threads, device, raise_errors

    def __call__(self) -> dict:
        import torch

        from pixelreg.experiment.train import train

        cfg = TrainConfig.from_dict(self.config)
        h = config_hash(cfg)
        fail_path = Path(self.sweep_dir) / "failures" / f"{h}.json"
        threads = self.threads or int(os.environ.get("SLURM_CPUS_PER_TASK", "0") or 0) or None
        if threads:
            torch.set_num_threads(threads)
        print(f"[pixelreg sweep] run {h} on {os.uname().nodename}, {torch.get_num_threads()} threads: {cfg}",
              flush=True)
        t0 = time.time()
        try:
            run = train(cfg, runs_dir=self.runs_dir, device=self.device, progress=False,
                        on_epoch=lambda e: print(f"[pixelreg sweep] {h} epoch {e} saved "
                                                 f"({time.time() - t0:.1f} s)", flush=True))
        except Exception as e:  # noqa: BLE001 - every failure is recorded, whatever its type
            atomic_write_json(fail_path, _failure_record(e))
            if self.raise_errors:
                raise
            return dict(hash=h, ok=False, run_dir=None, error=f"{type(e).__name__}: {e}")
        fail_path.unlink(missing_ok=True)
        print(f"[pixelreg sweep] {h} finished in {time.time() - t0:.1f} s: {run.dir}", flush=True)
        return dict(hash=h, ok=True, run_dir=str(run.dir), error=None)


# --------------------------------------------------------------------------------------------- executors

@dataclass
class SlurmOptions:
    partition: str | None = None
    gpus_per_node: int | None = None
    cpus_per_task: int | None = None
    time: int | None = None  # minutes
    mem: float | None = None  # GB
    array_parallelism: int | None = None
    extra: dict = dataclasses.field(default_factory=dict)  # more sbatch options, e.g. {"account": "lab"}


def default_workers() -> int:
    return max(1, min(2, _cores()))


def _cores() -> int:
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # pragma: no cover - not Linux
        return os.cpu_count() or 1


def _make_executor(kind: str, sweep: Sweep, slurm: SlurmOptions | None = None):
    import submitit

    sweep.log_dir.mkdir(parents=True, exist_ok=True)
    folder = sweep.log_dir / "%j"
    if kind == "debug":
        return submitit.DebugExecutor(folder=folder)
    if kind == "local":
        ex = submitit.LocalExecutor(folder=folder)
        ex.update_parameters(timeout_min=60 * 24 * 30)  # its default (2 min) would kill real runs
        return ex
    if kind == "slurm":
        s = slurm or SlurmOptions()
        ex = submitit.AutoExecutor(folder=folder, cluster="slurm")
        params: dict[str, Any] = dict(name=f"pixelreg-{sweep.id}", nodes=1, tasks_per_node=1)
        if s.partition:
            params["slurm_partition"] = s.partition
        if s.gpus_per_node is not None:
            params["gpus_per_node"] = s.gpus_per_node
        if s.cpus_per_task is not None:
            params["cpus_per_task"] = s.cpus_per_task
        if s.time is not None:
            params["timeout_min"] = s.time
        if s.mem is not None:
            params["mem_gb"] = s.mem
        if s.array_parallelism is not None:
            params["slurm_array_parallelism"] = s.array_parallelism
        if s.extra:
            params["slurm_additional_parameters"] = dict(s.extra)
        ex.update_parameters(**params)
        return ex
    raise ConfigError("executor", kind, f"one of {', '.join(EXECUTORS)}")


def _jobs_for(configs: Sequence[TrainConfig], sweep: Sweep, kind: str, threads: int | None,
              device: str | None) -> list:
    return [TrainJob(c.to_dict(), str(sweep.store.root), str(sweep.dir), threads=threads, device=device,
                raise_errors=kind != "debug") for c in configs]


def progress_bar(total: int, desc: str, unit: str = "run", enabled: bool | None = None):
    """One overall tqdm bar on stderr (done / total, elapsed, ETA), or None when ``enabled`` is false
    (None: only when stderr is a terminal). The ETA is the average time per item so far times those left."""
    if enabled is None:
        enabled = sys.stderr.isatty()
    if not enabled or total <= 0:
        return None
    from tqdm import tqdm

    return tqdm(total=total, desc=desc, unit=unit, file=sys.stderr, dynamic_ncols=True, smoothing=0.0)


def above_bar(bar, log: Callable[[str], None]) -> Callable[[str], None]:
    """``log`` itself without a bar; with one, ``log`` writing its lines above the bar (the bar redrawn below)."""
    if bar is None:
        return log
    from tqdm import tqdm

    def write(msg: str) -> None:
        with tqdm.external_write_mode(file=sys.stderr):
            log(msg)
    return write


def submit_and_wait(sweep: Sweep, configs: Sequence[TrainConfig], executor: str = "local",
                    workers: int | None = None, device: str | None = None, slurm: SlurmOptions | None = None,
                    wait: bool = True, log=None, progress: bool | None = None) -> dict[str, dict]:
    """Submit ``configs`` (the missing runs of ``sweep``); with ``wait``, return ``{hash: failure}``.

    ``local`` keeps at most ``workers`` jobs running; ``slurm`` submits one job array and, without ``wait``,
    returns after submission; ``debug`` runs the jobs in this process. While waiting, ``progress`` shows one
    overall bar of runs done with an ETA (None: only on a terminal); the per-run "started / finished / failed"
    lines still go to ``log``, printed above the bar.
    """
    log = log or (lambda msg: print(msg, file=sys.stderr, flush=True))
    if not configs:
        return {}
    bar = progress_bar(len(configs), "training runs", "run", progress) if wait else None
    log = above_bar(bar, log)
    try:
        return _submit_and_wait(sweep, configs, executor, workers, device, slurm, wait, log, bar)
    finally:
        if bar is not None:
            bar.close()


def _submit_and_wait(sweep: Sweep, configs: Sequence[TrainConfig], executor: str, workers: int | None,
                     device: str | None, slurm: SlurmOptions | None, wait: bool, log, bar) -> dict[str, dict]:
    ex = _make_executor(executor, sweep, slurm)
    if executor == "local":
        workers = workers or default_workers()
        threads = max(1, _cores() // workers)
    else:
        threads = (slurm.cpus_per_task if slurm else None) if executor == "slurm" else None
    jobs_fns = _jobs_for(configs, sweep, executor, threads, device)
    hashes = [config_hash(c) for c in configs]
    submission = dict(id=os.urandom(6).hex(), time=_now(), executor=executor, jobs={})
    failures: dict[str, dict] = {}

    def collect(h: str, job) -> None:
        try:
            res = job.result()
        except Exception as e:  # noqa: BLE001 - job crashed: keep the job's own record if it wrote one
            rec = sweep.failure(h) or _failure_record(e, tb=str(e))
            if not sweep.failure_path(h).is_file():
                atomic_write_json(sweep.failure_path(h), rec)
            failures[h] = rec
            log(f"  failed   {h}: {rec['type']}: {_first_line(rec['message'])}")
            return
        if isinstance(res, dict) and not res.get("ok", True):
            failures[h] = sweep.failure(h) or dict(type="Error", message=res.get("error", ""))
            log(f"  failed   {h}: {res.get('error')}")
        else:
            log(f"  finished {h}")

    def tick(running: int | None = None) -> None:
        if bar is not None:
            bar.update(1)
            parts = ([f"{running} running"] if running is not None else []) + (
                [f"{len(failures)} failed"] if failures else [])
            bar.set_postfix_str(", ".join(parts), refresh=True)


    if executor == "local":
        # A sliding window over LocalExecutor jobs (it has no concurrency limit of its own).
        queue = list(zip(hashes, jobs_fns))
        running: dict[str, Any] = {}
        live = sys.stderr.isatty()  # a log file gets one bar line per finished run, not one per second
        try:
            while queue or running:
                while queue and len(running) < workers:
                    h, fn = queue.pop(0)
                    job = ex.submit(fn)
                    running[h] = job
                    submission["jobs"][h] = str(job.job_id)
                    sweep.update_manifest(submission)
                    log(f"  started  {h} (job {job.job_id}, {threads} threads)")
                for h, job in list(running.items()):
                    if job.done():
                        del running[h]
                        collect(h, job)
                        tick(min(workers, len(running) + len(queue)))  # running once the window refills
                if running:
                    time.sleep(0.2)
                    if bar is not None and live and time.time() - bar.last_print_t >= 1.0:
                        bar.refresh()  # on a terminal, elapsed time and ETA move between two finished runs
        except KeyboardInterrupt:
            for job in running.values():
                job.cancel(check=False)
            log("interrupted: running jobs cancelled; the next sweep resumes them from their last epoch")
            raise
        return failures

    with ex.batch():
        submitted = [ex.submit(fn) for fn in jobs_fns]
    submission["jobs"] = {h: str(j.job_id) for h, j in zip(hashes, submitted)}
    sweep.update_manifest(submission)
    if executor == "slurm":
        log(f"submitted {len(submitted)} job(s) to SLURM: " + ", ".join(submission["jobs"].values()))
    if not wait:
        return {}
    for h, job in zip(hashes, submitted):
        collect(h, job)
        tick()
    return failures


# --------------------------------------------------------------------------------------------- Python API

def train_runs(configs: Sequence[TrainConfig], runs_dir: str | os.PathLike | None = None,
               executor: str = "local", workers: int | None = None, progress: bool = True,
               device: str | None = None) -> list[Run]:
    """Train the missing runs of ``configs`` in parallel and return their :class:`Run` s, in order.

    Finished runs are reused; partial ones resume. Before training, one line says what will be trained and
    for about how long (:func:`training_estimate`). Raises :class:`SweepError` listing every failed config
    after all the others have finished. ``executor``: "local" (``workers`` processes, default 2 or the core
    count), "debug" (in this process, sequential) or "slurm" (waits for the cluster; prefer ``pixelreg sweep``).
    It never looks at the published records: :func:`runs_for` does, then calls this.
    """
    from pixelreg.experiment.train import resolve

    if executor not in EXECUTORS:
        raise ConfigError("executor", executor, f"one of {', '.join(EXECUTORS)}")
    configs = [resolve(canonical(c)) for c in configs]  # the hash make_config would give (alpha=0 etc.)
    unique = list({config_hash(c): c for c in configs}.values())
    store = RunStore(runs_dir)
    todo = store.missing(unique)
    log = (lambda msg: print(msg, file=sys.stderr, flush=True)) if progress else (lambda msg: None)
    if todo:
        sweep = Sweep(unique, store)
        sweep.update_manifest()
        n_workers = (workers or default_workers()) if executor == "local" else 1
        log(f"pixelreg: training {len(todo)} of {len(unique)} run(s) ({executor}); sweep {sweep.id}")
        if executor != "slurm":
            log("pixelreg: " + training_estimate(todo, store, n_workers))
        failures = submit_and_wait(sweep, todo, executor=executor, workers=workers, device=device, log=log,
                                   progress=progress)
        if failures:
            raise SweepError(failures, sweep.dir)
    runs = []
    for c in configs:
        r = store.get(c)
        if r is None or not r.finished:  # e.g. a cancelled job
            raise SweepError({config_hash(c): dict(type="Unfinished", message="the run did not finish")})
        runs.append(r)
    return runs


def runs_for(configs: Sequence[TrainConfig], runs_dir: str | os.PathLike | None = None,
             progress: bool = True) -> list[Run]:
    """The finished runs of ``configs``, in order: what every page and entry point asks for its runs.

    A run comes from the run store; else from its published record (:func:`pixelreg.experiment.records.import_for`,
    a checkpoint-free run whose cached evaluations are the published ones); else it is trained
    (:func:`train_runs`, which first says what and for how long). With training switched off
    (``PIXELREG_TRAIN=0``, the book's records mode) a run in none of them raises :class:`MissingRunsError`.
    """
    from pixelreg.experiment.records import import_for
    from pixelreg.experiment.runs import missing_runs_error, training_allowed

    store = RunStore(runs_dir)
    # the runs the store lacks, and record-only runs imported from an older version of their record (one that
    # has gained evaluations since): import_for picks both out of all the configs
    imported = import_for(configs, runs_dir)
    if imported and progress:
        print(f"pixelreg: {len(imported)} run(s) imported from the published records (data/results) into "
              f"{store.root}", file=sys.stderr, flush=True)
    missing = store.missing(configs)
    if missing and not training_allowed():
        raise missing_runs_error(missing)
    if missing:
        train_runs(missing, runs_dir=runs_dir, progress=progress)
    runs = {c: store.get(c) for c in dict.fromkeys(configs)}
    return [runs[c] for c in configs]


#: what a page needs of a record: an evaluation's name (e.g. "fourier"), or (name, test of its parameters)
EvaluationNeed = Union[str, tuple[str, Callable[[Mapping], bool]]]


def held_runs(configs: Sequence[TrainConfig], runs_dir: str | os.PathLike | None = None,
              evaluations: Sequence[EvaluationNeed] = ()) -> set[TrainConfig]:
    """The configs whose run :func:`runs_for` serves without training (imports nothing, reads no weights).

    A run is held when it is finished in the run store with its weights, or when only a published record has
    it (imported or not) and that record, as committed now, satisfies every entry of ``evaluations``: a name
    (e.g. ``"fourier"``: some evaluation of that name) or ``(name, test)``, some evaluation of that name whose
    parameters pass ``test`` (e.g. FGSM transferred from one source, a curve after BatchNorm re-estimation).
    A page that reads an evaluation a record lacks would need the weights. A page given parameters its needs
    do not test still finds out when it asks for them.
    """
    from pixelreg.experiment.records import published_record
    from pixelreg.experiment.runs import RECORD_ONLY, read_cache_entry

    needs = [(n, None) if isinstance(n, str) else (n[0], n[1]) for n in evaluations]

    def satisfied(held: list[tuple[str, Mapping]]) -> bool:
        return all(any(key.rsplit("-", 1)[0] == name and (test is None or test(params)) for key, params in held)
                   for name, test in needs)

    def cached_params(run_dir: Path, key: str) -> Mapping:
        try:
            return read_cache_entry(run_dir / "evals" / f"{key}.json")[0]
        except (OSError, ValueError):
            return {}

    store = RunStore(runs_dir)
    out = set()
    for c in dict.fromkeys(configs):
        r = store.get(c)
        if r is not None and r.finished and not r.record_only:
            out.add(c)
            continue
        # the published record as it is now: a record-only run reads its tables from it (the record may have
        # gained evaluations since it was imported); its import marker only where the record is gone
        path = published_record(c)
        if (r is None or not r.finished) and path is None:
            continue
        if not needs:
            out.add(c)
            continue
        try:
            if path is None:
                keys = json.loads((r.dir / RECORD_ONLY).read_text()).get("evaluations", [])
                held = [(k, cached_params(r.dir, k)) for k in keys]
            else:
                held = [(e["key"], e.get("params") or {}) for e in json.loads(path.read_text()).get("evaluations", [])]
        except (OSError, ValueError, KeyError, TypeError, AttributeError):
            continue  # a damaged marker or record: not served (runs_for says why when it is asked)
        if satisfied(held):
            out.add(c)
    return out


# --------------------------------------------------------------------------------------------- estimates

def training_images(config: TrainConfig) -> int:
    """How many images a run trains on: those its task's training split leaves after the validation split, or
    the training subset (drawn from them)."""
    from pixelreg.experiment.data import SPLIT_SIZES

    n = SPLIT_SIZES[config.task][0]
    n -= int(n * config.valid_portion)
    return min(n, config.train_subset) if config.train_subset else n


def planned_steps(config: TrainConfig) -> int:
    """Optimizer steps of a run (as :func:`pixelreg.experiment.train.train` counts them): per epoch, one per batch
    of its :func:`training_images`."""
    return max(1, math.ceil(-(-training_images(config) // config.batch_size) * config.epochs))


def _speed_key(c: TrainConfig, level: int) -> tuple:
    keys = [(c.arch, c.width, c.regularized, c.task, c.batch_size, c.pairs if c.regularized else 0, c.precision),
            (c.arch, c.width, c.regularized), ()]
    return keys[level]


def measured_step_seconds(store: RunStore | None = None) -> list[tuple[TrainConfig, float]]:
    """(config, wall seconds per optimizer step) of every finished run with a measured wall time: the published
    records (``data/results/*/``) and the runs trained in ``store``."""
    from pixelreg.experiment.records import RESULTS_DIR

    out = []
    sources = [p for p in sorted(RESULTS_DIR.glob("*/*.json"))]
    for p in sources:
        try:
            rec = json.loads(p.read_text())
            prov, cfg = rec["provenance"], TrainConfig.from_dict(rec["config"])
        except (OSError, ValueError, KeyError, TypeError):
            continue
        if prov.get("wall_time_seconds") and prov.get("steps"):
            out.append((cfg, float(prov["wall_time_seconds"]) / int(prov["steps"])))
    for run in (store.runs() if store is not None else []):
        prov = run.provenance
        if run.finished and not run.record_only and prov.get("wall_time_seconds") and prov.get("steps"):
            out.append((run.config, float(prov["wall_time_seconds"]) / int(prov["steps"])))
    return out


def training_estimate(configs: Sequence[TrainConfig], store: RunStore | None = None, workers: int = 1) -> str:
    """One line: what is about to be trained and about how long it takes, from measured seconds per step.

    Each run's steps (:func:`planned_steps`) times the median seconds per step of the most comparable measured
    runs (:func:`measured_step_seconds`: same architecture, width, task, batch, pairs and precision; else same
    architecture, width and regularization; else all), divided over ``workers`` parallel runs. The measured
    machine may differ from this one, which the line says.
    """
    import statistics

    measured = measured_step_seconds(store)
    labels: dict[str, int] = {}
    total, basis = 0.0, set()
    unknown = 0
    from pixelreg.experiment.config import condition_label

    for c in configs:
        label = f"{condition_label(c)} ({c.task}, width {c.width}, {c.epochs:g} epochs)"
        labels[label] = labels.get(label, 0) + 1
        for level in range(3):
            same = [s for m, s in measured if _speed_key(m, level) == _speed_key(c, level)]
            if same:
                total += planned_steps(c) * statistics.median(same)
                basis.add(len(same))
                break
        else:
            unknown += 1
    what = "; ".join(f"{n} x {label}" for label, n in labels.items())
    if unknown == len(configs):
        return f"about to train {len(configs)} run(s): {what}; no measured run to estimate the time from"
    minutes = total / max(1, workers) / 60
    return (f"about to train {len(configs)} run(s): {what}; estimated {minutes:.0f} min "
            f"({sum(planned_steps(c) for c in configs):,} steps, {workers} at a time, from the seconds per step of "
            f"{max(basis)} comparable measured run(s), on the machine that measured them"
            + (f"; {unknown} run(s) with no comparable measurement not counted" if unknown else "") + ")")


# --------------------------------------------------------------------------------------------- status table

def describe(cfg: TrainConfig, varying: Sequence[str]) -> str:
    return " ".join(f"{k}={getattr(cfg, k)}" for k in varying)


def varying_fields(configs: Sequence[TrainConfig]) -> list[str]:
    names = [f.name for f in fields(TrainConfig) if f.name not in ("responses_sha256", "imagenet_sha256")]
    if len(configs) <= 1:
        return [n for n in ("task", "reg_data", "alpha", "th", "seed")]
    return [n for n in names if len({json.dumps(getattr(c, n)) for c in configs}) > 1]


def format_status(rows: list[dict], configs: Sequence[TrainConfig]) -> str:
    varying = varying_fields(configs)
    lines = [f"{'hash':12}  {'state':8}  {'epochs':>6}  {'job':>10}  config / error"]
    for r in rows:
        desc = describe(r["config"], varying)
        lines.append(f"{r['hash']:12}  {r['state']:8}  {r['epochs']:>6}  {r['job'] or '-':>10}  {desc}")
        if r["error"]:
            lines.append(f"{'':44}  error: {r['error']}")
    counts = {s: sum(r["state"] == s for r in rows) for s in STATES}
    lines.append(", ".join(f"{n} {s}" for s, n in counts.items()) + f" (of {len(rows)})")
    return "\n".join(lines)
