"""Evaluation: reference grids, accuracy curves, tidy tables over runs, caching, boundary distances, CLI."""
from __future__ import annotations

import argparse
import dataclasses
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import torch

import pixelreg.robustness.evaluate as ev
from _tiny_models import make_data, trained
from conftest import needs_fmnist
from pixelreg import cli
from pixelreg.robustness.attacks import GaussianNoise
from pixelreg.errors import ConfigError
from pixelreg.experiment.config import condition_label
from pixelreg.robustness.evaluate import EPSILON_GRIDS, accuracy_curve, boundary_distances, robust_accuracy


def main_evaluate(argv):
    """``pixelreg evaluate ...`` in this process; returns the exit status (2 for bad input)."""
    return cli.main(["evaluate", *argv])


@dataclasses.dataclass(frozen=True)
class FakeConfig:
    task: str = "mnist"
    seed: int = 0
    alpha: float = 0.0
    th: float = 0.8
    target: str = "thresholded"
    noise_aug: float = 0.0


class FakeRun:
    """The Run interface robust_accuracy relies on: .dir, .config, .load_model(device)."""

    def __init__(self, dir: Path, config: FakeConfig, model_seed: int = 0):
        self.dir, self.config, self.model_seed, self.loads = Path(dir), config, model_seed, 0

    def load_model(self, device="cpu"):
        self.loads += 1
        return trained(1, seed=self.model_seed).to(device).eval()


class DictCache:
    def __init__(self):
        self.store, self.computed = {}, 0

    def __call__(self, run_dir, name, params, compute):
        key = (str(run_dir), name, repr(sorted(params.items())))
        if key not in self.store:
            self.computed += 1
            self.store[key] = compute()
        return self.store[key]


@pytest.fixture(scope="module")
def data():
    x, y = make_data(400, 1, seed=21)
    return (x * 255).round().to(torch.uint8), y  # as the data module holds them


def test_reference_grids():
    assert set(EPSILON_GRIDS) == {"mnist", "fashion-mnist", "cifar10", "cifar100"}
    assert EPSILON_GRIDS["fashion-mnist"] == EPSILON_GRIDS["mnist"]
    for grids in EPSILON_GRIDS.values():
        for name in ("gaussian", "uniform", "salt-pepper", "fgsm"):
            assert len(grids[name]) == 10 and grids[name][0] == 0.0
    assert EPSILON_GRIDS["cifar10"]["gaussian"][1] == pytest.approx(0.1 / 9)
    assert EPSILON_GRIDS["cifar10"]["fgsm"][-1] == pytest.approx(0.02)
    assert EPSILON_GRIDS["cifar100"]["fgsm"][-1] == pytest.approx(0.005)
    assert EPSILON_GRIDS["mnist"]["salt-pepper"][-1] == pytest.approx(0.3)


def test_accuracy_curve_clean_and_batch_independent_at_zero(data):
    x, y = data
    model = trained(1)
    with torch.no_grad():
        clean = (model(x.float() / 255).argmax(1) == y).double().mean().item()
    for bs in (64, 1000):
        assert accuracy_curve(model, x, y, GaussianNoise(), [0.0], batch_size=bs) == [clean]
    with pytest.raises(ConfigError, match="batch_size"):
        accuracy_curve(model, x, y, GaussianNoise(), [0.0], batch_size=0)


def test_condition_label():
    assert condition_label(FakeConfig()) == "unregularized"
    assert condition_label(FakeConfig(noise_aug=0.1)) == "noise-aug"
    assert condition_label(FakeConfig(alpha=4.0)) == "S^Th"
    assert condition_label(FakeConfig(alpha=4.0, target="pixel")) == "S^pixel"
    assert condition_label(FakeConfig(alpha=4.0, target="shuffled")) == "shuffled"
    assert condition_label(object()) == "unregularized"  # missing fields take defaults
    from pixelreg.experiment.config import TrainConfig

    assert condition_label(TrainConfig(alpha=10.0, target="neural", responses="r.npz")) == "neural"


