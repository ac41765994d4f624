"""The figure layer: one parameter object per page, the notebooks that call them, and the run plan they give.

Fast: nothing here trains or evaluates. The notebooks are read (not executed): their parameters cell is run,
then their data call with ``.configs()`` in place of ``.data(...)``, which is what papermill would run up to
the first training.
"""
from __future__ import annotations

import ast
import json
import re
import shlex
from dataclasses import fields
from pathlib import Path

import nbformat
import pytest

from pixelreg import book
from pixelreg.experiment.config import DEFAULT_PROFILE, PROFILES, config_hash
from pixelreg.errors import ConfigError
from pixelreg.figures import FIGURES, Fig2, Fig3, Fig5, Fig6, Fig7

REPO = Path(__file__).resolve().parent.parent
BOOK = REPO / "book"
PAGES = sorted(FIGURES)


def _notebook(name: str) -> nbformat.NotebookNode:
    return nbformat.read(BOOK / f"{name}.ipynb", as_version=4)


def _code(nb) -> list:
    return [c for c in nb.cells if c.cell_type == "code"]


def _parameters(nb) -> dict:
    """The parameters cell's assignments (the cell must hold plain assignments of literals only)."""
    cell = next(c for c in nb.cells if "parameters" in c.metadata.get("tags", []))
    out = {}
    for node in ast.parse(cell.source).body:
        assert isinstance(node, ast.Assign) and len(node.targets) == 1, "parameters cell: one assignment a line"
        out[node.targets[0].id] = ast.literal_eval(node.value)
    return out


def _configs_from_notebook(name: str, **injected) -> list:
    """What the notebook's data call would train with papermill's ``-p`` values ``injected``."""
    nb = _notebook(name)
    ns = dict(_parameters(nb), **injected)
    cell, n = re.subn(r"\.data\(\s*runs_dir=runs_dir\s*\)", ".configs()", _code(nb)[1].source)
    assert n == 1, f"{name}: one data call, .data(runs_dir=runs_dir)"
    exec(cell, ns)  # noqa: S102 - our own notebook
    return ns["data"]


# ------------------------------------------------------------------------------------------------ the plan

# The paper plan's ImageNet runs are named by the digest of their pool's images (TrainConfig.imagenet_sha256),
# not by the folder's path, so their hashes are pinned for the images of conftest's pinned folder (the same bytes
# on every machine), wherever pytest puts it; planning reads those files.
@pytest.fixture
def imagenet_env(pinned_imagenet_dir, monkeypatch):
    """$PIXELREG_IMAGENET_DIR set to the pinned folder; returns it as a string."""
    monkeypatch.setenv("PIXELREG_IMAGENET_DIR", str(pinned_imagenet_dir))
    return str(pinned_imagenet_dir)


def test_run_hashes_unchanged_by_the_figure_package(imagenet_env):
    """Every page's runs at every profile, with its default parameters, are the runs trained before the move
    (tests/data/book_hashes.json: computed by the old ``book_configs`` from the notebooks' parameters cells;
    the paper profile's entry since it runs the paper's plan, issue 14). A changed hash would orphan trained
    runs and their cached evaluations: the smoke, cpu and full entries never change. The paper entries changed
    once, when ImageNet runs came to be named by their pool's images (issue 21)."""
    expected = json.loads((Path(__file__).parent / "data" / "book_hashes.json").read_text())
    assert set(expected) == set(PROFILES)
    for profile, per_fig in expected.items():
        plan = book.book_configs(profile)
        assert set(per_fig) <= set(plan), profile  # pages added later bring their own runs
        for name, hashes in per_fig.items():
            mine = [config_hash(c) for c in plan[name]]
            if name == "frontier":  # its transferred grid and source came after its noise grid (2026-12-06)
                mine = mine[:len(hashes)]
            prof = PROFILES[profile]
            if prof.main_seeds is not None and name in ("fig2", "diagnostics"):  # the main comparison's extra seeds
                assert {c.seed for c in plan[name]} == set(prof.main_comparison_seeds), (profile, name)
                mine = [config_hash(c) for c in plan[name] if c.seed in prof.seeds]  # the pinned seeds' runs
            assert mine == hashes, (profile, name)
        if PROFILES[profile].plan == "analogue":
            claims = {config_hash(c) for c in FIGURES["claims"](profile=profile).configs()}
            later = {config_hash(c) for n, cs in plan.items() if n not in per_fig for c in cs}  # pages added later
            known = {h for hs in per_fig.values() for h in hs} | later
            assert claims <= known, "the claims page judges the figures' runs"


