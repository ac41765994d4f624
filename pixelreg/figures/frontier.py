"""The noise-augmentation frontier: S^Th over α beside Gaussian noise augmentation over σ, compared at the same
clean accuracy (issue 22 item 3).

Both methods trade clean accuracy for robustness, each along its own strength parameter, so a single setting
of each says little: one method can look ahead only because it gives up more clean accuracy. This page trains
a grid of each, plots clean accuracy against the robust AUC over ε > 0 per run, and compares the two seed-mean
curves at clean accuracies fixed in book/reproduce.md before the grid was evaluated (0.86 and 0.88), by linear
interpolation with a bootstrap over paired seeds (:func:`pixelreg.analysis.stats.matched_difference`). A
curve that does not reach a level is reported as not covering it, never extrapolated. With fewer than
:data:`BOOTSTRAP_MIN_SEEDS` seeds the interval is shown and no method is called ahead.

A further panel attacks the grid with FGSM transferred from an unregularized source (attack
:data:`TRANSFERRED`). Source and targets need weights from one machine, and at ``full`` the grid's α 10, σ 0.2 and
unregularized points at seeds 0-4 are records without them, so that panel is the grid at ``transfer_seeds`` (the
controls page's seeds 7-9 and its source, seed 1001), compared by the same rule on those seeds only (decided on
2026-12-06, before any of its runs was trained).
"""
from __future__ import annotations

import math

from dataclasses import dataclass
from pathlib import Path
from typing import ClassVar

import numpy as np
import pandas as pd

from pixelreg.analysis.stats import at_points_difference, matched_difference
from pixelreg.analysis.verdicts import auc_by_run, value_at
from pixelreg.errors import ConfigError
from pixelreg.experiment.config import TrainConfig, check_value, config_hash
from pixelreg.robustness.evaluate import transferred_from
from pixelreg.figures.common import (NOISE_ATTACKS, FigureData, OnePoolFigure, as_tuple, ensure_runs, fmt,
                                     positive_int, runs_table)
from pixelreg.figures.controls import SEEDS as TRANSFER_SEEDS, SOURCE_SEEDS, transferred_fgsm
from pixelreg.figures.fig3 import Fig3, check_source_seed

__all__ = ["Frontier", "METHODS", "LEVELS"]

# The methods of the page (column ``method``): the two curves, the combination and the reference point.
STH, AUG, BOTH, UNREG = "S^Th", "noise augmentation", "S^Th + noise augmentation", "unregularized"
METHODS = (STH, AUG, BOTH, UNREG)
# The clean accuracies at which the curves are compared, fixed in book/reproduce.md ("This round's runs at
# full") on 2026-12-03, before the grid was evaluated.
LEVELS = (0.86, 0.88)
# The grids where a profile's differ from the plan's: the smoke book trains 2 of each (seconds per run).
# full: no α 1. Its seeds 0-2 are Fig. 6's published runs, whose records hold two points of the Gaussian and
# salt-and-pepper curves (ε 0 and 0.3) and no weights; retrained here they would not be the recorded runs (another
# CPU, not bit-identical: book/reproduce.md). α 3 (clean accuracy about 0.88-0.89 at Fig. 6's seeds) bounds the
# curve from above instead. Decided on 2026-12-03, before any frontier run was evaluated.
ALPHAS = {"smoke": (1.0, 10.0), "full": (3.0, 10.0, 30.0)}
SIGMAS = {"smoke": (0.2, 0.5)}
# The transferred attack's name in the page's tables (its curves come from robust_accuracy(..., "fgsm", source=)).
TRANSFERRED = "transferred fgsm"
NO_BOUNDARY = ("The boundary attack is not run on this grid; the [controls page](controls.html) runs it (Fig. 4's "
               "converged attack) on the augmentation and shuffled-target controls of seeds 7-9, beside S^Th.")
NO_TRANSFER = ("Its grid has seeds of its own because a transfer source and the attacked runs need weights, and at "
               "``full`` this grid's α 10, σ 0.2 and unregularized points at seeds 0-4 are published records without "
               "them (retraining gives back the recorded model only on a processor like the one that trained it: "
               "[Reproducing](reproduce.html)).")


