"""Statistics sentences of "What we see": numbers, p-values (one format, :func:`pixelreg.analysis.stats.pformat`),
gains, rankings, failed and dirty-tree runs."""
from __future__ import annotations

import math
from typing import Any

import numpy as np
import pandas as pd

from pixelreg.analysis.stats import pformat, pstate
from pixelreg.figures.tables import FAILED_RUN_RULE

# ----------------------------------------------------------------------------------------------------------
# sentences

#: the fewest runs per side (seed pairs, for a paired test) for which an exploratory page's sentence makes a
#: call (gains, loses, less sensitive); below it the sentence shows the estimate and its interval and calls
#: nothing. With 2 pairs a paired t-interval has 1 df: valid, but its width rests on a single difference of two
#: differences, and a page of many unadjusted tests would make calls from chance agreements.
MIN_RUNS_TO_JUDGE = 3


def too_few_to_judge(n_a: int, n_b: int, paired: bool = True) -> str | None:
    """The 'not judged' clause for a comparison of ``n_a`` vs ``n_b`` runs (seed pairs when ``paired``), or None
    when it has at least :data:`MIN_RUNS_TO_JUDGE` on each side."""
    n = min(int(n_a), int(n_b))
    if n >= MIN_RUNS_TO_JUDGE:
        return None
    what = f"{n} seed pair{'s' if n != 1 else ''}" if paired and int(n_a) == int(n_b) else f"{int(n_a)} vs {int(n_b)} runs"
    return f"not judged at {what} (a call needs at least {MIN_RUNS_TO_JUDGE} per side; the estimates are shown)"


def interval_state(ci_low: float, ci_high: float) -> str:
    """Whether an interval holds 0, for a comparison's sentence; an undefined interval (too few values or no
    spread) says so instead of passing for "holds 0"."""
    if not (np.isfinite(ci_low) and np.isfinite(ci_high)):
        return "no interval (too few values or no spread)."
    return "the interval holds 0." if ci_low <= 0 <= ci_high else "the interval excludes 0."


def comparison_n(test: str, n_a: int, n_b: int) -> str:
    """"3 pairs" for a paired test, "2 vs 3 runs, unpaired" for Welch's (too few shared seeds)."""
    return f"{n_a} pairs" if str(test).startswith("paired") else f"{n_a} vs {n_b} runs, unpaired"


def join_and(items) -> str:
    """"a", "a and b", "a, b and c"."""
    items = [str(x) for x in items]
    return items[0] if len(items) == 1 else ", ".join(items[:-1]) + " and " + items[-1]


def fmt(x: float, digits: int = 3) -> str:
    """``x`` to ``digits`` decimals; "n/a" for None or NaN; a value that rounds to zero is "0.000", never "-0.000"."""
    if x is None or (isinstance(x, float) and math.isnan(x)):
        return "n/a"
    out = f"{x:.{digits}f}"
    return out[1:] if out.startswith("-") and not out.strip("-0.") else out


def digits_for(*values: float, digits: int = 3, most: int = 6) -> int:
    """The fewest decimals from ``digits`` (at most ``most``) at which no non-zero finite value of ``values``
    rounds to zero, so an interval that excludes 0 is never printed as touching it ("[-0.001, 0.000]")."""
    vals = [v for v in values if v is not None and math.isfinite(v) and v != 0]
    while digits < most and any(round(v, digits) == 0 for v in vals):
        digits += 1
    return digits


def signed(x: float, digits: int = 3) -> str:
    """``x`` with its sign to ``digits`` decimals ("+0.120", "-0.055"); a value that rounds to zero is "+0.000"."""
    out = fmt(x, digits)
    return out if out.startswith("-") or out == "n/a" else "+" + out


pfmt = pformat  # the package's one p-value format (pixelreg.analysis.stats.pformat)


def sem(v) -> float:
    v = np.asarray(v, float)
    v = v[~np.isnan(v)]
    return float(v.std(ddof=1) / math.sqrt(len(v))) if len(v) > 1 else math.nan


