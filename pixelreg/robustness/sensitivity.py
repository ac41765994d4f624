"""Per-run frequency evaluations, cached in the run's ``evals/`` folder and published in its record like the
accuracy curves: a run's Fourier sensitivity map (:mod:`pixelreg.robustness.fourier`) and its accuracy under
the common corruptions (:mod:`pixelreg.robustness.corruptions`).

Test images are the first ``n_images`` of the official test split of the run's task (deterministic), as for
:func:`pixelreg.robustness.evaluate.robust_accuracy`; a cached table is looked up before any dataset is
loaded, so a checkpoint-free record serves it without data or model.

Cache entries (:func:`pixelreg.experiment.runs.cached_table`):

* ``fourier-<key>.csv``: one row per frequency of the centred S x S map (784 rows at 28x28): ``u`` (vertical)
  and ``v`` (horizontal) in cycles per image, ``error`` (error rate under that basis perturbation) and
  ``clean_error`` (the same on every row). Parameters: norm, sign seed, data (``<task>-test-first<n>``),
  n_images, precision. About 20 kB in a record.
* ``corruptions-<key>.csv``: one row per (corruption, severity) plus the clean row (``corruption="none"``,
  severity 0): ``accuracy``. Parameters: each corruption's severity parameters
  (:data:`pixelreg.robustness.corruptions.PARAMS`, so a changed definition changes the key), the severities,
  data, n_images, the corruption seed, precision.

Corrupted test sets depend only on the images, the corruption, the severity and the seed, so they are made
once per process and reused for every run (:func:`corrupted_set`, an in-memory cache: 12 corruptions x 5
severities of 2,000 28x28 images is 94 MB and about 14 s to make on one loaded core).
"""
from __future__ import annotations

from typing import Any, Callable, Iterable, Sequence

import pandas as pd
import torch
from torch import nn

from pixelreg.device import bf16_autocast
from pixelreg.errors import ConfigError
from pixelreg.experiment.config import condition_label
from pixelreg.experiment.data import SPLIT_SIZES
from pixelreg.experiment.runs import cached_lookup, cached_table
from pixelreg.hashing import content_hash
from pixelreg.models import INFERENCE_CHUNK, default_device, resolve_precision
from pixelreg.robustness.corruptions import CORRUPTIONS, PARAMS, SEVERITIES, corrupt
from pixelreg.robustness.fourier import DEFAULT_NORM, fourier_error_map, fourier_frequencies

__all__ = ["FOURIER_IMAGES", "CORRUPTION_IMAGES", "fourier_maps", "corruption_accuracy", "corrupted_set",
           "clear_corrupted_sets", "map_tensor"]

# Defaults at the full profile (the pages read their own per-profile counts).
FOURIER_IMAGES = 500  # test images per frequency (394 frequency pairs at 28x28: 197,000 forward passes)
CORRUPTION_IMAGES = 2000  # test images per corruption and severity (60 sets: 120,000 forward passes)


def _runs(runs: Any) -> list:
    return [runs] if hasattr(runs, "dir") and hasattr(runs, "config") else list(runs)


def _positive(name: str, value: Any) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or value < 1:
        raise ConfigError(name, value, "an integer >= 1")
    return value


def _seed(value: Any) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or value < 0:
        raise ConfigError("seed", value, "an integer >= 0")
    return value


def _labels(run: Any) -> dict:
    cfg = run.config
    return dict(run=run.dir.name, task=cfg.task, seed=cfg.seed, condition=condition_label(cfg),
                reg_data=cfg.pool_source if cfg.regularized else "-", alpha=cfg.alpha, noise_aug=cfg.noise_aug)


def _given(images: torch.Tensor | None, labels: torch.Tensor | None, n_images: int):
    if images is None:
        return None
    if labels is None or len(labels) != len(images):
        raise ConfigError("labels", None if labels is None else len(labels), "one label per image")
    images, labels = images[:n_images], labels[:n_images]
    return images, labels, (f"given-{content_hash(images, algorithm='sha1')}-"
                            f"{content_hash(labels, algorithm='sha1')}")