@dataclass(frozen=True, kw_only=True)
class Frontier(OnePoolFigure):
    """Clean accuracy against robust AUC (ε > 0) for S^Th over ``alphas`` and Gaussian noise augmentation over
    ``sigmas`` (plus S^Th with augmentation and the unregularized run); which method is ahead at the clean
    accuracies ``levels``? The noise attacks at ``seeds``; FGSM transferred from the unregularized run of
    ``source_seed`` on the same grid at ``transfer_seeds``.

    Tables: ``curves`` (per run, attack and ε), ``points`` (per run and attack: clean accuracy, AUC over ε > 0),
    ``frontier`` (their seed means per method and strength), ``matched`` (per attack and level)."""

    name: ClassVar[str] = "frontier"
    # records mode: the seeds published so far (the transferred grid may show none of its seeds yet)
    interim_fields: ClassVar[dict[str, int]] = {"seeds": 2, "transfer_seeds": 0}
    PLANS: ClassVar[dict[str, tuple[str, str]]] = {
        "paper": ("cifar10<-imagenet", "no paper panel (a baseline the paper did not run), on Fig. 2b's pair"),
        "analogue": ("fashion-mnist<-fashion-mnist", "no paper panel (a baseline the paper did not run)"),
    }

    plan: str | None = None  # "paper" or "analogue"; None: the profile's (paper at the paper profile)
    task: str | None = None  # None: the plan's (paper: cifar10; analogue: fashion-mnist)
    reg_data: str | None = None  # None: the plan's pool (paper: imagenet), else the task's own images
    th: float | None = None  # None: the paper's Th for the dataset pair
    seeds: tuple[int, ...] | None = None  # None: the profile's seeds
    alphas: tuple[float, ...] | None = None  # α of the S^Th curve; None: 1, 3, 10, 30 (full: 3, 10, 30; smoke: 1, 10)
    sigmas: tuple[float, ...] | None = None  # σ of the augmentation curve, pixel units; None: 0.05, 0.1, 0.2,
    # 0.3, 0.5 (smoke: 0.2, 0.5)
    combo_alpha: float = 10.0  # α of the S^Th + augmentation run
    combo_sigma: float = 0.2  # σ of the S^Th + augmentation run
    levels: tuple[float, ...] = LEVELS  # clean accuracies at which the curves are compared
    n_boot: int = 2000  # bootstrap resamples over paired seeds
    attacks: tuple[str, ...] = NOISE_ATTACKS
    n_images: int | None = None  # test images per curve; None: the profile's
    # The grid again at these seeds, under FGSM transferred from the unregularized run of ``source_seed``; None:
    # the controls page's seeds of the profile (full: 7, 8, 9, trained on one machine with the source), else the
    # page's seeds; () or "": no transferred FGSM.
    transfer_seeds: tuple[int, ...] | None = None
    source_seed: int | None = None  # None: the controls page's source of the profile (full: 1001), else Fig. 3's

    def profile_defaults(self, prof):
        return dict(**self.pair_defaults(), seeds=prof.seeds, n_images=prof.eval_images,
                    alphas=ALPHAS.get(prof.name, (1.0, 3.0, 10.0, 30.0)),
                    sigmas=SIGMAS.get(prof.name, (0.05, 0.1, 0.2, 0.3, 0.5)),
                    transfer_seeds=TRANSFER_SEEDS.get(prof.name, prof.seeds if self.seeds is None else self.seeds),
                    source_seed=SOURCE_SEEDS.get(prof.name, Fig3.source_seed))

    def check(self) -> None:
        for name, field_, grid in (("alphas", "alpha", self.alphas), ("sigmas", "noise_aug", self.sigmas)):
            values = as_tuple(name, grid, float)
            if not values:
                raise ConfigError(name, grid, "one or more numbers > 0")
            for v in values:
                check_value(field_, v, name=name)
                if v == 0:
                    raise ConfigError(name, grid, "numbers > 0 (0 is the unregularized run, always on the page)")
            self._set(name, tuple(dict.fromkeys(values)))
        for name, field_ in (("combo_alpha", "alpha"), ("combo_sigma", "noise_aug")):
            check_value(field_, getattr(self, name), name=name)
            if getattr(self, name) == 0:
                raise ConfigError(name, getattr(self, name), "a number > 0")
        levels = as_tuple("levels", self.levels, float)
        if not levels or any(not 0 < v < 1 for v in levels):
            raise ConfigError("levels", self.levels, "one or more clean accuracies in (0, 1)")
        self._set("levels", levels)
        positive_int("n_boot", self.n_boot)
        seeds = as_tuple("transfer_seeds", self.transfer_seeds, int)
        for v in seeds:
            check_value("seed", v, name="transfer_seeds")
        self._set("transfer_seeds", tuple(dict.fromkeys(seeds)))
        if self.transfer_seeds:  # the source is none of the page's runs
            check_source_seed(self.source_seed, tuple(self.seeds) + self.transfer_seeds)

    # -- the plan -------------------------------------------------------------------------------------------
    def sth(self, seed: int, alpha: float, noise_aug: float = 0.0) -> TrainConfig:
        """S^Th on the page's pool at ``alpha`` (the beyond page's and Fig. 2's config at the same values)."""
        th = self.reg_params(self.reg_data)[1]
        kw = dict(noise_aug=float(noise_aug)) if noise_aug else {}
        return self.cfg(reg_data=self.reg_data, alpha=float(alpha), th=th, target="thresholded", seed=seed, **kw)

    def plan_runs(self, seeds: tuple[int, ...] | None = None) -> list[tuple[str, float, float, TrainConfig]]:
        """(method, α, σ, config) of every run of the grid at ``seeds`` (None: the page's), seed by seed."""
        out = []
        for seed in (self.seeds if seeds is None else seeds):
            out.append((UNREG, 0.0, 0.0, self.unreg(seed)))
            out += [(STH, float(a), 0.0, self.sth(seed, a)) for a in self.alphas]
            out += [(AUG, 0.0, float(s), self.unreg(seed, noise_aug=float(s))) for s in self.sigmas]
            out.append((BOTH, float(self.combo_alpha), float(self.combo_sigma),
                        self.sth(seed, self.combo_alpha, self.combo_sigma)))
        return out

    def source(self) -> TrainConfig | None:
        """The transfer source (None without ``transfer_seeds``)."""
        return self.unreg(self.source_seed) if self.transfer_seeds else None

    def configs(self) -> list[TrainConfig]:
        """The grid at ``seeds``, the grid at ``transfer_seeds``, then the transfer source."""
        out = [c for *_, c in self.plan_runs()] + [c for *_, c in self.plan_runs(self.transfer_seeds)]
        return list(dict.fromkeys(out + ([self.source()] if self.transfer_seeds else [])))

    def held(self, configs, runs_dir=None):
        """A run published without weights is held only if its record has what the page reads: the noise curves
        of ``attacks`` for the grid at ``seeds``, FGSM transferred from the page's source for the grid at
        ``transfer_seeds``; the source needs no evaluation of its own (its weight digest names the targets'
        evaluations). A record published with its metrics only therefore leaves its seed out."""
        from pixelreg.experiment.sweep import held_runs

        targets = {c for *_, c in self.plan_runs(self.transfer_seeds)}
        need = [c for c in configs if c in targets]
        noise = tuple(f"acc-{a}" for a in self.attacks)  # checked by name (held_runs)
        fgsm = ("acc-fgsm", transferred_from(config_hash(self.source()))) if self.transfer_seeds else "acc-fgsm"
        return held_runs(need, runs_dir, (fgsm,)) | held_runs([c for c in configs if c not in targets and
                                                                      c != self.source()], runs_dir, noise) | \
            held_runs([c for c in configs if c == self.source()], runs_dir)

    # -- the tables -----------------------------------------------------------------------------------------
    def data(self, runs_dir: str | Path | None = None, progress: bool = True) -> FigureData:
        plan = self.plan_runs()
        runs = ensure_runs([c for *_, c in plan], runs_dir, progress)
        method = {r.id: m for (m, *_), r in zip(plan, runs)}
        sigma = {r.id: s for (_, _, s, _), r in zip(plan, runs)}
        curves = self.curves(runs, self.attacks, self.n_images)
        curves = curves.assign(method=curves["run"].map(method), sigma=curves["run"].map(sigma))
        points = run_points(curves)
        extra = []
        if self.transfer_seeds:
            curves_t, runs_t = self._transfer(runs_dir, progress)
            curves = pd.concat([curves, curves_t], ignore_index=True)
            points = pd.concat([points, run_points(curves_t)], ignore_index=True)
            extra = [r for r in runs_t if r.id not in {x.id for x in runs}]
        frontier = (points.groupby(["attack", "method", "alpha", "sigma"], sort=True)
                    .agg(clean=("clean", "mean"), auc=("auc", "mean"), n=("seed", "count")).reset_index())
        matched = self.matched(points)
        return self.figure_data(dict(curves=curves, points=points, frontier=frontier, matched=matched,
                                     at_sth=self.matched(points, at_sth=True), dominance=dominance(points)),
                                runs_table(runs + extra))

    def _transfer(self, runs_dir, progress) -> tuple[pd.DataFrame, list]:
        """(the transferred-FGSM curves of the usable runs of the grid at ``transfer_seeds``, attack
        :data:`TRANSFERRED`; those runs and the source). A failed source stops the page: an untrained source would
        make every target look robust."""
        plan = self.plan_runs(self.transfer_seeds)
        runs = ensure_runs([c for *_, c in plan] + [self.source()], runs_dir, progress)
        targets = runs[:-1]
        method = {r.id: m for (m, *_), r in zip(plan, targets)}
        sigma = {r.id: s for (_, _, s, _), r in zip(plan, targets)}
        curves = transferred_fgsm(self, targets, runs[-1])
        curves = curves.assign(attack=TRANSFERRED, method=curves["run"].map(method), sigma=curves["run"].map(sigma))
        return curves, runs

    def matched(self, points: pd.DataFrame, at_sth: bool = False) -> pd.DataFrame:
        """Per attack and level: augmentation − S^Th of the seed-mean curves' AUC at that clean accuracy, with
        its bootstrap-over-paired-seeds interval (:func:`pixelreg.analysis.stats.matched_difference`).

        The levels are the page's ``levels`` (fixed in advance); with ``at_sth`` they are instead each S^Th
        setting's own seed-mean clean accuracy (column ``alpha``), so S^Th is read at its trained points and only
        augmentation's curve is interpolated, in each resample too
        (:func:`pixelreg.analysis.stats.at_points_difference`; a descriptive check of the fixed levels, added after
        the grid's first seeds were seen)."""
        # at S^Th's own points no call is made and S^Th is read at a point, not between two
        cols = ["attack", *(["alpha"] if at_sth else []), "level", "sth", "aug", "estimate", "ci_low", "ci_high",
                *([] if at_sth else ["sth_covers"]), "aug_covers", "defined", "n_seeds", "n_resamples", "confidence",
                *([] if at_sth else ["call", "sth_between", "sth_clean_max"]), "aug_between",
                *([] if at_sth else ["sth_seeds_reach", "aug_seeds_reach"]), "pair"]
        rows = []
        for attack, g in (points.groupby("attack", sort=True) if len(points) else ()):
            seeds = sorted(g["seed"].unique())  # the transferred grid has seeds of its own
            arrays, clean = {}, {}
            for method, strength in ((STH, "alpha"), (AUG, "sigma")):
                t = g[g["method"] == method]
                tables = [t.pivot_table(index=strength, columns="seed", values=v, aggfunc="mean").reindex(columns=seeds)
                          for v in ("clean", "auc")]
                arrays[method] = [x.to_numpy(float) for x in tables]
                clean[method] = tables[0].mean(axis=1)  # each setting's seed-mean clean accuracy
            if not all(a[0].size for a in arrays.values()):
                continue
            if at_sth:
                m = at_points_difference(*arrays[STH], *arrays[AUG], n_resamples=self.n_boot)
                m.insert(0, "alpha", list(clean[STH].index))
            else:
                m = matched_difference(*arrays[STH], *arrays[AUG], self.levels, n_resamples=self.n_boot)
                m["call"] = [matched_call(r) for r in m.rename(columns={"a_covers": "sth_covers",
                                                                         "b_covers": "aug_covers"}).itertuples()]
            m.insert(0, "attack", attack)
            for method, strength, col in ((STH, "alpha", "sth_between"), (AUG, "sigma", "aug_between")):
                if col in cols:
                    c = clean[method]
                    m[col] = [between(c.index, c.to_numpy(float), lv, SYMBOL[strength]) for lv in m["level"]]
            if not at_sth:  # the top of S^Th's curve: a level above it is out of the grid's reach
                m["sth_clean_max"] = float(clean[STH].max())
            m["pair"] = f"{self.task} <- {self.reg_data}"  # the dataset pair, for the intro's line
            if not at_sth:  # how many seeds' own points span the level (the seed-mean curve may, when few do)
                for method, col in ((STH, "sth_seeds_reach"), (AUG, "aug_seeds_reach")):
                    m[col] = [seeds_reaching(arrays[method][0], lv) for lv in m["level"]]
            rows.append(m.rename(columns={"a": "sth", "b": "aug", "a_covers": "sth_covers", "b_covers": "aug_covers"})
                        [cols])
        return pd.concat(rows, ignore_index=True) if rows else pd.DataFrame(columns=cols)

    def what_we_see(self, data: FigureData) -> str:
        transfer = data.params.get("transfer_seeds")
        source = data.params.get("source_seed")
        interim = getattr(data.page, "interim", None)
        planned = interim.planned.transfer_seeds if interim is not None else ()
        if transfer:
            note = (f"Transferred FGSM (from the unregularized run of seed {source}) is computed on the grid at "
                    f"seed{'s' if len(transfer) > 1 else ''} {', '.join(map(str, transfer))}, trained on one machine "
                    "with its source; its points are a separate panel and its comparison uses "
                    f"{'those seeds' if len(transfer) > 1 else 'that seed'} only.")
        elif planned:
            note = (f"Transferred FGSM is not shown yet: none of its grid's seeds ({', '.join(map(str, planned))}) is "
                    "published with its source. " + NO_TRANSFER)
        else:
            note = "Transferred FGSM is not shown: ``transfer_seeds`` is empty. " + NO_TRANSFER
        parts = [matched_sentences(data["matched"])]
        if "dominance" in data.tables and len(data["dominance"]):
            parts += ["", dominance_sentence(data["dominance"])]
        if "at_sth" in data.tables:
            parts += ["", at_sth_sentences(data["at_sth"])]
        return "\n".join([*parts, "", note + " " + NO_BOUNDARY])


