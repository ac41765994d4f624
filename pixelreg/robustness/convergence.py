"""Does a minimal-perturbation attack converge? Its median perturbation size over a doubling schedule of steps,
and the rule that picks the step count where it has settled (issue 19, item 2).

The reference protocol runs foolbox's boundary attack for 50 steps, far from converged: foolbox's step sizes
start at 1% of the distance and adapt only once its success statistics are full (30 checks of 10 steps for
the source step, 100 for the spherical one), so the attack barely moves for its first few hundred steps.
:func:`boundary_convergence` runs one attack on a run's images and keeps its perturbations at each checkpoint of
a doubling schedule (the boundary attack: 50, 100, 200, ... steps; HopSkipJump: 1, 2, 4, ... iterations), in one
uninterrupted run (:func:`pixelreg.robustness.attacks.boundary_iterates`, :func:`~pixelreg.robustness.attacks.hopskipjump_iterates`:
the perturbation at k steps is exactly that of a k-step attack), and stops as soon as :func:`converged_steps` says
the median L2 has settled; a run that reaches the cap is unconverged. Per checkpoint it records each image's L2
and the cosine between its perturbation and its start direction (``start − x``, what the init attack alone
implies): a cosine near 1 means the attack has not left its start.

The rule cannot tell a stall from convergence: the boundary attack's first doublings change its median by under 5%
because it has not started moving (tests/test_convergence.py shows the measured curve). Fig. 4 therefore runs
HopSkipJump, which moves from its first iteration and reaches a given L2 with fewer model calls (BENCHMARKS.md
section 9).
"""
from __future__ import annotations

import math
import time
from pathlib import Path
from typing import Any, Callable, Mapping, Sequence

import numpy as np
import pandas as pd
import torch

from pixelreg.errors import ConfigError
from pixelreg.experiment.records import tensor_file_name
from pixelreg.experiment.runs import atomic_torch_save, cached_lookup, cached_table
from pixelreg.models import default_device
from pixelreg.robustness.attacks import boundary_iterates, hopskipjump_iterates, model_device
from pixelreg.robustness.evaluate import _as_float_images, _label_boundary, _tensor_fingerprint

__all__ = ["CONVERGENCE_TOL", "REFERENCE_STEPS", "ATTACK_SCHEDULES", "doubling_schedule", "converged_steps", "relative_changes",
           "l2_norms", "start_cosines", "median_l2", "boundary_convergence", "convergence_curve",
           "convergence_summary", "CONVERGENCE_NAME"]

CONVERGENCE_TOL = 0.05  # converged: the median L2 changed by less than 5% over the last doubling of the steps
REFERENCE_STEPS = 50  # the reference protocol's steps: the schedule's first checkpoint
CONVERGENCE_NAME = "boundary-convergence"  # the evaluation's name in caches and records
# The decision-based attacks whose convergence is measured: (function keeping the iterates, first checkpoint, what
# a "step" is). The boundary attack's schedule starts at the reference protocol's 50 steps; HopSkipJump's at one
# iteration (BENCHMARKS.md section 9 compares the two).
ATTACK_SCHEDULES: dict[str, tuple[Callable, int, str]] = {
    "boundary": (boundary_iterates, REFERENCE_STEPS, "steps"),
    "hopskipjump": (hopskipjump_iterates, 1, "iterations"),
}


def doubling_schedule(start: int, cap: int) -> tuple[int, ...]:
    """``(start, 2·start, 4·start, ..., cap)``; ``cap`` must be ``start`` times a power of two."""
    for name, v in (("start", start), ("cap", cap)):
        if not isinstance(v, (int, np.integer)) or isinstance(v, bool) or v < 1:
            raise ConfigError(name, v, "an integer >= 1 (boundary-attack steps)")
    ratio = cap / start
    if ratio < 1 or 2 ** round(math.log2(ratio)) != ratio:
        raise ConfigError("cap", cap, f"start ({start}) times a power of two (e.g. {start * 64})")
    out, s = [int(start)], int(start)
    while s < cap:
        s *= 2
        out.append(s)
    return tuple(out)


