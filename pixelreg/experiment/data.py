"""Datasets, the train/valid split, CIFAR augmentation and the regularization image pool.

Everything here returns ``uint8`` tensors ``(N, C, H, W)`` with values in [0, 255] and ``int64``
labels; model-facing code converts batches with ``images.float() / 255``.

Where the classification data comes from (``load_dataset(source="auto")``, first hit wins):

1. the tensor cache ``<root>/pixelreg-cache/<name>-<split>-<gray|rgb>.pt`` written by an earlier load;
2. the data folder ``<root>`` in torchvision's layout (``MNIST/raw``, ``FashionMNIST/raw``,
   ``cifar-10-batches-py``, ``cifar-100-python``), read with ``download=False``;
3. a system copy: Debian's ``dataset-fashion-mnist`` package (Fashion-MNIST only), gunzipped once
   into the data folder's torchvision layout;
4. torchvision's download into the data folder (the normal path for users with a network).

``root`` defaults to ``$PIXELREG_DATA_DIR``, else ``<repo>/data/datasets``.

The regularization pool (``build_pool``) follows the reference code: the first N *training* images
of ``reg_data`` in a seeded order, CIFAR images cropped/flipped once and frozen; or 36x64 grayscale
natural images made like the reference's ImageNet pool (``"natural"``: photographs shipped inside
installed packages, the offline stand-in; ``"imagenet"``: a folder of the user's ImageNet images).

The ImageNet folder is configured in one place: ``imagenet_dir`` when given, else ``$PIXELREG_IMAGENET_DIR``
(:mod:`pixelreg.experiment.imagefolder`, re-exported here: :func:`default_imagenet_dir`,
:func:`resolve_imagenet_dir`, the layout :data:`IMAGENET_LAYOUT`, the files a pool reads and their digest).
"""
from __future__ import annotations

import contextlib
import gzip
import os
import shutil
import socket
from dataclasses import dataclass
from pathlib import Path
from typing import Iterator

import numpy as np
import torch

from pixelreg.experiment.atomic import atomic_write
from pixelreg.experiment.config import NUM_CLASSES, REG_DATA  # noqa: F401 - re-exported: data.NUM_CLASSES
from pixelreg.experiment.config import TASKS as DATASETS
from pixelreg.errors import ConfigError, DataNotFoundError
# the ImageNet folder and the pool format: owned by imagefolder, re-exported here (data.IMAGENET_ENV ...)
from pixelreg.experiment.imagefolder import (CROP_HW, IMAGENET_ENV, IMAGENET_LAYOUT, IMAGENET_POOL_SIZE,  # noqa: F401
                                             POOL_SHAPE, SUBSAMPLE, count_images, default_imagenet_dir, pool_files,
                                             resolve_imagenet_dir)

SPLITS = ("train", "test")
SOURCES = ("auto", "local", "torchvision", "system", "samples")

# Shapes as stored by the original datasets; load_dataset(rgb=False) returns 1 channel for all.
NATIVE_SHAPES = {"mnist": (1, 28, 28), "fashion-mnist": (1, 28, 28),
                 "cifar10": (3, 32, 32), "cifar100": (3, 32, 32)}
# Official split sizes (train, test); the validation split is carved out of "train".
SPLIT_SIZES = {"mnist": (60_000, 10_000), "fashion-mnist": (60_000, 10_000),
               "cifar10": (50_000, 10_000), "cifar100": (50_000, 10_000)}

CIFAR_PAD = 4                  # RandomCrop(32, padding=4, padding_mode="reflect")

# torchvision class name and folder inside root, per dataset.
_TV = {"mnist": ("MNIST", "MNIST/raw"), "fashion-mnist": ("FashionMNIST", "FashionMNIST/raw"),
       "cifar10": ("CIFAR10", "cifar-10-batches-py"), "cifar100": ("CIFAR100", "cifar-100-python")}