SYMBOL = {"alpha": "α", "sigma": "σ"}


def between(strengths, clean, level: float, symbol: str) -> str:
    """Which grid settings a seed-mean curve reads a level between: the neighbours of ``level`` in order of
    seed-mean clean accuracy (the order :func:`pixelreg.analysis.stats.curve_at` joins them in), e.g.
    "α 10 (0.853) and α 3 (0.865)"; one setting where it sits on the level; the span where the curve does
    not reach it ("0.847-0.865, not reached")."""
    pts = sorted((float(x), float(k)) for k, x in zip(strengths, clean) if math.isfinite(float(x)))
    if not pts:
        return "no runs"
    if not pts[0][0] <= level <= pts[-1][0]:
        return f"{pts[0][0]:.3f}-{pts[-1][0]:.3f}, not reached"
    lo = max((p for p in pts if p[0] <= level), key=lambda p: p[0])
    hi = min((p for p in pts if p[0] >= level), key=lambda p: p[0])
    one = lambda p: f"{symbol} {p[1]:g} ({p[0]:.3f})"
    return one(lo) if lo == hi else f"{one(lo)} and {one(hi)}"


def seeds_reaching(clean: np.ndarray, level: float) -> int:
    """How many seeds (columns of a (settings, seeds) array of clean accuracies; NaN for a missing run) have
    settings on both sides of ``level``: the seeds whose own curve reaches it without the seed mean."""
    with np.errstate(invalid="ignore"):
        lo, hi = np.nanmin(clean, axis=0), np.nanmax(clean, axis=0)
    return int(np.sum((lo <= level) & (level <= hi)))


