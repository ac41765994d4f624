"""All combinations: S^Th against the unregularized model on every classification <- regularization pair of the
paper's table of (alpha, Th), under random noise and FGSM transferred from an unregularized model."""
from __future__ import annotations

import math
from dataclasses import dataclass
from pathlib import Path
from typing import ClassVar

import pandas as pd

from pixelreg.analysis import stats
from pixelreg.experiment.config import DEFAULT_TASK, PRESETS, TrainConfig
from pixelreg.experiment.config import condition_label
from pixelreg.robustness.attacks import ATTACKS as REGISTRY
from pixelreg.robustness.evaluate import robust_accuracy
from pixelreg.analysis.verdicts import auc_by_run, compare_by_seed
from pixelreg.figures.common import (NOISE_ATTACKS, PLAN_NAMES, FigureData, TrainedFigure, ensure_runs, fmt, parse_panels,
                     resolve_panels, runs_table, split_panel)
from pixelreg.figures.fig2 import Fig2, default_pools
from pixelreg.figures.fig3 import Fig3, check_source_seed, source_configs

__all__ = ["Combos", "PLANS", "ATTACKS", "ATTACK_LABELS"]

# The page's plan: the dataset pairs "task<-pool" and what each stands for. The paper's plan is every pair of the
# paper's table of (alpha, Th) (pixelreg.experiment.config.PRESETS without the natural photographs, which are our stand-in);
# the analogue plan is Figs. 2 and 3's two Fashion-MNIST pairs, so that its runs and evaluations are theirs.
PLANS: dict[str, dict[str, str]] = {
    "paper": {f"{p['task']}<-{p['reg_data']}": "rows of the paper's table of (α, Th)" for p in PRESETS.values()
              if p["reg_data"] != "natural"},
    "analogue": {f"{DEFAULT_TASK}<-{DEFAULT_TASK}": "the table's pairs of a dataset with itself (e.g. MNIST <- MNIST, "
                                                    "CIFAR-10 <- CIFAR-10)",
                 f"{DEFAULT_TASK}<-natural": "the table's ImageNet pairs (CIFAR-10/100 <- ImageNet)"},
}
# "fgsm" is FGSM transferred from the task's unregularized source run (Fig. 3's black-box attack)
ATTACKS = (*NOISE_ATTACKS, "fgsm")
ATTACK_LABELS = {**{a: REGISTRY[a].label for a in NOISE_ATTACKS}, "fgsm": "transferred FGSM"}
CONDITIONS = ("unregularized", "S^Th")


