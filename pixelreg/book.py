"""Build the Jupyter Book: train the runs every figure needs, execute the notebooks, build the site.

``make book`` runs ``python -m pixelreg.book --profile cpu`` (an alias of ``pixelreg book``; the flags are
defined in :mod:`pixelreg.cli`):

1. **plan**: every page's runs at that profile with its default parameters, read from the page's parameter
   object (:data:`pixelreg.figures.FIGURES`, ``Page(profile=...).configs()``): a notebook's parameters are
   all ``None`` (= the page's default) and the book injects only ``profile`` (and ``runs_dir``), so these
   are exactly the runs the notebooks ask for;
2. **train**: the union of those runs is trained once, in parallel, through :func:`pixelreg.experiment.sweep.train_runs`
   (a local pool); finished runs are reused from the run store;
3. **execute**: every notebook of ``book/_toc.yml`` is executed by papermill with ``profile`` injected,
   into ``_build/staging/<profile>/`` next to copies of the markdown pages, ``_toc.yml`` and
   ``references.bib``; wall times go to ``_build/timings-<profile>.json``;
4. **build**: ``jupyter-book build`` on the staging folder with execution off (a staged ``_config.yml``
   derived from the root one), into ``_build/html``; ``--strict`` turns Sphinx warnings into errors.

The last line printed is the path of ``_build/html/index.html``.
"""
from __future__ import annotations

import functools
import json
import logging
import os
import shutil
import subprocess
import sys
import time
from pathlib import Path
from typing import Sequence

import yaml

from pixelreg.experiment.config import DEFAULT_PROFILE, TrainConfig

REPO = Path(__file__).resolve().parent.parent
BOOK = REPO / "book"
BUILD = REPO / "_build"
KERNEL = "python3"


def notebooks(book: Path = BOOK) -> list[str]:
    """Notebook names (without suffix) in ``_toc.yml`` order."""
    toc = yaml.safe_load((book / "_toc.yml").read_text())
    files = []

    def walk(node):
        if isinstance(node, dict):
            if "file" in node:
                files.append(node["file"])
            for v in node.values():
                walk(v)
        elif isinstance(node, list):
            for v in node:
                walk(v)

    walk(toc)
    return [f for f in files if (book / f"{f}.ipynb").is_file()]


def log(msg: str) -> None:
    print(f"[book] {msg}", flush=True)


def book_configs(profile: str) -> dict[str, list[TrainConfig]]:
    """Per page with training runs, the TrainConfigs it needs with its default parameters (the parameters its
    notebook runs with, since the notebooks pass ``None`` = the default for everything but ``profile``)."""
    from pixelreg.figures import FIGURES

    toc = notebooks()
    out = {}
    for name in sorted(FIGURES, key=lambda n: toc.index(n) if n in toc else len(toc)):
        configs = FIGURES[name](profile=profile).configs()
        if configs and name != "claims":  # the claims page judges the figures' runs: listed under the figures
            out[name] = configs
    return out


def union(per_page: dict[str, list[TrainConfig]]) -> list[TrainConfig]:
    """Every distinct config of a plan, in order of first appearance."""
    return list(dict.fromkeys(c for cs in per_page.values() for c in cs))


def train_all(per_page: dict[str, list[TrainConfig]], profile: str, runs_dir: str | None,
              workers: int | None) -> dict[str, float]:
    """Train the union of the pages' runs once (finished runs are reused); return seconds spent and counts."""
    from pixelreg.experiment.config import config_hash
    from pixelreg.experiment.runs import RunStore
    from pixelreg.experiment.sweep import train_runs

    configs = union(per_page)
    store = RunStore(runs_dir)
    missing = store.missing(configs)
    for name, cs in per_page.items():
        miss = sum(1 for c in dict.fromkeys(cs) if c in missing)
        log(f"{name}: {len(set(cs))} runs, {miss} to train")
    log(f"training {len(missing)} of {len(configs)} distinct runs (profile {profile}, run store {store.root})")
    t0 = time.perf_counter()
    if missing:
        train_runs(configs, runs_dir=runs_dir, workers=workers, progress=True)
    dt = time.perf_counter() - t0
    unfinished = [config_hash(c) for c in store.missing(configs)]
    if unfinished:
        raise SystemExit(f"{len(unfinished)} run(s) did not finish: {', '.join(unfinished)} "
                         f"(see {store.root}/sweeps/*/failures)")
    log(f"training done in {dt:.0f} s ({len(configs)} runs available)")
    return {"train_seconds": dt, "runs": len(configs), "trained": len(missing)}


