"""Tests for pixelreg.experiment.data. Fast (no network, no training); real Fashion-MNIST when Debian's copy
is installed (``apt-get install dataset-fashion-mnist``), skipped otherwise."""
from __future__ import annotations

import time
from pathlib import Path

import numpy as np
import pytest
import torch
import torch.nn.functional as F
from PIL import Image

from pixelreg.experiment import data
from pixelreg.experiment.data import (DATASETS, NUM_CLASSES, augment_batch, build_pool, image_folder_pool,
                           image_shape, load_dataset, natural_image_pool, to_grayscale,
                           train_valid_split)
from pixelreg.errors import ConfigError, DataNotFoundError

DEBIAN_FMNIST = Path("/usr/share/datasets/fashion-mnist")
needs_debian = pytest.mark.skipif(not (DEBIAN_FMNIST / "train-images-idx3-ubyte.gz").is_file(),
                                  reason="Debian's dataset-fashion-mnist is not installed")


@pytest.fixture(scope="module")
def fmnist_root(tmp_path_factory) -> Path:
    """A private data folder filled from the Debian copy (never the user's data folder)."""
    return tmp_path_factory.mktemp("datasets")


def _luma_numpy(rgb: np.ndarray) -> np.ndarray:
    """(H, W, 3) uint8 -> (H, W) uint8, PIL's integer "L" formula, written independently."""
    r, g, b = (rgb[..., i].astype(np.int64) for i in range(3))
    return ((r * 19595 + g * 38470 + b * 7471 + 32768) >> 16).astype(np.uint8)


# ----------------------------------------------------------------------------- load_dataset

@pytest.mark.parametrize("name", DATASETS)
def test_samples_shapes_and_dtypes(name):
    ds = load_dataset(name, source="samples")
    assert ds.images.shape == (20, *image_shape(name)) and ds.images.dtype == torch.uint8
    assert ds.labels.shape == (20,) and ds.labels.dtype == torch.int64
    assert 0 <= ds.labels.min() and ds.labels.max() < NUM_CLASSES[name]
    assert len(ds) == 20 and ds.name == name and ds.source == "samples"
    assert ds.images.shape[1] == 1                 # grayscale by default


@pytest.mark.parametrize("name", ["cifar10", "cifar100"])
def test_rgb_keeps_three_channels_and_gray_is_its_luma(name):
    rgb = load_dataset(name, source="samples", rgb=True).images
    gray = load_dataset(name, source="samples").images
    assert rgb.shape == (20, 3, 32, 32)
    expected = np.stack([_luma_numpy(im.permute(1, 2, 0).numpy()) for im in rgb])[:, None]
    assert np.array_equal(gray.numpy(), expected)


def test_grayscale_matches_torchvision():
    from torchvision.transforms import Grayscale

    gen = torch.Generator().manual_seed(0)
    x = torch.randint(0, 256, (50, 3, 16, 16), generator=gen, dtype=torch.uint8)
    x = torch.cat([x, load_dataset("cifar10", source="samples", rgb=True).images[:, :, :16, :16]])
    tv = np.stack([np.asarray(Grayscale()(Image.fromarray(im.permute(1, 2, 0).numpy()))) for im in x])
    assert np.array_equal(to_grayscale(x)[:, 0].numpy(), tv)


def test_rgb_only_for_cifar():
    with pytest.raises(ConfigError, match="rgb"):
        load_dataset("mnist", rgb=True, source="samples")
    with pytest.raises(ConfigError, match="rgb"):
        build_pool("fashion-mnist", 10, seed=0, rgb=True, source="samples")


def test_unknown_dataset_names_the_allowed_list():
    with pytest.raises(ConfigError, match="dataset") as e:
        load_dataset("svhn")
    assert all(n in str(e.value) for n in DATASETS)
    with pytest.raises(ConfigError, match="split"):
        load_dataset("mnist", split="valid")
    with pytest.raises(ConfigError, match="source"):
        load_dataset("mnist", source="internet")
    with pytest.raises(ConfigError, match="reg_data"):
        build_pool("svhn", 10, seed=0)


