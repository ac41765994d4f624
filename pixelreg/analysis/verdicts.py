"""Claim verdicts that can fail both ways (issue 13): one primary test per claim row, Holm across the rows of a
page, power and equivalence, and four verdicts.

A claim row compares two conditions, a (baseline, e.g. "unregularized") and b (e.g. "S^Th"), on one summary per
run (for example the AUC over ε, :func:`auc_by_run`, or the clean accuracy, :func:`value_at`). Conditions that
share a seed share initial weights, split and data order, so runs are paired by seed (:func:`compare_by_seed`:
paired t-test, :func:`pixelreg.analysis.stats.paired_test`), with Welch's test as the fallback where the seeds differ.

A :class:`Rule` states what the row claims and :func:`verdict` (one row) or :func:`judge` (a page: Holm across
its rows) returns a :class:`Verdict`:

``effect`` rows (the claimed difference b − a has sign ``direction``):

- "reproduced": Holm-adjusted primary p <= α, the estimate in the claimed direction and, where the paper calls
  the effect large, at least the 'large' threshold;
- "contradicted": Holm-adjusted primary p <= α with the estimate in the opposite direction;
- "not reproduced": TOST (:func:`pixelreg.analysis.stats.tost`) rules out differences beyond ±SESOI (for a 'large'
  claim the bound is the 'large' threshold): Holm-adjusted p_TOST <= α;
- "inconclusive": none of these (the interval holds both no effect and the claimed effect).

``no_loss`` rows ("no clean-accuracy loss"): judged by non-inferiority with a stated margin, never by the absence
of significance: "reproduced" if a loss larger than the margin is ruled out (one-sided test, Holm-adjusted
p <= α), "contradicted" if a loss larger than the margin is shown (the opposite one-sided test), else
"inconclusive".

The ablation guard: a row whose cells have fewer than ``Rule.min_seeds`` seeds is "inconclusive (n seeds)" and
leaves the Holm family.

Every verdict carries the number and its interval, the test, p and Holm-adjusted p, the minimum detectable
effect (MDE) at its seeds, 80% power and the Bonferroni level α/m (Holm's first, strictest step), the SESOI and
a one-line text of the rule that produced it.
"""
from __future__ import annotations

import math
from dataclasses import dataclass, field, fields
from typing import Sequence

import numpy as np
import pandas as pd

from pixelreg.analysis import stats
from pixelreg.errors import ConfigError
from pixelreg.analysis.stats import Comparison, holm, mde, paired_test, shifted_p, tost, welch_test

VERDICTS = ("reproduced", "contradicted", "not reproduced", "inconclusive")
KINDS = ("effect", "no_loss")
ABLATION_MIN_SEEDS = 3
RUN_KEYS = ("run", "seed", "condition", "attack")
EXTRA_KEYS = ("panel", "reg_data", "mode")  # carried along when a figure's table has them


# ----------------------------------------------------------------------------------------------------------
# Rules and verdicts

