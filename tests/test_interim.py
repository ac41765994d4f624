"""Interim pages: in the records mode, a page whose plan is only partly published shows the part that is
(:meth:`pixelreg.figures.pages.Page.as_published`), says so at its top and in its caption, and never narrows
when training is allowed. Known answers for the narrowing rule and for which runs count as held."""
from __future__ import annotations

import json
from pathlib import Path

import pandas as pd
import pytest

from pixelreg.experiment import records, sweep
from pixelreg.experiment.config import config_hash, make_config
from pixelreg.experiment.runs import RECORD_ONLY, RunStore
from pixelreg.figures import BatchNorm, Budget, Fig2, FigureData, Fourier
from pixelreg.figures.budget import PAPER_BUDGETS
from pixelreg.figures.pages import Interim

RECORDS = Path(__file__).resolve().parent.parent / "data" / "results" / "full"


def _have(configs, drop=()):
    held = {c for c in configs} - set(drop)
    return held.__contains__


# ------------------------------------------------------------------------------------- the narrowing rule

def test_seeds_narrow_to_those_whose_runs_are_all_there():
    page = BatchNorm(profile="full")
    assert page.seeds == (5, 6, 7, 8, 9)
    by_seed = {s: [c for c in page.configs() if c.seed == s] for s in page.seeds}
    everything = page.configs()
    assert page.narrowed(_have(everything)) is None  # nothing missing: the page as planned
    # seeds 7-9 absent, and one run of seed 7 present does not make seed 7 complete
    have = _have(by_seed[5] + by_seed[6] + by_seed[7][:3])
    assert page.narrowed(have) == {"seeds": (5, 6)}
    assert page.narrowed(_have(everything, drop=[by_seed[8][0]])) == {"seeds": (5, 6, 7, 9)}
    # fewer than two complete seeds: no interim page (a paired interval needs two)
    assert page.narrowed(_have(by_seed[5])) is None
    assert page.narrowed(_have([])) is None


def test_two_seed_lists_narrow_separately():
    page = Fourier(profile="full")
    assert page.seeds == (5, 6, 7, 8, 9) and page.noise_seeds == (0, 1, 2, 3, 4)
    noisy = [c for c in page.configs() if c.noise_aug > 0]
    main = [c for c in page.configs() if c.noise_aug == 0]
    have = _have([c for c in main if c.seed in (5, 6, 7)] + [c for c in noisy if c.seed in (0, 1)])
    assert page.narrowed(have) == {"seeds": (5, 6, 7), "noise_seeds": (0, 1)}
    assert page.narrowed(_have(main + [c for c in noisy if c.seed == 0])) is None  # one noise seed only
    assert page.narrowed(_have(main + noisy)) is None


def test_budgets_narrow_but_keep_the_first_three_and_the_cpu_point():
    page = Budget(profile="full")
    assert page.epochs == (1.0, 2.0, 3.0, *PAPER_BUDGETS)
    configs = page.configs()
    twenty = [c for c in configs if c.epochs == 20.0]
    ten = [c for c in configs if c.epochs == 10.0]
    assert len(twenty) == len(ten) == 6
    assert page.narrowed(_have(configs, drop=twenty)) == {"epochs": (1.0, 2.0, 3.0, 10.0)}
    assert page.narrowed(_have(configs, drop=twenty + ten)) == {"epochs": (1.0, 2.0, 3.0)}
    two = next(c for c in configs if c.epochs == 2.0)
    assert page.narrowed(_have(configs, drop=twenty + [two])) == {"epochs": (1.0, 3.0, 10.0)}
    assert page.narrowed(_have(configs, drop=twenty + ten + [two])) is None  # 1 and 3 only: below three budgets
    cpu = [c for c in configs if c.train_subset]  # the cpu point is in no budget: the page cannot drop it
    assert cpu and page.narrowed(_have(configs, drop=twenty + cpu[:1])) is None