@dataclass(frozen=True, kw_only=True)
class Combos(TrainedFigure):
    """S^Th against the unregularized model on each dataset pair, under each attack: per (pair, attack), the
    difference of the AUC over ε > 0 (the mean of the piecewise-linear accuracy curve over the noisy ε), paired by seed, with its 95% interval.

    The runs are Fig. 2's unregularized and S^Th runs (same configs: the profile's scale, the page's or the
    profile's alpha, else the paper's table); FGSM is transferred from the unregularized run of each task with
    seed ``source_seed``, as in Fig. 3, and the evaluations are theirs (same test images, grids and precision),
    so at the analogue plan this page trains and evaluates nothing that Figs. 2 and 3 do not.

    Tables: ``curves`` (per run, pair, attack and ε), ``summary`` (mean and SEM over seeds), ``auc`` (per run,
    pair and attack: the AUC over ε > 0), ``gains`` (per pair and attack: S^Th − unregularized AUC paired by seed,
    its 95% interval and the paired t-test's p, not corrected for the number of families).
    """

    name: ClassVar[str] = "combos"
    allowed_attacks: ClassVar[tuple[str, ...]] = ATTACKS

    plan: str | None = None  # "paper" or "analogue" (PLANS); None: the profile's (paper at the paper profile)
    panels: tuple[str, ...] | None = None  # "task<-pool" pairs, one row of the table each; None: from task and
    # reg_data if given, else the plan's
    task: str | None = None  # classification dataset; None: the plan's pairs (paper: all four tasks)
    reg_data: tuple[str, ...] | None = None  # regularization pools of ``task``; None: the plan's
    alpha: float | None = None  # None: the profile's alpha (smoke/cpu: 1), else the paper's table
    th: float | None = None  # None: the paper's Th for each dataset pair
    seeds: tuple[int, ...] | None = None  # None: the profile's seeds
    source_seed: int = Fig3.source_seed  # seed of the unregularized transfer source; never an evaluated seed
    attacks: tuple[str, ...] = ATTACKS  # noise attacks and "fgsm" (transferred)
    n_images: int | None = None  # test images per curve; None: the profile's

    def profile_defaults(self, prof):
        return dict(**resolve_panels(tuple(PLANS[self.plan]), lambda t: default_pools(self.plan, t, PLANS),
                                     self.task, self.reg_data, self.panels),
                    seeds=prof.seeds, n_images=prof.eval_images)

    def check(self) -> None:
        self._set("panels", parse_panels("panels", self.panels))
        check_source_seed(self.source_seed, self.seeds)

    def pairs(self) -> list[tuple[str, str]]:
        """(task, pool) of each row, in order."""
        return [split_panel(p) for p in self.panels]

    def tasks(self) -> list[str]:
        return list(dict.fromkeys(t for t, _ in self.pairs()))

    @property
    def transfer(self) -> bool:
        """Whether the page evaluates transferred FGSM (and so needs the transfer sources)."""
        return "fgsm" in self.attacks

    def evaluated_configs(self) -> list[TrainConfig]:
        """Fig. 2's unregularized and S^Th runs of these pairs (per seed and task: the unregularized run, then
        S^Th for each pool of that task); built by Fig. 2's page, so the two pages cannot drift apart."""
        fig2 = Fig2(profile=self.profile, plan=self.plan, panels=self.panels, alpha=self.alpha, th=self.th,
                    seeds=self.seeds, n_images=self.n_images)
        return [c for c in fig2.configs() if condition_label(c) in CONDITIONS]

    def configs(self) -> list[TrainConfig]:
        """The evaluated runs, then the transfer source of each task (when FGSM is among the attacks)."""
        return self.evaluated_configs() + (source_configs(self, self.tasks()) if self.transfer else [])

    def plan_text(self) -> str:
        known = PLANS[self.plan]
        groups: dict[str, list[str]] = {}
        for p in self.panels:
            groups.setdefault(known.get(p, "not in the paper's table"), []).append(p.replace("<-", " <- "))
        parts = [f"{', '.join(ps)} {'stands' if len(ps) == 1 else 'stand'} for {what}" for what, ps in groups.items()]
        return (f"**Plan:** {PLAN_NAMES[self.plan]}. Pairs: " + "; ".join(parts) + ". FGSM is transferred from the "
                f"unregularized run with seed {self.source_seed} of each task, as in Fig. 3; the boundary attack is "
                "on Fig. 4's page.")

    def data(self, runs_dir: str | Path | None = None, progress: bool = True) -> FigureData:
        """Tables: ``curves``, ``summary``, ``auc`` and ``gains`` (see the class)."""
        evaluated = self.evaluated_configs()
        configs = self.configs()
        runs = ensure_runs(configs, runs_dir, progress)
        by_cfg = dict(zip(configs, runs))
        sources = {c.task: by_cfg[c] for c in configs[len(evaluated):]}
        noise = [a for a in self.attacks if a in NOISE_ATTACKS]
        parts = []
        for p, (t, r) in zip(self.panels, self.pairs()):
            sel = list(dict.fromkeys(by_cfg[c] for c in evaluated
                                     if c.task == t and ((not c.regularized) or c.pool_source == r)))
            cur = [self.curves(sel, noise, self.n_images)] if noise else []
            if self.transfer:
                cur.append(robust_accuracy(self.usable(sel), "fgsm", n_images=self.n_images, source=sources[t], precision=self.precision))
            cur = pd.concat(cur, ignore_index=True)
            cur.insert(0, "pair", p)
            cur.insert(1, "panel", self.panel(r, t))
            cur.insert(2, "reg_data", r)
            parts.append(cur)
        curves = pd.concat(parts, ignore_index=True)
        summary = stats.mean_sem(curves, by=("pair", "attack", "condition", "epsilon"))
        auc = noisy_aucs(curves)
        runs_shown = list(dict.fromkeys(by_cfg[c] for c in evaluated)) + list(sources.values())
        return self.figure_data(dict(curves=curves, summary=summary, auc=auc, gains=self.gains(auc)),
                                runs_table(runs_shown), source_run=",".join(s.id for s in sources.values()))

    def gains(self, auc: pd.DataFrame) -> pd.DataFrame:
        """Per (pair, attack): S^Th − unregularized AUC over ε > 0, paired by seed (Welch's t where the two
        conditions' seeds differ), its 95% interval and p (not corrected for the number of families)."""
        rows = []
        for p, (t, r) in zip(self.panels, self.pairs()):
            a, th = self.reg_params(r, t)
            for attack in self.attacks:
                g = auc[(auc["pair"] == p) & (auc["attack"] == attack)]
                means = g.groupby("condition")["auc"].mean()
                row = dict(pair=p, panel=self.panel(r, t), task=t, reg_data=r, alpha=a, th=th, attack=attack,
                           attack_label=ATTACK_LABELS[attack], unregularized=means.get("unregularized", math.nan),
                           sth=means.get("S^Th", math.nan))
                if set(CONDITIONS) <= set(g["condition"]):
                    c = compare_by_seed(g, *CONDITIONS)
                    row.update(diff=c.estimate, ci_low=c.ci_low, ci_high=c.ci_high, p=c.p, test=c.test,
                               n_seeds=min(c.n_a, c.n_b))
                rows.append(row)
        cols = ["pair", "panel", "task", "reg_data", "alpha", "th", "attack", "attack_label", "n_seeds",
                "unregularized", "sth", "diff", "ci_low", "ci_high", "p", "test"]
        return pd.DataFrame(rows).reindex(columns=cols).rename(columns={"sth": "S^Th"})

    def what_we_see(self, data: FigureData) -> str:
        g = data["gains"]
        if g.empty or g["diff"].isna().all():
            return "No comparison available (empty tables)."
        above, below = int((g["ci_low"] > 0).sum()), int((g["ci_high"] < 0).sum())
        undefined = int(g["ci_low"].isna().sum())
        lo, hi = int(g["n_seeds"].min()), int(g["n_seeds"].max())
        lines = [f"S^Th − unregularized AUC over ε > 0 (the mean of the piecewise-linear accuracy curve over the noisy ε), paired by seed, with "
                 f"its 95% interval, in {len(g)} (pair, attack) families of {lo if lo == hi else f'{lo} to {hi}'} "
                 f"seeds: the interval lies above zero in {above}, below zero in {below} "
                 f"and holds zero in {len(g) - above - below - undefined}"
                 + (f"; {undefined} have too few seeds for an interval" if undefined else "") + ". These intervals "
                 "are per family, not corrected for the number of families; the claims page judges the claim by the "
                 "intersection-union test (every family must show the gain, each at the family's Bonferroni level) "
                 "and shows its weakest family."]
        for panel, gp in g.groupby("panel", sort=False):
            lines.append(f"- **{panel}**: " + "; ".join(
                f"{r.attack_label} {r.diff:+.3f} [{fmt(r.ci_low)}, {fmt(r.ci_high)}]" if math.isfinite(r.diff)
                else f"{r.attack_label}: no comparison" for r in gp.itertuples()) + ".")
        return "\n".join(lines)


