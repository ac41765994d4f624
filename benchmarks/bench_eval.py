"""Throughput of a full Gaussian-noise accuracy curve: pixelreg.robustness.evaluate.accuracy_curve vs a foolbox loop.

Setting: width-16 paper ResNet18 (random weights; throughput only), 1x28x28 inputs, 2,000 images,
10 epsilons (the MNIST Gaussian grid), CPU. Reports images x epsilons per second (higher is better).

The foolbox baseline is what one would write with foolbox directly: for each ε, call
``L2AdditiveGaussianNoiseAttack`` (ε_L2 = σ·sqrt(D), the same noise scale) on batches of the images and
count correct predictions of the perturbed images; foolbox runs the model once per ε to decide success.

Usage: .venv/bin/python benchmarks/bench_eval.py [--n-images 2000] [--batch-size 1000] [--repeats 2] [--threads N]
Prints a markdown table row: ours in float32 and under bfloat16 autocast, and the foolbox loop (float32).
"""
from __future__ import annotations

import argparse
import datetime
import math
import platform
import time

import numpy as np
import torch

from pixelreg.robustness.attacks import GaussianNoise, as_foolbox, import_foolbox
from pixelreg.robustness.evaluate import EPSILON_GRIDS, accuracy_curve


def build_model() -> torch.nn.Module:
    from pixelreg.models import paper_resnet

    torch.manual_seed(0)
    return paper_resnet("resnet18", in_channels=1, num_classes=10, width=16).eval()


def foolbox_curve(model, x, y, epsilons, batch_size):
    fb = import_foolbox()
    fmodel = as_foolbox(model)
    attack = fb.attacks.L2AdditiveGaussianNoiseAttack()
    d = x[0].numel()
    accs = []
    for eps in epsilons:
        correct = 0
        for i in range(0, len(x), batch_size):
            xb, yb = x[i:i + batch_size], y[i:i + batch_size]
            _, _, success = attack(fmodel, xb, yb, epsilons=[eps * math.sqrt(d)])
            correct += int((~success[0]).sum())
        accs.append(correct / len(x))
    return accs


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--n-images", type=int, default=2000)
    ap.add_argument("--batch-size", type=int, default=1000)
    ap.add_argument("--repeats", type=int, default=2, help="timed repeats; the best is reported")
    ap.add_argument("--threads", type=int, default=None, help="torch CPU threads (default: torch's choice)")
    args = ap.parse_args()
    if args.threads:
        torch.set_num_threads(args.threads)

    model = build_model()
    g = torch.Generator().manual_seed(0)
    x = torch.rand(args.n_images, 1, 28, 28, generator=g)
    y = torch.randint(0, 10, (args.n_images,), generator=g)
    eps = list(EPSILON_GRIDS["mnist"]["gaussian"])
    work = args.n_images * len(eps)

    accuracy_curve(model, x[:64], y[:64], GaussianNoise(), eps[:2], batch_size=64)  # warm-up
    t_ours, t_fb, t_bf16 = [], [], []
    for _ in range(args.repeats):
        t0 = time.perf_counter()
        ours = accuracy_curve(model, x, y, GaussianNoise(), eps, batch_size=args.batch_size)
        t_ours.append(time.perf_counter() - t0)
        t0 = time.perf_counter()
        accuracy_curve(model, x, y, GaussianNoise(), eps, batch_size=args.batch_size, precision="bf16")
        t_bf16.append(time.perf_counter() - t0)
        with torch.random.fork_rng():
            torch.manual_seed(0)
            t0 = time.perf_counter()
            theirs = foolbox_curve(model, x, y, eps, args.batch_size)
            t_fb.append(time.perf_counter() - t0)
    r_ours, r_fb, r_bf16 = work / min(t_ours), work / min(t_fb), work / min(t_bf16)
    print(f"# accuracy (random weights, sanity): ours {np.round(ours, 3).tolist()}")
    print(f"# accuracy (random weights, sanity): foolbox {np.round(theirs, 3).tolist()}")
    print(f"# times (s) ours fp32 {np.round(t_ours, 2).tolist()} bf16 {np.round(t_bf16, 2).tolist()} "
          f"foolbox {np.round(t_fb, 2).tolist()}")
    print("| machine | date | torch threads | images | epsilons | ours fp32 (img·ε/s) | ours bf16 (img·ε/s) | "
          "foolbox loop (img·ε/s) | fp32 vs foolbox | curve time bf16 (s) |")
    print("|---|---|---|---|---|---|---|---|---|---|")
    machine = f"{platform.processor() or platform.machine()} ({torch.get_num_threads()} threads, torch {torch.__version__})"
    print(f"| {machine} | {datetime.date.today()} | {torch.get_num_threads()} | {args.n_images} | {len(eps)} | "
          f"{r_ours:.0f} | {r_bf16:.0f} | {r_fb:.0f} | {r_ours / r_fb:.2f}x | {min(t_bf16):.1f} |")


if __name__ == "__main__":
    main()
