"""Statistics over seeds for tidy robustness tables (scipy and statsmodels for every test).

Tables are tidy ``pandas.DataFrame``s as produced by :func:`pixelreg.robustness.evaluate.robust_accuracy`: one row
per (run, seed, condition, attack, epsilon) with a numeric column ``accuracy``.

Two families of functions:

- per-ε tables (:func:`compare_conditions`, unpaired Welch or permutation tests, Holm over ε);
- one summary per run (e.g. the AUC over ε), compared between two conditions by one primary test
  (:func:`paired_test` where the conditions share seeds, and so initial weights, split and data order;
  :func:`welch_test` where they do not), with equivalence (:func:`tost`), one-sided shifted tests
  (:func:`shifted_p`) and the minimum detectable effect (:func:`mde_paired`, :func:`mde_welch`).
  :mod:`pixelreg.analysis.verdicts` turns these into claim verdicts.
"""
from __future__ import annotations

import math
import warnings
from dataclasses import asdict, dataclass, field
from typing import Sequence

import numpy as np
import pandas as pd
from scipy import integrate, optimize, stats
from statsmodels.stats.multitest import multipletests
from statsmodels.stats.power import TTestIndPower, TTestPower
from statsmodels.stats.weightstats import ttost_ind, ttost_paired

from pixelreg.errors import ConfigError

TESTS = ("welch", "permutation", "paired")


def pformat(p: float | None) -> str:
    """The package's one p-value format: "0.012", "0.34", "<0.001"; "n/a" for a missing or undefined p."""
    if p is None or not math.isfinite(p):
        return "n/a"
    return f"{p:.2g}" if p >= 1e-3 else "<0.001"


def pstate(p: float | None, name: str = "p") -> str:
    """``name`` with its p-value for a sentence: "p = 0.012", "p < 0.001", "p = n/a" (:func:`pformat`)."""
    v = pformat(p)
    return f"{name} < {v[1:]}" if v.startswith("<") else f"{name} = {v}"


def mean_sem(table: pd.DataFrame, by: Sequence[str] = ("condition", "attack", "epsilon"),
             value: str = "accuracy") -> pd.DataFrame:
    """Mean, standard error of the mean (``scipy.stats.sem``, ddof=1) and count of ``value`` per group.

    Returns one row per group with columns ``*by, mean, sem, n`` (sem is NaN for a single seed).
    """
    missing = [c for c in (*by, value) if c not in table.columns]
    if missing:
        raise ConfigError("by/value", missing, f"columns of the table: {list(table.columns)}")
    g = table.groupby(list(by), sort=True)[value]
    out = g.agg(mean="mean", n="count").reset_index()
    out["sem"] = g.apply(lambda s: stats.sem(s.to_numpy(), ddof=1) if len(s) > 1 else np.nan).to_numpy()
    return out[[*by, "mean", "sem", "n"]]


def auc(epsilons: Sequence[float], accuracies) -> np.ndarray | float:
    """Area under the accuracy-vs-ε curve by the trapezoid rule, divided by the ε range.

    The result is the mean accuracy over [ε_min, ε_max] (in [0, 1]); ``accuracies`` may be (..., K) for K
    epsilons, integrated along its last axis.
    """
    e = np.asarray(epsilons, dtype=float)
    a = np.asarray(accuracies, dtype=float)
    if e.ndim != 1 or len(e) < 2 or a.shape[-1] != len(e):
        raise ConfigError("epsilons", list(e), "at least 2 epsilons, one per accuracy (last axis)")
    if np.any(np.diff(e) <= 0):
        raise ConfigError("epsilons", list(e), "strictly increasing values")
    out = integrate.trapezoid(a, e, axis=-1) / (e[-1] - e[0])
    return float(out) if np.ndim(out) == 0 else out


def holm(pvalues: Sequence[float]) -> np.ndarray:
    """Holm–Bonferroni step-down adjusted p-values (family-wise error control), in the input order
    (``statsmodels.stats.multitest.multipletests(method="holm")``).

    Sort p ascending; the i-th smallest (i = 0..m−1) gets (m − i)·p_(i); take the running maximum so the
    adjusted values are monotone, and cap at 1. Reject at level ``level`` where the adjusted p <= level.
    NaN p-values are left NaN and do not count in m.
    """
    return _adjust(pvalues, "holm")


def bonferroni(pvalues: Sequence[float]) -> np.ndarray:
    """Bonferroni-adjusted p-values min(1, m·p) (``multipletests(method="bonferroni")``); NaN left NaN and not
    counted in m. p_bonferroni <= level exactly when the (1 − level/m) interval of a t or Wald test excludes 0,
    which is why the confirmatory family uses it (:func:`interval`)."""
    return _adjust(pvalues, "bonferroni")


def _adjust(pvalues: Sequence[float], method: str) -> np.ndarray:
    p = np.asarray(pvalues, dtype=float)
    out = np.full_like(p, np.nan)
    ok = ~np.isnan(p)
    if ok.any():
        out[ok] = multipletests(p[ok], method=method)[1]
    return out


