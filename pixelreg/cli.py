"""Command line: ``pixelreg train | evaluate | sweep | book``.

Every argparse definition of the package lives here, and no other module imports this one: the commands
parse their flags, then call the library (``train.train``, ``evaluate.robust_accuracy``, ``sweep.grid`` and
``sweep.submit_and_wait``, ``book.build``). ``python -m pixelreg.book`` is an alias of ``pixelreg book``.
Bad input exits with status 2 and one line naming the parameter and what is allowed.
"""
from __future__ import annotations

import argparse
import json
import os
import sys
import time
from pathlib import Path
from typing import Sequence

from pixelreg.experiment.config import (ARCHS, CRITERIA, DEFAULT_PROFILE, PAIR_BN, PRESETS, PROFILES, REG_DATA, REG_RANGES, TARGETS, TASKS,
                     make_config)
from pixelreg.device import PRECISIONS
from pixelreg.errors import ConfigError, DataNotFoundError, MissingRunsError
from pixelreg.robustness.evaluate import ATTACKS, DEFAULT_CUTOFF
from pixelreg.experiment.sweep import EXECUTORS, SweepError, default_workers


def _flag(v: str) -> bool:
    """Parse yes/no flags explicitly (never argparse's type=bool, where "False" is true)."""
    low = v.lower()
    if low in ("1", "true", "yes", "on"):
        return True
    if low in ("0", "false", "no", "off"):
        return False
    raise argparse.ArgumentTypeError(f"expected true/false, got {v!r}")


# ------------------------------------------------------------------------------------------------ train

def add_train_arguments(p: argparse.ArgumentParser, grid: bool = False) -> None:
    """Training flags. With ``grid=True`` (sweeps) numeric and choice flags take comma-separated lists."""
    t = str if grid else None

    def typ(kind):
        return t or kind

    p.add_argument("--profile", default=DEFAULT_PROFILE, choices=list(PROFILES),
                   help=f"scale defaults (default: {DEFAULT_PROFILE})")
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
    p.add_argument("--pair-bn", type=typ(str), help=f"BatchNorm running statistics in the pair pathway: "
                   f"{', '.join(PAIR_BN)} (default update, the reference)")
    p.add_argument("--runs-dir", default=None, help="run store (default: $PIXELREG_RUNS_DIR or data/runs)")
    p.add_argument("--device", default=None, help="cpu or cuda (default: cuda when present)")
    if grid:
        p.add_argument("--seeds", default="0", help="comma-separated seeds")
    else:
        p.add_argument("--seed", type=int, help="random seed")


TRAIN_FIELDS = ("task", "reg_data", "alpha", "th", "th2", "reg_range", "target", "criterion", "pairs", "pool_size",
                "responses", "imagenet_dir", "arch", "width", "rgb", "epochs", "phase_duration", "batch_size",
                "train_subset", "test_subset", "noise_aug", "pair_bn")


def config_from_args(args: argparse.Namespace, **extra):
    overrides = {f: getattr(args, f) for f in TRAIN_FIELDS}
    overrides.update(extra)
    return make_config(args.profile, preset=args.preset, **overrides)


def cmd_train(args: argparse.Namespace) -> int:
    from pixelreg.experiment.train import train

    from pixelreg.experiment.config import config_hash
    from pixelreg.experiment.records import import_for
    from pixelreg.experiment.runs import RunStore
    from pixelreg.experiment.sweep import training_estimate
    from pixelreg.experiment.train import resolve

    config = resolve(config_from_args(args, seed=args.seed))  # the hash the run store names it by
    store = RunStore(args.runs_dir)
    if store.missing([config]):
        if import_for([config], args.runs_dir):  # a published run is served, not trained again
            print(f"run {config_hash(config)} imported from its published record (data/results): its metrics and "
                  f"evaluations, no checkpoint; nothing trained", file=sys.stderr)
        elif not args.quiet:
            print(training_estimate([config], store), file=sys.stderr, flush=True)
    run = train(config, runs_dir=args.runs_dir, device=args.device, progress=not args.quiet)
    m = run.metrics
    best = run.provenance.get("best_epoch")
    if m:
        last = m[-1]
        print(f"finished {run!r}: epochs {last['epoch']}, best epoch {best}, "
              f"last valid acc {last['valid_acc']:.4f}, test acc {last['test_acc']:.4f}", file=sys.stderr)
    print(run.dir)
    return 0


