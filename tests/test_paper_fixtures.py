"""The paper's data paths without the paper's data: generated MNIST/Fashion-MNIST (1x28x28), CIFAR-10/100
(3x32x32, 10/100 classes) and an ImageNet-like folder of RGB JPEGs (conftest: make_fake_datasets,
make_fake_imagenet, the paper_env fixture) go through the public loaders, the 32x32 and colour models, the
ImageNet pool, smoke-scale training (MNIST <- MNIST, CIFAR-10 <- ImageNet in grey and in colour) and a PGD
curve on the CIFAR grid. A user with the real datasets runs the same code on them."""
from __future__ import annotations

from pathlib import Path

import pytest
import torch
from conftest import FAKE_IMAGENET_FILES, FAKE_SPLITS, fake_images

from pixelreg.experiment import data
from pixelreg.robustness.attacks import PGD
from pixelreg.experiment.config import make_config
from pixelreg.experiment.data import DATASETS, NUM_CLASSES, build_pool, image_folder_pool, image_shape, load_dataset
from pixelreg.robustness.evaluate import EPSILON_GRIDS, robust_accuracy
from pixelreg.experiment.runs import build_model
from pixelreg.similarity import centered_unit_rows
from pixelreg.experiment.train import train


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


@pytest.mark.slow  # end-to-end: trains runs, executes notebooks or builds the book
def test_smoke_run_mnist_from_mnist(paper_env):
    run = train(make_config("smoke", preset="mnist-mnist"), runs_dir=paper_env["runs"], progress=False)
    assert run.finished and run.config.task == "mnist" and run.config.pool_source == "mnist"
    m = run.metrics
    assert m[-1]["reg_loss"] is not None and 0 <= m[-1]["test_acc"] <= 1
    assert run.provenance["pool_size"] == 64


@pytest.mark.slow  # end-to-end: trains runs, executes notebooks or builds the book
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


def test_canonical_drops_the_imagenet_folder_of_other_pools(paper_env):
    """Only an ImageNet pool reads ``imagenet_dir``: elsewhere it cannot enter the run's hash. An ImageNet pool
    keeps the folder (to read it) and gains the digest of its images, which names the run."""
    from pixelreg.experiment.config import config_hash
    from pixelreg.experiment.imagefolder import pool_digest

    plain = make_config("smoke", preset="cifar10-cifar10")
    leaked = make_config("smoke", preset="cifar10-cifar10", imagenet_dir="/somewhere/imagenet")
    assert leaked.imagenet_dir is None and config_hash(leaked) == config_hash(plain)
    unreg = make_config("smoke", task="cifar10", alpha=0.0, imagenet_dir="/somewhere/imagenet")
    assert unreg.imagenet_dir is None and unreg.imagenet_sha256 is None
    folder = str(paper_env["imagenet"])
    inet = make_config("smoke", preset="cifar10-imagenet", imagenet_dir=folder)
    assert inet.imagenet_dir == folder and inet.imagenet_sha256 == pool_digest(folder, 64, seed=0)