# Distribution packages that install a dataset; module-level so tests can point them elsewhere.
SYSTEM_DIRS: dict[str, list[str]] = {"fashion-mnist": ["/usr/share/datasets/fashion-mnist"]}
SYSTEM_PACKAGES = {"fashion-mnist": "dataset-fashion-mnist"}  # Debian packages that install into SYSTEM_DIRS
_IDX_FILES = ("train-images-idx3-ubyte", "train-labels-idx1-ubyte",
              "t10k-images-idx3-ubyte", "t10k-labels-idx1-ubyte")
_FOOLBOX_NAMES = {"mnist": "mnist", "fashion-mnist": "fashionMNIST", "cifar10": "cifar10",
                  "cifar100": "cifar100", "imagenet": "imagenet"}
# A firewall that drops packets would otherwise make urllib wait for the OS TCP timeout (minutes).
DOWNLOAD_TIMEOUT_S = 30.0


@dataclass(frozen=True)
class Dataset:
    """One split of a classification dataset, held in memory.

    Attributes:
        images: (N, C, H, W) uint8 in [0, 255]; C = 1 unless loaded with ``rgb=True``.
        labels: (N,) int64 class indices in [0, NUM_CLASSES[name]).
        name: one of ``DATASETS``.
        source: where the pixels came from: "folder", "system", "download" or "samples".
        cached: True when read from the tensor cache written by an earlier load of that source.
    """

    images: torch.Tensor
    labels: torch.Tensor
    name: str
    source: str
    cached: bool = False

    def __len__(self) -> int:
        return int(self.labels.shape[0])

    def __repr__(self) -> str:
        return (f"Dataset(name={self.name!r}, images={tuple(self.images.shape)} uint8, "
                f"source={self.source!r}, cached={self.cached})")


# ----------------------------------------------------------------------------- paths and checks

def default_root() -> Path:
    """The data folder: ``$PIXELREG_DATA_DIR`` if set, else ``<repo>/data/datasets``."""
    env = os.environ.get("PIXELREG_DATA_DIR")
    if env:
        return Path(env).expanduser()
    return Path(__file__).resolve().parents[2] / "data" / "datasets"


def _check_name(name: str, param: str = "dataset", allowed: tuple[str, ...] = DATASETS) -> None:
    if name not in allowed:
        raise ConfigError(param, name, "one of " + ", ".join(allowed))


def _check_rgb(name: str, rgb: bool) -> None:
    if rgb and NATIVE_SHAPES.get(name, (1,))[0] != 3:
        raise ConfigError("rgb", rgb, f"rgb=True only for cifar10/cifar100; {name!r} has 1 channel")


def image_shape(name: str, rgb: bool = False) -> tuple[int, int, int]:
    """(C, H, W) of the images ``load_dataset(name, rgb=rgb)`` returns."""
    _check_name(name)
    _check_rgb(name, rgb)
    c, h, w = NATIVE_SHAPES[name]
    return (c if rgb else 1, h, w)


def _how_to_get(name: str, root: Path) -> str:
    tv_cls, folder = _TV[name]
    how = (f"run once with a network (load_dataset({name!r}) downloads through "
           f"torchvision.datasets.{tv_cls}), or copy the torchvision files into {root / folder}")
    if name in SYSTEM_PACKAGES:
        how += f", or install Debian's copy: apt-get install {SYSTEM_PACKAGES[name]}"
    return how + ". The data folder is --data-dir / $PIXELREG_DATA_DIR."


# ----------------------------------------------------------------------------- grayscale

def to_grayscale(images: torch.Tensor) -> torch.Tensor:
    """ITU-R 601 luma of RGB images, bit-exact with PIL's ``convert("L")``.

    torchvision's ``Grayscale`` on PIL images (the reference pipeline) calls PIL, which computes
    ``(19595 R + 38470 G + 7471 B + 2**15) >> 16``, i.e. 0.299 R + 0.587 G + 0.114 B rounded half up.

    Args:
        images: (N, 3, H, W) uint8 RGB (a (N, 1, H, W) input is returned unchanged).

    Returns:
        (N, 1, H, W) uint8 in [0, 255].
    """
    if images.dtype != torch.uint8:
        raise ConfigError("images.dtype", images.dtype, "uint8 images in [0, 255]")
    if images.shape[1] == 1:
        return images
    x = images.to(torch.int32)
    y = (x[:, 0:1] * 19595 + x[:, 1:2] * 38470 + x[:, 2:3] * 7471 + 32768) >> 16
    return y.to(torch.uint8)


