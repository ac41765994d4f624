"""Claim verdicts that can fail both ways (issues 13 and 20): one primary test per claim row, a confirmatory
family with Bonferroni-level intervals, equivalence, power as seeds needed, and four outcomes (Lakens 2017).

A claim row compares two conditions, a (baseline, e.g. "unregularized") and b (e.g. "S^Th"), on one summary per
run (for example the AUC over ε, :func:`auc_by_run`, or the clean accuracy, :func:`value_at`). Conditions that
share a seed share initial weights, split and data order, so runs are paired by seed (:func:`compare_by_seed`:
paired t-test, :func:`pixelreg.analysis.stats.paired_test`), with Welch's test as the fallback where the seeds differ.

**One interval decides.** A row is judged at the row level a: level/m for the m rows of a confirmatory family
fixed in advance (Bonferroni), the unadjusted level for an exploratory row. Its (1 − a) two-sided interval
(:func:`pixelreg.analysis.stats.interval`) is the one the page shows and the only input of the decision, so the
interval and the verdict cannot disagree: the interval excludes 0 exactly when the test's p <= a (Bonferroni
p_adj <= level), and it lies inside ±SESOI exactly when TOST rejects at a/2 per side.

``effect`` rows (the claimed difference b − a has sign ``direction``), Lakens' four outcomes:

- "reproduced": the interval excludes 0 on the claimed side and does not lie inside ±SESOI (and, where the
  paper calls the effect large, the estimate reaches the 'large' threshold);
- "contradicted": the interval excludes 0 on the opposite side and does not lie inside ±SESOI;
- "not reproduced (negligible)": the interval lies inside ±SESOI (equivalence shown), whether or not it also
  excludes 0: a negligible effect is never called reproduced or contradicted;
  "not reproduced (below the 'large' threshold)": significant, but the whole interval is below 'large';
- "inconclusive": otherwise.

``no_loss`` rows ("no loss" / "a slight loss" within ``margin``): "reproduced" if the interval's worse end is
better than −margin (non-inferiority), "contradicted" if its better end is worse than −margin (inferiority
shown), else "inconclusive"; "negligible" does not apply, and the absence of significance never counts.

:func:`intersection_union` judges a claim about several families ("across attacks and dataset pairs") by the
intersection-union test: reproduced only if every family is, each at the row level (Berger 1982).

Power is stated as the seeds needed, at the row's observed SD, to detect the SESOI (effect direction) and to
show equivalence within ±SESOI when there is no effect (:func:`pixelreg.analysis.stats.seeds_needed`); below
:data:`POWER_MIN_SEEDS` seeds the SD is too rough for either and the row says "too few seeds".

The ablation guard: a row whose cells have fewer than ``Rule.min_seeds`` seeds is "inconclusive (n seeds)".
Exploratory rows get a label weaker than a verdict (:data:`EXPLORATORY_LABELS`).
"""
from __future__ import annotations

import math
from dataclasses import dataclass, field, fields
from typing import Mapping, Sequence

import numpy as np
import pandas as pd

from pixelreg.analysis import stats
from pixelreg.errors import ConfigError
from pixelreg.analysis.stats import (Comparison, interval, mde, paired_test, pstate, seeds_needed,
                                     shifted_p, tost, welch_test)

VERDICTS = ("reproduced", "contradicted", "not reproduced", "inconclusive")  # the four categories
NEGLIGIBLE = "not reproduced (negligible)"
EXPLORATORY_LABELS = {"reproduced": "supported (exploratory)", "contradicted": "opposed (exploratory)",
                      "not reproduced": "negligible (exploratory)", "inconclusive": "unclear (exploratory)"}