@dataclass(frozen=True)
class Rule:
    """What a claim row asserts about b − a.

    Args:
        kind: "effect" (b differs from a in ``direction``) or "no_loss" (b is not worse than a by more than
            ``margin``).
        direction: +1 if the claim is b > a (e.g. higher robust accuracy), −1 if b < a.
        sesoi: smallest effect of interest, in the units of the summary (points, AUC); > 0; "effect" only.
        large: the paper calls the effect large: the estimate must reach this raw threshold to count as
            reproduced, and TOST uses it as the equivalence bound (when larger than ``sesoi``).
        large_effect: the same threshold as a standardized effect size (d_z for paired data, Cohen's d on the
            pooled SD for Welch), turned into raw units with the comparison's observed SD. Give at most one
            of ``large`` and ``large_effect``.
        margin: "no_loss" only: the largest loss still called "no loss" (e.g. 0.01 = 1 point of accuracy).
        min_seeds: ablation guard: fewer seeds than this in either cell -> "inconclusive (n seeds)".
        unit: label of the summary's unit for the texts (e.g. "AUC", "accuracy").
    """
    kind: str = "effect"
    direction: int = 1
    sesoi: float | None = None
    large: float | None = None
    large_effect: float | None = None
    margin: float | None = None
    min_seeds: int = 0
    unit: str = ""

    def __post_init__(self):
        if self.kind not in KINDS:
            raise ConfigError("kind", self.kind, f"one of {KINDS}")
        if self.direction not in (1, -1):
            raise ConfigError("direction", self.direction, "+1 (claim b > a) or -1 (claim b < a)")
        if self.kind == "effect" and not (self.sesoi is not None and self.sesoi > 0):
            raise ConfigError("sesoi", self.sesoi, "a positive smallest effect of interest for an 'effect' rule")
        if self.kind == "no_loss" and not (self.margin is not None and self.margin > 0):
            raise ConfigError("margin", self.margin, "a positive non-inferiority margin for a 'no_loss' rule")
        if self.large is not None and self.large_effect is not None:
            raise ConfigError("large/large_effect", (self.large, self.large_effect), "at most one of the two")
        for name in ("large", "large_effect"):
            v = getattr(self, name)
            if v is not None and not v > 0:
                raise ConfigError(name, v, "a positive threshold (in the claimed direction), or None")
        if self.min_seeds < 0:
            raise ConfigError("min_seeds", self.min_seeds, "an integer >= 0")

    def large_raw(self, c: Comparison) -> float:
        """The 'large' threshold in raw units for ``c`` (NaN if none, or if the SD is undefined)."""
        if self.large is not None:
            return float(self.large)
        if self.large_effect is not None:
            return float(self.large_effect * c.sd) if _ok(c.sd) else math.nan
        return math.nan

    def describe(self, alpha: float = 0.05) -> str:
        """The rule in one line, independent of the data (for the claims page's rule column)."""
        u = f" {self.unit}" if self.unit else ""
        side = "b > a" if self.direction > 0 else "b < a"
        if self.kind == "no_loss":
            return (f"no loss larger than {self.margin:g}{u}: reproduced if a one-sided non-inferiority test rules "
                    f"it out (Holm p <= {alpha:g}); contradicted if the opposite one-sided test shows it; "
                    "otherwise inconclusive; never judged by the absence of significance.")
        large = (f" and Δ >= the 'large' threshold {self.large:g}{u}" if self.large is not None else
                 f" and Δ >= {self.large_effect:g} SD ('large')" if self.large_effect is not None else "")
        return (f"claim {side}: reproduced if the primary test is significant (Holm p <= {alpha:g}) in that "
                f"direction{large}; contradicted if significant the other way; not reproduced if TOST rules out "
                f"|Δ| >= {self._bound_text()}{u}; otherwise inconclusive"
                + (f"; fewer than {self.min_seeds} seeds per cell: inconclusive" if self.min_seeds else "") + ".")

    def _bound_text(self) -> str:
        if self.large is not None:
            return f"{max(self.sesoi, self.large):g}"
        if self.large_effect is not None:
            return f"max(SESOI {self.sesoi:g}, {self.large_effect:g} SD)"
        return f"{self.sesoi:g} (SESOI)"


