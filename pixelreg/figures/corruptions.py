"""Common corruptions (beyond the paper; Hendrycks & Dietterich 2019): does the robustness to additive noise
that the regularizer buys carry over to blur, contrast, fog and JPEG, or is it traded for them, as a model
that relies on low frequencies would predict?

Accuracy per corruption and severity (:func:`pixelreg.robustness.sensitivity.corruption_accuracy`) on the
first test images, for the runs of the Fourier page (:class:`pixelreg.figures.fourier.FrequencyPlan`: Fig.
2's five conditions and Gaussian-noise augmentation). The corruptions are the twelve of
:mod:`pixelreg.robustness.corruptions` (CIFAR-10-C's definitions and severity parameters, written for
one-channel 28x28 images): the four noises (Gaussian, shot, impulse, speckle), three blurs (defocus, zoom,
Gaussian), fog, brightness, contrast, pixelate and JPEG. Frost (needs photographs), snow and motion blur
(ImageMagick's motion blur), spatter and saturate (colour) and glass blur and elastic transform are left out
(the module says why). Each run's accuracy is averaged over the five severities, then compared with the
unregularized runs paired by seed (Welch's t where the conditions share no seeds).
"""
from __future__ import annotations

import math
from dataclasses import dataclass
from pathlib import Path
from typing import ClassVar

import numpy as np
import pandas as pd

from pixelreg.analysis.verdicts import compare_by_seed
from pixelreg.errors import ConfigError
from pixelreg.figures.claimrows import SESOI_AUC
from pixelreg.figures.common import FigureData, as_tuple, fmt, runs_table
from pixelreg.figures.sentences import too_few_to_judge
from pixelreg.figures.fourier import FrequencyPlan
from pixelreg.robustness.corruptions import CORRUPTIONS, PARAMS
from pixelreg.robustness.evaluate import EPSILON_GRIDS
from pixelreg.robustness.sensitivity import corruption_accuracy

__all__ = ["Corruptions", "FAMILIES", "CORRUPTION_IMAGES", "family_tests", "carry_over_sentence"]

# Test images per corruption and severity, per profile: full 2,000 (the robustness curves' count), cpu 200 and
# smoke 16 (their books' time budgets).
CORRUPTION_IMAGES = {"smoke": 16, "cpu": 200, "full": 2000, "paper": 10000}

# Families of corruptions, in the page's order: the noises whose robustness the paper measures, then the
# corruptions the question is about (a low-pass model should do better under noise and JPEG's high-frequency
# artefacts and worse under contrast and fog, which act at low frequencies), then the rest.
FAMILIES: dict[str, tuple[str, ...]] = {
    "noise": ("gaussian_noise", "shot_noise", "impulse_noise", "speckle_noise"),
    "blur": ("defocus_blur", "gaussian_blur", "zoom_blur"),
    "contrast": ("contrast",),
    "fog": ("fog",),
    "JPEG": ("jpeg_compression",),
    "brightness": ("brightness",),
    "pixelate": ("pixelate",),
}
FAMILY_OF = {c: f for f, cs in FAMILIES.items() for c in cs}
# the families the carry-over sentence judges: every family but the noises (brightness and pixelate too, though
# the question names blur, contrast, fog and JPEG)
ASKED = ("blur", "contrast", "fog", "JPEG", "brightness", "pixelate")
# what a family test compares: the accuracy itself, or its drop from the same run's clean accuracy on the same
# images (corrupted minus clean, after Hendrycks & Dietterich's relative corruption error without its AlexNet
# normalisation: the clean cost drops out)
MEASURES = {"accuracy": "accuracy minus unregularized", "drop": "drop from clean accuracy minus unregularized's"}


# The smallest difference the sentences call a gain or a loss: the book's smallest effect of interest for a
# robustness AUC (pixelreg.figures.claimrows.SESOI_AUC): that AUC is the mean of the piecewise-linear accuracy curve
# over the noisy ε, on the same scale as an accuracy averaged over severities. An interval inside ±SESOI is "negligible", as on the claims page.
SESOI = SESOI_AUC