KINDS = ("effect", "no_loss")
ABLATION_MIN_SEEDS = 3
POWER_MIN_SEEDS = 4  # below this, an SD from the seeds is too rough for an MDE or a seeds-needed figure
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
        why: one sentence justifying ``sesoi`` (or ``margin``) on substance.
        large: the paper calls the effect large: the estimate must reach this raw threshold to count as
            reproduced.
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
    why: str = ""

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

    @property
    def bound(self) -> float:
        """The row's smallest effect of interest: the SESOI ("effect") or the margin ("no_loss")."""
        return float(self.margin if self.kind == "no_loss" else self.sesoi)

    def large_raw(self, c: Comparison) -> float:
        """The 'large' threshold in raw units for ``c`` (NaN if none, or if the SD is undefined)."""
        if self.large is not None:
            return float(self.large)
        if self.large_effect is not None:
            return float(self.large_effect * c.sd) if _ok(c.sd) else math.nan
        return math.nan

    def describe(self, level: float = 0.05, m: int = 1) -> str:
        """The rule in one line, independent of the data (for the claims page's rule detail)."""
        u = f" {self.unit}" if self.unit else ""
        a = level / max(1, m)
        ci = f"the {1 - a:.4g} interval" + (f" (Bonferroni, {level:g}/{m})" if m > 1 else "")
        side = "b > a" if self.direction > 0 else "b < a"
        if self.kind == "no_loss":
            return (f"no loss larger than {self.margin:g}{u}: reproduced if {ci} rules it out (non-inferiority); "
                    f"contradicted if the whole interval lies beyond it (inferiority); otherwise inconclusive; "
                    "never judged by the absence of significance.")
        large = (f" and Δ >= the 'large' threshold {self.large:g}{u}" if self.large is not None else
                 f" and Δ >= {self.large_effect:g} SD ('large')" if self.large_effect is not None else "")
        return (f"claim {side}: reproduced if {ci} excludes 0 on the claimed side{large} and does not lie inside "
                f"±{self.sesoi:.3g}{u} (SESOI); contradicted if it excludes 0 on the other side and does not lie "
                f"inside ±SESOI; not reproduced (negligible) if it lies inside ±SESOI, significant or not; "
                "otherwise inconclusive"
                + (f"; fewer than {self.min_seeds} seeds per cell: inconclusive" if self.min_seeds else "") + ".")


@dataclass(frozen=True)
class Verdict:
    """One judged claim row.

    Fields: ``verdict`` (e.g. "reproduced", "not reproduced (negligible)", "inconclusive (2 seeds)") and its
    ``category`` (one of :data:`VERDICTS`); ``confirmatory`` and ``label`` (the verdict, or for an
    exploratory row the weaker label of :data:`EXPLORATORY_LABELS`); ``estimate`` (mean b − a), ``ci_low``,
    ``ci_high``, ``confidence`` (= 1 − ``row_level``: the interval that decided); ``test`` (the primary test),
    ``p``, ``p_adj`` (Bonferroni over the family's m rows; the raw p for an exploratory row); ``test2``,
    ``p2``, ``p2_adj`` (TOST for "effect" rows, inferiority for "no_loss" rows; adjusted to match the interval:
    p2_adj <= level exactly when the interval shows equivalence/inferiority); ``p_perm``, ``perm_note``
    (sign-flip permutation p, n >= 6); ``n_a``, ``n_b`` (seeds per condition; equal when paired); ``effect``,
    ``effect_name`` (d_z or Hedges g); ``mde`` (minimum detectable |Δ| at ``power`` and ``row_level``; NaN below
    :data:`POWER_MIN_SEEDS` seeds); ``n_effect``, ``n_equivalence`` (seeds needed at the observed SD,
    :func:`pixelreg.analysis.stats.seeds_needed`); ``power_note``; ``sesoi`` (the SESOI, or the margin for
    "no_loss"), ``large`` (raw 'large' threshold or NaN), ``margin``, ``level``, ``m``; ``rule`` (one line:
    the branch that produced the verdict, with its numbers); ``comparison``.
    """
    verdict: str
    category: str
    confirmatory: bool
    label: str
    estimate: float
    ci_low: float
    ci_high: float
    confidence: float
    test: str
    p: float
    p_adj: float
    test2: str
    p2: float
    p2_adj: float
    p_perm: float
    perm_note: str
    n_a: int
    n_b: int
    effect: float
    effect_name: str
    mde: float
    row_level: float
    power: float
    n_effect: float
    n_equivalence: float
    power_note: str
    sesoi: float
    large: float
    margin: float
    level: float
    m: int
    rule: str
    comparison: Comparison = field(repr=False, compare=False)

    def to_dict(self) -> dict:
        """All fields but ``comparison`` (a row of the claims table)."""
        return {f.name: getattr(self, f.name) for f in fields(self) if f.name != "comparison"}

    def number(self, unit: str = "", digits: int = 3) -> str:
        """"Δ = +0.031 AUC [0.012, 0.050] (99.4% CI)" (the estimate and the interval that decided)."""
        u = f" {unit}" if unit else ""
        return (f"Δ = {_f(self.estimate, digits, True)}{u} [{_f(self.ci_low, digits)}, {_f(self.ci_high, digits)}]"
                f" ({_pct(self.confidence)} CI)")

    def uncertainty(self, digits: int = 3) -> str:
        """Test, n, p, adjusted p, permutation p, and the power statement in one line."""
        n = f"n = {self.n_a} pairs" if self.comparison.paired else f"n = {self.n_a} vs {self.n_b}"
        perm = f", {pstate(self.p_perm, 'sign-flip p')}" if _ok(self.p_perm) else ""
        adj = f", {pstate(self.p_adj, 'p_bonferroni')} (m = {self.m})" if self.m > 1 else ""
        return (f"{self.test}, {n}: {pstate(self.p)}{adj}{perm}; "
                f"{self.effect_name} = {_f(self.effect, 2)}; {self.power_note}")