def test_claims_judge_the_paper_plan_runs(imagenet_env):
    """At the paper profile the claims page reads the figures' paper-plan runs (no Fashion-MNIST outside the
    combinations page's table rows)."""
    plan = {config_hash(c) for c in book.union(book.book_configs("paper"))}
    claims = FIGURES["claims"](profile="paper")
    assert {config_hash(c) for c in claims.configs()} <= plan
    outside = [c for name, p in claims.pages().items() if name != "combos" for c in p.configs()]
    assert {c.task for c in outside} == {"mnist", "cifar10", "cifar100"}


def test_combinations_page_runs(imagenet_env):
    """At smoke, cpu and full the combinations page needs only runs that Figs. 2 and 3 need (so the book's plan
    is unchanged); at the paper profile its runs are the paper's table: 10 pairs with PRESETS' alpha and Th, the
    unregularized run of each task, 7 seeds, one transfer source per task, and the runs it shares with Figs. 2
    and 3 have their configs."""
    from pixelreg.experiment.config import PRESETS
    from pixelreg.figures import Combos

    for profile in ("smoke", "cpu", "full"):
        per = book.book_configs(profile)
        assert set(per["combos"]) <= set(per["fig2"]) | set(per["fig3"]), profile
        assert Combos(profile=profile).panels == Fig2(profile=profile).panels
    combos = Combos(profile="paper").configs()
    reg = {(c.task, c.pool_source): (c.alpha, c.th) for c in combos if c.regularized}
    table = {(p["task"], p["reg_data"]): (p["alpha"], p["th"]) for p in PRESETS.values() if p["reg_data"] != "natural"}
    assert reg == table and len(table) == 10
    assert all(c.target == "thresholded" and c.width == 64 and not c.rgb for c in combos if c.regularized)
    assert {c.task for c in combos} == {"mnist", "fashion-mnist", "cifar10", "cifar100"}
    assert {(c.task, c.seed) for c in combos if not c.regularized} == \
        {(t, s) for t in ("mnist", "fashion-mnist", "cifar10", "cifar100") for s in (*range(7), Combos.source_seed)}
    assert len(combos) == 7 * (10 + 4) + 4
    shared = set(Fig2(profile="paper").configs()) | set(Fig3(profile="paper").configs())
    assert {(c.task, c.pool_source) for c in set(combos) & shared if c.regularized} == {
        ("mnist", "mnist"), ("cifar10", "imagenet"), ("cifar100", "imagenet"), ("cifar10", "cifar10")}


def test_paper_plan_is_the_papers_figures(imagenet_env):
    """The paper profile runs the paper's datasets: Fig. 2 MNIST <- MNIST (alpha 4, Th 0.2) and CIFAR-10/100 <-
    ImageNet (10, 0.8), Fig. 3 CIFAR-10 <- ImageNet and <- CIFAR-10, 7 seeds, grey images, 20/40/60 epochs;
    the analogue profiles keep Fashion-MNIST and the natural photographs."""
    f2, f3 = Fig2(profile="paper"), Fig3(profile="paper")
    pairs = {(c.task, c.pool_source, c.alpha, c.th if c.target == "thresholded" else None, c.target)
             for c in f2.configs() if c.regularized}  # S^pixel ignores Th
    paper = [("mnist", "mnist", 4.0, 0.2), ("cifar10", "imagenet", 10.0, 0.8), ("cifar100", "imagenet", 10.0, 0.8)]
    assert pairs == {(t, r, a, th if tg == "thresholded" else None, tg) for t, r, a, th in paper
                     for tg in ("pixel", "thresholded")}
    assert {(c.task, c.pool_source) for c in f3.configs() if c.regularized} == {("cifar10", "imagenet"),
                                                                                ("cifar10", "cifar10")}
    for c in f2.configs() + f3.configs():
        assert c.seed in range(7) or c.seed == Fig3.source_seed
        assert not c.rgb and c.width == 64 and c.epochs == {"mnist": 20, "cifar10": 40, "cifar100": 60}[c.task]
        inet = c.regularized and c.pool_source == "imagenet"
        assert c.imagenet_dir == (imagenet_env if inet else None)
        assert (len(c.imagenet_sha256) == 64) if inet else c.imagenet_sha256 is None
    assert len({c.seed for c in f2.configs()}) == 7
    assert f3.pgd_steps == 40 and f3.pgd_images == 10000 and f3.pgd_panel == "cifar10<-imagenet"
    for profile in ("smoke", "cpu", "full"):
        tasks = {c.task for name in ("fig2", "fig3") for c in FIGURES[name](profile=profile).configs()}
        assert tasks == {"fashion-mnist"}


