"""Fig. 2: accuracy under random noise (Gaussian, uniform, salt-and-pepper) for the unregularized model,
S^pixel and S^Th, one panel per classification <- regularization pair."""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import ClassVar

import pandas as pd

from pixelreg.analysis import stats
from pixelreg.experiment.config import DEFAULT_TASK, TrainConfig
from pixelreg.figures.common import (NOISE_ATTACKS, PLAN_NAMES, FigureData, TrainedFigure, aucs, ensure_runs, gain_sentence,
                     parse_panels, resolve_panels, runs_table, split_panel, tests)

__all__ = ["Fig2", "PLANS"]

# The figure's plan: panels "task<-pool" and the paper panel each stands for. alpha and Th come from the paper's
# table (pixelreg.experiment.config.PRESETS; natural photographs take ImageNet's row) unless the profile or the page sets
# them; the attacks are NOISE_ATTACKS on the reference's epsilon grid of each task (pixelreg.robustness.evaluate).
PLANS: dict[str, dict[str, str]] = {
    # CCN paper Fig. 2: (a) MNIST <- MNIST (alpha 4, Th 0.2), (b) CIFAR-10 and (c) CIFAR-100 <- ImageNet (10, 0.8)
    "paper": {"mnist<-mnist": "Fig. 2a", "cifar10<-imagenet": "Fig. 2b", "cifar100<-imagenet": "Fig. 2c"},
    # offline: Fashion-MNIST for MNIST and CIFAR, natural photographs for ImageNet
    "analogue": {f"{DEFAULT_TASK}<-{DEFAULT_TASK}": "Fig. 2a (MNIST <- MNIST)",
                 f"{DEFAULT_TASK}<-natural": "Figs. 2b, 2c (CIFAR-10/100 <- ImageNet)"},
}


def default_pools(plan: str, task: str, plans: dict[str, dict[str, str]] = PLANS) -> tuple[str, ...]:
    """Pools of a page given only its task: the panels of that task in the page's ``plans`` (Fig. 2's by
    default), else the task's own images and the plan's ImageNet (the paper's plan: an ImageNet folder; the
    analogue: natural photographs)."""
    own = [split_panel(p)[1] for p in plans[plan] if split_panel(p)[0] == task]
    return tuple(own) if own else (task, "imagenet" if plan == "paper" else "natural")


# What a stand-in changes besides the data, per plan and panel (Fig. 2's caption), filled with the panel's own
# alpha and Th (Fig2.plan_text)
PLAN_NOTES: dict[str, dict[str, str]] = {
    "analogue": {f"{DEFAULT_TASK}<-{DEFAULT_TASK}": "the paper ran Fig. 2a at α 4, Th 0.2; this panel runs at α "
                 "{alpha:g}, Th {th:g}"},
}


def plan_caption(plan: str, panels, plans: dict[str, dict[str, str]], figure: str,
                 notes: dict[str, dict[str, str]] | None = None) -> str:
    """"Plan: ... Panels: X stands for the paper's Fig. 2a; ..." for a page's caption (``notes``: per plan and
    panel, what else the stand-in changes)."""
    known, said = plans[plan], (notes or {}).get(plan, {})
    parts = [f"{p.replace('<-', ' <- ')} stands for {known[p]}" + (f" ({said[p]})" if p in said else "")
             if p in known else f"{p.replace('<-', ' <- ')} is not in the paper's {figure}" for p in panels]
    return f"**Plan:** {PLAN_NAMES[plan]}. Panels: " + "; ".join(parts) + "."


