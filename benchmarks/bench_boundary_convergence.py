"""Does the boundary attack converge, and at what cost? foolbox's BoundaryAttack vs HopSkipJump on trained runs.

For each run directory given: the images Fig. 4 attacks (the first ``--images`` of ``torch.randperm`` of the
test split, seed 0: those of :func:`pixelreg.robustness.evaluate.boundary_distances`), the boundary attack's
own starting points (blended uniform noise, torch seed 0: the reference protocol's first repeat), then

* **boundary attack**: one uninterrupted run to ``--cap`` steps (:func:`pixelreg.robustness.attacks.boundary_iterates`,
  no early stop), its perturbations kept at 50, 100, 200, ... steps; per checkpoint the median L2, the median
  cosine with the start direction, the mean low-frequency share (non-DC power at r <= 0.1 cycles/pixel,
  :func:`pixelreg.robustness.spectra.low_frequency_share`), the images forwarded through the model (model calls)
  and the wall time; and the step count :func:`pixelreg.robustness.convergence.converged_steps` picks (5%);
* **HopSkipJump** (foolbox 3.3.4, L2, its defaults: 100·sqrt(t) gradient queries at iteration t, geometric step
  search) from the same starting points for ``--hsj-steps`` iterations, the median L2 after each iteration (read
  at the start of the next one), with model calls and wall time.

Usage (the measurement of BENCHMARKS.md section 9, two runs copied without evals/ into a private folder):
    OMP_NUM_THREADS=1 nice -n 15 .venv/bin/python benchmarks/bench_boundary_convergence.py \\
        /tmp/cvg_runs/c14ec792e75d /tmp/cvg_runs/5c6427dc14e3 --images 32 --cap 6400 --hsj-steps 16 --out out.json
"""
from __future__ import annotations

import argparse
import json
import os
import platform
import time
import warnings

import numpy as np
import torch
from torch import nn

from pixelreg.experiment.config import condition_label
from pixelreg.experiment.data import load_dataset
from pixelreg.experiment.runs import Run
from pixelreg.robustness.attacks import boundary_iterates, import_foolbox
from pixelreg.robustness.convergence import (REFERENCE_STEPS, converged_steps, doubling_schedule, l2_norms,
                                             start_cosines)
from pixelreg.robustness.spectra import low_frequency_share

CUTOFF = 0.1


class Counted(nn.Module):
    """The model, counting the images forwarded through it (every query of a decision-based attack)."""

    def __init__(self, model: nn.Module):
        super().__init__()
        self.model, self.images = model, 0

    def forward(self, x):
        self.images += len(x)
        return self.model(x)


def _median(v: torch.Tensor) -> float:
    """Median of the finite values, the mean of the two middle ones for an even count (numpy, pandas)."""
    v = v[torch.isfinite(v)]
    return float(np.median(v.numpy())) if len(v) else float("nan")


def boundary_curve(model: Counted, x: torch.Tensor, cap: int) -> tuple[list[dict], torch.Tensor, torch.Tensor]:
    schedule = doubling_schedule(REFERENCE_STEPS, cap)
    marks: dict[int, tuple[float, int, float]] = {}
    t0, c0 = time.perf_counter(), time.process_time()
    model.images = 0

    def note(k, delta):
        marks[k] = (time.perf_counter() - t0, model.images, time.process_time() - c0)
        print(f"  boundary {k:6d} steps  {marks[k][0]:7.1f} s  median L2 {_median(l2_norms(delta)):.3f}",
              flush=True)
        return False

    it = boundary_iterates(model, x, schedule, stop=note, seed=0)
    marks[schedule[-1]] = (time.perf_counter() - t0, model.images, time.process_time() - c0)
    rows = []
    for k, d in it.deltas.items():
        ok = it.success
        l2 = l2_norms(d[ok])
        rows.append(dict(attack="boundary", steps=k, seconds=round(marks[k][0], 1), cpu_seconds=round(marks[k][2], 1),
                         model_calls=marks[k][1] / len(x),
                         median_l2=_median(l2), median_cosine=_median(start_cosines(d[ok], it.start[ok])),
                         lowfreq_share=float(low_frequency_share(d[ok], CUTOFF).nanmean())))
    curve = {r["steps"]: r["median_l2"] for r in rows}
    for r in rows:
        sub = {k: v for k, v in curve.items() if k <= r["steps"]}
        r["converged_by_rule"] = converged_steps(sub) is not None
    start_row = dict(attack="start", steps=0, seconds=0.0, cpu_seconds=0.0, model_calls=0.0,
                     median_l2=_median(l2_norms(it.start[it.success])), median_cosine=1.0,
                     lowfreq_share=float(low_frequency_share(it.start[it.success], CUTOFF).nanmean()))
    return [start_row, *rows], it.start, it.success


