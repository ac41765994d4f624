"""Does the effect grow with training? The Gaussian-noise robustness gain (AUC) and the clean-accuracy cost of
S^Th over the unregularized model against the number of training steps, from separate runs of several budgets.

Each budget is a complete compressed learning-rate cycle (5 phases of ``epochs / 5``) at the page's profile, so
a run of 1 epoch is not the first epoch of a longer run. At the ``full`` profile the budgets are 1, 2 and 3
epochs of all 59,400 training images, and the ``cpu`` profile's runs (158 steps on 5,000 images, with its own
alpha) are added as a separate, differently configured point. This page reads runs of several budgets by design.
"""
from __future__ import annotations

import math
from dataclasses import dataclass
from pathlib import Path
from typing import ClassVar

import numpy as np
import pandas as pd
from scipy import stats as st

from pixelreg.analysis import stats
from pixelreg.experiment.config import TrainConfig, make_config
from pixelreg.experiment.config import profile as get_profile
from pixelreg.errors import ConfigError
from pixelreg.figures.common import FigureData, OnePoolFigure, imagenet_dir, as_tuple, ensure_runs, fmt, pfmt, runs_table

__all__ = ["Budget"]

#: the page's budgets (epochs, each one full 5-phase cycle) per profile; the largest is the profile's own
DEFAULT_EPOCHS = {"smoke": (0.5, 1.0), "cpu": (1.0, 2.0), "full": (1.0, 2.0, 3.0), "paper": (10.0, 20.0, 40.0)}