def _sign(r) -> int | str | None:
    """1 (interval above 0), -1 (below 0), 0 (holds 0 and reaches beyond ±SESOI), "negligible" (inside ±SESOI,
    whether or not it excludes 0: a difference too small to matter), None (no interval)."""
    if r is None or not np.isfinite(r["ci_low"]):
        return None
    if -SESOI < r["ci_low"] and r["ci_high"] < SESOI:
        return "negligible"
    return 1 if r["ci_low"] > 0 else -1 if r["ci_high"] < 0 else 0


def family_tests(accuracy: pd.DataFrame, by: str = "group", base: str = "unregularized", level: str = "family",
                 confidence: float = 0.95, measure: str = "accuracy") -> pd.DataFrame:
    """Each ``by`` value minus ``base`` in accuracy per corruption family (``level="family"``) or per corruption
    (``level="corruption"``), each run's accuracy averaged over the family's corruptions and every severity;
    paired by seed where the two share seeds, else Welch. The clean row (corruption "none") is its own
    family "clean". ``measure="drop"`` compares each run's accuracy minus its own clean accuracy instead (the
    clean row, zero by definition, is then left out). Columns: group, <level>, test, n_a, n_b, mean_a, mean_b,
    diff, ci_low, ci_high, p."""
    if measure not in MEASURES:
        raise ConfigError("measure", measure, " or ".join(MEASURES))
    t = accuracy.copy()
    t[by] = t[by].astype(str)
    if measure == "drop":
        clean = t[t["corruption"] == "none"].groupby([by, "seed"])["accuracy"].mean().rename("clean")
        t = t[t["corruption"] != "none"].join(clean, on=[by, "seed"])
        t["accuracy"] = t["accuracy"] - t["clean"]
    if level == "family":
        t["family"] = t["corruption"].map(lambda c: "clean" if c == "none" else FAMILY_OF.get(c, c))
    per_run = t.groupby([by, "seed", level], sort=False)["accuracy"].mean().reset_index()
    order = [x for x in (["clean", *FAMILIES] if level == "family" else ["none", *CORRUPTIONS])
             if x in set(per_run[level])]
    rows = []
    groups = [g for g in dict.fromkeys(per_run[by]) if g != base]
    for b in groups if base in set(per_run[by]) else []:
        for key in order:
            sel = per_run[per_run[level] == key]
            c = compare_by_seed(sel, base, b, value="accuracy", condition=by, confidence=confidence)
            rows.append({"group": b, level: key, "test": c.test, "n_a": c.n_a, "n_b": c.n_b,
                         "mean_a": float(np.mean(c.a)) if len(c.a) else np.nan,
                         "mean_b": float(np.mean(c.b)) if len(c.b) else np.nan, "diff": c.estimate,
                         "ci_low": c.ci_low, "ci_high": c.ci_high, "p": c.p})
    return pd.DataFrame(rows, columns=["group", level, "test", "n_a", "n_b", "mean_a", "mean_b", "diff", "ci_low",
                                       "ci_high", "p"])