@dataclass(frozen=True)
class Verdict:
    """One judged claim row.

    Fields: ``verdict`` (one of :data:`VERDICTS`, or "inconclusive (n seeds)" from the ablation guard) and its
    ``category`` (one of :data:`VERDICTS`); ``estimate`` (mean b − a), ``ci_low``, ``ci_high``, ``confidence``;
    ``test`` (the primary test), ``p``, ``p_holm``; ``test2``, ``p2``, ``p2_holm`` (the second test: TOST for
    "effect" rows, inferiority for "no_loss" rows); ``p_perm``, ``perm_note`` (sign-flip permutation p, n >= 6);
    ``n_a``, ``n_b`` (seeds per condition; equal when paired); ``effect``, ``effect_name`` (d_z or Hedges g);
    ``mde`` (minimum detectable |Δ| at ``power`` and level ``mde_alpha``), ``sesoi`` (the equivalence bound
    actually used; the margin for "no_loss"), ``large`` (raw 'large' threshold or NaN), ``margin``, ``alpha``;
    ``rule`` (one line: the branch that produced the verdict, with its numbers); ``comparison``.
    """
    verdict: str
    category: str
    estimate: float
    ci_low: float
    ci_high: float
    confidence: float
    test: str
    p: float
    p_holm: float
    test2: str
    p2: float
    p2_holm: float
    p_perm: float
    perm_note: str
    n_a: int
    n_b: int
    effect: float
    effect_name: str
    mde: float
    mde_alpha: float
    power: float
    sesoi: float
    large: float
    margin: float
    alpha: float
    rule: str
    comparison: Comparison = field(repr=False, compare=False)

    def to_dict(self) -> dict:
        """All fields but ``comparison`` (a row of the claims table)."""
        return {f.name: getattr(self, f.name) for f in fields(self) if f.name != "comparison"}

    def number(self, unit: str = "", digits: int = 3) -> str:
        """"Δ = +0.031 AUC [0.012, 0.050]" (the estimate and its interval)."""
        u = f" {unit}" if unit else ""
        return (f"Δ = {_f(self.estimate, digits, True)}{u} [{_f(self.ci_low, digits)}, {_f(self.ci_high, digits)}]"
                f" ({self.confidence:.0%} CI)")

    def uncertainty(self, digits: int = 3) -> str:
        """Test, n, p, Holm p, permutation p, MDE and SESOI in one line."""
        n = f"n = {self.n_a} pairs" if self.comparison.paired else f"n = {self.n_a} vs {self.n_b}"
        perm = f", sign-flip p = {_p(self.p_perm)}" if _ok(self.p_perm) else ""
        return (f"{self.test}, {n}: p = {_p(self.p)}, p_holm = {_p(self.p_holm)}{perm}; "
                f"{self.effect_name} = {_f(self.effect, 2)}; MDE = {_f(self.mde, digits)} (80% power at α = "
                f"{self.mde_alpha:.2g}); SESOI = {_f(self.sesoi, digits)}")


def _ok(x: float) -> bool:
    return x is not None and math.isfinite(x)


def _f(x: float, digits: int = 3, sign: bool = False) -> str:
    if x is None or not math.isfinite(x):
        return "n/a"
    return f"{x:+.{digits}f}" if sign else f"{x:.{digits}f}"


def _p(p: float) -> str:
    if p is None or not math.isfinite(p):
        return "n/a"
    return f"{p:.2g}" if p >= 1e-3 else "<0.001"


def primary_tests(c: Comparison, rule: Rule) -> tuple[str, float, str, float, float]:
    """(test, p, test2, p2, bound) of a row before any correction.

    "effect": test = ``c.test`` with its two-sided p; test2 = TOST within ±bound, bound = SESOI, or the raw
    'large' threshold when that is larger. "no_loss": test = non-inferiority (H1: direction·Δ > −margin),
    test2 = inferiority (H1: direction·Δ < −margin), one-sided ``shifted_p`` each; bound = margin.
    """
    if rule.kind == "no_loss":
        shift = -rule.direction * rule.margin
        up, down = ("greater", "less") if rule.direction > 0 else ("less", "greater")
        return (f"non-inferiority ({c.test}, margin {rule.margin:g})", shifted_p(c, shift, up),
                f"inferiority ({c.test}, margin {rule.margin:g})", shifted_p(c, shift, down), float(rule.margin))
    large = rule.large_raw(c)
    bound = max(rule.sesoi, large) if math.isfinite(large) else float(rule.sesoi)
    return c.test, c.p, f"TOST ({c.test}, ±{bound:.3g})", tost(c, bound)[0], bound


def _seeds(c: Comparison) -> int:
    return min(c.n_a, c.n_b)


