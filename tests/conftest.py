"""Test-wide settings: one intra-op thread per process.

Tests run many small models and spawn CLI subprocesses; on a 2-core machine torch's default threads
oversubscribe the cores and make the suite several times slower. Subprocesses inherit the variables.
"""
import os

os.environ.setdefault("OMP_NUM_THREADS", "1")
os.environ.setdefault("MKL_NUM_THREADS", "1")

import torch  # noqa: E402

torch.set_num_threads(1)


def _fmnist_available() -> bool:
    try:
        from pixelreg.experiment.data import load_dataset
        load_dataset("fashion-mnist", "test", source="local")
        return True
    except Exception:  # noqa: BLE001 - any failure means the tests needing it are skipped
        return False


import pytest  # noqa: E402

needs_fmnist = pytest.mark.skipif(not _fmnist_available(),
                                  reason="Fashion-MNIST not installed (apt-get install dataset-fashion-mnist)")


# ------------------------------------------------------------------------------------------------------
# Generated stand-ins for the paper's datasets (MNIST, Fashion-MNIST, CIFAR-10/100, an ImageNet folder), so
# the paper's code paths run in CI without the data. Tiny on purpose: a few hundred images each.
#
# Layout written under a data folder ``root`` (what pixelreg.experiment.data.load_dataset reads offline from
# $PIXELREG_DATA_DIR):
#   root/MNIST/raw/{train,t10k}-{images-idx3,labels-idx1}-ubyte         torchvision's raw IDX files (uint8
#   root/FashionMNIST/raw/...                                            1x28x28, 10 classes); the loader
#                                                                        parses them and writes its cache
#   root/pixelreg-cache/{cifar10,cifar100}-{train,test}-{gray,rgb}.pt   the loader's tensor cache (CIFAR's
#                                                                        torchvision files carry md5 sums
#                                                                        a fake cannot match): {"images":
#                                                                        uint8 (N, 3|1, 32, 32), "labels":
#                                                                        int64, "source": "fixture"}; gray
#                                                                        = pixelreg.experiment.data.to_grayscale(rgb)
# and an image folder (what $PIXELREG_IMAGENET_DIR points to): RGB JPEGs of mixed sizes, most larger than
# the 144x256 crop, some smaller (upscaled by the pool), in synset-like class subfolders, a few loose
# .jpg/.png files and one non-image file that must be ignored.

FAKE_SPLITS = {"train": 300, "test": 100}  # images per split; 1% validation of 300 leaves 297 >= smoke's 256
FAKE_IMAGENET_FILES = 72  # >= the smoke profile's pool_size (64)
_FAKE_SPECS = {"mnist": (1, 28, 10), "fashion-mnist": (1, 28, 10), "cifar10": (3, 32, 10), "cifar100": (3, 32, 100)}
_IDX_FOLDERS = {"mnist": "MNIST/raw", "fashion-mnist": "FashionMNIST/raw"}


def fake_images(name: str, n: int, seed: int = 0):
    """(images (n, C, H, W) uint8, labels (n,) int64) shaped like dataset ``name``, with learnable classes:
    each class is a fixed smooth random template (shared by both splits), plus pixel noise."""
    import torch.nn.functional as F

    c, size, classes = _FAKE_SPECS[name]
    tg = torch.Generator().manual_seed(1000 + classes * 10 + c)
    templates = F.interpolate(torch.rand(classes, c, 4, 4, generator=tg), size=(size, size), mode="bilinear",
                              align_corners=False)
    g = torch.Generator().manual_seed(seed)
    labels = torch.arange(n) % classes  # every class present, balanced
    labels = labels[torch.randperm(n, generator=g)]
    x = 0.7 * templates[labels] + 0.3 * torch.rand(n, c, size, size, generator=g)
    return (x * 255).round().clamp(0, 255).to(torch.uint8), labels.to(torch.int64)


def _write_idx(path, array) -> None:
    import numpy as np

    array = np.ascontiguousarray(array, dtype=np.uint8)
    header = bytes([0, 0, 0x08, array.ndim]) + b"".join(int(d).to_bytes(4, "big") for d in array.shape)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(header + array.tobytes())


def make_fake_datasets(root, splits=None):
    """Write MNIST-, Fashion-MNIST-, CIFAR-10- and CIFAR-100-like splits into the data folder ``root``."""
    from pathlib import Path

    from pixelreg.experiment.data import to_grayscale

    root = Path(root)
    splits = splits or FAKE_SPLITS
    for name in _FAKE_SPECS:
        for split, n in splits.items():
            images, labels = fake_images(name, n, seed={"train": 1, "test": 2}[split])
            if name in _IDX_FOLDERS:
                prefix = "train" if split == "train" else "t10k"
                raw = root / _IDX_FOLDERS[name]
                _write_idx(raw / f"{prefix}-images-idx3-ubyte", images[:, 0].numpy())
                _write_idx(raw / f"{prefix}-labels-idx1-ubyte", labels.numpy())
            else:
                cache = root / "pixelreg-cache"
                cache.mkdir(parents=True, exist_ok=True)
                for mode, imgs in (("rgb", images), ("gray", to_grayscale(images))):
                    torch.save({"images": imgs.contiguous(), "labels": labels, "source": "fixture"},
                               cache / f"{name}-{split}-{mode}.pt")
    return root


