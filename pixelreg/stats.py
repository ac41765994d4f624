"""Statistics over seeds for tidy robustness tables (scipy for every test).

Tables are tidy ``pandas.DataFrame``s as produced by :func:`pixelreg.evaluate.robust_accuracy`: one row
per (run, seed, condition, attack, epsilon) with a numeric column ``accuracy``. Different seeds of two
conditions are independent training runs, so comparisons are unpaired.
"""
from __future__ import annotations

import warnings
from typing import Sequence

import numpy as np
import pandas as pd
from scipy import integrate, stats

from .errors import ConfigError

TESTS = ("welch", "permutation")


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
    """Holm–Bonferroni step-down adjusted p-values (family-wise error control), in the input order.

    Sort p ascending; the i-th smallest (i = 0..m−1) gets (m − i)·p_(i); take the running maximum so the
    adjusted values are monotone, and cap at 1. Reject at level α where the adjusted p <= α.
    NaN p-values are left NaN and do not count in m.
    """
    p = np.asarray(pvalues, dtype=float)
    out = np.full_like(p, np.nan)
    ok = ~np.isnan(p)
    q = p[ok]
    m = len(q)
    if m == 0:
        return out
    order = np.argsort(q, kind="stable")
    adj = np.minimum(1.0, np.maximum.accumulate((m - np.arange(m)) * q[order]))
    res = np.empty(m)
    res[order] = adj
    out[ok] = res
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
                       alpha: float = 0.05, confidence: float = 0.95, n_resamples: int = 2000,
                       seed: int = 0) -> pd.DataFrame:
    """Compare condition ``b`` against ``a`` at every ε, Holm-corrected over the epsilons of each group.

    Args:
        table: tidy table with columns ``condition``, ``value``, ``x`` and ``by``; one row per seed.
        a, b: condition labels (e.g. "unregularized", "S^Th"); differences are b − a.
        test: "welch" or "permutation".
        by: columns defining one family of tests (default one family per attack).
    Returns:
        one row per (by, ε): mean_a, mean_b, diff, n_a, n_b, statistic, p, p_holm, significant,
        g (Hedges' g), g_low, g_high (95% CI, :func:`hedges_g_ci` with method "auto").
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
        if len(va) >= 2 and len(vb) >= 2 and not (np.ptp(va) == 0 and np.ptp(vb) == 0):
            stat, p = two_sample_test(va, vb, test, n_resamples=n_resamples, seed=seed)
        else:
            stat, p = float("nan"), float("nan")
        lo, hi = hedges_g_ci(va, vb, confidence, n_resamples=n_resamples, seed=seed)
        rows.append({**dict(zip([*by, x], key if isinstance(key, tuple) else (key,))),
                     "mean_a": va.mean(), "mean_b": vb.mean(), "diff": vb.mean() - va.mean(),
                     "n_a": len(va), "n_b": len(vb), "statistic": stat, "p": p,
                     "g": hedges_g(va, vb), "g_low": lo, "g_high": hi})
    out = pd.DataFrame(rows)
    if out.empty:
        return out
    out["p_holm"] = np.nan
    families = [idx for _, idx in out.groupby(list(by)).indices.items()] if by else [np.arange(len(out))]
    for idx in families:
        out.iloc[idx, out.columns.get_loc("p_holm")] = holm(out["p"].to_numpy()[idx])
    out["significant"] = out["p_holm"] <= alpha
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


__all__ = ["mean_sem", "auc", "holm", "hedges_g", "hedges_g_ci", "two_sample_test", "compare_conditions",
           "tradeoff", "TESTS"]