@pytest.mark.parametrize("name", DATASETS)
def test_missing_data_local_never_downloads(name, tmp_path, monkeypatch):
    monkeypatch.setattr(data, "SYSTEM_DIRS", {"fashion-mnist": [str(tmp_path / "no-such-package")]})
    real = data._torchvision

    def no_download(name_, split, root, download):
        assert not download, "source='local' must not touch the network"
        return real(name_, split, root, download)

    monkeypatch.setattr(data, "_torchvision", no_download)
    root = tmp_path / "empty"
    with pytest.raises(DataNotFoundError) as e:
        load_dataset(name, root=root, source="local")
    msg = str(e.value)
    assert repr(name) in msg and str(root) in msg and "To get it" in msg
    assert e.value.dataset == name and len(e.value.looked) >= 3
    if name == "fashion-mnist":
        assert "apt-get install dataset-fashion-mnist" in msg and "no-such-package" in msg


def test_failed_download_is_reported(tmp_path, monkeypatch):
    real = data._torchvision

    def offline(name_, split, root, download):
        if download:
            raise RuntimeError("Error downloading x:\nTried http://x, got:\n<urlopen error offline>")
        return real(name_, split, root, download)

    monkeypatch.setattr(data, "_torchvision", offline)
    with pytest.raises(DataNotFoundError, match="urlopen error offline") as e:
        load_dataset("cifar100", root=tmp_path, source="torchvision")
    assert "download" in str(e.value)


def test_default_root_env(monkeypatch, tmp_path):
    monkeypatch.setenv("PIXELREG_DATA_DIR", str(tmp_path))
    assert data.default_root() == tmp_path
    monkeypatch.delenv("PIXELREG_DATA_DIR")
    assert data.default_root() == Path(data.__file__).resolve().parents[2] / "data" / "datasets"


@needs_debian
def test_fashion_mnist_from_debian_then_cache(fmnist_root):
    train = load_dataset("fashion-mnist", "train", root=fmnist_root, source="local")
    assert train.images.shape == (60_000, 1, 28, 28) and train.labels.shape == (60_000,)
    assert train.source in ("system", "folder") and not train.cached
    assert torch.bincount(train.labels).tolist() == [6000] * 10
    t = time.perf_counter()
    again = load_dataset("fashion-mnist", "train", root=fmnist_root)
    assert time.perf_counter() - t < 1.0
    assert again.cached and torch.equal(again.images, train.images) and torch.equal(again.labels, train.labels)


@needs_debian
def test_foolbox_fashion_samples_are_first_test_images(fmnist_root):
    test = load_dataset("fashion-mnist", "test", root=fmnist_root, source="local")
    assert len(test) == 10_000
    samples = load_dataset("fashion-mnist", source="samples")
    assert torch.equal(samples.images, test.images[:20]) and torch.equal(samples.labels, test.labels[:20])


# ----------------------------------------------------------------------------- split

@pytest.mark.parametrize("n, n_valid", [(60_000, 600), (50_000, 500)])
def test_train_valid_split(n, n_valid):
    tr, va = train_valid_split(n, seed=3)
    assert tr.dtype == va.dtype == torch.int64
    assert len(va) == n_valid and len(tr) == n - n_valid
    assert torch.equal(torch.cat([tr, va]).sort().values, torch.arange(n))   # disjoint, complete
    tr2, va2 = train_valid_split(n, seed=3)
    assert torch.equal(tr, tr2) and torch.equal(va, va2)
    assert not torch.equal(va, train_valid_split(n, seed=4)[1])


def test_train_valid_split_bad_portion():
    with pytest.raises(ConfigError, match="valid_portion"):
        train_valid_split(100, valid_portion=1.5)


# ----------------------------------------------------------------------------- augmentation