def carry_over_sentence(group: str, fam: pd.DataFrame, measure: str = "accuracy") -> str:
    """One sentence, from one condition's rows of :func:`family_tests` (with the same ``measure``): does its
    robustness gain under the noise corruptions carry over to the other families of :data:`ASKED` (higher than
    unregularized, 95% interval above 0), is it traded for them (interval below 0), neither (interval holds 0
    and reaches beyond ±SESOI), or is the difference too small to matter (interval inside ±SESOI, whether or
    not it excludes 0)? A family without an interval is named as such."""
    rows = {r["family"]: r for _, r in fam.iterrows()}
    what = MEASURES[measure]

    def say(f):
        r = rows[f]
        near = min(abs(r["ci_low"]), abs(r["ci_high"])) if _sign(r) in (1, -1) else math.inf
        return (f"{f} {r['diff']:+.3f} [{fmt(r['ci_low'])}, {fmt(r['ci_high'])}]"
                + ("†" if near < SESOI else ""))

    noise = rows.get("noise")
    asked = [f for f in ASKED if f in rows]
    if noise is None or not asked:
        return f"**{group}**: no noise corruptions, or none of {', '.join(ASKED)}, in the table."
    if _sign(noise) is None:
        return f"**{group}**: too few runs for intervals (noise {noise['diff']:+.3f})."
    few = too_few_to_judge(noise["n_a"], noise["n_b"], paired=str(noise["test"]).startswith("paired"))
    if few:
        return (f"**{group}**: {few}: noise {noise['diff']:+.3f} [{fmt(noise['ci_low'])}, {fmt(noise['ci_high'])}]; "
                + ", ".join(say(f) for f in asked) + f" ({what}, mean over severities).")
    gains = [say(f) for f in asked if _sign(rows[f]) == 1]
    losses = [say(f) for f in asked if _sign(rows[f]) == -1]
    flat = [say(f) for f in asked if _sign(rows[f]) == 0]
    small = [say(f) for f in asked if _sign(rows[f]) == "negligible"]
    none_ = [f for f in asked if _sign(rows[f]) is None]
    tail = []
    if gains:
        tail.append(("carries over to " if _sign(noise) == 1 else "gains under ") + ", ".join(gains))
    if losses:
        tail.append(("is traded for " if _sign(noise) == 1 else "loses under ") + ", ".join(losses))
    if flat:
        tail.append("neither gains nor loses beyond its interval under " + ", ".join(flat))
    if small:
        tail.append(("carries over or is traded by less than the" if _sign(noise) == 1 else "changes by less than the")
                    + f" {SESOI:g} that matters (interval inside ±{SESOI:g}) under " + ", ".join(small))
    if none_:
        tail.append("has no interval under " + ", ".join(none_))
    gain, loss, none = {
        "accuracy": ("gains accuracy under", "loses accuracy under", "gains no accuracy beyond its interval under"),
        "drop": ("loses less of its clean accuracy to", "loses more of its clean accuracy to",
                 "loses neither more nor less of its clean accuracy, beyond its interval, to")}[measure]
    if _sign(noise) == 1:
        head = f"**{group}** {gain} the noise corruptions ({say('noise')}), and that robustness "
    elif _sign(noise) == -1:
        head = (f"**{group}** {loss} the noise corruptions ({say('noise')}), so at these severities it has no "
                f"noise advantage in this measure to carry over{_OTHER[measure]}; it ")
    elif _sign(noise) == "negligible":
        size = ("a noise advantage" if noise["ci_low"] > 0 else "a noise disadvantage" if noise["ci_high"] < 0
                else "a difference")
        head = (f"**{group}** changes by less than {SESOI:g} under the noise corruptions ({say('noise')}, inside "
                f"±{SESOI:g}): at these severities it has at most {size} too small to matter, so no noise "
                f"advantage that matters to carry over{_OTHER[measure]}; it ")
    else:
        head = (f"**{group}** {none} the noise corruptions ({say('noise')}), so at these severities it has no "
                f"noise advantage in this measure to carry over{_OTHER[measure]}; it ")
    text = head + "; ".join(tail)
    return (text + f" ({what}, mean over severities"
            + (f"; †: the interval's end nearer 0 lies inside ±{SESOI:g}, so the effect may be too small to matter"
               if "†" in text else "") + ").")


# where the sentence for one measure finds no noise advantage, it points at the other measure
_OTHER = {"accuracy": " (the drop from clean accuracy, below, leaves the clean cost out)",
          "drop": " (measured by how much of its clean accuracy it loses)"}


