"""The claims page: the paper's claims (reference spec §13) judged on the figures' tables, the confirmatory
family first (issue 20).

Each figure module declares the claim rows that read its tables (``CLAIMS`` at the end of
:mod:`pixelreg.figures.fig2` etc., built from :mod:`pixelreg.figures.claimrows`); this module gathers them
(:data:`CLAIMS`), judges them (:func:`claims_table`) and draws the forest plot of the confirmatory family
(:func:`forest_plot`) that the claims page and the intro open with. The rules are those of
:mod:`pixelreg.analysis.verdicts`: Lakens' four outcomes decided by one interval, Bonferroni across the
confirmatory family fixed on :data:`~pixelreg.figures.claimrows.FAMILY_FIXED`
(:data:`~pixelreg.figures.claimrows.CONFIRMATORY`), unadjusted 95% intervals and weaker labels for the
exploratory rows, the intersection-union test for claims that must hold in every family.

A figure whose runs are missing (records mode, ``PIXELREG_TRAIN=0``: :class:`~pixelreg.errors.MissingRunsError`),
whose evaluation is missing from a checkpoint-free record (:class:`~pixelreg.errors.RecordOnlyRunError`) or
that this book does not have yet does not stop the page: its rows read "inconclusive (not judged at this
profile: N of the <page> page's runs missing)", "inconclusive (plan not complete: N of the M runs of the <page>
page's plan are not published with the evaluations it reads)" (a page that shows its published part meanwhile) or "inconclusive (not run at
this profile: ...)".
"""
from __future__ import annotations

import importlib
import math
from dataclasses import dataclass
from pathlib import Path
from typing import Any, ClassVar, Mapping

import numpy as np
import pandas as pd

from pixelreg.experiment.config import TrainConfig, profile as get_profile
from pixelreg.errors import ConfigError, MissingRunsError, RecordOnlyRunError
from pixelreg.analysis.stats import Comparison, pstate
from pixelreg.analysis.verdicts import (EXPLORATORY_LABELS, NEGLIGIBLE, VERDICTS, Rule, Verdict, intersection_union,
                                       verdict)
from pixelreg.figures.claimrows import (CONFIRMATORY, FAMILY_FIXED, LEVEL, NO_LOSS_MARGIN, POOL_ROLES, POWER,
                                        SEEN_BEFORE_FAMILY, SESOI_AUC, SESOI_ERROR, SLIGHT_LOSS_MARGIN, TEN_SEED_ROWS, Claim,
                                        NoData, pair_name, select_pairs)
from pixelreg.figures.common import FigureData, Page, fmt, split_panel

__all__ = ["Claims", "Claim", "CLAIMS", "claims_table", "forest_plot", "findings", "compact_html", "write_findings",
           "LEVEL", "POWER",
           "ROW_PAGES", "OPTIONAL_PAGES"]

# the pages whose modules declare claim rows, in the page's order; optional ones join when their module exists
ROW_PAGES = ("fig1", "fig2", "fig3", "combos", "fig4", "fig5", "beyond", "controls", "batchnorm")
OPTIONAL_PAGES = ("fourier",)


def _module_rows(name: str) -> tuple[Claim, ...]:
    try:
        mod = importlib.import_module(f"pixelreg.figures.{name}")
    except ModuleNotFoundError:
        return ()
    return tuple(getattr(mod, "CLAIMS", ()))


_UNTESTED = (
    Claim("timing", "Training a ResNet18/34 on CIFAR takes 34 / 48 min on an A100", "Setup", (),
          "not judged: a statement about the paper's hardware; the number, where shown, is the mean wall time of "
          "fig2's runs at this profile", "", None),
    Claim("li2019", "Li et al. (2019): regularizing with mouse-V1 similarities keeps clean accuracy and gains "
          "robustness", "Li et al. 2019", (), "no neural recordings here", "", None),
)


def gather() -> tuple[Claim, ...]:
    """Every page's rows: the confirmatory family first (in :data:`CONFIRMATORY` order), then the exploratory
    rows in page order, then the rows not testable here."""
    rows = [c for name in (*ROW_PAGES, *OPTIONAL_PAGES) for c in _module_rows(name)]
    keys = [c.key for c in rows]
    if len(set(keys)) != len(keys):
        raise RuntimeError(f"two claim rows share a key: {sorted(k for k in keys if keys.count(k) > 1)}")
    by = {c.key: c for c in rows}
    conf = [by[k] for k in CONFIRMATORY if k in by]
    return (*conf, *(c for c in rows if c.key not in CONFIRMATORY), *_UNTESTED)


CLAIMS: tuple[Claim, ...] = gather()


# ---- the table ----------------------------------------------------------------------------------------------

def _n(v: Verdict) -> str:
    c = v.comparison
    if c.paired:
        return f"{v.n_a} pairs"
    if c.test.startswith("Wald"):
        return f"{v.n_a} images"
    return f"{v.n_a} vs {v.n_b} runs"


def _not_run(err: Exception, page: str = "") -> str:
    """A row's verdict when its page raised ``err``. A page that shows its published part (an interim page)
    carries ``plan`` (missing, planned) on its error, counted as the page counts them; the count is the page's,
    not the row's."""
    if isinstance(err, MissingRunsError):
        whose = f"the {page} page's" if page else "its"
        plan = getattr(err, "plan", None)
        if plan:
            return (f"inconclusive (plan not complete: {plan[0]} of the {plan[1]} runs of {whose} plan are not "
                    "published with the evaluations it reads)")
        return f"inconclusive (not judged at this profile: {len(err.run_ids)} of {whose} runs missing)"
    if isinstance(err, RecordOnlyRunError):
        what = f" {err.evaluation}" if err.evaluation else " an evaluation"
        return f"inconclusive (not run at this profile: run {err.run_id} is a record without{what})"
    raise err


def figure_pairs(figures: Mapping[str, FigureData | Exception],
                 panels: Mapping[str, tuple[str, ...]] | None = None) -> dict[str, list[tuple[str, str]]]:
    """Per figure, its dataset pairs as (task, pool): from ``panels`` (figure -> "task<-pool" strings), else
    from the task and reg_data columns of the figure's ``curves`` table; a figure with neither is left out."""
    out = {f: [split_panel(p) for p in ps] for f, ps in (panels or {}).items()}
    for f, d in figures.items():
        c = d.tables.get("curves") if isinstance(d, FigureData) else None
        if f not in out and c is not None and {"task", "reg_data"} <= set(c.columns):
            out[f] = list(dict.fromkeys(zip(c["task"], c["reg_data"])))
    return out


