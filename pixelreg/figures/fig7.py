"""Fig. 7 (poster 6): which parts of the regularizer matter: the pair ranges of spec §4.3, S^pixel vs S^Th,
atanh vs MSE."""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import ClassVar

import pandas as pd

from pixelreg.experiment.config import TrainConfig, check_value
from pixelreg.figures.common import FigureData, OnePoolFigure, aucs, ensure_runs, ranking_sentences, runs_table
from pixelreg.analysis.stats import pstate
from pixelreg.analysis.verdicts import compare_by_seed
from pixelreg.figures.sentences import fmt, signed

__all__ = ["Fig7"]


@dataclass(frozen=True, kw_only=True)
class Fig7(OnePoolFigure):
    """Per seed: the unregularized run, then one run per variant (:meth:`variants`).

    Tables: ``curves`` (``attack`` curve per run, with its variant), ``auc`` (per run: AUC, clean accuracy,
    share of pairs the range selects), ``summary`` (per variant).
    """

    name: ClassVar[str] = "fig7"
    # the plan: per plan, the dataset pair "task<-pool" and the paper panel it stands for
    PLANS: ClassVar[dict[str, tuple[str, str]]] = {
        "paper": ("cifar10<-imagenet", "poster 6 (the components on CIFAR-10 <- ImageNet)"),
        "analogue": ("fashion-mnist<-fashion-mnist", "poster 6, which ran CIFAR-10 <- ImageNet; the analogue uses "
                     "the task's own images as the pool"),
    }

    plan: str | None = None  # "paper" or "analogue"; None: the profile's (paper at the paper profile)
    task: str | None = None  # None: the plan's (paper: cifar10; analogue: fashion-mnist)
    reg_data: str | None = None  # None: the plan's pool (paper: imagenet), else the task's own images
    alpha: float | None = None  # None: the profile's alpha, else the paper's table
    th: float | None = None  # None: the paper's Th for the dataset pair
    seeds: tuple[int, ...] | None = None  # None: the profile's ablation seeds
    th2: float = 0.2  # Th_2 of the "double" range, in (0, Th)
    attack: str = "gaussian"
    n_images: int | None = None  # None: the profile's

    def profile_defaults(self, prof):
        return dict(**self.pair_defaults(), seeds=prof.ablation_seeds, n_images=prof.eval_images)

    def check(self) -> None:
        check_value("th2", self.th2, th=self.reg_params(self.reg_data)[1])

    def variants(self) -> list[tuple[str, dict]]:
        """(label, TrainConfig fields) of every regularized variant."""
        return ([(f"range={r}", dict(reg_range=r)) for r in ("all", "high", "low", "positive", "negative")]
                + [("range=double", dict(reg_range="double", th2=self.th2)), ("target=S^pixel", dict(target="pixel")),
                   ("criterion=mse", dict(criterion="mse"))])

    def configs(self) -> list[TrainConfig]:
        a, t = self.reg_params(self.reg_data)
        out = []
        for seed in self.seeds:
            out.append(self.unreg(seed))
            for _, kw in self.variants():
                out.append(self.cfg(reg_data=self.reg_data, alpha=a, th=t, seed=seed, **kw))
        return out

    def data(self, runs_dir: str | Path | None = None, progress: bool = True) -> FigureData:
        runs = ensure_runs(self.configs(), runs_dir, progress)
        labels = {}
        variants = self.variants()
        per_seed = 1 + len(variants)
        for i, run in enumerate(runs):
            labels[run.id] = "unregularized" if i % per_seed == 0 else variants[i % per_seed - 1][0]
        curves = self.curves(runs, (self.attack,), self.n_images)
        curves["variant"] = curves["run"].map(labels)
        auc = aucs(curves)
        auc["variant"] = auc["run"].map(labels)
        clean = curves[curves.epsilon == 0][["run", "accuracy"]].rename(columns={"accuracy": "clean_accuracy"})
        auc = auc.merge(clean, on="run")
        shares = runs_table(runs)[["run"]].assign(
            selected_share=[r.provenance.get("selected_pair_share") for r in dict.fromkeys(runs)])
        auc = auc.merge(shares, on="run", how="left")
        summary = (auc.groupby("variant").agg(auc=("auc", "mean"), auc_sem=("auc", "sem"),
                                              clean=("clean_accuracy", "mean"), n=("seed", "count"),
                                              selected_share=("selected_share", "mean")).reset_index())
        return self.figure_data(dict(curves=curves, auc=auc, summary=summary), runs_table(runs))

    def what_we_see(self, data: FigureData) -> str:
        lines = ranking_sentences(data["summary"].copy(), cost=False)
        same = same_pair_sentences(data["auc"])
        return "\n".join(lines + ([""] + same if same else []))


#: two range variants whose shares of selected pairs differ by less than this select the same pairs in practice
SAME_SHARE = 1e-3


def same_pair_sentences(auc: pd.DataFrame, tol: float = SAME_SHARE) -> list[str]:
    """Range variants that select practically the same pairs (shares within ``tol``; on a pool where a range's
    excluded targets hardly occur, e.g. no pair below −Th, "positive" is "all" and "negative" is "low"): they are
    one experiment, and their per-seed AUC differences show how far a run moves with everything but its pairs
    (its random pair stream, and the code version and machine it trained on)."""
    if auc is None or auc.empty or "selected_share" not in auc:
        return []
    t = auc[auc["variant"].astype(str).str.startswith("range=") & auc["selected_share"].notna()]
    share = t.groupby("variant")["selected_share"].mean()
    names = sorted(share.index)
    out = []
    for i, a in enumerate(names):
        for b in names[i + 1:]:
            if abs(share[a] - share[b]) >= tol:
                continue
            va = t[t.variant == a].set_index("seed")["auc"]
            vb = t[t.variant == b].set_index("seed")["auc"]
            d = (vb - va).dropna()
            if d.empty:
                continue
            per = ", ".join(signed(x) for x in d)
            text = (f"- **{a} and {b} select practically the same pairs** ({100 * share[a]:.4f}% and "
                    f"{100 * share[b]:.4f}% of them). Their AUCs over ε > 0 differ by {signed(d.mean())} on average "
                    f"({b} − {a}; per seed {per}, {len(d)} seeds)")
            if d.abs().max() < 0.005:
                out.append(text + ": one experiment twice, the same run in effect.")
                continue
            pair = t[t.variant.isin([a, b])].drop(columns="condition", errors="ignore")
            c = compare_by_seed(pair.rename(columns={"variant": "condition"}), a, b)
            out.append(text + f"; paired t, {c.n} pairs: {signed(c.estimate)} [{fmt(c.ci_low)}, {fmt(c.ci_high)}], "
                       f"{pstate(c.p)}. They share the pairs' distribution, not their random pair streams"
                       + (" (the sampler draws range=all's pairs directly and the other ranges' by rejection)"
                          if "range=all" in (a, b) else "")
                       + ", and they may have trained at different code versions (the runs table's commits). "
                       + ("An interval that holds 0 leaves this a spread a run can show from its random pair stream "
                          f"alone, or a systematic difference {c.n} seeds cannot rule out: either way, differences "
                          "between variants of this size cannot be read here." if c.ci_low <= 0 <= c.ci_high else
                          "**An interval that excludes 0: two samplings of the same pairs gave different results**, "
                          "so something other than the pairs differs between them; the variants' ranking cannot be "
                          "read until that is found."))
    return out


PAGE = Fig7
