"""The paper's data paths without the paper's data: generated MNIST/Fashion-MNIST (1x28x28), CIFAR-10/100
(3x32x32, 10/100 classes) and an ImageNet-like folder of RGB JPEGs (conftest: make_fake_datasets,
make_fake_imagenet, the paper_env fixture) go through the public loaders, the 32x32 and colour models, the
ImageNet pool, smoke-scale training (MNIST <- MNIST, CIFAR-10 <- ImageNet in grey and in colour) and a PGD
curve on the CIFAR grid. A user with the real datasets runs the same code on them."""
from __future__ import annotations

import pytest
import torch
from conftest import FAKE_IMAGENET_FILES, FAKE_SPLITS, fake_images

from pixelreg import data
from pixelreg.attacks import PGD
from pixelreg.config import make_config
from pixelreg.data import DATASETS, NUM_CLASSES, build_pool, image_folder_pool, image_shape, load_dataset
from pixelreg.evaluate import EPSILON_GRIDS, robust_accuracy
from pixelreg.models import build_model
from pixelreg.similarity import centered_unit_rows
from pixelreg.train import train


@pytest.mark.parametrize("name", DATASETS)
def test_generated_datasets_load_through_the_public_loader(name, paper_env):
    for split, n in FAKE_SPLITS.items():
        ds = load_dataset(name, split, source="local")  # offline: never the network
        assert ds.images.shape == (n, *image_shape(name)) and ds.images.dtype == torch.uint8
        assert ds.labels.shape == (n,) and ds.labels.dtype == torch.int64
        assert set(ds.labels.tolist()) == set(range(NUM_CLASSES[name]))
        expected, labels = fake_images(name, n, seed={"train": 1, "test": 2}[split])
        assert torch.equal(ds.labels, labels)
        if name.startswith("cifar"):
            rgb = load_dataset(name, split, source="local", rgb=True)
            assert rgb.images.shape == (n, 3, 32, 32) and torch.equal(rgb.images, expected)
            assert torch.equal(ds.images, data.to_grayscale(rgb.images))  # grey = luma of the colour images
        else:
            assert torch.equal(ds.images, expected)
            # the torchvision files themselves parse (not only the cache the first load wrote)
            assert torch.equal(load_dataset(name, split, source="torchvision").images, expected)


@pytest.mark.parametrize("task, rgb", [("cifar10", True), ("cifar10", False), ("cifar100", False),
                                       ("cifar100", True), ("mnist", False)])
def test_models_for_the_generated_images(task, rgb, paper_env):
    cfg = make_config("smoke", task=task, rgb=rgb)
    model = build_model(cfg).eval()
    x = load_dataset(task, "test", source="local", rgb=rgb).images[:8].float() / 255
    assert x.shape[1:] == ((3 if rgb else 1), *image_shape(task)[1:])
    with torch.no_grad():
        out = model(x)
    assert out.shape == (8, NUM_CLASSES[task]) and torch.isfinite(out).all()


def test_imagenet_pool_from_the_generated_folder(paper_env):
    folder = paper_env["imagenet"]
    assert data.count_images(folder) == FAKE_IMAGENET_FILES  # the .txt file is not an image
    assert data.resolve_imagenet_dir(pool_size=64) == folder  # from $PIXELREG_IMAGENET_DIR
    pool = build_pool("imagenet", 64, seed=0)
    assert pool.shape == (64, 1, 36, 64) and pool.dtype == torch.uint8
    assert torch.equal(pool, image_folder_pool(folder, 64, seed=0))
    assert len({p.numpy().tobytes() for p in pool}) == 64
    rows = centered_unit_rows(pool)
    s = rows @ rows.T
    assert torch.isfinite(s).all() and torch.allclose(s.diagonal(), torch.ones(64), atol=1e-5)
    with pytest.raises(data.ConfigError, match="pool_size"):
        build_pool("imagenet", FAKE_IMAGENET_FILES + 1, seed=0)


def test_smoke_run_mnist_from_mnist(paper_env):
    run = train(make_config("smoke", preset="mnist-mnist"), runs_dir=paper_env["runs"], progress=False)
    assert run.finished and run.config.task == "mnist" and run.config.pool_source == "mnist"
    m = run.metrics
    assert m[-1]["reg_loss"] is not None and 0 <= m[-1]["test_acc"] <= 1
    assert run.provenance["pool_size"] == 64


@pytest.mark.parametrize("rgb", [False, True], ids=["grey", "colour"])  # colour: the grey pool is repeated
def test_smoke_run_cifar10_from_imagenet_and_pgd(rgb, paper_env):
    cfg = make_config("smoke", preset="cifar10-imagenet", imagenet_dir=str(paper_env["imagenet"]), rgb=rgb)
    run = train(cfg, runs_dir=paper_env["runs"], progress=False)
    assert run.finished and run.config.pool_source == "imagenet" and run.provenance["pool_size"] == 64
    model = run.load_model()
    assert model(torch.zeros(1, 3 if rgb else 1, 32, 32)).shape == (1, 10)
    t = robust_accuracy(run, PGD(steps=2), n_images=32, cache=False)  # the CIFAR grid, in units of 1/255
    assert t["epsilon"].tolist() == pytest.approx(list(EPSILON_GRIDS["cifar10"]["pgd"]))
    assert (t["n_images"] == 32).all() and t["accuracy"].between(0, 1).all()
    assert t["accuracy"].iloc[-1] <= t["accuracy"].iloc[0]
