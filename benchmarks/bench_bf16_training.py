"""Does bfloat16 autocast *training* change what the book measures? (issue: evidence at scale, item 1)

Trains the same `cpu`-profile configs twice, in float32 and in bfloat16 autocast, paired by seed: the
unregularized run and the S^Th run (Fashion-MNIST <- Fashion-MNIST, the profile's alpha and Th). Each trained
model is scored in float32 on the same test images and noise draws: clean accuracy and the Gaussian-noise
robust accuracy AUC (mean accuracy over the reference epsilon grid, `pixelreg.analysis.stats.auc`). Reports the paired
differences bf16 - fp32 with 95% t intervals (scipy.stats.ttest_rel) and whether they lie inside the margins,
which were fixed before the runs: |clean accuracy difference| <= 1.5 points and |AUC difference| <= 0.015.

Run: ``.venv/bin/python benchmarks/bench_bf16_training.py [--seeds 0,1,2,3,4] [--workers 2]``
(uses the run store, so a rerun only evaluates).
"""
from __future__ import annotations

import argparse
import sys
from pathlib import Path

import numpy as np
import pandas as pd
from scipy import stats as st

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
from pixelreg.experiment.config import make_config, profile  # noqa: E402
from pixelreg.robustness.evaluate import robust_accuracy  # noqa: E402
from pixelreg.analysis.stats import auc  # noqa: E402
from pixelreg.experiment.sweep import train_runs  # noqa: E402

MARGINS = {"clean_acc": 0.015, "gaussian_auc": 0.015}  # fixed before the check was run


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--seeds", default="0,1,2,3,4")
    ap.add_argument("--workers", type=int, default=2)
    ap.add_argument("--n-images", type=int, default=2000)
    ap.add_argument("--runs-dir", default=None)
    args = ap.parse_args(argv)
    seeds = [int(s) for s in args.seeds.split(",")]
    prof = profile("cpu")
    configs = []
    for prec in ("fp32", "bf16"):
        for seed in seeds:
            configs.append(make_config("cpu", task="fashion-mnist", precision=prec, seed=seed))
            configs.append(make_config("cpu", task="fashion-mnist", reg_data="fashion-mnist", alpha=prof.alpha,
                                       th=0.8, precision=prec, seed=seed))
    runs = train_runs(configs, args.runs_dir, workers=args.workers)
    rows = []
    for c, r in zip(configs, runs):
        cur = robust_accuracy(r, "gaussian", n_images=args.n_images, precision="fp32")
        rows.append(dict(precision=c.precision, condition="S^Th" if c.regularized else "unregularized", seed=c.seed,
                         clean_acc=float(cur.accuracy.iloc[0]),
                         gaussian_auc=float(auc(cur.epsilon.to_numpy(), cur.accuracy.to_numpy())),
                         train_seconds=r.provenance.get("wall_time_seconds")))
    t = pd.DataFrame(rows)
    print(t.to_string(index=False))
    out = []
    for cond, g in t.groupby("condition"):
        w = g.pivot(index="seed", columns="precision")
        for metric, margin in MARGINS.items():
            d = (w[(metric, "bf16")] - w[(metric, "fp32")]).to_numpy()
            res = st.ttest_rel(w[(metric, "bf16")], w[(metric, "fp32")])
            ci = res.confidence_interval(0.95)
            out.append(dict(condition=cond, metric=metric, n=len(d), mean_diff=d.mean(), sd_diff=d.std(ddof=1),
                            ci_low=ci.low, ci_high=ci.high, margin=margin,
                            inside=bool(-margin <= ci.low and ci.high <= margin)))
        sp = (w[("train_seconds", "fp32")] / w[("train_seconds", "bf16")]).to_numpy()
        print(f"{cond}: training wall time fp32/bf16 = {np.mean(sp):.2f}x (per-seed {np.round(sp, 2).tolist()})")
    res = pd.DataFrame(out)
    print(res.to_string(index=False, float_format=lambda v: f"{v:+.4f}"))
    print("ADOPT bf16" if res.inside.all() else "KEEP fp32: at least one interval leaves its margin")
    return 0


if __name__ == "__main__":
    sys.exit(main())
