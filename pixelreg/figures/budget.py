"""Does the effect change with training? Each condition's clean accuracy and Gaussian-noise robustness (AUC over
ε > 0), and the difference S^Th minus unregularized paired by seed, against the number of training steps, from
separate runs of several budgets.

Each budget is a complete compressed learning-rate cycle (5 phases of ``epochs / 5``) at the page's profile, so
a run of 1 epoch is not the first epoch of a longer run. At the ``full`` profile the budgets are 1, 2, 3, 10
and 20 epochs of all 59,400 training images (20 epochs is the paper's budget for its MNIST-type data), and the
``cpu`` profile's runs (other training images, their own alpha) are listed beside them as a separate,
differently configured point, left out of the plot and the trend. This page reads runs of several budgets by
design.

Statistics: per budget, :func:`pixelreg.analysis.verdicts.compare_by_seed` (the book's paired t-test by seed,
95% interval) of each summary; the trend over the profile's own budgets is each seed's least-squares slope of its
paired differences on log2(steps) (:func:`linear_trend`, statsmodels), averaged over the seeds with a one-sample t
interval (:func:`seed_slopes`), per doubling of the steps; the minimum detectable effect of the largest budget's paired test
(:func:`pixelreg.analysis.stats.mde`) says what its seeds can decide.
"""
from __future__ import annotations

import math
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Callable, ClassVar, Sequence

import numpy as np
import pandas as pd
from scipy import stats as st
from statsmodels.regression.linear_model import OLS

from pixelreg.analysis import stats
from pixelreg.analysis.verdicts import auc_by_run, compare_by_seed, value_at
from pixelreg.errors import ConfigError
from pixelreg.experiment.config import TrainConfig, check_value, make_config
from pixelreg.experiment.config import profile as get_profile
from pixelreg.experiment.sweep import planned_steps, training_images
from pixelreg.figures.common import FigureData, OnePoolFigure, as_tuple, ensure_runs, fmt, imagenet_dir, pfmt, pstate, runs_table
from pixelreg.figures.sentences import join_and

__all__ = ["Budget", "DEFAULT_EPOCHS", "PAPER_BUDGETS", "budget_tables", "summary_table", "linear_trend", "seed_slopes", "plot",
           "step_ticks", "overlapping_tick_labels"]

#: the page's budgets (epochs, each one full 5-phase cycle) per profile. full: 1, 2 and 3 epochs, and
#: PAPER_BUDGETS (training in this round, scripts/round_queue.py); until their runs are published the book's
#: records mode shows the budgets that are (an interim page, :meth:`pixelreg.figures.pages.Page.as_published`)
PAPER_BUDGETS = (10.0, 20.0)  # full: the paper's budget (20 epochs) and a point between
DEFAULT_EPOCHS = {"smoke": (0.5, 1.0), "cpu": (1.0, 2.0), "full": (1.0, 2.0, 3.0, *PAPER_BUDGETS),
                  "paper": (10.0, 20.0, 40.0)}
#: seeds trained at the largest budget only, per profile: the page's rule (:func:`final_text`) adds two seeds at
#: the largest budget where its seeds leave the sign of the clean difference undecided; a profile is listed here
#: only once that has been seen in its records (none yet)
MORE_SEEDS: dict[str, tuple[int, ...]] = {}
CONDITIONS = ("unregularized", "S^Th")  # a, b of every difference (b - a)
METRICS = {"clean": "clean accuracy (ε = 0)", "auc": "Gaussian AUC over ε > 0"}
LEVEL, POWER = 0.05, 0.8  # of the minimum detectable effect (two-sided paired t)
CPU_LABEL = "cpu profile (5,000 images, its alpha)"
POINT_COLUMNS = ["budget", "own_profile", "run", "seed", "condition", "alpha", "epochs", "train_images", "steps",
                 "clean", "auc"]