def ensure_kernel() -> None:
    """papermill starts kernel ``python3``. jupyter_client runs a spec whose argv[0] is ``python`` with this
    interpreter, so the venv's kernel (which has pixelreg) is the one that runs; install it if missing."""
    from jupyter_client.kernelspec import KernelSpecManager, NoSuchKernel

    from pixelreg.kernel_log import install

    install()  # kernels of this environment drop their unencrypted-TCP warning (jupyter-book build, papermill)
    try:
        spec = KernelSpecManager().get_kernel_spec(KERNEL)
        exe = spec.argv[0]
        if exe not in ("python", "python3", sys.executable) and Path(exe).resolve() != Path(sys.executable).resolve():
            log(f"warning: kernel {KERNEL!r} runs {exe}, not {sys.executable}; notebooks may not find pixelreg")
    except NoSuchKernel:
        subprocess.run([sys.executable, "-m", "ipykernel", "install", "--sys-prefix", "--name", KERNEL], check=True)


def stage(profile: str, staging: Path) -> None:
    """Copy the book's pages (not the notebooks: papermill writes those) and a derived config to staging."""
    staging.mkdir(parents=True, exist_ok=True)
    for p in BOOK.iterdir():
        if p.suffix in (".md", ".bib", ".yml") and p.is_file():
            shutil.copy2(p, staging / p.name)
    (staging / "_extra" / "data").mkdir(parents=True, exist_ok=True)
    findings = staging / "_generated" / "findings.md"  # the intro includes it; the claims page rewrites it
    if not findings.is_file():
        findings.parent.mkdir(parents=True, exist_ok=True)
        findings.write_text("(findings)=\n## What we found\n\nThe findings appear here once the "
                            "[claims page](claims.ipynb) has been built.\n")
    cfg = yaml.safe_load((REPO / "_config.yml").read_text())
    cfg.setdefault("execute", {})["execute_notebooks"] = "off"
    cfg["title"] = f"{cfg.get('title', 'pixelreg')} ({profile} profile)"
    (staging / "_config.yml").write_text(
        "# generated by pixelreg.book from the repository's _config.yml; do not edit\n"
        + yaml.safe_dump(cfg, sort_keys=False))


# errors after which a page of a records build becomes a stub instead of failing the build: runs not trained
# at this profile, an evaluation the records lack, a dataset the reader does not have
STUB_ERRORS = ("MissingRunsError", "RecordOnlyRunError", "DataNotFoundError", "MissingDataError")


def page_title(name: str) -> str:
    """The first heading of a notebook's first markdown cell (its title in the book)."""
    nb = json.loads((BOOK / f"{name}.ipynb").read_text())
    for cell in nb["cells"]:
        if cell["cell_type"] == "markdown":
            for line in "".join(cell["source"]).splitlines():
                if line.startswith("# "):
                    return line[2:].strip()
    return name


STUB_KEY = "pixelreg_stub"  # notebook metadata of a stub page: the error that kept the page from rendering


def stub_notebook(name: str, profile: str, error: str):
    """The stub page of a page that cannot be rendered from the records: a notebook of one markdown cell that
    says so, what is missing (``error``) and what to run; :data:`STUB_KEY` in its metadata holds the error."""
    import nbformat

    text = (
        f"# {page_title(name)}\n\n"
        f"```{{warning}}\nThis page is not rendered at the `{profile}` profile: its runs or evaluations are not in "
        f"the published records (`data/results/{profile}/`), and this build trains nothing.\n```\n\n"
        f"What is missing, as the page reported it:\n\n```text\n{error.strip()}\n```\n\n"
        f"To render it, train what is missing and rebuild: `python -m pixelreg.book --profile {profile} --train "
        f"--only {name}` (hours on a CPU at this profile), or read the page at the `cpu` profile.\n")
    nb = nbformat.v4.new_notebook(metadata={STUB_KEY: error.strip(), "kernelspec": {
        "name": KERNEL, "language": "python", "display_name": "Python 3"}})
    nb.cells = [nbformat.v4.new_markdown_cell(text)]
    return nb