def test_seeds_added_at_the_largest_budget_are_left_out_first_and_go_with_it():
    """With seeds 3-4 added at 20 epochs: while they train, the page shows 20 epochs at seeds 0-2; with 20 epochs
    incomplete at seeds 0-2 too, it shows 1-10 epochs, and the added seeds go with their budget."""
    page = Budget(profile="full", more_seeds=(3, 4))
    configs = page.configs()
    added = [c for c in configs if c.seed in (3, 4)]
    assert len(added) == 4 and {c.epochs for c in added} == {20.0}
    twenty = [c for c in configs if c.epochs == 20.0 and c.seed < 3]
    assert page.narrowed(_have(configs)) is None
    assert page.narrowed(_have(configs, drop=added[:1])) == {"more_seeds": ()}
    assert page.narrowed(_have(configs, drop=added + twenty[:1])) == {"epochs": (1.0, 2.0, 3.0, 10.0), "more_seeds": ()}
    ten = next(c for c in configs if c.epochs == 10.0)
    assert page.narrowed(_have(configs, drop=[ten])) == {"epochs": (1.0, 2.0, 3.0, 20.0)}  # 20 keeps seeds 3-4
    text = Interim(page, {"more_seeds": ()}, 1).sentence()
    assert "none of the seeds added at the largest budget yet (planned: 3, 4)" in text


def test_the_budget_sentence_of_an_interim_page_names_the_budgets_still_to_come(tmp_path, monkeypatch):
    """Narrowed to 1-3 epochs, the page's budget sentence says these are the budgets shown so far and names the
    two the plan adds; the complete page says neither."""
    from dataclasses import replace

    planned = Budget(profile="full")
    page = replace(planned, epochs=(1.0, 2.0, 3.0))
    object.__setattr__(page, "interim", Interim(planned, {"epochs": (1.0, 2.0, 3.0)}, 12))
    text = page.budgets_text()
    assert "the budgets shown so far are 1, 2 and 3 epochs" in text
    assert "The plan adds 10 and 20 epochs, not yet published (the banner above)." in text
    assert "so far" not in planned.budgets_text() and "The plan adds" not in planned.budgets_text()


def test_a_page_without_interim_fields_never_narrows(monkeypatch, tmp_path):
    monkeypatch.setenv("PIXELREG_TRAIN", "0")
    page = Fig2(profile="smoke")
    assert page.narrowed(_have([])) is None
    assert page.as_published(tmp_path) is page and page.interim is None


# ------------------------------------------------------------------------------------ against the records

def test_as_published_narrows_only_with_training_off(monkeypatch, tmp_path):
    """The budget page at full against the committed records: with training off it shows the budgets whose runs
    are all published and says how many runs it lacks; with training allowed it is the page as planned."""
    page = Budget(profile="full")
    unpublished = [c for c in page.configs() if not (RECORDS / f"{config_hash(c)}.json").is_file()]
    if not unpublished:
        pytest.skip("every budget is published: the page is complete")
    monkeypatch.setenv("PIXELREG_TRAIN", "1")
    assert page.as_published(tmp_path) is page
    monkeypatch.setenv("PIXELREG_TRAIN", "0")
    shown = page.as_published(tmp_path)
    assert shown is not page and shown.interim is not None and page.interim is None
    kept = shown.epochs
    assert kept[:3] == (1.0, 2.0, 3.0) and not {c.epochs for c in unpublished} & set(kept)
    assert all((RECORDS / f"{config_hash(c)}.json").is_file() for c in shown.configs())
    sentence = shown.interim.sentence()
    assert sentence.startswith(f"Interim page: {len(unpublished)} of the {len(set(page.configs()))} runs")
    assert ", ".join(f"{e:g}" for e in kept) + " of the budgets (epochs) 1, 2, 3, 10, 20" in sentence
    html = shown.interim._repr_html_()
    assert "admonition warning" in html and "no verdict of the claims page uses this page" in html
    data = FigureData("budget", shown.params(), {}, pd.DataFrame(), page=shown)
    assert data.caption().startswith(f"**{sentence}** ")
    assert not FigureData("budget", page.params(), {}, pd.DataFrame(), page=page).caption().startswith("**Interim")


# ------------------------------------------------------------------------------------------- held runs

