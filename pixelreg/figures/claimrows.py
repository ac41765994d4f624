"""Claim rows: the vocabulary each figure module uses to declare the claims its tables judge (issue 20).

A figure module ends with ``CLAIMS = (Claim(...), ...)``: each row names the page(s) whose tables it reads, the
per-run summary it compares, the two conditions and a :class:`~pixelreg.analysis.verdicts.Rule` with its
smallest effect of interest (SESOI) and the one sentence that justifies it. :mod:`pixelreg.figures.claims`
gathers the rows of every page and judges them.

**The confirmatory family** (:data:`CONFIRMATORY`, fixed on :data:`FAMILY_FIXED`, before the results of the
round's new runs were in): at most eight rows, judged at the Bonferroni level :data:`LEVEL`/m with m =
``len(CONFIRMATORY)`` whatever rows have data, each by its (1 − LEVEL/m) interval (so interval and verdict
cannot disagree). Every other row is exploratory: its unadjusted 95% interval and a label weaker than a verdict.
A row changed after the date becomes exploratory.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Callable, Mapping

import numpy as np
import pandas as pd

from pixelreg.analysis.stats import Comparison
from pixelreg.analysis.verdicts import ABLATION_MIN_SEEDS, Rule, auc_by_run, compare_by_seed, value_at
from pixelreg.figures.common import FigureData

__all__ = ["Claim", "NoData", "LEVEL", "POWER", "FAMILY_FIXED", "CONFIRMATORY", "TEN_SEED_ROWS", "TEN_SEEDS_FIXED",
           "SEEN_BEFORE_FAMILY",
           "SESOI_AUC", "SESOI_AUC_WHY", "NO_LOSS_MARGIN", "SLIGHT_LOSS_MARGIN", "SESOI_ERROR", "noisy_auc",
           "pair_name", "select_pairs", "each_pair", "auc_gain", "clean_gain", "families", "mean_auc",
           "band_test", "POOL_ROLES", "AUC_SUMMARY", "ABL"]

# ---- the thresholds (each stated once, here) -------------------------------------------------------------
LEVEL = 0.05  # family-wise significance level of the confirmatory family (Bonferroni: LEVEL / m per row)
POWER = 0.8  # power at which the seeds needed (and the MDE) are stated
SESOI_AUC = 0.03
SESOI_AUC_WHY = ("0.03 AUC is three points of accuracy averaged over the noise grid: the smallest gain a "
                 "practitioner would notice. It is not above the seed-to-seed SD of the paired AUC differences "
                 "(about 0.03-0.10 by row at full, seeds 0-4, when it was fixed), so a gain near it needs many seeds to resolve "
                 "(each row's power line says how many)")
NO_LOSS_MARGIN = 0.01  # "no loss" on clean images: a loss of at most 1 point of accuracy
NO_LOSS_WHY = "1 point of clean accuracy: below what a reader would call a loss, about the split-to-split spread"
SLIGHT_LOSS_MARGIN = 0.02  # "a slight loss": at most 2 points
SLIGHT_LOSS_WHY = "2 points of clean accuracy: the most a 'slight' loss can be on a 90% classifier"
SESOI_ERROR = 0.03  # Fourier band test: three points of error, high band minus low band
SESOI_ERROR_WHY = ("three points of error rate between the bands: the smallest change in the high/low balance "
                   "that would make a model's sensitivity visibly 'insensitive' to high frequencies")

# ---- the confirmatory family, fixed in advance -------------------------------------------------------------
FAMILY_FIXED = "2026-12-03"
CONFIRMATORY = ("gain-task", "gain-natural", "sth-vs-pixel", "fgsm-transfer", "across", "clean-task",
                "clean-natural", "fourier-band")
# The 10-seed analysis of the main comparison (declared with the family): these rows pool the profile's main
# comparison seeds (Profile.main_seeds: 0-9 at full, since seeds 5-9 were published on 2026-12-07); the page shows
# seeds 0-4 and 5-9 separately beside the pooled verdict.
TEN_SEED_ROWS = ("gain-task", "gain-natural", "sth-vs-pixel", "clean-task", "clean-natural")
TEN_SEEDS_FIXED = "2026-12-03"
# The main comparison's seeds whose records were published before the family was fixed, per profile: a verdict
# on them alone is a re-analysis of data already seen (the claims page and the intro say so)
SEEN_BEFORE_FAMILY = {"full": (0, 1, 2, 3, 4)}

AUC_SUMMARY = ("AUC over ε > 0 (the trapezoid area under the accuracy curve from the smallest to the largest "
               "noisy ε, divided by that range: the mean of the piecewise-linear curve) per run")
ABL = dict(min_seeds=ABLATION_MIN_SEEDS)
POOL_ROLES = {"task": "its own images", "natural": "ImageNet or its stand-in"}  # Claim.pool
_IMAGENET = ("imagenet", "natural")  # ImageNet and the natural photographs standing in for it
_POOL_NAMES = {"imagenet": "ImageNet", "natural": "natural photographs (ImageNet stand-in)"}


class NoData(Exception):
    """A row's tables hold no data for its comparison (the reason is the message)."""


