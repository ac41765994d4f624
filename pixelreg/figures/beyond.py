"""Beyond the paper: S^Th and S^pixel beside two controls a reader will ask for, Gaussian-noise data
augmentation and a shuffled target."""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import ClassVar

import pandas as pd

from pixelreg.analysis import stats
from pixelreg.experiment.config import TrainConfig, check_value
from pixelreg.errors import ConfigError
from pixelreg.analysis.verdicts import auc_by_run
from pixelreg.figures.common import NOISE_ATTACKS, FigureData, OnePoolFigure, ensure_runs, fmt, pstate, runs_table, tests
from pixelreg.figures.sentences import comparison_n, interval_state
from pixelreg.figures.tables import COMPARISON_COLUMNS, paired_comparisons

__all__ = ["Beyond"]

CONDITIONS = ("S^pixel", "S^Th", "shuffled", "noise-aug")
# S^Th against each control directly, paired by seed (b − a): whether one interval excludes 0 and another holds
# it is not itself a test of the difference between them
HEAD_TO_HEAD = (("noise-aug", "S^Th"), ("shuffled", "S^Th"))


@dataclass(frozen=True, kw_only=True)
class Beyond(OnePoolFigure):
    """S^Th and S^pixel beside Gaussian-noise data augmentation (σ = ``noise_sigma``) and a shuffled target
    (S^Th of a random permutation of the pool: same target statistics, no relation to the images). Which
    gains show in the AUC over ε > 0, paired by seed?"""

    name: ClassVar[str] = "beyond"
    # the plan: per plan, the dataset pair "task<-pool" and the paper panel it stands for
    PLANS: ClassVar[dict[str, tuple[str, str]]] = {
        "paper": ("cifar10<-imagenet", "no paper panel (controls the paper did not run), on Fig. 2b's pair"),
        "analogue": ("fashion-mnist<-fashion-mnist", "no paper panel (controls the paper did not run)"),
    }

    plan: str | None = None  # "paper" or "analogue"; None: the profile's (paper at the paper profile)
    task: str | None = None  # None: the plan's (paper: cifar10; analogue: fashion-mnist)
    reg_data: str | None = None  # None: the plan's pool (paper: imagenet), else the task's own images
    alpha: float | None = None  # None: the profile's alpha, else the paper's table
    th: float | None = None  # None: the paper's Th for the dataset pair
    seeds: tuple[int, ...] | None = None  # None: the profile's seeds
    noise_sigma: float = 0.2  # σ of the Gaussian augmentation baseline, in (0, 1] pixel units
    attacks: tuple[str, ...] = NOISE_ATTACKS
    n_images: int | None = None  # None: the profile's

    def profile_defaults(self, prof):
        return dict(**self.pair_defaults(), seeds=prof.seeds, n_images=prof.eval_images)

    def check(self) -> None:
        check_value("noise_aug", self.noise_sigma, name="noise_sigma")
        if self.noise_sigma == 0:
            raise ConfigError("noise_sigma", self.noise_sigma, "a number in (0, 1] (0 is the unregularized run)")

    def configs(self) -> list[TrainConfig]:
        a, t = self.reg_params(self.reg_data)
        out = []
        for seed in self.seeds:
            out += [self.unreg(seed), self.unreg(seed, noise_aug=float(self.noise_sigma))]
            for target in ("pixel", "thresholded", "shuffled"):
                out.append(self.cfg(reg_data=self.reg_data, alpha=a, th=t, target=target, seed=seed))
        return out

    def claim_data(self, runs_dir: str | Path | None = None, progress: bool = True) -> FigureData:
        """The tables the claim rows read (``curves``), without the per-ε tests' bootstrap (the claims page)."""
        runs = ensure_runs(self.configs(), runs_dir, progress)
        return self.figure_data(dict(curves=self.curves(runs, self.attacks, self.n_images)), runs_table(runs))

    def data(self, runs_dir: str | Path | None = None, progress: bool = True) -> FigureData:
        runs = ensure_runs(self.configs(), runs_dir, progress)
        curves = self.curves(runs, self.attacks, self.n_images)
        noisy = sorted(float(e) for e in curves["epsilon"].unique() if e > 0)
        auc = auc_by_run(curves, epsilons=noisy)  # the book's one summary: AUC over ε > 0
        pairs = [*(("unregularized", b) for b in CONDITIONS), *HEAD_TO_HEAD]  # paired by seed, as on the claims page
        parts = [paired_comparisons(g, pairs).assign(attack=attack)
                 for attack, g in auc.groupby("attack", sort=True)]
        auc_tests = (pd.concat(parts, ignore_index=True) if parts
                     else pd.DataFrame(columns=["attack", *COMPARISON_COLUMNS]))
        return self.figure_data(
            dict(curves=curves, summary=stats.mean_sem(curves), tests=tests(curves, "unregularized", CONDITIONS),
                 auc=auc, auc_tests=auc_tests[["attack", *COMPARISON_COLUMNS]]),
            runs_table(runs))

    def what_we_see(self, data: FigureData) -> str:
        t = data["auc_tests"]
        if not len(t):
            return "No numbers to summarise (empty tables)."

        def line(r) -> str:
            return (f"- {r.attack}, {r.b}: AUC over ε > 0 {fmt(r.mean_b)} vs {r.a} {fmt(r.mean_a)} "
                    f"(Δ = {r.diff:+.3f} [{fmt(r.ci_low)}, {fmt(r.ci_high)}], {r.test}, "
                    f"{comparison_n(r.test, r.n_a, r.n_b)}, {pstate(r.p)}, unadjusted) - "
                    + interval_state(r.ci_low, r.ci_high))

        base = t[t["a"] == "unregularized"]
        direct = t[t["a"] != "unregularized"]
        lines = []
        if len(base):
            lines.append("The AUC over ε > 0 per run, each condition minus the unregularized model paired by seed "
                         "(the summary and test the claims page uses, so the same comparison gives the same "
                         "number there; these controls are exploratory, their intervals unadjusted 95%):")
            lines += [line(r) for r in base.itertuples()]
        if len(direct):
            lines += ["", "S^Th against each control directly, paired by seed (S^Th minus the control). This is the "
                      "test of whether S^Th is ahead of a control: one condition's gain over the unregularized "
                      "model excluding 0 while another's holds 0 is not itself a difference between them."]
            lines += [line(r) for r in direct.itertuples()]
        return "\n".join(lines)