def hedges_g(a, b) -> float:
    """Hedges' g of b − a: (mean_b − mean_a) / pooled SD, times the small-sample correction
    J = 1 − 3 / (4(n_a + n_b) − 9). NaN if the pooled SD is 0 or a group has fewer than 2 values."""
    a, b = np.asarray(a, float), np.asarray(b, float)
    na, nb = len(a), len(b)
    if na < 2 or nb < 2:
        return float("nan")
    sp = np.sqrt(((na - 1) * a.var(ddof=1) + (nb - 1) * b.var(ddof=1)) / (na + nb - 2))
    if sp == 0:
        return float("nan")
    j = 1 - 3 / (4 * (na + nb) - 9)
    return float(j * (b.mean() - a.mean()) / sp)


def _hedges_g_nd(a, b, axis=-1):
    """:func:`hedges_g` along ``axis`` for a batch of resamples (vectorized for ``scipy.stats.bootstrap``:
    a Python call per resample made the bootstrap ~100x slower); NaN where the pooled SD is 0."""
    na, nb = a.shape[axis], b.shape[axis]
    sp = np.sqrt(((na - 1) * a.var(axis=axis, ddof=1) + (nb - 1) * b.var(axis=axis, ddof=1)) / (na + nb - 2))
    j = 1 - 3 / (4 * (na + nb) - 9)
    with np.errstate(divide="ignore", invalid="ignore"):
        g = j * (b.mean(axis=axis) - a.mean(axis=axis)) / sp
    return np.where(sp == 0, np.nan, g)


def hedges_g_ci(a, b, confidence: float = 0.95, n_resamples: int = 2000, seed: int = 0,
                method: str = "auto") -> tuple[float, float]:
    """Confidence interval of :func:`hedges_g`.

    ``method="percentile"``: bootstrap (``scipy.stats.bootstrap``, groups resampled independently).
    ``method="normal"``: the large-sample approximation of Hedges & Olkin (1985),
    g ± z·sqrt((na + nb)/(na·nb) + g²/(2(na + nb))). ``"auto"`` (default) takes the normal approximation when
    a group has fewer than 5 values: with 3 seeds a group has only 10 distinct resamples, some with zero
    variance, and the bootstrap interval is undefined or unbounded; otherwise the bootstrap.
    """
    a, b = np.asarray(a, float), np.asarray(b, float)
    if method not in ("auto", "percentile", "normal", "BCa", "basic"):
        raise ConfigError("method", method, "auto, percentile, normal, BCa or basic")
    if len(a) < 2 or len(b) < 2 or np.isnan(hedges_g(a, b)):
        return float("nan"), float("nan")
    if method == "auto":
        method = "normal" if min(len(a), len(b)) < 5 else "percentile"
    if method == "normal":
        g, na, nb = float(hedges_g(a, b)), len(a), len(b)
        se = np.sqrt((na + nb) / (na * nb) + g ** 2 / (2 * (na + nb)))
        z = stats.norm.ppf(0.5 + confidence / 2)
        return g - z * se, g + z * se
    with warnings.catch_warnings():  # a degenerate bootstrap gives a NaN interval, reported as such
        warnings.simplefilter("ignore", getattr(stats, "DegenerateDataWarning", RuntimeWarning))
        res = stats.bootstrap((a, b), _hedges_g_nd, paired=False, vectorized=True,
                              confidence_level=confidence, n_resamples=n_resamples, method=method,
                              rng=np.random.default_rng(seed))
    return float(res.confidence_interval.low), float(res.confidence_interval.high)


def two_sample_test(a, b, test: str = "welch", n_resamples: int = 9999, seed: int = 0) -> tuple[float, float]:
    """(statistic, two-sided p) for b versus a: Welch's t (``ttest_ind(equal_var=False)``) or a
    permutation test of the difference of means (``scipy.stats.permutation_test``)."""
    if test not in TESTS:
        raise ConfigError("test", test, f"one of {TESTS}")
    a, b = np.asarray(a, float), np.asarray(b, float)
    if test == "welch":
        r = stats.ttest_ind(b, a, equal_var=False)
        return float(r.statistic), float(r.pvalue)
    r = stats.permutation_test((b, a), lambda x, y, axis=-1: np.mean(x, axis=axis) - np.mean(y, axis=axis),
                               permutation_type="independent", vectorized=True, n_resamples=n_resamples,
                               alternative="two-sided", rng=np.random.default_rng(seed))
    return float(r.statistic), float(r.pvalue)