def test_paper_plan_needs_the_imagenet_setting(monkeypatch):
    """Without $PIXELREG_IMAGENET_DIR the paper plan cannot name its ImageNet runs: the error names the setting
    and the expected layout; the analogue plan needs nothing."""
    monkeypatch.delenv("PIXELREG_IMAGENET_DIR", raising=False)
    with pytest.raises(ConfigError) as info:
        Fig2(profile="paper").configs()
    assert "PIXELREG_IMAGENET_DIR" in str(info.value) and "144x256" in str(info.value)
    assert Fig2(profile="cpu").configs()


def test_captions_name_the_plan_and_the_paper_panels(imagenet_env):
    assert "cifar10 <- imagenet stands for Fig. 2b" in Fig2(profile="paper").plan_text()
    assert "analogue" in Fig2(profile="cpu").plan_text() and "Fig. 2a" in Fig2(profile="cpu").plan_text()
    text = Fig3(profile="cpu").plan_text()
    assert "Fig. 3a" in text and "10 steps" in text and "did not run" not in text and "ran no white-box" in text
    for name in ("fig5", "fig6", "fig7", "beyond", "budget"):
        assert "cifar10 <- imagenet stands for" in FIGURES[name](profile="paper").plan_text(), name
        assert "offline analogue" in FIGURES[name](profile="smoke").plan_text(), name


def test_panels_parameter(imagenet_env):
    """A page's panels are named once: the plan's, or ``panels``, or ``task`` and ``reg_data`` (not both)."""
    f = Fig2(profile="smoke", panels="cifar10<-imagenet,mnist<-mnist")
    assert f.panels == ("cifar10<-imagenet", "mnist<-mnist") and f.task is None
    assert Fig2(profile="smoke", plan="paper").panels == ("mnist<-mnist", "cifar10<-imagenet", "cifar100<-imagenet")
    assert Fig2(profile="paper", plan="analogue").panels == Fig2(profile="cpu").panels
    with pytest.raises(ConfigError, match="invalid panels="):
        Fig2(profile="smoke", panels="mnist<-mnist", task="mnist")
    with pytest.raises(ConfigError, match="invalid panels="):
        Fig2(profile="smoke", panels="mnist-mnist")
    with pytest.raises(ConfigError, match="invalid plan="):
        Fig2(profile="smoke", plan="imagenet")
    with pytest.raises(ConfigError, match="invalid pgd_panel="):
        Fig3(profile="smoke", pgd_panel="mnist<-mnist")
    with pytest.raises(ConfigError, match="invalid pgd_steps="):
        Fig3(profile="smoke", pgd_steps=0)


def test_every_page_has_a_notebook_in_the_toc_and_the_other_way():
    assert set(FIGURES) == set(book.notebooks())
    for name, page in FIGURES.items():
        assert page.name == name


@pytest.mark.parametrize("name", PAGES)
def test_none_means_the_default(name):
    page = FIGURES[name]
    nones = {f.name: None for f in fields(page)}
    assert page(**nones) == page() == page(profile=DEFAULT_PROFILE)


@pytest.mark.parametrize("name", PAGES)
def test_notebook_runs_exactly_the_planned_runs(name):
    """The notebook (all parameters None, profile injected by the book) asks for the runs the book trains."""
    for profile in ("smoke", DEFAULT_PROFILE):
        assert _configs_from_notebook(name, profile=profile) == FIGURES[name](profile=profile).configs()


# ------------------------------------------------------------------------------------------ the notebooks

