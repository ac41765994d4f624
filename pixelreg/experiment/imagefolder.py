"""The ImageNet folder: where it is, which of its files a pool uses, and the digest that names that pool.

The folder is configured in one place: ``imagenet_dir`` when given, else ``$PIXELREG_IMAGENET_DIR``
(:func:`default_imagenet_dir`, :func:`resolve_imagenet_dir`; the layout is :data:`IMAGENET_LAYOUT`).
:func:`pool_files` is the one definition of the files an ImageNet pool of ``n`` images and seed ``seed`` reads,
in pool order; :func:`pixelreg.experiment.data.image_folder_pool` decodes them.

**A run is identified by its pool's images, not by the folder's path** (:func:`pool_digest`, the config field
``imagenet_sha256``): the SHA-256 of the SHA-256s of those files' bytes, in pool order. So two users whose
folders hold the same images get the same run hash wherever the folders are, and a changed byte in any file the
pool reads gives another run. Why the files' bytes, and only the pool's: the bytes determine the decoded pool
exactly (same bytes in the same order, same pool), they cost one read and no decoding (about 550 MB, 1-2 s,
for a 5,000-image ImageNet pool; decoding would take about 25 s), and a full ImageNet folder (1.28 million
files, 140 GB) is never read beyond the pool. Files the pool does not read do not enter the digest, except
through the choice itself: the seeded choice is over the sorted list of all image files, so a folder with other
files usually chooses other images and so gets another digest.

The digest is cached in memory per (folder, n, seed) and re-listed when a folder below changes (its
modification time); a file rewritten in place is seen by the next process, and training recomputes the digest
uncached and refuses a pool whose images differ from its config's (:func:`check_pool`).

No torch at import: :mod:`pixelreg.experiment.config` imports this module to name ImageNet runs.
"""
from __future__ import annotations

import hashlib
import operator
import os
from pathlib import Path

from pixelreg.errors import ConfigError
from pixelreg.hashing import content_hash

POOL_SHAPE = (1, 36, 64)       # reference ImageNet pool: Li et al.'s mouse-V1 stimulus format
CROP_HW = (144, 256)           # centre crop / window before subsampling, (H, W) in pixels
SUBSAMPLE = 4                  # keep every 4th pixel, no anti-aliasing (reference `process_imagenet`)

IMAGENET_ENV = "PIXELREG_IMAGENET_DIR"  # the ImageNet folder, beside PIXELREG_DATA_DIR and PIXELREG_RUNS_DIR
IMAGENET_POOL_SIZE = 5000  # the reference's N (--reg_image_num); the pool needs at least this many images
IMAGE_EXTS = (".jpg", ".jpeg", ".png")
IMAGENET_LAYOUT = (
    "a folder of JPEG/PNG images (*.jpg, *.jpeg, *.png in any case), searched recursively, so ImageNet's "
    "ILSVRC2012 train/<synset>/*.JPEG works as is (class subfolders are optional and the labels are not "
    f"used); it must hold at least pool_size images (the paper's N = {IMAGENET_POOL_SIZE:,}), chosen by a "
    "seeded permutation of the sorted file list; each is converted to 8-bit grayscale (PIL 'L'), "
    f"centre-cropped to {CROP_HW[0]}x{CROP_HW[1]} (HxW; smaller images are first upscaled) and subsampled by "
    f"{SUBSAMPLE} to {POOL_SHAPE[1]}x{POOL_SHAPE[2]}, as the reference's process_imagenet "
    "(reference-spec section 3)")
_PARAM = f"imagenet_dir (or ${IMAGENET_ENV})"


def default_imagenet_dir() -> Path | None:
    """The ImageNet folder from ``$PIXELREG_IMAGENET_DIR``, or None when it is unset or empty."""
    env = os.environ.get(IMAGENET_ENV, "").strip()
    return Path(env).expanduser() if env else None