@dataclass(frozen=True, kw_only=True)
class Budget(OnePoolFigure):
    """Gain (Gaussian AUC) and clean cost of S^Th over unregularized, per training budget, paired by seed."""

    name: ClassVar[str] = "budget"
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
    n_images: int | None = None  # test images per curve; None: the profile's
    with_cpu: bool | None = None  # add the cpu profile's runs as a point; None: only at the full profile

    def profile_defaults(self, prof):
        return dict(**self.pair_defaults(), epochs=DEFAULT_EPOCHS.get(prof.name, (1.0, 2.0)), seeds=prof.seeds[:3],
                    n_images=prof.eval_images, with_cpu=prof.name == "full")

    def check(self) -> None:
        eps = as_tuple("epochs", self.epochs, float)
        if not eps or any(not math.isfinite(e) or e <= 0 for e in eps):
            raise ConfigError("epochs", self.epochs, "one or more numbers of epochs > 0")
        self._set("epochs", tuple(sorted(set(eps))))
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
            for seed in self.seeds:
                u, r = self._pair(self.profile, seed, epochs=e, phase_duration=e / 5)
                out.append((f"{self.profile}, {e:g} epoch{'s' if e != 1 else ''}", u, r))
        if self.with_cpu:
            for seed in self.seeds:
                u, r = self._pair("cpu", seed)
                out.append(("cpu profile (5,000 images, its alpha)", u, r))
        return out

    def configs(self) -> list[TrainConfig]:
        return [c for _, u, r in self.budget_plan() for c in (u, r)]

    def data(self, runs_dir: str | Path | None = None, progress: bool = True) -> FigureData:
        """Tables: ``points`` (per run: budget, steps, clean accuracy, Gaussian AUC), ``effects`` (per budget and
        seed: S^Th - unregularized), ``summary`` (per budget: paired t-test of each difference, 95% CI),
        ``trend`` (least-squares slope of the AUC gain on log10(steps) over this profile's budgets, with its
        95% CI)."""
        plan = self.budget_plan()
        configs = [c for _, u, r in plan for c in (u, r)]
        runs = dict(zip(configs, ensure_runs(configs, runs_dir, progress)))
        cur = self.curves(list(dict.fromkeys(runs.values())), ["gaussian"], self.n_images)
        per_run = {}
        for rid, g in cur.groupby("run"):
            g = g.sort_values("epsilon")
            per_run[rid] = (float(g["accuracy"].iloc[0]), stats.auc(g["epsilon"], g["accuracy"]))
        rows = []
        for label, u, r in plan:
            for cond, c in (("unregularized", u), ("S^Th", r)):
                run = runs[c]
                if run.id not in per_run:  # a failed run (FAILED_RUN_RULE): no curve, no point
                    continue
                clean, auc = per_run[run.id]
                rows.append(dict(budget=label, own_profile=not label.startswith("cpu profile"), run=run.id,
                                 seed=c.seed, condition=cond, alpha=c.alpha, epochs=c.epochs,
                                 train_images=run.provenance.get("train_images"), steps=run.provenance.get("steps"),
                                 clean=clean, auc=auc))
        points = pd.DataFrame(rows)
        w = points.pivot_table(index=["budget", "own_profile", "seed"], columns="condition",
                               values=["clean", "auc", "steps"]).reset_index()
        effects = pd.DataFrame({"budget": w["budget"], "own_profile": w["own_profile"], "seed": w["seed"],
                                "steps": w[("steps", "S^Th")].astype(int),
                                "d_auc": w[("auc", "S^Th")] - w[("auc", "unregularized")],
                                "d_clean": w[("clean", "S^Th")] - w[("clean", "unregularized")]})
        summ = []
        for (label, own), g in effects.groupby(["budget", "own_profile"], sort=False):
            sub = points[points.budget == label]
            row = dict(budget=label, own_profile=own, steps=int(g["steps"].median()), n=len(g))
            for col, metric in (("d_auc", "auc"), ("d_clean", "clean")):
                a = sub[sub.condition == "unregularized"].sort_values("seed")[metric].to_numpy()
                b = sub[sub.condition == "S^Th"].sort_values("seed")[metric].to_numpy()
                c = stats.paired_test(a, b)
                row.update({f"{col}_mean": c.estimate, f"{col}_ci_low": c.ci_low, f"{col}_ci_high": c.ci_high,
                            f"{col}_p": c.p})
            summ.append(row)
        summary = pd.DataFrame(summ).sort_values("steps", ignore_index=True)
        own = effects[effects.own_profile]
        trend = pd.DataFrame([_trend(own, "d_auc"), _trend(own, "d_clean")])
        return self.figure_data(dict(points=points, effects=effects, summary=summary, trend=trend),
                                runs_table(list(dict.fromkeys(runs.values()))))

    def what_we_see(self, data: FigureData) -> str:
        s, tr = data["summary"], data["trend"]
        lines = []
        for _, r in s.iterrows():
            lines.append(f"- **{r.budget}** ({r.steps:,} steps, {r.n} seeds): AUC gain of S^Th "
                         f"{r.d_auc_mean:+.3f} [{fmt(r.d_auc_ci_low)}, {fmt(r.d_auc_ci_high)}] "
                         f"(paired t p = {pfmt(r.d_auc_p)}), clean accuracy {r.d_clean_mean:+.3f} "
                         f"[{fmt(r.d_clean_ci_low)}, {fmt(r.d_clean_ci_high)}] (p = {pfmt(r.d_clean_p)}).")
        t = tr[tr.metric == "d_auc"].iloc[0] if len(tr) else None
        if t is not None and t.n_budgets >= 2 and math.isfinite(t.slope):
            grows = t.ci_low > 0
            shrinks = t.ci_high < 0
            lines.append(f"\nAcross this profile's budgets, the AUC gain changes by {t.slope:+.3f} per tenfold "
                         f"more steps (95% CI [{fmt(t.ci_low)}, {fmt(t.ci_high)}], {t.n_points} run pairs): "
                         + ("**it grows with training**." if grows else "**it shrinks with training**."
                            if shrinks else "the interval includes 0, so these runs cannot say whether it grows "
                            "or shrinks."))
        else:
            lines.append("\nFewer than two budgets at this profile: no trend can be estimated.")
        return "\n".join(lines)


def _trend(effects: pd.DataFrame, col: str) -> dict:
    x = np.log10(effects["steps"].to_numpy(float))
    y = effects[col].to_numpy(float)
    out = dict(metric=col, n_points=len(y), n_budgets=int(len(set(x))), slope=math.nan, ci_low=math.nan,
               ci_high=math.nan, p=math.nan)
    if len(set(x)) >= 2 and len(y) >= 3:
        fit = st.linregress(x, y)
        half = st.t.ppf(0.975, len(y) - 2) * fit.stderr
        out.update(slope=fit.slope, ci_low=fit.slope - half, ci_high=fit.slope + half, p=fit.pvalue)
    return out


PAGE = Budget