def _by_seeds(d: FigureData, keep) -> FigureData:
    """``d`` with every table that has a ``seed`` column cut to the seeds ``keep`` accepts."""
    return FigureData(d.name, d.params, {k: (t[t["seed"].map(keep)] if isinstance(t, pd.DataFrame) and "seed" in t
                                             else t) for k, t in d.tables.items()}, d.runs, d.generator, d.page)


def _judge(claim: Claim, cmp, level: float, m: int, power: float) -> tuple[str, str, Verdict, dict[str, Verdict]]:
    """(verdict, reason, the verdict shown, all parts) of one row's comparison(s)."""
    conf = claim.confirmatory
    parts = {k: verdict(c, claim.rule, level, m if conf else 1, power, confirmatory=conf)
             for k, c in (cmp.items() if isinstance(cmp, dict) else [("", cmp)])}
    if len(parts) == 1:
        v = next(iter(parts.values()))
        return v.verdict, v.rule, v, parts
    verdict_, why, weakest = intersection_union(parts, claim.rule.direction)
    return verdict_, why, parts[weakest], parts


class _Params(dict):
    def __missing__(self, key):  # a page that did not run: its parameters are unknown
        return "?"


def _tested(claim: Claim, pairs: str, page) -> str:
    """The row's "tested here" text: ``{pairs}`` and any of its page's parameters (e.g. ``{converged_images}``)
    filled in ("?" where the page did not run)."""
    params = page.params if isinstance(page, FigureData) else {}
    return claim.tested.format_map(_Params({**params, "pairs": pairs}))


def _interval(v: Verdict) -> str:
    return f"[{fmt(v.ci_low, 3)}, {fmt(v.ci_high, 3)}]"


def claims_table(figures: Mapping[str, FigureData | Exception], *, panels: Mapping[str, tuple[str, ...]] | None = None,
                 claims: tuple[Claim, ...] = CLAIMS, level: float = LEVEL, power: float = POWER,
                 extra: Mapping[str, str] | None = None, m: int | None = None) -> pd.DataFrame:
    """Judge every claim on the figures' tables.

    Args:
        figures: page name -> its :class:`FigureData`, or the ``MissingRunsError`` / ``RecordOnlyRunError`` its
            ``data()`` raised (those rows become "inconclusive (not run at this profile: ...)"); a page a row
            reads that is absent altogether: "inconclusive (not run at this profile: no ... page yet)".
        panels: page name -> its dataset pairs ("task<-pool"), which the rows select from (:attr:`Claim.pool`)
            and name in "tested_here"; a page not given: the pairs of its ``curves`` table.
        level: the confirmatory family's significance level; m: its size (default ``len(CONFIRMATORY)``,
            fixed in advance, whatever rows have data).
        extra: claim key -> a number for the rows without a test (e.g. the measured wall time).
    Returns:
        one row per claim: key, claim, status (confirmatory / exploratory / not judged), verdict (one of the four
        outcomes, with its reason in brackets where there is one), label (what the page shows: the verdict, or
        the exploratory label), category, estimate, ci_low, ci_high, confidence, unit, bound (SESOI or margin),
        kind, direction, number, interval, n (what the shown estimate rests on: "4 pairs", "5 vs 4 runs", "2000
        images"; "" for a row not judged), parts (per family, for rows judged on several), replication
        (seeds 0-4 and 5-9 of the main comparison), test, power, sesoi_why, rule, tested_here, summary, paper.
    """
    m = len(CONFIRMATORY) if m is None else m
    known = figure_pairs(figures, panels)
    rows: list[dict] = []
    for claim in claims:
        fig = claim.figures[0] if claim.figures else None
        pairs = select_pairs(known[fig], claim.pool) if fig in known else []
        names = (" and ".join(pair_name(t, r) for t, r in pairs) if pairs else
                 f"no dataset pair of {fig} regularized with {POOL_ROLES[claim.pool]}" if fig in known and claim.pool
                 else f"{fig}'s dataset pairs")
        status = "not judged" if claim.rule is None else "confirmatory" if claim.confirmatory else "exploratory"
        r = claim.rule
        row = dict(key=claim.key, claim=claim.claim, status=status, verdict="", label="", category="",
                   estimate=math.nan, ci_low=math.nan, ci_high=math.nan, confidence=math.nan, unit=claim.unit,
                   bound=r.bound if r else math.nan, kind=r.kind if r else "", direction=r.direction if r else 1,
                   number=(extra or {}).get(claim.key, ""), interval="", n="", parts="", replication="",
                   planned_category="", planned_number="", test="",
                   power="", sesoi_why=r.why if r else "",
                   rule=r.describe(level, m if claim.confirmatory else 1) if r else
                   "needs data, hardware or code this reproduction does not have",
                   tested_here=_tested(claim, names, figures.get(fig)), summary=claim.summary, paper=claim.paper)
        rows.append(row)
        if r is None:
            row["verdict"] = "inconclusive (not testable here)"
            # a row not testable here may still describe what its page computed (a string, never a verdict)
            if claim.compare is not None and all(isinstance(figures.get(f), FigureData) for f in claim.figures):
                try:
                    row["number"] = str(claim.compare({f: figures[f] for f in claim.figures}, {}))
                except NoData as e:
                    row["number"] = f"no data: {e}"
            continue
        absent = [f for f in claim.figures if f not in figures]
        errs = [(f, figures[f]) for f in claim.figures if isinstance(figures.get(f), Exception)]
        if absent:
            row["verdict"] = f"inconclusive (not run at this profile: no {absent[0]} page in this book yet)"
            continue
        if errs:
            row["verdict"] = _not_run(errs[0][1], errs[0][0])
            continue
        # pairs: the pairs the row selects (None: the whole table); all_pairs: every pair of its first page
        ctx = dict(pool=claim.pool, pairs=pairs if claim.pool is not None else None, all_pairs=known.get(fig, []))
        d = {f: figures[f] for f in claim.figures}
        try:
            cmp = claim.compare(d, ctx)
        except NoData as e:
            row["verdict"] = f"inconclusive (no data: {e})"
            continue
        except ConfigError as e:  # a condition the row compares has no usable run here (e.g. every one failed)
            if e.param != "condition":
                raise
            row["verdict"] = f"inconclusive (no data: no usable run of {e.value} here)"
            continue
        v_, why, shown, parts = _judge(claim, cmp, level, m, power)
        row.update(verdict=v_, estimate=shown.estimate, ci_low=shown.ci_low, ci_high=shown.ci_high,
                   confidence=shown.confidence, number=fmt(shown.estimate, 3), interval=_interval(shown),
                   n=_n(shown), test=f"{shown.test}, {_n(shown)}: {pstate(shown.p)}"
                        + (f", {pstate(shown.p_adj, 'p_bonferroni')} (m = {shown.m})" if shown.m > 1 else "")
                        + (f"; {pstate(shown.p_perm, 'sign-flip p')}" if math.isfinite(shown.p_perm) else ""),
                   power=shown.power_note, rule=f"{why}. Rule: {row['rule']}")
        if len(parts) > 1:
            row["parts"] = "; ".join(f"{k}: {fmt(p.estimate, 3)} {_interval(p)} {p.verdict}" for k, p in parts.items())
            row["number"] = f"{fmt(shown.estimate, 3)} (weakest interval: {next(k for k, p in parts.items() if p is shown)})"
        if claim.key in TEN_SEED_ROWS:
            halves = _replication(claim, d, ctx, level, m, power)
            row["replication"] = "; ".join(f"{name}: {text}" for name, (text, _, _) in halves.items())
            if PLANNED_SEEDS in halves and halves[PLANNED_SEEDS][1]:  # the test planned in advance, for the intro
                _, cat, shown = halves[PLANNED_SEEDS]
                row.update(planned_category=cat, planned_number=f"{shown.estimate:+.3f}"
                           + (f" {row['unit']}" if row.get("unit") else "") + f" {_interval(shown)}, {_n(shown)}")
    out = pd.DataFrame(rows)
    out["category"] = out["verdict"].str.split(" \\(").str[0]
    out["label"] = [v if s != "exploratory" else _exploratory_label(v, c)
                    for v, s, c in zip(out["verdict"], out["status"], out["category"])]
    return out