def _evaluate_runs(runs, name: str, n_images: int, images, labels, params_of: Callable[[str, int], dict],
                   compute_of: Callable[[Any, torch.Tensor, torch.Tensor], Callable[[], pd.DataFrame]],
                   cache) -> list[tuple[Any, pd.DataFrame, int]]:
    """(run, cached or computed table, images used) per run; a cache hit loads neither dataset nor model."""
    if cache is True:
        cache = cached_table
    given = _given(images, labels, n_images)
    split: dict[tuple[str, bool], tuple[torch.Tensor, torch.Tensor]] = {}
    out = []
    for run in _runs(runs):
        cfg = run.config
        if given is None:
            task, rgb = cfg.task, bool(getattr(cfg, "rgb", False))
            n = min(n_images, SPLIT_SIZES[task][1]) if task in SPLIT_SIZES else None
            hit = None if n is None or cache is not cached_table else cached_lookup(
                run.dir, name, params_of(f"{task}-test-first{n}", n))
            if hit is not None:
                out.append((run, hit, n))
                continue
            if (task, rgb) not in split:
                from pixelreg.experiment.data import load_dataset

                ds = load_dataset(task, "test", rgb=rgb)
                split[(task, rgb)] = ds.images[:n_images], ds.labels[:n_images]
            x, y = split[(task, rgb)]
            data_id = f"{task}-test-first{len(x)}"
        else:
            x, y, data_id = given
        compute = compute_of(run, x, y)
        params = params_of(data_id, len(x))
        table = cache(run.dir, name, params, compute) if cache else compute()
        out.append((run, table, len(x)))
    return out


# --------------------------------------------------------------------------------------------------------
# Fourier sensitivity maps

def _fourier_params(norm: float, seed: int, data_id: str, n: int, precision: str) -> dict:
    """The cache key of one Fourier map."""
    return {"evaluation": "fourier_error_map", "norm": norm, "signs": "rademacher", "seed": seed, "data": data_id,
            "n_images": n, "precision": precision}


def fourier_maps(runs: Any | Iterable[Any], n_images: int = FOURIER_IMAGES, norm: float = DEFAULT_NORM,
                 seed: int = 0, precision: str = "fp32", device: str | torch.device | None = None,
                 images: torch.Tensor | None = None, labels: torch.Tensor | None = None,
                 cache: Callable | None | bool = True) -> pd.DataFrame:
    """Each run's Fourier sensitivity map (:func:`pixelreg.robustness.fourier.fourier_error_map`), cached.

    Args:
        runs: a :class:`pixelreg.experiment.runs.Run` or an iterable of them.
        n_images: the first ``n_images`` of the test split (or of ``images``); part of the cache key.
        norm: L2 norm of each basis perturbation per channel, [0, 1] pixel units (default
            :data:`~pixelreg.robustness.fourier.DEFAULT_NORM`, 3.5: Yin et al.'s per-pixel RMS at 28x28).
        seed: seed of the random signs (one Rademacher draw per image and frequency).
        precision: "fp32", "bf16" (through :func:`pixelreg.device.bf16_autocast`) or "auto"; part of the key.
        images, labels: use these (uint8 or [0, 1] float) instead of the test split.
        cache: True = :func:`~pixelreg.experiment.runs.cached_table`, False/None = none, or a callable like it.
    Returns:
        one row per (run, frequency): run, task, seed, condition, reg_data, alpha, noise_aug, u, v, error,
        clean_error, norm, n_images, precision. ``u``, ``v``: cycles per image in the centred layout.
    """
    n_images = _positive("n_images", n_images)
    seed = _seed(seed)
    if isinstance(norm, bool) or not isinstance(norm, (int, float)) or not norm > 0:
        raise ConfigError("norm", norm, "a finite L2 norm > 0 (per channel, images in [0, 1])")
    norm = float(norm)
    device = default_device(device)
    precision = resolve_precision(precision, device)

    def compute_of(run, x, y):
        def compute() -> pd.DataFrame:
            fmap = fourier_error_map(run.load_model(device), x, y, norm=norm, generator=seed, precision=precision)
            f = fourier_frequencies(fmap.size)
            u, v = torch.meshgrid(f, f, indexing="ij")
            return pd.DataFrame({"u": u.flatten().numpy(), "v": v.flatten().numpy(),
                                 "error": fmap.errors.flatten().numpy(), "clean_error": fmap.clean_error})
        return compute

    done = _evaluate_runs(runs, "fourier", n_images, images, labels,
                          lambda data_id, n: _fourier_params(norm, seed, data_id, n, precision), compute_of, cache)
    tables = [t.assign(**_labels(run), norm=norm, n_images=n, precision=precision) for run, t, n in done]
    cols = ["run", "task", "seed", "condition", "reg_data", "alpha", "noise_aug", "u", "v", "error", "clean_error",
            "norm", "n_images", "precision"]
    return pd.concat(tables, ignore_index=True)[cols] if tables else pd.DataFrame(columns=cols)


