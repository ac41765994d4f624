"""Check, before anything is trained, that every dataset a batch of runs needs can be loaded.

A newcomer without the data should be stopped in seconds with one message, not after a minute of runs
failing one by one with the same error. :func:`check_datasets` works out what the given configs need and
looks for it the way :func:`pixelreg.experiment.data.load_dataset` and :func:`pixelreg.experiment.data.build_pool` would, by
file presence only (nothing is decoded, nothing is written, the run store is only read):

* runs to train (not finished in the run store, not covered by committed records): the task's training
  and test splits (training reports test metrics per epoch) and the regularization pool: a dataset's
  training split, the photographs of the "natural" pool, the ImageNet folder, or the neural responses file;
* evaluations (every run not covered by records): the task's test split. Evaluating a finished run loads
  the test split even when the evaluation is cached in the run store, so finished runs still need it.

A classification split is present when one of ``load_dataset``'s sources has it: the tensor cache, the
torchvision files in the data folder, a distribution package (Debian's ``dataset-fashion-mnist``), or a
torchvision download, counted only when its server answers within :data:`PROBE_TIMEOUT_S` seconds.

Usage, before training (the book, a sweep)::

    from pixelreg.experiment.preflight import check_datasets
    check_datasets(configs, runs_dir=runs_dir, available=record_hashes)   # raises MissingDataError
"""
from __future__ import annotations

import importlib.util
import os
import socket
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Iterable
from urllib.parse import urlparse

from pixelreg.experiment import data as data_mod
from pixelreg.experiment.config import TrainConfig, config_hash
from pixelreg.errors import ConfigError, MissingDataError

# Files the torchvision classes read from the data folder with download=False (torchvision 0.29).
FOLDER_FILES: dict[str, tuple[str, ...]] = {
    "mnist": data_mod._IDX_FILES,
    "fashion-mnist": data_mod._IDX_FILES,
    "cifar10": tuple(f"data_batch_{i}" for i in range(1, 6)) + ("test_batch", "batches.meta"),
    "cifar100": ("train", "test", "meta"),
}
# Where torchvision downloads each dataset from (``MNIST.mirrors``, ``FashionMNIST.mirrors``, ``CIFAR10.url``);
# copied because importing torchvision.datasets takes seconds. tests/test_preflight.py checks they agree.
DOWNLOAD_URLS: dict[str, tuple[str, ...]] = {
    "mnist": ("https://ossci-datasets.s3.amazonaws.com/mnist/", "http://yann.lecun.com/exdb/mnist/"),
    "fashion-mnist": ("http://fashion-mnist.s3-website.eu-central-1.amazonaws.com/",),
    "cifar10": ("https://www.cs.toronto.edu/~kriz/cifar-10-python.tar.gz",),
    "cifar100": ("https://www.cs.toronto.edu/~kriz/cifar-100-python.tar.gz",),
}
SYSTEM_PACKAGES = data_mod.SYSTEM_PACKAGES  # distribution packages that install into pixelreg.experiment.data.SYSTEM_DIRS
# Seconds to wait for the download servers (all probed at once); offline machines usually fail at once (DNS).
PROBE_TIMEOUT_S = 3.0


@dataclass(frozen=True)
class Need:
    """One piece of data: a classification split (``split`` "train"/"test"), the "natural" photographs,
    an ImageNet folder (``path``) or a neural responses file (``path``)."""

    dataset: str
    split: str | None = None
    rgb: bool = False
    path: str | None = None


@dataclass
class Missing:
    """A missing piece of data: what, for how many runs, what provides it and where we looked."""

    need: Need
    looked: list[str]
    how: list[str]
    train_runs: set[str] = field(default_factory=set)
    eval_runs: set[str] = field(default_factory=set)

    @property
    def dataset(self) -> str:
        return self.need.dataset