def _exploratory_label(verdict_text: str, category: str) -> str:
    """An exploratory row's label; a row that could not be judged keeps its reason ("not run at this profile:
    ...", "too few seeds"), so a reader can tell "no data yet" from "the data are unclear"."""
    label = EXPLORATORY_LABELS.get(category, verdict_text)
    reason = verdict_text[len(category):].strip()
    if category == "inconclusive" and reason.startswith("(") and reason.endswith(")"):
        return f"{label[:-1]}; {reason[1:]}"
    return label


PLANNED_SEEDS = "seeds 5-9"  # the main comparison's seeds trained after the family was fixed: the planned test


def _replication(claim: Claim, d: Mapping[str, FigureData], ctx: dict, level: float, m: int,
                 power: float) -> dict[str, tuple[str, str, Any]]:
    """Seeds 0-4 and 5-9 judged apart, at the row's level (declared with the 10-seed analysis): per half, its
    text ("0.135 [-0.010, 0.281] inconclusive"), its verdict category ("" without data) and the comparison shown;
    empty when the tables have no seed >= 5."""
    seeds = {int(s) for f in d.values() for t in f.tables.values()
             if isinstance(t, pd.DataFrame) and "seed" in t for s in t["seed"].unique()}
    if not any(s >= 5 for s in seeds):
        return {}
    out = {}
    for name, keep in (("seeds 0-4", lambda s: s < 5), (PLANNED_SEEDS, lambda s: 5 <= s < 10)):
        try:
            cmp = claim.compare({k: _by_seeds(f, keep) for k, f in d.items()}, ctx)
            v_, _, shown, _ = _judge(claim, cmp, level, m, power)
            out[name] = (f"{fmt(shown.estimate, 3)} {_interval(shown)} {v_}", v_.split(" (")[0], shown)
        except (NoData, KeyError, ValueError) as e:
            out[name] = (f"no data ({e})", "", None)
    return out


# ---- the page's tables as HTML: one line per claim, the rule text folded into a detail ------------------------

def _esc(x) -> str:
    import html
    return html.escape(str(x), quote=False)


def untested_html(table: pd.DataFrame) -> str:
    """The rows not testable here (status "not judged") as a small HTML table: the claim, where the paper makes it,
    why it cannot be tested, and what the book shows instead (a number as context, never a verdict)."""
    t = table[table["status"] == "not judged"]
    if t.empty:
        return "<p>Every claim of the paper has a row above.</p>"
    rows = "".join(f"<tr><td>{_esc(r.claim)} <small>({_esc(r.paper)})</small></td><td>{_esc(r.tested_here)}</td>"
                   f"<td>{_esc(r.number) or 'nothing'}</td></tr>" for r in t.itertuples())
    return ("<table class='pixelreg-claims' style='width:100%;table-layout:fixed;border-collapse:collapse;"
            "font-size:0.9em'><colgroup><col style='width:30%'><col style='width:40%'><col style='width:30%'>"
            "</colgroup><thead><tr><th style='text-align:left'>claim (not testable here)</th><th>why</th>"
            f"<th>what this book shows instead</th></tr></thead><tbody>{rows}</tbody></table>")


def compact_html(table: pd.DataFrame, status: str = "confirmatory") -> str:
    """The rows of ``status`` as a compact HTML table (claim, estimate, interval, verdict or label); each row's
    rule, reason, power, families and what it tested fold into a <details> under the claim."""
    t = table[table["status"] == status]
    head = ("<table class='pixelreg-claims' style='width:100%;table-layout:fixed;border-collapse:collapse;"
            "font-size:0.9em'><colgroup><col style='width:52%'><col style='width:11%'><col style='width:17%'>"
            "<col style='width:20%'></colgroup><thead><tr><th style='text-align:left'>claim</th><th>estimate</th>"
            "<th>interval</th><th>" + ("verdict" if status == "confirmatory" else "label") + "</th></tr></thead><tbody>")
    body = []
    for r in t.itertuples():
        col = VERDICT_COLOURS.get(r.category, "#757575")
        u = f" {r.unit}" if r.unit else ""
        est = f"{r.estimate:+.3f}{u}" if math.isfinite(r.estimate) else "n/a"
        ci = (f"{r.interval}<br><small>{100 * r.confidence:.4g}%</small>" if r.interval else "")
        detail = "".join(f"<p><b>{k}</b>: {_esc(v)}</p>" for k, v in (
            ("paper", r.paper), ("tested here", r.tested_here), ("summary", r.summary),
            ("families", r.parts), ("seeds 0-4 and 5-9", r.replication), ("test", r.test), ("power", r.power),
            ("smallest effect of interest", f"{r.bound:.3g}{u}: {r.sesoi_why}" if r.sesoi_why else ""),
            ("verdict and rule", r.rule) if status == "confirmatory" else
            ("label and rule", (f"{r.label}: the rule's outcome, at an unadjusted level, named as an exploratory "
                                f"label rather than a verdict. {r.rule}" if math.isfinite(r.estimate) else
                                f"{r.label}. The rule: {r.rule}") if r.rule else "")) if v)
        body.append(f"<tr style='border-top:1px solid #ddd;vertical-align:top'><td style='overflow-wrap:anywhere'>"
                    f"<b>{_esc(r.key)}</b>: {_esc(r.claim)}<details><summary>rule, test and power</summary>"
                    f"<div style='font-size:0.9em'>{detail}</div></details></td><td>{est}</td><td>{ci}</td>"
                    f"<td style='color:{col};font-weight:bold;overflow-wrap:anywhere'>{_esc(r.label)}</td></tr>")
    return head + "".join(body) + "</tbody></table>"