# ----------------------------------------------------------------------------- sources

def _cache_path(root: Path, name: str, split: str, rgb: bool) -> Path:
    return root / "pixelreg-cache" / f"{name}-{split}-{'rgb' if rgb else 'gray'}.pt"


@contextlib.contextmanager
def _socket_timeout(seconds: float) -> Iterator[None]:
    # torchvision's urllib calls take no timeout argument; the process default is the only knob.
    old = socket.getdefaulttimeout()
    socket.setdefaulttimeout(seconds)
    try:
        yield
    finally:
        socket.setdefaulttimeout(old)


def _torchvision(name: str, split: str, root: Path, download: bool) -> tuple[torch.Tensor, torch.Tensor]:
    """Read (and if asked, download) with torchvision; returns native-channel uint8 and int64."""
    import torchvision

    cls = getattr(torchvision.datasets, _TV[name][0])
    ds = cls(str(root), train=(split == "train"), download=download)
    data = torch.as_tensor(np.asarray(ds.data))
    if data.ndim == 3:                      # (F)MNIST: (N, H, W)
        images = data.unsqueeze(1)
    else:                                   # CIFAR: (N, H, W, 3) numpy
        images = data.permute(0, 3, 1, 2)
    return images.contiguous().to(torch.uint8), torch.as_tensor(ds.targets, dtype=torch.int64)


def _extract_system_copy(name: str, root: Path) -> Path | None:
    """Gunzip a distribution package's IDX files into ``<root>/<torchvision raw folder>``.

    The Debian .gz files differ byte-wise from torchvision's (other md5), but torchvision reads the
    uncompressed IDX files without a checksum, so extracting them is enough. Returns the system
    folder used, or None when no complete copy is installed.
    """
    for sysdir in map(Path, SYSTEM_DIRS.get(name, [])):
        gz = [sysdir / (f + ".gz") for f in _IDX_FILES]
        if not all(p.is_file() for p in gz):
            continue
        raw = root / _TV[name][1]
        for src, f in zip(gz, _IDX_FILES):
            if not (raw / f).is_file():
                def write(tmp: str, src: Path = src) -> None:
                    with gzip.open(src, "rb") as fin, open(tmp, "wb") as fout:
                        shutil.copyfileobj(fin, fout, 1 << 20)
                atomic_write(raw / f, write)
        return sysdir
    return None


def _foolbox_dir() -> Path:
    import foolbox

    return Path(foolbox.__file__).resolve().parent / "data"


def _foolbox_files(dataset: str) -> list[tuple[Path, int]]:
    """foolbox's bundled samples ``<dataset>_<ii>_<label>.<ext>``, sorted by index ii."""
    prefix = _FOOLBOX_NAMES[dataset] + "_"
    out = []
    for p in _foolbox_dir().iterdir():
        parts = p.stem.split("_")
        # "cifar10_" is a prefix of no "cifar100_" file name, but check the part count anyway.
        if p.name.startswith(prefix) and len(parts) == 3 and parts[0] == _FOOLBOX_NAMES[dataset]:
            out.append((int(parts[1]), p, int(parts[2])))
    return [(p, label) for _, p, label in sorted(out)]


def _samples(name: str) -> tuple[torch.Tensor, torch.Tensor]:
    from PIL import Image

    files = _foolbox_files(name)
    imgs = [np.asarray(Image.open(p)) for p, _ in files]
    arr = np.stack(imgs)
    images = torch.from_numpy(arr).unsqueeze(1) if arr.ndim == 3 else torch.from_numpy(arr).permute(0, 3, 1, 2)
    return images.contiguous(), torch.tensor([label for _, label in files], dtype=torch.int64)


