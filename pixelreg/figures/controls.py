"""Are the transfer and boundary gains specific to the similarity target? The beyond page's controls under
FGSM transferred from an unregularized model and under the converged boundary attack (issue 22 item 3).

A transferred attack is computed on a source model and only replayed on the target, so it is weaker against any
target that differs from its source. A gain of S^Th under transferred FGSM (Fig. 3) therefore says little until
models that differ from the source as much, without the similarity target, are attacked the same way: here the
beyond page's Gaussian-noise augmentation and shuffled-target runs beside the unregularized, S^pixel and S^Th
runs of the same seeds. The same runs also get Fig. 4's converged boundary attack (HopSkipJump from the reference
attack's starting points, to convergence): the size of the minimal perturbation and its low-frequency share.

**One processor.** The transfer source must be run forward and backward, so it needs weights; the published seeds
0-4 and Fig. 3's source (seed 1000) are records without them, trained on a processor whose float kernels differ
from this round's, so retraining does not give back the recorded models (book/reproduce.md). At ``full`` the page
therefore uses the seeds trained this round (:data:`SEEDS`: 7, 8, 9) and a source of its own, seed
:data:`SOURCE_SEEDS` 1001, trained on the same machine; the source's weight digest names its evaluations.
"""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import ClassVar

import numpy as np
import pandas as pd

from pixelreg.analysis.verdicts import auc_by_run, compare_by_seed
from pixelreg.errors import ConfigError, RecordOnlyRunError
from pixelreg.experiment.config import TrainConfig, check_value, condition_label
from pixelreg.figures.beyond import Beyond
from pixelreg.figures.common import FigureData, OnePoolFigure, ensure_runs, fmt, pfmt, runs_table
from pixelreg.figures.fig3 import Fig3, check_source_seed
from pixelreg.figures.fig4 import CONVERGED_ATTACK, CONVERGED_SCALE, check_converged
from pixelreg.robustness.convergence import CONVERGENCE_TOL, boundary_convergence, convergence_summary
from pixelreg.robustness.evaluate import DEFAULT_CUTOFF, robust_accuracy
from pixelreg.robustness.spectra import share_table

__all__ = ["Controls", "SEEDS", "SOURCE_SEEDS", "CONDITIONS", "CONTRASTS"]

# The page's seeds where a profile's differ from its own seeds: at full, seeds 7-9 of the main comparison (trained
# this round with weights, on one processor with the source). Decided on 2026-12-06, before any of these runs was
# evaluated under a transfer or boundary attack.
SEEDS = {"full": (7, 8, 9)}
# The transfer source's seed where a profile's differs from Fig. 3's (1000): at full Fig. 3's source is a record
# without weights, trained on another processor.
SOURCE_SEEDS = {"full": 1001}
CONDITIONS = ("S^pixel", "S^Th", "shuffled", "noise-aug")  # each compared with the unregularized runs
CONTRASTS = (("noise-aug", "S^Th"), ("shuffled", "S^Th"))  # S^Th against each control: is its gain specific?
VALUES = {"auc": "AUC over ε > 0 under transferred FGSM", "median_l2": "median L2 of the converged minimal "
          "perturbation", "share": "low-frequency share of the converged perturbation's power"}