@dataclass(frozen=True, kw_only=True)
class Fig2(TrainedFigure):
    """Accuracy vs random-noise strength: unregularized, S^pixel and S^Th, one panel per dataset pair."""

    name: ClassVar[str] = "fig2"

    plan: str | None = None  # "paper" or "analogue" (PLANS); None: the profile's (paper at the paper profile)
    panels: tuple[str, ...] | None = None  # "task<-pool" pairs, one row of panels each; None: from task and
    # reg_data if given, else the plan's
    task: str | None = None  # classification dataset; None: the plan's (analogue: fashion-mnist)
    reg_data: tuple[str, ...] | None = None  # regularization pools of ``task``; None: the plan's
    alpha: float | None = None  # None: the profile's alpha (smoke/cpu: 1), else the paper's table
    th: float | None = None  # None: the paper's Th for each dataset pair
    seeds: tuple[int, ...] | None = None  # None: the profile's main_comparison_seeds
    attacks: tuple[str, ...] = NOISE_ATTACKS
    n_images: int | None = None  # test images per curve; None: the profile's

    def profile_defaults(self, prof):
        return dict(**resolve_panels(tuple(PLANS[self.plan]), lambda t: default_pools(self.plan, t), self.task,
                                     self.reg_data, self.panels),
                    seeds=prof.main_comparison_seeds, n_images=prof.eval_images)

    def check(self) -> None:
        self._set("panels", parse_panels("panels", self.panels))

    def pairs_of_panels(self) -> list[tuple[str, str]]:
        """(task, pool) of each panel, in order."""
        return [split_panel(p) for p in self.panels]

    def configs(self) -> list[TrainConfig]:
        """Per seed and task: the unregularized run, then S^pixel and S^Th for each pool of that task."""
        pairs = self.pairs_of_panels()
        tasks = list(dict.fromkeys(t for t, _ in pairs))
        out = []
        for seed in self.seeds:
            for task in tasks:
                out.append(self.unreg(seed, task=task))
                for t, r in pairs:
                    if t == task:
                        a, th = self.reg_params(r, t)
                        out.append(self.cfg(task=t, reg_data=r, alpha=a, th=th, target="pixel", seed=seed))
                        out.append(self.cfg(task=t, reg_data=r, alpha=a, th=th, target="thresholded", seed=seed))
        return out

    def plan_text(self) -> str:
        notes = {p: note.format(**dict(zip(("alpha", "th"), self.reg_params(split_panel(p)[1],
                                                                                split_panel(p)[0]))))
                 for p, note in PLAN_NOTES.get(self.plan, {}).items() if p in self.panels}
        return plan_caption(self.plan, self.panels, PLANS, "Fig. 2", {self.plan: notes})

    def paper_panel(self, panel: str) -> str:
        return PLANS[self.plan].get(panel, "not in the paper")

    def claim_data(self, runs_dir: str | Path | None = None, progress: bool = True) -> FigureData:
        """The tables the claim rows read (``curves``), without the per-ε tests' bootstrap (the claims page)."""
        return self.data(runs_dir, progress, with_tests=False)

    def data(self, runs_dir: str | Path | None = None, progress: bool = True, with_tests: bool = True) -> FigureData:
        """Tables: ``curves`` (per run and ε), ``summary`` (mean and SEM over seeds), ``tests`` (each regularized
        condition against the unregularized one per ε, Welch's t with Holm correction over ε), ``auc`` (area
        under each curve per run)."""
        configs = self.configs()
        runs = ensure_runs(configs, runs_dir, progress)
        by_cfg = dict(zip(configs, runs))
        panels = []
        for p, (t, r) in zip(self.panels, self.pairs_of_panels()):
            sel = [by_cfg[c] for c in configs if c.task == t and ((not c.regularized) or c.pool_source == r)]
            cur = self.curves(sel, self.attacks, self.n_images)
            cur.insert(0, "panel", self.panel(r, t))
            cur.insert(1, "reg_data", r)
            cur.insert(2, "paper_panel", self.paper_panel(p))
            panels.append(cur)
        curves = pd.concat(panels, ignore_index=True)
        if not with_tests:  # what the claim rows read (Claims.data): the curves, not the per-ε tests
            return self.figure_data(dict(curves=curves), runs_table(runs))
        summary = stats.mean_sem(curves, by=("panel", "condition", "attack", "epsilon"))
        tst = pd.concat([tests(g, "unregularized", ["S^pixel", "S^Th"]).assign(panel=k)
                         for k, g in curves.groupby("panel")], ignore_index=True)
        data = self.figure_data(dict(curves=curves, summary=summary, tests=tst, auc=aucs(curves)), runs_table(runs))
        return data

    def what_we_see(self, data: FigureData) -> str:
        lines = []
        for (panel, attack), g in data["tests"].groupby(["panel", "attack"]):
            for b, gb in g.groupby("b"):
                lines.append(gain_sentence(f"**{panel}, {attack}, {b}**", gb, data["summary"],
                                           dict(panel=panel, attack=attack)))
        return "\n".join(lines) if lines else "No numbers to summarise (empty tables)."


PAGE = Fig2


