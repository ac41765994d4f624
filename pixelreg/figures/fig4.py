"""Fig. 4 (poster ii): boundary-attack perturbation sizes, their power spectra, and accuracy under low- vs
high-pass Gaussian noise of equal energy."""
from __future__ import annotations

import math
from dataclasses import dataclass
from pathlib import Path
from typing import ClassVar

import numpy as np
import pandas as pd
import torch

from .. import stats
from ..config import DEFAULT_TASK, TrainConfig
from ..errors import ConfigError
from ..evaluate import DEFAULT_CUTOFF, boundary_distances, condition_label
from ..spectra import low_frequency_fraction, power_spectrum, radial_profile
from .common import (FigureData, TrainedFigure, ensure_runs, fmt, gain_sentence, runs_table, sem, tests,
                     white_low_share)

__all__ = ["Fig4"]


@dataclass(frozen=True, kw_only=True)
class Fig4(TrainedFigure):
    """Boundary-attack perturbation sizes (reference protocol), their spectra (a stronger attack), and
    accuracy under low- vs high-pass Gaussian noise of equal energy.

    Tables: ``distances`` (per image and repeat: success and per-pixel MSE), ``boundary`` (per run: median
    MSE per repeat, mean of medians, failures), ``profiles`` (radial power spectrum per run), ``lowfreq``
    (fraction of perturbation power below ``cutoff`` cycles/pixel per run), ``band`` (accuracy under
    low-/high-pass noise per ε), ``band_summary``, ``band_tests``.
    """

    name: ClassVar[str] = "fig4"
    one_pool: ClassVar[bool] = True

    task: str = DEFAULT_TASK
    reg_data: str | None = None  # None: the task's own images
    alpha: float | None = None  # None: the profile's alpha, else the paper's table
    th: float | None = None  # None: the paper's Th for the dataset pair
    seeds: tuple[int, ...] | None = None  # None: the profile's seeds
    n_images: int | None = None  # images per boundary attack; None: the profile's
    steps: int | None = None  # boundary-attack steps (reference: 50); None: the profile's
    spectra_steps: int | None = None  # steps of the longer attack whose perturbations feed the spectra
    cutoff: float = DEFAULT_CUTOFF  # cycles/pixel between "low" and "high" frequencies

    def profile_defaults(self, prof):
        return dict(reg_data=self.task, seeds=prof.seeds, n_images=prof.boundary_images, steps=prof.boundary_steps,
                    spectra_steps=prof.spectra_steps)

    def check(self) -> None:
        c = self.cutoff
        if not (isinstance(c, (int, float)) and not isinstance(c, bool) and 0 < c < 0.5):
            raise ConfigError("cutoff", c, "a frequency in (0, 0.5) cycles/pixel")

    def configs(self) -> list[TrainConfig]:
        a, t = self.reg_params(self.reg_data)
        return [c for seed in self.seeds for c in
                (self.unreg(seed), self.cfg(reg_data=self.reg_data, alpha=a, th=t, seed=seed))]

    def data(self, runs_dir: str | Path | None = None, progress: bool = True) -> FigureData:
        n, steps, cutoff = self.n_images, self.steps, self.cutoff
        runs = ensure_runs(self.configs(), runs_dir, progress)
        dist, summ, prof_rows, low_rows = [], [], [], []
        for run in runs:
            table, _ = boundary_distances(run, n_images=n, steps=steps, repeats=5 if steps <= 100 else 1)
            dist.append(table)
            ok = table[table.success]
            med = ok.groupby("repeat")["mse"].median()
            summ.append(dict(run=run.id, seed=run.config.seed, condition=condition_label(run.config),
                             mean_median_mse=float(med.mean()) if len(med) else math.nan,
                             n_images=n, repeats=int(table["repeat"].nunique()),
                             failed=int((~table.success).sum()), attempted=len(table)))
            strong, delta = boundary_distances(run, n_images=n, steps=self.spectra_steps, repeats=1)
            d = delta[0][torch.as_tensor(strong.success.to_numpy())]
            d = d[torch.isfinite(d).flatten(1).all(1)]
            if len(d):
                f, pw = radial_profile(power_spectrum(d))
                pw = pw / pw.sum()
                prof_rows.append(pd.DataFrame(dict(run=run.id, seed=run.config.seed,
                                                   condition=condition_label(run.config),
                                                   frequency=f.numpy(), power=pw.numpy())))
                low_rows.append(dict(run=run.id, seed=run.config.seed, condition=condition_label(run.config),
                                     cutoff=cutoff, low_fraction=low_frequency_fraction(d, cutoff), n=len(d),
                                     median_mse=float(strong.loc[strong.success, "mse"].median())))
        band = self.curves(runs, ("low-pass", "high-pass"), self.prof.eval_images, cutoff=cutoff)
        regs = [c for c in band["condition"].unique() if c != "unregularized"]
        return self.figure_data(
            dict(distances=pd.concat(dist, ignore_index=True), boundary=pd.DataFrame(summ),
                 profiles=pd.concat(prof_rows, ignore_index=True) if prof_rows else pd.DataFrame(),
                 lowfreq=pd.DataFrame(low_rows), band=band,
                 band_summary=stats.mean_sem(band, by=("condition", "attack", "epsilon")),
                 band_tests=tests(band, "unregularized", regs)),
            runs_table(runs))

    def what_we_see(self, data: FigureData) -> str:
        lines = []
        bnd = data["boundary"]
        for cond, g in bnd.groupby("condition"):
            v = g["mean_median_mse"].to_numpy(float)
            lines.append(f"- Boundary attack, {cond}: median per-pixel MSE of the minimal perturbation "
                         f"{fmt(np.nanmean(v), 5)} ± {fmt(sem(v), 5)} over {len(v)} seeds; "
                         f"{int(g.failed.sum())} of {int(g.attempted.sum())} attacks failed.")
        lf = data["lowfreq"]
        for cond, g in (lf.groupby("condition") if len(lf) else []):
            v = g["low_fraction"].to_numpy(float)
            lines.append(f"- {cond}: {100 * np.mean(v):.0f}% ± {100 * sem(v):.0f}% of perturbation power lies "
                         f"below {g.cutoff.iloc[0]:g} cycles/pixel (white noise would put "
                         f"{100 * white_low_share(float(g.cutoff.iloc[0])):.0f}% there).")
        bt = data["band_tests"]
        for (attack, b), g in (bt.groupby(["attack", "b"]) if len(bt) else []):
            lines.append(gain_sentence(f"**{attack} noise, {b}**", g, data["band_summary"], dict(attack=attack)))
        return "\n".join(lines) if lines else "No numbers to summarise (empty tables)."


PAGE = Fig4
