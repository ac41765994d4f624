"""Robustness evaluation: accuracy curves under attack, tidy tables over runs, boundary-attack distances.

Test images are the first ``n_images`` of the official test split (deterministic), converted with
``images.float() / 255``. Accuracy is over *all* images (not only initially correct ones), as in the
reference (spec §9.2), so the ε = 0 point is clean accuracy.
"""
from __future__ import annotations

from pathlib import Path
from typing import Any, Callable, Iterable, Mapping, Sequence

import numpy as np
import pandas as pd
import torch
from torch import nn

from pixelreg.robustness.attacks import (ATTACKS, DEFAULT_CUTOFF, Attack, BoundaryAttack, check_epsilons, epsilon_grids,
                                         eval_mode, make_attack, model_device, model_fingerprint)
from pixelreg.experiment.config import condition_label
from pixelreg.experiment.data import SPLIT_SIZES
from pixelreg.errors import ConfigError
from pixelreg.device import bf16_autocast
from pixelreg.models import INFERENCE_CHUNK, PRECISIONS, bf16_supported, default_device, resolve_precision
from pixelreg.experiment.runs import Run, atomic_torch_save, cached_lookup, cached_table
from pixelreg.experiment.records import tensor_file_name
from pixelreg.hashing import content_hash


# The attacks, their reference ε grids and make_attack live in one registry (pixelreg.robustness.attacks.ATTACKS);
# EPSILON_GRIDS is its task -> attack -> grid view (units: gaussian = per-pixel std, uniform = L∞ bound,
# salt-pepper = fraction of pixels, fgsm and pgd = L∞, low/high-pass = per-pixel RMS; [0, 1] pixel units).
EPSILON_GRIDS = epsilon_grids()


def _as_float_images(images: torch.Tensor) -> torch.Tensor:
    if images.dtype == torch.uint8:
        return images.float() / 255
    if not images.is_floating_point():
        raise ConfigError("images", str(images.dtype), "uint8 in [0, 255] or float in [0, 1]")
    return images


def _forward(model: nn.Module, x: torch.Tensor, precision: str) -> torch.Tensor:
    """Logits in chunks of INFERENCE_CHUNK images; ``precision="bf16"`` runs under bfloat16 autocast."""
    dev = x.device.type
    outs = []
    with bf16_autocast(dev, enabled=precision == "bf16"):
        for i in range(0, len(x), INFERENCE_CHUNK):
            outs.append(model(x[i:i + INFERENCE_CHUNK]).float())
    return torch.cat(outs)


def accuracy_curve(model: nn.Module, images: torch.Tensor, labels: torch.Tensor, attack: Attack,
                   epsilons: Sequence[float], batch_size: int = 1000, seed: int = 0,
                   precision: str = "fp32") -> list[float]:
    """Accuracy of ``model`` on ``attack(images)`` at each ε, over all images.

    Args:
        model: (B, C, H, W) float in [0, 1] -> logits; evaluated in eval mode (its mode is restored).
        images: (N, C, H, W) uint8 in [0, 255] or float in [0, 1]; moved batch by batch to the model's
            device.
        labels: (N,) int64.
        attack: an :class:`~pixelreg.robustness.attacks.Attack`.
        epsilons: the ε grid; ε = 0 gives exactly the clean accuracy.
        batch_size: images per batch; one noise draw per batch (the draws depend on the batch size).
        seed: seeds one ``torch.Generator`` that runs through the batches in order.
        precision: "fp32", "bf16" (bfloat16 autocast for the forward passes that are scored; attack
            gradients stay float32) or "auto" (bf16 where the device runs it natively). BENCHMARKS.md
            compares the two on trained runs.
    Returns:
        list of accuracies in [0, 1], one per ε.
    """
    if batch_size < 1:
        raise ConfigError("batch_size", batch_size, "an integer >= 1")
    if len(images) != len(labels) or len(images) == 0:
        raise ConfigError("images/labels", (len(images), len(labels)), "the same non-zero length")
    eps = check_epsilons(epsilons, attack.eps_max)
    device = model_device(model)
    precision = resolve_precision(precision, device)
    g = torch.Generator(device=device).manual_seed(int(seed))
    correct = torch.zeros(len(eps), dtype=torch.long, device=device)
    grad_ctx = torch.no_grad if attack.needs_grad else torch.inference_mode
    with eval_mode(model):
        for i in range(0, len(images), batch_size):
            x = _as_float_images(images[i:i + batch_size].to(device))
            y = labels[i:i + batch_size].to(device)
            for k, xa in enumerate(attack.perturbed(model, x, y, eps, g)):
                with grad_ctx():
                    correct[k] += (_forward(model, xa, precision).argmax(1) == y).sum()
    return (correct.double() / len(images)).tolist()