@pytest.mark.slow  # end-to-end: trains runs, executes notebooks or builds the book
def test_paper_plan_of_figs_2_and_3_at_smoke_scale(paper_env, tmp_path):
    """The paper profile's figure plan (Fig. 2: MNIST <- MNIST, CIFAR-10/100 <- ImageNet; Fig. 3: CIFAR-10 <-
    ImageNet and <- CIFAR-10 with transferred and white-box FGSM and white-box PGD) trained and evaluated end to
    end at the smoke scale on the generated datasets and image folder, then the Fig. 3 notebook plotted; then
    two pairs of the combinations page's paper plan (one of Fig. 3's, one only the table has), one seed, and its
    notebook."""
    import nbformat
    import papermill as pm

    from pixelreg.figures import Combos, Fig2, Fig3

    runs_dir = paper_env["runs"]
    f3 = Fig3(profile="smoke", plan="paper")
    d3 = f3.data(runs_dir=runs_dir, progress=False)
    cur = d3["curves"]
    assert set(cur["paper_panel"]) == {"Fig. 3a", "Fig. 3b"} and set(cur["task"]) == {"cifar10"}
    assert set(cur["mode"]) == {"transferred", "white-box", "white-box PGD"}
    for mode, g in cur.groupby("mode"):
        attack = "pgd" if mode == "white-box PGD" else "fgsm"
        for _, run in g.groupby(["panel", "run"]):
            assert run["epsilon"].tolist() == pytest.approx(list(EPSILON_GRIDS["cifar10"][attack]))
            assert run["accuracy"].between(0, 1).all()
            if mode != "transferred":  # a white-box attack at the largest ε costs accuracy (ε = 0 is clean);
                assert run["accuracy"].iloc[-1] <= run["accuracy"].iloc[0]  # smoke models near chance may not
    pgd = cur[cur["mode"] == "white-box PGD"]
    assert set(pgd["reg_data"]) == {"imagenet"} and set(pgd["condition"]) == {"unregularized", "S^Th"}
    assert (pgd["n_images"] == 64).all() and set(pgd["attack_repr"]) == {repr(PGD(steps=3))}
    # the same clean images and model give the same ε = 0 accuracy under transferred and white-box FGSM
    fgsm = cur[cur["mode"] != "white-box PGD"]
    clean = fgsm[fgsm.epsilon == 0].groupby("run")["accuracy"].nunique()
    assert (clean == 1).all()
    assert "Fig. 3a" in d3.caption() and "paper's plan" in d3.caption() and "ran no white-box attack" in d3.caption()
    runs = d3.runs
    assert set(runs.loc[runs.reg_data.notna(), "reg_data"]) == {"imagenet", "cifar10"}

    d2 = Fig2(profile="smoke", plan="paper", seeds="0").data(runs_dir=runs_dir, progress=False)  # every panel, 1 seed
    cur = d2["curves"]
    assert set(cur["paper_panel"]) == {"Fig. 2a", "Fig. 2b", "Fig. 2c"}
    assert set(zip(cur["task"], cur["reg_data"])) == {("mnist", "mnist"), ("cifar10", "imagenet"),
                                                      ("cifar100", "imagenet")}
    for (task, attack), g in cur.groupby(["task", "attack"]):
        for _, run in g.groupby(["panel", "run"]):
            assert run["epsilon"].tolist() == pytest.approx(list(EPSILON_GRIDS[task][attack]))
    assert set(cur["condition"]) == {"unregularized", "S^pixel", "S^Th"}
    assert (cur["n_images"] == 100).all()  # the fixtures' test split (smoke asks for 128)
    assert "cifar100 <- imagenet stands for Fig. 2c" in d2.caption()
    # the CIFAR-10 <- ImageNet runs of seed 0 are Fig. 3a's: trained once
    shared = set(d2.runs.run) & set(d3.runs.run)
    assert len(shared) == 3  # (unregularized, S^pixel, S^Th) of CIFAR-10, seed 0

    out = tmp_path / "fig3.ipynb"  # the notebook's plots on the paper plan (all evaluations cached above)
    book = Path(__file__).resolve().parent.parent / "book"
    pm.execute_notebook(str(book / "fig3.ipynb"), str(out), parameters=dict(profile="smoke", plan="paper",
                                                                       runs_dir=str(runs_dir)),
                        cwd=str(tmp_path), kernel_name="python3", progress_bar=False)
    nb = nbformat.read(out, as_version=4)
    assert not [o for c in nb.cells for o in c.get("outputs", []) if o.get("output_type") == "error"]
    assert sum(o.get("output_type") == "display_data" and "image/png" in o.get("data", {})
               for c in nb.cells for o in c.get("outputs", [])) >= 2  # FGSM and PGD figures

    # the combinations page: CIFAR-10 <- CIFAR-10 (Fig. 3b's runs, trained above) and MNIST <- Fashion-MNIST
    params = dict(plan="paper", panels="cifar10<-cifar10,mnist<-fashion-mnist", seeds="0")
    dc = Combos(profile="smoke", **params).data(runs_dir=runs_dir, progress=False)
    cur = dc["curves"]
    assert set(zip(cur["pair"], cur["attack"])) == {(p, a) for p in ("cifar10<-cifar10", "mnist<-fashion-mnist")
                                                    for a in ("gaussian", "uniform", "salt-pepper", "fgsm")}
    for (pair, attack), g in cur.groupby(["pair", "attack"]):
        for _, run in g.groupby("run"):
            assert run["epsilon"].tolist() == pytest.approx(list(EPSILON_GRIDS[pair.split("<-")[0]][attack]))
    gains = dc["gains"]
    assert len(gains) == 8 and (gains["n_seeds"] == 1).all() and gains["diff"].notna().all()
    assert set(gains.loc[gains.pair == "mnist<-fashion-mnist", "alpha"]) == {1.0}  # the smoke profile's alpha
    assert "rows of the paper's table" in dc.caption() and "Fig. 4's page" in dc.caption()
    fig3_runs = set(d3.runs.run)  # Fig. 3's CIFAR-10 runs (unregularized and S^Th of seed 0, the source): reused
    assert {r for r in dc.runs.run if dc.runs.set_index("run").at[r, "task"] == "cifar10"} <= fig3_runs
    out = tmp_path / "combos.ipynb"
    pm.execute_notebook(str(book / "combos.ipynb"), str(out), parameters=dict(profile="smoke", runs_dir=str(runs_dir),
                                                                         **params),
                        cwd=str(tmp_path), kernel_name="python3", progress_bar=False)
    nb = nbformat.read(out, as_version=4)
    assert not [o for c in nb.cells for o in c.get("outputs", []) if o.get("output_type") == "error"]
    assert any(o.get("output_type") == "display_data" and "image/png" in o.get("data", {})
               for c in nb.cells for o in c.get("outputs", []))