def yin_sentence(fam: pd.DataFrame, group: str = "noise-aug") -> str:
    """Whether the noise-augmented condition shows the trade Yin et al. (2019) found for Gaussian-noise augmentation
    on CIFAR-10 (worse under contrast and fog), from its contrast and fog rows; "" without them."""
    rows = {r.family: r for r in fam[fam.group.astype(str).str.startswith(group)].itertuples()}
    if not {"contrast", "fog"} <= set(rows):
        return ""
    signs = {f: _sign(rows[f]._asdict()) for f in ("contrast", "fog")}
    text = "; ".join(f"{f} {rows[f].diff:+.3f} [{fmt(rows[f].ci_low)}, {fmt(rows[f].ci_high)}]" for f in signs)
    if all(v == -1 for v in signs.values()):
        return (f"Noise augmentation is worse under contrast and fog ({text}): the trade Yin et al. (2019) found for "
                "Gaussian-noise augmentation on CIFAR-10 appears here too.")
    if any(v == 1 for v in signs.values()) and not any(v == -1 for v in signs.values()):
        return (f"Unlike Yin et al.'s (2019) CIFAR-10 models, noise augmentation here is not traded for contrast "
                f"and fog ({text}): on these Fashion-MNIST models the trade they found does not appear. The "
                "comparison is unpaired (the augmented runs have seeds of their own), applies CIFAR-10-C's "
                "parameters to 28x28 images, and the augmentation is clipped Gaussian noise, which also brightens "
                "the black backgrounds (the Fourier page measures this), so it trains on brightness shifts too.")
    return (f"Yin et al. (2019) found Gaussian-noise augmentation traded for contrast and fog on CIFAR-10; here the "
            f"intervals do not show that trade ({text}).")