def _decide(c: Comparison, rule: Rule, ph: float, p2h: float, alpha: float, bound: float, large: float,
            mde_: float) -> tuple[str, str]:
    """(verdict, one-line rule text) from the Holm-adjusted p-values."""
    u = f" {rule.unit}" if rule.unit else ""
    est = _f(c.estimate, 3, True)
    sig, sig2 = (ph <= alpha) if math.isfinite(ph) else False, (p2h <= alpha) if math.isfinite(p2h) else False
    if rule.kind == "no_loss":
        if sig:
            return "reproduced", (f"reproduced: non-inferiority p_holm = {_p(ph)} <= {alpha:g} rules out a loss "
                                  f"larger than {rule.margin:g}{u} (Δ = {est}{u})")
        if sig2:
            return "contradicted", (f"contradicted: inferiority p_holm = {_p(p2h)} <= {alpha:g}: the loss exceeds "
                                    f"the margin {rule.margin:g}{u} (Δ = {est}{u})")
        return "inconclusive", (f"inconclusive: a loss larger than {rule.margin:g}{u} is neither ruled out "
                                f"(p_holm = {_p(ph)}) nor shown (p_holm = {_p(p2h)}); Δ = {est}{u}")
    toward = sig and c.estimate * rule.direction > 0
    big = not math.isfinite(large) or c.estimate * rule.direction >= large
    if toward and big:
        return "reproduced", (f"reproduced: {c.test} p_holm = {_p(ph)} <= {alpha:g}, Δ = {est}{u} in the claimed "
                              "direction" + (f", >= the 'large' threshold {large:.3g}{u}" if math.isfinite(large)
                                             else ""))
    if sig and not toward:
        return "contradicted", (f"contradicted: {c.test} p_holm = {_p(ph)} <= {alpha:g} with Δ = {est}{u} "
                                "opposite to the claim")
    if sig2:
        return "not reproduced", (f"not reproduced: TOST p_holm = {_p(p2h)} <= {alpha:g}: |Δ| < {bound:.3g}{u} "
                                  + ("(the 'large' threshold)" if math.isfinite(large) and bound == large
                                     else "(SESOI)") + f"; Δ = {est}{u}")
    why = (f"significant (p_holm = {_p(ph)}) but Δ = {est}{u} is below the 'large' threshold {large:.3g}{u}"
           if toward else f"not significant (p_holm = {_p(ph)}, MDE {_f(mde_)}{u})")
    return "inconclusive", f"inconclusive: {why}, and TOST within ±{bound:.3g}{u} fails (p_holm = {_p(p2h)})"


def verdict(c: Comparison, rule: Rule, alpha: float = 0.05, p_holm: float | None = None,
            p2_holm: float | None = None, m: int = 1, power: float = 0.8) -> Verdict:
    """Judge one claim row (see the module docstring for the four verdicts).

    Args:
        c: the row's primary comparison of b − a (:func:`compare_by_seed`, :func:`pixelreg.analysis.stats.paired_test`,
            :func:`pixelreg.analysis.stats.welch_test`).
        rule: what the row claims.
        alpha: family-wise level.
        p_holm, p2_holm: the row's Holm-adjusted p-values within its family (:func:`judge` computes them);
            None = a family of one (the raw p-values).
        m: size of the family; the MDE is computed at α/m (Bonferroni, Holm's first step: conservative).
        power: power for the MDE.
    """
    test, p, test2, p2, bound = primary_tests(c, rule)
    ph = p if p_holm is None else p_holm
    p2h = p2 if p2_holm is None else p2_holm
    mde_alpha = alpha / max(1, m)
    mde_ = mde(c, mde_alpha, power)
    large = rule.large_raw(c)
    k = _seeds(c)
    if k < rule.min_seeds:
        v = f"inconclusive ({k} seed{'' if k == 1 else 's'})"
        text = f"{v}: fewer than {rule.min_seeds} seeds per cell; not judged (left out of the Holm family)"
        ph = p2h = math.nan
    else:
        v, text = _decide(c, rule, ph, p2h, alpha, bound, large, mde_)
    return Verdict(v, v.split(" (")[0], c.estimate, c.ci_low, c.ci_high, c.confidence, test, p, ph, test2, p2, p2h,
                   c.p_perm, c.perm_note, c.n_a, c.n_b, c.effect, c.effect_name, mde_, mde_alpha, power, bound,
                   large, float(rule.margin) if rule.margin is not None else math.nan, alpha, text, c)