def load_dataset(name: str, split: str = "train", root: str | os.PathLike | None = None,
                 rgb: bool = False, source: str = "auto") -> Dataset:
    """Load one split of a classification dataset into memory.

    Args:
        name: one of ``DATASETS``: "mnist", "fashion-mnist", "cifar10", "cifar100".
        split: "train" (the official training set, before the validation split) or "test".
        root: data folder; default ``$PIXELREG_DATA_DIR``, else ``<repo>/data/datasets``.
        rgb: keep 3 colour channels (CIFAR only). Default: grayscale, the reference default,
            computed like torchvision's ``Grayscale`` (see ``to_grayscale``).
        source: where to look.
            "auto": cache, data folder, system copy, then torchvision download.
            "local": the same without the download; never touches the network.
            "torchvision": data folder, then download (skips the cache and the system copy).
            "system": the distribution package only (Fashion-MNIST: ``dataset-fashion-mnist``).
            "samples": foolbox's 20 bundled real images, for fast tests. They are the same 20 for
            both splits (for (Fashion-)MNIST they are the first 20 *test* images).

    Returns:
        A ``Dataset`` with ``images`` (N, C, H, W) uint8 in [0, 255] and ``labels`` (N,) int64.
        Loads from folder/system/download write a tensor cache, so the next load takes well
        under a second; delete ``<root>/pixelreg-cache`` after replacing the raw files.

    Raises:
        ConfigError: unknown name, split or source, or ``rgb=True`` for a 1-channel dataset.
        DataNotFoundError: no source has the data; the message lists where we looked.
    """
    _check_name(name)
    if split not in SPLITS:
        raise ConfigError("split", split, "one of " + ", ".join(SPLITS))
    if source not in SOURCES:
        raise ConfigError("source", source, "one of " + ", ".join(SOURCES))
    _check_rgb(name, rgb)

    def finish(images: torch.Tensor, labels: torch.Tensor, src: str, cached: bool = False) -> Dataset:
        if not rgb:
            images = to_grayscale(images)
        return Dataset(images=images, labels=labels, name=name, source=src, cached=cached)

    if source == "samples":
        return finish(*_samples(name), "samples")

    root = Path(root).expanduser() if root is not None else default_root()
    cache = _cache_path(root, name, split, rgb)
    looked: list[str] = []

    if source in ("auto", "local"):
        if cache.is_file():
            blob = torch.load(cache, weights_only=True)
            return Dataset(images=blob["images"], labels=blob["labels"], name=name,
                           source=blob["source"], cached=True)
        looked.append(f"{cache} (tensor cache): absent")

    def store(images: torch.Tensor, labels: torch.Tensor, src: str) -> Dataset:
        ds = finish(images, labels, src)
        blob = {"images": ds.images, "labels": ds.labels, "source": src}
        try:
            atomic_write(cache, lambda tmp: torch.save(blob, tmp))
        except OSError:
            pass   # a read-only data folder still works, only without the speed-up
        return ds

    folder = root / _TV[name][1]
    if source in ("auto", "local", "torchvision"):
        try:
            return store(*_torchvision(name, split, root, download=False), "folder")
        except (RuntimeError, OSError) as e:
            looked.append(f"{folder} (torchvision layout): {str(e).splitlines()[0][:120]}")

    if source in ("auto", "local", "system"):
        sysdirs = SYSTEM_DIRS.get(name, [])
        try:
            used = _extract_system_copy(name, root)
        except OSError as e:
            used = None
            looked.append(f"system copy {sysdirs} -> {folder}: extraction failed ({e})")
        if used is not None:
            return store(*_torchvision(name, split, root, download=False), "system")
        if sysdirs:
            looked.extend(f"{d} (system package): absent" for d in sysdirs)
        else:
            looked.append(f"system copy: no distribution package known for {name!r}")

    if source in ("auto", "torchvision"):
        try:
            with _socket_timeout(DOWNLOAD_TIMEOUT_S):
                return store(*_torchvision(name, split, root, download=True), "download")
        except Exception as e:  # noqa: BLE001 - urllib, http and torchvision all raise their own types
            reason = " ".join(str(e).split())[:240]   # torchvision puts the cause on later lines
            looked.append(f"torchvision download into {root}: failed ({reason})")

    raise DataNotFoundError(name, looked, _how_to_get(name, root))