def _finished(store, config, marker=None):
    run = store.create(config)
    for name, text in (("DONE", ""), ("metrics.json", "[]"), ("provenance.json", "{}")):
        (run.dir / name).write_text(text)
    if marker is not None:
        (run.dir / RECORD_ONLY).write_text(json.dumps(marker))
    return run


def test_held_runs_known_answer(tmp_path, monkeypatch):
    """Weights in the store: held whatever the evaluations. Record-only (imported) or only published: held
    when the record names every required evaluation (a damaged marker names none). Started or absent: not
    held."""
    weights, imported, bare, started, published, absent, damaged = (
        make_config("smoke", alpha=0.0, seed=s) for s in range(7))
    store = RunStore(tmp_path)
    _finished(store, weights)
    _finished(store, imported, dict(record="x.json", evaluations=["acc-gaussian-1a2b", "fourier-3c4d"]))
    _finished(store, bare, dict(record="x.json", evaluations=["acc-gaussian-1a2b"]))
    store.create(started)
    (_finished(store, damaged).dir / RECORD_ONLY).write_text("{not json")
    record = tmp_path / "published.json"
    record.write_text(json.dumps(dict(evaluations=[dict(key="fourier-9f9f"), dict(key="corruptions-0a0a")])))
    monkeypatch.setattr(records, "published_record", lambda c: record if c == published else None)
    every = [weights, imported, bare, started, published, absent, damaged]
    assert sweep.held_runs(every, tmp_path) == {weights, imported, bare, published, damaged}
    assert sweep.held_runs(every, tmp_path, ("fourier",)) == {weights, imported, published}
    assert sweep.held_runs(every, tmp_path, ("fourier", "corruptions")) == {weights, published}
    assert config_hash(absent) not in {r.id for r in store.runs()}  # nothing was imported or created


def test_held_runs_tests_evaluation_parameters_in_the_record_and_in_the_import_marker(tmp_path, monkeypatch):
    """A need given as (name, test) is met only by an evaluation of that name whose parameters pass the test:
    a record holding FGSM from another source, or a Gaussian curve as trained only, does not serve a page that
    reads FGSM from its own source or the re-estimated curve. Read from the committed record, or, once the
    record is gone, from the imported run's cached parameters."""
    from pixelreg.experiment.runs import write_cache_entry
    from pixelreg.robustness.evaluate import bn_reestimated, transferred_from

    fig3, ours, both = (make_config("smoke", alpha=0.0, seed=s) for s in range(3))
    other = dict(key="acc-fgsm-aaaa", params=dict(attack="FGSM(source=run:849fcd29eafa)"))
    mine = dict(key="acc-fgsm-bbbb", params=dict(attack="FGSM(source=run:b9d4081fb87c@928b0294f9b3fef5)"))
    plain = dict(key="acc-gaussian-cccc", params=dict(attack="GaussianNoise(clip='bounds')"))
    reest = dict(key="acc-gaussian-dddd", params=dict(plain["params"], bn_reestimate=dict(batches=50, batch_size=64,
                                                                                        seed=0)))
    records_of = {fig3: [other, plain], ours: [other, mine, plain], both: [mine, plain, reest]}
    paths = {}
    for c, evals in records_of.items():
        paths[c] = tmp_path / f"{config_hash(c)}.json"
        paths[c].write_text(json.dumps(dict(evaluations=evals)))
    monkeypatch.setattr(records, "published_record", lambda c: paths.get(c))
    every = list(records_of)
    fgsm = ("acc-fgsm", transferred_from("b9d4081fb87c"))
    gaussians = (("acc-gaussian", bn_reestimated(None)), ("acc-gaussian", bn_reestimated(50)))
    assert sweep.held_runs(every, tmp_path / "none", ("acc-fgsm",)) == set(every)  # by name: all three
    assert sweep.held_runs(every, tmp_path / "none", (fgsm,)) == {ours, both}
    assert sweep.held_runs(every, tmp_path / "none", gaussians) == {both}
    assert sweep.held_runs(every, tmp_path / "none", (("acc-gaussian", bn_reestimated(4)),)) == set()
    # imported runs whose records are gone: the marker names the keys, the cached entries hold the parameters
    store = RunStore(tmp_path / "runs")
    for c, evals in records_of.items():
        run = _finished(store, c, dict(record="x.json", evaluations=[e["key"] for e in evals]))
        for e in evals:
            write_cache_entry(run.dir / "evals", e["key"], e["params"], b"epsilon,accuracy\n")
    monkeypatch.setattr(records, "published_record", lambda c: None)
    assert sweep.held_runs(every, tmp_path / "runs", (fgsm,)) == {ours, both}
    assert sweep.held_runs(every, tmp_path / "runs", gaussians) == {both}