@dataclass(frozen=True, kw_only=True)
class Budget(OnePoolFigure):
    """Clean accuracy and Gaussian AUC (over ε > 0) of the unregularized model and of S^Th per training budget,
    their paired differences, the trend of the differences on log2(steps), and the largest budget's verdict."""

    name: ClassVar[str] = "budget"
    # records mode: the budgets published so far, never fewer than three (the trend needs them)
    interim_fields: ClassVar[dict[str, int]] = {"epochs": 3}
    # the plan: per plan, the dataset pair "task<-pool" and the paper panel it stands for
    PLANS: ClassVar[dict[str, tuple[str, str]]] = {
        "paper": ("cifar10<-imagenet", "no paper panel (training budgets the paper did not vary), on Fig. 2b's pair"),
        "analogue": ("fashion-mnist<-fashion-mnist", "no paper panel (training budgets the paper did not vary)"),
    }

    plan: str | None = None  # "paper" or "analogue"; None: the profile's (paper at the paper profile)
    task: str | None = None  # None: the plan's (paper: cifar10; analogue: fashion-mnist)
    reg_data: str | None = None  # None: the plan's pool (paper: imagenet), else the task's own images
    alpha: float | None = None  # None: the profile's alpha, else the paper's table (full: 10)
    th: float | None = None  # None: the paper's Th for the dataset pair (0.8)
    epochs: tuple[float, ...] | None = None  # budgets in epochs; None: DEFAULT_EPOCHS of the profile
    seeds: tuple[int, ...] | None = None  # None: the profile's first 3 seeds
    more_seeds: tuple[int, ...] | None = None  # seeds added at the largest budget only; None: MORE_SEEDS (none)
    n_images: int | None = None  # test images per curve; None: the profile's
    with_cpu: bool | None = None  # add the cpu profile's runs as a point; None: only at the full profile

    def profile_defaults(self, prof):
        return dict(**self.pair_defaults(), epochs=DEFAULT_EPOCHS.get(prof.name, (1.0, 2.0)), seeds=prof.seeds[:3],
                    more_seeds=MORE_SEEDS.get(prof.name, ()), n_images=prof.eval_images,
                    with_cpu=prof.name == "full")

    def check(self) -> None:
        eps = as_tuple("epochs", self.epochs, float)
        if not eps or any(not math.isfinite(e) or e <= 0 for e in eps):
            raise ConfigError("epochs", self.epochs, "one or more numbers of epochs > 0")
        self._set("epochs", tuple(sorted(set(eps))))
        more = as_tuple("more_seeds", self.more_seeds, int)
        for x in more:
            check_value("seed", x, name="more_seeds")
        if set(more) & set(self.seeds):
            raise ConfigError("more_seeds", self.more_seeds, "seeds >= 0 that are not among the page's seeds "
                              f"({join_and([str(x) for x in self.seeds])})")
        self._set("more_seeds", tuple(dict.fromkeys(more)))
        if not isinstance(self.with_cpu, bool):
            raise ConfigError("with_cpu", self.with_cpu, "True or False")

    def _pair(self, profile: str, seed: int, **scale) -> tuple[TrainConfig, TrainConfig]:
        a, t = self.reg_params(self.reg_data)
        if profile != self.profile and self.alpha is None and get_profile(profile).alpha is not None:
            a = get_profile(profile).alpha  # the cpu point keeps the cpu profile's own alpha (see the intro)
        unreg = make_config(profile, task=self.task, alpha=0.0, seed=seed, **scale)
        folder = imagenet_dir() if self.reg_data == "imagenet" else None
        reg = make_config(profile, task=self.task, reg_data=self.reg_data, alpha=a, th=t, target="thresholded",
                          seed=seed, imagenet_dir=folder, **scale)
        return unreg, reg

    def budget_plan(self) -> list[tuple[str, TrainConfig, TrainConfig]]:
        """(budget label, unregularized config, S^Th config) per budget and seed."""
        out = []
        for e in self.epochs:
            for seed in self.seeds + (self.more_seeds if e == max(self.epochs) else ()):
                u, r = self._pair(self.profile, seed, epochs=e, phase_duration=e / 5)
                out.append((f"{self.profile}, {e:g} epoch{'s' if e != 1 else ''}", u, r))
        if self.with_cpu:
            for seed in self.seeds:
                u, r = self._pair("cpu", seed)
                out.append((CPU_LABEL, u, r))
        return out

    def configs(self) -> list[TrainConfig]:
        return [c for _, u, r in self.budget_plan() for c in (u, r)]

    def narrowed(self, have: Callable[[TrainConfig], bool]) -> dict[str, tuple] | None:
        """:meth:`pixelreg.figures.pages.Page.narrowed`, with :attr:`more_seeds` left out first: while the seeds
        added at the largest budget are not all there, the page shows that budget at its own seeds (and narrows
        the rest as usual); the added seeds also go where the largest budget does."""
        if not self.more_seeds:
            return super().narrowed(have)
        base = replace(self, more_seeds=())
        planned = set(base.configs())
        base_complete = all(have(c) for c in planned)
        extra_complete = all(have(c) for c in self.configs() if c not in planned)
        if base_complete and extra_complete:
            return None
        kept = {} if base_complete else base.narrowed(have)
        if kept is None:
            return None
        if extra_complete and max(kept.get("epochs", self.epochs)) == max(self.epochs):
            return kept
        return {**kept, "more_seeds": ()}

    def budgets_text(self) -> str:
        """The page's budgets in epochs and SGD steps, from the profile's configs (nothing trained or read)."""
        own = [(e, planned_steps(self._pair(self.profile, self.seeds[0], epochs=e, phase_duration=e / 5)[0]))
               for e in self.epochs]
        u, reg = self._pair(self.profile, self.seeds[0])
        images = (f"a {u.train_subset:,}-image training subset" if u.train_subset else
                  f"the {training_images(u):,} {u.task} training images left after the validation split")
        interim = getattr(self, "interim", None)
        later = [e for e in (interim.planned.epochs if interim is not None else ()) if e not in self.epochs]
        shown = "the budgets shown so far are" if later else "the budgets are"
        text = (f"S^Th at α {reg.alpha:g} and Th {reg.th:g}, unregularized beside it. "
                f"At the `{self.profile}` profile {shown} {join_and([f'{e:g}' for e, _ in own])} epoch"
                f"{'s' if len(own) > 1 or own[0][0] != 1 else ''} of {images} in batches of {u.batch_size}: "
                f"{join_and([f'{s:,}' for _, s in own])} SGD steps per run, each a complete 5-phase learning-rate "
                f"cycle; {len(self.seeds)} seed{'s' if len(self.seeds) > 1 else ''} ({join_and(map(str, self.seeds))}) "
                f"per condition" + (f", and seeds {join_and(map(str, self.more_seeds))} at {own[-1][0]:g} epochs "
                                    "(added by the page's rule: the sign of the clean difference was undecided)"
                                    if self.more_seeds else "") + ".")
        if later:
            text += (f" The plan adds {join_and([f'{e:g}' for e in later])} epochs, not yet published (the banner "
                     "above).")
        if self.with_cpu:
            c = self._pair("cpu", self.seeds[0])[1]
            text += (f" The `cpu` profile's runs ({planned_steps(c):,} steps on {c.train_subset:,} images, "
                     f"alpha {c.alpha:g}) are listed as a separate point: another training set and alpha, so they "
                     "are left out of the plot and the trend.")
        return text

    def data(self, runs_dir: str | Path | None = None, progress: bool = True) -> FigureData:
        """Tables: ``points`` (per run: budget, steps, clean accuracy, Gaussian AUC over ε > 0), and from them
        (:func:`budget_tables`) ``effects``, ``summary`` and ``trend``."""
        plan = self.budget_plan()
        configs = [c for _, u, r in plan for c in (u, r)]
        runs = dict(zip(configs, ensure_runs(configs, runs_dir, progress)))
        cur = self.curves(list(dict.fromkeys(runs.values())), ["gaussian"], self.n_images)
        noisy = sorted(float(e) for e in cur["epsilon"].unique() if e > 0)
        clean = value_at(cur, 0.0, keys=("run",)).set_index("run")["accuracy"]
        auc = auc_by_run(cur, keys=("run",), epsilons=noisy).set_index("run")["auc"]  # the book's one summary
        rows = []
        for label, u, r in plan:
            for cond, c in zip(CONDITIONS, (u, r)):
                run = runs[c]
                if run.id not in clean.index:  # a failed run (FAILED_RUN_RULE): no curve, no point
                    continue
                rows.append(dict(budget=label, own_profile=label != CPU_LABEL, run=run.id, seed=c.seed,
                                 condition=cond, alpha=c.alpha, epochs=c.epochs,
                                 train_images=run.provenance.get("train_images"), steps=run.provenance.get("steps"),
                                 clean=float(clean[run.id]), auc=float(auc[run.id])))
        points = pd.DataFrame(rows, columns=POINT_COLUMNS)
        return self.figure_data(dict(points=points, **budget_tables(points)),
                                runs_table(list(dict.fromkeys(runs.values()))))

    def what_we_see(self, data: FigureData) -> str:
        s, tr = data["summary"], data["trend"]
        if not len(s):
            return "No numbers to summarise (empty tables)."
        lines = ["Per budget, each condition's mean and S^Th minus unregularized paired by seed (95% paired t "
                 "interval, unadjusted):"]
        for _, r in s.iterrows():
            lines.append(
                f"- **{r.budget}** ({r.steps:,} steps, {r.n} seed pair{'s' if r.n != 1 else ''}): clean accuracy "
                f"{fmt(r.clean_a)} -> {fmt(r.clean_b)}, difference {_est(r, 'd_clean')}; Gaussian AUC over ε > 0 "
                f"{fmt(r.auc_a)} -> {fmt(r.auc_b)}, difference {_est(r, 'd_auc')}.")
        lines.append("")
        lines.append(trend_text(tr))
        own = s[s.own_profile]
        if len(own):
            lines.append("")
            last = own.sort_values("steps").iloc[-1]
            lines.append(final_text(last, main_runs=float(last.epochs) == float(get_profile(self.profile).train.get("epochs", math.nan))))
        return "\n".join(lines)


