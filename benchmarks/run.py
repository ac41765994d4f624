"""Benchmarks for BENCHMARKS.md: training-step cost of the regularizer, pool setup, CPU levers.

Run: ``.venv/bin/python benchmarks/run.py [--quick] [--out benchmarks/results.json]``. Prints markdown tables.
Every ratio is measured inside one process, interleaving the variants, so machine load affects both sides.
"""
from __future__ import annotations

import argparse
import datetime
import json
import os
import platform
import resource
import statistics
import sys
import time
import tracemalloc
from pathlib import Path

import torch
import torch.nn.functional as F

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
from pixelreg.models import paper_resnet  # noqa: E402
from pixelreg.regularizer import SimilarityRegularizer, similarity_loss  # noqa: E402
from pixelreg.similarity import PairSampler, centered_unit_rows  # noqa: E402


def machine() -> dict:
    cpu = platform.processor() or platform.machine()
    try:
        for line in open("/proc/cpuinfo"):
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    return dict(date=datetime.date.today().isoformat(), cpu=cpu, cores=os.cpu_count(),
                threads=torch.get_num_threads(), torch=torch.__version__, python=platform.python_version(),
                device="cuda" if torch.cuda.is_available() else "cpu")


def _step_fn(width: int, regularized: bool, autocast: bool = False, joint: bool = True):
    """One SGD step of batch 64 (+ 16 pairs when regularized), as ``pixelreg.experiment.train`` runs it.

    ``joint=False`` is the step before the ghost-BatchNorm change: ``model(x)`` then the regularizer with
    the pair halves A and B as two separate network calls. ``joint=True``: one call of all 96 images with
    per-chunk BatchNorm (``SimilarityRegularizer.task_and_pairs``); the same numbers within float rounding.
    """
    torch.manual_seed(0)
    model = paper_resnet("resnet18", in_channels=1, num_classes=10, width=width)
    reg = SimilarityRegularizer(model) if regularized else None
    if reg is not None and not joint:
        object.__setattr__(reg, "_split", False)
    params = list(model.parameters()) + ([reg.layer_logits] if reg is not None else [])
    opt = torch.optim.SGD(params, lr=0.01, momentum=0.9)
    x = torch.rand(64, 1, 28, 28)
    y = torch.randint(0, 10, (64,))
    xa, xb = torch.rand(16, 1, 28, 28), torch.rand(16, 1, 28, 28)
    t = torch.randint(-1, 2, (16,)).float()

    def step():
        with torch.autocast("cpu", dtype=torch.bfloat16, enabled=autocast):
            if reg is None:
                out = model(x)
            elif joint:
                out, s = reg.task_and_pairs(x, xa, xb)
            else:
                out, s = model(x), reg(xa, xb)
        loss = F.cross_entropy(out.float(), y)
        if reg is not None:
            loss = loss + 10.0 * similarity_loss(s, t)
        opt.zero_grad(set_to_none=True)
        loss.backward()
        opt.step()

    return step


def time_interleaved(fns: dict, repeats: int, warmup: int = 2) -> dict:
    """Median seconds per call of each fn, calls interleaved round-robin."""
    for f in fns.values():
        for _ in range(warmup):
            f()
    times = {k: [] for k in fns}
    for _ in range(repeats):
        for k, f in fns.items():
            t0 = time.perf_counter()
            f()
            times[k].append(time.perf_counter() - t0)
    return {k: statistics.median(v) for k, v in times.items()}