def required_data(configs: Iterable[TrainConfig], runs_dir: str | os.PathLike | None = None,
                  available: Iterable[str] = frozenset(), evaluate: bool = True) -> dict[Need, dict[str, set[str]]]:
    """What ``configs`` need: ``{Need: {"train": run hashes, "eval": run hashes}}``.

    Runs finished in the run store need no training data; runs whose hash is in ``available`` (committed
    records), or imported from a record into the run store (record-only runs), need nothing. With ``evaluate``
    every other run needs its task's test split.
    """
    from pixelreg.experiment.runs import RunStore
    from pixelreg.experiment.train import resolve

    store = RunStore(runs_dir)   # ConfigError for a runs_dir that is a file; creates nothing
    available = set(available)
    needs: dict[Need, dict[str, set[str]]] = {}

    def add(need: Need, kind: str, h: str) -> None:
        needs.setdefault(need, {"train": set(), "eval": set()})[kind].add(h)

    for c in configs:
        try:
            c = resolve(c)   # the hash ensure_runs and the run store use
        except ConfigError as e:
            if e.param != "responses" or not c.responses:
                raise
            add(Need("responses", path=str(c.responses)), "train", config_hash(c))
            continue
        h = config_hash(c)
        run = store.get(c)
        if h in available or (run is not None and getattr(run, "record_only", False)):
            continue   # a published record: its evaluations are cached, it has no model to evaluate anew
        if evaluate:
            add(Need(c.task, "test", c.rgb), "eval", h)
        if run is not None and run.finished:
            continue
        add(Need(c.task, "train", c.rgb), "train", h)
        add(Need(c.task, "test", c.rgb), "train", h)
        if not c.regularized:
            continue
        if c.target == "neural":
            add(Need("responses", path=str(c.responses)), "train", h)
        elif c.pool_source == "natural":
            add(Need("natural"), "train", h)
        elif c.pool_source == "imagenet":
            add(Need("imagenet", path=str(c.imagenet_dir)), "train", h)
        else:
            add(Need(c.pool_source, "train", c.rgb), "train", h)
    return needs


# ----------------------------------------------------------------------------------------------- locating data

def _writable(root: Path) -> bool:
    """Could ``load_dataset`` create files under ``root`` (itself, or its nearest existing parent)?"""
    p = root
    while not p.exists() and p != p.parent:
        p = p.parent
    return p.is_dir() and os.access(p, os.W_OK | os.X_OK)


def _probe(urls: Iterable[str], timeout: float) -> dict[str, str | None]:
    """TCP-connect to each URL's host at once; ``{url: None if it answered else the reason}``.

    Daemon threads, so a resolver that hangs past ``timeout`` neither delays the caller nor its exit.
    """
    urls = list(dict.fromkeys(urls))
    result: dict[str, str | None] = {u: f"no answer within {timeout:g} s" for u in urls}

    def connect(url: str) -> None:
        u = urlparse(url)
        try:
            socket.create_connection((u.hostname, u.port or (443 if u.scheme == "https" else 80)),
                                     timeout=timeout).close()
            result[url] = None
        except OSError as e:
            result[url] = (e.strerror or str(e) or type(e).__name__)[:80]

    threads = [threading.Thread(target=connect, args=(u,), daemon=True) for u in urls]
    for t in threads:
        t.start()
    deadline = time.monotonic() + timeout
    for t in threads:
        t.join(max(0.0, deadline - time.monotonic()))
    return dict(result)


def _fetch_command(name: str, root: Path) -> str:
    return (f"PIXELREG_DATA_DIR={root} python -c \"from pixelreg.experiment.data import load_dataset as l; "
            f"l('{name}', 'train'); l('{name}', 'test')\"")


def _locate_local(need: Need, root: Path) -> tuple[bool, list[str]]:
    """(found, where we looked) for a classification split, in ``load_dataset``'s order, without the network."""
    name = need.dataset
    looked = []
    cache = data_mod._cache_path(root, name, need.split, need.rgb)
    if cache.is_file():
        return True, looked
    looked.append(f"{cache} (tensor cache): absent")
    folder = root / data_mod._TV[name][1]
    absent = [f for f in FOLDER_FILES[name] if not (folder / f).is_file()]
    if not absent:
        return True, looked
    looked.append(f"{folder} (torchvision files): " + (
        "absent" if not folder.is_dir() else f"missing {', '.join(absent)}"))
    writable = _writable(root)
    pkg = SYSTEM_PACKAGES.get(name)
    for sysdir in map(Path, data_mod.SYSTEM_DIRS.get(name, [])):
        gz = [f + ".gz" for f in data_mod._IDX_FILES]
        lacking = [f for f in gz if not (sysdir / f).is_file()]
        label = f"{sysdir} (system package {pkg})" if pkg else f"{sysdir} (system copy)"
        if not lacking:
            if writable:
                return True, looked
            looked.append(f"{label}: present, but the data folder {root} is not writable to unpack it into")
        else:
            looked.append(f"{label}: " + ("absent" if not sysdir.is_dir() else f"missing {', '.join(lacking)}"))
    return False, looked


