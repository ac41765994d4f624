"""bfloat16 scoring on a CPU without native bfloat16: torch's own kernel vs pixelreg's emulated convolution.

Usage: PIXELREG_RUNS_DIR=... python benchmarks/bench_bf16_emulation.py RUN_ID [--images 2000] [--threads 1]

Scores the run's Gaussian-noise curve (the pages' call, 10 ε) twice in one process: with torch's bfloat16
autocast alone (the slow fallback kernel where the CPU lacks AVX-512 BF16) and with
:func:`pixelreg.device.bf16_autocast` (its emulated convolutions), and prints the times and the accuracy
differences per ε. Neither result is written to the run store (both run from a temporary copy of the run).
"""
from __future__ import annotations

import argparse
import os
import shutil
import tempfile
import time

import torch

import pixelreg.device as device
from pixelreg.experiment.runs import Run
from pixelreg.robustness.evaluate import robust_accuracy


def curve(run_dir: str, n: int, emulate: bool):
    with tempfile.TemporaryDirectory() as tmp:
        shutil.copytree(run_dir, os.path.join(tmp, os.path.basename(run_dir)), ignore=shutil.ignore_patterns("evals"))
        run = Run.open(os.path.join(tmp, os.path.basename(run_dir)))
        probe = device.bf16_supported
        if not emulate:  # torch's own kernel: report the CPU as native so bf16_autocast adds nothing
            device.bf16_supported = lambda *_: True
        try:
            t = time.perf_counter()
            table = robust_accuracy([run], "gaussian", n_images=n, precision="bf16")
            return table, time.perf_counter() - t
        finally:
            device.bf16_supported = probe


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("run")
    ap.add_argument("--images", type=int, default=2000)
    ap.add_argument("--threads", type=int, default=1)
    a = ap.parse_args()
    torch.set_num_threads(a.threads)
    run = Run.open(os.path.join(os.environ["PIXELREG_RUNS_DIR"], a.run))
    print(f"native bfloat16: {device.bf16_supported('cpu')}; torch {torch.__version__}; {a.threads} thread(s)")
    emu, t_emu = curve(str(run.dir), a.images, emulate=True)
    ref, t_ref = curve(str(run.dir), a.images, emulate=False)
    diff = emu["accuracy"].to_numpy() - ref["accuracy"].to_numpy()
    print(f"curve of {a.images} images x {len(ref)} eps: torch bf16 {t_ref:.1f} s, emulated {t_emu:.1f} s "
          f"({t_ref / t_emu:.1f}x); accuracy diff emulated - torch: max |d| {abs(diff).max():.4f}, "
          f"mean {diff.mean():+.5f}, eps points differing {int((diff != 0).sum())}")


if __name__ == "__main__":
    main()