def dominance(points: pd.DataFrame) -> pd.DataFrame:
    """An interpolation-free check of the matched comparison: per attack and seed, how many S^Th settings are
    dominated by some augmentation setting of the same seed (clean accuracy at least as high and AUC higher), and
    how many augmentation settings by some S^Th setting. Columns: attack, seed, sth_settings, sth_dominated,
    aug_settings, aug_dominated."""
    rows = []
    for (attack, seed), g in points.groupby(["attack", "seed"], sort=True):
        sth, aug = g[g["method"] == STH], g[g["method"] == AUG]
        if sth.empty or aug.empty:
            continue

        def beaten(a, b):  # how many points of a have a point of b with clean >= and AUC >
            return int(sum(((b["clean"] >= r.clean) & (b["auc"] > r.auc)).any() for r in a.itertuples()))

        rows.append(dict(attack=attack, seed=int(seed), sth_settings=len(sth), sth_dominated=beaten(sth, aug),
                         aug_settings=len(aug), aug_dominated=beaten(aug, sth)))
    return pd.DataFrame(rows, columns=["attack", "seed", "sth_settings", "sth_dominated", "aug_settings",
                                       "aug_dominated"])


def dominance_sentence(dom: pd.DataFrame) -> str:
    """One sentence from :func:`dominance`, per attack: S^Th settings dominated within their seed, of all."""
    if dom.empty:
        return ""
    parts = []
    for attack, g in dom.groupby("attack", sort=True):
        parts.append(f"{attack}: {int(g.sth_dominated.sum())} of {int(g.sth_settings.sum())} S^Th settings "
                     f"(augmentation settings dominated by S^Th: {int(g.aug_dominated.sum())} of "
                     f"{int(g.aug_settings.sum())}; {_seeds(g.seed.nunique())})")
    return ("Without interpolation or bootstrap: within each seed, an S^Th setting is dominated when some "
            "augmentation setting of the same seed has at least its clean accuracy and a higher AUC. Dominated: "
            + "; ".join(parts) + ".")