# --------------------------------------------------------------------------------------------- evaluate

def add_evaluate_arguments(parser: argparse.ArgumentParser) -> argparse.ArgumentParser:
    """The ``pixelreg evaluate`` arguments; returns ``parser``."""
    parser.add_argument("run_dir", help="run directory (printed by `pixelreg train`)")
    parser.add_argument("--attack", default="gaussian", help=f"one of {', '.join(ATTACKS)} (default gaussian)")
    parser.add_argument("--epsilons", default=None,
                        help="comma-separated ε in [0, 1]; default: the reference grid of the run's task")
    parser.add_argument("--n-images", type=int, default=None,
                        help="first N test images (default 2000; boundary: N random test images, default 1000)")
    parser.add_argument("--seed", type=int, default=0, help="noise / attack seed (default 0)")
    parser.add_argument("--source", default=None, help="run directory of the transfer source for --attack fgsm")
    parser.add_argument("--clip", default="bounds", choices=("bounds", "per-image"),
                        help="noise clipping: [0, 1] (default) or each image's own range (reference)")
    parser.add_argument("--cutoff", type=float, default=DEFAULT_CUTOFF,
                        help="radial cutoff in cycles/pixel for low-pass/high-pass noise")
    parser.add_argument("--steps", type=int, default=50, help="boundary attack steps (reference 50)")
    parser.add_argument("--repeats", type=int, default=5, help="boundary attack repeats (reference 5)")
    parser.add_argument("--batch-size", type=int, default=1000, help="images per batch")
    parser.add_argument("--device", default=None, help="torch device (default: cuda when available, else cpu)")
    parser.add_argument("--precision", default="fp32", choices=PRECISIONS,
                        help="forward passes in float32 (default), bfloat16 autocast, or auto (bf16 where native)")
    parser.add_argument("--out", default=None, help="also write the table to this CSV file")
    return parser


def parse_epsilons(text: str | None) -> list[float] | None:
    """``"0,0.1,0.2"`` -> [0.0, 0.1, 0.2]; None stays None (the task's reference grid)."""
    from pixelreg.robustness.attacks import check_epsilons

    if text is None:
        return None
    try:
        eps = [float(t) for t in text.split(",") if t.strip()]
    except ValueError:
        raise ConfigError("epsilons", text, "comma-separated numbers in [0, 1], e.g. 0,0.1,0.2") from None
    if not eps:
        raise ConfigError("epsilons", text, "at least one number in [0, 1]")
    return check_epsilons(eps, 1.0)


