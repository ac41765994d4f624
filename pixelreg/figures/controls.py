"""Are the transfer and boundary gains specific to the similarity target? The beyond page's controls under
FGSM transferred from an unregularized model and under the converged boundary attack (issue 22 item 3).

A transferred attack is computed on a source model and only replayed on the target, so it is weaker against any
target that differs from its source. A gain of S^Th under transferred FGSM (Fig. 3) therefore says little until
models that also differ from the source, without the similarity target, are attacked the same way: here the
beyond page's Gaussian-noise augmentation and shuffled-target runs beside the unregularized, S^pixel and S^Th
runs of the same seeds. The page's answer applies the claims page's rule for the row transfer-specific
(:data:`RULE`: SESOI 0.03 AUC, 3 seeds per cell) to S^Th minus each control.

The same runs also get Fig. 4's converged boundary attack (HopSkipJump from the reference attack's starting
points, until it converges or reaches its cap): the size of the minimal perturbation and its low-frequency share.

**One kind of processor.** The transfer source must be run forward and backward, so it needs weights. The published seeds
0-4 and Fig. 3's source (seed 1000) are records without them, and the source retrained on this round's machine did
not give back its recorded model (book/reproduce.md). At ``full`` the page therefore uses the seeds trained this
round (:data:`SEEDS`: 7, 8, 9) and a source of its own, seed :data:`SOURCE_SEEDS` 1001, trained on the same
kind of processor (AVX2); the source's weight digest names its evaluations, so a source retrained with other weights
cannot share them.
"""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import ClassVar

import numpy as np
import pandas as pd

from pixelreg.analysis.stats import Comparison
from pixelreg.analysis.verdicts import Rule, auc_by_run, compare_by_seed, intersection_union, verdict
from pixelreg.errors import ConfigError, RecordOnlyRunError
from pixelreg.experiment.config import TrainConfig, check_value, condition_label, config_hash
from pixelreg.figures.beyond import Beyond
from pixelreg.figures.claimrows import AUC_SUMMARY, SESOI_AUC, SESOI_AUC_WHY, Claim, NoData, noisy_auc
from pixelreg.figures.common import FigureData, OnePoolFigure, ensure_runs, fmt, pstate, runs_table
from pixelreg.figures.fig3 import Fig3, check_source_seed
from pixelreg.figures.fig4 import check_converged, converged_attack, converged_scale
from pixelreg.figures.sentences import MIN_RUNS_TO_JUDGE, comparison_n, interval_state
from pixelreg.figures.tables import COMPARISON_COLUMNS, paired_comparisons
from pixelreg.robustness.convergence import convergence_summary
from pixelreg.robustness.evaluate import DEFAULT_CUTOFF, robust_accuracy, transferred_from
from pixelreg.robustness.spectra import share_table

__all__ = ["Controls", "SEEDS", "SOURCE_SEEDS", "CONDITIONS", "CONTRASTS", "RULE"]