def noisy_aucs(curves: pd.DataFrame) -> pd.DataFrame:
    """Per run, pair and attack, the AUC over ε > 0 of that pair's and attack's grid
    (:func:`pixelreg.analysis.verdicts.auc_by_run`)."""
    out = []
    for _, g in curves.groupby(["pair", "attack"], sort=False):
        eps = sorted(float(e) for e in g["epsilon"].unique() if e > 0)
        out.append(auc_by_run(g, keys=("run", "seed", "condition", "attack", "pair"), epsilons=eps))
    return pd.concat(out, ignore_index=True)


PAGE = Combos


# ---- claim rows read from this page's tables (gathered by pixelreg.figures.claims) -------------------------
from pixelreg.analysis.verdicts import Rule, compare_by_seed  # noqa: E402
from pixelreg.figures.claimrows import SESOI_AUC, SESOI_AUC_WHY, Claim, families  # noqa: E402


def _across(d, ctx):
    """Per (dataset pair, attack) family of the combinations page, S^Th − unregularized AUC over ε > 0."""
    fams = families(d["combos"]["curves"], order=lambda k: (k[-1] == "fgsm", *k))
    return {f"{t} <- {r}, {ATTACK_LABELS.get(a, a)}": compare_by_seed(v, "unregularized", "S^Th")
            for (t, r, a), v in fams.items()}


CLAIMS = (
    Claim("across", "Robustness gains hold across regularization sets and black-box attacks",
          "Results, conclusion", ("combos",), "S^Th vs unregularized in every (dataset pair, attack) family of the "
          "combinations page: {pairs}, each under Gaussian, uniform and salt-and-pepper noise and transferred "
          "FGSM; the boundary attack has its own row",
          "per family, the AUC over ε > 0 per run; S^Th − unregularized; intersection-union: every family must "
          "pass, not their mean", Rule(sesoi=SESOI_AUC, unit="AUC", why=SESOI_AUC_WHY), _across, "AUC",
          across=True),
)