def cmd_evaluate(args: argparse.Namespace) -> int:
    """``pixelreg evaluate``: print the table (cached as CSV in ``<run>/evals/``) and write it to ``--out``.

    Raises:
        ConfigError: unknown attack, ε outside [0, 1], n_images < 1, missing run directory.
    """
    from pixelreg.robustness import evaluate

    if args.attack not in ATTACKS:
        raise ConfigError("attack", args.attack, f"one of {', '.join(ATTACKS)}")
    eps = parse_epsilons(args.epsilons)
    n = args.n_images if args.n_images is not None else (1000 if args.attack == "boundary" else 2000)
    if n < 1:
        raise ConfigError("n_images", n, "an integer >= 1")
    if args.source is not None and args.attack != "fgsm":
        raise ConfigError("source", args.source, "only with --attack fgsm")
    run = evaluate.open_run(args.run_dir)
    source = evaluate.open_run(args.source) if args.source is not None else None
    if args.attack == "boundary":
        table, _ = evaluate.boundary_distances(run, n_images=n, steps=args.steps, repeats=args.repeats,
                                               seed=args.seed, batch_size=min(args.batch_size, 100),
                                               device=args.device)
        ok = table[table["success"].astype(bool)]
        med = ok.groupby("repeat")["mse"].median()
        print(f"boundary attack: {len(table) - len(ok)} of {len(table)} image-repeats failed; "
              f"median mse per repeat {med.round(6).tolist()}; mean of medians {med.mean():.6g}")
    else:
        table = evaluate.robust_accuracy(run, args.attack, epsilons=eps, n_images=n, seed=args.seed, source=source,
                                         batch_size=args.batch_size, device=args.device, clip=args.clip,
                                         cutoff=args.cutoff, precision=args.precision)
        print(table[["run", "condition", "attack", "source", "epsilon", "accuracy", "n_images"]]
              .to_string(index=False))
    if args.out:
        out = Path(args.out)
        out.parent.mkdir(parents=True, exist_ok=True)
        table.to_csv(out, index=False)
        print(f"wrote {out}")
    return 0


# ------------------------------------------------------------------------------------------------ sweep

def _key_value(text: str) -> tuple[str, str]:
    if "=" not in text:
        raise argparse.ArgumentTypeError(f"expected key=value, got {text!r}")
    k, v = text.split("=", 1)
    return k.strip().lstrip("-").replace("-", "_"), v.strip()


def add_sweep_arguments(p: argparse.ArgumentParser) -> None:
    """``pixelreg sweep``: the train flags as comma-separated lists, plus grid, executor and status flags."""
    add_train_arguments(p, grid=True)
    # None = not given, so a YAML grid's profile and seeds apply; otherwise the default profile and seed 0.
    p.set_defaults(profile=None, seeds=None)
    for a in p._actions:  # noqa: SLF001 - adjust three help texts of the shared train flags
        if a.dest == "seeds":
            a.help = "seeds: '0,1,2', a range '0-6', or 'profile' for the profile's seeds (default: 0)"
        elif a.dest == "preset":
            a.help = f"comma-separated rows of the paper's (alpha, Th) table: {', '.join(PRESETS)}"
        elif a.dest == "profile":
            a.help = f"scale defaults: {', '.join(PROFILES)} (default: the grid file's, else {DEFAULT_PROFILE})"
    g = p.add_argument_group("grid and actions")
    g.add_argument("--grid", metavar="YAML", help="grid file: TrainConfig field names (or preset, seeds, profile) "
                   "-> a value or a list; flags given on the command line override its keys")
    g.add_argument("--status", action="store_true", help="show done / running / failed / pending runs; submit nothing")
    g.add_argument("--dry-run", action="store_true", help="list the runs that would be submitted; submit nothing")
    g.add_argument("--wait", dest="wait", action="store_true", default=None,
                   help="wait for the jobs and print a summary (default for local and debug)")
    g.add_argument("--no-wait", dest="wait", action="store_false",
                   help="return after submission, printing job ids (default for slurm)")
    g.add_argument("--quiet", action="store_true", help="less output")
    e = p.add_argument_group("executor")
    e.add_argument("--executor", default="local", choices=EXECUTORS,
                   help="local: worker processes here (default); slurm: a job array; debug: in-process")
    e.add_argument("--workers", type=int, default=None,
                   help=f"local: parallel runs (default: min(2, cores) = {default_workers()}); "
                        "each gets cores // workers torch threads")
    s = p.add_argument_group("slurm")
    s.add_argument("--partition", help="SLURM partition")
    s.add_argument("--gpus-per-node", type=int, help="GPUs per job")
    s.add_argument("--cpus-per-task", type=int, help="CPUs per job (also the job's torch threads)")
    s.add_argument("--time", type=int, help="time limit per job, minutes (a job that hits it is requeued and resumes)")
    s.add_argument("--mem", type=float, help="memory per job, GB")
    s.add_argument("--array-parallelism", type=int, help="at most this many array tasks at once")
    s.add_argument("--slurm-extra", type=_key_value, action="append", default=[], metavar="KEY=VALUE",
                   help="any other sbatch option, repeatable: --slurm-extra account=lab --slurm-extra qos=low")