def image_file(name: str) -> bool:
    """Whether a file name is one the pool reads (jpg/jpeg/png, any case)."""
    return os.path.splitext(name)[1].lower() in IMAGE_EXTS


def count_images(folder: str | os.PathLike, at_least: int | None = None) -> int:
    """Image files (jpg/jpeg/png, any case) below ``folder``; counting stops once ``at_least`` are found
    (a full ImageNet train folder holds 1.28 million files)."""
    n = 0
    for _, _, files in os.walk(folder):
        n += sum(1 for f in files if image_file(f))
        if at_least is not None and n >= at_least:
            break
    return n


def resolve_imagenet_dir(imagenet_dir: str | os.PathLike | None = None, pool_size: int | None = None) -> Path:
    """The ImageNet folder to use: ``imagenet_dir`` if given, else ``$PIXELREG_IMAGENET_DIR``, checked.

    Checks only what is cheap (the folder exists and holds at least ``pool_size`` image files, counting
    stops there), so callers can run it before any training.

    Raises:
        ConfigError: naming ``imagenet_dir`` / ``$PIXELREG_IMAGENET_DIR`` and the expected layout
            (:data:`IMAGENET_LAYOUT`) when neither is set, the folder does not exist (or is not a folder), or
            it holds fewer than ``pool_size`` (at least 1) images.
    """
    setting = f"imagenet_dir (--imagenet-dir) or ${IMAGENET_ENV}"
    if imagenet_dir is not None and str(imagenet_dir).strip():
        folder, origin = Path(imagenet_dir).expanduser(), "imagenet_dir"
    else:
        folder, origin = default_imagenet_dir(), f"${IMAGENET_ENV}"
    if folder is None:
        raise ConfigError(setting, None, f"set one of them to {IMAGENET_LAYOUT}; without ImageNet, "
                                         "reg_data 'natural' is the offline stand-in")
    if not folder.is_dir():
        raise ConfigError(f"{origin} (the ImageNet folder)", str(folder),
                          f"an existing folder; expected {IMAGENET_LAYOUT}")
    want = max(1, int(pool_size or 1))
    found = count_images(folder, want)
    if found < want:
        raise ConfigError(f"{origin} (the ImageNet folder)", str(folder),
                          f"{found} image files found, {want} needed (pool_size); expected {IMAGENET_LAYOUT}")
    return folder


# ----------------------------------------------------------------------------------- the files of a pool

# folder (resolved) -> (signature, sorted image files, folders listed); (folder, n, seed) -> (signature, digest)
_LISTINGS: dict[str, tuple[tuple, list[Path], list[Path]]] = {}
_DIGESTS: dict[tuple[str, int, int], tuple[tuple, str]] = {}


def _signature(dirs: list[Path]) -> tuple:
    """The modification times of the listed folders: a file added, removed or renamed below changes one."""
    out = []
    for d in dirs:
        try:
            out.append(d.stat().st_mtime_ns)
        except OSError:
            out.append(None)
    return tuple(out)


def _listing(folder: Path) -> tuple[tuple, list[Path]]:
    """(signature, sorted image files) of ``folder``, from the cache while no folder below has changed."""
    key = str(folder.resolve())
    hit = _LISTINGS.get(key)
    if hit is not None and _signature(hit[2]) == hit[0]:
        return hit[0], hit[1]
    entries = list(folder.rglob("*"))
    files = sorted(p for p in entries if image_file(p.name) and p.is_file())  # the order the choice indexes
    dirs = [folder] + [p for p in entries if p.is_dir()]
    sig = _signature(dirs)
    _LISTINGS[key] = (sig, files, dirs)
    return sig, files


def image_files(path: str | os.PathLike) -> list[Path]:
    """The image files below ``path``, sorted: the list a pool's seeded choice indexes (cached per folder,
    re-listed when a folder below changes)."""
    folder = Path(path).expanduser()
    if not folder.is_dir():
        raise ConfigError(_PARAM, str(folder), f"an existing folder; expected {IMAGENET_LAYOUT}")
    return list(_listing(folder)[1])


