"""Fourier sensitivity maps (beyond the paper; after Yin et al. 2019, "A Fourier Perspective on Model
Robustness in Computer Vision"): to which spatial frequencies is each condition sensitive?

Each test image is perturbed along every 2-D Fourier basis image of the input size at a fixed L2 norm
(:func:`pixelreg.robustness.fourier.fourier_error_map`; norm 3.5 per 28x28 image, Yin et al.'s per-pixel RMS;
one random sign per image and frequency), and the model's error rate is recorded per frequency. The page shows
one map per condition, averaged over seeds, its difference to the unregularized map, and the band test that
decides the poster's claim "regularized models are insensitive to high-frequency perturbations": per run, the
mean error over the high band (r >= 1/3 cycles/pixel) minus that over the low band (0 < r <= 1/7), compared
with the unregularized runs paired by seed.

The runs: Fig. 2's five conditions (unregularized; S^pixel and S^Th for each pool) and Gaussian-noise data
augmentation (σ = ``noise_sigma``). The maps need the weights: at ``full`` the published records of seeds 0-4
hold none, so the page reads the main comparison's seeds 5-9, trained in the round that added it, and the
noise-augmentation frontier grid's σ 0.3 runs (seeds 0-4; those are the noise-augmented runs with weights).
Those do not share seeds with the others, so at ``full`` noise augmentation is compared by Welch's test, not
paired. :class:`FrequencyPlan` is the plan the corruption page (:mod:`pixelreg.figures.corruptions`) shares.
"""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import ClassVar

import numpy as np
import pandas as pd

from pixelreg.analysis.verdicts import compare_by_seed
from pixelreg.errors import ConfigError
from pixelreg.experiment.config import TrainConfig, check_value, condition_label
from pixelreg.figures.common import (PLAN_NAMES, FigureData, TrainedFigure, as_tuple, ensure_runs, fmt, pstate,
                                     runs_table)
from pixelreg.figures.fig2 import Fig2, default_pools
from pixelreg.figures.sentences import join_and, too_few_to_judge
from pixelreg.robustness.attacks import DEFAULT_CUTOFF
from pixelreg.robustness.fourier import DEFAULT_BANDS, DEFAULT_NORM, band_errors, band_masks, fourier_frequencies
from pixelreg.robustness.sensitivity import fourier_maps, map_tensor

__all__ = ["FrequencyPlan", "Fourier", "group_label", "band_table", "band_summary", "band_tests", "SEEDS",
           "NOISE_SIGMA", "NOISE_SEEDS", "FOURIER_IMAGES"]

# Seeds per profile where they differ from the profile's own: at `full` only this round's runs have weights.
SEEDS = {"full": tuple(range(5, 10))}  # Fig. 2's five conditions: the main comparison's seeds 5-9
# The noise-augmentation condition: σ of the Gaussian augmentation, and its seeds where they differ from the
# page's seeds. σ 0.3 is the frontier grid's (Beyond.unreg(seed, noise_aug=0.3), seeds 0-4 at full): of its
# runs with weights, the strongest augmentation short of 0.5, chosen before any map was computed because
# Yin et al.'s trade-off (less high-, more low-frequency sensitivity) is a claim about strong augmentation.
NOISE_SIGMA = 0.3
NOISE_SEEDS = {"full": tuple(range(5))}
# Test images per frequency. At full 500 (Yin et al. used 1,000 CIFAR-10 images); cpu 20 (its book's time budget);
# smoke 2 (a code path, seconds per page).
FOURIER_IMAGES = {"smoke": 2, "cpu": 20, "full": 500, "paper": 1000}


def group_label(config: TrainConfig) -> str:
    """A run's condition with its pool: "unregularized", "S^Th <- natural", "noise-aug σ=0.3"."""
    c = condition_label(config)
    if config.regularized:
        return f"{c} <- {config.pool_source}"
    if float(config.noise_aug or 0) > 0:
        return f"noise-aug σ={float(config.noise_aug):g}"
    return c