def sweep_grid(args: argparse.Namespace):
    """The configs and profile of ``pixelreg sweep``: the YAML grid (if any), overridden by the flags given."""
    from pixelreg.experiment.sweep import grid

    axes = {f: getattr(args, f, None) for f in TRAIN_FIELDS}
    axes.update(preset=args.preset, seeds=args.seeds)
    return grid(axes, getattr(args, "grid", None), args.profile)


def _check_executor_args(args: argparse.Namespace) -> None:
    import shutil

    if args.workers is not None and args.workers < 1:
        raise ConfigError("workers", args.workers, "an integer >= 1")
    for name in ("gpus_per_node", "cpus_per_task", "time", "array_parallelism"):
        v = getattr(args, name)
        if v is not None and v < (0 if name == "gpus_per_node" else 1):
            raise ConfigError(name, v, "a positive integer")
    if args.mem is not None and args.mem <= 0:
        raise ConfigError("mem", args.mem, "a number of GB > 0")
    slurm_only = [n for n in ("partition", "gpus_per_node", "cpus_per_task", "time", "mem", "array_parallelism")
                  if getattr(args, n) is not None] + (["slurm_extra"] if args.slurm_extra else [])
    if args.executor == "slurm" and not args.status and not args.dry_run and shutil.which("srun") is None:
        raise ConfigError("executor", "slurm", "a machine with SLURM's srun and sbatch on PATH (a login node); "
                          "--status and --dry-run work anywhere the run store is mounted")
    if slurm_only and args.executor != "slurm":
        raise ConfigError("executor", args.executor,
                          f"'slurm' for --{', --'.join(n.replace('_', '-') for n in slurm_only)}")