def compare_conditions(table: pd.DataFrame, a: str, b: str, test: str = "welch", value: str = "accuracy",
                       by: Sequence[str] = ("attack",), x: str = "epsilon", condition: str = "condition",
                       level: float = 0.05, confidence: float = 0.95, n_resamples: int = 2000,
                       seed: int = 0) -> pd.DataFrame:
    """Compare condition ``b`` against ``a`` at every ε, Holm-corrected over the epsilons of each group.

    Args:
        table: tidy table with columns ``condition``, ``value``, ``x`` and ``by``; one row per seed.
        a, b: condition labels (e.g. "unregularized", "S^Th"); differences are b − a.
        test: "welch", "permutation" (unpaired), or "paired": a paired t-test over the seeds both conditions
            have (column ``seed``; they share initial weights, split and data order), Welch's test in a group
            where fewer than two seeds are shared.
        by: columns defining one family of tests (default one family per attack).
        level: significance level of the Holm family (``significant`` = p_holm <= level).
    Returns:
        one row per (by, ε): mean_a, mean_b (over all runs of each), diff (the tested difference: the mean of
        the per-seed differences b − a over the shared seeds when paired, so it differs from mean_b − mean_a
        where a seed lost its pair; mean_b − mean_a otherwise), n_a, n_b, n_pairs (0 when unpaired), test,
        statistic, p, p_holm, significant, g (Hedges' g), g_low, g_high (95% CI, :func:`hedges_g_ci` with
        method "auto").
    """
    for c in (a, b):
        if c not in set(table[condition]):
            raise ConfigError("condition", c, f"one of {sorted(set(table[condition]))}")
    rows = []
    for key, grp in table.groupby([*by, x], sort=True):
        va = grp.loc[grp[condition] == a, value].to_numpy(float)
        vb = grp.loc[grp[condition] == b, value].to_numpy(float)
        if len(va) == 0 or len(vb) == 0:
            continue
        used, n_pairs, diff = test, 0, vb.mean() - va.mean()
        if test == "paired":  # by the seeds both conditions have; Welch where fewer than 2 are shared
            sa = grp.loc[grp[condition] == a, ["seed", value]].drop_duplicates("seed").set_index("seed")[value]
            sb = grp.loc[grp[condition] == b, ["seed", value]].drop_duplicates("seed").set_index("seed")[value]
            shared = sorted(set(sa.index) & set(sb.index))
            used = "paired" if len(shared) >= 2 else "welch"
        if used == "paired":
            d = sb[shared].to_numpy(float) - sa[shared].to_numpy(float)
            n_pairs, diff = len(d), float(d.mean())
            if _spread(_sd(d), sa[shared].to_numpy(float), sb[shared].to_numpy(float)):
                r = stats.ttest_rel(sb[shared].to_numpy(float), sa[shared].to_numpy(float))
                stat, p = float(r.statistic), float(r.pvalue)
            else:
                stat, p = float("nan"), float("nan")
        elif len(va) >= 2 and len(vb) >= 2 and not (np.ptp(va) == 0 and np.ptp(vb) == 0):
            stat, p = two_sample_test(va, vb, used, n_resamples=n_resamples, seed=seed)
        else:
            stat, p = float("nan"), float("nan")
        lo, hi = hedges_g_ci(va, vb, confidence, n_resamples=n_resamples, seed=seed)
        rows.append({**dict(zip([*by, x], key if isinstance(key, tuple) else (key,))),
                     "mean_a": va.mean(), "mean_b": vb.mean(), "diff": diff,
                     "n_a": len(va), "n_b": len(vb), "n_pairs": n_pairs, "test": {"paired": "paired t", "welch": "Welch t"}.get(used, used),
                     "statistic": stat, "p": p,
                     "g": hedges_g(va, vb), "g_low": lo, "g_high": hi})
    out = pd.DataFrame(rows)
    if out.empty:
        return out
    out["p_holm"] = np.nan
    families = [idx for _, idx in out.groupby(list(by)).indices.items()] if by else [np.arange(len(out))]
    for idx in families:
        out.iloc[idx, out.columns.get_loc("p_holm")] = holm(out["p"].to_numpy()[idx])
    out["significant"] = out["p_holm"] <= level
    out.insert(0, "b", b)
    out.insert(0, "a", a)
    return out


def tradeoff(table: pd.DataFrame, regularized: str, unregularized: str = "unregularized",
             eps_robust: float | dict[str, float] | None = None, value: str = "accuracy",
             condition: str = "condition") -> pd.DataFrame:
    """The poster's accuracy–robustness trade-off (spec §9.7), one row per attack.

    C_0, R_0: mean over seeds of the unregularized model's accuracy at ε = 0 and at ε = ``eps_robust``;
    C_N, R_N: the same for the regularized condition. ``eps_robust`` defaults to the largest ε of each
    attack in the table (0.1 for CIFAR-10 random noise and 0.02 for transferred FGSM on the reference
    grids). delta_C = C_0 − C_N is the clean-accuracy cost, delta_R = R_N − R_0 the robustness gain.
    """
    rows = []
    for attack, grp in table.groupby("attack", sort=True):
        e_r = eps_robust.get(attack) if isinstance(eps_robust, dict) else eps_robust
        if e_r is None:
            e_r = float(grp["epsilon"].max())

        def at(cond, eps):
            sel = grp[(grp[condition] == cond) & np.isclose(grp["epsilon"], eps)]
            return float(sel[value].mean()) if len(sel) else float("nan")

        c0, r0 = at(unregularized, 0.0), at(unregularized, e_r)
        cn, rn = at(regularized, 0.0), at(regularized, e_r)
        rows.append({"attack": attack, "eps_robust": e_r, "C_0": c0, "R_0": r0, "C_N": cn, "R_N": rn,
                     "delta_C": c0 - cn, "delta_R": rn - r0})
    return pd.DataFrame(rows)


# ----------------------------------------------------------------------------------------------------------
# One summary per run: primary tests, equivalence, power

PERMUTATION_MIN_N = 6  # an exact two-sided sign-flip p is at least 2 / 2^n: 0.0625 at n = 5, 0.031 at n = 6