def write_findings(table: pd.DataFrame, folder: str | Path = "_generated", profile: str = "",
                   interim: pd.DataFrame | None = None, runs: pd.DataFrame | None = None,
                   matched: pd.DataFrame | None = None, dominance: pd.DataFrame | None = None) -> Path:
    """Write the intro's "What we found" fragment (``findings.md``, included by book/intro.md) and its forest
    plot (``forest.png``) into ``folder`` (relative to the page being executed: the book's folder)."""
    import matplotlib.pyplot as plt

    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    ax = forest_plot(table)
    ax.figure.savefig(folder / "forest.png", dpi=110)
    plt.close(ax.figure)
    lines = findings(table, seeds_sentence(profile) if profile else "", interim, runs, split=True, matched=matched,
                     dominance=dominance)
    text = ("(findings)=\n## What we found\n\n"
            + (f"From the `{profile}` profile's runs, written from the [claims page](claims.ipynb)'s table each "
               "time the book is built. " if profile else "")
            + lines[0] + "\n\n```{image} _generated/forest.png\n:alt: forest plot of the confirmatory claims\n"
            ":width: 100%\n```\n\n" + FOREST_NOTE + "\n\n"
            + "\n".join(f"\n{s}\n" if s == BEYOND else f"- {s}" for s in lines[1:]) + "\n")
    (folder / "findings.md").write_text(text)
    return folder / "findings.md"


# ---- the answer first: the forest plot and the findings ------------------------------------------------------

FOREST_NOTE = ("*The plot:* each row's estimate and deciding interval in units of that row's own smallest effect of "
               f"interest (AUC rows: {SESOI_AUC:g} AUC; the no-loss rows: their margins, {NO_LOSS_MARGIN:g} and "
               f"{SLIGHT_LOSS_MARGIN:g} accuracy; the high-frequency row: {SESOI_ERROR:g} error), turned so "
               "that the paper's claim points right. Bar lengths compare rows only in those units: a clean-accuracy "
               "bar looks long because its margin is small.")

VERDICT_COLOURS = {"reproduced": "#2e7d32", "contradicted": "#c62828", "not reproduced": "#ef6c00",
                   "inconclusive": "#757575"}


def forest_plot(table: pd.DataFrame, ax=None, status: str = "confirmatory"):
    """The rows of ``status`` as a forest plot: each estimate and its deciding interval in units of the row's
    SESOI (the margin for no-loss rows), oriented so that the claimed direction is to the right; the band
    ±1 is 'negligible' (for no-loss rows, −1 is the margin); colours are the verdicts. Rows without a number
    are listed with their reason."""
    import matplotlib.pyplot as plt

    t = table[table["status"] == status].reset_index(drop=True)
    if ax is None:
        _, ax = plt.subplots(figsize=(7.5, 0.3 * max(len(t), 1) + 1.0), layout="constrained")
    ax.axvspan(-1, 1, color="#e0e0e0", zorder=0, label="±SESOI (negligible)")
    ax.axvline(0, color="black", lw=0.8)
    y = np.arange(len(t))[::-1]
    xs = []
    for yi, r in zip(y, t.itertuples()):
        col = VERDICT_COLOURS.get(r.category, "#757575")
        if not (math.isfinite(r.estimate) and math.isfinite(r.ci_low)):
            reason = r.verdict.split("(", 1)[-1].rstrip(")") if "(" in r.verdict else r.verdict
            ax.text(0, yi, f"not judged yet: {reason.split(':', 1)[0]} (see the table)", va="center", ha="center",
                    fontsize=8, color="#555555")  # the short reason: the full one is in the table and findings
            continue
        s = r.direction / r.bound
        lo, hi = sorted((r.ci_low * s, r.ci_high * s))
        ax.plot([lo, hi], [yi, yi], color=col, lw=2.5, solid_capstyle="butt")
        ax.plot(r.estimate * s, yi, "o", color=col, ms=6)
        xs += [lo, hi]
    ax.set_yticks(y, [f"{r.key}" for r in t.itertuples()], fontsize=9)
    lim = max([3.0, *(abs(x) for x in xs if math.isfinite(x))]) * 1.08
    ax.set_xlim(-min(lim, 25), min(lim, 25))
    ax.set_ylim(-0.7, len(t) - 0.3)
    ax.set_xlabel("effect in units of the row's SESOI (no-loss rows: margin); claimed direction →", fontsize=9)
    for cat, col in VERDICT_COLOURS.items():
        ax.plot([], [], color=col, lw=2.5, label=cat)
    ax.legend(fontsize=7.5, loc="lower center", bbox_to_anchor=(0.5, 1.0), frameon=False, ncol=5)
    ax.tick_params(axis="x", labelsize=8)
    return ax


SHORT = {"gain-task": "the Gaussian-noise gain regularized with the task's own images",
         "gain-natural": "the Gaussian-noise gain regularized with natural images",
         "sth-vs-pixel": "S^Th's lead over S^pixel",
         "fgsm-transfer": "the gain against transferred FGSM (judged on its weaker pool)",
         "across": "a gain in every attack and dataset pair (judged on its weakest pair and attack)",
         "clean-task": "no clean-accuracy loss (own images)",
         "clean-natural": "only a slight clean-accuracy loss (natural images)",
         "fourier-band": "insensitivity to high frequencies"}


# pages whose claim rows the first screen shows as interim estimates (never a verdict) while their plan is
# incomplete
INTERIM_PAGES = ("batchnorm",)
# the exploratory rows the intro shows beside the confirmatory ones: the BatchNorm check of the natural pool
FIRST_SCREEN_BN = {"bn-clean": "clean accuracy with the statistics re-estimated on task images, minus as trained",
                   "bn-gain-reestimated": "Gaussian AUC gain over unregularized after that re-estimation",
                   "bn-gain-task-only": "the same gain when trained with task-only statistics"}


def _num(r) -> str:
    u = f" {r.unit}" if r.unit else ""
    if not math.isfinite(r.estimate):
        return r.verdict.split("(", 1)[-1].rstrip(")")
    n = getattr(r, "n", "")
    return f"{r.estimate:+.3f}{u} {r.interval}" + (f", {n}" if n else "")