# ----------------------------------------------------------------------------------------------------------
# tables

def linear_trend(x: Sequence[float], y: Sequence[float], confidence: float = 0.95, min_points: int = 3) -> dict:
    """Ordinary least squares ``y = intercept + slope · x`` (statsmodels ``OLS``): the slope, its two-sided
    ``confidence`` interval (t with n − 2 df) and p-value, the intercept, n. NaN where fewer than ``min_points``
    points or fewer than 2 distinct x (no slope); the interval and p also NaN without a residual degree of
    freedom (n < 3)."""
    x, y = np.asarray(x, float), np.asarray(y, float)
    ok = np.isfinite(x) & np.isfinite(y)
    x, y = x[ok], y[ok]
    out = dict(n_points=len(y), n_x=int(len(np.unique(x))), slope=math.nan, ci_low=math.nan, ci_high=math.nan,
               p=math.nan, intercept=math.nan, se=math.nan)
    if out["n_x"] < 2 or len(y) < max(2, min_points):
        return out
    if len(y) < 3:  # two points: the line through them, no interval
        slope = (y[1] - y[0]) / (x[1] - x[0])
        out.update(slope=float(slope), intercept=float(y[0] - slope * x[0]))
        return out
    fit = OLS(y, np.column_stack([np.ones_like(x), x])).fit()
    lo, hi = fit.conf_int(1 - confidence)[1]
    out.update(slope=float(fit.params[1]), ci_low=float(lo), ci_high=float(hi), p=float(fit.pvalues[1]),
               intercept=float(fit.params[0]), se=float(fit.bse[1]))
    return out