def dominance_counts(dom: pd.DataFrame | None) -> str:
    """The intro's short form of :func:`dominance_sentence` (" ..." or ""): attacks with the same counts share one
    clause, e.g. "under each of gaussian, salt-pepper and uniform noise, 15 of 15 S^Th settings (3 per seed, 5 seeds)
    are beaten and 0 of 25 augmentation settings the other way"."""
    if dom is None or dom.empty:
        return ""
    groups: dict[tuple, list[str]] = {}
    for attack, g in dom.groupby("attack", sort=True):
        key = (int(g.sth_dominated.sum()), int(g.sth_settings.sum()), int(g.aug_dominated.sum()),
               int(g.aug_settings.sum()), g.seed.nunique())
        groups.setdefault(key, []).append(attack)
    parts = []
    for (a, b, c, d, n), attacks in groups.items():
        noise = [x for x in attacks if x != TRANSFERRED]
        names = ([(", ".join(noise[:-1]) + " and " if len(noise) > 1 else "") + noise[-1] + " noise"] if noise else [])
        names += [TRANSFERRED] if TRANSFERRED in attacks else []
        each = "each of " if len(attacks) > 1 else ""
        parts.append(f"under {each}{' and '.join(names)}, {a} of {b} S^Th settings ({b // n} per seed, {_seeds(n)}) are "
                     f"beaten and {c} of {d} augmentation settings the other way")
    return (" Without interpolation, an S^Th setting counts as beaten when an augmentation setting of the same seed "
            "has at least its clean accuracy and a higher AUC: " + "; ".join(parts) + ".")