# --------------------------------------------------------------------------------------------------------
# Tables over runs


def _test_split(task: str, n_images: int, rgb: bool = False) -> tuple[torch.Tensor, torch.Tensor]:
    from pixelreg.experiment.data import load_dataset

    ds = load_dataset(task, "test", rgb=rgb)
    return ds.images[:n_images], ds.labels[:n_images]


def _tensor_fingerprint(t: torch.Tensor) -> str:
    return content_hash(t, algorithm="sha1")


def _source_model(source: Any, device) -> tuple[nn.Module | None, str | None]:
    if source is None:
        return None, None
    if isinstance(source, nn.Module):
        return source.to(device).eval(), model_fingerprint(source)
    if isinstance(source, (str, Path)):
        source = open_run(source)
    # loaded on first use only: a cached curve (e.g. from a published record) needs no source checkpoint.
    # A source trained since runs record their weights' digest is named by it too: a source retrained from the
    # same config on another CPU is not bit-identical, so its evaluations must not share the older keys.
    digest = getattr(source, "provenance", {}).get("weights_sha256")
    return (lambda run=source: run.load_model(device)), f"run:{Path(source.dir).name}" + (f"@{digest}" if digest else "")


def _run_id(run: Any) -> str:
    return Path(run.dir).name


# BatchNorm re-estimation (the BatchNorm page): batches x images of the run's own training split
BN_BATCHES, BN_BATCH_SIZE = 50, 64


def reestimate_batchnorm(model: nn.Module, images: torch.Tensor, batches: int = BN_BATCHES,
                         batch_size: int = BN_BATCH_SIZE, seed: int = 0) -> nn.Module:
    """Recompute every BatchNorm layer's running statistics from ``batches`` batches of ``batch_size`` images
    drawn without replacement from ``images`` (uint8 or [0, 1] float), nothing else changed; return the model
    in eval mode.

    The statistics are reset and re-estimated as a cumulative average over the batches
    (``torch.optim.swa_utils.update_bn``, momentum None), in train mode, without gradients. Used to ask
    whether a model's test behaviour comes from its weights or from running statistics that the pair
    pathway shifted during training (``pair_bn="update"``, the reference).
    """
    if not isinstance(batches, int) or batches < 1 or not isinstance(batch_size, int) or batch_size < 1:
        raise ConfigError("batches/batch_size", (batches, batch_size), "integers >= 1")
    n = batches * batch_size
    if n > len(images):
        raise ConfigError("batches", batches, f"at most {len(images) // batch_size} batches of {batch_size} "
                          f"({len(images)} images)")
    g = torch.Generator().manual_seed(int(seed))
    idx = torch.randperm(len(images), generator=g)[:n]
    dev = model_device(model)
    loader = [_as_float_images(images[idx[b * batch_size:(b + 1) * batch_size]]).to(dev) for b in range(batches)]
    with torch.no_grad():
        torch.optim.swa_utils.update_bn(loader, model, device=dev)
    return model.eval()


def _train_split_images(config: Any) -> torch.Tensor:
    """The images a run trained on (its training split after the validation hold-out and any subset)."""
    from pixelreg.experiment.data import load_dataset, run_split

    train_all = load_dataset(config.task, "train", rgb=bool(getattr(config, "rgb", False)))
    return train_all.images[run_split(len(train_all), config)[0]]