def budget_tables(points: pd.DataFrame, confidence: float = 0.95) -> dict[str, pd.DataFrame]:
    """From ``points`` (one row per run: budget, own_profile, seed, condition in :data:`CONDITIONS`, epochs,
    steps, clean, auc):

    - ``effects``: per budget and seed with both conditions, S^Th − unregularized of each summary;
    - ``summary``: per budget, each condition's mean over the paired seeds and the paired difference
      (:func:`pixelreg.analysis.verdicts.compare_by_seed`: paired t by seed, ``confidence`` interval, p), the SD
      of the paired differences, the minimum detectable effect at this n and at n + 2 seeds
      (:func:`pixelreg.analysis.stats.mde`, 5% level, 80% power) and the seeds;
    - ``trend``: per summary, the mean over seeds of each seed's least-squares slope of its paired differences
      on log2(steps) over the profile's own budgets (:func:`seed_slopes`), per doubling of the steps.
    """
    pts = points[points.condition.isin(CONDITIONS)]
    w = pts.pivot_table(index=["budget", "own_profile", "epochs", "seed"], columns="condition",
                        values=["clean", "auc", "steps"]).reset_index()
    eff_cols = ["budget", "own_profile", "epochs", "seed", "steps", "d_clean", "d_auc"]
    if all((m, c) in w.columns for m in ("clean", "auc", "steps") for c in CONDITIONS):
        effects = pd.DataFrame({"budget": w["budget"], "own_profile": w["own_profile"], "epochs": w["epochs"],
                                "seed": w["seed"], "steps": w[("steps", "S^Th")],
                                "d_clean": w[("clean", "S^Th")] - w[("clean", "unregularized")],
                                "d_auc": w[("auc", "S^Th")] - w[("auc", "unregularized")]}).dropna()
        effects["steps"] = effects["steps"].astype(int)
        effects = effects.sort_values(["steps", "seed"], ignore_index=True)
    else:
        effects = pd.DataFrame(columns=eff_cols)
    summ = []
    for (label, own), sub in pts.groupby(["budget", "own_profile"], sort=False):
        if set(sub.condition) != set(CONDITIONS):
            continue  # every run of one condition failed: nothing to compare
        row = dict(budget=label, own_profile=bool(own), epochs=float(sub.epochs.median()),
                   steps=int(sub.steps.median()))
        for m in METRICS:
            c = compare_by_seed(sub, *CONDITIONS, value=m, confidence=confidence)
            n = c.n_a if c.paired else min(c.n_a, c.n_b)
            row.update({"n": n, "test": c.test, f"{m}_a": float(np.mean(c.a)), f"{m}_b": float(np.mean(c.b)),
                        f"d_{m}_mean": c.estimate, f"d_{m}_ci_low": c.ci_low, f"d_{m}_ci_high": c.ci_high,
                        f"d_{m}_p": c.p, f"d_{m}_sd": c.sd, f"d_{m}_mde": stats.mde(c, LEVEL, POWER),
                        f"d_{m}_mde_next": stats.mde_paired(c.sd, n + 2, LEVEL, POWER)
                        if c.paired and math.isfinite(c.sd) else math.nan})
            if c.paired:  # how many seed pairs fall on each side of 0 (a sign count beside the interval)
                d = np.asarray(c.b, float) - np.asarray(c.a, float)
                row.update({f"d_{m}_below": int((d < 0).sum()), f"d_{m}_above": int((d > 0).sum())})
        paired = sorted(set(sub.seed[sub.condition == CONDITIONS[0]]) & set(sub.seed[sub.condition == CONDITIONS[1]]))
        row["seeds"] = ",".join(str(int(x)) for x in paired)
        row["seed_max"] = int(sub.seed.max())  # a failed run's seed is not replaced: more seeds start above it
        summ.append(row)
    summary = pd.DataFrame(summ)
    if len(summary):
        summary = summary.sort_values(["own_profile", "steps"], ignore_index=True)
    own = effects[effects.own_profile.astype(bool)] if len(effects) else effects
    trend = []
    for m in METRICS:
        fit = seed_slopes(own, f"d_{m}", confidence)
        trend.append(dict(metric=f"d_{m}", n_points=len(own), n_budgets=int(own.steps.nunique()) if len(own) else 0,
                          n_seeds=fit["n_seeds"], epochs_min=float(own.epochs.min()) if len(own) else math.nan,
                          epochs_max=float(own.epochs.max()) if len(own) else math.nan,
                          slope_per_doubling=fit["slope"], ci_low=fit["ci_low"], ci_high=fit["ci_high"], p=fit["p"],
                          slope_sd=fit["sd"], intercept=fit["intercept"], confidence=confidence))
    return dict(effects=effects, summary=summary, trend=pd.DataFrame(trend))