@dataclass(frozen=True, kw_only=True)
class FrequencyPlan(TrainedFigure):
    """The runs of the frequency pages: Fig. 2's five conditions at ``seeds`` and Gaussian-noise augmentation at
    ``noise_sigma`` and ``noise_seeds``."""

    # the plan: the task (its pools are Fig. 2's for that task)
    PLANS: ClassVar[dict[str, str]] = {"analogue": "fashion-mnist", "paper": "cifar10"}
    # records mode: the seeds of each part whose runs (and the page's evaluation) are published so far
    interim_fields: ClassVar[dict[str, int]] = {"seeds": 2, "noise_seeds": 2}

    plan: str | None = None  # "paper" or "analogue"; None: the profile's
    task: str | None = None  # classification dataset; None: the plan's (analogue: fashion-mnist)
    reg_data: tuple[str, ...] | None = None  # pools; None: Fig. 2's for the task (analogue: fashion-mnist, natural)
    seeds: tuple[int, ...] | None = None  # None: 5-9 at full (they have weights), else the profile's seeds
    noise_sigma: float = NOISE_SIGMA  # σ of the Gaussian augmentation of the noise-augmented runs
    noise_seeds: tuple[int, ...] | None = None  # None: 0-4 at full (the frontier grid's), else the page's seeds

    def profile_defaults(self, prof):
        task = self.task or self.PLANS[self.plan]
        seeds = as_tuple("seeds", self.seeds, int) or SEEDS.get(prof.name, prof.seeds)
        return dict(task=task, reg_data=default_pools(self.plan, task), seeds=seeds,
                    noise_seeds=NOISE_SEEDS.get(prof.name, seeds))

    def check(self) -> None:
        check_value("noise_aug", self.noise_sigma, name="noise_sigma")
        if not self.noise_sigma > 0:
            raise ConfigError("noise_sigma", self.noise_sigma, "a number in (0, 1] (0 is the unregularized run)")
        self._set("noise_sigma", float(self.noise_sigma))
        seeds = as_tuple("noise_seeds", self.noise_seeds, int)
        if not seeds:
            raise ConfigError("noise_seeds", self.noise_seeds, "one or more integers >= 0")
        for s in seeds:
            check_value("seed", s, name="noise_seeds")
        self._set("noise_seeds", seeds)

    @property
    def panels(self) -> tuple[str, ...]:
        """The dataset pairs "task<-pool" (the claims page names them)."""
        return tuple(f"{self.task}<-{p}" for p in self.reg_data)

    def main_configs(self) -> list[TrainConfig]:
        """Fig. 2's runs at the page's seeds (the same configs, so the same runs)."""
        return Fig2(profile=self.profile, plan=self.plan, task=self.task, reg_data=self.reg_data,
                    seeds=self.seeds).configs()

    def configs(self) -> list[TrainConfig]:
        noise = [self.unreg(s, noise_aug=self.noise_sigma) for s in self.noise_seeds]
        return list(dict.fromkeys(self.main_configs() + noise))

    def groups(self) -> list[str]:
        """The conditions in the page's order: unregularized, then S^pixel and S^Th per pool, then noise-aug."""
        return list(dict.fromkeys(group_label(c) for c in self.configs()))

    def plan_text(self) -> str:
        paired = set(self.noise_seeds) == set(self.seeds)
        return (f"**Plan:** {PLAN_NAMES[self.plan]}. Runs: Fig. 2's five conditions at seeds "
                f"{_seeds(self.seeds)}; Gaussian-noise augmentation (σ = {self.noise_sigma:g}) at seeds "
                f"{_seeds(self.noise_seeds)}" + ("." if paired else
                                                   " (other seeds: compared with Welch's test, not paired)."))

    def ready_runs(self, runs_dir: str | Path | None, progress: bool):
        runs = ensure_runs(self.configs(), runs_dir, progress)
        return runs, self.usable(runs)

    def grouped(self, table: pd.DataFrame, runs) -> pd.DataFrame:
        """``table`` with a ``group`` column (:func:`group_label` of its run), as a category in page order."""
        labels = {r.id: group_label(r.config) for r in runs}
        out = table.assign(group=table["run"].map(labels))
        order = [g for g in self.groups() if g in set(out["group"])]
        out["group"] = pd.Categorical(out["group"], categories=order, ordered=True)
        return out


def _seeds(seeds) -> str:
    s = sorted(seeds)
    if len(s) > 2 and s == list(range(s[0], s[-1] + 1)):
        return f"{s[0]}-{s[-1]}"
    return ", ".join(str(x) for x in s)


# ---- the band table and its summaries (the claim row reads ``bands``) -----------------------------------------