def _curve(curve: Mapping[int, float] | pd.Series | Sequence[tuple[int, float]]) -> tuple[list[int], list[float]]:
    if isinstance(curve, pd.Series):
        items = list(curve.items())
    elif isinstance(curve, Mapping):
        items = list(curve.items())
    else:
        items = list(curve)
    if not items:
        raise ConfigError("curve", "empty", "at least one (steps, median L2) point")
    steps, med = [], []
    for k, v in items:
        if not isinstance(k, (int, np.integer)) or isinstance(k, bool) or k < 1:
            raise ConfigError("curve", k, "step counts that are integers >= 1")
        try:
            v = float(v)
        except (TypeError, ValueError):
            raise ConfigError("curve", v, "median L2 values that are numbers") from None
        if not math.isfinite(v) or v <= 0:
            raise ConfigError("curve", v, "finite median L2 values > 0 (an image set without a successful attack "
                                          "has no curve)")
        steps.append(int(k))
        med.append(v)
    for a, b in zip(steps, steps[1:]):
        if b != 2 * a:
            raise ConfigError("curve", steps, "a doubling schedule of steps in increasing order (50, 100, 200, ...)")
    return steps, med


def relative_changes(curve) -> dict[int, float]:
    """Per step count after the first: |m(s) − m(s/2)| / m(s/2), the median's relative change over the doubling
    that ends at s."""
    steps, med = _curve(curve)
    return {s: abs(m - m0) / m0 for s, m, m0 in zip(steps[1:], med[1:], med)}


def converged_steps(curve: Mapping[int, float] | pd.Series | Sequence[tuple[int, float]],
                    tol: float = CONVERGENCE_TOL) -> int | None:
    """The first step count at which the median perturbation L2 changed by less than ``tol`` (relative) over the
    last doubling of the steps; None when no doubling of the curve is that small (the attack reached its cap
    unconverged, or the curve has a single point).

    Args:
        curve: step count -> median L2 on a doubling schedule (a dict, a Series indexed by steps, or pairs).
        tol: the relative change that counts as settled, in (0, 1); 0.05 = 5%.
    """
    if isinstance(tol, bool) or not isinstance(tol, (int, float, np.floating)) or not 0 < tol < 1:
        raise ConfigError("tol", tol, "a relative change in (0, 1), e.g. 0.05")
    for s, r in relative_changes(curve).items():
        if r < tol:
            return s
    return None


def l2_norms(delta: torch.Tensor) -> torch.Tensor:
    """(N,) L2 norm of each perturbation over all its pixels and channels; NaN where it has NaN."""
    return delta.double().flatten(1).norm(dim=1)


def start_cosines(delta: torch.Tensor, start: torch.Tensor) -> torch.Tensor:
    """(N,) cosine between each perturbation and its start direction (``start − x``); NaN where either has NaN or
    is zero."""
    if delta.shape != start.shape:
        raise ConfigError("start", tuple(start.shape), f"the shape of delta, {tuple(delta.shape)}")
    a, b = delta.double().flatten(1), start.double().flatten(1)
    den = a.norm(dim=1) * b.norm(dim=1)
    return torch.where(den > 0, (a * b).sum(1) / den.clamp_min(1e-300), torch.full_like(den, float("nan")))


def median_l2(delta: torch.Tensor) -> float:
    """Median L2 over the images without NaN (NaN if none)."""
    n = l2_norms(delta)
    n = n[torch.isfinite(n)]
    return float(np.median(n.numpy())) if len(n) else math.nan  # the mean of the two middle values (as pandas)


_ATTACK_LABELS = {
    "boundary": "foolbox 3.3.4 BoundaryAttack: repeat 0 of BoundaryAttack(batch_size >= n_images)",
    "hopskipjump": "foolbox 3.3.4 HopSkipJumpAttack (l2, defaults) from repeat 0 of BoundaryAttack's starting points",
}


def _attack_label(attack: str, checkpoints: tuple[int, ...], tol: float) -> dict:
    return {"attack": _ATTACK_LABELS[attack], "checkpoints": list(checkpoints),
            "stop": "median L2 change < tol over the last doubling", "tol": tol}


def check_attack(attack: str) -> str:
    if attack not in ATTACK_SCHEDULES:
        raise ConfigError("attack", attack, f"one of {', '.join(ATTACK_SCHEDULES)}")
    return attack