PAGE = Beyond


# ---- claim rows read from this page's tables (gathered by pixelreg.figures.claims) -------------------------
from pixelreg.analysis.verdicts import Rule, compare_by_seed  # noqa: E402
from pixelreg.figures.claimrows import AUC_SUMMARY, SESOI_AUC, SESOI_AUC_WHY, Claim, noisy_auc  # noqa: E402

CLAIMS = (
    Claim("sth-vs-noise-aug", "S^Th is more robust to Gaussian noise than plain Gaussian-noise data augmentation "
          "(not a claim of the paper: the practical comparison a reader will ask for)", "beyond the paper",
          ("beyond",), "{pairs}, S^Th vs Gaussian-noise augmentation (σ of the beyond page), Gaussian noise",
          f"{AUC_SUMMARY}; S^Th − noise augmentation", Rule(sesoi=SESOI_AUC, unit="AUC", why=SESOI_AUC_WHY),
          lambda d, ctx: compare_by_seed(noisy_auc(d["beyond"]["curves"], attack="gaussian"), "noise-aug", "S^Th"),
          "AUC"),
    Claim("sth-vs-shuffled", "S^Th's Gaussian-noise robustness comes from its pixel-similarity target: S^Th is more "
          "robust than the same regularizer with a shuffled target, which keeps the target's statistics but not its "
          "relation to the images (not a claim of the paper: the specificity control for noise)", "beyond the paper",
          ("beyond",), "{pairs}, S^Th vs the shuffled-target control (the beyond page), Gaussian noise",
          f"{AUC_SUMMARY}; S^Th − shuffled target", Rule(sesoi=SESOI_AUC, unit="AUC", why=SESOI_AUC_WHY),
          lambda d, ctx: compare_by_seed(noisy_auc(d["beyond"]["curves"], attack="gaussian"), "shuffled", "S^Th"),
          "AUC"),
)