def band_table(maps: pd.DataFrame, low_cutoff: float = DEFAULT_BANDS[0],
               high_cutoff: float = DEFAULT_BANDS[1]) -> pd.DataFrame:
    """Per run and band, the mean error of its map over the band's frequencies.

    Args:
        maps: one row per (run, frequency): run, seed, condition, u, v, error (others kept: group, reg_data).
        low_cutoff, high_cutoff: the bands in cycles/pixel (:func:`pixelreg.robustness.fourier.band_masks`: low
            0 < r <= low_cutoff, high r >= high_cutoff).
    Returns:
        one row per (run, band): run, seed, condition, reg_data, group, clean_error (where ``maps`` has them),
        band ("low" or "high"), error.
    """
    keep = [c for c in ("run", "seed", "condition", "reg_data", "group", "clean_error") if c in maps.columns]
    rows = []
    masks = None
    for run, g in maps.groupby("run", sort=False, observed=True):
        m = map_tensor(g)
        if masks is None or masks.low.shape != m.shape:
            masks = band_masks(m.shape[0], low_cutoff, high_cutoff)
        low, high = band_errors(m, masks)
        first = g.iloc[0]
        for band, err in (("low", low), ("high", high)):
            rows.append({**{c: first[c] for c in keep}, "band": band, "error": err})
    out = pd.DataFrame(rows, columns=[*keep, "band", "error"])
    if "group" in out and isinstance(maps["group"].dtype, pd.CategoricalDtype):
        out["group"] = pd.Categorical(out["group"], categories=maps["group"].cat.categories, ordered=True)
    return out


#: the band tests' metrics (column ``metric`` of :func:`band_tests`) and how the page names them. With the runs'
#: clean error in the table, each band is measured as the error its perturbations add to the clean error, so a
#: condition that costs clean accuracy is not read as sensitive (the excess needs no such correction: it cancels)
BAND_METRICS = {"excess": "high − low", "high over clean": "high band minus clean error",
                "low over clean": "low band minus clean error", "high": "high band", "low": "low band"}


def _per_run(bands: pd.DataFrame, by: str) -> pd.DataFrame:
    """(by, seed) rows with columns low, high and excess = high − low; with ``clean_error`` in ``bands`` also
    clean_error and each band's error over it ("low over clean", "high over clean")."""
    w = bands.pivot_table(index=[by, "seed"], columns="band", values="error", observed=True).reset_index()
    w.columns.name = None
    w["excess"] = w["high"] - w["low"]
    if "clean_error" in bands.columns:
        clean = bands.groupby([by, "seed"], observed=True)["clean_error"].first().rename("clean_error")
        w = w.merge(clean.reset_index(), on=[by, "seed"], how="left")
        for band in ("low", "high"):
            w[f"{band} over clean"] = w[band] - w["clean_error"]
    return w


def band_summary(bands: pd.DataFrame, by: str = "group") -> pd.DataFrame:
    """Per ``by``: runs, mean low- and high-band error and their difference (excess = high − low), with the SEM
    of the excess over runs."""
    w = _per_run(bands, by)
    g = w.groupby(by, observed=True, sort=True)
    out = g.agg(n=("seed", "size"), low=("low", "mean"), high=("high", "mean"), excess=("excess", "mean"),
                excess_sd=("excess", "std")).reset_index()
    out["excess_sem"] = out["excess_sd"] / np.sqrt(out["n"])
    return out.drop(columns="excess_sd")


def band_tests(bands: pd.DataFrame, by: str = "group", base: str = "unregularized",
               confidence: float = 0.95) -> pd.DataFrame:
    """Each ``by`` value minus ``base`` in the excess (high − low) and in each band's error, over the run's clean
    error where ``bands`` has it ("high over clean", "low over clean"; else the raw "high", "low"): paired by seed
    over the seeds both have (:func:`pixelreg.analysis.verdicts.compare_by_seed`), Welch's t otherwise.
    Columns: group, metric, test, n_a, n_b, mean_a, mean_b, diff, ci_low, ci_high, p."""
    w = _per_run(bands, by)
    w[by] = w[by].astype(str)
    metrics = ("excess", *(("high over clean", "low over clean") if "clean_error" in w else ("high", "low")))
    rows = []
    for b in [x for x in dict.fromkeys(w[by]) if x != base]:
        if base not in set(w[by]):
            break
        for metric in metrics:
            c = compare_by_seed(w, base, b, value=metric, condition=by, confidence=confidence)
            rows.append(dict(group=b, metric=metric, test=c.test, n_a=c.n_a, n_b=c.n_b,
                             mean_a=float(np.mean(c.a)) if len(c.a) else np.nan,
                             mean_b=float(np.mean(c.b)) if len(c.b) else np.nan, diff=c.estimate,
                             ci_low=c.ci_low, ci_high=c.ci_high, p=c.p))
    return pd.DataFrame(rows, columns=["group", "metric", "test", "n_a", "n_b", "mean_a", "mean_b", "diff",
                                       "ci_low", "ci_high", "p"])