def boundary_convergence(run_or_model: Any, images: torch.Tensor | None = None, labels: torch.Tensor | None = None,
                         n_images: int = 16, attack: str = "hopskipjump", cap: int = 64, tol: float = CONVERGENCE_TOL, seed: int = 0, device: str | torch.device | None = None,
                         cache: bool = True, stop_early: bool = True) -> tuple[pd.DataFrame, torch.Tensor]:
    """A decision-based attack's convergence on one run's images, cached as the evaluation ``boundary-convergence``.

    The images are those :func:`pixelreg.robustness.evaluate.boundary_distances` attacks with the same ``n_images``
    and ``seed`` (``torch.randperm`` of the test split seeded by ``seed``), and the starting points are its first
    repeat's (the blended-uniform-noise init under torch seed ``seed * 1000``). ``attack``: "boundary" (foolbox's
    boundary attack, the reference's; its checkpoint at 50 steps is the reference protocol's repeat-0
    perturbation) or "hopskipjump" (foolbox's HopSkipJump from the same starts; checkpoints in iterations), see
    :data:`ATTACK_SCHEDULES`. The attack runs on the schedule :func:`doubling_schedule` (its first checkpoint,
    doubled, up to ``cap``) and, with ``stop_early``, stops at the first checkpoint where :func:`converged_steps`
    (``tol``) holds; a run that reaches ``cap`` without it is unconverged.

    Returns:
        (table, delta). table: one row per (checkpoint, image), checkpoint 0 being the starting point: run,
        seed, condition (for a run), steps, image, label (the model's prediction, the criterion), true_label,
        success, l2 (NaN where failed), cosine (with the start direction), seconds (wall seconds of the attack
        up to that checkpoint, init included; the same for every image). delta: (2, N, C, H, W) float32:
        [0] the start directions ``start − x``, [1] the perturbations at the last checkpoint reached (the
        converged step count, or the cap); NaN where the attack failed. Cached beside the table as
        ``<run>/evals/boundary-convergence-<hash>.pt`` (exported with the run's record).
    """
    if not isinstance(n_images, (int, np.integer)) or isinstance(n_images, bool) or n_images < 1:
        raise ConfigError("n_images", n_images, "an integer >= 1")
    iterates, first, _ = ATTACK_SCHEDULES[check_attack(attack)]
    schedule = doubling_schedule(first, cap)
    converged_steps({schedule[0]: 1.0}, tol)  # checks tol
    is_run = hasattr(run_or_model, "dir") and hasattr(run_or_model, "load_model")
    if images is None:
        if not is_run:
            raise ConfigError("images", None, "test images when evaluating a bare model")
        task = run_or_model.config.task
        data_id = f"{task}-test"
    else:
        data_id = f"given-{_tensor_fingerprint(images)}"
    params = {**_attack_label(attack, schedule, float(tol)), "data": data_id, "n_images": int(n_images), "seed": int(seed),
              "stop_early": bool(stop_early)}
    if is_run and cache:  # served without the dataset or the model when cached (e.g. from a published record)
        pt = Path(run_or_model.dir) / "evals" / tensor_file_name(CONVERGENCE_NAME, params)
        hit = cached_lookup(run_or_model.dir, CONVERGENCE_NAME, params) if pt.is_file() else None
        if hit is not None:
            return _label_boundary(hit, run_or_model), torch.load(pt, map_location="cpu", weights_only=True)
    box: dict[str, torch.Tensor] = {}

    def compute() -> pd.DataFrame:
        # the model first: a record-only run without this evaluation raises RecordOnlyRunError (naming it)
        # before the test set is needed, so a book built from records never asks for the dataset here
        model = run_or_model.load_model(default_device(device)) if is_run else run_or_model
        imgs, labs = images, labels
        if imgs is None:
            from pixelreg.experiment.data import load_dataset

            cfg = run_or_model.config
            ds = load_dataset(cfg.task, "test", rgb=bool(getattr(cfg, "rgb", False)))
            imgs, labs = ds.images, ds.labels
        idx = torch.randperm(len(imgs), generator=torch.Generator().manual_seed(int(seed)))[:n_images]
        x = _as_float_images(imgs[idx])
        times: dict[int, float] = {}
        medians: dict[int, float] = {}
        t0 = time.perf_counter()

        def stop(k: int, delta: torch.Tensor) -> bool:  # at each checkpoint: converged yet?
            times[k] = time.perf_counter() - t0
            medians[k] = median_l2(delta)
            if not stop_early or not all(math.isfinite(v) and v > 0 for v in medians.values()):
                return False  # no successful image (or a zero perturbation): nothing to judge, run to the cap
            return converged_steps(medians, tol) is not None

        it = iterates(model, x.to(model_device(model)), schedule, stop=stop, seed=seed)
        times.setdefault(it.steps_run, time.perf_counter() - t0)
        rows = []
        true = labs[idx].numpy() if labs is not None else np.full(len(idx), -1)
        for k, d in [(0, it.start), *it.deltas.items()]:
            rows.append(pd.DataFrame({
                "steps": k, "image": idx.numpy(), "label": it.labels.numpy(), "true_label": true,
                "success": it.success.numpy(), "l2": l2_norms(d).numpy(), "cosine": start_cosines(d, it.start).numpy(),
                "seconds": round(times.get(k, 0.0), 1)}))
        box["delta"] = torch.stack([it.start, it.deltas[it.steps_run]]).float()
        return pd.concat(rows, ignore_index=True)

    if not is_run:
        table = compute()
        return table, box["delta"]
    pt = Path(run_or_model.dir) / "evals" / tensor_file_name(CONVERGENCE_NAME, params)

    def compute_and_save() -> pd.DataFrame:
        table = compute()
        atomic_torch_save(pt, box["delta"])
        return table

    if not cache:
        table = compute()
        return _label_boundary(table, run_or_model), box["delta"]
    if not pt.is_file() and cached_lookup(run_or_model.dir, CONVERGENCE_NAME, params) is not None:
        table = compute_and_save()  # the table without its tensor: recompute both, the cached table stays
    elif not pt.is_file():  # nothing yet: inside the cache's context, so a run without a model names this evaluation
        table = cached_table(run_or_model.dir, CONVERGENCE_NAME, params, compute_and_save)
    else:
        table = cached_table(run_or_model.dir, CONVERGENCE_NAME, params, compute_and_save)
    delta = box["delta"] if "delta" in box else torch.load(pt, map_location="cpu", weights_only=True)
    return _label_boundary(table, run_or_model), delta