def _ok(x: float) -> bool:
    return x is not None and math.isfinite(x)


def _f(x: float, digits: int = 3, sign: bool = False) -> str:
    if x is None or not math.isfinite(x):
        return "n/a"
    return f"{x:+.{digits}f}" if sign else f"{x:.{digits}f}"


def _pct(conf: float) -> str:
    """0.95 -> "95%", 1 − 0.05/8 -> "99.375%"."""
    return f"{100 * conf:.4g}%"


def primary_tests(c: Comparison, rule: Rule) -> tuple[str, float, str, float, float]:
    """(test, p, test2, p2, bound) of a row before any adjustment.

    "effect": test = ``c.test`` with its two-sided p; test2 = TOST within ±SESOI (bound). "no_loss":
    test = non-inferiority (H1: direction·Δ > −margin), test2 = inferiority (H1: direction·Δ < −margin),
    one-sided ``shifted_p`` each; bound = margin.
    """
    if rule.kind == "no_loss":
        shift = -rule.direction * rule.margin
        up, down = ("greater", "less") if rule.direction > 0 else ("less", "greater")
        return (f"non-inferiority ({c.test}, margin {rule.margin:g})", shifted_p(c, shift, up),
                f"inferiority ({c.test}, margin {rule.margin:g})", shifted_p(c, shift, down), float(rule.margin))
    bound = float(rule.sesoi)
    return c.test, c.p, f"TOST ({c.test}, ±{bound:.3g})", tost(c, bound)[0], bound


def _seeds(c: Comparison) -> int:
    return min(c.n_a, c.n_b)


def decide(rule: Rule, estimate: float, lo: float, hi: float, large: float = math.nan, unit: str | None = None,
           level_text: str = "") -> tuple[str, str]:
    """(verdict, one-line reason) of a row from its estimate and the interval that decides it (module
    docstring). The interval's ends are oriented by ``rule.direction``; NaN ends give "inconclusive"."""
    u = f" {rule.unit if unit is None else unit}".rstrip()
    u = u if u.strip() else ""
    est, ci = _f(estimate, 3, True), f"[{_f(lo)}, {_f(hi)}]"
    where = f"the {level_text} interval {ci}" if level_text else f"the interval {ci}"
    if not _ok(lo) or not _ok(hi):
        return "inconclusive", f"inconclusive: no interval (too few values or no spread); Δ = {est}{u}"
    d = rule.direction
    worse, better = (lo, hi) if d > 0 else (-hi, -lo)  # the ends in the claimed direction's orientation
    if rule.kind == "no_loss":
        m = rule.margin
        if worse > -m:
            return "reproduced", f"reproduced: {where} rules out a loss larger than {m:g}{u} (Δ = {est}{u})"
        if better < -m:
            return "contradicted", f"contradicted: {where} lies beyond the margin: a loss larger than {m:g}{u}"
        return "inconclusive", (f"inconclusive: {where} holds both a loss within the margin {m:g}{u} and one "
                                "beyond it")
    b = rule.sesoi
    if -b < lo and hi < b:
        sig = " though it also excludes 0" if (lo > 0 or hi < 0) else ""
        return NEGLIGIBLE, (f"not reproduced (negligible): {where} lies inside ±{b:.3g}{u} (SESOI){sig}; "
                            f"Δ = {est}{u}")
    if worse > 0:
        if _ok(large) and d * estimate < large:
            if better < large:
                return ("not reproduced (below the 'large' threshold)",
                        f"not reproduced: {where} is above 0 but wholly below the 'large' threshold {large:.3g}{u}")
            return "inconclusive", (f"inconclusive: {where} excludes 0, but Δ = {est}{u} is below the 'large' "
                                    f"threshold {large:.3g}{u}")
        small = (f"; its end nearer 0, {_f(d * worse)}{u}, lies within the SESOI ±{b:.3g}{u}, so an effect too "
                 "small to matter is not ruled out" if worse < b else "")
        return "reproduced", (f"reproduced: {where} excludes 0 in the claimed direction and is not inside "
                              f"±{b:.3g}{u}" + (f"; Δ >= the 'large' threshold {large:.3g}{u}" if _ok(large) else "")
                              + small)
    if better < 0:
        return "contradicted", (f"contradicted: {where} excludes 0 opposite to the claim and is not inside "
                                f"±{b:.3g}{u}")
    return "inconclusive", (f"inconclusive: {where} holds 0 and reaches beyond ±{b:.3g}{u}: neither an effect nor "
                            "its absence is shown")