@dataclass(frozen=True, kw_only=True)
class Fourier(FrequencyPlan):
    """Fourier sensitivity maps per condition (mean over seeds), their differences to the unregularized map, and
    the band test (high-band minus low-band error) per condition."""

    name: ClassVar[str] = "fourier"
    record_evaluations: ClassVar[tuple[str, ...]] = ("fourier",)

    n_images: int | None = None  # test images per frequency; None: FOURIER_IMAGES of the profile (full: 500)
    norm: float = DEFAULT_NORM  # L2 norm of each perturbation per 28x28 image ([0, 1] pixels): Yin et al.'s RMS
    low_cutoff: float = DEFAULT_BANDS[0]  # low band: 0 < r <= 1/7 cycles/pixel (periods of 7 pixels or more)
    high_cutoff: float = DEFAULT_BANDS[1]  # high band: r >= 1/3 cycles/pixel (periods of 3 pixels or less)

    def profile_defaults(self, prof):
        return dict(**super().profile_defaults(prof), n_images=FOURIER_IMAGES.get(prof.name, 500))

    def check(self) -> None:
        super().check()
        if isinstance(self.norm, bool) or not isinstance(self.norm, (int, float)) or not self.norm > 0:
            raise ConfigError("norm", self.norm, "an L2 norm > 0 ([0, 1] pixel units)")
        band_masks(28, self.low_cutoff, self.high_cutoff)  # ConfigError naming the cutoff

    def evaluate(self, runs) -> pd.DataFrame:
        """The page's Fourier maps of ``runs`` (:func:`pixelreg.robustness.sensitivity.fourier_maps` with the
        page's images, norm and the profile's precision; cached per run): the call that fills the cache the page
        reads, e.g. ``Fourier(profile="full").evaluate([Run.open(path)])``."""
        return fourier_maps(runs, n_images=self.n_images, norm=float(self.norm), precision=self.precision)

    def data(self, runs_dir: str | Path | None = None, progress: bool = True) -> FigureData:
        """Tables: ``maps`` (per condition and frequency u, v in cycles per image: mean error over seeds, runs),
        ``differences`` (each condition's mean map minus the unregularized one), ``bands`` (per run and band:
        mean error; what the claim row reads), ``band_summary``, ``band_tests`` (each condition minus
        unregularized in low, high and excess error; paired by seed where they share seeds, else Welch; 95%),
        ``clean`` (per run: clean error)."""
        runs, ok = self.ready_runs(runs_dir, progress)
        per_run = self.grouped(self.evaluate(ok), ok)
        maps = (per_run.groupby(["group", "u", "v"], observed=True)
                .agg(error=("error", "mean"), runs=("run", "nunique")).reset_index())
        base = maps[maps["group"] == "unregularized"][["u", "v", "error"]].rename(columns={"error": "base"})
        diffs = maps[maps["group"] != "unregularized"].merge(base, on=["u", "v"])
        diffs = diffs.assign(diff=diffs["error"] - diffs["base"])[["group", "u", "v", "diff"]]
        bands = band_table(per_run, self.low_cutoff, self.high_cutoff)
        clean = per_run.drop_duplicates("run")[["run", "seed", "condition", "reg_data", "group", "clean_error"]]
        return self.figure_data(dict(maps=maps, differences=diffs.reset_index(drop=True), bands=bands,
                                     band_summary=band_summary(bands), band_tests=band_tests(bands),
                                     clean=clean.reset_index(drop=True)), runs_table(runs))

    def what_we_see(self, data: FigureData) -> str:
        s, t = data["band_summary"], data["band_tests"]
        if not len(s):
            return "No numbers to summarise (empty tables)."
        lines = [f"Mean error under Fourier-basis perturbations of L2 norm {self.norm:g}, low band (0 < f <= "
                 f"{self.low_cutoff:.3g} cycles/pixel) vs high band (f >= {self.high_cutoff:.3g}), "
                 f"{self.n_images} test images per frequency (Fig. 4's low-frequency share splits the spectrum "
                 f"at one cutoff instead, {DEFAULT_CUTOFF:g} cycles/pixel, with nothing between the bands):"]
        mid = between_bands(data.tables.get("maps"), self.low_cutoff, self.high_cutoff)
        for r in s.itertuples():
            m = mid.get(str(r.group))
            lines.append(f"- **{r.group}** ({r.n} runs): low {fmt(r.low)}, high {fmt(r.high)}, high − low "
                         f"{r.excess:+.3f}" + (f"; between the bands {fmt(m)}" if m is not None else "") + ".")
        worst = [g for g, r in s.set_index("group").iterrows() if str(g) in mid and mid[str(g)] > max(r.low, r.high)]
        if worst:
            lines.append(f"The band test leaves out the frequencies between its bands ({self.low_cutoff:.3g} < f < "
                         f"{self.high_cutoff:.3g} cycles/pixel), where {join_and([_model(g) for g in worst])} "
                         f"{'have' if len(worst) > 1 else 'has'} a higher mean error than in either band. The bands "
                         "were fixed before the maps were computed; the maps above show the whole spectrum.")
        if len(t):
            k = 3 * t["group"].nunique()
            lines.append("Each condition minus the unregularized model (95% intervals, unadjusted: exploratory "
                         f"here: of the {k} intervals on this page, about {0.05 * k:.1f} would exclude 0 by chance "
                         "alone if nothing differed; the claims page judges S^Th at the family level):")
            if set(t.metric) & {"high over clean", "low over clean"}:
                lines.append("(Each band's error is the run's error there minus its clean error: the errors its "
                             "perturbations add. A condition that costs clean accuracy starts with more errors under "
                             "every perturbation, and has fewer correct images left to lose, so an added error is "
                             "bounded by its clean accuracy. The high − low balance needs no such correction: the "
                             "clean error cancels in it.)")
            for g, gt in t.groupby("group", sort=False):
                parts = []
                for metric in dict.fromkeys(gt.metric):
                    r = gt[gt.metric == metric].iloc[0]
                    parts.append(f"{BAND_METRICS[metric]} {r['diff']:+.3f} [{fmt(r.ci_low)}, {fmt(r.ci_high)}]")
                r = gt.iloc[0]
                n = f"{r.n_a} pairs" if r.test.startswith("paired") else f"{r.n_a} vs {r.n_b} runs"
                ex = gt[gt.metric == "excess"].iloc[0]
                lines.append(f"- **{g}** ({r.test}, {n}): " + "; ".join(parts) + f"; {pstate(ex.p)} for the "
                             "excess. " + _meaning(gt))
        return "\n".join(lines)


