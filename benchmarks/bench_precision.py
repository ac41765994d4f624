"""Is bfloat16 inference accurate enough for the robustness curves? fp32 vs bf16 on trained runs.

For each run (default: the runs of Fig. 2 at the given profile, taken from the run store; they must be
trained), computes the accuracy curve of each attack twice on the same images and noise draws, once in
float32 and once under bfloat16 autocast (``pixelreg.robustness.evaluate.accuracy_curve(precision=...)``, no cache),
and reports the accuracy differences (bf16 - fp32, in percentage points) and the wall-time ratio.

Usage: .venv/bin/python benchmarks/bench_precision.py [--profile cpu] [--n-images 1000]
       [--attacks gaussian,salt-pepper,fgsm] [--max-runs 15]
Prints per-attack summary rows in markdown (BENCHMARKS.md, section 3).
"""
from __future__ import annotations

import argparse
import datetime
import time

import pandas as pd
import torch

from pixelreg.experiment.data import load_dataset
from pixelreg.robustness.evaluate import EPSILON_GRIDS, accuracy_curve, bf16_supported, make_attack
from pixelreg.figures import Fig2
from pixelreg.experiment.runs import RunStore
from pixelreg.experiment.train import resolve


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--profile", default="cpu")
    ap.add_argument("--n-images", type=int, default=1000)
    ap.add_argument("--attacks", default="gaussian,salt-pepper,fgsm")
    ap.add_argument("--max-runs", type=int, default=15)
    args = ap.parse_args()
    store = RunStore()
    runs = []
    for cfg in Fig2(profile=args.profile).configs():
        run = store.get(resolve(cfg))
        if run is not None and run.finished and run not in runs:
            runs.append(run)
    runs = runs[:args.max_runs]
    if not runs:
        raise SystemExit(f"no trained Fig. 2 runs at profile {args.profile!r}: run `make book` first")
    task = runs[0].config.task
    ds = load_dataset(task, "test")
    x, y = ds.images[:args.n_images], ds.labels[:args.n_images]
    rows = []
    for run in runs:
        model = run.load_model("cpu")
        for name in args.attacks.split(","):
            atk = make_attack(name)
            eps = list(EPSILON_GRIDS[task][name])
            t = {}
            acc = {}
            for prec in ("fp32", "bf16"):
                t0 = time.perf_counter()
                acc[prec] = accuracy_curve(model, x, y, atk, eps, precision=prec)
                t[prec] = time.perf_counter() - t0
            for e, a32, a16 in zip(eps, acc["fp32"], acc["bf16"]):
                rows.append(dict(run=run.id, attack=name, epsilon=e, fp32=a32, bf16=a16,
                                 t_fp32=t["fp32"], t_bf16=t["bf16"]))
        print(f"# {run.id}: done", flush=True)
    df = pd.DataFrame(rows)
    df["diff_pp"] = 100 * (df.bf16 - df.fp32)
    print(f"# {datetime.date.today()}, {len(runs)} runs, {args.n_images} images, torch {torch.__version__}, "
          f"{torch.get_num_threads()} threads, native bf16: {bf16_supported()}")
    print("| attack | run x ε points | mean diff (pp) | mean abs diff (pp) | max abs diff (pp) | "
          "fp32 s/curve | bf16 s/curve | speed-up |")
    print("|---|---|---|---|---|---|---|---|")
    for name, g in df.groupby("attack", sort=False):
        per_curve = g.drop_duplicates("run")
        tf, tb = per_curve.t_fp32.mean(), per_curve.t_bf16.mean()
        print(f"| {name} | {len(g)} | {g.diff_pp.mean():+.3f} | {g.diff_pp.abs().mean():.3f} | "
              f"{g.diff_pp.abs().max():.2f} | {tf:.2f} | {tb:.2f} | {tf / tb:.2f}x |")
    worst = df.loc[df.diff_pp.abs().idxmax()]
    print(f"# largest difference: run {worst.run}, {worst.attack}, eps {worst.epsilon:.3f}: "
          f"fp32 {worst.fp32:.3f} vs bf16 {worst.bf16:.3f}")
    print(f"# AUC-level (mean over ε) largest |diff|: "
          f"{df.groupby(['run', 'attack']).diff_pp.mean().abs().max():.3f} pp; bf16 available natively: "
          f"{bf16_supported()}")


if __name__ == "__main__":
    main()
