"""pixelreg.sphinxext, the extension that makes ``jupyter-book build book/`` render from the records: it never
trains unless asked, and a page whose runs are neither published nor in the run store becomes the stub page
``make book`` writes, unless it can show the published part of its plan (an interim page)."""
from __future__ import annotations

import os
from types import SimpleNamespace

import nbformat
import pytest

from pixelreg import book, sphinxext
from pixelreg.experiment.config import config_hash, make_config
from pixelreg.experiment.runs import RunStore


class _Page:
    """A stand-in page class: its configs, the evaluations it reads from records, and the part of its plan it
    would show as an interim page (``part``: configs, or None for all or nothing)."""

    record_evaluations = ()

    def __init__(self, configs, part=None):
        self._configs, self._part = configs, part

    def __call__(self, profile):
        return self

    def configs(self):
        return list(self._configs)

    def published_part(self, runs_dir=None):
        return self if self._part is None else _Page(self._part)

    def held(self, configs, runs_dir=None):
        from pixelreg.experiment.sweep import held_runs
        return held_runs(configs, runs_dir, self.record_evaluations)


def test_pages_missing_runs_known_answer(tmp_path, monkeypatch):
    """Pages at smoke (no records there): one whose run is finished in the run store, one whose run is only
    started, one whose run is absent, one whose absent run an interim page leaves out, and the claims page (never
    a stub). Only the second and third are missing, each naming exactly its run."""
    import pixelreg.figures as figures

    done, started, absent = (make_config("smoke", alpha=0.0, seed=s) for s in (0, 1, 2))
    store = RunStore(tmp_path)
    run = store.create(done)
    for name, text in (("DONE", ""), ("metrics.json", "[]"), ("provenance.json", "{}")):
        (run.dir / name).write_text(text)
    store.create(started)
    monkeypatch.setattr(figures, "FIGURES", {"a": _Page([done, done]), "b": _Page([done, started]),
                                             "c": _Page([absent]), "d": _Page([done, absent], part=[done]),
                                             "claims": _Page([absent])})
    got = sphinxext.missing_pages("smoke", runs_dir=tmp_path)
    assert sorted(got) == ["b", "c"]
    assert got["b"].startswith("MissingRunsError") and config_hash(started) in got["b"]
    assert config_hash(done) not in got["b"] and config_hash(absent) in got["c"]


def test_a_stub_page_replaces_the_notebook_source_before_myst_nb_reads_it(tmp_path):
    env = SimpleNamespace(pixelreg_stubs={"fig5": "MissingRunsError: 1 run(s) needed here ... (abc123)"},
                          doc2path=lambda d: str(tmp_path / f"{d}.ipynb"))
    app = SimpleNamespace(env=env)
    source = ["original"]
    sphinxext._source_read(app, "fig5", source)
    nb = nbformat.reads(source[0], as_version=4)
    assert book.STUB_KEY in nb.metadata and "abc123" in nb.cells[0].source
    assert [c.cell_type for c in nb.cells] == ["markdown"]  # nothing to execute
    untouched = ["original"]
    sphinxext._source_read(app, "fig2", untouched)
    assert untouched == ["original"]


def test_builder_inited_stubs_only_when_executing_without_training(monkeypatch, tmp_path):
    """Without records (here: an empty records folder) the pages the records cannot render become stubs."""
    import pixelreg.experiment.records as records

    monkeypatch.setattr(records, "records_dir", lambda profile: tmp_path)  # no records: a profile that trains
    monkeypatch.setattr(sphinxext, "missing_pages", lambda profile, runs_dir=None: {"fig5": "MissingRunsError: x"})
    for mode, train, expected in (("cache", "0", {"fig5"}), ("off", "0", set()), ("cache", "1", set())):
        monkeypatch.setenv("PIXELREG_TRAIN", train)
        app = SimpleNamespace(config=SimpleNamespace(nb_execution_mode=mode), env=SimpleNamespace())
        sphinxext._builder_inited(app)
        assert set(app.env.pixelreg_stubs) == expected, (mode, train)
        assert app.env.pixelreg_executed == {}


