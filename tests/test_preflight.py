"""Preflight: the data a batch of runs needs is found (or reported missing, in one message) by file presence.

Every test points the data folder ($PIXELREG_DATA_DIR), the system copy and the network probe at temporary
places, so the machine's own datasets and network play no part.
"""
import gzip
import os
import time
from pathlib import Path

import pytest

import pixelreg.experiment.data as data_mod
from pixelreg.experiment import preflight
from pixelreg.experiment.config import config_hash, make_config
from pixelreg.errors import ConfigError, DataNotFoundError, MissingDataError
from pixelreg.experiment.preflight import check_datasets, find_missing, required_data
from pixelreg.experiment.runs import RunStore


@pytest.fixture
def env(tmp_path, monkeypatch):
    """An empty data folder, no system copy, an offline network; returns (data root, runs dir, system dir)."""
    root, runs, system = tmp_path / "data", tmp_path / "runs", tmp_path / "usr-share-fashion-mnist"
    monkeypatch.setenv("PIXELREG_DATA_DIR", str(root))
    monkeypatch.setitem(data_mod.SYSTEM_DIRS, "fashion-mnist", [str(system)])
    monkeypatch.setattr(preflight, "_probe", lambda urls, timeout: {u: "Name or service not known" for u in urls})
    return root, runs, system


def cache(root: Path, name: str, split: str, rgb: bool = False) -> None:
    p = data_mod._cache_path(root, name, split, rgb)
    p.parent.mkdir(parents=True, exist_ok=True)
    p.write_bytes(b"placeholder")   # presence is all preflight reads


def finish(runs: Path, cfg) -> None:
    run = RunStore(runs).create(cfg)
    (run.dir / "DONE").write_text("")


def configs(task="fashion-mnist", reg="fashion-mnist"):
    return [make_config("smoke", task=task, reg_data=reg, alpha=a, seed=s) for a in (0.0, 1.0) for s in (0, 1)]


def files_under(p: Path) -> list[Path]:
    return sorted(x for x in p.rglob("*")) if p.exists() else []


def test_all_present_passes(env):
    root, runs, _ = env
    for split in ("train", "test"):
        cache(root, "fashion-mnist", split)
    check_datasets(configs(), runs_dir=runs)
    assert not runs.exists(), "the preflight must not create the run store"


def test_fashion_mnist_missing_is_one_message_naming_package_and_paths(env):
    root, runs, system = env
    before = files_under(root)
    t0 = time.perf_counter()
    with pytest.raises(MissingDataError) as info:
        check_datasets(configs(), runs_dir=runs)
    elapsed = time.perf_counter() - t0
    msg = str(info.value)
    assert msg.count("- fashion-mnist") == 1 and "train and test splits" in msg
    assert "apt-get install dataset-fashion-mnist" in msg
    for place in (data_mod._cache_path(root, "fashion-mnist", "train", False),
                  data_mod._cache_path(root, "fashion-mnist", "test", False),
                  root / "FashionMNIST" / "raw", system):
        assert str(place) in msg, place
    assert "torchvision download" in msg and "unreachable" in msg
    assert "4 run(s) to train" in msg and "4 run(s) to evaluate" in msg
    assert isinstance(info.value, DataNotFoundError)   # what the CLI already catches
    assert info.value.dataset == "fashion-mnist"
    # nothing written: neither the run store nor the data folder
    assert not runs.exists() and files_under(root) == before
    assert elapsed < 5, f"preflight took {elapsed:.1f} s"


def test_every_missing_dataset_in_one_error(env):
    root, runs, _ = env
    cfgs = configs() + configs(task="mnist", reg="cifar10")[2:]   # mnist runs regularized with CIFAR-10
    with pytest.raises(MissingDataError) as info:
        check_datasets(cfgs, runs_dir=runs)
    msg = str(info.value)
    for name in ("fashion-mnist", "mnist", "cifar10"):
        assert f"- {name} (" in msg, name
    assert "3 dataset(s)" in msg
    assert "- cifar10 (train split), needed by 2 run(s) to train" in msg   # only the pool: train split
    assert str(root / "cifar-10-batches-py") in msg and "l('cifar10', 'train')" in msg
    assert {m.dataset for m in info.value.missing} == {"fashion-mnist", "mnist", "cifar10"}


def test_finished_runs_need_no_training_data(env):
    root, runs, _ = env
    cfgs = configs()
    for c in cfgs:
        finish(runs, c)
    cache(root, "fashion-mnist", "test")   # evaluations still read the test split
    check_datasets(cfgs, runs_dir=runs)
    needs = required_data(cfgs, runs_dir=runs)
    assert set(needs) == {preflight.Need("fashion-mnist", "test")}
    # one unfinished run brings back the training split (and only for that run)
    extra = make_config("smoke", task="fashion-mnist", alpha=1.0, seed=7)
    with pytest.raises(MissingDataError) as info:
        check_datasets(cfgs + [extra], runs_dir=runs)
    assert "(train split), needed by 1 run(s) to train" in str(info.value)


def test_finished_runs_without_evaluation_or_in_records_need_nothing(env):
    _, runs, _ = env
    cfgs = configs()
    for c in cfgs[:2]:
        finish(runs, c)
    check_datasets(cfgs[:2], runs_dir=runs, evaluate=False)
    check_datasets(cfgs, runs_dir=runs, available={config_hash(c) for c in cfgs})
    with pytest.raises(MissingDataError):
        check_datasets(cfgs, runs_dir=runs, available={config_hash(c) for c in cfgs[:3]})