def test_claims_show_interim_estimates_of_an_incomplete_batchnorm_plan(monkeypatch, tmp_path):
    """Against the committed records: while the BatchNorm page's plan is incomplete its claim rows are not
    judged, and the claims page gives their estimates on the published seeds (the intro's first screen shows
    them), each over as many seed pairs as the interim page shows; once complete there are none."""
    from pixelreg.figures.claims import FIRST_SCREEN_BN, Claims

    monkeypatch.setenv("PIXELREG_TRAIN", "0")
    page = BatchNorm(profile="full")
    shown = page.published_part(tmp_path)
    data = Claims(profile="full").data(runs_dir=tmp_path, progress=False)
    early, rows = data["interim"], data["claims"].set_index("key")
    if getattr(shown, "interim", None) is None:
        assert early.empty and all(rows.loc[k, "estimate"] == rows.loc[k, "estimate"] for k in FIRST_SCREEN_BN)
        return
    assert rows.loc[list(FIRST_SCREEN_BN), "estimate"].isna().all()  # not judged on an incomplete plan
    assert set(early["key"]) == set(FIRST_SCREEN_BN)
    assert (early["n"] == f"{len(shown.seeds)} pairs").all() and early["shown"].str.startswith("seeds ").all()
    assert (early["ci_low"] <= early["estimate"]).all() and (early["estimate"] <= early["ci_high"]).all()


def test_a_record_only_run_is_held_by_its_record_as_committed_now(tmp_path, monkeypatch):
    """A run imported before its record gained an evaluation (a seed published with its metrics first, its
    evaluations later): the committed record decides, as it does when its tables are read, not the import
    marker; once the record is gone the marker does."""
    run = make_config("smoke", alpha=0.0, seed=0)
    store = RunStore(tmp_path)
    _finished(store, run, dict(record="x.json", evaluations=[]))
    record = tmp_path / "published.json"
    record.write_text(json.dumps(dict(evaluations=[dict(key="fourier-9f9f")])))
    monkeypatch.setattr(records, "published_record", lambda c: record)
    assert sweep.held_runs([run], tmp_path, ("fourier",)) == {run}
    record.write_text(json.dumps(dict(evaluations=[])))
    assert sweep.held_runs([run], tmp_path, ("fourier",)) == set()
    monkeypatch.setattr(records, "published_record", lambda c: None)
    assert sweep.held_runs([run], tmp_path, ("fourier",)) == set() and sweep.held_runs([run], tmp_path) == {run}


def test_an_interim_sentence_counts_the_runs_it_shows_and_the_published_ones_it_waits_with():
    """Known counts: the full budget plan has 36 runs (5 budgets and the cpu point, 3 seeds, 2 conditions); keeping
    budgets 1-3 shows 24; with 10 not published, 2 published runs wait for their budget to be complete."""

    planned = Budget(profile="full")
    text = Interim(planned, {"epochs": (1.0, 2.0, 3.0)}, 10).sentence()
    assert text.startswith("Interim page: 10 of the 36 runs of this page's plan at the `full` profile are not yet "
                           "published with the evaluations it reads")
    assert text.endswith(": 24 runs; the other 2 published runs belong to the part of the plan not complete yet and "
                         "are left out until it is.")
    assert Interim(planned, {"epochs": (1.0, 2.0, 3.0)}, 12).sentence().endswith(": 24 runs.")