def test_robust_accuracy_table_and_cache(tmp_path, data):
    x, y = data
    runs = [FakeRun(tmp_path / "a", FakeConfig(seed=0)), FakeRun(tmp_path / "b", FakeConfig(seed=1, alpha=4.0))]
    cache = DictCache()
    eps = [0.0, 0.2, 0.4]
    t = robust_accuracy(runs, "gaussian", epsilons=eps, n_images=300, images=x, labels=y, cache=cache)
    assert len(t) == 6 and cache.computed == 2
    assert {"run", "seed", "condition", "attack", "epsilon", "accuracy", "n_images", "source"} <= set(t.columns)
    assert t["condition"].tolist() == ["unregularized"] * 3 + ["S^Th"] * 3
    assert (t["n_images"] == 300).all() and (t["attack"] == "gaussian").all()
    again = robust_accuracy(runs, "gaussian", epsilons=eps, n_images=300, images=x, labels=y, cache=cache)
    assert cache.computed == 2 and sum(r.loads for r in runs) == 2  # served from the cache
    pd.testing.assert_frame_equal(t, again)
    robust_accuracy(runs, "gaussian", epsilons=eps, n_images=300, images=x, labels=y, cache=cache, seed=1)
    assert cache.computed == 4  # another noise seed is another setting
    # default grid from the task; transferred FGSM records its source
    src = FakeRun(tmp_path / "src", FakeConfig(seed=5), model_seed=0)
    f = robust_accuracy(runs[1], "fgsm", n_images=100, images=x, labels=y, cache=False, source=src)
    assert f["epsilon"].tolist() == pytest.approx(list(EPSILON_GRIDS["mnist"]["fgsm"]))
    assert (f["source"] == "run:src").all()
    assert f["accuracy"].iloc[-1] < f["accuracy"].iloc[0]


def test_robust_accuracy_with_the_run_store_cache(tmp_path, data):
    x, y = data
    run = FakeRun(tmp_path / "run", FakeConfig())
    t1 = robust_accuracy(run, "salt-pepper", epsilons=[0.0, 0.1], n_images=200, images=x, labels=y)
    t2 = robust_accuracy(run, "salt-pepper", epsilons=[0.0, 0.1], n_images=200, images=x, labels=y)
    assert run.loads == 1 and len(list((tmp_path / "run" / "evals").glob("acc-salt-pepper-*.csv"))) == 1
    np.testing.assert_allclose(t1["accuracy"], t2["accuracy"])


def test_robust_accuracy_bad_input(tmp_path, data):
    x, y = data
    run = FakeRun(tmp_path / "r", FakeConfig())
    with pytest.raises(ConfigError, match="attack"):
        robust_accuracy(run, "carlini-wagner", epsilons=[0.1], images=x, labels=y, cache=False)
    with pytest.raises(ConfigError, match="epsilons"):
        robust_accuracy(run, "gaussian", epsilons=[-0.1], images=x, labels=y, cache=False)
    with pytest.raises(ConfigError, match="n_images"):
        robust_accuracy(run, "gaussian", epsilons=[0.1], n_images=0, images=x, labels=y, cache=False)


def test_boundary_distances_saves_perturbations(tmp_path, data):
    x, y = data
    run = FakeRun(tmp_path / "run", FakeConfig(seed=3))
    table, delta = boundary_distances(run, images=x, labels=y, n_images=4, steps=5, repeats=2, batch_size=4)
    assert len(table) == 8 and delta.shape == (2, 4, 1, 16, 16)
    assert table["success"].all() and (table["seed"] == 3).all()
    saved = list((tmp_path / "run" / "evals").glob("boundary-*.pt"))
    assert len(saved) == 1
    torch.testing.assert_close(torch.load(saved[0], weights_only=True), delta)
    np.testing.assert_allclose(table["mse"], delta.flatten(2).pow(2).mean(2).flatten().double(), rtol=1e-6)
    loads = run.loads
    table2, delta2 = boundary_distances(run, images=x, labels=y, n_images=4, steps=5, repeats=2, batch_size=4)
    assert run.loads == loads  # cached table and perturbations
    torch.testing.assert_close(delta2, delta)