def _match_crops(x: torch.Tensor, y: torch.Tensor, pad: int = 4) -> tuple[torch.Tensor, torch.Tensor]:
    """For each image, the (offset index, flipped) of the reflect-padded crop equal to y, else -1.

    Independent of augment_batch: pads with torch.nn.functional.pad and compares all crops.
    """
    n, c, h, w = x.shape
    padded = F.pad(x.float(), (pad, pad, pad, pad), mode="reflect").to(x.dtype)
    crops = padded.unfold(2, h, 1).unfold(3, w, 1)             # (N, C, 2p+1, 2p+1, H, W)
    crops = crops.permute(0, 2, 3, 1, 4, 5).reshape(n, -1, c, h, w)
    yf = y[:, None]
    plain = (crops == yf).flatten(2).all(-1)                    # (N, (2p+1)^2)
    flipped = (crops.flip(-1) == yf).flatten(2).all(-1)
    where = torch.full((n,), -1)
    flip = torch.zeros(n, dtype=torch.bool)
    for i in range(n):
        if plain[i].any():
            where[i] = plain[i].nonzero()[0, 0]
        elif flipped[i].any():
            where[i], flip[i] = flipped[i].nonzero()[0, 0], True
    return where, flip


def test_augment_batch_is_reflect_crop_and_flip():
    gen = torch.Generator().manual_seed(0)
    # 1 channel of 16x16 keeps the 81 candidate crops per image small; offsets are still 0..8.
    x = torch.randint(0, 256, (1000, 1, 16, 16), generator=gen, dtype=torch.uint8)
    y = augment_batch(x, torch.Generator().manual_seed(1))
    assert y.shape == x.shape and y.dtype == torch.uint8
    where, flip = _match_crops(x, y)
    assert (where >= 0).all()                                   # every output is a valid crop
    assert set(where.tolist()) == set(range(81))                # all 9x9 offsets occur
    assert 0.4 < flip.float().mean() < 0.6                      # flips about half the time
    assert torch.equal(y, augment_batch(x, torch.Generator().manual_seed(1)))
    assert not torch.equal(y, augment_batch(x, torch.Generator().manual_seed(2)))


def test_augment_batch_without_padding_only_flips():
    x = torch.randint(0, 256, (50, 1, 8, 8), dtype=torch.uint8, generator=torch.Generator().manual_seed(0))
    y = augment_batch(x, torch.Generator().manual_seed(0), padding=0)
    same = (y == x).flatten(1).all(1)
    flipped = (y == x.flip(-1)).flatten(1).all(1)
    assert (same | flipped).all() and same.any() and flipped.any()


# ----------------------------------------------------------------------------- pools

def test_build_pool_errors():
    for bad in (1, 0, 60_001):
        with pytest.raises(ConfigError, match="pool_size"):
            build_pool("fashion-mnist", bad, seed=0)
    with pytest.raises(ConfigError, match="pool_size"):
        build_pool("cifar10", 21, seed=0, source="samples")
    with pytest.raises(ConfigError, match="imagenet_dir"):
        build_pool("imagenet", 10, seed=0, imagenet_dir=Path("/no/such/folder"))
    with pytest.raises(ConfigError, match="rgb"):
        build_pool("natural", 10, seed=0, rgb=True)


def test_build_pool_cifar_is_frozen_augmentation_of_first_images():
    train = load_dataset("cifar10", source="samples").images
    pool = build_pool("cifar10", 12, seed=0, source="samples")
    assert pool.shape == (12, 1, 32, 32) and pool.dtype == torch.uint8
    assert torch.equal(pool, build_pool("cifar10", 12, seed=0, source="samples"))
    assert not torch.equal(pool, build_pool("cifar10", 12, seed=1, source="samples"))
    # Each pool image is a reflect-pad crop (maybe flipped) of one of the first 12 images.
    for p in pool:
        where, _ = _match_crops(train[:12], p.expand(12, -1, -1, -1))
        assert (where >= 0).any()
    rgb = build_pool("cifar100", 5, seed=0, source="samples", rgb=True)
    assert rgb.shape == (5, 3, 32, 32)