def robust_accuracy(runs: Any | Iterable[Any], attack: str | Attack, epsilons: Sequence[float] | None = None,
                    n_images: int = 2000, seed: int = 0, source: Any = None, batch_size: int = 1000,
                    device: str | torch.device | None = None, images: torch.Tensor | None = None,
                    labels: torch.Tensor | None = None, cache: Callable | None | bool = True,
                    clip: str = "bounds", cutoff: float = DEFAULT_CUTOFF, precision: str = "fp32",
                    bn_batches: int | None = None) -> pd.DataFrame:
    """Accuracy under an attack for each run, as one tidy table.

    Args:
        runs: a :class:`pixelreg.experiment.runs.Run` or an iterable of them (anything with ``.dir``, ``.config`` and
            ``.load_model(device)``).
        attack: a name in ``ATTACKS`` (not "boundary") or an Attack instance (its ``name`` labels rows).
        epsilons: the ε grid; None = the reference grid for the run's task (the attack's registry entry,
            :data:`pixelreg.robustness.attacks.ATTACKS`).
        n_images: the first ``n_images`` of the test split (or of ``images``).
        seed: noise seed (the run's training seed is ``config.seed``, column ``seed``).
        source: transfer source for "fgsm": a Run, a run directory or a model; None = white-box.
        images, labels: use these (uint8 or [0, 1] float) instead of loading the test split.
        cache: True = :func:`pixelreg.experiment.runs.cached_table` (one CSV per run and setting), False/None = no
            cache, or a callable with the same signature.
        precision: "fp32" (default), "bf16" or "auto" (see :func:`accuracy_curve`); part of the cache key.
        bn_batches: None (default): the model as trained. An integer: first re-estimate its BatchNorm running
            statistics from that many batches of ``BN_BATCH_SIZE`` images of the run's own training split
            (:func:`reestimate_batchnorm`, seeded by ``seed``); part of the cache key, column ``bn``.
    Returns:
        DataFrame with columns run, task, seed, condition, alpha, th, target, attack, attack_repr,
        source, attack_seed, epsilon, accuracy, n_images, precision; one row per (run, epsilon).
    """
    if n_images < 1:
        raise ConfigError("n_images", n_images, "an integer >= 1")
    if bn_batches is not None and (not isinstance(bn_batches, int) or isinstance(bn_batches, bool) or bn_batches < 1):
        raise ConfigError("bn_batches", bn_batches, "None (as trained) or an integer >= 1 (batches of "
                          f"{BN_BATCH_SIZE} training images)")
    bn = None if bn_batches is None else dict(batches=bn_batches, batch_size=BN_BATCH_SIZE, seed=seed)
    device = default_device(device)
    precision = resolve_precision(precision, device)
    runs = [runs] if hasattr(runs, "dir") and hasattr(runs, "config") else list(runs)
    if cache is True:
        cache = cached_table
    src_model, src_id = _source_model(source, device)
    if isinstance(attack, str):
        if attack == "boundary":
            raise ConfigError("attack", attack, "an ε attack; use boundary_distances for the boundary attack")
        atk = make_attack(attack, src_model, src_id, clip=clip, cutoff=cutoff)
    else:
        atk = attack
    if images is not None:
        if labels is None or len(labels) != len(images):
            raise ConfigError("labels", None if labels is None else len(labels), "one label per image")
        images, labels = images[:n_images], labels[:n_images]
    split_cache: dict[tuple[str, bool], tuple[torch.Tensor, torch.Tensor]] = {}
    tables = []
    for run in runs:
        cfg = run.config
        task = getattr(cfg, "task", None)
        if epsilons is None:
            grid = ATTACKS[atk.name].grids.get(task) if atk.name in ATTACKS else None
            if grid is None:
                raise ConfigError("epsilons", None, f"explicit epsilons (no reference grid for {task}/{atk.name})")
            eps = list(grid)
        else:
            eps = check_epsilons(epsilons, atk.eps_max)
        if images is None:
            key = (task, bool(getattr(cfg, "rgb", False)))
            # a cached curve (e.g. from a published record) needs no dataset: look it up under the key the
            # full test split would give before loading it
            n = min(n_images, SPLIT_SIZES[task][1]) if task in SPLIT_SIZES else None
            hit = None if n is None or cache is not cached_table else cached_lookup(
                run.dir, f"acc-{atk.name}", _curve_params(atk, eps, f"{task}-test-first{n}", seed, batch_size,
                                                          precision, bn))
            if hit is not None:
                tables.append(_curve_table(run, cfg, atk, hit, seed, n, precision, bn))
                continue
            if key not in split_cache:
                split_cache[key] = _test_split(task, n_images, rgb=key[1])
            x, y = split_cache[key]
            data_id = f"{task}-test-first{len(x)}"
        else:
            x, y = images, labels
            data_id = f"given-{_tensor_fingerprint(x)}-{_tensor_fingerprint(y)}"

        def compute(run=run, x=x, y=y, eps=eps, cfg=cfg) -> pd.DataFrame:
            model = run.load_model(device)
            if bn is not None:
                reestimate_batchnorm(model, _train_split_images(cfg), bn["batches"], bn["batch_size"], bn["seed"])
            acc = accuracy_curve(model, x, y, atk, eps, batch_size=batch_size, seed=seed, precision=precision)
            return pd.DataFrame({"epsilon": eps, "accuracy": acc})

        params = _curve_params(atk, eps, data_id, seed, batch_size, precision, bn)
        curve = cache(run.dir, f"acc-{atk.name}", params, compute) if cache else compute()
        tables.append(_curve_table(run, cfg, atk, curve, seed, len(x), precision, bn))
    return pd.concat(tables, ignore_index=True) if tables else pd.DataFrame()