# The page's seeds where a profile's differ from its own seeds: at full, seeds 7-9 of the main comparison (trained
# this round with weights, on one processor with the source). Decided on 2026-12-06, before any of these runs was
# evaluated under a transfer or boundary attack.
SEEDS = {"full": (7, 8, 9)}
# The transfer source's seed where a profile's differs from Fig. 3's (1000): at full Fig. 3's source is a record
# without weights, trained on another processor.
SOURCE_SEEDS = {"full": 1001}
CONDITIONS = ("S^pixel", "S^Th", "shuffled", "noise-aug")  # each compared with the unregularized runs
CONTRASTS = (("noise-aug", "S^Th"), ("shuffled", "S^Th"))  # S^Th against each control: is its gain specific?
# S^Th − a control: the rule of the page's answer and of the claim row transfer-specific (one rule, two readers)
RULE = Rule(sesoi=SESOI_AUC, unit="AUC", why=SESOI_AUC_WHY, min_seeds=MIN_RUNS_TO_JUDGE)
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
        images, cap = converged_scale(prof)
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

    def held(self, configs, runs_dir=None):
        """A target published without weights is held only if its record has the page's evaluations (FGSM
        transferred from this page's source, and the converged attack with ``boundary``); the source needs none of its own (its
        record's weight digest names the targets' evaluations)."""
        from pixelreg.experiment.sweep import held_runs

        source = self.unreg(self.source_seed)
        need = (("acc-fgsm", transferred_from(config_hash(source))),) + (
            ("boundary-convergence",) if self.boundary else ())
        targets = [c for c in configs if c != source]
        return held_runs(targets, runs_dir, need) | held_runs([c for c in configs if c == source], runs_dir)

    def plan_text(self) -> str:
        fig3s = self.source_seed == Fig3.source_seed and self.profile not in SOURCE_SEEDS
        whose = " (Fig. 3's source)" if fig3s else ", a source of this page's own"
        return (super().plan_text() + " FGSM is transferred from the unregularized run of seed "
                f"{self.source_seed}{whose}.")

    # -- the tables -----------------------------------------------------------------------------------------
    def _transfer(self, runs_dir, progress) -> tuple[list, pd.DataFrame]:
        """(the runs, the transferred-FGSM curves of the usable targets). A failed source stops the page: an
        untrained source would make every target look robust."""
        runs = ensure_runs(self.configs(), runs_dir, progress)
        return runs, transferred_fgsm(self, runs[:-1], runs[-1])

    def claim_data(self, runs_dir: str | Path | None = None, progress: bool = True) -> FigureData:
        """The table the claim row reads (``curves``), without the boundary attack (the claims page)."""
        runs, curves = self._transfer(runs_dir, progress)
        return self.figure_data(dict(curves=curves), runs_table(runs), source_run=runs[-1].id)

    def data(self, runs_dir: str | Path | None = None, progress: bool = True) -> FigureData:
        runs, curves = self._transfer(runs_dir, progress)
        noisy = sorted(float(e) for e in curves["epsilon"].unique() if e > 0)
        auc = auc_by_run(curves, epsilons=noisy)
        bnd = (self.boundary_table(self.usable(runs[:-1])) if self.boundary else
               pd.DataFrame(columns=BOUNDARY_COLUMNS))
        done = bnd[bnd["converged"].eq(True)]
        tst = pd.concat([comparisons(auc, "auc"), comparisons(done, "median_l2"), comparisons(done, "share")],
                        ignore_index=True)
        return self.figure_data(dict(curves=curves, auc=auc, boundary=bnd, tests=tst),
                                runs_table(runs), source_run=runs[-1].id)

    def boundary_table(self, runs) -> pd.DataFrame:
        """Per run, Fig. 4's converged attack (the same cached evaluation, so Fig. 4's runs share it): whether it
        converged, at how many iterations, the median L2 of the last perturbation and the mean low-frequency share
        of its power. A published record without the evaluation has a row with ``converged`` False and
        ``note`` saying so."""
        rows = []
        for run in runs:
            label = dict(run=run.id, seed=int(run.config.seed), condition=condition_label(run.config))
            try:
                table, delta = converged_attack(run, self.converged_images, self.converged_cap)
            except RecordOnlyRunError:
                rows.append(dict(label, converged=False, converged_steps=None, median_l2=np.nan, share=np.nan,
                                 n_images=0, note="record without the converged attack"))
                continue
            s = convergence_summary(table).iloc[0]
            sh = share_table(delta[1], self.cutoff, **label, source="converged")
            note = ("no image had an adversarial start" if int(s["n_images"]) == 0 else "" if s["converged"] else
                    f"unconverged at the cap of {int(s['steps_run'])} iterations")
            rows.append(dict(label, converged=bool(s["converged"]) and not note, converged_steps=s["converged_steps"],
                             median_l2=float(s["median_l2"]), share=float(sh["share"].mean()) if len(sh) else np.nan,
                             n_images=int(s["n_images"]), note=note))
        return pd.DataFrame(rows, columns=BOUNDARY_COLUMNS)

    def what_we_see(self, data: FigureData) -> str:
        lead = specificity_sentence(data["auc"])
        lines = ([lead, ""] if lead else []) + comparison_sentences(data["tests"])
        bnd = data["boundary"]
        if len(bnd):
            ok = bnd["converged"].eq(True)
            lines.append(f"- The converged boundary attack converged on {int(ok.sum())} of {len(bnd)} runs; the "
                         "others are left out of its rows" + (": " + "; ".join(
                             f"{r.run} ({r.condition}, seed {r.seed}): {r.note}" for r in bnd[~ok].itertuples())
                             + ". Leaving a run out drops its seed's pairs: a row whose two conditions share fewer "
                             "than two converged seeds is compared unpaired (Welch), and a paired row on 2 pairs has "
                             "one degree of freedom, so its interval is fragile; a condition that converges less "
                             "often may also be compared on its easier runs"
                             if (~ok).any() else "")
                         + (f". Each run's median rests on {int(bnd['n_images'].max())} attacked images"
                            if bnd["n_images"].nunique() == 1 and bnd["n_images"].max() > 0 else "") + ".")
        elif not data.params.get("boundary", True):
            lines.append("- The converged boundary attack was not run (``boundary=False``).")
        return "\n".join(lines) if lines else "No numbers to summarise (empty tables)."