def make_fake_imagenet(folder, n: int = FAKE_IMAGENET_FILES, seed: int = 0):
    """``n`` RGB JPEG/PNG photographs-alike (smooth random colour fields) of mixed sizes under ``folder``."""
    from pathlib import Path

    import numpy as np
    from PIL import Image

    folder = Path(folder)
    rng = np.random.default_rng(seed)
    sizes = [(375, 500), (300, 400), (160, 300), (144, 256), (500, 333), (120, 180), (400, 200)]  # (H, W)
    for i in range(n):
        h, w = sizes[i % len(sizes)]
        coarse = (rng.random((3, 5, 3)) * 255).astype(np.uint8)
        img = Image.fromarray(coarse, "RGB").resize((w, h), Image.BILINEAR)
        arr = np.asarray(img).astype(np.int16) + rng.integers(-12, 13, (h, w, 3))
        img = Image.fromarray(arr.clip(0, 255).astype(np.uint8), "RGB")
        if i % 9 == 0:
            path, fmt = folder / f"loose_{i:03d}.png", "PNG"
        elif i % 9 == 1:
            path, fmt = folder / f"loose_{i:03d}.jpg", "JPEG"
        else:
            path, fmt = folder / f"n{i % 4:08d}" / f"n{i % 4:08d}_{i:05d}.JPEG", "JPEG"
        path.parent.mkdir(parents=True, exist_ok=True)
        img.save(path, fmt, quality=90)
    (folder / "LOC_synset_mapping.txt").write_text("not an image\n")
    return folder


# The paper profile's pinned run hashes (tests/data/book_hashes.json) name its ImageNet runs by the digest of
# their pool's images (pixelreg.experiment.imagefolder.pool_digest), so they are pinned for one folder whose
# bytes are the same on every machine: grey PNGs written here byte by byte (stored deflate blocks, checksums from
# the PNG and zlib specifications), not by an encoder whose output could change with its version. Enough images
# for the paper's N = 5,000, in 10 synset-like class folders; tiny (16x32) because planning reads only bytes.
PINNED_IMAGENET_FILES = 5000
PINNED_IMAGE_HW = (16, 32)


def png_bytes(gray) -> bytes:
    """A greyscale 8-bit PNG of ``gray`` ((H, W) uint8), with the same bytes on every machine."""
    import struct
    import zlib

    import numpy as np

    gray = np.ascontiguousarray(gray, dtype=np.uint8)
    h, w = gray.shape
    raw = b"".join(b"\x00" + gray[r].tobytes() for r in range(h))  # filter type 0 on every row

    def chunk(kind: bytes, body: bytes) -> bytes:
        return struct.pack(">I", len(body)) + kind + body + struct.pack(">I", zlib.crc32(kind + body))

    blocks, pos = [], 0  # zlib stream of stored (uncompressed) deflate blocks
    while True:
        part = raw[pos:pos + 65535]
        pos += len(part)
        last = pos >= len(raw)
        blocks.append(bytes([last]) + struct.pack("<HH", len(part), 0xFFFF ^ len(part)) + part)
        if last:
            break
    stream = b"\x78\x01" + b"".join(blocks) + struct.pack(">I", zlib.adler32(raw))
    return (b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", struct.pack(">IIBBBBB", w, h, 8, 0, 0, 0, 0))
            + chunk(b"IDAT", stream) + chunk(b"IEND", b""))


def pinned_image(i: int):
    """Image ``i`` of the pinned folder: (16, 32) uint8 from SHA-256 of its index (no random generator whose
    stream could change between library versions)."""
    import hashlib

    import numpy as np

    h, w = PINNED_IMAGE_HW
    data = b"".join(hashlib.sha256(f"pinned-imagenet/{i}/{k}".encode()).digest() for k in range(h * w // 32))
    return np.frombuffer(data, dtype=np.uint8).reshape(h, w)


def make_pinned_imagenet(folder, n: int = PINNED_IMAGENET_FILES):
    """``n`` deterministic grey PNGs under ``folder``/n000000NN/ (see :func:`png_bytes`, :func:`pinned_image`)."""
    from pathlib import Path

    folder = Path(folder)
    for i in range(n):
        path = folder / f"n{i % 10:08d}" / f"n{i % 10:08d}_{i:05d}.png"
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(png_bytes(pinned_image(i)))
    return folder


@pytest.fixture(scope="session")
def pinned_imagenet_dir(tmp_path_factory):
    """The folder the paper profile's pinned hashes are computed from (see make_pinned_imagenet)."""
    return make_pinned_imagenet(tmp_path_factory.mktemp("pinned-imagenet"))


@pytest.fixture(scope="session")
def fake_data_root(tmp_path_factory):
    """A data folder with generated MNIST/Fashion-MNIST/CIFAR-10/CIFAR-100 (see make_fake_datasets)."""
    return make_fake_datasets(tmp_path_factory.mktemp("fake-datasets"))


@pytest.fixture(scope="session")
def fake_imagenet_dir(tmp_path_factory):
    """A folder of FAKE_IMAGENET_FILES generated RGB images of mixed sizes (see make_fake_imagenet)."""
    return make_fake_imagenet(tmp_path_factory.mktemp("fake-imagenet"))


@pytest.fixture
def paper_env(fake_data_root, fake_imagenet_dir, tmp_path, monkeypatch):
    """$PIXELREG_DATA_DIR, $PIXELREG_IMAGENET_DIR and $PIXELREG_RUNS_DIR pointed at the generated data and
    a fresh run store (``tmp_path / "runs"``); returns {"data": ..., "imagenet": ..., "runs": ...}."""
    runs = tmp_path / "runs"
    monkeypatch.setenv("PIXELREG_DATA_DIR", str(fake_data_root))
    monkeypatch.setenv("PIXELREG_IMAGENET_DIR", str(fake_imagenet_dir))
    monkeypatch.setenv("PIXELREG_RUNS_DIR", str(runs))
    return {"data": fake_data_root, "imagenet": fake_imagenet_dir, "runs": runs}