def write_stub(name: str, profile: str, staging: Path, error: str) -> Path:
    """Replace a page that cannot be rendered from the records by its stub (:func:`stub_notebook`), under the
    page's own name, so every link to ``<name>.ipynb`` (from the markdown pages or another notebook) still
    resolves."""
    import nbformat

    stub = staging / f"{name}.ipynb"
    nbformat.write(stub_notebook(name, profile, error), stub)
    return stub


def is_stub(path: Path) -> bool:
    """Whether a staged notebook is a stub page (:func:`write_stub`)."""
    import nbformat

    return path.is_file() and STUB_KEY in nbformat.read(path, as_version=4).metadata


def kernel_config(socket_prefix: Path):
    """The notebooks' kernel talks to papermill over local IPC sockets (``<socket_prefix>-<n>`` files), not TCP.

    Over TCP, ipykernel warns once per kernel that its traffic is unencrypted; over IPC nothing leaves the
    machine and there is nothing to warn about. The prefix is absolute (the kernel runs in the staging folder,
    papermill elsewhere) and one per notebook (kernels started side by side pick their socket numbers
    independently)."""
    from traitlets.config import Config

    cfg = Config()
    cfg.KernelManager.transport = "ipc"
    cfg.KernelManager.ip = str(socket_prefix)
    return cfg


@functools.cache
def kernel_manager_class() -> type:
    """The notebooks' kernel manager: jupyter_client's ``AsyncKernelManager``, except that shutting down a
    kernel does not interrupt it first.

    jupyter_client's ``shutdown_kernel`` sends SIGINT before its shutdown request, to stop a cell that may still
    run. Here nothing runs by then: papermill shuts the kernel down after the last cell, right after the reply
    to one more ``kernel_info_request`` and without waiting for the kernel to go idle. When the SIGINT lands in
    that gap (the kernel has sent its reply but is still inside the request's handler, where ipykernel turns
    SIGINT into KeyboardInterrupt), the kernel logs "KeyboardInterrupt caught in kernel." to the build's output:
    harmless (the reply was sent and the kernel then shuts down as asked), but it reads as an error, and under
    load it hit about one notebook in ten. Without the interrupt the shutdown is the same request, then SIGTERM
    and SIGKILL if the kernel does not exit. An interrupt asked for on its own (a cell timeout) still
    interrupts."""
    from jupyter_client import AsyncKernelManager

    class FinishedNotebookKernelManager(AsyncKernelManager):
        async def _async_interrupt_kernel(self) -> None:
            if self.shutting_down:  # called by shutdown_kernel: the notebook has finished, nothing to stop
                return
            await super()._async_interrupt_kernel()

    return FinishedNotebookKernelManager


def default_jobs(n: int) -> int:
    """Notebooks executed side by side: one per core, at most ``n``. Each side keeps one kernel
    (:class:`ReusedKernel`), so a third side would mostly add a third import of torch and the figure layer
    (BENCHMARKS.md section 8: 2 sides 56 s, 3 sides 62-65 s for the default book on 2 idle cores)."""
    from pixelreg.experiment.sweep import _cores

    return max(1, min(n, _cores()))


# Run in a reused kernel before each notebook: the namespace of the last notebook is cleared (imported modules
# stay: that is the point), its figures closed, matplotlib's settings restored to those the kernel had before
# its first notebook, and numpy's global generator seeded. A page sets its own style (sns.set_theme).
RESET_CODE = """\
%reset -f
import sys as _s, matplotlib as _m, matplotlib.pyplot as _p
if not hasattr(_s, "_pixelreg_rc"):  # the first time: load the inline backend (it sets its rc), then remember
    _p.figure()                      # rc, except the backend and interactive mode, which the backend owns
    _s._pixelreg_rc = {k: v for k, v in dict.items(_m.rcParams) if k not in ("backend", "interactive")}
_p.close("all")
dict.update(_m.rcParams, _s._pixelreg_rc)
import numpy as _n
_n.random.seed(0)  # seaborn's stripplot jitter draws from numpy's global generator: the same picture every build
del _s, _m, _p, _n
"""