BOUNDARY_COLUMNS = ["run", "seed", "condition", "converged", "converged_steps", "median_l2", "share", "n_images",
                    "note"]
TEST_COLUMNS = ["measure", *COMPARISON_COLUMNS]


def transferred_fgsm(page, targets, source) -> pd.DataFrame:
    """The transferred-FGSM curves of ``page``'s usable ``targets`` (its ``n_images``, ``precision``), FGSM computed
    on ``source``. A failed source stops the page (ConfigError naming source_seed): an untrained source would make
    every target look robust."""
    if not page.usable([source]):
        raise ConfigError("source_seed", page.source_seed, f"a source run that trained (run {source.id} failed: "
                          f"{source.failure})")
    return robust_accuracy(page.usable(targets), "fgsm", n_images=page.n_images, source=source,
                           precision=page.precision)


def comparisons(per_run: pd.DataFrame, value: str) -> pd.DataFrame:
    """Per-run ``value`` compared paired by seed: each of :data:`CONDITIONS` − unregularized, then S^Th − each
    control (:data:`CONTRASTS`), where both conditions have at least two runs. Unadjusted 95% intervals: the
    page is exploratory."""
    t = paired_comparisons(per_run, [("unregularized", c) for c in CONDITIONS] + list(CONTRASTS), value, min_runs=2)
    t.insert(0, "measure", value)
    return t[TEST_COLUMNS]


def contrasts(auc: pd.DataFrame) -> dict[str, Comparison]:
    """S^Th − each control of :data:`CONTRASTS` on a per-run AUC table (paired by seed where they share two
    seeds), for the controls with at least two runs: what the page's answer and the claim row judge."""
    have = auc["condition"].value_counts() if len(auc) else pd.Series(dtype=int)
    if have.get("S^Th", 0) < 2:
        return {}
    return {c: compare_by_seed(auc, c, "S^Th") for c, _ in CONTRASTS if have.get(c, 0) >= 2}


OUTCOMES = {"reproduced": "S^Th ahead (the interval excludes 0 and is not inside ±SESOI)", "contradicted": "{c} ahead of S^Th",
            "not reproduced": "equivalent within the SESOI", "inconclusive": "not separated"}