def scope_sentence(runs: pd.DataFrame | None) -> str:
    """What the verdicts are verdicts of: the tasks, pools, α, Th, network width and epochs of the S^Th runs the rows
    read (from their runs table), so a verdict is not read as one on the paper's own settings. "" without runs."""
    if runs is None or not len(runs) or "condition" not in runs:
        return ""
    s = runs[runs["condition"] == "S^Th"].drop_duplicates("run")
    need = ["task", "reg_data", "alpha", "th", "width", "epochs"]
    if s.empty or any(c not in s for c in need):
        return ""
    from pixelreg.experiment.config import PAPER_EPOCHS, PRESETS

    vals = lambda c: ", ".join(dict.fromkeys(f"{v:g}" if isinstance(v, float) else str(v) for v in s[c].dropna()))
    pairs = " and ".join(dict.fromkeys(pair_name(t, r) for t, r in zip(s["task"], s["reg_data"]) if isinstance(r, str)))
    fig2a = PRESETS["mnist-mnist"]
    return (f"These are verdicts on this book's runs: the S^Th rows read {pairs}, at α {vals('alpha')}, Th "
            f"{vals('th')}, a ResNet18 of width {vals('width')}, trained "
            f"{vals('epochs')} epochs. The paper ran other tasks and settings (for its Fig. 2a, MNIST at α "
            f"{fig2a['alpha']:g}, Th {fig2a['th']:g}, {PAPER_EPOCHS['mnist']} epochs), so a verdict here says what "
            "holds in this setting, not in the paper's; the [budget page](budget.ipynb) follows the effects over "
            f"training budgets up to {PAPER_EPOCHS['fashion-mnist']} epochs as their runs are published.")


def failed_runs_sentence(runs: pd.DataFrame | None) -> str:
    """The first screen's word on failed runs among those the rows read (their ``failure`` column): which, and
    what leaving them out does (:data:`pixelreg.figures.tables.FAILED_RUN_RULE`). "" when none failed."""
    if runs is None or not len(runs) or "failure" not in runs:
        return ""
    bad = runs[runs["failure"].fillna("").astype(str) != ""].drop_duplicates("run")
    if bad.empty:
        return ""
    pool = lambda r: r.reg_data if isinstance(r.reg_data, str) and r.reg_data else "no pool"
    per = "; ".join(f"{r.condition} on {r.task} <- {pool(r)} at seed {r.seed}, run {r.run}: {r.failure}"
                    for r in bad.itertuples())
    total = runs.drop_duplicates("run")
    return (f"Failed runs: {len(bad)} of the {len(total)} runs the claims page reads ({per}). A failed run is left out "
            "and its seed is not replaced, so the rows on its dataset pair compare one seed pair fewer (the n beside "
            "each number). The failure itself counts against the method, and no verdict above counts it.")


def _judged(conf: pd.DataFrame) -> pd.Series:
    """Which rows have a number to judge (a row without one, e.g. its runs missing, is 'not judged yet')."""
    return conf["estimate"].map(lambda x: isinstance(x, (int, float)) and math.isfinite(x))


def _counts(conf: pd.DataFrame) -> str:
    """"2 reproduced, 0 contradicted, ..., 1 not judged yet" from the confirmatory rows, in VERDICTS order; a row
    without a number counts as not judged, not as inconclusive."""
    judged = _judged(conf)
    counts = conf.loc[judged, "category"].value_counts()
    out = ", ".join(f"{int(counts.get(c, 0))} {NEGLIGIBLE if c == 'not reproduced' else c}" for c in VERDICTS)
    return out + (f", {int((~judged).sum())} not judged yet" if (~judged).any() else "")


RE_ANALYSIS = "a re-analysis of data already seen"  # what seeds_sentence calls verdicts on seeds seen before the family


def seeds_sentence(profile: str) -> str:
    """Which of the main comparison's seeds the confirmatory rows rest on at ``profile``, and whether they were
    seen before the family was fixed (:data:`SEEN_BEFORE_FAMILY`): a verdict on seen seeds is a re-analysis,
    not a test planned in advance."""
    seen = set(SEEN_BEFORE_FAMILY.get(profile, ()))
    if not seen:
        return ""
    seeds = tuple(get_profile(profile).main_comparison_seeds)
    new = [s for s in seeds if s not in seen]
    span = lambda xs: f"{min(xs)}-{max(xs)}" if list(xs) == list(range(min(xs), max(xs) + 1)) else ", ".join(map(str, xs))
    old = sorted(set(seeds) & seen)
    if not new:
        return (f"These verdicts rest on the main comparison's seeds {span(old)}, which were published before the "
                f"family was fixed on {FAMILY_FIXED}: for them the verdicts are {RE_ANALYSIS}, not a test planned in "
                "advance. The planned test pools seeds 0-9 once all of seeds 5-9 are "
                "published; until then these rows use the seeds above ([reproducing](reproduce.md) says which of "
                "seeds 5-9 are trained and published).")
    return (f"The {len(TEN_SEED_ROWS)} rows on Fig. 2's main comparison ({', '.join(TEN_SEED_ROWS)}) pool its seeds "
            f"{span(sorted(seeds))}: seeds {span(old)} were published before the family was fixed on {FAMILY_FIXED}, "
            f"seeds {span(new)} were trained after it. The other rows rest on their own pages' seeds (the pairs "
            "beside each number).")


def planned_sentence(conf: pd.DataFrame) -> str:
    """The main comparison's rows judged on the seeds trained after the family was fixed (:data:`PLANNED_SEEDS`),
    the test planned in advance, beside their pooled verdicts: which keep their verdict and which do not (with
    the number). "" when no row has such a judgement."""
    if "planned_category" not in conf:
        return ""
    rows = [r for r in conf.itertuples() if isinstance(r.planned_category, str) and r.planned_category]
    if not rows:
        return ""
    same = [r.key for r in rows if r.planned_category == r.category]
    other = [f"{SHORT.get(r.key, r.key)} is {r.planned_category} on them ({r.planned_number}; pooled: {r.category})"
             for r in rows if r.planned_category != r.category]
    parts = ([f"{', '.join(same)} " + ("keeps its verdict" if len(same) == 1 else "keep their verdicts")]
             if same else []) + other
    return (f"Judged on {PLANNED_SEEDS} alone, the test planned in advance (same rule and level): "
            + "; ".join(parts) + ".")


def small_effect_note(r) -> str:
    """"its interval's end nearer 0 ... is not ruled out" for a row shown to have an effect (reproduced or contradicted, on
    the rule's kind "effect") whose interval's end nearer 0 lies within the smallest effect of interest: the
    effect is shown, its size is not. "" otherwise."""
    if (getattr(r, "kind", "") != "effect" or r.category not in ("reproduced", "contradicted")
            or not all(math.isfinite(x) for x in (r.estimate, r.ci_low, r.ci_high, r.bound))):
        return ""
    near = r.ci_low if r.estimate > 0 else r.ci_high
    if abs(near) >= r.bound:
        return ""
    u = f" {r.unit}" if r.unit else ""
    return (f"its interval's end nearer 0 lies within the smallest effect of interest, ±{r.bound:g}{u}, so an "
            "effect too small to matter is not ruled out")