@needs_debian
def test_build_pool_fashion_mnist_is_first_train_images_permuted(fmnist_root):
    train = load_dataset("fashion-mnist", "train", root=fmnist_root, source="local").images
    pool = build_pool("fashion-mnist", 500, seed=0, root=fmnist_root)
    assert pool.shape == (500, 1, 28, 28) and pool.dtype == torch.uint8
    assert torch.equal(pool, build_pool("fashion-mnist", 500, seed=0, root=fmnist_root))
    other = build_pool("fashion-mnist", 500, seed=1, root=fmnist_root)
    assert not torch.equal(pool, other)
    key = lambda t: sorted(im.numpy().tobytes() for im in t)  # noqa: E731
    assert key(pool) == key(train[:500]) == key(other)


def test_natural_pool_shape_distinct_deterministic():
    pool = natural_image_pool(3000, seed=0)
    assert pool.shape == (3000, 1, 36, 64) and pool.dtype == torch.uint8
    assert len({im.numpy().tobytes() for im in pool}) == 3000
    assert torch.equal(pool, natural_image_pool(3000, seed=0))
    assert torch.equal(pool[:100], natural_image_pool(100, seed=0))      # prefixes
    assert not torch.equal(pool[:100], natural_image_pool(100, seed=1))
    assert torch.equal(build_pool("natural", 100, seed=0), pool[:100])
    assert pool.float().flatten(1).std(1).min() >= 2.0                    # no flat patches


def test_natural_pool_gives_ten_thousand():
    pool = natural_image_pool(10_000, seed=5)
    assert len({im.numpy().tobytes() for im in pool}) == 10_000
    names = [name for name, _ in data.natural_photos()]
    assert sum(n.startswith("foolbox/imagenet_") for n in names) == 20 and len(names) >= 25


def test_natural_pool_patches_are_subsampled_windows():
    photos = data.natural_photos()
    pool = natural_image_pool(len(photos), seed=0)   # round-robin: patch i comes from photo i
    for (_, img), patch in zip(photos, pool[:, 0].numpy()):
        found = False
        for src in (img, img[:, ::-1]):
            # candidate top-left corners: where the first pixel matches
            for y, x in np.argwhere(src[:-143, :-255] == patch[0, 0]):
                if np.array_equal(src[y:y + 144, x:x + 256][::4, ::4], patch):
                    found = True
                    break
            if found:
                break
        assert found


def _write_images(folder: Path) -> dict[str, np.ndarray]:
    """Synthetic PNGs of several sizes and modes; returns each file's expected 36x64 patch."""
    rng = np.random.default_rng(0)
    expected = {}
    specs = [("a.png", (150, 260), "RGB"), ("sub/b.PNG", (201, 333), "L"),
             ("sub/deeper/c.png", (144, 256), "RGB"), ("d.png", (300, 257), "RGBA")]
    for rel, (h, w), mode in specs:
        arr = rng.integers(0, 256, (h, w, {"RGB": 3, "L": 1, "RGBA": 4}[mode]), dtype=np.uint8)
        path = folder / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        Image.fromarray(arr[..., 0] if mode == "L" else arr, mode).save(path)
        gray = arr[..., 0] if mode == "L" else _luma_numpy(arr[..., :3])
        top, left = int(round((h - 144) / 2)), int(round((w - 256) / 2))
        expected[rel] = gray[top:top + 144, left:left + 256][::4, ::4]
    (folder / "notes.txt").write_text("not an image")
    return expected


