"""Sphinx extension for ``jupyter-book build book/`` (listed in ``_config.yml``): the book from the records.

``make book`` executes the notebooks itself (:mod:`pixelreg.book`) and builds the site with execution off.
``jupyter-book build book/`` instead lets myst-nb execute each notebook with its default parameters; without
this extension a page whose runs are not in the published records would train them (hours at ``full``).
Loaded first, the extension

- sets ``PIXELREG_TRAIN=0`` (the records mode) unless the caller set it, so no kernel ever trains:
  ``PIXELREG_TRAIN=1 jupyter-book build book/`` lets myst-nb execute (and train what is missing), as before;
- in the records mode, when the default profile has records, executes the notebooks as ``make book`` does
  (:func:`pixelreg.book.execute_records`: the records imported, two kept kernels side by side, a page the
  records cannot render turned into the stub page ``make book`` writes) before Sphinx reads anything, and hands
  myst-nb each executed notebook with execution off for that file (``mystnb.execution_mode``), so myst-nb's
  one-kernel-per-notebook serial execution is not paid;
- without records (a profile that trains), replaces each page whose runs are neither published nor in the run
  store by its stub (:func:`pixelreg.book.stub_notebook`) before myst-nb reads it, so the build finishes and the
  page names what is missing. A page that can show the published part of its plan (an interim page,
  :meth:`pixelreg.figures.pages.Page.as_published`) is executed instead: it narrows itself.
"""
from __future__ import annotations

import os


def missing_pages(profile: str, runs_dir=None) -> dict[str, str]:
    """Per page with training runs (:data:`pixelreg.figures.FIGURES`, the claims page aside), the
    :class:`~pixelreg.errors.MissingRunsError` message of the runs it would still lack: those neither published
    (any profile's records, holding the evaluations the page reads from them) nor finished in the run store,
    after an interim page has narrowed its plan to what is published
    (:meth:`pixelreg.figures.pages.Page.published_part`)."""
    from pixelreg.experiment.runs import missing_runs_error
    from pixelreg.figures import FIGURES

    out = {}
    for name, cls in FIGURES.items():
        if name == "claims":  # it judges the figures' runs, and says per row which are missing
            continue
        page = cls(profile=profile).published_part(runs_dir)
        configs = list(dict.fromkeys(page.configs()))
        have = page.held(configs, runs_dir)
        gone = [c for c in configs if c not in have]
        if gone:
            out[name] = f"MissingRunsError: {missing_runs_error(gone)}"
    return out


def _builder_inited(app) -> None:
    app.env.pixelreg_stubs, app.env.pixelreg_executed = {}, {}
    if getattr(app.config, "nb_execution_mode", "off") == "off":  # make book's site build: nothing to do (and
        return                                                     # no torch import through the configs)
    from pixelreg.experiment.config import DEFAULT_PROFILE
    from pixelreg.experiment.records import records_dir
    from pixelreg.experiment.runs import training_allowed

    if training_allowed():  # PIXELREG_TRAIN=1: myst-nb executes (and trains) as configured
        return
    if any(records_dir(DEFAULT_PROFILE).glob("*.json")):  # the records mode of make book, side by side
        from pathlib import Path

        from pixelreg.book import execute_records

        staging = Path(app.doctreedir).parent / "pixelreg-executed"
        app.env.pixelreg_executed, app.env.pixelreg_stubs = execute_records(DEFAULT_PROFILE, staging,
                                                                            Path(app.srcdir))
    else:
        app.env.pixelreg_stubs = missing_pages(DEFAULT_PROFILE)


def _outdated(app, env, added, changed, removed) -> list[str]:
    """Pages that are or were stubs are read again (a stub's notebook source does not change when its runs are
    published, so Sphinx would otherwise keep the stub)."""
    was = getattr(env, "pixelreg_stubs_built", set())
    now = set(env.pixelreg_stubs)
    env.pixelreg_stubs_built = now
    executed = set(getattr(env, "pixelreg_executed", {}))  # executed afresh: their outputs may have changed
    return sorted(d for d in env.found_docs if d.rsplit("/", 1)[-1] in was | now | executed)


def _source_read(app, docname: str, source: list[str]) -> None:
    name = docname.rsplit("/", 1)[-1]
    executed = getattr(app.env, "pixelreg_executed", {}).get(name)
    if executed is not None and str(app.env.doc2path(docname)).endswith(".ipynb"):
        import nbformat

        nb = nbformat.read(executed, as_version=4)
        nb.metadata["mystnb"] = {**nb.metadata.get("mystnb", {}), "execution_mode": "off"}  # outputs as executed
        source[0] = nbformat.writes(nb)
        return
    error = getattr(app.env, "pixelreg_stubs", {}).get(name)
    if error is None or not str(app.env.doc2path(docname)).endswith(".ipynb"):
        return  # imports only for a stub: the configs import torch (seconds)
    import nbformat

    from pixelreg.book import stub_notebook
    from pixelreg.experiment.config import DEFAULT_PROFILE

    source[0] = nbformat.writes(stub_notebook(name, DEFAULT_PROFILE, error))


def setup(app) -> dict:
    os.environ.setdefault("PIXELREG_TRAIN", "0")  # before myst-nb starts any kernel: they inherit it
    app.connect("builder-inited", _builder_inited)
    app.connect("env-get-outdated", _outdated)
    app.connect("source-read", _source_read)
    return {"parallel_read_safe": True, "parallel_write_safe": True}