def _locate_download(need: Need, root: Path, answers: dict[str, str | None] | None) -> tuple[bool, str]:
    """(a download would work, what we found) from the probe ``answers`` (None: downloads not allowed)."""
    if answers is None:
        return False, "torchvision download: not tried (download=False)"
    if not _writable(root):
        return False, f"torchvision download: the data folder {root} is not writable"
    urls = DOWNLOAD_URLS[need.dataset]
    if any(answers.get(u, "not probed") is None for u in urls):
        return True, ""
    hosts = ", ".join(f"{urlparse(u).hostname} ({answers.get(u, 'not probed')})" for u in urls)
    return False, f"torchvision download into {root}: server unreachable: {hosts}"


def _how(need: Need, root: Path) -> list[str]:
    """The ways to get a missing piece of data, best first."""
    name = need.dataset
    if name == "natural":
        return ["pip install -r requirements.txt (scikit-image and foolbox ship the photographs)",
                "or choose another reg_data"]
    if name == "imagenet":
        return ["pass --imagenet-dir / imagenet_dir: a folder of ImageNet images "
                "(e.g. ILSVRC2012 train/<synset>/*.JPEG)", "or use reg_data 'natural'"]
    if name == "responses":
        return ["pass --responses: an existing .npz of neural responses (see pixelreg.neural.predictor)"]
    tv_cls, folder = data_mod._TV[name]
    ways = []
    if name in SYSTEM_PACKAGES:
        ways.append(f"apt-get install {SYSTEM_PACKAGES[name]}   (installs "
                    f"{', '.join(map(str, data_mod.SYSTEM_DIRS.get(name, [])))}; unpacked once into {root / folder})")
    ways.append(f"with a network, torchvision's download (datasets.{tv_cls}) into the data folder: "
                f"{_fetch_command(name, root)}")
    ways.append(f"or copy torchvision's files into {root / folder}")
    return ways


def _natural_photos() -> tuple[int, list[str]]:
    """How many photographs ``natural_photos()`` would find, by file name only (no import, no decoding)."""
    found, looked = 0, []
    spec = importlib.util.find_spec("skimage")
    if spec and spec.submodule_search_locations:
        d = Path(list(spec.submodule_search_locations)[0]) / "data"
        n = sum((d / f).is_file() for f in data_mod.NATURAL_SKIMAGE_PHOTOS)
        found += n
        looked.append(f"{d}: {n} of {len(data_mod.NATURAL_SKIMAGE_PHOTOS)} photographs")
    else:
        looked.append("scikit-image: not installed")
    spec = importlib.util.find_spec("foolbox")
    if spec and spec.submodule_search_locations:
        d = Path(list(spec.submodule_search_locations)[0]) / "data"
        n = len(list(d.glob("imagenet_*"))) if d.is_dir() else 0
        found += n
        looked.append(f"{d}: {n} ImageNet samples")
    else:
        looked.append("foolbox: not installed")
    return found, looked