def run_points(curves: pd.DataFrame) -> pd.DataFrame:
    """Per run and attack: its method, α and σ, clean accuracy (the curve's ε = 0 point) and AUC over ε > 0
    (:func:`pixelreg.analysis.verdicts.auc_by_run`, the book's one robustness summary)."""
    keys = ["run", "seed", "method", "alpha", "sigma", "attack"]
    noisy = sorted(float(e) for e in curves["epsilon"].unique() if e > 0)
    auc = auc_by_run(curves, keys=keys, epsilons=noisy)
    clean = value_at(curves, 0.0, keys=keys).rename(columns={"accuracy": "clean"})
    return clean.merge(auc[[*keys, "auc"]], on=keys, how="inner")[[*keys, "clean", "auc"]]


# A percentile bootstrap over n paired seeds has at most C(2n-1, n) distinct resamples (3 for 2 seeds, 10 for 3,
# 35 for 4, 126 for 5): below 5 seeds its interval is too coarse to decide, so the page shows it and judges nothing.
BOOTSTRAP_MIN_SEEDS = 5


def _seeds(n: int) -> str:
    return f"{n} seed{'s' if n != 1 else ''}"


def distinct_resamples(n: int) -> int:
    """How many different multisets of ``n`` seeds a bootstrap over ``n`` seeds can draw: C(2n − 1, n)."""
    return math.comb(2 * n - 1, n)