@dataclass(frozen=True, kw_only=True)
class Controls(OnePoolFigure):
    """The unregularized, S^pixel and S^Th runs beside Gaussian-noise augmentation (σ = ``noise_sigma``) and a
    shuffled target (the beyond page's runs at ``seeds``), under FGSM transferred from the unregularized run of seed
    ``source_seed`` and (``boundary``) under the converged boundary attack of Fig. 4.

    Tables: ``curves`` (per run and ε, transferred FGSM), ``auc`` (per run, AUC over ε > 0), ``boundary`` (per run:
    whether the converged attack converged, its median L2, the mean low-frequency share of its perturbations),
    ``tests`` (per measure: each condition − unregularized, and S^Th − each control, paired by seed)."""

    name: ClassVar[str] = "controls"
    interim_fields: ClassVar[dict[str, int]] = {"seeds": 2}  # records mode: the seeds published so far
    PLANS: ClassVar[dict[str, tuple[str, str]]] = Beyond.PLANS

    plan: str | None = None  # "paper" or "analogue"; None: the profile's (paper at the paper profile)
    task: str | None = None  # None: the plan's (paper: cifar10; analogue: fashion-mnist)
    reg_data: str | None = None  # None: the plan's pool (paper: imagenet), else the task's own images
    alpha: float | None = None  # None: the profile's alpha, else the paper's table
    th: float | None = None  # None: the paper's Th for the dataset pair
    seeds: tuple[int, ...] | None = None  # None: SEEDS of the profile (full: 7, 8, 9), else the profile's seeds
    noise_sigma: float = 0.2  # σ of the Gaussian augmentation control (the beyond page's), in (0, 1] pixel units
    source_seed: int | None = None  # seed of the unregularized transfer source; None: SOURCE_SEEDS of the profile
    # (full: 1001), else Fig. 3's (1000); never an evaluated seed
    boundary: bool = True  # also run the converged boundary attack (minutes per run at full)
    n_images: int | None = None  # test images per FGSM curve; None: the profile's
    converged_images: int | None = None  # images per converged attack; None: Fig. 4's (CONVERGED_SCALE)
    converged_cap: int | None = None  # the converged attack's cap in iterations; None: Fig. 4's
    cutoff: float = DEFAULT_CUTOFF  # cycles/pixel between "low" and "high" frequencies (Fig. 4's)

    def profile_defaults(self, prof):
        images, cap = CONVERGED_SCALE.get(prof.name, (prof.boundary_images, 64))
        return dict(**self.pair_defaults(), seeds=SEEDS.get(prof.name, prof.seeds), n_images=prof.eval_images,
                    source_seed=SOURCE_SEEDS.get(prof.name, Fig3.source_seed), converged_images=images,
                    converged_cap=cap)

    def check(self) -> None:
        check_value("noise_aug", self.noise_sigma, name="noise_sigma")
        if self.noise_sigma == 0:
            raise ConfigError("noise_sigma", self.noise_sigma, "a number in (0, 1] (0 is the unregularized run)")
        check_source_seed(self.source_seed, self.seeds)
        if not isinstance(self.boundary, (bool, np.bool_)):
            raise ConfigError("boundary", self.boundary, "True or False")
        check_converged(self.cutoff, self.converged_images, self.converged_cap)

    def beyond(self) -> Beyond:
        """The beyond page at this page's pair and seeds: its runs are this page's targets."""
        return Beyond(profile=self.profile, plan=self.plan, task=self.task, reg_data=self.reg_data, alpha=self.alpha,
                      th=self.th, seeds=self.seeds, noise_sigma=self.noise_sigma)

    def configs(self) -> list[TrainConfig]:
        """The beyond page's runs at this page's seeds, then the transfer source."""
        return self.beyond().configs() + [self.unreg(self.source_seed)]

    def plan_text(self) -> str:
        whose = (" (Fig. 3's source)" if self.source_seed == Fig3.source_seed else
                 ", a source of this page's own")
        return super().plan_text() + f" FGSM is transferred from the unregularized run of seed {self.source_seed}{whose}."

    # -- the tables -----------------------------------------------------------------------------------------
    def data(self, runs_dir: str | Path | None = None, progress: bool = True) -> FigureData:
        configs = self.configs()
        runs = ensure_runs(configs, runs_dir, progress)
        targets, source = self.usable(runs[:-1]), runs[-1]
        curves = robust_accuracy(targets, "fgsm", n_images=self.n_images, source=source, precision=self.precision)
        noisy = sorted(float(e) for e in curves["epsilon"].unique() if e > 0)
        auc = auc_by_run(curves, epsilons=noisy)
        bnd = self.boundary_table(targets) if self.boundary else pd.DataFrame(columns=BOUNDARY_COLUMNS)
        tst = pd.concat([comparisons(auc, "auc"), comparisons(bnd[bnd["converged"].astype(bool)], "median_l2"),
                         comparisons(bnd[bnd["converged"].astype(bool)], "share")], ignore_index=True)
        return self.figure_data(dict(curves=curves, auc=auc, boundary=bnd, tests=tst),
                                runs_table(runs), source_run=source.id)

    def boundary_table(self, runs) -> pd.DataFrame:
        """Per run, Fig. 4's converged attack (the same cached evaluation, so Fig. 4's runs share it): whether it
        converged, at how many iterations, the median L2 of the last perturbation and the mean low-frequency share
        of its power. A published record without the evaluation has a row with ``converged`` False and
        ``note`` saying so."""
        rows = []
        for run in runs:
            label = dict(run=run.id, seed=int(run.config.seed), condition=condition_label(run.config))
            try:
                table, delta = boundary_convergence(run, n_images=self.converged_images, attack=CONVERGED_ATTACK,
                                                    cap=self.converged_cap, tol=CONVERGENCE_TOL)
            except RecordOnlyRunError:
                rows.append(dict(label, converged=False, converged_steps=None, median_l2=np.nan, share=np.nan,
                                 n_images=0, note="record without the converged attack"))
                continue
            s = convergence_summary(table).iloc[0]
            sh = share_table(delta[1], self.cutoff, **label, source="converged")
            rows.append(dict(label, converged=bool(s["converged"]), converged_steps=s["converged_steps"],
                             median_l2=float(s["median_l2"]), share=float(sh["share"].mean()) if len(sh) else np.nan,
                             n_images=int(s["n_images"]), note="" if s["converged"] else
                             f"unconverged at the cap of {int(s['steps_run'])} iterations"))
        return pd.DataFrame(rows, columns=BOUNDARY_COLUMNS)

    def what_we_see(self, data: FigureData) -> str:
        lead = specificity_sentence(data["tests"])
        lines = ([lead, ""] if lead else []) + comparison_sentences(data["tests"])
        bnd = data["boundary"]
        if len(bnd):
            ok = bnd["converged"].astype(bool)
            lines.append(f"- The converged boundary attack converged on {int(ok.sum())} of {len(bnd)} runs; the "
                         "others are left out of its rows" + (": " + "; ".join(
                             f"{r.run} ({r.condition}, seed {r.seed}): {r.note}" for r in bnd[~ok].itertuples())
                             if (~ok).any() else "") + ".")
        elif not data.params.get("boundary", True):
            lines.append("- The converged boundary attack was not run (``boundary=False``).")
        return "\n".join(lines) if lines else "No numbers to summarise (empty tables)."


