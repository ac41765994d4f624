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
        correlations), ``gamma`` (per run, epoch and layer: gamma_l), ``final`` (per run: selected epoch and its
        test accuracy, last-epoch test accuracy, final held-out correlation, largest gamma and its layer). Every
        table has ``failed`` (the run failed: :data:`~pixelreg.figures.tables.FAILED_RUN_RULE`) and ``dropped``
        (left out of the means: failed, at a profile that drops failed runs); the plots and sentences leave the
        dropped runs out of their means, the tables keep them."""
        configs = self.configs()
        runs = list(dict.fromkeys(ensure_runs(configs, runs_dir, progress)))
        kept = set(self.usable(runs))
        ep, gam, fin = [], [], []
        for r in runs:
            c = r.config
            label = _label(c)
            failed, dropped = r.failure is not None, r not in kept
            for m in r.metrics:
                ep.append(dict(run=r.id, seed=c.seed, condition=label, failed=failed, dropped=dropped,
                               epoch=m["epoch"],
                               step=m.get("step"),
                               **{k: m.get(k) for k in ("train_loss", "train_acc", "valid_loss", "valid_acc",
                                                         "test_loss", "test_acc", "reg_loss", "reg_corr",
                                                         "heldout_corr")}))
                for layer, g in zip(PAPER_LAYERS, m.get("layer_weights") or []):
                    gam.append(dict(run=r.id, seed=c.seed, condition=label, failed=failed, dropped=dropped,
                                    epoch=m["epoch"],
                                    layer=layer, gamma=g))
            last = r.metrics[-1]
            w = last.get("layer_weights") or []
            w = w if w and all(_finite(x) for x in w) else []  # a diverged run's weights are not weights
            best = r.provenance.get("best_epoch")
            fin.append(dict(run=r.id, seed=c.seed, condition=label, failed=failed, dropped=dropped, best_epoch=best,
                            test_acc_best=r.metrics[best].get("test_acc")
                            if best is not None and best < len(r.metrics) else None,
                            epochs=len(r.metrics) - 1, last_test_acc=last.get("test_acc"),
                            heldout_corr=last.get("heldout_corr") if _finite(last.get("heldout_corr")) else None,
                            max_gamma=max(w) if w else None,
                            max_gamma_layer=PAPER_LAYERS[w.index(max(w))] if w else None))
        tables = dict(epochs=pd.DataFrame(ep), gamma=pd.DataFrame(gam), final=pd.DataFrame(fin))
        for k, t in tables.items():
            if t.empty:
                tables[k] = pd.DataFrame(columns=["run", "seed", "condition", "failed", "dropped"])
        return self.figure_data(tables, runs_table(runs))

    def what_we_see(self, data: FigureData) -> str:
        f = data["final"]
        lines = []
        bad = f[f.dropped.astype(bool)] if "dropped" in f else f.iloc[0:0]
        ok = f[~f.dropped.astype(bool)] if "dropped" in f else f
        if len(bad):
            lines.append(f"- **Left out of the curves' means and the numbers below: {len(bad)} failed run(s)** "
                         + "; ".join(f"{r.run} ({r.condition}, seed {r.seed})" for r in bad.itertuples())
                         + " (the caption gives why). Their per-epoch values are in the tables below.")
        reg = ok[ok.max_gamma.notna()] if "max_gamma" in ok else ok.iloc[0:0]
        for cond, g in reg.groupby("condition"):
            top = g["max_gamma_layer"].value_counts()
            tied = [str(k) for k, v in top.items() if v == top.iloc[0]]
            where = (f"on `{tied[0]}` in {top.iloc[0]} of {len(g)} runs" if len(tied) == 1 else
                     f"on {' and '.join(f'`{t}`' for t in tied)} in {top.iloc[0]} of {len(g)} runs each")
            corr = g.heldout_corr.dropna()
            spread = f", from {fmt(g.max_gamma.min())} to {fmt(g.max_gamma.max())}" if len(g) > 1 else ""
            lines.append(f"- **{cond}**: at the end of training the largest layer weight is {fmt(g.max_gamma.mean())} "
                         f"on average ({len(g)} runs{spread}), {where}"
                         + (" — **most of the weight on a single stage in every run**" if g.max_gamma.min() > 0.8 else
                            " — most of the weight on a single stage on average" if g.max_gamma.mean() > 0.8 else "")
                         + "; held-out S^CNN-target correlation "
                         + (f"{fmt(corr.mean())} ({len(corr)} of {len(g)} runs logged it)" if len(corr)
                            else "not logged (runs trained before it was recorded)") + ".")
        if "best_epoch" in f and len(f):
            early = f[f.best_epoch < f.epochs]
            lines.append(f"- Model selection (lowest validation loss) kept an earlier epoch than the last in "
                         f"{len(early)} of {len(f)} runs (failed runs included); the table gives each run's "
                         f"selected epoch, its test accuracy and the last epoch's.")
        return "\n".join(lines) if lines else "No runs to describe."


def _finite(x) -> bool:
    return x is not None and math.isfinite(float(x))


def _label(c) -> str:
    if not c.regularized:
        return "unregularized"
    name = "S^Th" if c.target == "thresholded" else "S^pixel" if c.target == "pixel" else c.target
    return f"{name} <- {c.pool_source}"


PAGE = Diagnostics