def bench_steps(widths=(16, 64), repeats=10) -> list[dict]:
    rows = []
    for w in widths:
        r = max(3, repeats if w <= 16 else repeats // 2)
        fns = {"plain": _step_fn(w, False), "reg_separate": _step_fn(w, True, joint=False),
               "regularized": _step_fn(w, True), "plain_bf16": _step_fn(w, False, autocast=True),
               "regularized_bf16": _step_fn(w, True, autocast=True)}
        t = time_interleaved(fns, r)
        rows.append(dict(width=w, repeats=r, **{f"{k}_s": v for k, v in t.items()},
                         ratio_separate=t["reg_separate"] / t["plain"], ratio=t["regularized"] / t["plain"],
                         ratio_bf16=t["regularized_bf16"] / t["plain_bf16"],
                         speedup=t["reg_separate"] / t["regularized_bf16"]))
    return rows


def bench_pool(sizes=(5000, 60000), ranges=("all", "high"), th=0.8) -> list[dict]:
    from pixelreg.experiment.data import load_dataset

    try:
        images = load_dataset("fashion-mnist", "train", source="local").images
        source = "fashion-mnist"
    except Exception:  # noqa: BLE001
        images, source = (torch.rand(60000, 1, 28, 28) * 255).to(torch.uint8), "random"
    rows = []
    for n in sizes:
        for rr in ranges:
            pool = images[:n]
            rss0 = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
            tracemalloc.start()
            t0 = time.perf_counter()
            rows_ = centered_unit_rows(pool)
            sampler = PairSampler(rows_, reg_range=rr, th=th)
            setup = time.perf_counter() - t0
            _, peak = tracemalloc.get_traced_memory()
            tracemalloc.stop()
            t0 = time.perf_counter()
            for _ in range(20):
                sampler.sample(16)
            per_sample = (time.perf_counter() - t0) / 20
            rss1 = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
            rows.append(dict(pool_size=n, reg_range=rr, data=source, setup_s=setup,
                             rows_mb=rows_.numel() * 4 / 2**20, peak_rss_growth_mb=(rss1 - rss0) / 1024,
                             python_peak_mb=peak / 2**20, sample16_ms=per_sample * 1e3,
                             method=getattr(sampler, "method", "?"), selected_share=sampler.selected_share))
    return rows


def markdown(rows: list[dict], cols: list[str]) -> str:
    def fmt(v):
        return f"{v:.3g}" if isinstance(v, float) else str(v)
    lines = ["| " + " | ".join(cols) + " |", "|" + "---|" * len(cols)]
    lines += ["| " + " | ".join(fmt(r.get(c)) for c in cols) + " |" for r in rows]
    return "\n".join(lines)


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--quick", action="store_true", help="width 16 only, fewer repeats")
    ap.add_argument("--out", default=None, help="also write the results as JSON")
    ap.add_argument("--threads", type=int, default=None,
                    help="torch CPU threads (default: torch's choice; the book trains with 1 per process)")
    ap.add_argument("--widths", default=None, help="comma-separated widths (default 16,64; --quick: 16)")
    args = ap.parse_args(argv)
    if args.threads:
        torch.set_num_threads(args.threads)
    m = machine()
    print(f"machine: {m}")
    widths = tuple(int(w) for w in args.widths.split(",")) if args.widths else ((16,) if args.quick else (16, 64))
    steps = bench_steps(widths=widths, repeats=5 if args.quick else 10)
    print("\n### Training step, batch 64 + 16 pairs (ResNet18, 28x28, CPU)\n")
    print(markdown(steps, ["width", "plain_s", "reg_separate_s", "regularized_s", "plain_bf16_s",
                           "regularized_bf16_s", "ratio_separate", "ratio", "ratio_bf16", "speedup"]))
    print("\nspeedup = regularized step before this change (separate pair calls, float32) / regularized step "
          "now (one call, bfloat16 autocast)")
    pool = bench_pool(sizes=(5000,) if args.quick else (5000, 60000))
    print("\n### Pool setup (S^pixel rows + pair sampler)\n")
    print(markdown(pool, ["pool_size", "reg_range", "data", "setup_s", "rows_mb", "peak_rss_growth_mb",
                          "python_peak_mb", "sample16_ms", "method", "selected_share"]))
    if args.out:
        Path(args.out).write_text(json.dumps(dict(machine=m, steps=steps, pool=pool), indent=1))
    return 0


if __name__ == "__main__":
    sys.exit(main())