def _curve_params(atk: Attack, eps: list, data_id: str, seed: int, batch_size: int, precision: str,
                  bn: dict | None = None) -> dict:
    """The cache key of one accuracy curve."""
    params = {"attack": repr(atk), "epsilons": eps, "data": data_id, "seed": seed, "batch_size": batch_size}
    if precision != "fp32":  # fp32 keys are unchanged, so existing float32 caches stay valid
        params["precision"] = precision
    if bn is not None:  # likewise: keys without BatchNorm re-estimation are unchanged
        params["bn_reestimate"] = bn
    return params


def transferred_from(source_run_id: str) -> Callable[[Mapping], bool]:
    """A test of a curve's cache parameters (:func:`_curve_params`): FGSM transferred from the run
    ``source_run_id`` (its weights' digest, where the key names one, whatever it is). For pages that ask
    whether a record holds that curve without loading weights (:func:`pixelreg.experiment.sweep.held_runs`)."""
    name = f"FGSM(source=run:{source_run_id}"

    def test(params: Mapping) -> bool:
        attack = str(params.get("attack", ""))
        return attack == name + ")" or attack.startswith(name + "@")
    return test


def bn_reestimated(batches: int | None) -> Callable[[Mapping], bool]:
    """A test of a curve's cache parameters: BatchNorm re-estimated from ``batches`` batches of
    ``BN_BATCH_SIZE`` (None: the model as trained, no re-estimation)."""
    def test(params: Mapping) -> bool:
        bn = params.get("bn_reestimate")
        if batches is None:
            return bn is None
        return isinstance(bn, Mapping) and bn.get("batches") == batches and bn.get("batch_size") == BN_BATCH_SIZE
    return test


def _curve_table(run: Any, cfg: Any, atk: Attack, curve: pd.DataFrame, seed: int, n: int,
                 precision: str, bn: dict | None = None) -> pd.DataFrame:
    return pd.DataFrame({
        "run": _run_id(run), "task": getattr(cfg, "task", None), "seed": getattr(cfg, "seed", None),
        "condition": condition_label(cfg), "alpha": getattr(cfg, "alpha", None),
        "th": getattr(cfg, "th", None), "target": getattr(cfg, "target", None),
        "attack": atk.name, "attack_repr": repr(atk), "source": getattr(atk, "source_id", None),
        "attack_seed": seed, "epsilon": curve["epsilon"].to_numpy(float),
        "accuracy": curve["accuracy"].to_numpy(float), "n_images": n, "precision": precision,
        "bn": "as trained" if bn is None else f"re-estimated ({bn['batches']}x{bn['batch_size']})"})