def map_tensor(table: pd.DataFrame) -> torch.Tensor:
    """(S, S) float64 map in the centred layout from the rows of one map (columns u, v, error): the inverse of
    the table :func:`fourier_maps` caches."""
    if not {"u", "v", "error"} <= set(table.columns):
        raise ConfigError("table", sorted(table.columns), "a table with columns u, v, error")
    size = int(round(len(table) ** 0.5))
    if size * size != len(table) or table[["u", "v"]].duplicated().any():
        raise ConfigError("table", f"{len(table)} rows", "one row per frequency of one square map")
    lo = -(size // 2)
    out = torch.full((size, size), float("nan"), dtype=torch.float64)
    out[torch.tensor(table["u"].to_numpy() - lo), torch.tensor(table["v"].to_numpy() - lo)] = \
        torch.tensor(table["error"].to_numpy(float))
    if torch.isnan(out).any():
        raise ConfigError("table", "frequencies outside the centred range", f"u, v in [{lo}, {lo + size - 1}]")
    return out


# --------------------------------------------------------------------------------------------------------
# common corruptions

_SETS: dict[tuple, torch.Tensor] = {}


def corrupted_set(images: torch.Tensor, name: str, severity: int, seed: int = 0) -> torch.Tensor:
    """``corrupt(images, name, severity, seed)``, made once per process for the same images (by content),
    corruption, severity and seed, and then served from memory (every run is evaluated on the same sets)."""
    key = (content_hash(images, tuple(images.shape), algorithm="sha1"), name, int(severity), int(seed))
    if key not in _SETS:
        _SETS[key] = corrupt(images, name, severity, seed)
    return _SETS[key]


def clear_corrupted_sets() -> None:
    """Free the corrupted sets :func:`corrupted_set` holds."""
    _SETS.clear()


def _check_corruptions(corruptions, severities) -> tuple[tuple[str, ...], tuple[int, ...]]:
    names = tuple(CORRUPTIONS) if corruptions is None else tuple(corruptions)
    if not names or any(n not in CORRUPTIONS for n in names) or len(set(names)) != len(names):
        raise ConfigError("corruptions", corruptions, f"distinct names from {', '.join(CORRUPTIONS)}, or None for all")
    sev = tuple(SEVERITIES) if severities is None else tuple(severities)
    if not sev or any(isinstance(s, bool) or s not in SEVERITIES for s in sev) or len(set(sev)) != len(sev):
        raise ConfigError("severities", severities, f"distinct integers from {SEVERITIES}, or None for all")
    return names, tuple(int(s) for s in sev)


def _accuracies(model: nn.Module, sets: Sequence[torch.Tensor], y: torch.Tensor, precision: str,
                device) -> list[float]:
    """Accuracy of ``model`` (in eval mode) on each of ``sets`` (uint8, each labelled ``y``), the sets' images
    run together in chunks of INFERENCE_CHUNK: a small set does not cost a forward pass of its own."""
    x = torch.cat(list(sets))
    y_all = y.repeat(len(sets)).to(device)
    hits = torch.zeros(len(x), dtype=torch.bool, device=device)
    with torch.inference_mode(), bf16_autocast(device, enabled=precision == "bf16"):
        for i in range(0, len(x), INFERENCE_CHUNK):
            xb = x[i:i + INFERENCE_CHUNK].to(device).float() / 255
            hits[i:i + INFERENCE_CHUNK] = model(xb).argmax(1) == y_all[i:i + INFERENCE_CHUNK]
    return (hits.view(len(sets), len(y)).double().mean(1)).tolist()


def _corruption_params(names, sev, seed: int, data_id: str, n: int, precision: str) -> dict:
    """The cache key of one corruption table: the corruptions with their severity parameters."""
    return {"evaluation": "common_corruptions", "corruptions": {k: list(PARAMS[k]) for k in names},
            "severities": list(sev), "seed": seed, "data": data_id, "n_images": n, "precision": precision}


def corruption_accuracy(runs: Any | Iterable[Any], corruptions: Sequence[str] | None = None,
                        severities: Sequence[int] | None = None, n_images: int = CORRUPTION_IMAGES, seed: int = 0,
                        precision: str = "fp32", device: str | torch.device | None = None,
                        images: torch.Tensor | None = None, labels: torch.Tensor | None = None,
                        cache: Callable | None | bool = True) -> pd.DataFrame:
    """Each run's accuracy under the common corruptions at each severity, and on the clean images; cached.

    Args:
        runs: a :class:`pixelreg.experiment.runs.Run` or an iterable of them.
        corruptions: names in :data:`pixelreg.robustness.corruptions.CORRUPTIONS`; None = all 12.
        severities: a subset of 1..5; None = all.
        n_images: the first ``n_images`` of the test split (or of ``images``, uint8); part of the cache key.
        seed: seed of the random corruptions (the same draws for every run).
        precision, device, cache: as :func:`fourier_maps`.
    Returns:
        one row per (run, corruption, severity) and a clean row per run (corruption "none", severity 0): run,
        task, seed, condition, reg_data, alpha, noise_aug, corruption, severity, accuracy, n_images, precision.
    """
    names, sev = _check_corruptions(corruptions, severities)
    n_images = _positive("n_images", n_images)
    seed = _seed(seed)
    if images is not None and images.dtype != torch.uint8:
        raise ConfigError("images", str(images.dtype), "uint8 images (the corruptions quantise as Hendrycks' code)")
    device = default_device(device)
    precision = resolve_precision(precision, device)

    def compute_of(run, x, y):
        def compute() -> pd.DataFrame:
            model = run.load_model(device)
            keys = [("none", 0)] + [(name, s) for name in names for s in sev]
            sets = [x if name == "none" else corrupted_set(x, name, s, seed) for name, s in keys]
            acc = _accuracies(model, sets, y, precision, device)
            return pd.DataFrame([dict(corruption=k, severity=s, accuracy=a) for (k, s), a in zip(keys, acc)])
        return compute

    done = _evaluate_runs(runs, "corruptions", n_images, images, labels,
                          lambda data_id, n: _corruption_params(names, sev, seed, data_id, n, precision),
                          compute_of, cache)
    tables = [t.assign(**_labels(run), n_images=n, precision=precision) for run, t, n in done]
    cols = ["run", "task", "seed", "condition", "reg_data", "alpha", "noise_aug", "corruption", "severity",
            "accuracy", "n_images", "precision"]
    return pd.concat(tables, ignore_index=True)[cols] if tables else pd.DataFrame(columns=cols)