def specificity_sentence(auc: pd.DataFrame) -> str:
    """The page's answer: :data:`RULE` (the claim row transfer-specific's) on S^Th − each control under
    transferred FGSM, combined by the intersection-union test. Specific when, against both controls, the interval
    of S^Th − control excludes 0 on S^Th's side and does not lie inside ±SESOI; not specific when a control is ahead of S^Th or equivalent to it; otherwise not shown
    either way (also below 3 seeds per cell, or with a control missing). ``auc``: per run, the AUC over ε > 0
    under transferred FGSM. "" without any contrast."""
    comps = contrasts(auc)
    if not comps:
        return ""
    parts, verdicts = [], {}
    for control, c in comps.items():
        v = verdicts[control] = verdict(c, RULE, confirmatory=False)
        outcome = OUTCOMES[v.category].format(c=control)
        if v.verdict.startswith("inconclusive ("):  # too few seeds
            outcome = f"not judged ({v.verdict.split('(', 1)[1].rstrip(')')})"
        k, shared = ahead_in_seeds(auc, control)
        n_text = (f"{c.n_a} pairs" if c.paired else f"{c.n_a} vs {c.n_b} runs, unpaired") + (
            f"; S^Th ahead in {k} of {shared} seeds" if shared else "")
        parts.append(f"S^Th − {control} = {c.estimate:+.3f} [{fmt(v.ci_low)}, {fmt(v.ci_high)}] ({n_text}): "
                     f"{outcome}")
    missing = [c for c, _ in CONTRASTS if c not in verdicts]
    call = intersection_union(verdicts)[0]
    if missing and call == "reproduced":
        call = "inconclusive"
    n = min(min(c.n_a, c.n_b) for c in comps.values())
    if call == "reproduced":
        head = ("**Specific:** S^Th resists transferred FGSM better than both controls (each interval excludes 0 on "
                f"S^Th's side and does not lie inside ±{SESOI_AUC:g} AUC)")
    elif call == "contradicted" or call.startswith("not reproduced"):
        head = ("**Not specific:** a control without the similarity target resists transferred FGSM at least as "
                "well as S^Th, so the transfer gain does not single out the target")
    else:
        head = f"**Not shown either way at {n} seed{'s' if n != 1 else ''}**" + (
            f" (no comparison with {' and '.join(missing)}: fewer than two runs)" if missing else "")
    return (head + ": " + "; ".join(parts) + f" (AUC over ε > 0; the claims page's rule for transfer-specific: "
            f"unadjusted 95% intervals, SESOI {SESOI_AUC:g} AUC, at least {MIN_RUNS_TO_JUDGE} seeds per cell).")


def ahead_in_seeds(per_run: pd.DataFrame, control: str, value: str = "auc") -> tuple[int, int]:
    """In how many of the seeds S^Th and ``control`` share is S^Th's per-run ``value`` the larger: (count, shared
    seeds). A seed-level view beside the mean difference: a positive mean carried by one seed shows here."""
    w = per_run.pivot_table(index="seed", columns="condition", values=value) if len(per_run) else pd.DataFrame()
    if "S^Th" not in w or control not in w:
        return 0, 0
    both = w[["S^Th", control]].dropna()
    return int((both["S^Th"] > both[control]).sum()), len(both)


def comparison_sentences(tests: pd.DataFrame) -> list[str]:
    """One line per comparison, from the numbers: the estimate, its interval and whether it holds 0."""
    lines = []
    for measure, g in tests.groupby("measure", sort=False):
        lines.append(f"**{VALUES.get(measure, measure)}**, b − a, paired by seed where both share at least two "
                     "seeds (unadjusted 95% intervals; exploratory):")
        for r in g.itertuples():
            digits = 4 if measure == "share" else 3
            lines.append(f"- {r.b} − {r.a}: {fmt(r.mean_b, digits)} vs {fmt(r.mean_a, digits)}, "
                         f"Δ = {r.diff:+.{digits}f} [{fmt(r.ci_low, digits)}, {fmt(r.ci_high, digits)}] "
                         f"({r.test}, {comparison_n(r.test, r.n_a, r.n_b)}, {pstate(r.p)}): "
                         f"{interval_state(r.ci_low, r.ci_high)}")
    return lines


PAGE = Controls


# ---- claim rows read from this page's tables (gathered by pixelreg.figures.claims) -------------------------


def _specific(d, ctx):
    """S^Th − each control under transferred FGSM, paired by seed; both must pass (intersection-union)."""
    auc = noisy_auc(d["controls"]["curves"], attack="fgsm")
    absent = sorted({"S^Th", *(c for c, _ in CONTRASTS)} - set(auc["condition"]))
    if absent:
        raise NoData(f"no transferred-FGSM curves for {' and '.join(absent)}")
    return contrasts(auc)


CLAIMS = (
    Claim("transfer-specific", "S^Th's robustness to transferred FGSM exceeds that of models which differ from the "
          "source without the similarity target (not a claim of the paper: the control its transfer claim needs)",
          "beyond the paper", ("controls",),
          "{pairs}, S^Th vs Gaussian-noise augmentation and vs the shuffled target, FGSM transferred from an "
          "unregularized model trained on the same kind of processor (controls page); both must pass",
          f"{AUC_SUMMARY}; S^Th − control", RULE, _specific, "AUC", across=True),
)