def test_system_copy_and_torchvision_folder_count(env):
    root, runs, system = env
    system.mkdir()
    for f in data_mod._IDX_FILES:
        with gzip.open(system / f"{f}.gz", "wb") as fh:
            fh.write(b"idx")
    check_datasets(configs(), runs_dir=runs)
    assert not root.exists(), "the system copy is only found, not unpacked"
    # a partial torchvision folder is reported with the files it lacks
    raw = root / "MNIST" / "raw"
    raw.mkdir(parents=True)
    (raw / "train-images-idx3-ubyte").write_bytes(b"idx")
    with pytest.raises(MissingDataError) as info:
        check_datasets(configs(task="mnist", reg="mnist"), runs_dir=runs)
    assert "missing train-labels-idx1-ubyte, t10k-images-idx3-ubyte, t10k-labels-idx1-ubyte" in str(info.value)
    for f in data_mod._IDX_FILES[1:]:
        (raw / f).write_bytes(b"idx")
    check_datasets(configs(task="mnist", reg="mnist"), runs_dir=runs)


def test_rgb_cache_is_its_own_file(env):
    root, runs, _ = env
    cfg = [make_config("smoke", task="cifar10", rgb=True)]
    for split in ("train", "test"):
        cache(root, "cifar10", split, rgb=False)
    with pytest.raises(MissingDataError, match="rgb"):
        check_datasets(cfg, runs_dir=runs)
    for split in ("train", "test"):
        cache(root, "cifar10", split, rgb=True)
    check_datasets(cfg, runs_dir=runs)


def test_download_counts_only_when_the_server_answers(env, monkeypatch):
    _, runs, _ = env
    asked = []

    def reachable(urls, timeout):
        asked.extend(urls)
        return {u: None for u in urls}

    monkeypatch.setattr(preflight, "_probe", reachable)
    check_datasets(configs(), runs_dir=runs)
    assert set(asked) == set(preflight.DOWNLOAD_URLS["fashion-mnist"])   # only what no local source has
    check_datasets(configs(), runs_dir=runs, download=True)
    with pytest.raises(MissingDataError, match=r"not tried \(download=False\)"):
        check_datasets(configs(), runs_dir=runs, download=False)


def test_probe_of_an_unreachable_host_returns_quickly():
    t0 = time.perf_counter()
    res = preflight._probe(["http://pixelreg-preflight.invalid/"], timeout=2.0)
    assert time.perf_counter() - t0 < 3.0
    assert res["http://pixelreg-preflight.invalid/"] is not None


def test_natural_and_imagenet_pools(env, tmp_path):
    root, runs, _ = env
    for split in ("train", "test"):
        cache(root, "fashion-mnist", split)
    check_datasets([make_config("smoke", task="fashion-mnist", reg_data="natural", alpha=1.0)], runs_dir=runs)
    folder = tmp_path / "imagenet"
    (folder / "n01").mkdir(parents=True)
    # planning an ImageNet run reads its pool's images (their digest names the run): an empty folder stops it
    with pytest.raises(ConfigError, match="imagenet_dir"):
        make_config("smoke", task="fashion-mnist", reg_data="imagenet", alpha=1.0, imagenet_dir=str(folder),
                    pool_size=3)
    # a run named elsewhere (its config carries the digest) whose folder here is empty: preflight says so
    elsewhere = tmp_path / "elsewhere"
    (elsewhere / "n01").mkdir(parents=True)
    for i in range(3):
        (elsewhere / "n01" / f"{i}.JPEG").write_bytes(b"jpg")
    cfg = make_config("smoke", task="fashion-mnist", reg_data="imagenet", alpha=1.0, imagenet_dir=str(elsewhere),
                      pool_size=3).replace(imagenet_dir=str(folder))
    with pytest.raises(MissingDataError) as info:
        check_datasets([cfg], runs_dir=runs)
    assert str(folder) in str(info.value) and "imagenet" in str(info.value)
    assert "--imagenet-dir" in str(info.value)
    for i in range(3):
        (folder / "n01" / f"{i}.JPEG").write_bytes(b"jpg")
    check_datasets([cfg], runs_dir=runs)


def test_runs_dir_that_is_a_file_is_a_config_error(env, tmp_path):
    f = tmp_path / "not-a-folder"
    f.write_text("x")
    with pytest.raises(ConfigError) as info:
        check_datasets(configs(), runs_dir=f)
    assert info.value.param == "runs_dir"


def test_copied_constants_match_torchvision():
    import torchvision.datasets as tvd

    assert preflight.DOWNLOAD_URLS["mnist"] == tuple(tvd.MNIST.mirrors)
    assert preflight.DOWNLOAD_URLS["fashion-mnist"] == tuple(tvd.FashionMNIST.mirrors)
    assert preflight.DOWNLOAD_URLS["cifar10"] == (tvd.CIFAR10.url,)
    assert preflight.DOWNLOAD_URLS["cifar100"] == (tvd.CIFAR100.url,)
    for name, cls in (("cifar10", tvd.CIFAR10), ("cifar100", tvd.CIFAR100)):
        files = {f for f, _ in cls.train_list + cls.test_list} | {cls.meta["filename"]}
        assert set(preflight.FOLDER_FILES[name]) == files
        assert data_mod._TV[name][1] == cls.base_folder
    assert {os.path.splitext(os.path.basename(u))[0] for u, _ in tvd.MNIST.resources} == set(data_mod._IDX_FILES)
