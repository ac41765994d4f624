"""Cost of Fig. 3's white-box PGD curve beside white-box FGSM, at a profile's scale, and what PGD adds to its book.

Setting: width-16 paper ResNet18 (random weights: the cost of an attack step does not depend on the weights),
1x28x28 inputs, the profile's PGD images (cpu: 250) on the Fashion-MNIST PGD grid (6 ε > 0), the profile's
precision for the scored forward passes; the same images for both attacks. Runs attacked by PGD in the book:
the unregularized and S^Th runs of one pool for each of the profile's seeds (``pixelreg.figures.fig3``).

Usage: .venv/bin/python benchmarks/bench_pgd.py [--profile cpu] [--repeats 2] [--threads N]
Prints a markdown table row per attack; times are the best of ``--repeats``.
"""
from __future__ import annotations

import argparse
import datetime
import os
import platform
import time

import torch

from pixelreg.robustness.attacks import FGSM, PGD
from pixelreg.experiment.config import PROFILES
from pixelreg.device import resolve_precision
from pixelreg.robustness.evaluate import EPSILON_GRIDS, accuracy_curve
from pixelreg.models import paper_resnet


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--profile", default="cpu", choices=[p for p in PROFILES if p != "paper"])
    ap.add_argument("--repeats", type=int, default=2, help="timed repeats; the best is reported")
    ap.add_argument("--threads", type=int, default=None, help="torch CPU threads (default: torch's choice)")
    args = ap.parse_args()
    if args.threads:
        torch.set_num_threads(args.threads)
    prof = PROFILES[args.profile]
    n = prof.pgd_images or prof.eval_images
    torch.manual_seed(0)
    model = paper_resnet("resnet18", in_channels=1, num_classes=10, width=prof.value("width")).eval()
    g = torch.Generator().manual_seed(0)
    x = torch.rand(n, 1, 28, 28, generator=g)
    y = torch.randint(0, 10, (n,), generator=g)
    eps = list(EPSILON_GRIDS["fashion-mnist"]["pgd"])
    precision = resolve_precision(prof.eval_precision, torch.device("cpu"))
    runs = 2 * len(prof.seeds)
    attacks = [("FGSM (white-box)", FGSM()), (f"PGD-{prof.pgd_steps}", PGD(steps=prof.pgd_steps))]
    accuracy_curve(model, x[:32], y[:32], FGSM(), eps[:2], batch_size=32, precision=precision)  # warm-up
    print(f"# {platform.processor() or platform.machine()}, {os.cpu_count()} cores, torch {torch.__version__}, "
          f"{torch.get_num_threads()} threads, load {os.getloadavg()[0]:.1f}, {datetime.date.today()}; "
          f"profile {args.profile}: {n} images, {len(eps) - 1} ε > 0, precision {precision}, {runs} runs attacked")
    print("| attack | curve (s, best of %d) | per image·ε (ms) | x FGSM | book: %d runs (s) |" % (args.repeats, runs))
    print("|---|---|---|---|---|")
    base = None
    for label, atk in attacks:
        times = []
        for _ in range(args.repeats):
            t0 = time.perf_counter()
            accuracy_curve(model, x, y, atk, eps, batch_size=1000, precision=precision)
            times.append(time.perf_counter() - t0)
        t = min(times)
        base = base or t
        print(f"| {label} | {t:.1f} | {1000 * t / (n * (len(eps) - 1)):.2f} | {t / base:.1f}x | {runs * t:.0f} |")


if __name__ == "__main__":
    main()
