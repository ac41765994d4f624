"""How the runs trained: per condition and seed, the train / validation / test loss and accuracy per epoch, the
learned layer weights gamma of the similarity pathway over training, and how well S^CNN follows its target on a
fixed held-out set of pairs. Shows the runs of Fig. 2's main comparison; reads only the runs' logged metrics."""
from __future__ import annotations

import math
from dataclasses import dataclass
from pathlib import Path
from typing import ClassVar

import pandas as pd

from pixelreg.models import PAPER_LAYERS
from pixelreg.figures.common import FigureData, TrainedFigure, ensure_runs, fmt, runs_table
from pixelreg.figures.fig2 import Fig2

__all__ = ["Diagnostics"]


@dataclass(frozen=True, kw_only=True)
class Diagnostics(TrainedFigure):
    """Learning curves, layer weights gamma and held-out S^CNN-target correlation of Fig. 2's runs."""

    name: ClassVar[str] = "diagnostics"

    plan: str | None = None  # None: as Fig. 2 (the profile's plan)
    panels: tuple[str, ...] | None = None  # "task<-pool" pairs; None: as Fig. 2
    task: str | None = None  # None: as Fig. 2 (the plan's)
    reg_data: tuple[str, ...] | None = None  # None: as Fig. 2 (the plan's pools)
    alpha: float | None = None  # None: as Fig. 2
    th: float | None = None  # None: as Fig. 2
    seeds: tuple[int, ...] | None = None  # None: the profile's main_comparison_seeds

    def profile_defaults(self, prof):
        f2 = Fig2(profile=self.profile, plan=self.plan, panels=self.panels, task=self.task, reg_data=self.reg_data)
        return dict(panels=f2.panels, task=f2.task, reg_data=f2.reg_data, seeds=prof.main_comparison_seeds)

    def fig2(self) -> Fig2:
        return Fig2(profile=self.profile, plan=self.plan, panels=self.panels, alpha=self.alpha, th=self.th,
                    seeds=self.seeds)

    def plan_text(self) -> str:
        return self.fig2().plan_text()

    def configs(self):
        return self.fig2().configs()

    def data(self, runs_dir: str | Path | None = None, progress: bool = True) -> FigureData:
        """Tables: ``epochs`` (per run and epoch: losses, accuracies, mean training-batch and held-out S^CNN-target
        correlations), ``gamma`` (per run, epoch and layer: gamma_l), ``final`` (per run: best epoch, final
        held-out correlation, largest gamma and its layer)."""
        configs = self.configs()
        runs = list(dict.fromkeys(ensure_runs(configs, runs_dir, progress)))
        ep, gam, fin = [], [], []
        for r in runs:
            c = r.config
            label = _label(c)
            for m in r.metrics:
                ep.append(dict(run=r.id, seed=c.seed, condition=label, epoch=m["epoch"], step=m.get("step"),
                               **{k: m.get(k) for k in ("train_loss", "train_acc", "valid_loss", "valid_acc",
                                                         "test_loss", "test_acc", "reg_loss", "reg_corr",
                                                         "heldout_corr")}))
                for layer, g in zip(PAPER_LAYERS, m.get("layer_weights") or []):
                    gam.append(dict(run=r.id, seed=c.seed, condition=label, epoch=m["epoch"], layer=layer, gamma=g))
            last = r.metrics[-1]
            w = last.get("layer_weights") or []
            fin.append(dict(run=r.id, seed=c.seed, condition=label, best_epoch=r.provenance.get("best_epoch"),
                            epochs=len(r.metrics) - 1, final_test_acc=last.get("test_acc"),
                            heldout_corr=last.get("heldout_corr"),
                            max_gamma=max(w) if w else None,
                            max_gamma_layer=PAPER_LAYERS[w.index(max(w))] if w else None))
        tables = dict(epochs=pd.DataFrame(ep), gamma=pd.DataFrame(gam), final=pd.DataFrame(fin))
        for k, t in tables.items():
            if t.empty:
                tables[k] = pd.DataFrame(columns=["run", "seed", "condition"])
        return self.figure_data(tables, runs_table(runs))

    def what_we_see(self, data: FigureData) -> str:
        f = data["final"]
        lines = []
        reg = f[f.max_gamma.notna()] if "max_gamma" in f else f.iloc[0:0]
        for cond, g in reg.groupby("condition"):
            top = g["max_gamma_layer"].value_counts()
            lines.append(f"- **{cond}**: at the end of training the largest layer weight is {fmt(g.max_gamma.mean())} "
                         f"on average ({len(g)} runs), on `{top.index[0]}` in {top.iloc[0]} of {len(g)} runs"
                         + (" — **almost all weight on a single stage**" if g.max_gamma.mean() > 0.8 else "")
                         + "; held-out S^CNN-target correlation "
                         + (f"{fmt(g.heldout_corr.mean())}" if g.heldout_corr.notna().any()
                            else "not logged (runs trained before it was recorded)") + ".")
        if "best_epoch" in f and len(f):
            early = f[f.best_epoch < f.epochs]
            lines.append(f"- Model selection (lowest validation loss) kept an earlier epoch than the last in "
                         f"{len(early)} of {len(f)} runs.")
        return "\n".join(lines) if lines else "No runs to describe."


def _label(c) -> str:
    if not c.regularized:
        return "unregularized"
    name = "S^Th" if c.target == "thresholded" else "S^pixel" if c.target == "pixel" else c.target
    return f"{name} <- {c.pool_source}"


PAGE = Diagnostics