def test_cli(tmp_path, data, monkeypatch, capsys):
    x, y = data
    runs = {str(tmp_path / "a"): FakeRun(tmp_path / "a", FakeConfig()),
            str(tmp_path / "s"): FakeRun(tmp_path / "s", FakeConfig(seed=2))}
    monkeypatch.setattr(ev, "open_run", lambda p: runs[str(p)])
    monkeypatch.setattr(ev, "_test_split", lambda task, n, rgb=False: (x[:n], y[:n]))
    out = tmp_path / "out.csv"
    assert main_evaluate([str(tmp_path / "a"), "--attack", "gaussian", "--epsilons", "0,0.1,0.2",
                          "--n-images", "100", "--out", str(out)]) == 0
    t = pd.read_csv(out)
    assert t["epsilon"].tolist() == [0.0, 0.1, 0.2] and (t["n_images"] == 100).all()
    assert "accuracy" in capsys.readouterr().out
    assert main_evaluate([str(tmp_path / "a"), "--attack", "fgsm", "--source", str(tmp_path / "s"),
                          "--epsilons", "0,0.1", "--n-images", "50"]) == 0
    assert len(list((tmp_path / "a" / "evals").glob("acc-*.csv"))) == 2


@pytest.mark.parametrize("argv, param", [
    (["--attack", "carlini-wagner"], "attack"),
    (["--epsilons", "0,-0.1"], "epsilons"),
    (["--epsilons", "0,1.5"], "epsilons"),
    (["--epsilons", "a,b"], "epsilons"),
    (["--n-images", "0"], "n_images"),
])
def test_cli_bad_input(tmp_path, argv, param, capsys):
    with pytest.raises(ConfigError, match=param):
        cli.cmd_evaluate(cli.add_evaluate_arguments(argparse.ArgumentParser()).parse_args([str(tmp_path)] + argv))
    assert main_evaluate([str(tmp_path)] + argv) == 2
    assert param in capsys.readouterr().err


def test_cli_missing_run_dir(tmp_path, capsys):
    assert main_evaluate([str(tmp_path / "nope")]) == 2
    assert "run_dir" in capsys.readouterr().err


def test_bf16_curves_agree_with_fp32_and_are_cached_separately(tmp_path, data):
    """bfloat16 inference changes accuracies by a few predictions at most (same images, same noise), is
    recorded in the table, and never serves a float32 request from its cache (or the other way)."""
    x, y = data
    run = FakeRun(tmp_path / "r", FakeConfig())
    cache = DictCache()
    eps = [0.0, 0.1, 0.3]
    t32 = robust_accuracy(run, "gaussian", epsilons=eps, n_images=400, images=x, labels=y, cache=cache)
    t16 = robust_accuracy(run, "gaussian", epsilons=eps, n_images=400, images=x, labels=y, cache=cache,
                          precision="bf16")
    assert cache.computed == 2
    assert (t32["precision"] == "fp32").all() and (t16["precision"] == "bf16").all()
    np.testing.assert_allclose(t16["accuracy"], t32["accuracy"], atol=0.02)  # <= 8 of 400 predictions
    auto = ev.resolve_precision("auto")
    assert auto == ("bf16" if ev.bf16_supported() else "fp32")
    robust_accuracy(run, "gaussian", epsilons=eps, n_images=400, images=x, labels=y, cache=cache, precision="auto")
    assert cache.computed == 2  # "auto" resolves before the cache key is built
    with pytest.raises(ConfigError, match="precision"):
        robust_accuracy(run, "gaussian", epsilons=eps, images=x, labels=y, cache=False, precision="fp16")