# ----------------------------------------------------------------------------- split, augmentation

def train_valid_split(n: int, valid_portion: float = 0.01, seed: int = 0) -> tuple[torch.Tensor, torch.Tensor]:
    """Seeded split of ``range(n)`` into training and validation indices.

    The reference holds out 1% of the official training set (600 images for (F)MNIST, 500 for
    CIFAR). It draws them with Python's ``random.sample``; we draw with a ``torch.Generator`` so no
    global RNG is touched, which gives a different (equally random) subset for the same seed.

    Args:
        n: size of the official training split.
        valid_portion: fraction in (0, 1) held out; the count is ``int(n * valid_portion)``.
        seed: integer seed.

    Returns:
        ``(train_idx, valid_idx)``: sorted int64 tensors, disjoint, together ``range(n)``.
    """
    if not 0.0 < valid_portion < 1.0:
        raise ConfigError("valid_portion", valid_portion, "a fraction strictly between 0 and 1")
    n_valid = int(n * valid_portion)
    if n_valid < 1 or n_valid >= n:
        raise ConfigError("n", n, f"large enough that valid_portion={valid_portion} leaves >= 1 "
                                  "image in each part")
    perm = torch.randperm(n, generator=torch.Generator().manual_seed(int(seed)))
    return perm[n_valid:].sort().values, perm[:n_valid].sort().values



def run_split(n: int, config) -> tuple[torch.Tensor, torch.Tensor]:
    """(training indices, validation indices) of a run (a TrainConfig): :func:`train_valid_split` by the run's
    seed, the training part cut to ``config.train_subset`` (ConfigError when the split has fewer images)."""
    tr_idx, va_idx = train_valid_split(n, config.valid_portion, seed=config.seed)
    if config.train_subset is not None:
        if config.train_subset > len(tr_idx):
            raise ConfigError("train_subset", config.train_subset, f"at most {len(tr_idx)} for {config.task}")
        tr_idx = tr_idx[: config.train_subset]
    return tr_idx, va_idx


def augment_batch(images: torch.Tensor, generator: torch.Generator, padding: int = CIFAR_PAD) -> torch.Tensor:
    """CIFAR training augmentation on a whole batch: reflect-pad, random crop, random h-flip.

    Per image, like torchvision's ``RandomCrop(H, padding=4, padding_mode="reflect")`` followed by
    ``RandomHorizontalFlip()``: offsets uniform in {0..2*padding} for rows and columns, flip with
    probability 1/2. Done with one gather instead of padding: index ``p`` of the padded axis maps to
    ``reflect(p - padding)`` of the input, so the padded copy is never materialised.

    Args:
        images: (N, C, H, W) uint8 (any dtype works), H and W > padding.
        generator: CPU ``torch.Generator``; the same state gives the same output.
        padding: reflect padding in pixels (4 in the reference).

    Returns:
        (N, C, H, W), same dtype and device as ``images``.
    """
    n, c, h, w = images.shape
    if padding < 0 or padding >= min(h, w):
        raise ConfigError("padding", padding, f"0 <= padding < min(H, W) = {min(h, w)}")
    offsets = torch.randint(0, 2 * padding + 1, (n, 2), generator=generator)
    flips = torch.rand(n, generator=generator) < 0.5

    def reflect(idx: torch.Tensor, size: int) -> torch.Tensor:
        idx = idx.abs()                                   # left/top: -i -> i (edge not repeated)
        return torch.where(idx >= size, 2 * (size - 1) - idx, idx)

    rows = reflect(offsets[:, :1] + torch.arange(h) - padding, h)          # (N, H)
    cols = offsets[:, 1:] + torch.arange(w) - padding                      # (N, W)
    cols = torch.where(flips[:, None], cols.flip(1), cols)
    cols = reflect(cols, w)
    dev = images.device
    rows, cols = rows.to(dev), cols.to(dev)
    batch = torch.arange(n, device=dev)[:, None, None, None]
    chan = torch.arange(c, device=dev)[None, :, None, None]
    return images[batch, chan, rows[:, None, :, None], cols[:, None, None, :]]