def pool_files(path: str | os.PathLike, n: int, seed: int = 0) -> list[Path]:
    """The ``n`` files an ImageNet pool with seed ``seed`` reads, in pool order: ``torch.randperm`` of the
    sorted file list (:func:`image_files`) seeded with ``seed``, first ``n``.

    Raises:
        ConfigError: ``path`` is not a folder (naming ``imagenet_dir``), or ``n`` is out of range (naming
            ``pool_size``).
    """
    import torch  # the choice is torch's permutation, as it always was; not needed to import this module

    folder = Path(path).expanduser()
    files = image_files(folder)
    n = _count(n)
    if not 1 <= n <= len(files):
        raise ConfigError("pool_size", n, f"1 <= pool_size <= {len(files)} (images found under {folder}; "
                                          f"expected {IMAGENET_LAYOUT})")
    chosen = torch.randperm(len(files), generator=torch.Generator().manual_seed(int(seed)))[:n]
    return [files[i] for i in chosen.tolist()]


def _count(n) -> int:
    try:
        return operator.index(n)
    except TypeError:
        raise ConfigError("pool_size", n, "an integer >= 1") from None


def _file_sha256(path: Path) -> bytes:
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            h.update(chunk)
    return h.digest()


def pool_digest(path: str | os.PathLike, n: int, seed: int = 0, cached: bool = True) -> str:
    """The SHA-256 (64 hex digits) that names an ImageNet pool: of the SHA-256s of its files' bytes, in pool
    order (:func:`pool_files`). The folder's path does not enter it.

    Args:
        path: the ImageNet folder.
        n: pool size N; seed: the run's seed (the choice of files).
        cached: use this process's cache (re-listed when a folder below changes); False reads every file.

    Raises:
        ConfigError: naming ``imagenet_dir`` when ``path`` is missing, not a folder or holds fewer than ``n``
            images; naming ``pool_size`` when ``n`` < 1.
    """
    n = _count(n)
    if n < 1:
        raise ConfigError("pool_size", n, "an integer >= 1")
    if path is None or not str(path).strip():
        path = resolve_imagenet_dir(path, n)  # $PIXELREG_IMAGENET_DIR
    key = (str(Path(path).expanduser().resolve()), n, int(seed))
    hit = _DIGESTS.get(key)
    listed = _LISTINGS.get(key[0])
    if cached and hit is not None and listed is not None and _signature(listed[2]) == listed[0] == hit[0]:
        return hit[1]  # no folder below changed since: the same files in the same order
    folder = resolve_imagenet_dir(path, n)  # the checks, with their messages (naming imagenet_dir)
    sig, _ = _listing(folder)
    digest = content_hash(*(_file_sha256(p) for p in pool_files(folder, n, seed)), length=None)
    _DIGESTS[key] = (sig, digest)
    return digest


def check_pool(path: str | os.PathLike, n: int, seed: int, expected: str | None) -> None:
    """Before training: the folder's pool (read now, uncached) must be the one the run is named by.

    Raises:
        ConfigError: naming ``imagenet_dir`` when the digest differs from ``expected`` (the folder holds other
            images than the ones the run's config was made from).
    """
    if expected is None:
        return
    got = pool_digest(path, n, seed, cached=False)
    if got != expected:
        raise ConfigError(_PARAM, str(path), f"a folder whose pool images (N={n}, seed {seed}) have the run's "
                          f"digest imagenet_sha256={expected[:12]}...; this folder's give {got[:12]}... "
                          "(other images, or images changed since the run was planned)")


__all__ = ["IMAGENET_ENV", "IMAGENET_LAYOUT", "IMAGENET_POOL_SIZE", "IMAGE_EXTS", "POOL_SHAPE", "CROP_HW",
           "SUBSAMPLE", "default_imagenet_dir", "image_file", "count_images", "resolve_imagenet_dir", "image_files",
           "pool_files", "pool_digest", "check_pool"]