def verdict(c: Comparison, rule: Rule, level: float = 0.05, m: int = 1, power: float = 0.8,
            confirmatory: bool = True) -> Verdict:
    """Judge one claim row (see the module docstring for the four outcomes).

    Args:
        c: the row's primary comparison of b − a (:func:`compare_by_seed`, :func:`pixelreg.analysis.stats.paired_test`,
            :func:`pixelreg.analysis.stats.welch_test`, :func:`pixelreg.analysis.stats.wald_test`).
        rule: what the row claims.
        level: the family's significance level.
        m: size of the confirmatory family the row belongs to (1: judged alone; exploratory rows use 1). The row
            is judged with the (1 − level/m) interval (Bonferroni), so interval and verdict agree.
        power: power for the MDE and the seeds needed.
        confirmatory: False gives the row an exploratory label (:data:`EXPLORATORY_LABELS`), never a verdict.
    """
    if not (0 < level < 1):
        raise ConfigError("level", level, "a significance level in (0, 1)")
    if m < 1:
        raise ConfigError("m", m, "the family's size, an integer >= 1")
    a = level / m
    test, p, test2, p2, bound = primary_tests(c, rule)
    lo, hi = interval(c, 1 - a)
    large = rule.large_raw(c)
    k = _seeds(c)
    # p2 for the interval's own level: the interval decides equivalence/inferiority at a/2 per side
    p_adj = min(1.0, m * p) if _ok(p) else math.nan  # Bonferroni: <= level exactly when the interval excludes 0
    p2_adj = min(1.0, 2 * m * p2) if _ok(p2) else math.nan
    if k < rule.min_seeds:
        v = f"inconclusive ({k} seed{'' if k == 1 else 's'})"
        text = f"{v}: fewer than {rule.min_seeds} seeds per cell; not judged"
    else:
        v, text = decide(rule, c.estimate, lo, hi, large, level_text=_pct(1 - a))
    if k < POWER_MIN_SEEDS or not _ok(c.p):
        mde_, n_eff, n_eq = math.nan, math.nan, math.nan
        note = f"too few seeds ({k}) for a power statement" if k < POWER_MIN_SEEDS else "no spread: no power"
    else:
        mde_ = mde(c, a, power)
        n_eff, n_eq = seeds_needed(c, bound, a, power)
        what = "images" if c.test.startswith("Wald") else ("pairs" if c.paired else "seeds per condition")
        if rule.kind == "effect":
            note = (f"at the observed SD, {_n(n_eff)} {what} detect ±{bound:.3g} with {power:.0%} power, and "
                    f"{_n(n_eq)} show equivalence within ±{bound:.3g} if there is no effect (level {a:.3g}; n = {k})")
            if _ok(c.estimate) and abs(c.estimate) > bound:  # a larger observed effect needs fewer
                n_obs = seeds_needed(c, abs(c.estimate), a, power)[0]
                note += (f"; a true difference as large as the observed {c.estimate:+.3g} would need {_n(n_obs)} "
                         f"{what} for the same power")
        else:  # non-inferiority is one side of the equivalence interval: its seeds are at most n_eq
            n_eff = math.nan
            note = (f"at the observed SD, at most {_n(n_eq)} {what} show non-inferiority within the margin "
                    f"{bound:.3g} with {power:.0%} power if there is no loss (level {a:.3g}; n = {k})")
    cat = v.split(" (")[0]
    label = v if confirmatory else EXPLORATORY_LABELS[cat]
    return Verdict(v, cat, confirmatory, label, c.estimate, lo, hi, 1 - a, test, p, p_adj, test2, p2, p2_adj,
                   c.p_perm, c.perm_note, c.n_a, c.n_b, c.effect, c.effect_name, mde_, a, power, n_eff, n_eq, note,
                   bound, large, float(rule.margin) if rule.margin is not None else math.nan, level, m, text, c)


def _n(x: float) -> str:
    if not _ok(x):
        return "n/a"
    return f"{int(x):,}" if x < 1e6 else "over a million"


def judge(comparisons: Sequence[Comparison], rules: Sequence[Rule], level: float = 0.05,
          power: float = 0.8, m: int | None = None) -> list[Verdict]:
    """Judge the rows of one confirmatory family: each at level/m with its (1 − level/m) interval
    (Bonferroni). ``m`` defaults to the number of rows; a family fixed in advance passes its declared size."""
    if len(comparisons) != len(rules):
        raise ConfigError("rules", len(rules), f"one rule per comparison ({len(comparisons)})")
    m = len(comparisons) if m is None else m
    return [verdict(c, r, level, max(1, m), power) for c, r in zip(comparisons, rules)]