def seed_slopes(effects: pd.DataFrame, column: str, confidence: float = 0.95) -> dict:
    """The trend of ``column`` on log2(steps), seed by seed: each seed's least-squares slope over the budgets it
    has (at least 2; :func:`linear_trend`), then their mean with a one-sample t interval and p over the seeds
    (n_seeds − 1 df). A seed's runs share initial weights and data order across budgets, so its points are not
    independent of each other; its slope is one value. ``intercept``: the mean of the seeds' intercepts (the
    plotted line). NaN interval and p with fewer than 2 seeds or no spread."""
    out = dict(n_seeds=0, slope=math.nan, ci_low=math.nan, ci_high=math.nan, p=math.nan, sd=math.nan,
               intercept=math.nan)
    slopes, intercepts = [], []
    for _, g in (effects.groupby("seed") if len(effects) else ()):
        fit = linear_trend(np.log2(g["steps"].to_numpy(float)), g[column].to_numpy(float), confidence, min_points=2)
        if math.isfinite(fit["slope"]):
            slopes.append(fit["slope"])
            intercepts.append(fit["intercept"])
    if not slopes:
        return out
    v = np.asarray(slopes)
    out.update(n_seeds=len(v), slope=float(v.mean()), intercept=float(np.mean(intercepts)))
    sd = float(v.std(ddof=1)) if len(v) >= 2 else math.nan
    if len(v) >= 2 and sd > 1e-12:  # (equal slopes leave rounding noise, not a spread)
        half = st.t.ppf(0.5 + confidence / 2, len(v) - 1) * sd / math.sqrt(len(v))
        out.update(sd=sd, ci_low=out["slope"] - half, ci_high=out["slope"] + half,
                   p=float(st.ttest_1samp(v, 0.0).pvalue))
    return out


# ----------------------------------------------------------------------------------------------------------
# sentences

def _est(r, col: str) -> str:
    m, lo, hi = r[f"{col}_mean"], r[f"{col}_ci_low"], r[f"{col}_ci_high"]
    if not math.isfinite(lo):
        return f"{m:+.3f} (no interval: fewer than 2 seed pairs or no spread)"
    return f"{m:+.3f} [{lo:+.3f}, {hi:+.3f}] ({r.test}, {pstate(r[f'{col}_p'])})"


def _sign(lo: float, hi: float) -> int | None:
    """+1 / −1 when the interval excludes 0 on that side, 0 when it holds 0, None without an interval."""
    if not (math.isfinite(lo) and math.isfinite(hi)):
        return None
    return 1 if lo > 0 else -1 if hi < 0 else 0


def summary_table(summary: pd.DataFrame) -> pd.DataFrame:
    """The page's table of its ``summary`` (:func:`budget_tables`): a row per budget with each condition's mean
    clean accuracy and Gaussian AUC over ε > 0, and S^Th minus unregularized with its 95% interval and p, in
    words a reader can use (the CSV download keeps every column)."""
    def interval(r, col):
        lo, hi = getattr(r, f"{col}_ci_low"), getattr(r, f"{col}_ci_high")
        return f"[{lo:+.3f}, {hi:+.3f}]" if math.isfinite(lo) and math.isfinite(hi) else "n/a"

    a, b = CONDITIONS
    return pd.DataFrame([{
        "budget": r.budget, "SGD steps": int(r.steps), "seed pairs": int(r.n),
        f"clean, {a}": r.clean_a, f"clean, {b}": r.clean_b, "clean difference": r.d_clean_mean,
        "clean 95% CI": interval(r, "d_clean"), "clean p": pfmt(r.d_clean_p),
        f"AUC, {a}": r.auc_a, f"AUC, {b}": r.auc_b, "AUC gain": r.d_auc_mean,
        "AUC 95% CI": interval(r, "d_auc"), "AUC p": pfmt(r.d_auc_p)} for r in summary.itertuples()])