#: where :func:`findings` (``split=True``) moves from the paper's claims to the questions beyond them
BEYOND = "### Beyond the paper's claims"


def matched_line(matched: pd.DataFrame, dominance: pd.DataFrame | None = None) -> str:
    """The intro's line on the frontier page, in the intro's sign (S^Th − augmentation): at the first fixed
    clean-accuracy level that both methods' Gaussian-noise curves reach, each attack's difference with the page's
    interval and call (:func:`pixelreg.figures.frontier.matched_call`), the levels S^Th's curve does not reach,
    and the page's interpolation-free count (``dominance``: :func:`pixelreg.figures.frontier.dominance_counts`);
    "" when no level is reached under Gaussian noise."""
    from pixelreg.figures.frontier import BOOTSTRAP_MIN_SEEDS, TRANSFERRED, dominance_counts, matched_call

    both = matched["sth_covers"].astype(bool) & matched["aug_covers"].astype(bool)
    g = matched[(matched["attack"] == "gaussian") & both]
    if g.empty:
        return ""
    level = float(g["level"].min())
    at = matched[(matched["level"] == level) & both].sort_values("attack", key=lambda a: a != "gaussian")
    parts, by_call = [], {}  # by_call: the page's call -> the attacks it is made under
    for r in at.itertuples():
        ci = "" if r.n_seeds < BOOTSTRAP_MIN_SEEDS else f" [{fmt(-r.ci_high)}, {fmt(-r.ci_low)}]"
        parts.append(f"{-r.estimate:+.3f}{' AUC' if not parts else ''}{ci} under {r.attack}"
                     + ("" if r.attack == TRANSFERRED else " noise"))
        by_call.setdefault(matched_call(r), []).append(r.attack)
    n = sorted(set(int(x) for x in at["n_seeds"]))
    said = {"noise augmentation ahead": "augmentation is ahead", "S^Th ahead": "S^Th is ahead",
            "the interval includes 0: neither is shown ahead": "neither is shown ahead (the interval includes 0)"}
    only = next(iter(by_call))
    call = (said.get(only, only) + (" under each" if len(parts) > 1 else "")
            if len(by_call) == 1 else "the calls differ by attack: " + "; ".join(
                f"under {', '.join(a)}, {said.get(c, c)}" for c, a in by_call.items()))
    short = matched[(matched["attack"] == "gaussian") & ~matched["sth_covers"].astype(bool)]
    if "sth_clean_max" in short:  # a level below S^Th's curve is not the grid's smallest α's doing
        short = short[short["level"] > short["sth_clean_max"]]
    unreached = ("" if short.empty else " At the noise panels' seeds (clean accuracy is the same under every noise) "
                 "S^Th's curve does not reach clean accuracy "
                 + " or ".join(f"{x:g}" for x in sorted(short["level"])) + " (its settings' seed means span "
                 + str(short["sth_between"].iloc[0]).split(",")[0] + "; a limit of its grid, whose smallest α sets "
                 "its largest clean accuracy: the frontier page says why α 1 is not in it)."
                 if "sth_between" in short else "")
    shown = str(matched["shown"].iloc[0]) if "shown" in matched and len(matched) and matched["shown"].iloc[0] else ""
    interim = f" The frontier page is still interim: it shows {shown}." if shown else ""
    scope = ("" if (matched["attack"] == TRANSFERRED).any() else
             "; random noise only so far: the transferred-FGSM panel is not published yet")
    pair = f", {matched['pair'].iloc[0]}" if "pair" in matched else ""
    return (f"**At equal clean accuracy** (the [frontier page](frontier.ipynb){pair}, S^Th over α against augmentation "
            f"over σ{scope}): at clean accuracy {level:g}, S^Th − augmentation (the page shows augmentation − S^Th) = "
            + ", ".join(parts) + f" ({'-'.join(map(str, n))} seeds, 95% percentile bootstrap over paired seeds, "
            f"exploratory; at so few seeds such intervals tend to be too narrow): {call}."
            + unreached + dominance_counts(dominance) + interim)


def transfer_caveat(table: pd.DataFrame) -> str:
    """What the intro adds to the transferred-FGSM gain from the controls page's row transfer-specific: a transfer
    gain is not a gain of the similarity target until S^Th beats models that differ from the source without it.
    "" once the row is reproduced."""
    spec = table[table["key"] == "transfer-specific"]
    r = next(spec.itertuples(), None)
    if r is not None and r.category == "reproduced":
        return ""
    if r is None or not math.isfinite(r.estimate):
        return "; not yet shown specific to the similarity target: see transfer specificity, below"
    if r.category == "inconclusive":
        n = f" at {r.n}" if isinstance(r.n, str) and r.n else ""
        return f"; not shown specific to the similarity target{n}: see transfer specificity, below"
    return ("; not specific to the similarity target: a control is as robust, or more (see transfer specificity, "
            "below)")