@pytest.mark.parametrize("name", PAGES)
def test_notebook_is_parameters_data_plot_footer(name):
    """Committed notebooks hold no outputs; their parameters are the page's fields (plus runs_dir), all None;
    the first code cell after them makes the page from every parameter; one footer call ends the page and
    no cell repeats the checks, caption, CSV links or "What we see" that the page and the footer own."""
    nb = _notebook(name)
    code = _code(nb)
    for c in code:
        assert not c.outputs and c.execution_count is None, f"{name}: committed with outputs"
    params = _parameters(nb)
    assert all(v is None for v in params.values()), f"{name}: every parameter is None (the page's default)"
    page = FIGURES[name]
    assert set(params) == {f.name for f in fields(page)} | {"runs_dir"}, name
    assert "parameters" in code[0].metadata.get("tags", [])
    call = code[1].source
    assert f"{page.__name__}(" in call and all(f"{p}={p}" in call for p in params if p != "runs_dir"), name
    footers = [c for c in code if "footer(" in c.source]
    assert len(footers) == 1 and footers[0] is code[-1] and footers[0].source.strip() == "footer(data)", name
    forbidden = re.compile(r"caption\(|publish_tables|what_we_see|check_params|check_attacks|ConfigError|"
                           r"check_positive_int|profile_default")
    for c in nb.cells:
        assert not forbidden.search(c.source), f"{name}: a copied checking or footer cell: {c.source[:80]!r}"
        assert "## What we see" not in c.source, f"{name}: the footer writes the What-we-see heading"