def matched_call(r) -> str:
    """The page's call on one row of the matched table: which method is ahead at that clean accuracy (the 95%
    bootstrap interval of augmentation − S^Th excludes 0), neither, a curve that does not reach the level, or not
    judged below :data:`BOOTSTRAP_MIN_SEEDS` seeds."""
    if not (r.sth_covers and r.aug_covers):
        return "not covered"
    if r.n_seeds < BOOTSTRAP_MIN_SEEDS:
        return f"not judged ({_seeds(r.n_seeds)})"
    if r.ci_low > 0:
        return "noise augmentation ahead"
    if r.ci_high < 0:
        return "S^Th ahead"
    return "the interval includes 0: neither is shown ahead"


def matched_sentences(matched: pd.DataFrame) -> str:
    """The page's statement, from the numbers: per level and attack, which method's AUC is higher at that clean
    accuracy and by how much, or which curve does not reach it."""
    if matched.empty:
        return "No comparison at matched clean accuracy: the tables hold no S^Th or no augmentation runs."
    lines = ["At a fixed clean accuracy, the seed-mean curves of each method (clean accuracy against the AUC over "
             "ε > 0, joined by straight lines in order of clean accuracy, dominated settings kept) compared, noise "
             "augmentation minus S^Th, with a 95% percentile bootstrap interval over paired seeds (exploratory, "
             "unadjusted; with 5 seeds such an interval tends to be too narrow); a method is called ahead when the "
             "interval excludes 0. The levels were fixed in [Reproducing](reproduce.html) before the grid's new "
             "points were evaluated; its α 10 and σ 0.2 points were already published then:"]
    for level, g in matched.groupby("level", sort=True):
        parts = []
        for r in g.itertuples():
            if not (r.sth_covers and r.aug_covers):
                missing = [n for n, ok in (("S^Th", r.sth_covers), ("noise augmentation", r.aug_covers)) if not ok]
                spans = "; ".join(f"{n}'s settings' seed means span {b.split(', ')[0]}" for n, ok, b in
                                  (("S^Th", r.sth_covers, getattr(r, "sth_between", "")),
                                   ("augmentation", r.aug_covers, getattr(r, "aug_between", ""))) if not ok and b)
                grid = ("; a limit of S^Th's grid, whose smallest α sets its largest clean accuracy"
                        if not r.sth_covers and r.level > getattr(r, "sth_clean_max", math.nan) else "")
                parts.append(f"{r.attack}: {' and '.join(missing)} "
                             f"{'do' if len(missing) > 1 else 'does'} not reach this clean accuracy (not extrapolated"
                             + (f"; {spans}" if spans else "") + grid + ")")
                continue
            call = (matched_call(r) if r.n_seeds >= BOOTSTRAP_MIN_SEEDS else
                    "not judged: one seed gives no interval" if r.n_seeds == 1 else
                    f"not judged: {r.n_seeds} seeds give at most {distinct_resamples(r.n_seeds)} distinct "
                    f"resamples, too few for a bootstrap interval to decide (at least {BOOTSTRAP_MIN_SEEDS} seeds), "
                    "so the interval is left to the matched table")
            few = r.n_seeds < BOOTSTRAP_MIN_SEEDS  # the estimate alone: an interval this coarse is not shown
            which = "the table's interval" if few else "the interval"
            partial = (f"; both curves reach this level in {r.defined:.0%} of the resamples, and {which} is taken "
                       "over those" if r.defined < 1 else "")
            notes = ([f"read between {r.aug_between}, and between {r.sth_between}"]
                     if getattr(r, "sth_between", "") and getattr(r, "aug_between", "") else [])
            # the seed-mean curve reaches the level, but some seeds' own settings may not span it
            own = [f"{name}'s own settings reach this level in only {k} of the {r.n_seeds} seeds"
                   for name, k in (("S^Th", getattr(r, "sth_seeds_reach", None)),
                                   ("augmentation", getattr(r, "aug_seeds_reach", None))) if k is not None and k < r.n_seeds]
            notes += [" and ".join(own) + " (the seed-mean curve reaches it)"] if own else []
            where = f" ({'; '.join(notes)})" if notes else ""
            parts.append(f"{r.attack}: noise augmentation's AUC {fmt(r.aug)} vs S^Th's {fmt(r.sth)}{where}, "
                         f"{r.estimate:+.3f}" + ("" if few else f" [{fmt(r.ci_low)}, {fmt(r.ci_high)}]")
                         + f", {_seeds(r.n_seeds)}{partial} - {call}")
        lines.append(f"- At clean accuracy {level:g}: " + "; ".join(parts) + ".")
    return "\n".join(lines)