def msem(summary: pd.DataFrame, sel: dict, cond: str) -> tuple[float, float]:
    """Mean and SEM of condition ``cond`` in a ``stats.mean_sem`` table at the rows ``sel``."""
    m = summary
    for k, v in {**sel, "condition": cond}.items():
        m = m[np.isclose(m[k], v)] if isinstance(v, float) else m[m[k] == v]
    return (float(m["mean"].iloc[0]), float(m["sem"].iloc[0])) if len(m) else (math.nan, math.nan)


def gain_summary(tests: pd.DataFrame) -> dict[str, Any]:
    """Summarise one family of tests (one condition b vs a over ε): where b is significantly better or worse."""
    t = tests.sort_values("epsilon")
    noisy = t[t.epsilon > 0]
    sig = noisy[noisy.significant.fillna(False).astype(bool)]
    clean = t[t.epsilon == 0]
    # the ε > 0 with the largest difference in either direction (a family of losses shows its largest loss)
    best = noisy.loc[noisy["diff"].abs().idxmax()] if len(noisy) and noisy["diff"].notna().any() else None
    return dict(
        gain_eps=[float(e) for e in sig[sig["diff"] > 0].epsilon],
        loss_eps=[float(e) for e in sig[sig["diff"] < 0].epsilon],
        best=best,
        clean_diff=float(clean["diff"].iloc[0]) if len(clean) else math.nan,
        clean_row=clean.iloc[0] if len(clean) else None,
        clean_p=float(clean["p_holm"].iloc[0]) if len(clean) else math.nan,
        clean_loss=bool(len(clean) and clean["diff"].iloc[0] < 0 and bool(clean["significant"].iloc[0])),
        n=(int(t["n_a"].min()), int(t["n_b"].min())) if len(t) else (0, 0),
        test=str(t["test"].iloc[0]) if "test" in t and len(t) else "Welch t")


def _test_n(row, test: str) -> str:
    """"paired t over 4 seed pairs" where a tests row was paired (its ``n_pairs``), else its test's name (the
    row's own ``test``; ``test`` where the row has none)."""
    if not hasattr(row, "get"):
        return test
    k, own = int(row.get("n_pairs", 0) or 0), str(row.get("test", test) or test)
    return f"{own} over {k} seed pairs" if k else own


def gain_sentence(label: str, tests: pd.DataFrame, summary: pd.DataFrame, sel: dict, base="unregularized") -> str:
    """One bullet of "What we see": the best ε of a family of tests, with its significance and clean cost."""
    if tests is None or tests.empty:
        return f"- {label}: no comparison available."
    g = gain_summary(tests)
    b = tests["b"].iloc[0]
    if g["best"] is None:
        return f"- {label}: no ε > 0 in the grid."
    e = float(g["best"].epsilon)
    mb, sb = msem(summary, {**sel, "epsilon": e}, b)
    ma, sa = msem(summary, {**sel, "epsilon": e}, base)
    s = (f"- {label}: at ε = {e:.3g} (the ε > 0 with the largest mean difference in either direction, picked after "
         f"looking, so its p is not a test of the claim), {b} averages {fmt(mb)} ± {fmt(sb)} vs {base} {fmt(ma)} ± {fmt(sa)} "
         f"(mean ± SEM over {g['n'][1]} and {g['n'][0]} seeds); the tested difference {b} − {base} is "
         f"{float(g['best']['diff']):+.3f} ({_test_n(g['best'], g['test'])}, {pstate(float(g['best'].p_holm), 'p_holm')}). ")
    if g["gain_eps"]:
        s += f"The gain is significant after Holm correction at ε = {', '.join(f'{x:.3g}' for x in g['gain_eps'])}. "
    else:
        what = "gain" if g["loss_eps"] else "difference, gain or loss,"
        s += (f"**No single ε > 0 shows a significant {what} after Holm correction over the grid**; a non-significant "
              "result is not evidence of no effect. ")
    s += ("These per-ε tests (Holm over this family's ε, ε = 0 included) answer a different question from the "
          "claims page, which tests one summary per run, the AUC over ε > 0 paired by seed: its confirmatory rows "
          "with Bonferroni intervals over a family fixed in advance, its other rows unadjusted and labelled "
          "exploratory. Where the two differ, read the claims page's row. ")
    if g["loss_eps"]:
        s += f"It is significantly *worse* at ε = {', '.join(f'{x:.3g}' for x in g['loss_eps'])}. "
    if not math.isnan(g["clean_diff"]):
        s += (f"Clean accuracy changes by {g['clean_diff']:+.3f} ({_test_n(g['clean_row'], g['test'])}, "
              f"{pstate(g['clean_p'], 'p_holm')}"
              + ("; a significant loss" if g["clean_loss"] else "") + ").")
    return s