def findings(table: pd.DataFrame, seeds: str = "", interim: pd.DataFrame | None = None,
             runs: pd.DataFrame | None = None, split: bool = False, matched: pd.DataFrame | None = None,
             dominance: pd.DataFrame | None = None) -> list[str]:
    """The intro's "What we found", generated from the claims table (it changes with the numbers): the
    confirmatory counts, the rows of each outcome with their estimate and deciding interval, the BatchNorm
    check's rows (:data:`FIRST_SCREEN_BN`) and the practical comparison with plain Gaussian-noise augmentation.
    ``split``: a :data:`BEYOND` line separates the paper's claims from the questions beyond them (the intro's
    sub-heading); without it the list holds the sentences only."""
    conf = table[table["status"] == "confirmatory"]
    m = len(CONFIRMATORY)
    # said first: a skimming reader would otherwise take the verdicts of seen seeds for a test planned in advance
    out = [("For now the verdicts are " + RE_ANALYSIS + " (below), not a test planned in advance. "
            if RE_ANALYSIS in seeds else "")
           + f"Of the paper's {len(conf)} core claims, tested in this book's setting (below) as a confirmatory family "
           f"fixed on {FAMILY_FIXED} ({100 * (1 - LEVEL / m):.1f}% intervals: Bonferroni for {m} claims at "
           f"familywise level {LEVEL:g}), " + _counts(conf) + "."]
    judged = _judged(conf)
    caveat = {"fgsm-transfer": c} if (c := transfer_caveat(table)) else {}
    note = lambda r, sep: (sep + n) if (n := small_effect_note(r)) else ""  # the note once per row, or nothing
    for cat, lead in (("reproduced", "Reproduced"), ("contradicted", "Contradicted"),
                      ("not reproduced", "Not reproduced (shown negligible)"), ("inconclusive", "Inconclusive")):
        sel = conf[judged & (conf["category"] == cat)]
        if len(sel):
            out.append(f"{lead}: " + "; ".join(f"{SHORT.get(r.key, r.claim)} ({_num(r)}{note(r, '; ')}"
                                               f"{caveat.get(r.key, '')})" for r in sel.itertuples()) + ".")
    if (~judged).any():
        out.append("Not judged yet: " + "; ".join(f"{SHORT.get(r.key, r.claim)} ({_num(r)})"
                                                  for r in conf[~judged].itertuples()) + ".")
    # how to read them, right under the verdicts: which runs, which setting, which failures
    for extra in (seeds, planned_sentence(conf), scope_sentence(runs), failed_runs_sentence(runs)):
        if extra:
            out.append(extra)
    out.append(BEYOND)  # the rest answers questions the paper did not ask
    # one line per question, the details on its page (the sub-heading says these are not the paper's claims)
    bn = table[table["key"].isin(FIRST_SCREEN_BN)]
    if len(bn):
        judged = [r for r in bn.itertuples() if math.isfinite(r.estimate)]
        lead = "**BatchNorm** (S^Th <- natural images; the [BatchNorm page](batchnorm.ipynb)): "
        if judged:
            line = lead + ". ".join((FIRST_SCREEN_BN[r.key][:1].upper() if i else FIRST_SCREEN_BN[r.key][:1])
                                    + FIRST_SCREEN_BN[r.key][1:] + f": {_num(r)}, {r.label}{note(r, ', though ')}"
                                    for i, r in enumerate(bn.itertuples()))
        else:  # one reason for all (their runs are the same)
            reasons = list(dict.fromkeys(_num(r) for r in bn.itertuples()))
            early = interim[interim["key"].isin(FIRST_SCREEN_BN)] if interim is not None else pd.DataFrame()
            line = lead + "not judged yet (" + "; ".join(reasons) + ")"
            if len(early):
                line += (f"; so far, from {early['shown'].iloc[0]} (unadjusted 95% intervals, no call): "
                         + "; ".join(f"{FIRST_SCREEN_BN[r.key]}: {r.estimate:+.3f} {r.unit} "
                                     f"[{r.ci_low:+.3f}, {r.ci_high:+.3f}], {r.n}" for r in early.itertuples()))
        # the task-only runs train the same weights as the reference runs (the BatchNorm page checks it)
        out.append(line + ". The two gains come from one training trajectory with two estimates of its running "
                   "statistics (model selection may keep different epochs of it): one question asked twice, not two "
                   "pieces of evidence.")
    mline = matched_line(matched, dominance) if matched is not None and len(matched) else ""
    aug = table[table["key"] == "sth-vs-noise-aug"]
    if len(aug) and math.isfinite(aug["estimate"].iloc[0]):
        r = next(aug.itertuples())
        ahead = "ahead of" if r.estimate < 0 else "behind"
        from pixelreg.figures.beyond import Beyond  # the σ of the beyond page's augmentation (its default)
        out.append(f"**Noise augmentation** (σ = {Beyond.noise_sigma:g}; the [beyond page](beyond.ipynb)) is {ahead} "
                   f"S^Th on Gaussian noise: S^Th − augmentation = {_num(r)} (exploratory, unadjusted)"
                   + ("." if mline else "; the [frontier page](frontier.ipynb) compares the two at equal clean "
                      "accuracy."))
    if mline:
        out.append(mline)
    shuf = table[table["key"] == "sth-vs-shuffled"]
    if len(shuf) and math.isfinite(shuf["estimate"].iloc[0]):
        r = next(shuf.itertuples())
        out.append("**Shuffled target** (is the gain due to the pixel similarities themselves? the "
                   "[beyond page](beyond.ipynb)): on Gaussian noise, S^Th − shuffled = "
                   f"{_num(r)}, {r.label}: "
                   + {"reproduced": "S^Th is ahead", "contradicted": "the shuffled target is ahead",
                      "not reproduced": "no difference large enough to matter",
                      "inconclusive": "neither is shown ahead"}.get(r.category, r.category) + ".")
    spec = table[table["key"] == "transfer-specific"]
    if len(spec):
        r = next(spec.itertuples())
        state = (f"{r.label}; S^Th − control in {r.unit}, per control: {r.parts}" if math.isfinite(r.estimate)
                 else f"not judged yet ({_num(r)})")
        out.append("**Transfer specificity** (S^Th against the augmentation and shuffled-target controls under one "
                   f"transferred attack; the [controls page](controls.ipynb)): {state}.")
    if out[-1] == BEYOND:
        out.pop()
    return out if split else [x for x in out if x != BEYOND]