@dataclass(frozen=True)
class Claim:
    """One row of the claims page, declared beside the figure whose tables it reads.

    Args:
        key: short id (the confirmatory family names its rows by key).
        claim: the paper's claim in our words.
        paper: where the paper makes it.
        figures: the pages whose tables the row reads.
        tested: what is compared here; ``{pairs}`` becomes the dataset pairs the row reads.
        summary: the per-run summary the primary test compares, and the difference taken.
        rule: what the row asserts (None: not testable here); its ``why`` justifies the SESOI.
        compare: tables of ``figures`` and the context (``pairs``: the (task, pool) pairs the row reads) -> the
            primary comparison, or a dict of them named by family; more than one is judged by the
            intersection-union test (every family must pass).
        unit: the summary's unit.
        pool: which dataset pairs of ``figures[0]`` the row reads: "task", "natural", or None (all).
        across: the row claims an effect in every family (intersection-union); the texts say so.
    """
    key: str
    claim: str
    paper: str
    figures: tuple[str, ...]
    tested: str
    summary: str
    rule: Rule | None
    compare: Callable[[Mapping[str, FigureData], dict], Comparison | dict[str, Comparison]] | None = None
    unit: str = ""
    pool: str | None = None
    across: bool = False

    @property
    def confirmatory(self) -> bool:
        return self.key in CONFIRMATORY


def pair_name(task: str, pool: str) -> str:
    """"cifar10 <- ImageNet", "fashion-mnist <- natural photographs (ImageNet stand-in)"."""
    return f"{task} <- {_POOL_NAMES.get(pool, pool)}"


def select_pairs(pairs: list[tuple[str, str]], pool: str | None) -> list[tuple[str, str]]:
    """The (task, pool) pairs a row with :attr:`Claim.pool` ``pool`` reads, in the figure's order."""
    if pool is None:
        return list(pairs)
    if pool == "task":
        return [(t, r) for t, r in pairs if t == r]
    return [(t, r) for t, r in pairs if r in _IMAGENET]


def _noisy(curves: pd.DataFrame) -> list[float]:
    return sorted(float(e) for e in curves["epsilon"].unique() if e > 0)


def only(t: pd.DataFrame, **sel) -> pd.DataFrame:
    """The rows of ``t`` with the given column values (a missing ``task`` column matches any task)."""
    for k, v in sel.items():
        if k == "task" and k not in t.columns:  # tables of one task may not say which
            continue
        t = t[t[k] == v]
    if t.empty:
        raise NoData(f"no rows with {', '.join(f'{k}={v}' for k, v in sel.items())}")
    return t


def noisy_auc(curves: pd.DataFrame, **sel) -> pd.DataFrame:
    """Per run, the AUC over ε > 0 (the mean of the piecewise-linear accuracy curve over the noisy part of the grid) of the rows ``sel``: the
    book's one robustness summary (every page that compares conditions uses it, paired by seed)."""
    t = only(curves, **sel)
    return auc_by_run(t, epsilons=_noisy(t))