def hsj_curve(model: Counted, x: torch.Tensor, labels: torch.Tensor, start_dir: torch.Tensor, ok: torch.Tensor,
              steps: int) -> list[dict]:
    """HopSkipJump from the boundary attack's starting points; the iterate after t iterations is read where
    iteration t + 1 starts (``approximate_gradients`` receives it), at t = 0 (the start projected onto the
    boundary by its binary search), 1, 2, 4, 8, ..."""
    fb = import_foolbox()
    marks: list[dict] = []
    t0, c0 = time.perf_counter(), time.process_time()
    xs, ys, s0 = x[ok], labels[ok], start_dir[ok]

    def mark(t: int, adv: torch.Tensor) -> None:
        d = (adv - xs).detach()
        marks.append(dict(attack="hopskipjump", steps=t, seconds=round(time.perf_counter() - t0, 1),
                          cpu_seconds=round(time.process_time() - c0, 1), model_calls=model.images / len(x),
                          median_l2=_median(l2_norms(d)), median_cosine=_median(start_cosines(d, s0)),
                          lowfreq_share=float(low_frequency_share(d, CUTOFF).nanmean())))
        print("  " + "  ".join(f"{k}={v:.4g}" if isinstance(v, float) else f"{k}={v}" for k, v in marks[-1].items()),
              flush=True)

    class Watched(fb.attacks.HopSkipJumpAttack):
        def select_delta(self, originals, distances, step):  # called first in each iteration
            self._t = step
            return super().select_delta(originals, distances, step)

        def approximate_gradients(self, is_adversarial, x_advs, steps_, delta):
            if self._t == 0 or (self._t & (self._t - 1)) == 0:  # 0 and powers of two
                mark(self._t, x_advs.raw)
            return super().approximate_gradients(is_adversarial, x_advs, steps_, delta)

    fmodel = fb.PyTorchModel(model, bounds=(0, 1))
    model.images = 0
    with torch.random.fork_rng():
        torch.manual_seed(0)
        adv = Watched(steps=steps).run(fmodel, xs, fb.criteria.Misclassification(ys), starting_points=xs + s0)
    mark(steps, adv)
    curve = {r["steps"]: r["median_l2"] for r in marks if r["steps"] >= 1}
    for r in marks:
        sub = {k: v for k, v in curve.items() if k <= r["steps"]}
        r["converged_by_rule"] = bool(sub) and converged_steps(sub) is not None
    return marks


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("runs", nargs="+", help="run directories with best.pt")
    ap.add_argument("--images", type=int, default=32)
    ap.add_argument("--cap", type=int, default=6400, help="boundary steps (50 times a power of two)")
    ap.add_argument("--hsj-steps", type=int, default=16, help="HopSkipJump iterations (0: skip)")
    ap.add_argument("--threads", type=int, default=1)
    ap.add_argument("--out", default=None, help="write the rows as JSON here")
    args = ap.parse_args()
    torch.set_num_threads(args.threads)
    warnings.filterwarnings("ignore", category=DeprecationWarning)
    print(f"# {platform.processor() or platform.machine()}, torch {torch.__version__}, {args.threads} thread(s), "
          f"OMP_NUM_THREADS={os.environ.get('OMP_NUM_THREADS')}, load average {os.getloadavg()}", flush=True)
    out = []
    for path in args.runs:
        run = Run.open(path)
        ds = load_dataset(run.config.task, "test")
        idx = torch.randperm(len(ds.images), generator=torch.Generator().manual_seed(0))[:args.images]
        x = ds.images[idx].float() / 255
        model = Counted(run.load_model("cpu")).eval()
        with torch.no_grad():
            labels = model(x).argmax(1)
        label = dict(run=run.id, condition=condition_label(run.config), seed=run.config.seed)
        print(f"{run.id} ({label['condition']}, seed {label['seed']})", flush=True)
        load0 = os.getloadavg()[0]
        rows, start_dir, ok = boundary_curve(model, x, args.cap)
        if args.hsj_steps:
            rows += hsj_curve(model, x, labels, start_dir, ok, args.hsj_steps)
        for r in rows:
            out.append(dict(label, **r, n_images=int(ok.sum()), failed=int((~ok).sum()),
                            load_average_start=load0, load_average_end=os.getloadavg()[0]))
        for r in rows:
            print("  " + "  ".join(f"{k}={v:.4g}" if isinstance(v, float) else f"{k}={v}" for k, v in r.items()),
                  flush=True)
        if args.out:  # after each run, so a stopped measurement keeps what it finished
            with open(args.out, "w") as f:
                json.dump(out, f, indent=1)


if __name__ == "__main__":
    main()