def test_image_folder_pool_matches_hand_computation(tmp_path):
    expected = _write_images(tmp_path)
    pool = image_folder_pool(tmp_path, 4, seed=0)
    assert pool.shape == (4, 1, 36, 64) and pool.dtype == torch.uint8
    assert sorted(p.numpy().tobytes() for p in pool) == sorted(e.tobytes() for e in expected.values())
    assert torch.equal(pool, image_folder_pool(tmp_path, 4, seed=0))
    assert torch.equal(build_pool("imagenet", 4, seed=0, imagenet_dir=tmp_path), pool)
    assert image_folder_pool(tmp_path, 2, seed=0).shape == (2, 1, 36, 64)


def test_image_folder_pool_upscales_small_images_and_errors(tmp_path):
    Image.fromarray(np.arange(100 * 120, dtype=np.uint8).reshape(100, 120) % 251, "L").save(tmp_path / "s.jpg")
    assert image_folder_pool(tmp_path, 1).shape == (1, 1, 36, 64)
    with pytest.raises(ConfigError, match="pool_size"):
        image_folder_pool(tmp_path, 2)
    with pytest.raises(ConfigError, match="imagenet_dir") as e:
        image_folder_pool(tmp_path / "missing", 1)
    assert "PIXELREG_IMAGENET_DIR" in str(e.value) and "144x256" in str(e.value)


# ----------------------------------------------------------------------------- the ImageNet folder setting

def test_imagenet_dir_from_the_environment(tmp_path, monkeypatch):
    expected = _write_images(tmp_path / "imagenet")
    monkeypatch.setenv("PIXELREG_IMAGENET_DIR", str(tmp_path / "imagenet"))
    assert data.default_imagenet_dir() == tmp_path / "imagenet"
    assert data.resolve_imagenet_dir() == tmp_path / "imagenet"
    assert data.resolve_imagenet_dir(tmp_path) == tmp_path  # an explicit folder wins
    pool = build_pool("imagenet", 4, seed=0)  # no imagenet_dir: the environment's folder
    assert torch.equal(pool, image_folder_pool(tmp_path / "imagenet", 4, seed=0))
    assert sorted(p.numpy().tobytes() for p in pool) == sorted(e.tobytes() for e in expected.values())
    assert data.count_images(tmp_path / "imagenet") == 4 and data.count_images(tmp_path / "imagenet", 2) >= 2
    monkeypatch.setenv("PIXELREG_IMAGENET_DIR", "  ")
    assert data.default_imagenet_dir() is None


@pytest.mark.parametrize("case", ["unset", "missing", "too-few", "explicit-missing"])
def test_imagenet_dir_errors_name_the_setting_and_the_layout(case, tmp_path, monkeypatch):
    _write_images(tmp_path / "few")
    monkeypatch.delenv("PIXELREG_IMAGENET_DIR", raising=False)
    kwargs = {}
    if case == "missing":
        monkeypatch.setenv("PIXELREG_IMAGENET_DIR", str(tmp_path / "absent"))
    elif case == "too-few":
        monkeypatch.setenv("PIXELREG_IMAGENET_DIR", str(tmp_path / "few"))
        kwargs["pool_size"] = 5000
    elif case == "explicit-missing":
        monkeypatch.setenv("PIXELREG_IMAGENET_DIR", str(tmp_path / "few"))  # not used: the explicit one wins
        kwargs["imagenet_dir"] = tmp_path / "absent"
    with pytest.raises(ConfigError) as e:
        data.resolve_imagenet_dir(**kwargs)
    msg = str(e.value)
    assert ("imagenet_dir" if case in ("unset", "explicit-missing") else "$PIXELREG_IMAGENET_DIR") in msg
    assert "5,000" in msg and "144x256" in msg and "36x64" in msg and "grayscale" in msg and "JPEG" in msg
    if case == "too-few":
        assert "4 image files found, 5000 needed" in msg
    if case != "too-few":  # build_pool raises the same before reading any image
        with pytest.raises(ConfigError, match="PIXELREG_IMAGENET_DIR|imagenet_dir"):
            build_pool("imagenet", 4, seed=0, imagenet_dir=kwargs.get("imagenet_dir"))