def judge(comparisons: Sequence[Comparison], rules: Sequence[Rule], alpha: float = 0.05,
          power: float = 0.8) -> list[Verdict]:
    """Judge the claim rows of one page: Holm across the rows on the primary p-values, and separately on the
    second p-values (TOST / inferiority); rows stopped by the ablation guard, or with an undefined p, leave the
    families. The MDE of every row is at α/m, m the number of rows with a primary p."""
    if len(comparisons) != len(rules):
        raise ConfigError("rules", len(rules), f"one rule per comparison ({len(comparisons)})")
    ps, p2s = [], []
    for c, r in zip(comparisons, rules):
        _, p, _, p2, _ = primary_tests(c, r)
        keep = _seeds(c) >= r.min_seeds
        ps.append(p if keep else math.nan)
        p2s.append(p2 if keep else math.nan)
    ph, p2h = holm(ps), holm(p2s)
    m = int(np.isfinite(ps).sum())
    return [verdict(c, r, alpha, float(a), float(b), m, power)
            for c, r, a, b in zip(comparisons, rules, ph, p2h)]


def verdict_table(verdicts: Sequence[Verdict]) -> pd.DataFrame:
    """One row per verdict (:meth:`Verdict.to_dict`)."""
    return pd.DataFrame([v.to_dict() for v in verdicts])


# ----------------------------------------------------------------------------------------------------------
# Per-run summaries of the figures' tidy tables, compared by seed

def _run_keys(table: pd.DataFrame, keys: Sequence[str]) -> list[str]:
    missing = [k for k in keys if k not in table.columns]
    if missing:
        raise ConfigError("keys", missing, f"columns of the table: {list(table.columns)}")
    return [*keys, *(k for k in EXTRA_KEYS if k in table.columns and k not in keys)]


def auc_by_run(curves: pd.DataFrame, keys: Sequence[str] = RUN_KEYS, value: str = "accuracy",
               epsilons: Sequence[float] | None = None) -> pd.DataFrame:
    """Per run (and attack, panel, ...), the AUC over ε (:func:`pixelreg.analysis.stats.auc`: trapezoid rule divided
    by the ε range, i.e. the mean accuracy over [ε_min, ε_max]).

    Args:
        curves: tidy table with columns ``keys``, ``epsilon`` and ``value`` (one row per ε).
        epsilons: restrict to these ε (e.g. drop ε = 0 to leave clean accuracy out); None = all.
    Returns:
        columns ``keys`` (+ panel / reg_data / mode where present), ``auc``, ``n_epsilons``.
    """
    k = _run_keys(curves, keys)
    t = curves
    if epsilons is not None:
        t = t[np.isclose(t["epsilon"].to_numpy(float)[:, None], np.asarray(epsilons, float)[None]).any(1)]
    rows = []
    for key, g in t.groupby(k, sort=True):
        g = g.sort_values("epsilon")
        rows.append({**dict(zip(k, key)), "auc": stats.auc(g["epsilon"].to_numpy(float), g[value].to_numpy(float)),
                     "n_epsilons": len(g)})
    return pd.DataFrame(rows, columns=[*k, "auc", "n_epsilons"])


def value_at(curves: pd.DataFrame, epsilon: float, keys: Sequence[str] = RUN_KEYS,
             value: str = "accuracy") -> pd.DataFrame:
    """Per run, ``value`` at one ε (e.g. ε = 0: clean accuracy). Columns ``keys`` (+ extras) and ``value``."""
    k = _run_keys(curves, keys)
    t = curves[np.isclose(curves["epsilon"].to_numpy(float), epsilon)]
    if t.duplicated(k).any():
        raise ConfigError("keys", list(keys), f"keys naming one row per run at ε = {epsilon:g}")
    return t[[*k, value]].reset_index(drop=True)


def pair_by_seed(summary: pd.DataFrame, a: str, b: str, value: str = "auc", condition: str = "condition",
                 seed: str = "seed") -> pd.DataFrame | None:
    """Columns ``seed``, ``a``, ``b`` (the values of the two conditions per seed, sorted by seed) if both
    conditions have exactly the same seeds; None otherwise (compare unpaired).

    ``summary`` must hold one row per (condition, seed): filter it to one attack / panel first.
    """
    va, vb = (summary.loc[summary[condition] == c, [seed, value]] for c in (a, b))
    for c, v in ((a, va), (b, vb)):
        if v.empty:
            raise ConfigError("condition", c, f"one of {sorted(set(summary[condition]))}")
        if v[seed].duplicated().any():
            raise ConfigError("summary", c, "one row per (condition, seed): filter to one attack/panel first")
    if set(va[seed]) != set(vb[seed]):
        return None
    out = va.rename(columns={value: "a"}).merge(vb.rename(columns={value: "b"}), on=seed).sort_values(seed)
    return out.reset_index(drop=True)