# ----------------------------------------------------------------------------- regularization pool

def build_pool(reg_data: str, pool_size: int, seed: int, root: str | os.PathLike | None = None,
               rgb: bool = False, imagenet_dir: str | os.PathLike | None = None,
               source: str = "auto") -> torch.Tensor:
    """The N regularization images, as the reference builds them.

    - Datasets: the first ``pool_size`` images (indices 0..N-1) of the *training* split, in the
      order of ``torch.randperm(N)`` drawn from a generator seeded with ``seed`` (reference
      ``fetch_reg_data``). The pool may overlap the task's train/valid images, as in the reference.
    - CIFAR: each image gets one random reflect-pad-4 crop and h-flip (same generator), frozen for
      the run, as in the reference (so S^pixel is computed on augmented images).
    - "natural": ``natural_image_pool(pool_size, seed)``; "imagenet":
      ``image_folder_pool(imagenet_dir, pool_size, seed)`` with the folder of
      :func:`resolve_imagenet_dir` (``imagenet_dir``, else ``$PIXELREG_IMAGENET_DIR``). Both (N, 1, 36, 64).

    Args:
        reg_data: one of ``REG_DATA`` = DATASETS + ("natural", "imagenet").
        pool_size: N >= 2, at most the training split size (or what the image source can give).
        seed: integer seed for the order and the frozen augmentation.
        root, rgb, source: passed to ``load_dataset``; rgb only for CIFAR reg data.
        imagenet_dir: folder of ImageNet images for "imagenet"; None = ``$PIXELREG_IMAGENET_DIR``.

    Returns:
        (N, C, H, W) uint8 in [0, 255].
    """
    _check_name(reg_data, "reg_data", REG_DATA)
    if not isinstance(pool_size, (int, np.integer)) or pool_size < 2:
        raise ConfigError("pool_size", pool_size, "an integer >= 2 (pairs need two images)")
    if reg_data in ("natural", "imagenet"):
        if rgb:
            raise ConfigError("rgb", rgb, f"rgb=True only for cifar10/cifar100 reg data, not {reg_data!r}")
        if reg_data == "natural":
            return natural_image_pool(int(pool_size), seed)
        return image_folder_pool(resolve_imagenet_dir(imagenet_dir), int(pool_size), seed)

    _check_rgb(reg_data, rgb)
    n_train = SPLIT_SIZES[reg_data][0]
    if source == "samples":
        n_train = len(_foolbox_files(reg_data))
    if pool_size > n_train:
        raise ConfigError("pool_size", pool_size, f"2 <= pool_size <= {n_train} "
                                                  f"(training images of {reg_data})")
    ds = load_dataset(reg_data, "train", root=root, rgb=rgb, source=source)
    gen = torch.Generator().manual_seed(int(seed))
    pool = ds.images[:pool_size][torch.randperm(pool_size, generator=gen)]
    if reg_data in ("cifar10", "cifar100"):
        pool = augment_batch(pool, gen)
    return pool.contiguous()


def _gray_array(img) -> np.ndarray:
    """PIL image -> (H, W) uint8 with PIL's "L" conversion (alpha and palettes handled by PIL)."""
    if img.mode not in ("L", "RGB"):
        img = img.convert("RGB")
    return np.asarray(img.convert("L"), dtype=np.uint8)


def _at_least_crop(gray: np.ndarray) -> np.ndarray:
    """Upscale (bicubic, aspect kept) an image smaller than 144x256 so that the crop fits.

    The reference simply assumes ImageNet images are large enough; upscaling is our choice, the
    alternative (padding) would put artificial flat borders into S^pixel.
    """
    from PIL import Image

    h, w = gray.shape
    ch, cw = CROP_HW
    if h >= ch and w >= cw:
        return gray
    scale = max(ch / h, cw / w)
    size = (max(cw, int(np.ceil(w * scale))), max(ch, int(np.ceil(h * scale))))
    return np.asarray(Image.fromarray(gray).resize(size, Image.BICUBIC), dtype=np.uint8)