def convergence_curve(table: pd.DataFrame, by: Sequence[str] = ("run",)) -> pd.DataFrame:
    """Per ``by`` and checkpoint (steps > 0), over the images the attack succeeded on: median_l2,
    median_cosine (with the start direction), n_images, seconds, rel_change (over the doubling ending there).

    ``table`` is :func:`boundary_convergence`'s (several runs concatenated are fine)."""
    by = [c for c in by if c in table.columns]
    t = table[(table["steps"] > 0) & table["success"].astype(bool)]
    if t.empty:
        return pd.DataFrame(columns=[*by, "steps", "median_l2", "median_cosine", "n_images", "seconds", "rel_change"])
    g = t.groupby([*by, "steps"], as_index=False)
    out = g.agg(median_l2=("l2", "median"), median_cosine=("cosine", "median"), n_images=("l2", "count"),
                seconds=("seconds", "max"))
    out = out.sort_values([*by, "steps"]).reset_index(drop=True)
    prev = out.groupby(by)["median_l2"].shift(1) if by else out["median_l2"].shift(1)
    out["rel_change"] = (out["median_l2"] - prev).abs() / prev
    return out


def convergence_summary(table: pd.DataFrame, tol: float = CONVERGENCE_TOL, by: Sequence[str] = ("run",)
                        ) -> pd.DataFrame:
    """Per ``by`` (default: per run): steps_run (the last checkpoint reached), converged_steps (the rule; None:
    unconverged at the cap), converged (bool), median_l2 and median_cosine at steps_run, median_l2_first and
    median_cosine_first at the first checkpoint (steps_first: the boundary attack's 50 steps, the reference
    protocol, or HopSkipJump's first iteration), median_l2_start (at the starting points), n_images (attacked),
    failed (images without an adversarial start), seconds (wall time of the attack up to steps_run)."""
    by = [c for c in by if c in table.columns]
    curve = convergence_curve(table, by)
    rows = []
    keys = list(dict.fromkeys(zip(*[table[c] for c in by]))) if by else [()]
    for k in keys:
        k = k if isinstance(k, tuple) else (k,)
        sel = dict(zip(by, k))
        c = curve
        t = table
        for col, v in sel.items():
            c, t = c[c[col] == v], t[t[col] == v]
        first = t[t["steps"] == t["steps"].min()]
        ok = first["success"].astype(bool)
        row = dict(**sel, steps_run=int(t["steps"].max()), failed=int((~ok).sum()), n_images=int(ok.sum()),
                   median_l2_start=float(first.loc[ok, "l2"].median()) if ok.any() else math.nan)
        if c.empty:
            rows.append(dict(row, converged_steps=None, converged=False, median_l2=math.nan, median_cosine=math.nan,
                             median_l2_first=math.nan, median_cosine_first=math.nan, steps_first=math.nan,
                             seconds=float(t["seconds"].max())))
            continue
        cs = converged_steps(dict(zip(c["steps"].astype(int), c["median_l2"])), tol)
        last, head = c.iloc[-1], c.iloc[0]
        rows.append(dict(row, converged_steps=cs, converged=cs is not None, median_l2=float(last.median_l2),
                         median_cosine=float(last.median_cosine), steps_first=int(head.steps),
                         median_l2_first=float(head.median_l2), median_cosine_first=float(head.median_cosine),
                         seconds=float(last.seconds)))
    return pd.DataFrame(rows)