def compare_by_seed(summary: pd.DataFrame, a: str, b: str, value: str = "auc", condition: str = "condition",
                    seed: str = "seed", confidence: float = 0.95) -> Comparison:
    """The primary comparison of b − a on a per-run summary: :func:`pixelreg.analysis.stats.paired_test` paired by seed
    when both conditions have the same seeds (they then share initial weights, split and data order), else
    :func:`pixelreg.analysis.stats.welch_test` on all runs."""
    pairs = pair_by_seed(summary, a, b, value, condition, seed)
    if pairs is not None:
        return paired_test(pairs["a"].to_numpy(float), pairs["b"].to_numpy(float), confidence)
    va = summary.loc[summary[condition] == a, value].to_numpy(float)
    vb = summary.loc[summary[condition] == b, value].to_numpy(float)
    return welch_test(va, vb, confidence)


# ----------------------------------------------------------------------------------------------------------
# Low frequencies (issue 13 item 4): per-image shares from pixelreg.robustness.spectra.share_table

def _source(shares: pd.DataFrame, source: str) -> pd.DataFrame:
    if "source" not in shares.columns:
        return shares if source == "attack" else shares.iloc[:0]
    return shares[shares["source"] == source]


def seed_means(shares: pd.DataFrame, value: str = "share", source: str = "attack") -> pd.DataFrame:
    """Mean per-image share per (condition, seed) of the rows of ``source`` ("attack": the attack's
    perturbations, "start": the direction its starting point implies; a table without a ``source`` column is
    all "attack"). Columns ``condition``, ``seed``, ``share``, ``n_images``."""
    t = _source(shares, source)
    g = t.groupby(["condition", "seed"], sort=True)[value]
    return g.agg(share="mean", n_images="count").reset_index()


def lowfreq_test(shares: pd.DataFrame, regularized: str, unregularized: str = "unregularized",
                 confidence: float = 0.95) -> Comparison:
    """"Regularized perturbations are more low-frequency than unregularized ones": per-seed mean share of the
    attack's perturbations, regularized − unregularized, paired by seed (:func:`compare_by_seed`). Claimed
    direction +1."""
    return compare_by_seed(seed_means(shares), unregularized, regularized, "share", confidence=confidence)


def lowfreq_null_test(shares: pd.DataFrame, condition: str, confidence: float = 0.95) -> Comparison:
    """The null of one condition: per seed, the mean share of the attack's perturbations minus that of the
    directions its starting points imply (same images, paired by seed). Positive: the attack adds low
    frequencies beyond what its start carries."""
    t = pd.concat([seed_means(shares, source=s).assign(source=s) for s in ("start", "attack")])
    t = t[t["condition"] == condition]
    return compare_by_seed(t, "start", "attack", "share", condition="source", confidence=confidence)


def lowfreq_excess_test(shares: pd.DataFrame, regularized: str, unregularized: str = "unregularized",
                        confidence: float = 0.95) -> Comparison:
    """Regularized vs unregularized on the excess over the null: per (condition, seed), mean attack share −
    mean start share; then regularized − unregularized, paired by seed."""
    att, start = seed_means(shares, source="attack"), seed_means(shares, source="start")
    ex = att.merge(start, on=["condition", "seed"], suffixes=("", "_start"))
    ex["excess"] = ex["share"] - ex["share_start"]
    return compare_by_seed(ex, unregularized, regularized, "excess", confidence=confidence)


__all__ = ["VERDICTS", "KINDS", "ABLATION_MIN_SEEDS", "Rule", "Verdict", "primary_tests", "verdict", "judge",
           "verdict_table", "auc_by_run", "value_at", "pair_by_seed", "compare_by_seed", "seed_means",
           "lowfreq_test", "lowfreq_null_test", "lowfreq_excess_test"]