@dataclass(frozen=True)
class Comparison:
    """Result of one primary test of b − a (:func:`paired_test` or :func:`welch_test`).

    Fields: ``test`` ("paired t" or "Welch t"); ``estimate`` (mean of b − a); ``ci_low``, ``ci_high`` (its
    ``confidence`` interval); ``p`` (two-sided); ``n`` (pairs, or n_a + n_b); ``df``; ``effect`` and
    ``effect_name`` (d_z = mean/SD of the differences, or Hedges' g); ``se`` (standard error of the estimate);
    ``sd`` (the effect size's scale: SD of the differences, or the pooled SD); ``n_a``, ``n_b``, ``sd_a``,
    ``sd_b`` (per condition); ``p_perm`` (exact sign-flip p, paired with n >= 6 only, else NaN) and
    ``perm_note`` (why it is missing); ``a``, ``b`` (the data, kept for the equivalence tests).
    Statistics are NaN where undefined (fewer than 2 values, or zero spread).
    """
    test: str
    estimate: float
    ci_low: float
    ci_high: float
    p: float
    n: int
    df: float
    effect: float
    effect_name: str
    se: float
    sd: float
    n_a: int
    n_b: int
    sd_a: float
    sd_b: float
    confidence: float = 0.95
    p_perm: float = math.nan
    perm_note: str = ""
    a: tuple = field(default=(), repr=False)
    b: tuple = field(default=(), repr=False)

    @property
    def paired(self) -> bool:
        return self.test == "paired t"

    def to_dict(self) -> dict:
        """All fields but the data ``a``, ``b``."""
        d = asdict(self)
        d.pop("a"), d.pop("b")
        return d


def _sd(x: np.ndarray) -> float:
    return float(x.std(ddof=1)) if len(x) > 1 else math.nan


def _spread(sd: float, *data: np.ndarray) -> bool:
    """True if ``sd`` is a real spread, not rounding error: > 1e-12 times the data's magnitude (differences of
    equal floats such as 0.6 − 0.5 and 0.7 − 0.6 differ by ~1e-17)."""
    scale = max((float(np.abs(x).max()) for x in data if len(x)), default=0.0)
    return math.isfinite(sd) and sd > 1e-12 * max(scale, 1e-300)


def _finite(*xs: float) -> bool:
    return all(x is not None and math.isfinite(x) for x in xs)


def sign_flip_p(d, exact_max_n: int = 16, n_resamples: int = 99_999, seed: int = 0) -> tuple[float, str]:
    """Two-sided sign-flip permutation p of mean(d) = 0 (``scipy.stats.permutation_test`` with one sample and
    ``permutation_type="samples"``, which flips the signs of the paired differences).

    Exact (all 2^n sign patterns) for n <= ``exact_max_n``; beyond, ``n_resamples`` random patterns (seeded),
    as 2^n patterns no longer fit in memory. Returns (p, note). With n < :data:`PERMUTATION_MIN_N` pairs the
    smallest attainable p, 2 / 2^n, is above 0.05, so p is NaN and the note says so.
    """
    d = np.asarray(d, float)
    n = len(d)
    if n < PERMUTATION_MIN_N:
        return math.nan, (f"no permutation p with {n} pair(s): an exact sign-flip p cannot go below "
                          f"2/2^{n} = {2 / 2 ** n:.3g}" if n else "no pairs")
    exact = n <= exact_max_n
    r = stats.permutation_test((d,), lambda x, axis=-1: np.mean(x, axis=axis), permutation_type="samples",
                               vectorized=True, n_resamples=np.inf if exact else n_resamples,
                               alternative="two-sided", rng=np.random.default_rng(seed))
    note = (f"exact sign-flip permutation over 2^{n} sign patterns" if exact else
            f"sign-flip permutation, {n_resamples} random sign patterns of 2^{n}")
    return float(r.pvalue), note


def paired_test(a, b, confidence: float = 0.95, permutation: bool = True) -> Comparison:
    """Paired t-test of b − a (``scipy.stats.ttest_rel(b, a)``); ``a[i]`` and ``b[i]`` share seed i.

    t = mean(d) / (SD(d)/√n) with d = b − a and df = n − 1; CI = mean(d) ± t_{df, (1+conf)/2} · SD(d)/√n;
    effect size d_z = mean(d) / SD(d). Beside it, where n >= 6, the exact sign-flip permutation p
    (:func:`sign_flip_p`).
    """
    a, b = np.asarray(a, float), np.asarray(b, float)
    if a.shape != b.shape or a.ndim != 1:
        raise ConfigError("a/b", (a.shape, b.shape), "two 1-D arrays of equal length (one value per seed)")
    d = b - a
    n, sd = len(d), _sd(d)
    est = float(d.mean()) if n else math.nan
    p = lo = hi = df = math.nan
    se = sd / math.sqrt(n) if n > 1 else math.nan
    if n > 1 and _spread(sd, a, b):
        r = stats.ttest_rel(b, a)
        ci = r.confidence_interval(confidence)
        p, df, lo, hi = float(r.pvalue), float(r.df), float(ci.low), float(ci.high)
    p_perm, note = sign_flip_p(d) if permutation else (math.nan, "not computed")
    return Comparison("paired t", est, lo, hi, p, n, df, est / sd if _finite(p) else math.nan, "d_z",
                      se, sd, n, n, _sd(a), _sd(b), confidence, p_perm, note, tuple(a), tuple(b))