def each_pair(ctx: dict, one: Callable[[str, str], Comparison]) -> Comparison | dict[str, Comparison]:
    """``one(task, pool)`` for each pair the row reads: one comparison, or a dict of them named by pair."""
    if not ctx["pairs"]:
        raise NoData(f"no dataset pair regularized with {POOL_ROLES[ctx['pool']]}")
    out = {pair_name(t, r): one(t, r) for t, r in ctx["pairs"]}
    return out if len(out) > 1 else next(iter(out.values()))


def auc_gain(fig: str, attack: str, mode: str | None = None, a="unregularized", b="S^Th", table: str = "curves"):
    """b − a of the AUC over ε > 0 under ``attack``, per pair the row reads (the whole table for pool None)."""
    def compare(d, ctx):
        sel = dict(attack=attack)
        if mode is not None:
            sel["mode"] = mode
        if ctx["pairs"] is None:
            return compare_by_seed(noisy_auc(d[fig][table], **sel), a, b)
        return each_pair(ctx, lambda t, r: compare_by_seed(noisy_auc(d[fig][table], **sel, task=t, reg_data=r), a, b))
    return compare


def clean_gain(fig: str = "fig2"):
    """S^Th − unregularized clean accuracy (ε = 0 of the Gaussian curves), per pair the row reads."""
    def compare(d, ctx):
        c = d[fig]["curves"]
        return each_pair(ctx, lambda t, r: compare_by_seed(
            value_at(only(c, attack="gaussian", task=t, reg_data=r), 0.0), "unregularized", "S^Th",
            value="accuracy"))
    return compare


def mean_auc(frames: list[pd.DataFrame]) -> pd.DataFrame:
    """Per (condition, seed), the mean of the AUCs of ``frames`` (each one family: a pool and an attack), for the
    (condition, seed) that have a value in every family only. A seed whose run of one pool failed (and so is not
    in that pool's families, :data:`~pixelreg.figures.tables.FAILED_RUN_RULE`) would otherwise average over fewer
    families than its pair partner; it loses its pair instead."""
    t = pd.concat([f.assign(_family=i) for i, f in enumerate(frames)], ignore_index=True)
    t = t.dropna(subset=["auc"])
    full = t.groupby(["condition", "seed"])["_family"].transform("nunique") == len(frames)
    return t[full].groupby(["condition", "seed"], as_index=False)["auc"].mean()


def families(curves: pd.DataFrame, order=None) -> dict[tuple, pd.DataFrame]:
    """Per (task, pool, attack) family of a curves table, the per-run AUC over ε > 0; families sorted by
    ``order`` (a function of (task, pool, attack)), else by name."""
    keys = ["task", "reg_data", "attack"]
    fams = sorted(curves.groupby(keys).groups, key=order)
    return {k: noisy_auc(curves, **dict(zip(keys, k))) for k in fams}


def band_test(fig: str = "fourier", table: str = "bands", high: str = "high", low: str = "low",
              a: str = "unregularized", b: str = "S^Th"):
    """The Fourier band test: per (condition, seed), the error under the high band minus the error under the
    low band (mean over the table's rows of that run and band); then b − a of that difference, paired by seed.
    Negative: the regularized model is less hurt by high frequencies, relative to low ones, than the
    unregularized one. A (condition, seed) with fewer runs than that condition's others (a failed run of one
    pool) loses its pair. Reads a table with columns run, seed, condition, band, error."""
    def compare(d, ctx):
        t = d[fig][table]
        need = {"run", "seed", "condition", "band", "error"}
        if not need <= set(t.columns):
            raise NoData(f"{fig}'s {table} table lacks {sorted(need - set(t.columns))}")
        # a seed whose run of one pool failed would pool fewer runs than its pair partner: it loses its pair
        runs = t.groupby(["condition", "seed"])["run"].transform("nunique")
        t = t[runs == runs.groupby(t["condition"]).transform("max")]
        g = t.groupby(["condition", "seed", "band"], as_index=False)["error"].mean()
        w = g.pivot_table(index=["condition", "seed"], columns="band", values="error").reset_index()
        if high not in w or low not in w:
            raise NoData(f"{fig}'s {table} table has no '{high}' and '{low}' bands")
        w["excess"] = w[high] - w[low]
        return compare_by_seed(w.dropna(subset=["excess"]), a, b, value="excess")
    return compare