@pytest.mark.parametrize("name", PAGES)
def test_readers_see_the_parameters_and_a_rerun_command_the_page_accepts(name):
    """The book hides code (``nb_remove_code_source``), but a page's parameters cell is shown collapsed (tag
    hide-input, ``mystnb.remove_code_source`` false), except where the page removes it; the page's text gives
    one papermill command for its own notebook, whose parameters are the cell's and whose values the page
    accepts (parsed as papermill's ``-p`` parses them)."""
    from papermill.cli import _resolve_type

    nb = _notebook(name)
    cell = next(c for c in nb.cells if "parameters" in c.metadata.get("tags", []))
    if "remove-cell" in cell.metadata["tags"]:
        return
    assert "hide-input" in cell.metadata["tags"], name
    assert cell.metadata.get("mystnb", {}).get("remove_code_source") is False, name
    text = "\n".join(c.source for c in nb.cells if c.cell_type == "markdown")
    commands = [shlex.split(c) for c in re.findall(r"`(papermill [^`]+)`", text)]
    assert len(commands) == 1 and commands[0][1:3] == [f"book/{name}.ipynb", "out.ipynb"], (name, commands)
    assert "Show code cell source" in text, name  # the text says where the cell is
    rest = commands[0][3:]
    assert len(rest) % 3 == 0 and rest[::3] == ["-p"] * (len(rest) // 3), (name, rest)
    pairs = list(zip(rest[1::3], rest[2::3]))
    params = _parameters(nb)
    assert pairs and all(k in params for k, _ in pairs), (name, pairs)
    FIGURES[name](profile=DEFAULT_PROFILE, **{k: _resolve_type(v) for k, v in pairs})  # raises if rejected


# ------------------------------------------------------------------------------------- parameters reach runs

def test_notebook_override_reaches_the_run_config():
    """``papermill book/fig2.ipynb out.ipynb -p th 0.6`` trains S^Th runs with Th 0.6: other hashes, same seeds."""
    default = _configs_from_notebook("fig2", profile="smoke")
    changed = _configs_from_notebook("fig2", profile="smoke", th=0.6)
    sth = [c for c in changed if c.regularized and c.target == "thresholded"]
    assert sth and all(c.th == 0.6 for c in sth)
    assert {config_hash(c) for c in sth}.isdisjoint(config_hash(c) for c in default)
    # the unregularized and S^pixel runs ignore Th, so they are shared with the default plan
    assert [config_hash(c) for c in changed if c.target != "thresholded" or not c.regularized] == \
        [config_hash(c) for c in default if c.target != "thresholded" or not c.regularized]
    assert [c.seed for c in changed] == [c.seed for c in default]
    # the grids of the ablations arrive as papermill's strings
    assert {c.pairs for c in _configs_from_notebook("fig5", profile="smoke", pairs_grid="2,8")
            if c.regularized and c.pool_size == Fig5(profile="smoke").fixed_pool_size} == {2, 8}
    assert {(c.alpha, c.th) for c in _configs_from_notebook("fig6", profile="smoke", alpha_grid="2", th_grid="0.6")
            if c.regularized} == {(2.0, 0.6)}


@pytest.mark.parametrize("page, param, value, allowed", [
    (Fig2, "th", 1.5, "(0, 1)"),
    (Fig2, "alpha", -1, ">= 0"),
    (Fig2, "alpha", 0, "> 0"),
    (Fig2, "task", "svhn", "fashion-mnist"),
    (Fig2, "reg_data", "fashion-mnist,svhn", "natural"),
    (Fig2, "seeds", "0,-1", ">= 0"),
    (Fig2, "seeds", "a,b", "integers"),
    (Fig2, "attacks", "gaussian,pgd", "salt-pepper"),
    (Fig2, "n_images", 0, ">= 1"),
    (Fig2, "profile", "laptop", "cpu"),
    (Fig3, "source_seed", 0, "not among"),
    (Fig5, "pairs_grid", "4,0", ">= 1"),
    (Fig5, "reg_data", "fashion-mnist,natural", "one regularization pool"),
    (Fig6, "th_grid", "0.4,1.2", "(0, 1)"),
    (Fig6, "eps_robust", -0.1, "(0, 1]"),
    (Fig7, "th2", 0.9, "(0, th=0.8)"),
])
def test_bad_value_rejected_once_naming_the_parameter(page, param, value, allowed, monkeypatch):
    """A bad value stops the page object itself (before any run config is built), with one ConfigError that
    names the parameter and what is allowed."""
    import pixelreg.figures.pages

    def no_configs(*a, **k):
        raise AssertionError("a run config was built from a bad parameter")

    monkeypatch.setattr(pixelreg.figures.pages, "make_config", no_configs)
    with pytest.raises(ConfigError) as info:
        page(**{"profile": "smoke", param: value})
    assert f"invalid {param}=" in str(info.value) and allowed in str(info.value)


def test_th_range_has_one_rule():
    """Th is checked by TrainConfig's rule wherever it enters: the page and the run config say the same."""
    from pixelreg.experiment.config import make_config

    with pytest.raises(ConfigError) as page_err:
        Fig2(th=1.5)
    with pytest.raises(ConfigError) as config_err:
        make_config("smoke", th=1.5)
    assert str(page_err.value) == str(config_err.value)


def test_pages_share_defaults_through_one_home():
    """Fig. 3 trains Fig. 2's runs plus its source; the claims page judges the figures' default runs."""
    for profile in ("smoke", "cpu"):
        f2, f3 = Fig2(profile=profile).configs(), Fig3(profile=profile).configs()
        assert f3[:-1] == f2 and f3[-1].seed == Fig3.source_seed and not f3[-1].regularized


def test_show_table_escapes_labels_hides_the_index_and_shows_every_row():
    import pandas as pd

    from pixelreg.figures.prose import show_table

    df = pd.DataFrame({"mean_a": [0.123456] * 70, "group": ["S^Th <- natural"] * 70, "n": [2] * 70},
                      index=range(100, 170))
    html = show_table(df, {"group": "condition", "mean_a": "unregularized"}).to_html()
    assert "S^Th &lt;- natural" in html and "<- natural" not in html  # a label is text, not a tag
    assert html.index("condition") < html.index("unregularized") and "mean_a" not in html
    assert html.count("<tr") == 71 and ">169<" not in html and ">100<" not in html  # every row, no index
    assert "0.1235" in html and "0.123456" not in html and ">2<" in html  # floats rounded, integers kept


def test_show_table_names_shared_columns_and_lets_the_page_override():
    import pandas as pd

    from pixelreg.figures.prose import COLUMN_NAMES, show_table

    df = pd.DataFrame(dict(a=["unregularized"], b=["S^Th <- natural"], diff=[0.123456], p_holm=[0.01], other=[1]))
    html = show_table(df, {"b": "regularized"}, digits=3).to_html()
    assert ">regularized<" in html and ">condition b<" not in html  # the page's name wins, and comes first
    assert f">{COLUMN_NAMES['diff']}<" in html and f">{COLUMN_NAMES['p_holm']}<" in html and ">other<" in html
    assert "0.123" in html and "0.1235" not in html and "S^Th &lt;- natural" in html
    assert html.index(">regularized<") < html.index(f">{COLUMN_NAMES['a']}<")


def test_fig2_caption_says_what_its_stand_in_for_fig2a_changes_besides_the_data():
    from pixelreg.figures.fig2 import Fig2

    text = Fig2(profile="full").plan_text()
    assert ("fashion-mnist <- fashion-mnist stands for Fig. 2a (MNIST <- MNIST) (the paper ran Fig. 2a at α 4, Th 0.2; "
            "this panel runs at α 10, Th 0.8)") in text
    assert "natural stands for Figs. 2b, 2c (CIFAR-10/100 <- ImageNet)." in text  # no note where nothing else changes
    assert "this panel runs at α 1, Th 0.8)" in Fig2(profile="smoke").plan_text()  # the profile's alpha
    assert "this panel runs at α 3, Th 0.5)" in Fig2(profile="full", alpha=3, th=0.5).plan_text()