def test_with_records_the_notebooks_are_executed_side_by_side_before_reading(monkeypatch, tmp_path):
    """With the default profile's records, builder-inited executes every notebook as make book does (into the
    build folder), and myst-nb gets each executed notebook with execution off for that file; a page the records
    cannot render is a stub; nothing runs when execution is off or training is on."""
    calls = []
    executed = tmp_path / "fig2.ipynb"
    nb = nbformat.v4.new_notebook(metadata={"kernelspec": {"name": "python3", "display_name": "Python 3"}})
    nb.cells = [nbformat.v4.new_code_cell("1 + 1", outputs=[nbformat.v4.new_output(
        "execute_result", data={"text/plain": "2"}, execution_count=1)])]
    nbformat.write(nb, executed)

    def fake(profile, staging, srcdir):
        calls.append((profile, staging, srcdir))
        return {"fig2": executed}, {"fig5": "MissingRunsError: y"}

    monkeypatch.setattr(book, "execute_records", fake)
    for mode, train, runs in (("off", "0", 0), ("cache", "1", 0), ("cache", "0", 1)):
        monkeypatch.setenv("PIXELREG_TRAIN", train)
        app = SimpleNamespace(config=SimpleNamespace(nb_execution_mode=mode), env=SimpleNamespace(),
                              doctreedir=str(tmp_path / "_build" / ".doctrees"), srcdir=str(tmp_path / "book"))
        sphinxext._builder_inited(app)
        assert len(calls) == runs, (mode, train)
    assert calls[0][1] == tmp_path / "_build" / "pixelreg-executed" and calls[0][0] == _default_profile()
    assert app.env.pixelreg_executed == {"fig2": executed} and set(app.env.pixelreg_stubs) == {"fig5"}
    app.env.doc2path = lambda d: str(tmp_path / f"{d}.ipynb")
    source = ["the notebook as committed"]
    sphinxext._source_read(app, "fig2", source)
    got = nbformat.reads(source[0], as_version=4)
    assert got.metadata["mystnb"]["execution_mode"] == "off" and got.cells[0].outputs[0]["data"]["text/plain"] == "2"
    stub = ["x"]
    sphinxext._source_read(app, "fig5", stub)
    assert book.STUB_KEY in nbformat.reads(stub[0], as_version=4).metadata
    app.env.found_docs = {"fig2", "fig5", "intro"}
    assert sphinxext._outdated(None, app.env, set(), set(), set()) == ["fig2", "fig5"]  # executed afresh: re-read


def _default_profile():
    from pixelreg.experiment.config import DEFAULT_PROFILE

    return DEFAULT_PROFILE


def test_pages_that_were_stubs_are_read_again():
    env = SimpleNamespace(pixelreg_stubs={"fig5": "x"}, found_docs={"fig2", "fig5", "intro"})
    assert sphinxext._outdated(None, env, set(), set(), set()) == ["fig5"]
    env.pixelreg_stubs = {}  # its runs were published: read again, executed this time
    assert sphinxext._outdated(None, env, set(), set(), set()) == ["fig5"]
    assert sphinxext._outdated(None, env, set(), set(), set()) == []


@pytest.mark.parametrize("preset, expected", [(None, "0"), ("1", "1")])
def test_setup_switches_training_off_unless_the_caller_chose(monkeypatch, preset, expected):
    monkeypatch.setenv("PIXELREG_TRAIN", "x")  # records the caller's value: restored after the test
    if preset is None:
        monkeypatch.delenv("PIXELREG_TRAIN")
    else:
        monkeypatch.setenv("PIXELREG_TRAIN", preset)
    events = []
    sphinxext.setup(SimpleNamespace(connect=lambda ev, fn: events.append(ev)))
    assert os.environ["PIXELREG_TRAIN"] == expected
    assert set(events) == {"builder-inited", "env-get-outdated", "source-read"}