def welch_df(sd_a: float, sd_b: float, n_a: int, n_b: int) -> float:
    """Welch–Satterthwaite degrees of freedom: (v_a + v_b)² / (v_a²/(n_a − 1) + v_b²/(n_b − 1)) with
    v = SD²/n."""
    va, vb = sd_a ** 2 / n_a, sd_b ** 2 / n_b
    den = va ** 2 / (n_a - 1) + vb ** 2 / (n_b - 1)
    return (va + vb) ** 2 / den if den > 0 else math.nan


def welch_test(a, b, confidence: float = 0.95) -> Comparison:
    """Welch's unequal-variance t-test of mean(b) − mean(a) for unpaired runs
    (``scipy.stats.ttest_ind(b, a, equal_var=False)``).

    se = sqrt(SD_a²/n_a + SD_b²/n_b), df by Welch–Satterthwaite (:func:`welch_df`), CI = diff ± t_{df} · se;
    effect size Hedges' g (:func:`hedges_g`, scale = pooled SD).
    """
    a, b = np.asarray(a, float), np.asarray(b, float)
    na, nb = len(a), len(b)
    sa, sb = _sd(a), _sd(b)
    est = float(b.mean() - a.mean()) if na and nb else math.nan
    p = lo = hi = df = se = sp = math.nan
    if na > 1 and nb > 1:
        se = math.sqrt(sa ** 2 / na + sb ** 2 / nb)
        sp = math.sqrt(((na - 1) * sa ** 2 + (nb - 1) * sb ** 2) / (na + nb - 2))
        if _spread(se, a, b):
            r = stats.ttest_ind(b, a, equal_var=False)
            ci = r.confidence_interval(confidence)
            p, df, lo, hi = float(r.pvalue), float(r.df), float(ci.low), float(ci.high)
    g = hedges_g(a, b) if _finite(p) else math.nan
    return Comparison("Welch t", est, lo, hi, p, na + nb, df, g, "Hedges g", se, sp, na, nb, sa, sb,
                      confidence, math.nan, "unpaired runs: no sign-flip permutation", tuple(a), tuple(b))


def wald_test(estimate: float, se: float, n: int, confidence: float = 0.95, what: str = "") -> Comparison:
    """A Wald z-test of an estimate against 0 from its standard error, for summaries that are not means of
    runs (e.g. a correlation over image pairs with an image-bootstrap SE): z = estimate / se,
    p = 2·(1 − Φ(|z|)), CI = estimate ± z_{(1+conf)/2}·se. ``n`` is recorded in ``n_a`` and ``n_b`` (e.g. the
    number of images); ``what`` is appended to the test's name."""
    ok = _finite(estimate, se) and se > 0
    z = estimate / se if ok else math.nan
    q = stats.norm.ppf(0.5 + confidence / 2)
    p = float(2 * stats.norm.sf(abs(z))) if ok else math.nan
    lo, hi = (estimate - q * se, estimate + q * se) if ok else (math.nan, math.nan)
    name = "Wald z" + (f" ({what})" if what else "")
    return Comparison(name, float(estimate), lo, hi, p, int(n), math.inf, z, "z", float(se), math.nan, int(n),
                      int(n), math.nan, math.nan, confidence, math.nan, "Wald test: no permutation")


def _is_wald(c: Comparison) -> bool:
    return c.test.startswith("Wald z")


def shifted_p(c: Comparison, shift: float, alternative: str) -> float:
    """One-sided p of H1: (b − a) > shift (``alternative="greater"``) or < shift (``"less"``), by the same
    test as ``c``: ``ttest_1samp(b − a, shift)`` for paired data, ``ttest_ind(b, a + shift, equal_var=False)``
    for Welch (shifting a constant changes neither the SDs nor the df), the normal distribution for a Wald
    test (:func:`wald_test`). NaN where ``c.p`` is NaN."""
    if alternative not in ("greater", "less"):
        raise ConfigError("alternative", alternative, "'greater' or 'less'")
    if not _finite(c.p):
        return math.nan
    if _is_wald(c):
        z = (c.estimate - shift) / c.se
        return float(stats.norm.sf(z) if alternative == "greater" else stats.norm.cdf(z))
    a, b = np.asarray(c.a, float), np.asarray(c.b, float)
    if c.paired:
        return float(stats.ttest_1samp(b - a, shift, alternative=alternative).pvalue)
    return float(stats.ttest_ind(b, a + shift, equal_var=False, alternative=alternative).pvalue)


def tost(c: Comparison, margin: float) -> tuple[float, float, float]:
    """Two one-sided tests (TOST) of equivalence within ±``margin`` (Schuirmann 1987), by ``c``'s test:
    ``statsmodels.stats.weightstats.ttost_paired`` for paired data, ``ttost_ind(usevar="unequal")`` for Welch,
    the normal distribution for a Wald test (:func:`wald_test`).

    p_lower: H1 diff > −margin; p_upper: H1 diff < +margin; p_tost = max of the two. Rejecting at α (p_tost
    <= α) is the same as the (1 − 2α) CI of the difference lying inside (−margin, +margin).
    Returns (p_tost, p_lower, p_upper).
    """
    if not margin > 0:
        raise ConfigError("margin", margin, "a positive number (in the units of the compared values)")
    if not _finite(c.p):
        return math.nan, math.nan, math.nan
    if _is_wald(c):
        lo, up = shifted_p(c, -margin, "greater"), shifted_p(c, margin, "less")
        return max(lo, up), lo, up
    a, b = np.asarray(c.a, float), np.asarray(c.b, float)
    if c.paired:
        p, (_, lo, _), (_, up, _) = ttost_paired(b, a, -margin, margin)
    else:
        p, (_, lo, _), (_, up, _) = ttost_ind(b, a, -margin, margin, usevar="unequal")
    return float(p), float(lo), float(up)


