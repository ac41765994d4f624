"""Fig. 2: accuracy under random noise (Gaussian, uniform, salt-and-pepper) for the unregularized model,
S^pixel and S^Th, one panel per regularization pool."""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import ClassVar

import pandas as pd

from .. import stats
from ..config import DEFAULT_TASK, TrainConfig
from .common import NOISE_ATTACKS, FigureData, TrainedFigure, aucs, ensure_runs, gain_sentence, runs_table, tests

__all__ = ["Fig2"]


@dataclass(frozen=True, kw_only=True)
class Fig2(TrainedFigure):
    """Accuracy vs random-noise strength: unregularized, S^pixel and S^Th, one panel per regularization set."""

    name: ClassVar[str] = "fig2"

    task: str = DEFAULT_TASK  # classification dataset
    reg_data: tuple[str, ...] | None = None  # regularization pools, one row of panels each; None: task, natural
    alpha: float | None = None  # None: the profile's alpha (smoke/cpu: 1), else the paper's table
    th: float | None = None  # None: the paper's Th for each dataset pair
    seeds: tuple[int, ...] | None = None  # None: the profile's seeds
    attacks: tuple[str, ...] = NOISE_ATTACKS
    n_images: int | None = None  # test images per curve; None: the profile's

    def profile_defaults(self, prof):
        return dict(reg_data=(self.task, "natural"), seeds=prof.seeds, n_images=prof.eval_images)

    def configs(self) -> list[TrainConfig]:
        out = []
        for seed in self.seeds:
            out.append(self.unreg(seed))
            for r in self.reg_data:
                a, t = self.reg_params(r)
                out.append(self.cfg(reg_data=r, alpha=a, th=t, target="pixel", seed=seed))
                out.append(self.cfg(reg_data=r, alpha=a, th=t, target="thresholded", seed=seed))
        return out

    def data(self, runs_dir: str | Path | None = None, progress: bool = True) -> FigureData:
        """Tables: ``curves`` (per run and ε), ``summary`` (mean and SEM over seeds), ``tests`` (each regularized
        condition against the unregularized one per ε, Welch's t with Holm correction over ε), ``auc`` (area
        under each curve per run)."""
        configs = self.configs()
        runs = ensure_runs(configs, runs_dir, progress)
        by_cfg = dict(zip(configs, runs))
        panels = []
        for r in self.reg_data:
            sel = [by_cfg[c] for c in configs if (not c.regularized) or c.pool_source == r]
            cur = self.curves(sel, self.attacks, self.n_images)
            cur.insert(0, "panel", self.panel(r))
            cur.insert(1, "reg_data", r)
            panels.append(cur)
        curves = pd.concat(panels, ignore_index=True)
        summary = stats.mean_sem(curves, by=("panel", "condition", "attack", "epsilon"))
        tst = pd.concat([tests(g, "unregularized", ["S^pixel", "S^Th"]).assign(panel=k)
                         for k, g in curves.groupby("panel")], ignore_index=True)
        return self.figure_data(dict(curves=curves, summary=summary, tests=tst, auc=aucs(curves)), runs_table(runs))

    def what_we_see(self, data: FigureData) -> str:
        lines = []
        for (panel, attack), g in data["tests"].groupby(["panel", "attack"]):
            for b, gb in g.groupby("b"):
                lines.append(gain_sentence(f"**{panel}, {attack}, {b}**", gb, data["summary"],
                                           dict(panel=panel, attack=attack)))
        return "\n".join(lines) if lines else "No numbers to summarise (empty tables)."


PAGE = Fig2