BOUNDARY_COLUMNS = ["run", "seed", "condition", "converged", "converged_steps", "median_l2", "share", "n_images",
                    "note"]
TEST_COLUMNS = ["measure", "a", "b", "mean_a", "mean_b", "diff", "ci_low", "ci_high", "confidence", "test", "n_a",
                "n_b", "p"]


def comparisons(per_run: pd.DataFrame, value: str) -> pd.DataFrame:
    """Per-run ``value`` compared paired by seed: each of :data:`CONDITIONS` − unregularized, then S^Th − each
    control (:data:`CONTRASTS`), where both conditions have at least two runs. Unadjusted 95% intervals: the
    page is exploratory."""
    have = per_run["condition"].value_counts() if len(per_run) else pd.Series(dtype=int)
    rows = []
    for a, b in [("unregularized", c) for c in CONDITIONS] + list(CONTRASTS):
        if have.get(a, 0) < 2 or have.get(b, 0) < 2:
            continue
        c = compare_by_seed(per_run, a, b, value)
        rows.append(dict(measure=value, a=a, b=b, mean_a=float(np.mean(c.a)), mean_b=float(np.mean(c.b)),
                         diff=c.estimate, ci_low=c.ci_low, ci_high=c.ci_high, confidence=c.confidence, test=c.test,
                         n_a=c.n_a, n_b=c.n_b, p=c.p))
    return pd.DataFrame(rows, columns=TEST_COLUMNS)


def _side(r) -> int:
    """+1 when the interval of b − a lies above 0, -1 below, 0 when it holds 0 (or is undefined)."""
    if not (np.isfinite(r.ci_low) and np.isfinite(r.ci_high)):
        return 0
    return 1 if r.ci_low > 0 else -1 if r.ci_high < 0 else 0