# ---- claim rows read from this page's tables (gathered by pixelreg.figures.claims) -------------------------
from pixelreg.analysis.verdicts import Rule, compare_by_seed  # noqa: E402
from pixelreg.figures.claimrows import (AUC_SUMMARY, NO_LOSS_MARGIN, SESOI_AUC, SESOI_AUC_WHY,  # noqa: E402
                                        SLIGHT_LOSS_MARGIN, Claim, NoData, auc_gain, clean_gain, families,
                                        mean_auc)
from pixelreg.figures import claimrows as _cr  # noqa: E402


def _head_to_head(a: str, b: str):
    """b − a per seed of the AUC over ε > 0 averaged over fig2's (dataset pair, noise attack) families (a seed
    missing a family, e.g. a failed run of one pool, loses its pair; a condition without any complete seed leaves
    the row without data)."""
    def compare(d, ctx):
        means = mean_auc(list(families(d["fig2"]["curves"]).values()))
        for c in (a, b):
            if c not in set(means["condition"]):
                raise NoData(f"no seed of {c} has a run in every (dataset pair, noise attack) family of fig2")
        return compare_by_seed(means, a, b)
    return compare


CLAIMS = (
    Claim("gain-task", "Regularized with its own images (MNIST <- MNIST), the model is more robust to Gaussian "
          "noise", "Fig. 2a", ("fig2",), "{pairs}, S^Th vs unregularized, Gaussian noise (fig2; Fig. 2a itself is MNIST "
          "<- MNIST at α 4, Th 0.2)",
          f"{AUC_SUMMARY}; S^Th − unregularized", Rule(sesoi=SESOI_AUC, unit="AUC", why=SESOI_AUC_WHY),
          auc_gain("fig2", "gaussian"), "AUC", pool="task"),
    Claim("gain-natural", "Regularized with ImageNet (natural images), the model is more robust to Gaussian noise",
          "Fig. 2b, 2c", ("fig2",), "{pairs}, S^Th vs unregularized, Gaussian noise (fig2)",
          f"{AUC_SUMMARY}; S^Th − unregularized", Rule(sesoi=SESOI_AUC, unit="AUC", why=SESOI_AUC_WHY),
          auc_gain("fig2", "gaussian"), "AUC", pool="natural", across=True),
    Claim("clean-task", "... without incurring any loss on distortion-free images", "Fig. 2a", ("fig2",),
          "{pairs}, S^Th vs unregularized, clean test accuracy (fig2; Fig. 2a itself is MNIST <- MNIST at α 4, "
          "Th 0.2)",
          f"accuracy at ε = 0 per run; S^Th − unregularized; 'no loss' = at most {NO_LOSS_MARGIN:g}",
          Rule(kind="no_loss", margin=NO_LOSS_MARGIN, unit="accuracy", why=_cr.NO_LOSS_WHY), clean_gain(),
          "accuracy", pool="task"),
    Claim("clean-natural", "... at the expense of a slight loss in clean accuracy (ImageNet)", "Fig. 2b, 2c",
          ("fig2",), "{pairs}, S^Th vs unregularized, clean test accuracy (fig2)",
          f"accuracy at ε = 0 per run; S^Th − unregularized; 'slight' = at most {SLIGHT_LOSS_MARGIN:g}",
          Rule(kind="no_loss", margin=SLIGHT_LOSS_MARGIN, unit="accuracy", why=_cr.SLIGHT_LOSS_WHY), clean_gain(),
          "accuracy", pool="natural", across=True),
    Claim("sth-vs-pixel", "S^Th helps further than S^pixel", "Figs. 2-3 text", ("fig2",),
          "S^Th vs S^pixel head to head, all noise attacks and dataset pairs of fig2 ({pairs})",
          "per seed, the AUC over ε > 0 averaged over fig2's (dataset pair, noise attack) families; S^Th − S^pixel",
          Rule(sesoi=SESOI_AUC, unit="AUC", why=SESOI_AUC_WHY), _head_to_head("S^pixel", "S^Th"), "AUC"),
    Claim("pixel-gain", "Raw S^pixel as the target also helps", "Figs. 2-3 text", ("fig2",),
          "S^pixel vs unregularized, all noise attacks and dataset pairs of fig2 ({pairs})",
          "per seed, the AUC over ε > 0 averaged over fig2's (dataset pair, noise attack) families; "
          "S^pixel − unregularized", Rule(sesoi=SESOI_AUC, unit="AUC", why=SESOI_AUC_WHY),
          _head_to_head("unregularized", "S^pixel"), "AUC"),
)