class ReusedKernel:
    """One kernel that executes several notebooks in turn (one per thread of :func:`execute`).

    Starting a kernel and importing torch, pandas, matplotlib and the figure layer costs about 5-8 CPU-seconds
    per notebook, most of a records-mode page; a kernel kept between notebooks pays it once. Before each
    notebook :data:`RESET_CODE` clears the last notebook's state; a kernel that died is replaced. Must be used
    from one thread (its kernel manager's event loop is that thread's)."""

    def __init__(self, socket_prefix: Path, cwd: Path):
        self.socket_prefix, self.cwd, self.km = socket_prefix, cwd, None
        self.notebooks = 0

    def ready(self):
        """The started kernel's manager, its namespace reset (for papermill's ``km=``)."""
        from jupyter_core.utils import run_sync

        if self.km is not None and not run_sync(self.km.is_alive)():
            self.close()
        if self.km is None:
            self.km = kernel_manager_class()(kernel_name=KERNEL, config=kernel_config(self.socket_prefix))
            run_sync(self.km.start_kernel)(cwd=str(self.cwd))
        run_sync(self._reset)()
        self.notebooks += 1
        return self.km

    async def _reset(self) -> None:
        kc = self.km.client()
        kc.start_channels()
        try:
            await kc.wait_for_ready(timeout=120)
            reply = await kc.execute_interactive(RESET_CODE, store_history=False, timeout=120,
                                                 output_hook=lambda msg: None)
            if reply["content"]["status"] != "ok":
                raise RuntimeError(f"resetting the notebook kernel failed: {reply['content'].get('evalue')}")
        finally:
            kc.stop_channels()

    def close(self) -> None:
        from jupyter_core.utils import run_sync

        if self.km is not None:
            try:
                run_sync(self.km.shutdown_kernel)(now=False)
            finally:
                self.km = None


@functools.cache
def reused_kernel_engine() -> str:
    """The papermill engine of :func:`execute` (registered once; its name is returned): papermill's nbclient
    engine, except that after a notebook it closes the kernel client it opened. nbclient closes that client
    only when it owns the kernel; with a :class:`ReusedKernel` it does not, and each notebook would leave a
    client with open channels behind (and one "Could not destroy zmq context" warning when it is collected)."""
    from papermill.clientwrap import PapermillNotebookClient
    from papermill.engines import NBClientEngine, papermill_engines

    class Client(PapermillNotebookClient):
        def execute(self, **kwargs):
            try:
                return super().execute(**kwargs)
            finally:
                if self.kc is not None:
                    self.kc.stop_channels()
                    self.kc = None

    class Engine(NBClientEngine):
        @classmethod
        def execute_managed_notebook(cls, nb_man, kernel_name, log_output=False, stdout_file=None,
                                     stderr_file=None, start_timeout=60, execution_timeout=None, **kwargs):
            kwargs.pop("input_path", None)  # as papermill's own engine
            kwargs.pop("startup_timeout", None)
            timeout = kwargs.pop("timeout", None)
            timeout = execution_timeout or timeout
            return Client(nb_man, timeout=timeout, startup_timeout=start_timeout, kernel_name=kernel_name,
                          log=logging.getLogger("papermill"), log_output=log_output, stdout_file=stdout_file,
                          stderr_file=stderr_file, **kwargs).execute()

    papermill_engines.register("pixelreg-reused-kernel", Engine)
    return "pixelreg-reused-kernel"