def _subsample(window: np.ndarray) -> np.ndarray:
    return window[::SUBSAMPLE, ::SUBSAMPLE]


def image_folder_pool(path: str | os.PathLike, n: int, seed: int = 0) -> torch.Tensor:
    """A 36x64 grayscale pool from a folder of images (e.g. ImageNet), like the reference's.

    Files ``*.jpg``, ``*.jpeg``, ``*.png`` (any case) anywhere below ``path`` are listed in sorted
    order; ``n`` of them are chosen by ``torch.randperm`` seeded with ``seed``. Each is processed
    exactly like the reference's ``process_imagenet``: PIL "L" grayscale; centre crop 144x256
    (HxW; offsets ``int(round((H - 144) / 2))``, ``int(round((W - 256) / 2))`` as torchvision's
    ``CenterCrop``); keep every 4th pixel, no anti-aliasing. Images smaller than 144x256 are first
    upscaled (bicubic, aspect kept) until the crop fits; the reference has no such case.

    Args:
        path: folder searched recursively (``IMAGENET_LAYOUT``).
        n: number of images, 1 <= n <= number of files.
        seed: integer seed for the choice.

    Returns:
        (n, 1, 36, 64) uint8 in [0, 255].

    Raises:
        ConfigError: ``path`` is not a folder (naming ``imagenet_dir`` / ``$PIXELREG_IMAGENET_DIR`` and the
            layout), or ``n`` is out of range (naming ``pool_size``).
    """
    from PIL import Image

    files = pool_files(path, n, seed)  # the one definition of the files a pool reads, and its checks
    ch, cw = CROP_HW
    out = np.empty((len(files), *POOL_SHAPE), dtype=np.uint8)
    for k, file in enumerate(files):
        with Image.open(file) as img:
            gray = _at_least_crop(_gray_array(img))
        h, w = gray.shape
        top, left = int(round((h - ch) / 2.0)), int(round((w - cw) / 2.0))
        out[k, 0] = _subsample(gray[top:top + ch, left:left + cw])
    return torch.from_numpy(out)


# Photographs bundled inside scikit-image (files in skimage/data, no network needed). Synthetic
# images (chessboard, colour wheel, logo, phantom, horse silhouette), near-duplicates
# (motorcycle_right) and medical/microscopy/text images are left out to stay close to ImageNet.
NATURAL_SKIMAGE_PHOTOS = ("astronaut.png", "brick.png", "camera.png", "chelsea.png",
                          "clock_motion.png", "coffee.png", "coins.png", "grass.png", "gravel.png",
                          "hubble_deep_field.jpg", "moon.png", "motorcycle_left.png", "rocket.jpg")
# Patches this flat carry no similarity information (e.g. black sky); skipped.
_MIN_PATCH_STD = 2.0

_PHOTOS: list[tuple[str, np.ndarray]] | None = None
_NATURAL_CACHE: dict[tuple[int, int], torch.Tensor] = {}


def natural_photos() -> list[tuple[str, np.ndarray]]:
    """The photographs behind ``natural_image_pool``: (name, (H, W) uint8 "L" grayscale), at
    least 144x256 each: the skimage photos in ``NATURAL_SKIMAGE_PHOTOS`` that are installed, then
    foolbox's 20 ImageNet samples (512x512 JPEGs)."""
    global _PHOTOS
    if _PHOTOS is None:
        import skimage
        from PIL import Image

        photos = []
        skdir = Path(skimage.__file__).resolve().parent / "data"
        for fname in NATURAL_SKIMAGE_PHOTOS:
            if (skdir / fname).is_file():
                with Image.open(skdir / fname) as img:
                    photos.append((f"skimage/{fname}", _at_least_crop(_gray_array(img))))
        for p, _ in _foolbox_files("imagenet"):
            with Image.open(p) as img:
                photos.append((f"foolbox/{p.name}", _at_least_crop(_gray_array(img))))
        _PHOTOS = photos
    return _PHOTOS