@dataclass(frozen=True, kw_only=True)
class Corruptions(FrequencyPlan):
    """Accuracy under twelve common corruptions at five severities per condition, and the paired differences
    to the unregularized model per corruption and per family."""

    name: ClassVar[str] = "corruptions"
    record_evaluations: ClassVar[tuple[str, ...]] = ("corruptions",)

    corruptions: tuple[str, ...] | None = None  # names in pixelreg.robustness.corruptions; None: all twelve
    n_images: int | None = None  # test images per corruption and severity; None: the profile's (full: 2,000)

    def profile_defaults(self, prof):
        return dict(**super().profile_defaults(prof), corruptions=tuple(CORRUPTIONS),
                    n_images=CORRUPTION_IMAGES.get(prof.name, 2000))

    def check(self) -> None:
        super().check()
        names = as_tuple("corruptions", self.corruptions, str)
        if not names or any(n not in CORRUPTIONS for n in names):
            raise ConfigError("corruptions", self.corruptions, f"one or more of {', '.join(CORRUPTIONS)}")
        self._set("corruptions", tuple(dict.fromkeys(names)))

    def evaluate(self, runs) -> pd.DataFrame:
        """The page's corruption table of ``runs`` (:func:`pixelreg.robustness.sensitivity.corruption_accuracy`
        with the page's corruptions, images and the profile's precision; cached per run): the call that fills
        the cache the page reads, e.g. ``Corruptions(profile="full").evaluate([Run.open(path)])``."""
        # the cache key names the corruptions in the library's order, whatever order the page was given
        names = [c for c in CORRUPTIONS if c in self.corruptions]
        return corruption_accuracy(runs, names, n_images=self.n_images, precision=self.precision)

    def data(self, runs_dir: str | Path | None = None, progress: bool = True) -> FigureData:
        """Tables: ``accuracy`` (per run, corruption and severity, plus the clean row: corruption "none",
        severity 0), ``by_severity`` (per condition, corruption and severity: mean and SEM over runs),
        ``by_corruption`` (per condition and corruption, each run averaged over the severities), ``differences``
        (each condition minus unregularized per corruption), ``families`` (the same per family of
        :data:`FAMILIES`; 95% intervals, paired by seed where the conditions share seeds, else Welch) and
        ``families_drop`` (the same for each run's drop from its own clean accuracy)."""
        runs, ok = self.ready_runs(runs_dir, progress)
        acc = self.grouped(self.evaluate(ok), ok)
        acc["family"] = acc["corruption"].map(lambda c: "clean" if c == "none" else FAMILY_OF[c])
        sev = (acc.groupby(["group", "corruption", "severity"], observed=True)["accuracy"]
               .agg(mean="mean", sem="sem", runs="size").reset_index())
        per_run = acc.groupby(["group", "run", "seed", "family", "corruption"], observed=True, sort=False)[
            "accuracy"].mean().reset_index()
        by_corr = (per_run.groupby(["group", "family", "corruption"], observed=True, sort=False)["accuracy"]
                   .agg(mean="mean", sem="sem", runs="size").reset_index())
        return self.figure_data(dict(accuracy=acc, by_severity=sev, by_corruption=by_corr,
                                     differences=family_tests(acc, level="corruption"),
                                     families=family_tests(acc, level="family"),
                                     families_drop=family_tests(acc, level="family", measure="drop")),
                                runs_table(runs))

    def what_we_see(self, data: FigureData) -> str:
        fam = data["families"]
        if not len(fam):
            return "No numbers to summarise (empty tables)."
        sd, grid = PARAMS["gaussian_noise"], EPSILON_GRIDS[self.task]["gaussian"]
        drop = data.tables.get("families_drop")
        k = int((fam.family != "clean").sum()) + (len(drop) if drop is not None else 0)  # corruption families
        lines = ["Does robustness to noise carry over to blur, contrast, fog, JPEG, brightness and pixelation, or is it "
                 "traded for them? "
                 "Each condition minus the unregularized model, accuracy averaged over the five severities and "
                 "the family's corruptions (95% intervals, unadjusted: exploratory; a difference whose interval "
                 f"lies inside ±{SESOI:g}, the book's smallest effect of interest, is called too small to matter; of "
                 f"the {k} corruption-family intervals on this page, both measures, about {0.05 * k:.1f} would "
                 "exclude 0 by chance alone if nothing differed). "
                 + (f"The noise corruptions are mild: CIFAR-10-C's Gaussian noise has σ {sd[0]:g} to {sd[-1]:g} over "
                    f"its five severities, the low end of Fig. 2's Gaussian ε grid ({min(grid):g} to {max(grid):g}), "
                    "so a gain that Fig. 2 shows at larger ε is not contradicted by its absence here:"
                    if max(sd) <= max(grid) / 2 else
                    f"CIFAR-10-C's Gaussian noise has σ {sd[0]:g} to {sd[-1]:g} over its five severities; Fig. 2's "
                    f"Gaussian ε grid for {self.task} runs from {min(grid):g} to {max(grid):g}:")]
        for g, gf in fam.groupby("group", sort=False):
            lines.append("- " + carry_over_sentence(g, gf))
        yin = yin_sentence(fam)
        if yin:
            lines.append(yin)
        clean = fam[fam.family == "clean"]
        if len(clean):
            lines.append("Clean accuracy on the same images, minus unregularized: " + "; ".join(
                f"{r.group} {r.diff:+.3f} [{fmt(r.ci_low)}, {fmt(r.ci_high)}]" for r in clean.itertuples()) + ".")
        if drop is not None and len(drop):
            lines.append("A condition that costs clean accuracy starts lower under every corruption, so the "
                         "differences above mix its clean cost with its robustness. Measured instead by how much "
                         "accuracy each run loses from its own clean accuracy (corrupted minus clean, minus the "
                         "unregularized runs' loss; positive: it loses less than the unregularized model), which "
                         "leaves the clean cost out but has a floor: no model falls below chance (0.1 for ten "
                         "classes), so a model that starts lower has less room to fall, and where the unregularized "
                         "model falls near chance a smaller drop partly measures that floor, not robustness. Read "
                         "these beside the differences above, never alone:")
            for g, gf in drop.groupby("group", sort=False):
                lines.append("- " + carry_over_sentence(g, gf, measure="drop"))
        return "\n".join(lines)


PAGE = Corruptions