def between_bands(maps: pd.DataFrame | None, low_cutoff: float, high_cutoff: float) -> dict[str, float]:
    """Per group of the page's ``maps`` (seed-mean error per frequency u, v in cycles per image), the mean error
    over the frequencies in neither band nor DC (:func:`pixelreg.robustness.fourier.band_masks`): those the band
    test leaves out. {} without the table."""
    if maps is None or not len(maps) or not {"group", "u", "v", "error"} <= set(maps.columns):
        return {}
    out = {}
    for g, m in maps.groupby("group", observed=True, sort=False):
        errors = map_tensor(m)
        masks = band_masks(errors.shape[0], low_cutoff, high_cutoff)
        f = fourier_frequencies(errors.shape[0])
        mid = ~(masks.low | masks.high | ((f[:, None] == 0) & (f[None, :] == 0)))
        out[str(g)] = float(errors[mid].mean())
    return out


def _model(group) -> str:
    return "the unregularized model" if str(group) == "unregularized" else str(group)


def _meaning(gt: pd.DataFrame) -> str:
    """What one condition's band differences say, decided by their 95% intervals."""
    def sign(*metrics):
        r = gt[gt.metric.isin(metrics)]
        if not len(r) or not np.isfinite(r.iloc[0].ci_low):
            return None
        r = r.iloc[0]
        return 1 if r.ci_low > 0 else -1 if r.ci_high < 0 else 0

    ex, hi, lo = sign("excess"), sign("high over clean", "high"), sign("low over clean", "low")
    over = " (minus clean error)" if "high over clean" in set(gt.metric) else ""
    if ex is None:
        return "Too few runs for an interval."
    r0 = gt.iloc[0]
    few = too_few_to_judge(r0.n_a, r0.n_b, paired=str(r0.get("test", "paired")).startswith("paired"))
    if few:
        return few[0].upper() + few[1:] + "."
    if ex < 0:
        trade = (" and more sensitive to low frequencies: the trade-off Yin et al. found for noise augmentation"
                 if lo == 1 else "")
        return ("Relative to the low band, less sensitive to high frequencies than the unregularized model"
                + trade + ".")
    if ex > 0:
        return "Relative to the low band, more sensitive to high frequencies than the unregularized model."
    if hi == -1 or lo == -1:
        return ("Lower error in " + " and ".join(b for b, v in (("the high band", hi), ("the low band", lo)) if v == -1)
                + over + ", but the high − low balance does not differ beyond its interval.")
    return "The high − low balance does not differ from the unregularized model's beyond its interval."


PAGE = Fourier