def ranking_sentences(s: pd.DataFrame, cost: bool) -> list[str]:
    """Ablation settings ranked by their AUC over ε > 0 against the unregularized one (Figs. 5 and 7).

    ``s`` has columns variant, auc, auc_sem, clean, n (and seconds_per_step with ``cost``)."""
    base = s[s.variant == "unregularized"]
    b_auc = float(base["auc"].iloc[0]) if len(base) else math.nan
    lines = []
    for _, r in s.sort_values("auc", ascending=False).iterrows():
        extra = f", {r.seconds_per_step * 1000:.0f} ms/step" if cost else ""
        single = " (one run: no SEM, left out of the screen below)" if int(r.n) < 2 else ""
        lines.append(f"- {r.variant}: AUC over ε > 0 {fmt(r.auc)} ± {fmt(r.auc_sem)} (mean ± SEM) "
                     f"({'+' if r.auc - b_auc >= 0 else ''}{r.auc - b_auc:.3f} vs unregularized), "
                     f"clean {fmt(r.clean)}{extra}, n = {int(r.n)}{single}.")
    screened = s[(s.variant != "unregularized") & (s.n >= 2)]
    better = screened[screened.auc - screened.auc_sem > b_auc]
    lines.append(f"\nA descriptive screen, not a test: {len(better)} of {len(screened)} settings with at least two "
                 "runs are more than one SEM above the unregularized AUC" + (
                     " (none: nothing stands out at this scale, which is not evidence of no effect)" if better.empty
                     else "") + ". Seeds per cell are few in the ablations (the profile's `ablation_seeds`), so read "
                 "single differences with care; the claims page holds the tests of the paper's claims about these "
                 "settings, where the paper makes any.")
    return lines



def failures_sentence(runs: pd.DataFrame, dropped: bool = True) -> str:
    """"Failed runs: ..." for a caption, from a runs table (its ``failure`` column)."""
    if runs is None or not len(runs) or "failure" not in runs:
        return ""
    bad = runs[runs["failure"].fillna("") != ""]
    if not len(bad):
        return f"No run failed (non-finite loss, or the untrained state selected) of {len(runs)}."
    per = "; ".join(f"{c}: {len(g)} of {int((runs['condition'] == c).sum())} ({', '.join(g['run'] + ' seed ' + g['seed'].astype(str) + ', ' + g['failure'])})"
                    for c, g in bad.groupby("condition"))
    if not dropped:
        return (f"**Failed runs: {len(bad)} of {len(runs)}**: {per}. At this profile they are kept in the means "
                "and tests, flagged here: its runs are too short to learn, and its pages exist to run the code.")
    return (f"**Failed runs: {len(bad)} of {len(runs)}**, left out of every mean and test: {per}. "
            + FAILED_RUN_RULE)


def dirty_sentence(runs: pd.DataFrame) -> str:
    """A flag for a caption: the runs trained from a working tree with uncommitted changes (provenance
    ``git_dirty``), whose code is not exactly the commit they name; "" when there are none."""
    if runs is None or not len(runs) or "git_dirty" not in runs:
        return ""
    bad = runs[runs["git_dirty"].fillna(False).astype(bool)]
    if not len(bad):
        return ""
    who = ", ".join(f"{r.run} ({r.condition}, seed {r.seed})" for r in bad.itertuples())
    return (f"**{len(bad)} of {len(runs)} runs were trained from a working tree with uncommitted changes** "
            f"(provenance git_dirty): {who}; their code is the named commit plus changes not recorded.")


