"""Fig. 3: FGSM transferred from an independent unregularized model (the paper's black-box attack), and
white-box FGSM beside it."""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import ClassVar

import pandas as pd

from .. import stats
from ..config import DEFAULT_TASK, TrainConfig, check_value
from ..errors import ConfigError
from ..evaluate import robust_accuracy
from .common import FigureData, TrainedFigure, ensure_runs, gain_sentence, runs_table, tests
from .fig2 import Fig2

__all__ = ["Fig3"]


@dataclass(frozen=True, kw_only=True)
class Fig3(TrainedFigure):
    """Accuracy under FGSM transferred from an independent unregularized model, and under white-box FGSM.

    The transfer source is the unregularized run with seed ``source_seed``; white-box FGSM (each model
    attacked through its own gradient) is shown beside it because the paper reports black-box attacks only.
    """

    name: ClassVar[str] = "fig3"

    task: str = DEFAULT_TASK
    reg_data: tuple[str, ...] | None = None  # None: the task's own images and natural photographs
    alpha: float | None = None  # None: the profile's alpha, else the paper's table
    th: float | None = None  # None: the paper's Th for each dataset pair
    seeds: tuple[int, ...] | None = None  # None: the profile's seeds
    source_seed: int = 1000  # seed of the unregularized transfer source; never an evaluated seed
    n_images: int | None = None  # None: the profile's

    def profile_defaults(self, prof):
        return dict(reg_data=(self.task, "natural"), seeds=prof.seeds, n_images=prof.eval_images)

    def check(self) -> None:
        check_value("seed", self.source_seed, name="source_seed")
        if self.source_seed in self.seeds:
            raise ConfigError("source_seed", self.source_seed,
                              f"a seed not among the evaluated seeds {list(self.seeds)}")

    def configs(self) -> list[TrainConfig]:
        """Fig. 2's runs (the same conditions and seeds), then the transfer source."""
        fig2 = Fig2(profile=self.profile, task=self.task, reg_data=self.reg_data, alpha=self.alpha, th=self.th,
                    seeds=self.seeds, n_images=self.n_images)
        return fig2.configs() + [self.unreg(self.source_seed)]

    def data(self, runs_dir: str | Path | None = None, progress: bool = True) -> FigureData:
        configs = self.configs()
        runs = ensure_runs(configs, runs_dir, progress)
        source, evaluated = runs[-1], runs[:-1]
        by_cfg = dict(zip(configs, runs))
        panels = []
        for r in self.reg_data:
            sel = [by_cfg[c] for c in configs[:-1] if (not c.regularized) or c.pool_source == r]
            for mode, src in (("transferred", source), ("white-box", None)):
                cur = robust_accuracy(list(dict.fromkeys(sel)), "fgsm", n_images=self.n_images, source=src,
                                      precision=self.precision)
                cur.insert(0, "panel", self.panel(r))
                cur.insert(1, "reg_data", r)
                cur["mode"] = mode
                panels.append(cur)
        curves = pd.concat(panels, ignore_index=True)
        summary = stats.mean_sem(curves, by=("panel", "mode", "condition", "epsilon"))
        tst = pd.concat([tests(g, "unregularized", ["S^pixel", "S^Th"], by=("mode",)).assign(panel=k)
                         for k, g in curves.groupby("panel")], ignore_index=True)
        return self.figure_data(dict(curves=curves, summary=summary, tests=tst), runs_table(evaluated + [source]),
                                source_run=source.id)

    def what_we_see(self, data: FigureData) -> str:
        s = data["summary"]
        lines = []
        for (panel, mode), g in data["tests"].groupby(["panel", "mode"]):
            for b, gb in g.groupby("b"):
                lines.append(gain_sentence(f"**{panel}, {mode} FGSM, {b}**", gb, s, dict(panel=panel, mode=mode)))
        return "\n".join(lines) if lines else "No numbers to summarise (empty tables)."


PAGE = Fig3