def boundary_distances(run_or_model: Any, images: torch.Tensor | None = None, labels: torch.Tensor | None = None,
                       n_images: int = 1000, steps: int = 50, repeats: int = 5, seed: int = 0,
                       batch_size: int = 100, device: str | torch.device | None = None,
                       cache: Callable | None | bool = True) -> tuple[pd.DataFrame, torch.Tensor]:
    """Boundary-attack minimal perturbations (spec §9.4, with failures counted and δ kept).

    ``n_images`` images are drawn without replacement (``torch.randperm`` seeded by ``seed``) from the
    test split of the run's task, or from ``images``; ``labels`` are optional and only recorded.

    Returns:
        (table, delta): table with one row per (image, repeat): run, seed, condition (for a run), image
        (index into the test split / ``images``), repeat, label (the model's prediction = the criterion),
        success, mse (||δ||²/D, NaN if failed); delta (R, n, C, H, W) float32, NaN for failures. For a run,
        delta is also saved as ``<run>/evals/boundary-<hash>.pt`` next to the cached CSV.
        Summary like the reference: ``table[table.success].groupby("repeat").mse.median()``, then its mean
        (see :class:`~pixelreg.robustness.attacks.BoundaryResult`).
    """
    if n_images < 1:
        raise ConfigError("n_images", n_images, "an integer >= 1")
    device = default_device(device)
    is_run = hasattr(run_or_model, "dir") and hasattr(run_or_model, "load_model")
    attack = BoundaryAttack(steps=steps, repeats=repeats, batch_size=batch_size)
    if images is None and is_run and cache is True:  # served from the cache without the dataset if it is there
        params = {"attack": repr(attack), "data": f"{run_or_model.config.task}-test", "n_images": n_images,
                  "seed": seed}
        pt = _boundary_pt(run_or_model, params)
        table = cached_lookup(run_or_model.dir, "boundary", params) if pt.is_file() else None
        if table is not None:
            return (_label_boundary(table, run_or_model),
                    torch.load(pt, map_location="cpu", weights_only=True))
    if images is None:
        if not is_run:
            raise ConfigError("images", None, "test images when evaluating a bare model")
        cfg = run_or_model.config
        from pixelreg.experiment.data import load_dataset

        ds = load_dataset(cfg.task, "test", rgb=bool(getattr(cfg, "rgb", False)))
        images, labels = ds.images, ds.labels
        data_id = f"{cfg.task}-test"
    else:
        data_id = f"given-{_tensor_fingerprint(images)}"
    gen = torch.Generator().manual_seed(int(seed))
    idx = torch.randperm(len(images), generator=gen)[:n_images]
    x = _as_float_images(images[idx])

    def compute() -> tuple[pd.DataFrame, torch.Tensor]:
        model = run_or_model.load_model(device) if is_run else run_or_model
        res = attack(model, x.to(model_device(model)), seed=seed)
        r, n = res.success.shape
        table = pd.DataFrame({
            "image": np.tile(idx.numpy(), r), "repeat": np.repeat(np.arange(r), n),
            "label": np.tile(res.labels.numpy(), r),
            "true_label": np.tile(labels[idx].numpy(), r) if labels is not None else -1,
            "success": res.success.flatten().numpy(), "mse": res.mse.flatten().double().numpy()})
        return table, res.delta.float()

    if is_run:
        params = {"attack": repr(attack), "data": data_id, "n_images": n_images, "seed": seed}
        pt = _boundary_pt(run_or_model, params)
        cache_fn = cached_table if cache is True else (cache or None)
        box: dict[str, torch.Tensor] = {}

        def compute_table() -> pd.DataFrame:
            table, delta = compute()
            box["delta"] = delta
            atomic_torch_save(pt, delta)
            return table

        if cache_fn and pt.is_file():
            table = cache_fn(run_or_model.dir, "boundary", params, compute_table)
            delta = box.get("delta")
            if delta is None:
                delta = torch.load(pt, map_location="cpu", weights_only=True)
        else:  # no cache, or perturbations missing: compute afresh (deterministic given the seed)
            table = compute_table()
            delta = box["delta"]
            if cache_fn:
                cache_fn(run_or_model.dir, "boundary", params, lambda: table)
        return _label_boundary(table, run_or_model), delta
    return compute()


def _boundary_pt(run: Any, params: dict) -> Path:
    """Where a run's boundary perturbations for ``params`` are saved (next to the cached table)."""
    return Path(run.dir) / "evals" / tensor_file_name("boundary", params)


def _label_boundary(table: pd.DataFrame, run: Any) -> pd.DataFrame:
    table.insert(0, "condition", condition_label(run.config))
    table.insert(0, "seed", getattr(run.config, "seed", None))
    table.insert(0, "run", _run_id(run))
    return table


def open_run(path: str | Path) -> Run:
    """The run in directory ``path`` (ConfigError naming run_dir when it is not a run directory)."""
    p = Path(path)
    if not p.is_dir():
        raise ConfigError("run_dir", str(p), "an existing run directory (printed by `pixelreg train`)")
    return Run.open(p)


__all__ = ["EPSILON_GRIDS", "ATTACKS", "DEFAULT_CUTOFF", "PRECISIONS", "bf16_supported", "resolve_precision", "make_attack",
           "condition_label", "accuracy_curve", "robust_accuracy", "boundary_distances", "open_run"]