def execute(names: Sequence[str], profile: str, staging: Path, runs_dir: str | None,
            extra: dict[str, dict] | None = None, stubs: dict[str, str] | None = None,
            jobs: int | None = None, order: dict[str, float] | None = None) -> dict[str, float]:
    """Execute each notebook with papermill into ``staging``, ``jobs`` at a time; return wall seconds per notebook.

    ``jobs`` threads each keep one kernel (:class:`ReusedKernel`) and take the next notebook until none is
    left. With ``stubs`` (a dict, the records mode) a notebook that fails with one of :data:`STUB_ERRORS`
    becomes a stub page (:func:`write_stub`) and its error message is stored under its name; any other error
    fails (the notebooks not started yet are not started). ``order``: seconds per notebook of an earlier
    build, so the longest start first. Each kernel gets ``cores // jobs`` torch threads unless
    ``$OMP_NUM_THREADS`` is set. One line per finished notebook; on a terminal, one overall bar (done / total,
    ETA) stays below them.
    """
    import collections
    import concurrent.futures as cf
    import queue
    import tempfile
    import threading

    import papermill as pm
    from papermill.exceptions import PapermillExecutionError

    from pixelreg.experiment.sweep import _cores, above_bar, progress_bar

    names = list(names)
    jobs = jobs or default_jobs(len(names))
    todo = collections.deque(sorted(names, key=lambda n: -(order or {}).get(n, 0.0)))  # stable among equals
    times: dict[str, float] = {}
    bar = progress_bar(len(names), "executing notebooks", "notebook")
    say = above_bar(bar, log)
    sockets = Path(tempfile.mkdtemp(prefix="pixelreg-kernels-"))
    lock, stop, done = threading.Lock(), threading.Event(), queue.Queue()

    def one(name: str, kernel: ReusedKernel) -> tuple[str, float, str | None]:
        params = dict(profile=profile, **(extra or {}).get(name, {}))
        if runs_dir is not None:
            params["runs_dir"] = str(runs_dir)
        t0 = time.perf_counter()
        (staging / f"{name}.md").unlink(missing_ok=True)  # a stub of a build before stubs were notebooks
        try:
            # no ``cwd=``: papermill would chdir this whole process; the kernel runs in staging instead
            pm.execute_notebook(str(BOOK / f"{name}.ipynb"), str(staging / f"{name}.ipynb"), parameters=params,
                                kernel_name=KERNEL, progress_bar=False, request_save_on_cell_execute=False,
                                resources={"metadata": {"path": str(staging)}}, km=kernel.ready(),
                                engine_name=reused_kernel_engine())
        except PapermillExecutionError as e:
            if stubs is None or e.ename not in STUB_ERRORS:
                raise
            return name, time.perf_counter() - t0, f"{e.ename}: {e.evalue}"
        return name, time.perf_counter() - t0, None

    def worker(i: int) -> None:
        kernel = ReusedKernel(sockets / f"kernel-{i}", staging)
        try:
            while not stop.is_set():
                with lock:
                    if not todo:
                        return
                    name = todo.popleft()
                try:
                    done.put(one(name, kernel))
                except BaseException as e:  # the build fails: the other threads take no new notebook
                    stop.set()
                    done.put(e)
                    return
        finally:
            kernel.close()

    threads_env = "OMP_NUM_THREADS" not in os.environ and jobs > 1
    if threads_env:  # the kernels inherit it: jobs kernels share the cores instead of each taking all
        os.environ["OMP_NUM_THREADS"] = str(max(1, _cores() // jobs))
    pool = cf.ThreadPoolExecutor(max_workers=jobs, thread_name_prefix="notebook")
    try:
        futures = [pool.submit(worker, i) for i in range(min(jobs, len(names)))]
        for _ in names:
            item = done.get()
            if isinstance(item, BaseException):
                raise item
            name, dt, error = item
            times[name] = round(dt, 1)
            if error is not None:
                stubs[name] = error
                write_stub(name, profile, staging, error)
                say(f"{name}: {times[name]:.1f} s, not rendered ({error.split(':')[0]}); a stub page says what "
                    f"is missing")
            else:
                say(f"{name}: {times[name]:.1f} s")
            if bar is not None:
                bar.update(1)
        for fut in futures:
            fut.result()
    finally:
        stop.set()
        pool.shutdown(wait=True)
        if threads_env:
            os.environ.pop("OMP_NUM_THREADS", None)
        if bar is not None:
            bar.close()
        shutil.rmtree(sockets, ignore_errors=True)
    return {n: times[n] for n in names if n in times}


def execute_records(profile: str, staging: Path, book: Path = BOOK, jobs: int | None = None,
                    runs_dir: str | None = None) -> tuple[dict[str, Path], dict[str, str]]:
    """The records mode of ``make book`` for another builder (``jupyter-book build book/``, through
    :mod:`pixelreg.sphinxext`): import ``profile``'s records, execute every notebook of the book side by side on
    kept kernels (:func:`execute`) into ``staging``, and copy the files the pages generate for the book's other
    pages (``_generated/``: the intro's findings and forest plot) into ``book``. Returns (executed notebook per
    page, stub error per page that the records cannot render). Nothing is trained: ``PIXELREG_TRAIN=0`` for the
    kernels."""
    from pixelreg.experiment.records import import_records

    imported = import_records(profile, runs_dir)
    if imported:
        log(f"records of data/results/{profile}: {len(imported)} in the run store")
    ensure_kernel()
    staging.mkdir(parents=True, exist_ok=True)
    names, stubs = notebooks(book), {}
    previous = os.environ.get("PIXELREG_TRAIN")
    os.environ["PIXELREG_TRAIN"] = "0"
    old = staging / "timings.json"
    try:
        times = execute(names, profile, staging, runs_dir, stubs=stubs, jobs=jobs,
                        order=json.loads(old.read_text()) if old.is_file() else None)
    finally:
        os.environ.pop("PIXELREG_TRAIN") if previous is None else os.environ.update(PIXELREG_TRAIN=previous)
    old.write_text(json.dumps(times))
    generated = staging / "_generated"
    if generated.is_dir():
        shutil.copytree(generated, book / "_generated", dirs_exist_ok=True)
    return {n: staging / f"{n}.ipynb" for n in names if n not in stubs}, stubs


def build_site(staging: Path, out_root: Path, strict: bool) -> Path:
    """``jupyter-book build`` of the staged notebooks (execution off) into ``out_root/_build/html``."""
    exe = Path(sys.executable).with_name("jupyter-book")
    cmd = [str(exe) if exe.exists() else "jupyter-book", "build", str(staging), "--path-output", str(out_root),
           "--builder", "html"]
    if strict:
        cmd += ["-W", "-n", "--keep-going"]
    html = out_root / "_build" / "html"
    if html.exists():  # stale pages of notebooks that no longer exist would survive otherwise
        shutil.rmtree(html)
    r = subprocess.run(cmd, cwd=staging, capture_output=True, text=True)
    if r.returncode != 0:
        sys.stderr.write(r.stdout[-20000:] + "\n" + r.stderr[-20000:])
        raise SystemExit(f"jupyter-book build failed (exit {r.returncode})")
    index = html / "index.html"
    if not index.is_file():
        raise SystemExit(f"jupyter-book build did not write {index}")
    return index


def build(profile: str = DEFAULT_PROFILE, runs_dir: str | None = None, strict: bool = False, only: Sequence[str] | None = None,
          workers: int | None = None, skip_training: bool = False, build_dir: Path = BUILD,
          params: dict[str, dict] | None = None, retrain: bool = False, train: bool = False,
          jobs: int | None = None) -> Path:
    """Train, execute and build; return the path of ``index.html``. ``params`` adds per-notebook parameters.

    **Records mode** (the default when ``data/results/<profile>/`` holds records, e.g. ``full``): the records
    are imported into the run store as checkpoint-free runs whose cached evaluations the pages read, nothing
    is trained or evaluated afresh (``PIXELREG_TRAIN=0`` for the notebooks), and a page whose runs or
    evaluations the records lack becomes a stub naming them and the command that trains them.
    ``train=True`` imports the records and trains what they do not cover; ``retrain=True`` ignores the
    records (and removes record-only runs of the book's plan, so that they are trained). A profile without
    records (``cpu``, ``smoke``) trains everything it needs. Before any training, the datasets that the
    remaining runs and their evaluations need are checked (:func:`pixelreg.experiment.preflight.check_datasets`): a
    missing one stops the build with one message, before anything is written to the run store.
    """
    from pixelreg.experiment.preflight import check_datasets
    from pixelreg.experiment.records import drop_record_only_runs, import_records, records_dir
    from pixelreg.experiment.config import profile as get_profile
    from pixelreg.errors import ConfigError

    get_profile(profile)
    if jobs is not None and (not isinstance(jobs, int) or isinstance(jobs, bool) or jobs < 1):
        raise ConfigError("jobs", jobs, "an integer >= 1 (notebooks executed side by side)")
    t_all = time.perf_counter()
    names = notebooks()
    if only:
        unknown = set(only) - set(names)
        if unknown:
            raise ConfigError("only", sorted(unknown), f"notebooks of the book: {', '.join(names)}")
    timings: dict = {"profile": profile}
    # runs covered by the profile's records need no data; fails in seconds, writes nothing
    recorded = frozenset() if retrain else frozenset(p.stem for p in records_dir(profile).glob("*.json"))
    from_records = bool(recorded) and not train and not retrain and not skip_training
    # the plan: every run the pages need, nothing trained yet (the records mode trains and checks nothing: the
    # pages import what they read, and a page whose runs are missing becomes a stub)
    per_page = {} if from_records else book_configs(profile)
    if from_records:
        log(f"records mode: {len(recorded)} published record(s) of profile {profile}; nothing is trained "
            f"(--train trains what they do not cover)")
    else:
        check_datasets(union(per_page), runs_dir=runs_dir, available=recorded)
    if retrain:
        dropped = drop_record_only_runs(runs_dir, union(per_page))
        log(f"--retrain: {len(dropped)} record-only run(s) removed from the run store; they will be trained")
    else:
        imported = import_records(profile, runs_dir)
        if imported:
            counts: dict[str, int] = {}
            for r in imported:
                counts[r["status"]] = counts.get(r["status"], 0) + 1
            log(f"records of data/results/{profile}: " + ", ".join(f"{n} {k}" for k, n in sorted(counts.items())))
    if not skip_training and not from_records:
        timings.update(train_all(per_page, profile, runs_dir, workers))
    ensure_kernel()
    staging = build_dir / "staging" / profile
    stage(profile, staging)
    todo = [n for n in names if not only or n in only]
    missing = [n for n in names if n not in todo and not (staging / f"{n}.ipynb").is_file()]
    if missing:
        raise SystemExit(f"--only given but {', '.join(missing)} was never executed into {staging}")
    stubs: dict[str, str] | None = {} if from_records else None
    previous = os.environ.get("PIXELREG_TRAIN")
    if from_records:
        os.environ["PIXELREG_TRAIN"] = "0"  # the notebooks' kernels inherit it
    old = build_dir / f"timings-{profile}.json"
    prev = json.loads(old.read_text()) if old.is_file() else {}
    try:
        timings["notebooks"] = execute(todo, profile, staging, runs_dir, params, stubs, jobs=jobs,
                                       order=prev.get("notebooks"))
    finally:
        if from_records:
            os.environ.pop("PIXELREG_TRAIN") if previous is None else os.environ.update(PIXELREG_TRAIN=previous)
    if stubs:
        timings["stubs"] = stubs
        log(f"{len(stubs)} page(s) not rendered from the records: {', '.join(stubs)}")
    t0 = time.perf_counter()
    index = build_site(staging, build_dir.parent if build_dir.name == "_build" else build_dir, strict)
    timings["site_build_seconds"] = round(time.perf_counter() - t0, 1)
    timings["total_seconds"] = round(time.perf_counter() - t_all, 1)
    log(f"site built in {timings['site_build_seconds']} s; total {timings['total_seconds']} s")
    if only:  # keep the other notebooks' last timings
        timings["notebooks"] = {**prev.get("notebooks", {}), **timings["notebooks"]}
    old.parent.mkdir(parents=True, exist_ok=True)
    old.write_text(json.dumps(timings, indent=2))
    return index


if __name__ == "__main__":  # ``python -m pixelreg.book``: an alias of ``pixelreg book``
    from pixelreg.cli import main

    sys.exit(main(["book", *sys.argv[1:]]))
