"""Command line: ``pixelreg train | evaluate | sweep``.

Bad input exits with status 2 and one line naming the parameter and what is allowed.
"""
from __future__ import annotations

import argparse
import sys
from typing import Sequence

from .config import ARCHS, CRITERIA, PRESETS, PROFILES, REG_DATA, REG_RANGES, TARGETS, TASKS, make_config
from .errors import ConfigError, DataNotFoundError


def _flag(v: str) -> bool:
    """Parse yes/no flags explicitly (never argparse's type=bool, where "False" is true)."""
    low = v.lower()
    if low in ("1", "true", "yes", "on"):
        return True
    if low in ("0", "false", "no", "off"):
        return False
    raise argparse.ArgumentTypeError(f"expected true/false, got {v!r}")


def add_train_arguments(p: argparse.ArgumentParser, grid: bool = False) -> None:
    """Training flags. With ``grid=True`` (sweeps) numeric and choice flags take comma-separated lists."""
    t = str if grid else None

    def typ(kind):
        return t or kind

    p.add_argument("--profile", default="cpu", choices=list(PROFILES), help="scale defaults (default: cpu)")
    p.add_argument("--preset", default=None, help=f"a row of the paper's (alpha, Th) table: {', '.join(PRESETS)}")
    p.add_argument("--task", type=typ(str), help=f"classification dataset: {', '.join(TASKS)}")
    p.add_argument("--reg-data", type=typ(str), help=f"regularization pool: {', '.join(REG_DATA)} (default: task)")
    p.add_argument("--alpha", type=typ(float), help="α, regularization strength (0 = unregularized)")
    p.add_argument("--th", type=typ(float), help="Th in (0, 1), threshold of S^Th")
    p.add_argument("--th2", type=typ(float), help="Th_2 in (0, Th) for --reg-range double")
    p.add_argument("--reg-range", type=typ(str), help=f"pairs regularized: {', '.join(REG_RANGES)}")
    p.add_argument("--target", type=typ(str), help=f"target similarity: {', '.join(TARGETS)}")
    p.add_argument("--criterion", type=typ(str), help=f"L_sim criterion: {', '.join(CRITERIA)}")
    p.add_argument("--pairs", type=typ(int), help="k, pairs per step")
    p.add_argument("--pool-size", type=typ(int), help="N, regularization images")
    p.add_argument("--responses", help="neural responses .npz (for --target neural)")
    p.add_argument("--imagenet-dir", help="image folder for --reg-data imagenet")
    p.add_argument("--arch", type=typ(str), help=f"architecture: {', '.join(ARCHS)}")
    p.add_argument("--width", type=typ(int), help="base channels (paper: 64)")
    p.add_argument("--rgb", type=_flag, default=None, help="true: keep colour (CIFAR only)")
    p.add_argument("--epochs", type=typ(float), help="training epochs")
    p.add_argument("--phase-duration", type=typ(float), help="epochs per lr phase (paper: 4)")
    p.add_argument("--batch-size", type=typ(int), help="classification batch (paper: 64)")
    p.add_argument("--train-subset", type=typ(int), help="train on this many images")
    p.add_argument("--test-subset", type=typ(int), help="per-epoch test metrics on this many images")
    p.add_argument("--noise-aug", type=typ(float), help="σ of Gaussian training noise (baseline), pixel units")
    p.add_argument("--runs-dir", default=None, help="run store (default: $PIXELREG_RUNS_DIR or data/runs)")
    p.add_argument("--device", default=None, help="cpu or cuda (default: cuda when present)")
    if grid:
        p.add_argument("--seeds", default="0", help="comma-separated seeds")
    else:
        p.add_argument("--seed", type=int, help="random seed")


TRAIN_FIELDS = ("task", "reg_data", "alpha", "th", "th2", "reg_range", "target", "criterion", "pairs", "pool_size",
                "responses", "imagenet_dir", "arch", "width", "rgb", "epochs", "phase_duration", "batch_size",
                "train_subset", "test_subset", "noise_aug")


def config_from_args(args: argparse.Namespace, **extra):
    overrides = {f: getattr(args, f) for f in TRAIN_FIELDS}
    overrides.update(extra)
    return make_config(args.profile, preset=args.preset, **overrides)


def cmd_train(args: argparse.Namespace) -> int:
    from .train import train

    config = config_from_args(args, seed=args.seed)
    run = train(config, runs_dir=args.runs_dir, device=args.device, progress=not args.quiet)
    m = run.metrics
    best = run.provenance.get("best_epoch")
    if m:
        last = m[-1]
        print(f"finished {run!r}: epochs {last['epoch']}, best epoch {best}, "
              f"last valid acc {last['valid_acc']:.4f}, test acc {last['test_acc']:.4f}", file=sys.stderr)
    print(run.dir)
    return 0


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="pixelreg", description=__doc__.splitlines()[0])
    sub = parser.add_subparsers(dest="command", required=True)
    p = sub.add_parser("train", help="train one model (or reuse/resume it) and print its run directory")
    add_train_arguments(p)
    p.add_argument("--quiet", action="store_true", help="no progress bar")
    p.set_defaults(func=cmd_train)
    try:
        from .evaluate import add_evaluate_arguments, run_evaluate

        p = sub.add_parser("evaluate", help="robust accuracy of a trained run under an attack")
        add_evaluate_arguments(p)
        p.set_defaults(func=run_evaluate)
    except ImportError:  # pragma: no cover - evaluate is optional during development
        pass
    try:
        from .sweep import add_sweep_arguments, run_sweep

        p = sub.add_parser("sweep", help="train a grid of runs on a local pool or a SLURM cluster")
        add_sweep_arguments(p)
        p.set_defaults(func=run_sweep)
    except ImportError:  # pragma: no cover
        pass
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    try:
        return int(args.func(args) or 0)
    except (ConfigError, DataNotFoundError) as e:
        print(f"pixelreg: error: {e}", file=sys.stderr)
        return 2


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
