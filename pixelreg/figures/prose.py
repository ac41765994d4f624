"""Prose and footer: the end of every page (the rerun box, the caption, the CSV downloads and "What we see")."""
from __future__ import annotations

import html
from pathlib import Path

from pixelreg.experiment.config import DEFAULT_PROFILE
from pixelreg.figures.pages import FigureData

# ----------------------------------------------------------------------------------------------------------
# tables shown on a page

#: the readable names of the columns the pages' tables share (the statistics tables of
#: :func:`pixelreg.analysis.stats.compare_conditions` and :func:`~pixelreg.analysis.verdicts.compare_by_seed`,
#: the per-condition summaries); :func:`show_table` uses them for every column its ``names`` do not rename
COLUMN_NAMES = {
    "a": "baseline a", "b": "condition b", "epsilon": "ε", "mean_a": "mean of a", "mean_b": "mean of b",
    "diff": "tested difference b − a (the mean over seed pairs when paired)", "ci_low": "CI low", "ci_high": "CI high", "confidence": "CI level",
    "n_a": "runs of a", "n_b": "runs of b", "statistic": "test statistic", "p_holm": "p (Holm over ε)",
    "significant": "significant after Holm", "g": "Hedges' g (b − a)", "g_low": "g: 95% CI low",
    "g_high": "g: 95% CI high", "n_seeds": "seeds", "attack_label": "attack (as plotted)",
    "auc": "AUC over ε > 0", "auc_sem": "AUC: SEM", "clean": "clean accuracy", "n": "runs", "pairs": "pairs k",
    "pool_size": "pool N", "seconds_per_step": "s per step", "best_epoch": "selected epoch",
    "last_test_acc": "test accuracy (last epoch)", "test_acc_best": "test accuracy (selected epoch)",
    "failed": "failed run", "heldout_corr": "held-out similarity correlation",
    "max_gamma": "largest layer weight γ", "max_gamma_layer": "its layer", "selected_share": "share of pairs selected",
    "n_resamples": "bootstrap resamples", "n_pairs": "seed pairs (paired test)",
}


def show_table(df, names: dict[str, str] | None = None, digits: int = 4):
    """A table as a page shows it: no index column, every row (pandas' display limits do not apply to a
    Styler), floats at ``digits`` decimals, and the columns named in ``names`` (old -> new) first, in that
    order, under their new names; the other columns under their :data:`COLUMN_NAMES` names where they have one.
    The CSV download keeps the original names."""
    t = df.reset_index(drop=True)
    first = [c for c in (names or {}) if c in t.columns]
    t = t[first + [c for c in t.columns if c not in first]]
    t = t.rename(columns={**{c: COLUMN_NAMES[c] for c in t.columns if c in COLUMN_NAMES and c not in first},
                          **(names or {})})
    # escaped: labels such as "S^Th <- natural" would otherwise be read as HTML tags
    return (t.style.hide(axis="index").format(precision=digits, na_rep="n/a", escape="html")
            .format_index(escape="html", axis=1))


# ----------------------------------------------------------------------------------------------------------
# the page footer

def book_dir(path: str | Path | None = None) -> Path:
    """Folder of the book being built: ``path``; else the working directory when it holds ``_toc.yml`` (a
    notebook executed by jupyter-book or ``pixelreg.book``); else the repository's ``book/``."""
    if path is not None:
        return Path(path)
    if (Path.cwd() / "_toc.yml").is_file():
        return Path.cwd()
    return Path(__file__).resolve().parent.parent.parent / "book"


def publish_tables(data: FigureData, profile: str, folder: str | Path | None = None) -> str:
    """Write ``data``'s tables as CSV under ``<book>/_extra/data/<profile>/`` (Sphinx copies ``_extra`` into
    the site root via ``html_extra_path``) and return HTML download links relative to the page."""
    out = book_dir(folder) / "_extra" / "data" / profile
    paths = data.save_csv(out)
    links = [f'<a href="data/{html.escape(profile)}/{p.name}" download>{html.escape(p.name)}</a>'
             f' ({len(data.runs) if k == "runs" else len(data.tables[k])} rows)' for k, p in paths.items()
             if k != "runs" or len(data.runs)]
    return "<p><b>Data behind this figure</b> (CSV): " + ", ".join(links) + "</p>"


#: the runs table's columns a page lists under its caption (the runs CSV has them all)
RUN_COLUMNS = {"run": "run", "condition": "condition", "reg_data": "pool", "alpha": "α", "th": "Th", "target": "target",
               "pairs": "pairs k", "pool_size": "pool N", "noise_aug": "noise σ", "epochs": "epochs", "seed": "seed",
               "best_epoch": "selected epoch", "test_acc_best": "test accuracy (selected epoch)",
               "failure": "failure"}


def runs_details(data: FigureData) -> str:
    """The page's runs as a folded HTML table under the caption: hash, condition, seed, the epoch model selection
    kept (on the validation split), its test accuracy and the failure if any (:data:`RUN_COLUMNS`, under their
    page names; every column is in the runs CSV)."""
    runs = data.runs
    if not len(runs):
        return ""
    t = runs[[c for c in RUN_COLUMNS if c in runs.columns]].astype(object)
    if "alpha" in t:  # the target's parameters mean nothing for a run without the similarity loss
        plain = t["alpha"].astype(float) == 0
        t.loc[plain, [c for c in ("th", "target", "pairs", "pool_size") if c in t]] = ""
    t = t.where(t.notna(), "").rename(columns=RUN_COLUMNS)
    body = t.to_html(index=False, escape=True, na_rep="", float_format=lambda v: f"{v:.4g}", border=0,
                     classes="table")
    return f"<details><summary>Runs ({len(runs)}; every column in the runs CSV)</summary>{body}</details>"


def rerun_box(data: FigureData) -> str:
    """The "Rerun this page" box: the papermill command that re-executes this page at its profile."""
    profile = data.params.get("profile") or DEFAULT_PROFILE
    cmd = f"papermill book/{data.name}.ipynb {data.name}-out.ipynb -p profile {profile}"
    return ("<div class='admonition tip'><p class='admonition-title'>Rerun this page</p><p><code>" + cmd
            + "</code> (add <code>-p NAME VALUE</code> for any other parameter of the page's first cell; with "
            "<code>PIXELREG_TRAIN=0</code> it renders from the published records and trains nothing).</p></div>")


def footer(data: FigureData, folder: str | Path | None = None) -> None:
    """The end of every page, in one call: the caption (parameters, runs, generator), the runs (folded), download
    links to the CSV tables, and the "What we see" paragraph generated from the tables."""
    from IPython.display import HTML, Markdown, display

    display(HTML(rerun_box(data)))
    display(Markdown("**Caption.** " + data.caption()))
    display(HTML(runs_details(data)))
    display(HTML(publish_tables(data, data.params.get("profile", DEFAULT_PROFILE), folder)))
    display(Markdown("## What we see\n\nGenerated from the tables above by "
                     f"`pixelreg.figures.{data.name}`; it changes with the numbers.\n\n" + data.what_we_see()))