def intersection_union(parts: Mapping[str, Verdict], direction: int = 1) -> tuple[str, str, str]:
    """Combine the verdicts of several families under one claim that must hold in each ("across attacks
    and dataset pairs"): the intersection-union test (Berger 1982), each family at the row's level.

    Returns (verdict, reason, weakest): "contradicted" if any family is; else "not reproduced (negligible)"
    if any family is shown negligible (the claim fails there); else "reproduced" only if every family is;
    else "inconclusive", naming the families that fall short. ``weakest`` names the family the row shows: the
    one that decides it (of the contradicted, or else the negligible, families, the one whose interval end on
    the claimed side is lowest), otherwise the family with the lowest such end.
    """
    if not parts:
        raise ConfigError("parts", {}, "at least one family")
    cats = {k: v.verdict for k, v in parts.items()}

    def weakest_of(keys):
        return min(keys, key=lambda k: _worse_end(parts[k], direction))

    weakest = weakest_of(parts)

    def names(sel):
        return ", ".join(k for k in parts if sel(cats[k]))
    if any(c == "contradicted" for c in cats.values()):
        # the row shows the family that decides it, not merely the one with the widest interval
        return ("contradicted", f"contradicted in {names(lambda c: c == 'contradicted')}",
                weakest_of([k for k in parts if cats[k] == "contradicted"]))
    if any(c.startswith("not reproduced") for c in cats.values()):
        bad = names(lambda c: c.startswith("not reproduced"))
        first = next(cats[k] for k in parts if cats[k].startswith("not reproduced"))
        return (first, f"{first} in {bad}: the claim must hold in every family",
                weakest_of([k for k in parts if cats[k].startswith("not reproduced")]))
    if all(c == "reproduced" for c in cats.values()):
        return "reproduced", f"reproduced in every one of the {len(parts)} families", weakest
    bad = names(lambda c: c != "reproduced")
    return "inconclusive", (f"inconclusive: not shown in {bad} (reproduced in "
                            f"{sum(c == 'reproduced' for c in cats.values())} of {len(parts)})"), weakest


def _worse_end(v: Verdict, direction: int) -> float:
    """The interval's end on the side against the claim, in the claim's orientation (no interval: lowest)."""
    lo, hi = v.ci_low, v.ci_high
    if not (_ok(lo) and _ok(hi)):
        return -math.inf
    return lo if direction > 0 else -hi


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
    """Columns ``seed``, ``a``, ``b`` (the values of the two conditions per seed, sorted by seed) over the seeds
    both conditions have (a seed one condition lacks, e.g. a failed run, loses its pair), if they share at least
    two; None otherwise (compare unpaired).

    ``summary`` must hold one row per (condition, seed): filter it to one attack / panel first.
    """
    va, vb = (summary.loc[summary[condition] == c, [seed, value]] for c in (a, b))
    for c, v in ((a, va), (b, vb)):
        if v.empty:
            raise ConfigError("condition", c, f"one of {sorted(set(summary[condition]))}")
        if v[seed].duplicated().any():
            raise ConfigError("summary", c, "one row per (condition, seed): filter to one attack/panel first")
    if len(set(va[seed]) & set(vb[seed])) < 2:
        return None
    # seeds of one condition only (a failed run: FAILED_RUN_RULE of the figures) lose their pair
    out = va.rename(columns={value: "a"}).merge(vb.rename(columns={value: "b"}), on=seed).sort_values(seed)
    return out.reset_index(drop=True)


def compare_by_seed(summary: pd.DataFrame, a: str, b: str, value: str = "auc", condition: str = "condition",
                    seed: str = "seed", confidence: float = 0.95) -> Comparison:
    """The primary comparison of b − a on a per-run summary: :func:`pixelreg.analysis.stats.paired_test` paired by seed
    over the seeds both conditions have (they then share initial weights, split and data order), else
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


__all__ = ["VERDICTS", "NEGLIGIBLE", "EXPLORATORY_LABELS", "KINDS", "ABLATION_MIN_SEEDS", "POWER_MIN_SEEDS", "Rule",
           "Verdict", "primary_tests", "decide", "verdict", "judge", "intersection_union", "verdict_table", "auc_by_run", "value_at", "pair_by_seed", "compare_by_seed", "seed_means",
           "lowfreq_test", "lowfreq_null_test", "lowfreq_excess_test"]
