"""An ImageNet run is named by its pool's images, not by the folder's path (pixelreg.experiment.imagefolder).

Known answers: the digest written out with hashlib over the files the pool reads, in pool order; the same
images in two folders give one run hash; one changed pixel in a file the pool reads gives another, one in a file
it does not read does not; a folder that is missing, empty or a file is refused naming ``imagenet_dir``.
"""
from __future__ import annotations

import hashlib
import shutil

import pytest
from conftest import make_pinned_imagenet, pinned_image, png_bytes

from pixelreg.errors import ConfigError
from pixelreg.experiment import imagefolder
from pixelreg.experiment.config import config_hash, make_config
from pixelreg.experiment.data import image_folder_pool

N_FILES = 80  # > the smoke profile's pool_size (64): some files are not in a pool


def _cfg(folder, **kw):
    return make_config("smoke", preset="cifar10-imagenet", imagenet_dir=str(folder), **kw)


@pytest.fixture
def two_folders(tmp_path):
    """The same 80 images in two folders at different places."""
    a = make_pinned_imagenet(tmp_path / "alice" / "ILSVRC" / "train", N_FILES)
    b = tmp_path / "bob-imagenet"
    shutil.copytree(a, b)
    return a, b


def test_digest_is_the_pools_files_in_pool_order(two_folders):
    a, _ = two_folders
    files = imagefolder.pool_files(a, 64, seed=3)
    assert len(files) == 64 == len(set(files)) and files != sorted(files)  # the seeded choice, in pool order
    expected = hashlib.sha256(b"".join(hashlib.sha256(f.read_bytes()).digest() for f in files)).hexdigest()
    assert imagefolder.pool_digest(a, 64, seed=3) == expected
    cfg = _cfg(a, seed=3)
    assert cfg.imagenet_sha256 == expected and cfg.imagenet_dir == str(a)
    assert imagefolder.pool_digest(a, 64, seed=4) != expected  # another seed reads other files


def test_same_images_in_two_folders_give_one_run_hash(two_folders):
    a, b = two_folders
    ca, cb = _cfg(a), _cfg(b)
    assert ca.imagenet_dir != cb.imagenet_dir and ca.imagenet_sha256 == cb.imagenet_sha256
    assert config_hash(ca) == config_hash(cb)
    assert config_hash(ca) != config_hash(_cfg(a, seed=1))
    # the decoded pools are the same too (what the digest stands for)
    assert (image_folder_pool(a, 64, seed=0) == image_folder_pool(b, 64, seed=0)).all()


def test_one_changed_pixel_changes_the_run_hash_only_if_the_pool_reads_it(two_folders):
    a, b = two_folders
    used = {p.relative_to(a) for p in imagefolder.pool_files(a, 64, seed=0)}
    every = {p.relative_to(a) for p in imagefolder.image_files(a)}
    unused = sorted(every - used)
    assert len(unused) == N_FILES - 64

    def change_one_pixel(rel):
        i = int(rel.stem.split("_")[1])
        img = pinned_image(i).copy()
        img[5, 7] ^= 1
        (b / rel).write_bytes(png_bytes(img))

    change_one_pixel(unused[0])
    assert config_hash(_cfg(b)) == config_hash(_cfg(a))  # the pool never reads that file
    change_one_pixel(sorted(used)[0])
    assert imagefolder.pool_digest(b, 64, seed=0, cached=False) != imagefolder.pool_digest(a, 64, seed=0)
    with pytest.raises(ConfigError, match="imagenet_dir") as e:  # training refuses the changed folder
        imagefolder.check_pool(b, 64, 0, _cfg(a).imagenet_sha256)
    assert "digest" in str(e.value)
    imagefolder.check_pool(a, 64, 0, _cfg(a).imagenet_sha256)


def test_a_changed_pixel_in_a_fresh_folder_gives_another_run_hash(two_folders, tmp_path):
    a, _ = two_folders
    c = tmp_path / "carol"
    shutil.copytree(a, c)
    first = imagefolder.pool_files(c, 64, seed=0)[0]
    img = pinned_image(int(first.stem.split("_")[1])).copy()
    img[0, 0] = 255 - img[0, 0]
    first.write_bytes(png_bytes(img))
    assert config_hash(_cfg(c)) != config_hash(_cfg(a))


def test_the_cache_sees_files_added_below(two_folders):
    """The digest is cached per process; adding an image (which changes the seeded choice) is seen."""
    _, b = two_folders
    before = imagefolder.pool_digest(b, 64, seed=0)
    (b / "n00000003" / "extra.png").write_bytes(png_bytes(pinned_image(10_000)))
    after = imagefolder.pool_digest(b, 64, seed=0)
    assert after == imagefolder.pool_digest(b, 64, seed=0, cached=False) != before


@pytest.mark.parametrize("kind", ["missing", "empty", "a file", "too few images"])
def test_bad_folders_are_refused_naming_imagenet_dir(kind, tmp_path):
    folder = tmp_path / "imagenet"
    if kind == "empty":
        folder.mkdir()
        (folder / "notes.txt").write_text("not an image")
    elif kind == "a file":
        folder.write_bytes(png_bytes(pinned_image(0)))
    elif kind == "too few images":
        make_pinned_imagenet(folder, 10)
    with pytest.raises(ConfigError, match="imagenet_dir") as e:
        _cfg(folder)
    assert str(folder) in str(e.value)
    with pytest.raises(ConfigError, match="imagenet_dir"):
        imagefolder.pool_digest(folder, 64, seed=0)


def test_an_imagenet_config_is_never_named_by_its_path():
    """A regularized ImageNet config without its digest (not made by make_config / canonical) has no run hash;
    a malformed digest is refused on construction; other pools never carry one."""
    from pixelreg.experiment.config import TrainConfig

    bare = TrainConfig(task="cifar10", reg_data="imagenet", alpha=10.0, imagenet_dir="/somewhere")
    with pytest.raises(ConfigError, match="imagenet_sha256"):
        config_hash(bare)
    with pytest.raises(ConfigError, match="imagenet_sha256"):
        bare.replace(imagenet_sha256="not-a-digest")
    assert config_hash(bare.replace(imagenet_sha256="0" * 64)) == config_hash(
        bare.replace(imagenet_sha256="0" * 64, imagenet_dir="/elsewhere"))
    plain = make_config("smoke", preset="cifar10-cifar10", imagenet_dir="/x", imagenet_sha256="0" * 64)
    assert plain.imagenet_dir is None and plain.imagenet_sha256 is None
    assert "imagenet_sha256" not in plain.to_dict() or plain.to_dict()["imagenet_sha256"] is None