def find_missing(configs: Iterable[TrainConfig], runs_dir: str | os.PathLike | None = None,
                 available: Iterable[str] = frozenset(), evaluate: bool = True,
                 root: str | os.PathLike | None = None, download: bool | None = None) -> list[Missing]:
    """The data :func:`required_data` lists that cannot be found; arguments as :func:`check_datasets`."""
    configs = list(configs)
    needs = required_data(configs, runs_dir, available, evaluate)
    root = Path(root).expanduser() if root is not None else data_mod.default_root()
    local = {n: _locate_local(n, root) for n in needs if n.split is not None}
    # Only what no local source has is looked for on the network, all servers at once.
    urls = [u for n, (ok, _) in local.items() if not ok for u in DOWNLOAD_URLS[n.dataset]]
    answers: dict[str, str | None] | None = None
    if download is None:
        answers = _probe(urls, PROBE_TIMEOUT_S) if urls else {}
    elif download:
        answers = {u: None for u in urls}
    pool_sizes: dict[str, int] = {}   # the largest ImageNet pool drawn from each folder
    for c in configs:
        if c.pool_source == "imagenet" and c.imagenet_dir:
            pool_sizes[str(c.imagenet_dir)] = max(pool_sizes.get(str(c.imagenet_dir), 0), c.pool_size)
    out: list[Missing] = []
    for need, runs in needs.items():
        if need.split is not None:
            ok, looked = local[need]
            if not ok:
                ok, line = _locate_download(need, root, answers)
                looked = looked + [line]
        elif need.dataset == "natural":
            n, looked = _natural_photos()
            ok = n > 0
        elif need.dataset == "imagenet":
            try:   # the folder exists and holds enough image files (counting stops there)
                data_mod.resolve_imagenet_dir(need.path, pool_sizes.get(need.path, 2))
                ok, looked = True, []
            except ConfigError as e:
                ok, looked = False, [str(e)]
        else:   # responses
            ok = Path(need.path).expanduser().is_file()
            looked = [f"{need.path}: absent"]
        if not ok:
            out.append(Missing(need, looked, _how(need, root), runs["train"], runs["eval"]))
    out.sort(key=lambda m: (m.dataset, m.need.split != "train", m.need.rgb))
    return out


def format_missing(missing: list[Missing], root: Path | None = None) -> str:
    """One message for all missing data, one entry per dataset (its splits together)."""
    root = Path(root) if root is not None else data_mod.default_root()
    groups: dict[str, list[Missing]] = {}
    for m in missing:
        groups.setdefault(m.dataset, []).append(m)
    lines = [f"{len(groups)} dataset(s) needed before training are missing; nothing was trained:"]
    for name, ms in groups.items():
        splits = list(dict.fromkeys(m.need.split for m in ms if m.need.split))
        what = name + (f" ({' and '.join(splits)} split{'s' if len(splits) > 1 else ''}"
                       f"{', rgb' if any(m.need.rgb for m in ms) else ''})" if splits else "")
        if ms[0].need.path:
            what += f" {ms[0].need.path}"
        train = set().union(*(m.train_runs for m in ms))
        ev = set().union(*(m.eval_runs for m in ms))
        used = " and ".join(s for s in (f"{len(train)} run(s) to train" if train else "",
                                        f"{len(ev)} run(s) to evaluate" if ev else "") if s)
        lines.append(f"- {what}, needed by {used}")
        lines.append("    get it:")
        lines.extend(f"      {w}" for w in ms[0].how)
        lines.append("    looked in:")
        seen: list[str] = []
        for m in ms:
            seen.extend(p for p in m.looked if p not in seen)
        seen.sort(key=lambda p: "(tensor cache)" not in p)   # stable: caches first, then load_dataset's order
        lines.extend(f"      {p}" for p in seen)
    if any(m.need.split for m in missing):
        lines.append(f"The data folder is $PIXELREG_DATA_DIR, now {root}.")
    return "\n".join(lines)


def check_datasets(configs: Iterable[TrainConfig], runs_dir: str | os.PathLike | None = None,
                   available: Iterable[str] = frozenset(), *, evaluate: bool = True,
                   root: str | os.PathLike | None = None, download: bool | None = None) -> None:
    """Raise :class:`~pixelreg.errors.MissingDataError` listing every dataset ``configs`` need but lack.

    Args:
        configs: the runs about to be trained and evaluated (e.g. every config of the book's figures).
        runs_dir: the run store (default ``$PIXELREG_RUNS_DIR`` or ``data/runs``); read, never written.
        available: config hashes covered by committed records: these runs need no data at all.
        evaluate: the runs will be evaluated, so each needs its task's test split (False for a sweep).
        root: the data folder (default ``$PIXELREG_DATA_DIR`` or ``data/datasets``).
        download: None = count a torchvision download as a source when its server answers within
            ``PROBE_TIMEOUT_S`` s; True = count it without asking; False = never (offline use).

    Raises:
        MissingDataError: one message naming each missing dataset, what provides it (apt package,
            download command) and every place looked in.
        ConfigError: ``runs_dir`` is not a usable folder, or a config is invalid.
    """
    missing = find_missing(configs, runs_dir, available, evaluate, root, download)
    if missing:
        raise MissingDataError(missing, format_missing(missing, root))