@dataclass(frozen=True, kw_only=True)
class Claims(Page):
    """The claims table, judged on the figures' default runs at this profile: each figure at its plan's
    defaults (the paper's datasets at the paper profile, the Fashion-MNIST analogue at the others). Only the
    pages that declare claim rows are computed."""

    name: ClassVar[str] = "claims"

    plan: str | None = None  # "paper" or "analogue"; None: the profile's (paper at the paper profile)
    task: str | None = None  # classification dataset of every figure; None: each figure's plan's

    def pages(self) -> dict[str, Page]:
        """The figures the claims are judged on, with their default parameters (optional pages when present)."""
        kw = dict(profile=self.profile, plan=self.plan, task=self.task)
        out: dict[str, Page] = {}
        for name in (*ROW_PAGES, *OPTIONAL_PAGES):
            try:
                page_cls = importlib.import_module(f"pixelreg.figures.{name}").PAGE
            except (ModuleNotFoundError, AttributeError):
                continue
            fields_ = getattr(page_cls, "__dataclass_fields__", {})
            out[name] = page_cls(**{k: v for k, v in kw.items() if k in fields_})
        return out

    def panels(self) -> dict[str, tuple[str, ...]]:
        """Per figure with dataset pairs, its pairs "task<-pool" (a one-pool page: its one pair)."""
        out = {}
        for name, page in self.pages().items():
            if hasattr(page, "panels"):
                out[name] = page.panels
            elif page.one_pool:
                out[name] = (f"{page.task}<-{page.reg_data}",)
        return out

    def configs(self) -> list[TrainConfig]:
        return list(dict.fromkeys(c for p in self.pages().values() for c in p.configs()))

    def data(self, runs_dir: str | Path | None = None, progress: bool = True) -> FigureData:
        figures: dict[str, FigureData | Exception] = {}
        for name, page in self.pages().items():
            try:
                # a page may offer the tables its claim rows read without its per-ε tests (faster)
                figures[name] = getattr(page, "claim_data", page.data)(runs_dir, progress)
            except (MissingRunsError, RecordOnlyRunError) as e:  # records mode: that page has no runs yet
                figures[name] = e
                part = page.published_part(runs_dir) if isinstance(e, MissingRunsError) else None
                interim = getattr(part, "interim", None)
                if interim is not None:  # count as the interim page does; interim_estimates reads the part
                    e.plan, e.part = (interim.missing, len(set(page.configs()))), part
        extra = {}
        f2 = figures.get("fig2")
        if isinstance(f2, FigureData) and "wall_time_s" in f2.runs:
            wall = f2.runs["wall_time_s"].astype(float)
            extra["timing"] = f"{wall.mean() / 60:.1f} min per run at profile '{self.profile}'"
        claims = claims_table(figures, panels=self.panels(), extra=extra)
        ok = [f.runs for k, f in figures.items() if isinstance(f, FigureData) and len(f.runs)]
        runs = pd.concat(ok, ignore_index=True).drop_duplicates("run") if ok else pd.DataFrame()
        return FigureData("claims", dict(profile=self.profile, plan=self.plan, task=self.task, level=LEVEL,
                                         power=POWER, family_fixed=FAMILY_FIXED),
                          dict(claims=claims, interim=self.interim_estimates(figures, runs_dir, progress),
                               **self.frontier_tables(runs_dir, progress)), runs,
                          "pixelreg.figures.claims.Claims.data", self)

    def frontier_tables(self, runs_dir=None, progress: bool = False) -> dict[str, pd.DataFrame]:
        """The frontier page's tables ``matched`` (at matched clean accuracy:
        :meth:`pixelreg.figures.frontier.Frontier.matched`) and ``dominance``
        (:func:`pixelreg.figures.frontier.dominance`),
        of its published part when it is an interim page (its noise panels do not change when its transferred
        grid is published), for the intro's line; empty tables where the runs it needs are not all held (in the
        run store or the records): it never trains. It is a page of its own, not a claim row: the call is the
        page's (unadjusted bootstrap interval, at least 5 seeds)."""
        from pixelreg.figures.frontier import Frontier

        page = Frontier(profile=self.profile, plan=self.plan, task=self.task).published_part(runs_dir)
        configs = page.configs()
        none = dict(matched=pd.DataFrame(), dominance=pd.DataFrame())
        if set(configs) - page.held(configs, runs_dir):  # the intro reads what is held; it never trains for it
            return none
        try:
            d = page.data(runs_dir, progress)
        except (MissingRunsError, RecordOnlyRunError):
            return none
        matched = d["matched"]
        if getattr(page, "interim", None) is not None and len(matched):  # the intro says the page is interim
            matched = matched.assign(shown=page.interim.shown())
        return dict(matched=matched, dominance=d["dominance"])

    def interim_estimates(self, figures: Mapping[str, FigureData | Exception], runs_dir=None,
                          progress: bool = False) -> pd.DataFrame:
        """For the pages of :data:`INTERIM_PAGES` whose plan is not complete (their rows are not judged): the
        rows' estimates and 95% intervals on the published part of the plan (the page's interim state), never
        a verdict. Columns: key, estimate, ci_low, ci_high, unit, n, shown (what the interim page shows)."""
        rows = []
        for name, page in self.pages().items():
            if name not in INTERIM_PAGES or not isinstance(figures.get(name), MissingRunsError):
                continue
            part = getattr(figures[name], "part", None) or page.published_part(runs_dir)
            if getattr(part, "interim", None) is None:
                continue
            try:
                d = getattr(part, "claim_data", part.data)(runs_dir, progress)
            except (MissingRunsError, RecordOnlyRunError):
                continue
            own = tuple(c for c in CLAIMS if c.figures == (name,))
            t = claims_table({**figures, name: d}, panels=self.panels(), claims=own)
            for r in t.itertuples():
                if math.isfinite(r.estimate):
                    rows.append(dict(key=r.key, estimate=r.estimate, ci_low=r.ci_low, ci_high=r.ci_high,
                                     unit=r.unit, n=r.n, shown=part.interim.shown()))
        return pd.DataFrame(rows, columns=["key", "estimate", "ci_low", "ci_high", "unit", "n", "shown"])

    def what_we_see(self, data: FigureData) -> str:
        t = data["claims"]
        conf = t[t["status"] == "confirmatory"]
        seeds = seeds_sentence(data.params.get("profile") or self.profile)
        lines = [f"Of the {len(conf)} confirmatory claims (fixed on {FAMILY_FIXED}; Bonferroni, level {LEVEL:g}/"
                 f"{len(CONFIRMATORY)} per row): " + _counts(conf) + "." + (f" {seeds}" if seeds else "")]
        judged = _judged(conf)
        if (~judged).any():
            lines.append("- **not judged yet**: " + "; ".join(f"{r.key} ({_num(r)})"
                                                            for r in conf[~judged].itertuples()) + ".")
        for cat in VERDICTS:
            sel = conf[judged & (conf["category"] == cat)]
            if len(sel):
                lines.append(f"- **{cat}**: " + "; ".join(
                    f"{r.key} ({r.number} {r.interval})" if r.interval else f"{r.key} ({r.verdict})"
                    for r in sel.itertuples()) + ".")
        tasks = list(dict.fromkeys(data.runs["task"])) if "task" in data.runs else []
        if tasks:
            lines.append("The AUC rows summarise each run by the trapezoid area under its accuracy curve over its "
                         "attack's ε grid without ε = 0, divided by the grid's range (the mean of the piecewise-linear "
                         "curve): "
                         + "; ".join(_grids(task) for task in tasks) + ". A row that pools attacks (sth-vs-pixel, "
                         "pixel-gain) averages AUCs taken over these different grids.")
        ex = t[t["status"] == "exploratory"]
        if len(ex):
            lines.append(f"Exploratory ({len(ex)} rows, unadjusted 95% intervals, labels not verdicts): "
                         + "; ".join(f"{r.key}: {r.label}" for r in ex.itertuples()) + ".")
        return "\n".join(lines)


def _grids(task: str) -> str:
    """"fashion-mnist: Gaussian noise ε 0.0556-0.5 (9 values), ..." (the noise attacks' reference grids)."""
    from pixelreg.figures.pages import NOISE_ATTACKS
    from pixelreg.robustness.attacks import ATTACKS as REGISTRY
    from pixelreg.robustness.evaluate import EPSILON_GRIDS

    grids = EPSILON_GRIDS.get(task, {})
    parts = []
    for a in NOISE_ATTACKS:
        eps = [e for e in grids.get(a, ()) if e > 0]
        if eps:
            parts.append(f"{REGISTRY[a].label} ε {min(eps):.3g}-{max(eps):.3g} ({len(eps)} values)")
    return f"{task}: " + ", ".join(parts) if parts else f"{task}: no reference grid"


PAGE = Claims