def cmd_sweep(args: argparse.Namespace) -> int:
    """``pixelreg sweep``: exit 0 when every run of the grid is done (or submitted), 1 if some failed, 2 on bad input."""
    from pixelreg.experiment.config import config_hash
    from pixelreg.experiment.runs import RunStore
    from pixelreg.experiment.sweep import (SlurmOptions, Sweep, describe, format_status, lock_held, submit_and_wait, training_estimate,
                        varying_fields)

    _check_executor_args(args)
    configs, profile_name = sweep_grid(args)  # every config validated before anything is submitted
    store = RunStore(args.runs_dir)
    sweep = Sweep(configs, store)
    out = sys.stdout

    if args.status:
        print(f"sweep {sweep.id}: {len(configs)} run(s), profile {profile_name}, run store {store.root}", file=out)
        print(format_status(sweep.status(), configs), file=out)
        return 0

    todo = store.missing(configs)
    if todo and not args.dry_run:  # runs the published records hold are served, not trained
        from pixelreg.experiment.records import import_for

        imported = import_for(todo, args.runs_dir)
        if imported:
            print(f"{len(imported)} run(s) imported from the published records (data/results), not trained: "
                  + ", ".join(imported), file=sys.stderr)
            todo = store.missing(todo)
    busy = [c for c in todo if lock_held(store.root / f"{config_hash(c)}.lock")]
    if busy:  # being trained right now by another job: a second job would only wait on the run's lock
        print(f"{len(busy)} run(s) are being trained by another process; not submitted again: "
              + ", ".join(config_hash(c) for c in busy), file=sys.stderr)
        todo = [c for c in todo if c not in busy]
    varying = varying_fields(configs)
    if args.dry_run:
        print(f"sweep {sweep.id}: {len(configs)} run(s) in the grid, {len(configs) - len(todo)} done, "
              f"{len(todo)} would be submitted ({args.executor}):", file=out)
        for c in todo:
            r = store.get(c)
            note = f"  (resumes after epoch {len(r.metrics) - 1})" if r is not None and len(r.metrics) > 1 else ""
            print(f"  {config_hash(c)}  {describe(c, varying)}{note}", file=out)
        return 0

    sweep.update_manifest()
    log = (lambda msg: None) if args.quiet else (lambda msg: print(msg, file=sys.stderr, flush=True))
    print(f"sweep {sweep.id}: {len(configs)} run(s), {len(configs) - len(todo)} already done, "
          f"{len(todo)} to train ({args.executor}); manifest {sweep.manifest_path}", file=sys.stderr)
    if not todo:
        return 0
    wait = args.wait if args.wait is not None else args.executor != "slurm"
    if args.executor == "local" and not wait:
        raise ConfigError("wait", False, "--wait with the local executor (this process feeds its worker pool)")
    slurm = SlurmOptions(args.partition, args.gpus_per_node, args.cpus_per_task, args.time, args.mem,
                         args.array_parallelism, dict(args.slurm_extra)) if args.executor == "slurm" else None
    if args.executor != "slurm":
        log(training_estimate(todo, store, args.workers or default_workers() if args.executor == "local" else 1))
    t0 = time.time()
    failures = submit_and_wait(sweep, todo, executor=args.executor, workers=args.workers, device=args.device,
                               slurm=slurm, wait=wait, log=log)
    if args.executor == "slurm" and not wait:
        ids = sweep.job_ids()
        for c in todo:
            print(f"{config_hash(c)}\t{ids.get(config_hash(c), '')}", file=out)
        print(f"check progress with the same command plus --status (logs: {sweep.log_dir})", file=sys.stderr)
        return 0
    rows = sweep.status()
    print(format_status(rows, configs), file=out)
    print(f"{len(todo)} run(s) in {time.time() - t0:.1f} s; {len(failures)} failed", file=sys.stderr)
    return 1 if failures or any(r["state"] != "done" for r in rows) else 0


# ------------------------------------------------------------------------------------------------- book

def add_book_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("--profile", default=None, choices=list(PROFILES), help=f"default: {DEFAULT_PROFILE}")
    p.add_argument("--runs-dir", default=None, help="run store (default: $PIXELREG_RUNS_DIR or data/runs)")
    p.add_argument("--strict", action="store_true", help="Sphinx warnings are errors")
    p.add_argument("--only", default=None, help="comma-separated notebooks to (re)execute, e.g. fig2,claims")
    p.add_argument("--workers", type=int, default=None, help="parallel training processes (default: sweep's)")
    p.add_argument("--jobs", type=int, default=None,
                   help="notebooks executed side by side, each in one kept kernel (default: the cores)")
    p.add_argument("--skip-training", action="store_true", help="let each notebook train what it needs")
    p.add_argument("--train", action="store_true",
                   help="a profile with published records: also train the runs they do not cover (default: "
                        "render from the records alone; pages that need more become stubs)")
    p.add_argument("--retrain", action="store_true",
                   help="ignore the published records in data/results/<profile> and train every run they cover")
    p.add_argument("--imagenet-dir", default=None, metavar="FOLDER",
                   help="the ImageNet folder of the paper plan's ImageNet pools (sets $PIXELREG_IMAGENET_DIR for "
                        "the build and its notebooks; default: that variable). The ImageNet runs' hashes name "
                        "the images their pools read, not the folder's path")
    p.add_argument("--list-runs", action="store_true",
                   help="print every run the book needs, one JSON line each ({hash, figures, config}), "
                        "and per figure its runs on stderr; trains nothing, needs no data but the ImageNet pools' "
                        "images at the paper profile (they name its ImageNet runs)")