def trend_text(trend: pd.DataFrame) -> str:
    """The trend paragraph: per summary, the slope per doubling of the steps and what its interval decides."""
    rows = {r.metric: r for r in trend.itertuples()} if len(trend) else {}
    ok = [r for r in rows.values() if math.isfinite(r.slope_per_doubling)]
    if not ok:
        return ("**Trend:** fewer than two budgets (or fewer than 3 seed pairs) at this profile: no trend can be "
                "estimated.")
    r0 = ok[0]
    n = int(r0.n_seeds)
    out = [f"**Trend over {r0.epochs_min:g}-{r0.epochs_max:g} epochs** (each seed's least-squares slope of its "
           f"paired differences on log2 of the steps, averaged over {n} seed{'s' if n != 1 else ''}; "
           f"{r0.n_points} seed pairs at {r0.n_budgets} budgets; {r0.confidence:.0%} t interval over the seeds' "
           f"slopes, {n - 1} df):"]
    names = {"d_clean": "The clean-accuracy difference", "d_auc": "The Gaussian-AUC gain"}
    for key in ("d_clean", "d_auc"):
        r = rows.get(key)
        if r is None or not math.isfinite(r.slope_per_doubling):
            continue
        sign = _sign(r.ci_low, r.ci_high)
        says = {1: "**it rises with training**", -1: "**it falls with training**",
                0: "the interval includes 0, so these runs cannot say whether it rises or falls",
                None: "no interval (fewer than 2 seeds, or no spread between them)"}[sign]
        ci = f" [{r.ci_low:+.4f}, {r.ci_high:+.4f}] ({pstate(r.p)})" if sign is not None else ""
        out.append(f"{names[key]} changes by {r.slope_per_doubling:+.4f} per doubling of the steps{ci}: {says}.")
    out.append("A seed's runs share their initial weights and data order across budgets, so each seed gives one "
               "slope, not one point per budget; the line says nothing beyond the largest budget.")
    return " ".join(out)


def sd_interval_factors(n: int, confidence: float = 0.95) -> tuple[float, float]:
    """The ``confidence`` interval of a normal SD estimated from n values, as factors of the estimate:
    sqrt(df / χ²_{df, (1+c)/2}) and sqrt(df / χ²_{df, (1−c)/2}), df = n − 1 (``scipy.stats.chi2``)."""
    if n < 2:
        return math.nan, math.nan
    df = n - 1
    return (math.sqrt(df / st.chi2.ppf(0.5 + confidence / 2, df)), math.sqrt(df / st.chi2.ppf(0.5 - confidence / 2, df)))


