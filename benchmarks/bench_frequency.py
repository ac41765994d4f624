"""Time of one Fourier sensitivity map and of the common corruptions.

Setting: width-16 paper ResNet18 (1 channel, 10 classes, random weights: throughput only), 28x28 images;
precision bf16 where :func:`pixelreg.models.bf16_supported` says the CPU runs it natively, else fp32.

* Fourier map: :func:`pixelreg.robustness.fourier.fourier_error_map` over all 394 frequency pairs of a 28x28
  image, ``--fourier-images`` images (default 500, the book's setting: 197,000 forward passes). Its cost is
  linear in the images (every forward batch is full), so a smaller count also prints the time extrapolated to
  500 images.
* Corruptions: every corruption of :data:`pixelreg.robustness.corruptions.CORRUPTIONS` at severities 1-5 on
  ``--corruption-images`` images (default 2,000), seconds per corruption and in total.

Usage: .venv/bin/python benchmarks/bench_frequency.py [--fourier-images 500] [--corruption-images 2000] [--threads 1]
"""
from __future__ import annotations

import argparse
import os
import platform
import time
import warnings

import torch
import torch.nn.functional as F

from pixelreg.models import bf16_supported, paper_resnet
from pixelreg.robustness.corruptions import CORRUPTIONS, corrupt
from pixelreg.robustness.fourier import band_errors, fourier_error_map


def images(n: int, seed: int = 0) -> tuple[torch.Tensor, torch.Tensor]:
    """Fashion-MNIST-like uint8 (n, 1, 28, 28): a textured blob on black, and random labels."""
    g = torch.Generator().manual_seed(seed)
    texture = F.interpolate(torch.rand(n, 1, 7, 7, generator=g), size=28, mode="bilinear", align_corners=False)
    t = torch.linspace(-1, 1, 28)
    blob = ((t[:, None] / 0.8) ** 2 + (t[None, :] / 0.65) ** 2 <= 1).float()
    x = (0.3 + 0.7 * texture) * blob
    return (x * 255).round().to(torch.uint8), torch.randint(0, 10, (n,), generator=g)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--fourier-images", type=int, default=500)
    ap.add_argument("--corruption-images", type=int, default=2000)
    ap.add_argument("--threads", type=int, default=1)
    args = ap.parse_args()
    torch.set_num_threads(args.threads)
    warnings.filterwarnings("ignore", category=DeprecationWarning)  # torchvision 0.29's JPEG deprecation notice

    precision = "bf16" if bf16_supported() else "fp32"
    print(f"# {platform.processor() or platform.machine()}, torch {torch.__version__}, {args.threads} thread(s), "
          f"OMP_NUM_THREADS={os.environ.get('OMP_NUM_THREADS')}, precision {precision}")

    torch.manual_seed(0)
    model = paper_resnet("resnet18", in_channels=1, num_classes=10, width=16).eval()
    x, y = images(args.fourier_images)
    t0 = time.perf_counter()
    fmap = fourier_error_map(model, x, y, norm=3.5, generator=0, precision=precision)
    dt = time.perf_counter() - t0
    passes = 394 * args.fourier_images
    low, high = band_errors(fmap)
    print(f"fourier map: {args.fourier_images} images, {passes} forward passes, {dt:.1f} s "
          f"({passes / dt:.0f} images/s); low/high band error {low:.3f}/{high:.3f}")
    if args.fourier_images != 500:
        print(f"fourier map extrapolated to 500 images: {dt * 500 / args.fourier_images:.0f} s")

    xc, _ = images(args.corruption_images, seed=1)
    total = 0.0
    for name in CORRUPTIONS:
        t0 = time.perf_counter()
        for s in range(1, 6):
            corrupt(xc, name, s, seed=s)
        dt = time.perf_counter() - t0
        total += dt
        print(f"  {name:<17} {dt:6.2f} s (5 severities, {args.corruption_images} images)")
    print(f"corruptions: {len(CORRUPTIONS)} x 5 severities x {args.corruption_images} images: {total:.1f} s")


if __name__ == "__main__":
    main()