def interval(c: Comparison, confidence: float) -> tuple[float, float]:
    """The two-sided ``confidence`` interval of ``c``'s estimate by its own test: estimate ± q·se with q the
    t quantile at ``c.df`` (paired: n − 1; Welch: Welch–Satterthwaite) or the normal one (Wald). At
    confidence 1 − a it excludes 0 exactly when the test's two-sided p <= a, and it lies inside ±m exactly when
    TOST within ±m rejects at a/2: one interval decides significance and equivalence alike. NaN where the test
    is undefined."""
    if not (0 < confidence < 1):
        raise ConfigError("confidence", confidence, "a number in (0, 1)")
    if not _finite(c.p, c.se, c.estimate):
        return math.nan, math.nan
    q = float(stats.norm.ppf(0.5 + confidence / 2) if _is_wald(c) or not math.isfinite(c.df)
              else stats.t.ppf(0.5 + confidence / 2, c.df))
    return c.estimate - q * c.se, c.estimate + q * c.se


def _smallest_n(power_at, target: float, n_max: int = 10 ** 7) -> float:
    """The smallest integer n >= 2 with power_at(n) >= target (power rises with n): doubling, then bisection;
    NaN beyond ``n_max``."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        if power_at(2) >= target:
            return 2.0
        hi = 4
        while power_at(hi) < target:
            hi *= 2
            if hi > n_max:
                return math.nan
        lo = hi // 2
        while hi - lo > 1:
            mid = (lo + hi) // 2
            lo, hi = (lo, mid) if power_at(mid) >= target else (mid, hi)
    return float(hi)


def seeds_needed(c: Comparison, sesoi: float, level: float = 0.05, power: float = 0.8) -> tuple[float, float]:
    """(effect, equivalence): seeds (pairs; per condition when unpaired) needed at ``c``'s observed SD for
    ``power`` at level ``level``, by ``statsmodels.stats.power``:

    - effect: a two-sided t-test detects a true difference of ``sesoi``
      (``TTestPower`` on d_z = sesoi / SD(d) for paired data, ``TTestIndPower`` on sesoi / pooled SD for Welch);
    - equivalence: the (1 − level) interval lies inside ±``sesoi`` when the true difference is 0, i.e. each
      one-sided test of TOST at level/2 rejects with probability 1 − (1 − power)/2 (the usual approximation
      for a true difference of 0).

    Wald rows (e.g. a correlation over images): the number of *images*, from se ∝ 1/√n,
    n·((z_{1−level/2} + z_power)·se / sesoi)² and n·((z_{1−level/4} + z_{1−(1−power)/2})·se / sesoi)².
    NaN where the SD is undefined or 0 or beyond ten million. The smallest integer n (at least 2) reaching
    the power.
    """
    if not sesoi > 0:
        raise ConfigError("sesoi", sesoi, "a positive smallest effect of interest")
    if not _finite(c.p):
        return math.nan, math.nan
    if _is_wald(c):
        z = stats.norm.ppf
        k = c.n_a * (c.se / sesoi) ** 2
        return (float(math.ceil(k * (z(1 - level / 2) + z(power)) ** 2)),
                float(math.ceil(k * (z(1 - level / 4) + z(1 - (1 - power) / 2)) ** 2)))
    sd = c.sd
    if not (_finite(sd) and sd > 0):
        return math.nan, math.nan
    es = sesoi / sd
    solver = TTestPower() if c.paired else TTestIndPower()
    out = []
    for kw in (dict(alpha=level, alternative="two-sided"), dict(alpha=level / 2, alternative="larger")):
        target = power if kw["alternative"] == "two-sided" else 1 - (1 - power) / 2
        key = "nobs" if c.paired else "nobs1"  # TTestIndPower: per group, equal groups
        out.append(_smallest_n(lambda n: solver.power(effect_size=es, **{key: n}, **kw), target))
    return out[0], out[1]


def power_t(delta: float, se: float, df: float, level: float = 0.05) -> float:
    """Power of a two-sided t-test at level ``level`` against a true difference ``delta``:
    1 − F(t_c; df, λ) + F(−t_c; df, λ), F the noncentral t CDF (``scipy.stats.nct``), λ = delta/se,
    t_c = t_{df, 1 − level/2}. (scipy's noncentral CDF can return NaN far in its tail, where it is ~0: read as 0.)"""
    tc = stats.t.ppf(1 - level / 2, df)
    lam = delta / se
    return float(np.nan_to_num(stats.nct.sf(tc, df, lam)) + np.nan_to_num(stats.nct.cdf(-tc, df, lam)))


def mde_t(se: float, df: float, level: float = 0.05, power: float = 0.8) -> float:
    """Minimum detectable effect: the difference δ > 0 at which :func:`power_t` equals ``power``, solved for
    λ = δ/se with ``scipy.optimize.brentq``; NaN if se or df is undefined or se is 0."""
    if not (_finite(se, df) and se > 0 and df > 0):
        return math.nan
    if not (level < power < 1):
        raise ConfigError("power", power, f"a number in (level={level}, 1)")
    hi = 1.0
    while power_t(hi, 1.0, df, level) < power:
        hi *= 2
    return float(optimize.brentq(lambda lam: power_t(lam, 1.0, df, level) - power, 0.0, hi, xtol=1e-10) * se)


def mde_paired(sd: float, n: int, level: float = 0.05, power: float = 0.8) -> float:
    """MDE of the paired t-test: :func:`mde_t` with se = SD(d)/√n and df = n − 1 (``sd=1`` gives it in d_z)."""
    return mde_t(sd / math.sqrt(n), n - 1, level, power) if n > 1 else math.nan


def mde_welch(sd_a: float, sd_b: float, n_a: int, n_b: int, level: float = 0.05, power: float = 0.8) -> float:
    """MDE of Welch's test: :func:`mde_t` with se = sqrt(SD_a²/n_a + SD_b²/n_b) and the Welch–Satterthwaite df
    of these SDs (the usual noncentral-t approximation, treating the observed SDs as the true ones)."""
    if n_a < 2 or n_b < 2 or not _finite(sd_a, sd_b):
        return math.nan
    return mde_t(math.sqrt(sd_a ** 2 / n_a + sd_b ** 2 / n_b), welch_df(sd_a, sd_b, n_a, n_b), level, power)


def mde(c: Comparison, level: float = 0.05, power: float = 0.8) -> float:
    """MDE of ``c``'s design at its observed SD(s): :func:`mde_paired` or :func:`mde_welch`; NaN where the
    test itself is undefined (``c.p`` NaN: too few values or no spread)."""
    if not _finite(c.p):
        return math.nan
    if _is_wald(c):  # normal approximation: (z_{1-level/2} + z_power)·se
        return float((stats.norm.ppf(1 - level / 2) + stats.norm.ppf(power)) * c.se)
    if c.paired:
        return mde_paired(c.sd, c.n, level, power)
    return mde_welch(c.sd_a, c.sd_b, c.n_a, c.n_b, level, power)



# ----------------------------------------------------------------------------------------------------------
# Matched clean accuracy (issue 22 item 3): two methods' trade-off curves compared at a fixed clean accuracy

def curve_at(x, y, level: float) -> float:
    """y of the piecewise-linear curve through the finite points (x, y), ordered by x, at x = ``level``.

    Never extrapolates: NaN when ``level`` lies outside [min x, max x] or no point is finite.
    """
    x, y = np.asarray(x, float), np.asarray(y, float)
    ok = np.isfinite(x) & np.isfinite(y)
    x, y = x[ok], y[ok]
    if not len(x) or not (x.min() <= level <= x.max()):
        return math.nan
    order = np.argsort(x, kind="stable")
    return float(np.interp(level, x[order], y[order]))


def _seed_means(v: np.ndarray, idx: np.ndarray) -> np.ndarray:
    """(conditions, seeds) values, resampled seed columns ``idx`` (R, S) -> (conditions, R) means over the
    resampled seeds that have a value (NaN where none has)."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)  # a condition with no run among the resampled seeds
        return np.nanmean(v[:, idx], axis=-1)


def _two_curves(a_x, a_y, b_x, b_y, n_resamples, confidence) -> tuple[np.ndarray, ...]:
    """Two methods' (conditions, seeds) arrays as 2-D floats, checked, with the bootstrap's settings."""
    a_x, a_y, b_x, b_y = (np.atleast_2d(np.asarray(v, float)) for v in (a_x, a_y, b_x, b_y))
    if a_x.shape != a_y.shape or b_x.shape != b_y.shape or a_x.shape[1] != b_x.shape[1]:
        raise ConfigError("a_x, a_y, b_x, b_y", [a_x.shape, a_y.shape, b_x.shape, b_y.shape],
                          "(conditions, seeds) arrays, x and y of a method alike, the same seeds for both methods")
    if not isinstance(n_resamples, int) or isinstance(n_resamples, bool) or n_resamples < 1:
        raise ConfigError("n_resamples", n_resamples, "an integer >= 1")
    if not 0 < confidence < 1:
        raise ConfigError("confidence", confidence, "a number in (0, 1)")
    return a_x, a_y, b_x, b_y


def matched_difference(a_x, a_y, b_x, b_y, levels: Sequence[float], n_resamples: int = 2000,
                       confidence: float = 0.95, seed: int = 0) -> pd.DataFrame:
    """b − a of two methods' trade-off curves at fixed values of x (e.g. robust AUC at a clean accuracy).

    Each method is a grid of conditions (e.g. S^Th over α, noise augmentation over σ) trained with the same
    seeds. Its *seed-mean curve* is the piecewise-linear curve through the points (mean x, mean y) of its
    conditions, ordered by mean x (:func:`curve_at`); the estimate at a level is b's curve minus a's there. A
    curve that does not span a level gives NaN (never extrapolated). The interval is a percentile bootstrap
    over seeds: each resample draws seed indices with replacement, the same indices for both methods (paired
    seeds: a seed's shared initial weights, split and data order cancel), recomputes both seed-mean curves and
    their difference; resamples in which a curve does not reach the level are left out and counted
    (``defined``).

    Args:
        a_x, a_y, b_x, b_y: (conditions, seeds) arrays, e.g. clean accuracy and AUC; column j is the same seed
            in all four; NaN marks a missing (e.g. failed) run, left out of its condition's mean.
        levels: the x values at which the curves are compared.
        n_resamples: bootstrap resamples (>= 1).
        confidence: two-sided coverage of the percentile interval, in (0, 1).
        seed: seed of the resampling generator.
    Returns:
        One row per level: ``level``, ``a``, ``b`` (each curve's y there), ``estimate`` (b − a), ``ci_low``,
        ``ci_high``, ``a_covers``, ``b_covers`` (the seed-mean curve spans the level), ``defined`` (share of
        resamples in which both curves reach it), ``n_seeds``, ``n_resamples``, ``confidence``.
    """
    a_x, a_y, b_x, b_y = _two_curves(a_x, a_y, b_x, b_y, n_resamples, confidence)
    n_seeds = a_x.shape[1]
    full = np.arange(n_seeds)[None]
    idx = np.random.default_rng(seed).integers(0, n_seeds, size=(n_resamples, n_seeds))
    curves = [(_seed_means(x, full)[:, 0], _seed_means(y, full)[:, 0], _seed_means(x, idx), _seed_means(y, idx))
              for x, y in ((a_x, a_y), (b_x, b_y))]
    q = 100 * np.array([(1 - confidence) / 2, (1 + confidence) / 2])
    rows = []
    for level in levels:
        level = float(level)
        at = [curve_at(mx, my, level) for mx, my, _, _ in curves]
        boot = np.array([[curve_at(bx[:, r], by[:, r], level) for r in range(n_resamples)]
                         for _, _, bx, by in curves])
        d = boot[1] - boot[0]
        d = d[np.isfinite(d)]
        est = at[1] - at[0]
        # one seed: every resample is the sample itself, a zero-width "interval" that is not one
        lo, hi = (np.percentile(d, q) if math.isfinite(est) and len(d) and n_seeds > 1 else (math.nan, math.nan))
        rows.append(dict(level=level, a=at[0], b=at[1], estimate=est, ci_low=float(lo), ci_high=float(hi),
                         a_covers=math.isfinite(at[0]), b_covers=math.isfinite(at[1]), defined=len(d) / n_resamples,
                         n_seeds=n_seeds, n_resamples=n_resamples, confidence=confidence))
    return pd.DataFrame(rows)


def at_points_difference(a_x, a_y, b_x, b_y, n_resamples: int = 2000, confidence: float = 0.95,
                         seed: int = 0) -> pd.DataFrame:
    """b − a at each of a's own conditions: b's seed-mean curve read at the seed-mean x of a condition of a,
    minus that condition's seed-mean y (a is not interpolated).

    The same arrays and paired-seed percentile bootstrap as :func:`matched_difference`, but each resample reads
    b at the resampled x of a's condition, so the level moves with a's point instead of being fixed at the full
    sample's value (a fixed level would fall outside a's resampled curve whenever the point is its end).

    Returns:
        One row per condition of a (in row order): ``level`` (its seed-mean x), ``a`` (its seed-mean y), ``b``,
        ``estimate`` (b − a), ``ci_low``, ``ci_high``, ``b_covers``, ``defined`` (share of resamples in which b's
        curve reaches the point), ``n_seeds``, ``n_resamples``, ``confidence``.
    """
    a_x, a_y, b_x, b_y = _two_curves(a_x, a_y, b_x, b_y, n_resamples, confidence)
    n_seeds = a_x.shape[1]
    full = np.arange(n_seeds)[None]
    idx = np.random.default_rng(seed).integers(0, n_seeds, size=(n_resamples, n_seeds))
    ax, ay, bx, by = (_seed_means(v, full)[:, 0] for v in (a_x, a_y, b_x, b_y))
    rax, ray, rbx, rby = (_seed_means(v, idx) for v in (a_x, a_y, b_x, b_y))
    q = 100 * np.array([(1 - confidence) / 2, (1 + confidence) / 2])
    rows = []
    for k in range(a_x.shape[0]):
        b_at = curve_at(bx, by, ax[k]) if np.isfinite(ax[k]) else math.nan
        est = b_at - ay[k]
        d = np.array([curve_at(rbx[:, r], rby[:, r], rax[k, r]) - ray[k, r] if np.isfinite(rax[k, r]) else math.nan
                      for r in range(n_resamples)])
        d = d[np.isfinite(d)]
        lo, hi = (np.percentile(d, q) if math.isfinite(est) and len(d) and n_seeds > 1 else (math.nan, math.nan))
        rows.append(dict(level=float(ax[k]), a=float(ay[k]), b=b_at, estimate=est, ci_low=float(lo),
                         ci_high=float(hi), b_covers=math.isfinite(b_at), defined=len(d) / n_resamples,
                         n_seeds=n_seeds, n_resamples=n_resamples, confidence=confidence))
    return pd.DataFrame(rows)


__all__ = ["mean_sem", "auc", "holm", "bonferroni", "interval", "seeds_needed", "pformat", "hedges_g", "hedges_g_ci", "two_sample_test", "compare_conditions",
           "tradeoff", "TESTS", "Comparison", "PERMUTATION_MIN_N", "sign_flip_p", "paired_test", "welch_df",
           "welch_test", "wald_test", "shifted_p", "tost", "power_t", "mde_t", "mde_paired", "mde_welch", "mde",
           "curve_at", "matched_difference", "at_points_difference"]