AT_STH_ADDED = "2026-12-07"  # when the check at S^Th's own points was added (after seeds 0-3 of the grid were seen)


def at_sth_sentences(at: pd.DataFrame) -> str:
    """The check of the fixed levels: per attack, augmentation − S^Th read at each S^Th setting's own seed-mean
    clean accuracy (:meth:`Frontier.matched` with ``at_sth``), S^Th not interpolated. Descriptive: an interval
    only from :data:`BOOTSTRAP_MIN_SEEDS` seeds, and no call."""
    if at.empty:
        return ""
    lines = ["Read instead at each S^Th setting's own clean accuracy (S^Th at its trained points, only augmentation's "
             f"curve interpolated; a descriptive check of the fixed levels, added on {AT_STH_ADDED} after the grid's "
             "seeds 0-3 were seen), augmentation − S^Th:"]
    for attack, g in at.groupby("attack", sort=True):
        parts = []
        for r in g.sort_values("alpha").itertuples():
            head = f"α {r.alpha:g} ({r.level:.3f})"
            if not r.aug_covers:
                parts.append(f"{head}: augmentation does not reach it")
                continue
            ci = f" [{fmt(r.ci_low)}, {fmt(r.ci_high)}]" if r.n_seeds >= BOOTSTRAP_MIN_SEEDS else ""
            parts.append(f"{head}: {r.estimate:+.3f}{ci}")
        n = int(g["n_seeds"].iloc[0])
        lines.append(f"- {attack}: " + "; ".join(parts) + f" ({_seeds(n)}"
                     + ("" if n >= BOOTSTRAP_MIN_SEEDS else "; intervals in the table only, coarse below "
                        f"{BOOTSTRAP_MIN_SEEDS} seeds") + ").")
    return "\n".join(lines)


PAGE = Frontier

# No claim rows: the page's statement is exploratory and is made on the page (its interval unadjusted); the
# claims page's practical comparison reads the beyond page (sth-vs-noise-aug).
CLAIMS: tuple = ()