def final_text(r, main_runs: bool = False) -> str:
    """The largest budget's statement (``r``: its row of ``summary``): the paired clean difference and AUC gain
    with their 95% paired-t intervals (unadjusted), what the intervals decide, and what its seeds can and cannot
    decide (the minimum detectable effect at the seeds' SD). An interval of the clean difference that includes 0
    makes the sign undecided, and the next step is two more seeds at this budget. ``main_runs``: the budget's
    runs are the main comparison's (its training length), whose confirmatory verdicts are the claims page's."""
    n, e = int(r.n), f"{r.epochs:g} epoch{'s' if r.epochs != 1 else ''}"
    nxt = f"{int(r.seed_max) + 1}-{int(r.seed_max) + 2}"
    out = [f"**At {e}** ({r.steps:,} steps, the largest budget; {n} seed pair{'s' if n != 1 else ''}), S^Th minus "
           f"unregularized, paired by seed: clean accuracy {_est(r, 'd_clean')}, Gaussian AUC over ε > 0 "
           f"{_est(r, 'd_auc')}."]
    clean = _sign(r.d_clean_ci_low, r.d_clean_ci_high)
    if clean == -1:
        out.append(f"The clean interval lies below 0: **S^Th costs clean accuracy at {e}**, between "
                   f"{-100 * r.d_clean_ci_high:.1f} and {-100 * r.d_clean_ci_low:.1f} points.")
    elif clean == 1:
        out.append(f"The clean interval lies above 0: **S^Th gains clean accuracy at {e}**, between "
                   f"{100 * r.d_clean_ci_low:.1f} and {100 * r.d_clean_ci_high:.1f} points.")
    else:
        below = getattr(r, "d_clean_below", math.nan)
        count = (f", although S^Th's clean accuracy is lower in {int(below)} of the {n} seed pairs"
                 if isinstance(below, (int, float, np.integer)) and math.isfinite(below) and below > 0 else "")
        out.append(f"The clean interval {'includes 0' if clean == 0 else 'is undefined'}: **the sign of the clean "
                   f"difference is undecided at {n} seed{'s' if n != 1 else ''}** (which is not evidence of no "
                   f"cost{count})" + ("." if main_runs else f"; the next step is seeds {nxt} at {e}."))
    auc = _sign(r.d_auc_ci_low, r.d_auc_ci_high)
    out.append({1: f"The AUC interval (95%, paired t, unadjusted, exploratory) lies above 0: **at {e} S^Th's "
                   f"Gaussian-noise gain is shown above zero** at {n} seeds, by one of this page's unadjusted tests.",
                -1: f"The AUC interval lies below 0: **S^Th is less robust to Gaussian noise at {e}**.",
                0: f"The AUC interval includes 0: the sign of the Gaussian-AUC gain is undecided at {n} seeds.",
                None: "The AUC gain has no interval."}[auc])
    if main_runs:
        out.append(f"These {e} runs are the main comparison's (Fig. 2's), reused here on {n} of its seeds: its "
                   "confirmatory verdicts, over all its seeds with Bonferroni intervals, are the claims page's gain-task "
                   "and clean-task rows. Where the two disagree those verdicts stand: the intervals here are unadjusted "
                   f"and use {n} seeds.")
    if math.isfinite(r.d_clean_mde) and math.isfinite(r.d_auc_mde):
        lo, hi = sd_interval_factors(n)
        out.append(
            f"**What {n} seeds can decide:** at the seeds' SD of the paired differences (clean "
            f"{r.d_clean_sd:.4f}, AUC {r.d_auc_sd:.4f}), a paired t-test at the {LEVEL:.0%} level with {n - 1} df "
            f"detects a true difference with {POWER:.0%} power only if it is at least ±{r.d_clean_mde:.4f} in clean "
            f"accuracy ({100 * r.d_clean_mde:.1f} points) and ±{r.d_auc_mde:.4f} in AUC (the minimum detectable "
            f"effects); a smaller true difference, a cost or a gain, is detected with less than {POWER:.0%} power at {n} "
            f"seeds. The SD itself "
            f"is estimated from {n} differences (its 95% interval runs from {lo:.2f} to {hi:.2f} times the "
            f"estimate), so these figures are rough. With {n + 2} seed pairs at the same SD they would be "
            f"±{r.d_clean_mde_next:.4f} (clean) and ±{r.d_auc_mde_next:.4f} (AUC).")
    else:
        out.append(f"**What {n} seed{'s' if n != 1 else ''} can decide:** nothing yet: a paired test needs at "
                   "least 2 seed pairs with some spread.")
    return " ".join(out)


# ----------------------------------------------------------------------------------------------------------
# the figure

COLORS = {"unregularized": "0.35", "S^Th": "C3"}
LABELS = {"unregularized": "unregularized", "S^Th": r"$S^{Th}$"}


def step_ticks(ax, ticks: dict[float, str], fontsize: float = 9) -> None:
    """A log x axis with one labelled tick per budget (``ticks``: steps -> label) and no minor ticks."""
    from matplotlib.ticker import FixedFormatter, FixedLocator, NullLocator

    xs = sorted(ticks)
    ax.set_xscale("log")
    ax.xaxis.set_major_locator(FixedLocator(xs))
    ax.xaxis.set_major_formatter(FixedFormatter([ticks[x] for x in xs]))
    ax.xaxis.set_minor_locator(NullLocator())
    ax.tick_params(axis="x", labelsize=fontsize)
    ax.set_xlim(xs[0] / 1.2, xs[-1] * 1.2)


def overlapping_tick_labels(ax, gap_pt: float = 3.0) -> list[tuple[str, str]]:
    """Pairs of neighbouring visible, non-empty x tick labels of ``ax`` whose drawn boxes overlap or lie closer
    than ``gap_pt`` points (lays the figure out without rendering it)."""
    fig = ax.figure
    fig.draw_without_rendering()
    r = fig.canvas.get_renderer()
    boxes = sorted(((t.get_window_extent(r), t.get_text()) for t in ax.get_xticklabels()
                    if t.get_visible() and t.get_text()), key=lambda b: b[0].x0)
    gap = gap_pt * fig.dpi / 72
    return [(a[1], b[1]) for a, b in zip(boxes, boxes[1:]) if a[0].x1 + gap > b[0].x0]


