"""Run checks and tables: the runs a page needs (found, imported from records or trained), the failed-run
rule, the runs table, robustness curves, per-ε tests and per-run AUCs."""
from __future__ import annotations

import math
from pathlib import Path
from typing import Any, Iterable, Sequence

import numpy as np
import pandas as pd

from pixelreg.analysis import stats
from pixelreg.analysis.verdicts import auc_by_run, compare_by_seed
from pixelreg.experiment.config import TrainConfig, condition_label
from pixelreg.robustness.evaluate import robust_accuracy
from pixelreg.experiment.runs import describe_failure, Run


# ----------------------------------------------------------------------------------------------------------
# runs and tables

def ensure_runs(configs: Sequence[TrainConfig], runs_dir: str | Path | None = None,
                progress: bool = True) -> list[Run]:
    """Runs for the configs in order (:func:`pixelreg.experiment.sweep.runs_for`): from the run store, else
    imported from their published records, else trained; with training switched off (``PIXELREG_TRAIN=0``) a
    run in none of them raises :class:`MissingRunsError`."""
    from pixelreg.experiment.sweep import runs_for

    return runs_for(configs, runs_dir=runs_dir, progress=progress)


# A run fails when its loss became non-finite or model selection kept the untrained epoch-0 state
# (pixelreg.experiment.runs.run_failure). The rule every page applies:
FAILED_RUN_RULE = ("A failed run is left out of every mean and test and counted per condition; its seed is not "
                   "replaced (a replacement would choose seeds by their outcome, and the failure rate is itself a "
                   "result), so a paired comparison loses that seed's pair.")


def usable(runs: Sequence[Run], drop_failed: bool = True) -> list[Run]:
    """The runs that did not fail, once each, in order (:data:`FAILED_RUN_RULE`); ``drop_failed=False`` (the
    smoke profile) keeps them all."""
    return [r for r in dict.fromkeys(runs) if not drop_failed or r.failure is None]


def runs_table(runs: Sequence[Run]) -> pd.DataFrame:
    rows = []
    for r in dict.fromkeys(runs):
        c, m, prov = r.config, r.metrics, r.provenance
        best = prov.get("best_epoch")
        rows.append(dict(run=r.id, condition=condition_label(c), task=c.task,
                         reg_data=c.pool_source if c.regularized else None, alpha=c.alpha, th=c.th,
                         target=c.target, reg_range=c.reg_range, criterion=c.criterion, pairs=c.pairs,
                         pool_size=c.pool_size, noise_aug=c.noise_aug, width=c.width, epochs=c.epochs,
                         train_subset=c.train_subset, seed=c.seed, best_epoch=best,
                         test_acc_best=m[best]["test_acc"] if best is not None and best < len(m) else None,
                         wall_time_s=prov.get("wall_time_seconds"), seconds_per_step=
                         prov.get("wall_time_seconds", math.nan) / max(prov.get("steps", 1), 1),
                         device=prov.get("device"), git_commit=prov.get("git_commit"),
                         git_dirty=prov.get("git_dirty"), failure=describe_failure(r.failure) or None))
    return pd.DataFrame(rows)


def curves(runs: Sequence[Run], attacks: Sequence[str], n_images: int, **kw: Any) -> pd.DataFrame:
    """Accuracy curves of every run (once each) under every attack, as one tidy table (pages pass
    :meth:`TrainedFigure.usable` runs)."""
    tables = [robust_accuracy(list(dict.fromkeys(runs)), a, n_images=n_images, **kw) for a in attacks]
    return pd.concat(tables, ignore_index=True)


def tests(curves: pd.DataFrame, baseline: str, conditions: Iterable[str], by=("attack",)) -> pd.DataFrame:
    """Each condition against ``baseline`` per ε (:func:`pixelreg.analysis.stats.compare_conditions`), paired by
    seed wherever the conditions share seeds (the book's one convention)."""
    out = []
    for c in conditions:
        if c != baseline and c in set(curves["condition"]):
            out.append(stats.compare_conditions(curves, baseline, c, by=by, test="paired"))
    return pd.concat(out, ignore_index=True) if out else pd.DataFrame()


COMPARISON_COLUMNS = ["a", "b", "mean_a", "mean_b", "diff", "ci_low", "ci_high", "confidence", "test", "n_a", "n_b",
                      "p"]


def paired_comparisons(per_run: pd.DataFrame, pairs: Iterable[tuple[str, str]], value: str = "auc",
                       min_runs: int = 1) -> pd.DataFrame:
    """Per-run ``value`` of condition b − condition a for each (a, b) of ``pairs``
    (:func:`pixelreg.analysis.verdicts.compare_by_seed`: paired by seed where they share two seeds, else Welch),
    where both conditions have at least ``min_runs`` runs. Columns :data:`COMPARISON_COLUMNS`; intervals are
    unadjusted 95% (for exploratory pages)."""
    have = per_run["condition"].value_counts() if len(per_run) else pd.Series(dtype=int)
    rows = []
    for a, b in pairs:
        if have.get(a, 0) < min_runs or have.get(b, 0) < min_runs:
            continue
        c = compare_by_seed(per_run, a, b, value)
        rows.append(dict(a=a, b=b, mean_a=float(np.mean(c.a)), mean_b=float(np.mean(c.b)),
                         diff=c.estimate, ci_low=c.ci_low, ci_high=c.ci_high, confidence=c.confidence, test=c.test,
                         n_a=c.n_a, n_b=c.n_b, p=c.p))
    return pd.DataFrame(rows, columns=COMPARISON_COLUMNS)


def aucs(curves: pd.DataFrame, keys=("run", "seed", "condition", "attack")) -> pd.DataFrame:
    """The book's one robustness summary per run curve (and panel / pool): the AUC over ε > 0 of that curve's own
    grid (:func:`pixelreg.analysis.verdicts.auc_by_run`: the trapezoid area from the smallest to the largest
    noisy ε, divided by that range), so clean accuracy (ε = 0) is left out and shown apart, as on the claims
    page."""
    noisy = sorted({float(e) for e in curves["epsilon"]} - {0.0})
    return auc_by_run(curves, keys=keys, epsilons=noisy).drop(columns="n_epsilons")