@pytest.mark.slow  # end-to-end: trains a predictor or a run, or attacks with a trained source
def test_transferred_fgsm_computes_the_source_gradient_once_per_batch(tmp_path, data):
    """The transferred sign depends on the source and the images only: evaluating three target runs costs one
    source gradient per batch, and the accuracies equal those of separate attacks."""
    from pixelreg.robustness.attacks import FGSM

    x, y = data
    x = x.float() / 255
    src = trained(1, seed=0)
    calls = []
    handle = src.register_forward_hook(lambda *a: calls.append(1))
    try:
        atk = FGSM(source=src)
        targets = [trained(1, seed=s) for s in (1, 2, 3)]
        shared = [accuracy_curve(m, x, y, atk, [0.0, 0.2], batch_size=200) for m in targets]
        assert len(calls) == 2  # 400 images in batches of 200: one source forward per batch
        fresh = [accuracy_curve(m, x, y, FGSM(source=src), [0.0, 0.2], batch_size=200) for m in targets]
    finally:
        handle.remove()
    assert shared == fresh


# -- BatchNorm re-estimation ----------------------------------------------------------------------------
def test_reestimate_batchnorm_by_hand():
    """A lone BatchNorm layer: the re-estimated running mean is the mean of the batch means of the drawn images
    and the running variance the mean of their unbiased batch variances (cumulative average, momentum None);
    nothing else changes, and the model comes back in eval mode."""
    from torch import nn
    from pixelreg.robustness.evaluate import reestimate_batchnorm

    torch.manual_seed(0)
    model = nn.Sequential(nn.BatchNorm2d(1))
    model[0].running_mean.fill_(5.0)
    model[0].running_var.fill_(9.0)
    w = model[0].weight.detach().clone()
    images = (torch.rand(40, 1, 4, 4) * 255).to(torch.uint8)
    reestimate_batchnorm(model, images, batches=3, batch_size=8, seed=7)
    idx = torch.randperm(40, generator=torch.Generator().manual_seed(7))[:24]
    x = images[idx].float() / 255
    chunks = x.split(8)
    mean = torch.stack([c.mean() for c in chunks]).mean()
    var = torch.stack([c.var(unbiased=True) for c in chunks]).mean()
    assert not model.training
    torch.testing.assert_close(model[0].running_mean, mean.reshape(1))
    torch.testing.assert_close(model[0].running_var, var.reshape(1))
    assert torch.equal(model[0].weight.detach(), w)
    with pytest.raises(ConfigError) as err:
        reestimate_batchnorm(model, images, batches=10, batch_size=8)
    assert err.value.param == "batches"


@needs_fmnist
def test_bn_reestimation_repairs_shifted_statistics_and_is_cached_apart(tmp_path):
    """On a trained smoke run whose running statistics were shifted on purpose, re-estimation from its
    training images restores the clean accuracy; the re-estimated curve is cached under its own key and
    labelled in column ``bn``; bad values are rejected."""
    from pixelreg.experiment.config import make_config
    from pixelreg.experiment.train import train

    from pixelreg.experiment.runs import atomic_torch_save, load_checkpoint

    run = train(make_config("smoke", alpha=0.0, epochs=2), runs_dir=tmp_path, progress=False)
    sound = robust_accuracy(run, "gaussian", epsilons=[0.0], n_images=128, cache=False)["accuracy"].iloc[0]
    best = load_checkpoint(run.dir / "best.pt")
    for k, v in best["model"].items():
        if k.endswith("running_mean"):
            v.add_(3.0)  # statistics shifted far from the task images', as a foreign pool could shift them
    atomic_torch_save(run.dir / "best.pt", best)
    trained = robust_accuracy(run, "gaussian", epsilons=[0.0], n_images=128)
    again = robust_accuracy(run, "gaussian", epsilons=[0.0], n_images=128, bn_batches=4)
    assert set(trained["bn"]) == {"as trained"} and set(again["bn"]) == {"re-estimated (4x64)"}
    assert again["accuracy"].iloc[0] >= sound - 0.05 and again["accuracy"].iloc[0] > trained["accuracy"].iloc[0] + 0.1
    assert len(list((run.dir / "evals").glob("acc-gaussian-*.csv"))) == 2
    # the same setting comes back from the cache
    assert robust_accuracy(run, "gaussian", epsilons=[0.0], n_images=128, bn_batches=4).equals(again)
    with pytest.raises(ConfigError) as err:
        robust_accuracy(run, "gaussian", epsilons=[0.0], n_images=128, bn_batches=0)
    assert err.value.param == "bn_batches"