def _thin(ax, ticks: dict[float, str]) -> None:
    """Blank the left label of the first overlapping pair (the right one where the left is the largest
    budget's, which is always kept) until no labels overlap."""
    from matplotlib.ticker import FixedFormatter

    labels = dict(ticks)
    largest = ticks[max(ticks)]
    while pairs := overlapping_tick_labels(ax):
        a, b = pairs[0]
        drop = b if a == largest else a
        labels = {x: ("" if t == drop else t) for x, t in labels.items()}
        ax.xaxis.set_major_formatter(FixedFormatter([labels[x] for x in sorted(labels)]))


def plot(data: FigureData, width: float = 9.5):
    """The page's figure: top row, each condition's clean accuracy and Gaussian AUC over ε > 0 per budget (seeds
    faint, seed means as lines); bottom row, S^Th − unregularized paired by seed (pairs faint, mean with its 95%
    paired interval, the least-squares trend). Log steps on x, each budget's tick labelled with its epochs and
    steps. The profile's own budgets only (the cpu point is another configuration). Returns the figure."""
    import matplotlib.pyplot as plt

    pts = data["points"]
    pts = pts[pts.own_profile.astype(bool)] if len(pts) else pts
    eff, summ, trend = data["effects"], data["summary"], data["trend"]
    eff = eff[eff.own_profile.astype(bool)] if len(eff) else eff
    summ = summ[summ.own_profile.astype(bool)] if len(summ) else summ
    fig, axes = plt.subplots(2, 2, figsize=(width, 7.2), sharex=True)
    if not len(pts):
        fig.text(0.5, 0.5, "no runs to plot", ha="center")
        return fig
    steps = pts.groupby("steps")["epochs"].first()
    ticks = {float(s): f"{e:g} ep\n{int(s):,}" for s, e in steps.items()}
    shift = {"unregularized": 0.96, "S^Th": 1.04}  # a small dodge so the two conditions' seeds do not cover each other
    for col, m in enumerate(METRICS):
        ax = axes[0, col]
        for cond in CONDITIONS:
            g = pts[pts.condition == cond]
            ax.scatter(g.steps * shift[cond], g[m], color=COLORS[cond], alpha=0.3, s=16, lw=0)
            mean = g.groupby("steps")[m].mean()
            ax.plot(mean.index, mean.to_numpy(), "-o", color=COLORS[cond], ms=4,
                    label=f"{LABELS[cond]}: mean of seeds (faint: each seed)")
        ax.set_ylabel(METRICS[m] if m == "clean" else "Gaussian AUC over ε > 0\n(mean accuracy over noisy ε)")
        ax = axes[1, col]
        d = f"d_{m}"
        ax.axhline(0, color="grey", lw=1)
        ax.scatter(eff.steps, eff[d], color="k", alpha=0.25, s=16, lw=0, label="each seed pair")
        if len(summ):
            yerr = np.array([summ[f"{d}_mean"] - summ[f"{d}_ci_low"], summ[f"{d}_ci_high"] - summ[f"{d}_mean"]])
            ax.errorbar(summ.steps, summ[f"{d}_mean"], yerr=np.nan_to_num(yerr), fmt="o", color="k", capsize=3,
                        ms=4, label="mean, 95% CI (paired t)")
        t = trend[trend.metric == d]
        if len(t) and math.isfinite(t.iloc[0].slope_per_doubling):
            t = t.iloc[0]
            xs = np.geomspace(min(ticks), max(ticks), 50)
            ci = f"\n[{t.ci_low:+.4f}, {t.ci_high:+.4f}]" if math.isfinite(t.ci_low) else "\n(no interval)"
            ax.plot(xs, t.intercept + t.slope_per_doubling * np.log2(xs), "--", color="C0",
                    label=f"mean of the seeds' slopes: {t.slope_per_doubling:+.4f} per doubling{ci}")
        ax.set_ylabel(r"$S^{Th}$ − unregularized:" + "\n" + ("clean accuracy" if m == "clean" else "AUC over ε > 0"))
        ax.set_xlabel("training steps (log scale); tick: epochs and steps")
        ax.legend(fontsize=7.5, loc="best")
    axes[0, 0].legend(fontsize=7.5, loc="best")
    for ax in axes.flat:
        step_ticks(ax, ticks)
    interim = (" - interim: the budgets published so far" if getattr(getattr(data, "page", None), "interim", None)
               is not None else "")
    fig.suptitle(f"Unregularized and $S^{{Th}}$ per training budget ({data.params.get('profile')} profile, "
                 f"{pts.seed.nunique()} seeds){interim}", fontsize=11)
    fig.tight_layout()
    for ax in axes[1]:
        _thin(ax, ticks)
    return fig


PAGE = Budget