def specificity_sentence(tests: pd.DataFrame) -> str:
    """The page's answer, from the contrasts of S^Th with each control under transferred FGSM: specific when
    S^Th's interval lies above both controls', not specific when a control's lies above S^Th's, otherwise not
    shown at this number of seeds. "" without the contrasts (fewer than two runs of a condition)."""
    t = tests[(tests["measure"] == "auc") & (tests["b"] == "S^Th") & (tests["a"] != "unregularized")]
    if t.empty:
        return ""
    parts, sides = [], []
    for r in t.itertuples():
        side = _side(r)
        sides.append(side)
        parts.append(f"S^Th − {r.a} = {r.diff:+.3f} [{fmt(r.ci_low)}, {fmt(r.ci_high)}] ({r.n_a} pairs)")
    if all(sd > 0 for sd in sides) and len(sides) == len(CONTRASTS):
        verdict = ("**Specific:** S^Th resists transferred FGSM better than both controls, so its gain is more than "
                   "that of any model unlike the source")
    elif any(sd < 0 for sd in sides):
        ahead = [r.a for r, sd in zip(t.itertuples(), sides) if sd < 0]
        verdict = (f"**Not specific:** {' and '.join(ahead)} resist{'s' if len(ahead) == 1 else ''} transferred FGSM "
                   "better than S^Th, so differing from the source explains at least as much as the similarity target")
    else:
        n = int(t["n_a"].min())
        unseparated = [r.a for r, sd in zip(t.itertuples(), sides) if sd == 0]
        missing = [c for c, _ in CONTRASTS if c not in set(t["a"])]
        verdict = f"**Not shown to be specific at {n} seeds:** " + "; ".join(
            ([f"S^Th is not separated from {' and '.join(unseparated)} (an interval that holds 0 is not evidence of "
              "no difference)"] if unseparated else [])
            + ([f"no comparison with {' and '.join(missing)} (fewer than two runs)"] if missing else []))
    return verdict + ": " + "; ".join(parts) + " (AUC over ε > 0, paired by seed, unadjusted 95% intervals)."


def comparison_sentences(tests: pd.DataFrame) -> list[str]:
    """One line per comparison, from the numbers: the estimate, its interval and whether it holds 0."""
    lines = []
    for measure, g in tests.groupby("measure", sort=False):
        lines.append(f"**{VALUES.get(measure, measure)}**, b − a paired by seed (unadjusted 95% intervals; "
                     "exploratory):")
        for r in g.itertuples():
            holds = (np.isfinite(r.ci_low) and r.ci_low <= 0 <= r.ci_high) or not np.isfinite(r.ci_low)
            digits = 4 if measure == "share" else 3
            lines.append(f"- {r.b} − {r.a}: {fmt(r.mean_b, digits)} vs {fmt(r.mean_a, digits)}, "
                         f"Δ = {r.diff:+.{digits}f} [{fmt(r.ci_low, digits)}, {fmt(r.ci_high, digits)}] "
                         f"({r.test}, {r.n_a} pairs, p = {pfmt(r.p)}): "
                         + ("the interval holds 0." if holds else "the interval excludes 0."))
    return lines


PAGE = Controls


# ---- claim rows read from this page's tables (gathered by pixelreg.figures.claims) -------------------------
from pixelreg.analysis.verdicts import Rule  # noqa: E402
from pixelreg.figures.claimrows import AUC_SUMMARY, SESOI_AUC, SESOI_AUC_WHY, Claim, NoData, noisy_auc  # noqa: E402
from pixelreg.figures.sentences import MIN_RUNS_TO_JUDGE  # noqa: E402


def _specific(d, ctx):
    """S^Th − each control under transferred FGSM, paired by seed; both must pass (intersection-union)."""
    auc = noisy_auc(d["controls"]["curves"], attack="fgsm")
    absent = sorted({"S^Th", *(c for c, _ in CONTRASTS)} - set(auc["condition"]))
    if absent:
        raise NoData(f"no transferred-FGSM curves for {' and '.join(absent)}")
    return {c: compare_by_seed(auc, c, "S^Th") for c, _ in CONTRASTS}


CLAIMS = (
    Claim("transfer-specific", "S^Th's robustness to transferred FGSM exceeds that of models which differ from the "
          "source without the similarity target (not a claim of the paper: the control its transfer claim needs)",
          "beyond the paper", ("controls",),
          "{pairs}, S^Th vs Gaussian-noise augmentation and vs the shuffled target, FGSM transferred from an "
          "unregularized model of the same machine (controls page); both must pass",
          f"{AUC_SUMMARY}; S^Th − control", Rule(sesoi=SESOI_AUC, unit="AUC", why=SESOI_AUC_WHY,
                                                 min_seeds=MIN_RUNS_TO_JUDGE),
          _specific, "AUC", across=True),
)