def set_imagenet_dir(folder: str) -> str:
    """``--imagenet-dir``: check that ``folder`` is a folder and make it the one setting, ``$PIXELREG_IMAGENET_DIR``
    (absolute, so the notebooks' kernels, which run elsewhere, see the same folder). Whether it holds enough images
    is checked when the ImageNet runs are planned: their hashes name the images their pools read."""
    from pixelreg.experiment.data import IMAGENET_ENV, IMAGENET_LAYOUT

    path = Path(folder).expanduser()
    if not str(folder).strip() or not path.is_dir():
        raise ConfigError("--imagenet-dir", folder, f"an existing folder: {IMAGENET_LAYOUT}")
    os.environ[IMAGENET_ENV] = str(path.resolve())
    return os.environ[IMAGENET_ENV]


def _list_runs(per_page: dict) -> None:
    """``--list-runs``: one JSON line per distinct run, {"hash", "figures" (the pages that need it), "config"}
    on stdout; per page, its runs by dataset pair on stderr. Plans only: trains nothing, needs no data but the
    ImageNet pools' files at the paper plan (their digest names the ImageNet runs)."""
    from collections import Counter

    from pixelreg.experiment.config import config_hash
    from pixelreg.experiment.config import condition_label

    pages: dict = {}
    for name, configs in per_page.items():
        for c in dict.fromkeys(configs):
            pages.setdefault(c, []).append(name)
        pairs = Counter(f"{c.task}<-{c.pool_source if c.regularized else '(none)'} {condition_label(c)}"
                        for c in dict.fromkeys(configs))
        print(f"{name}: {len(set(configs))} runs: " + ", ".join(f"{k} x{n}" for k, n in pairs.items()), file=sys.stderr)
    for c, names in pages.items():
        print(json.dumps(dict(hash=config_hash(c), figures=names, config=c.to_dict()), sort_keys=True))
    print(f"{len(pages)} distinct runs", file=sys.stderr)


def cmd_book(args: argparse.Namespace) -> int:
    """``pixelreg book``: train the figures' runs, execute the notebooks, build the site; print index.html."""
    from pixelreg import book

    profile = args.profile or DEFAULT_PROFILE
    if args.imagenet_dir is not None:
        set_imagenet_dir(args.imagenet_dir)
    if args.list_runs:
        _list_runs(book.book_configs(profile))
        return 0
    only = [s.strip() for s in args.only.split(",") if s.strip()] if args.only else None
    index = book.build(profile, args.runs_dir, args.strict, only, args.workers, args.skip_training,
                       retrain=args.retrain, train=args.train, jobs=args.jobs)
    print(index)
    return 0


# ------------------------------------------------------------------------------------------------- main

def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="pixelreg", description=__doc__.splitlines()[0])
    sub = parser.add_subparsers(dest="command", required=True)
    p = sub.add_parser("train", help="train one model (or reuse/resume it) and print its run directory")
    add_train_arguments(p)
    p.add_argument("--quiet", action="store_true", help="no progress bar")
    p.set_defaults(func=cmd_train)
    p = sub.add_parser("evaluate", help="robust accuracy of a trained run under an attack")
    add_evaluate_arguments(p)
    p.set_defaults(func=cmd_evaluate)
    p = sub.add_parser("sweep", help="train a grid of runs on a local pool or a SLURM cluster")
    add_sweep_arguments(p)
    p.set_defaults(func=cmd_sweep)
    p = sub.add_parser("book", help="train every figure's runs, execute the notebooks, build the site")
    add_book_arguments(p)
    p.set_defaults(func=cmd_book)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    try:
        return int(args.func(args) or 0)
    except (ConfigError, DataNotFoundError) as e:
        print(f"pixelreg: error: {e}", file=sys.stderr)
        return 2
    except (SweepError, MissingRunsError) as e:
        print(f"pixelreg: error: {e}", file=sys.stderr)
        return 1


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