def natural_image_pool(n: int, seed: int = 0) -> torch.Tensor:
    """N distinct 36x64 grayscale patches of real photographs, made like the reference ImageNet pool.

    Each patch is a 144x256 (HxW) window of a photo from ``natural_photos()`` (scikit-image's bundled
    photographs and foolbox's 20 ImageNet samples, "L" grayscale), optionally flipped left-right,
    then subsampled by keeping every 4th pixel (no anti-aliasing) -> 36x64, as in the reference's
    ``process_imagenet``. Unlike the reference's single centre crop per image, windows sit at
    seeded random positions so that ~33 photos give many patches. Photos are visited round-robin,
    each walking its own seeded random order of (y, x, flip), so all photos contribute equally and
    ``natural_image_pool(n, s)`` is a prefix of ``natural_image_pool(m, s)`` for m > n. Patches
    that repeat an earlier one pixel for pixel, or are nearly flat (std < 2 grey levels), are
    skipped, so all patches are distinct. Results are cached in memory per (n, seed).

    Args:
        n: number of patches, >= 1 (tens of millions of windows exist; 10,000 takes ~1 s).
        seed: integer seed.

    Returns:
        (n, 1, 36, 64) uint8 in [0, 255].
    """
    if not isinstance(n, (int, np.integer)) or n < 1:
        raise ConfigError("pool_size", n, "an integer >= 1")
    key = (int(n), int(seed))
    if key in _NATURAL_CACHE:
        return _NATURAL_CACHE[key].clone()
    photos = natural_photos()
    ch, cw = CROP_HW
    # Window counts per photo: (H - 143) * (W - 255) positions, times 2 for the flip.
    sizes = [(img.shape[0] - ch + 1, img.shape[1] - cw + 1) for _, img in photos]
    capacity = sum(2 * a * b for a, b in sizes)
    if n > capacity:
        raise ConfigError("pool_size", n, f"at most {capacity} natural patches can be made")
    gen = torch.Generator().manual_seed(int(seed))
    # One random order per photo, drawn lazily in fixed-size chunks (a full randperm of ~1e6
    # windows per photo would cost more than the patches); fixed so that pools are prefixes.
    chunk = 256
    orders: list[list[int]] = [[] for _ in photos]
    used: list[set[int]] = [set() for _ in photos]
    seen: set[bytes] = set()
    out = np.empty((n, *POOL_SHAPE), dtype=np.uint8)
    alive = list(range(len(photos)))
    k = 0
    while k < n:
        if not alive:
            raise ConfigError("pool_size", n, f"only {k} distinct non-flat natural patches exist")
        for p in list(alive):
            if k == n:
                break
            ny, nx = sizes[p]
            total = 2 * ny * nx
            while True:
                if not orders[p]:
                    if len(used[p]) >= total:
                        alive.remove(p)
                        break
                    draw = torch.randint(0, total, (chunk,), generator=gen).tolist()
                    orders[p] = [d for d in draw if d not in used[p]][::-1]
                    if not orders[p] and total - len(used[p]) < chunk:
                        # Nearly exhausted photo: list the remaining windows exhaustively.
                        rest = [d for d in range(total) if d not in used[p]]
                        orders[p] = [rest[i] for i in torch.randperm(len(rest), generator=gen).tolist()]
                    continue
                d = orders[p].pop()
                if d in used[p]:
                    continue
                used[p].add(d)
                flip, rem = divmod(d, ny * nx)
                y, x = divmod(rem, nx)
                window = photos[p][1][y:y + ch, x:x + cw]
                if flip:
                    window = window[:, ::-1]
                patch = _subsample(window)
                b = patch.tobytes()
                if b in seen or patch.std() < _MIN_PATCH_STD:
                    continue
                seen.add(b)
                out[k, 0] = patch
                k += 1
                break
    pool = torch.from_numpy(out)
    _NATURAL_CACHE[key] = pool
    return pool.clone()
