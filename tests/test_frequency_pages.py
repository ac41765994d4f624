"""The frequency evaluations per run (pixelreg.robustness.sensitivity) and their pages (figures.fourier,
figures.corruptions): caching and keys, the record round trip, known-answer band and family tables, the
generated carry-over sentence, and the claim row fourier-band read from the page's table."""
from __future__ import annotations

import json
import math
import re

import numpy as np
import pandas as pd
import pytest
import torch
from conftest import needs_fmnist

import pixelreg.robustness.sensitivity as sens
from pixelreg.errors import ConfigError
from pixelreg.experiment.config import config_hash, make_config
from pixelreg.experiment.records import export_runs, import_records
from pixelreg.experiment.runs import Run, RunStore, atomic_torch_save, atomic_write_json, build_model
from pixelreg.figures.claims import claims_table
from pixelreg.figures.common import FigureData
from pixelreg.figures.corruptions import FAMILIES, Corruptions, carry_over_sentence, family_tests
from pixelreg.figures.fig4 import CLAIMS as FIG4_CLAIMS
from pixelreg.figures.fourier import Fourier, band_summary, band_table, band_tests
from pixelreg.robustness.fourier import band_masks, fourier_frequencies

SIZE = 28


def _run(root, seed=0, **kw) -> Run:
    """A finished run of a smoke config with random weights (no training): config, best.pt, DONE."""
    cfg = make_config("smoke", task="fashion-mnist", alpha=0.0, seed=seed, **kw)
    d = root / config_hash(cfg)
    d.mkdir(parents=True)
    torch.manual_seed(seed)
    atomic_torch_save(d / "best.pt", {"model": build_model(cfg).state_dict()})
    atomic_write_json(d / "metrics.json", [])
    atomic_write_json(d / "provenance.json", {})
    (d / "DONE").write_bytes(b"")
    atomic_write_json(d / "config.json", cfg.to_dict())
    return Run.open(d)


def _images(n, seed=0):
    g = torch.Generator().manual_seed(seed)
    return torch.randint(0, 256, (n, 1, SIZE, SIZE), generator=g, dtype=torch.uint8), torch.arange(n) % 10


def _evals(run, name):
    return sorted(p.name for p in (run.dir / "evals").glob(f"{name}-*.csv"))


# ---- caching ---------------------------------------------------------------------------------------------

def test_fourier_map_is_cached_and_its_key_changes_with_the_image_count(tmp_path, monkeypatch):
    run = _run(tmp_path)
    x, y = _images(3)
    first = sens.fourier_maps(run, n_images=2, images=x, labels=y)
    assert len(first) == SIZE * SIZE and set(first["u"]) == set(fourier_frequencies(SIZE).tolist())
    assert first["error"].between(0, 1).all() and first["clean_error"].nunique() == 1
    assert len(_evals(run, "fourier")) == 1
    monkeypatch.setattr(Run, "load_model", lambda self, device="cpu": pytest.fail("recomputed"))
    pd.testing.assert_frame_equal(sens.fourier_maps(run, n_images=2, images=x, labels=y), first)  # from the cache
    monkeypatch.undo()
    third = sens.fourier_maps(run, n_images=3, images=x, labels=y)
    assert len(_evals(run, "fourier")) == 2 and (third["n_images"] == 3).all()  # a new key for 3 images
    p2, p3 = (json.loads((run.dir / "evals" / n.replace(".csv", ".json")).read_text())["params"]
              for n in _evals(run, "fourier"))
    assert {p2["n_images"], p3["n_images"]} == {2, 3} and p2["data"] != p3["data"]


def test_fourier_map_table_round_trips_to_the_map(tmp_path):
    run = _run(tmp_path)
    x, y = _images(2)
    t = sens.fourier_maps(run, n_images=2, images=x, labels=y, cache=False)
    m = sens.map_tensor(t)
    lo = -(SIZE // 2)
    for _, r in t.sample(20, random_state=0).iterrows():
        assert m[int(r.u) - lo, int(r.v) - lo] == r.error
    # mirror symmetry of a real basis: (u, v) and (-u, -v) share one evaluation
    assert m[1:, 1:].flip(0, 1).allclose(m[1:, 1:])


def test_corruption_table_is_cached_key_changes_with_count_and_sets_are_shared(tmp_path, monkeypatch):
    runs = [_run(tmp_path, seed=0), _run(tmp_path, seed=1)]
    x, y = _images(6)
    made = []
    real = sens.corrupt
    monkeypatch.setattr(sens, "corrupt", lambda *a, **k: made.append(a[1:3]) or real(*a, **k))
    sens.clear_corrupted_sets()
    kw = dict(corruptions=["contrast", "gaussian_noise"], severities=[1, 5], images=x, labels=y)
    t = sens.corruption_accuracy(runs, n_images=4, **kw)
    assert len(made) == 4  # 2 corruptions x 2 severities, made once for both runs
    assert len(t) == 2 * 5 and set(t[t.corruption == "none"].severity) == {0}
    assert t["accuracy"].between(0, 1).all()
    monkeypatch.setattr(Run, "load_model", lambda self, device="cpu": pytest.fail("recomputed"))
    pd.testing.assert_frame_equal(sens.corruption_accuracy(runs, n_images=4, **kw), t)
    monkeypatch.undo()
    sens.corruption_accuracy(runs[0], n_images=5, **kw)
    assert len(_evals(runs[0], "corruptions")) == 2 and len(_evals(runs[1], "corruptions")) == 1
    with pytest.raises(ConfigError, match="corruptions"):
        sens.corruption_accuracy(runs, corruptions=["frost"], images=x, labels=y)
    with pytest.raises(ConfigError, match="severities"):
        sens.corruption_accuracy(runs, severities=[6], images=x, labels=y)
    sens.clear_corrupted_sets()


def test_corruption_key_names_the_definitions(tmp_path, monkeypatch):
    run = _run(tmp_path)
    x, y = _images(4)
    kw = dict(corruptions=["contrast"], severities=[1], n_images=4, images=x, labels=y)
    sens.corruption_accuracy(run, **kw)
    monkeypatch.setitem(sens.PARAMS, "contrast", (0.7, 0.5, 0.4, 0.3, 0.15))  # a changed definition
    sens.corruption_accuracy(run, **kw)
    assert len(_evals(run, "corruptions")) == 2


@needs_fmnist
def test_cached_tables_are_served_without_dataset_or_model(tmp_path, monkeypatch):
    run = _run(tmp_path)
    f = sens.fourier_maps(run, n_images=2)
    c = sens.corruption_accuracy(run, corruptions=["fog"], severities=[2], n_images=3)
    assert (f["n_images"] == 2).all() and json.loads(next((run.dir / "evals").glob("fourier-*.json")).read_text())[
        "params"]["data"] == "fashion-mnist-test-first2"
    import pixelreg.experiment.data as data

    monkeypatch.setattr(data, "load_dataset", lambda *a, **k: pytest.fail("dataset loaded"))
    monkeypatch.setattr(Run, "load_model", lambda self, device="cpu": pytest.fail("model loaded"))
    pd.testing.assert_frame_equal(sens.fourier_maps(run, n_images=2), f)
    pd.testing.assert_frame_equal(sens.corruption_accuracy(run, corruptions=["fog"], severities=[2], n_images=3), c)


def test_record_round_trip_gives_the_same_tables(tmp_path, monkeypatch):
    run = _run(tmp_path / "store")
    x, y = _images(3)
    f = sens.fourier_maps(run, n_images=3, images=x, labels=y)
    c = sens.corruption_accuracy(run, corruptions=["jpeg_compression"], severities=[1, 2], n_images=3, images=x,
                                 labels=y)
    out = tmp_path / "records"
    exported = export_runs(run, "smoke", out_dir=out)
    assert exported[0]["bytes"] < 100_000 and len(exported[0]["evaluations"]) == 2
    import_records(out, runs_dir=tmp_path / "fresh")
    imported = RunStore(tmp_path / "fresh").get(run.config)
    assert imported.record_only
    monkeypatch.setattr(Run, "load_model", lambda self, device="cpu": pytest.fail("model loaded"))
    pd.testing.assert_frame_equal(sens.fourier_maps(imported, n_images=3, images=x, labels=y), f)
    pd.testing.assert_frame_equal(sens.corruption_accuracy(imported, corruptions=["jpeg_compression"],
                                                           severities=[1, 2], n_images=3, images=x, labels=y), c)


# ---- known answers: the band table and its tests ------------------------------------------------------------

def _map_rows(run, seed, condition, low, high, other=0.9, group=None):
    """A map whose low band is ``low``, high band ``high`` and every other frequency ``other``."""
    masks = band_masks(SIZE)
    f = fourier_frequencies(SIZE)
    u, v = torch.meshgrid(f, f, indexing="ij")
    err = torch.full((SIZE, SIZE), other, dtype=torch.float64)
    err[masks.low], err[masks.high] = low, high
    return pd.DataFrame(dict(run=run, seed=seed, condition=condition, reg_data="-", group=group or condition,
                             u=u.flatten().numpy(), v=v.flatten().numpy(), error=err.flatten().numpy()))


def test_band_table_known_answer():
    maps = pd.concat([_map_rows("a", 0, "unregularized", 0.2, 0.6), _map_rows("b", 0, "S^Th", 0.3, 0.4)])
    b = band_table(maps)
    assert list(b.columns) == ["run", "seed", "condition", "reg_data", "group", "band", "error"]
    got = {(r.run, r.band): r.error for r in b.itertuples()}
    assert got == pytest.approx({("a", "low"): 0.2, ("a", "high"): 0.6, ("b", "low"): 0.3, ("b", "high"): 0.4})
    # a map that varies inside the band: the band's value is the mean over its cells
    m = _map_rows("c", 0, "S^Th", 0.0, 0.0)
    masks = band_masks(SIZE)
    inside = np.flatnonzero(masks.high.flatten().numpy())
    m.loc[inside[: len(inside) // 4], "error"] = 1.0
    assert band_table(m).set_index("band").loc["high", "error"] == pytest.approx((len(inside) // 4) / len(inside))


def test_band_summary_and_tests_known_answer():
    excess_gap = [-0.10, -0.12, -0.08, -0.11]  # S^Th's (high - low) minus unregularized's, per seed
    rows = []
    for s, gap in enumerate(excess_gap):
        base = 0.1 * s
        rows.append(_map_rows(f"u{s}", s, "unregularized", base + 0.2, base + 0.5))
        rows.append(_map_rows(f"t{s}", s, "S^Th", base + 0.25, base + 0.55 + gap))
    rows += [_map_rows(f"n{s}", 10 + s, "noise-aug", 0.5, 0.3) for s in range(3)]  # no shared seeds: Welch
    bands = band_table(pd.concat(rows, ignore_index=True))
    s = band_summary(bands).set_index("group")
    assert s.loc["unregularized", "excess"] == pytest.approx(0.3)
    assert s.loc["S^Th", "excess"] == pytest.approx(0.3 + np.mean(excess_gap))
    assert s.loc["S^Th", "excess_sem"] == pytest.approx(np.std(excess_gap, ddof=1) / 2)
    t = band_tests(bands).set_index(["group", "metric"])
    ex = t.loc[("S^Th", "excess")]
    assert ex.test.startswith("paired") and ex.n_a == 4 and ex["diff"] == pytest.approx(np.mean(excess_gap))
    half = 3.182446305284263 * np.std(excess_gap, ddof=1) / 2  # t(0.975, 3) x SEM
    assert (ex.ci_low, ex.ci_high) == pytest.approx((np.mean(excess_gap) - half, np.mean(excess_gap) + half))
    assert t.loc[("S^Th", "low"), "diff"] == pytest.approx(0.05)
    nz = t.loc[("noise-aug", "excess")]
    assert nz.test.startswith("Welch") and (nz.n_a, nz.n_b) == (4, 3) and nz["diff"] == pytest.approx(-0.2 - 0.3)


def test_band_tests_measure_each_band_over_the_runs_clean_error():
    """Known answer: a condition whose clean error is 0.2 higher and whose band errors are each 0.2 higher adds
    no error under perturbation: 0 over clean error in both bands (raw, it would look 0.2 more sensitive); the
    excess is unchanged by the clean error. Without clean errors the raw bands are tested."""
    rows = []
    for s in range(3):
        u = _map_rows(f"u{s}", s, "unregularized", 0.2 + 0.01 * s, 0.4)
        t = _map_rows(f"t{s}", s, "S^Th", 0.4 + 0.01 * s, 0.6 - 0.02 * s)
        rows += [u.assign(clean_error=0.1), t.assign(clean_error=0.3)]
    bands = band_table(pd.concat(rows, ignore_index=True))
    t = band_tests(bands).set_index(["group", "metric"])
    assert set(t.loc["S^Th"].index) == {"excess", "high over clean", "low over clean"}
    assert t.loc[("S^Th", "low over clean"), "diff"] == pytest.approx(0.0)
    assert t.loc[("S^Th", "high over clean"), "diff"] == pytest.approx(np.mean([0.0, -0.02, -0.04]))
    assert t.loc[("S^Th", "excess"), "diff"] == pytest.approx(np.mean([0.0, -0.02, -0.04]))
    raw = band_tests(bands.drop(columns="clean_error")).set_index(["group", "metric"])
    assert raw.loc[("S^Th", "low"), "diff"] == pytest.approx(0.2)


def test_the_error_between_the_bands_is_read_from_the_maps():
    """Known answer: a map of 0.9 between the bands (``_map_rows``' "other") and 0.2 / 0.5 in them gives 0.9,
    for each group; the DC term, in no band, is left out of "between" too."""
    from pixelreg.figures.fourier import between_bands

    maps = pd.concat([_map_rows("a", 0, "unregularized", 0.2, 0.5, other=0.9),
                      _map_rows("b", 0, "S^Th", 0.1, 0.1, other=0.3)])
    maps.loc[(maps.u == 0) & (maps.v == 0), "error"] = 5.0  # DC: not between the bands
    got = between_bands(maps, 1 / 7, 1 / 3)
    assert got == pytest.approx({"unregularized": 0.9, "S^Th": 0.3})
    assert between_bands(None, 1 / 7, 1 / 3) == {}


def test_claim_row_fourier_band_reads_the_pages_band_table():
    rows = []
    for s in range(5):
        rows.append(_map_rows(f"u{s}", s, "unregularized", 0.2, 0.5 + 0.01 * s))
        for pool, gap in (("fashion-mnist", -0.2), ("natural", -0.1)):  # S^Th of both pools, pooled per seed
            rows.append(_map_rows(f"t{pool}{s}", s, "S^Th", 0.2, 0.5 + gap + 0.013 * s,
                                  group=f"S^Th <- {pool}"))
    bands = band_table(pd.concat(rows, ignore_index=True))
    claim = next(c for c in FIG4_CLAIMS if c.key == "fourier-band")
    row = claims_table({"fourier": FigureData("fourier", {}, dict(bands=bands))},
                       panels={"fourier": ("fashion-mnist<-fashion-mnist", "fashion-mnist<-natural")},
                       claims=(claim,)).iloc[0]
    assert row.status == "confirmatory" and row.estimate == pytest.approx(-0.15 + 0.003 * 2)
    assert row.category == "reproduced"  # interval well below -SESOI (0.03)
    assert "fashion-mnist <- fashion-mnist and fashion-mnist <- natural" in row.tested_here


# ---- the corruption page's tables and sentence --------------------------------------------------------------

def _acc_rows(group, seed, base, by_family):
    from pixelreg.figures.corruptions import FAMILIES

    rows = [dict(group=group, run=f"{group}{seed}", seed=seed, corruption="none", severity=0, accuracy=base)]
    for fam, names in FAMILIES.items():
        for c in names:
            for sev in range(1, 6):
                rows.append(dict(group=group, run=f"{group}{seed}", seed=seed, corruption=c, severity=sev,
                                 accuracy=base - 0.05 * sev + by_family.get(fam, 0.0)))
    return rows


def test_family_tests_and_the_carry_over_sentence_known_answer():
    rows = []
    for s in range(5):
        jitter = 0.002 * (s - 2) ** 2
        rows += _acc_rows("unregularized", s, 0.9, {})
        rows += _acc_rows("S^Th", s, 0.88, {"noise": 0.1 + jitter, "blur": 0.05 + jitter, "contrast": -0.1 + jitter,
                                            "fog": jitter, "JPEG": 0.04 + jitter})
    acc = pd.DataFrame(rows)
    fam = family_tests(acc, level="family").set_index("family")
    assert fam.loc["noise", "diff"] == pytest.approx(-0.02 + 0.1 + 0.004)  # clean gap + family gap + mean jitter
    assert fam.loc["clean", "diff"] == pytest.approx(-0.02)
    per = family_tests(acc, level="corruption")
    assert len(per) == 13 and per.set_index("corruption").loc["contrast", "diff"] == pytest.approx(-0.116)
    text = carry_over_sentence("S^Th", fam.reset_index())
    assert text.startswith("**S^Th** gains accuracy under the noise corruptions")
    assert re.search(r"carries over to blur \+0\.034 \[[-0-9.]+, [-0-9.]+\]†?;", text)
    assert re.search(r"is traded for contrast -0\.116 \[[-0-9.]+, [-0-9.]+\];", text)
    # fog (-0.016) and JPEG (+0.024) exclude 0 but lie inside ±SESOI (0.03): too small to matter, not a call
    assert re.search(r"carries over or is traded by less than the 0\.03 that matters \(interval inside ±0\.03\) "
                     r"under fog -0\.016 \[[-0-9.]+, [-0-9.]+\], JPEG \+0\.024 \[", text)
    assert "has no interval under brightness, pixelate" in text  # no spread there: named, not dropped
    assert "neither gains nor loses" not in text  # every asked family's interval excludes 0 here
    flat = fam.reset_index().assign(ci_low=-1.0, ci_high=1.0)
    assert "gains no accuracy beyond its interval under the noise corruptions" in carry_over_sentence("X", flat)
    # the drop from each run's own clean accuracy leaves the clean gap (-0.02) out: only the family gaps remain
    drop = family_tests(acc, level="family", measure="drop").set_index("family")
    assert "clean" not in drop.index and list(drop.index) == list(FAMILIES)
    assert drop.loc["noise", "diff"] == pytest.approx(0.1 + 0.004)
    assert drop.loc["contrast", "diff"] == pytest.approx(-0.1 + 0.004)
    assert drop.loc["fog", "diff"] == pytest.approx(0.004) and drop.loc["brightness", "diff"] == pytest.approx(0.0)
    text = carry_over_sentence("S^Th", drop.reset_index(), measure="drop")
    assert text.startswith("**S^Th** loses less of its clean accuracy to the noise corruptions (noise +0.104 [")
    assert "carries over to blur +0.054" in text and "is traded for contrast -0.096" in text
    small = drop.reset_index().assign(ci_low=lambda t: t["diff"] - 0.001, ci_high=lambda t: t["diff"] + 0.001)
    small.loc[small.family == "noise", ["diff", "ci_low", "ci_high"]] = [0.01, 0.005, 0.015]
    assert carry_over_sentence("S^Th", small, measure="drop").startswith(
        "**S^Th** changes by less than 0.03 under the noise corruptions (noise +0.010 [0.005, 0.015], inside ±0.03): "
        "at these severities it has at most a noise advantage too small to matter, so no noise advantage that "
        "matters to carry over (measured by how much of its clean accuracy it loses)")
    assert text.endswith("(drop from clean accuracy minus unregularized's, mean over severities).")
    # a shown effect whose interval's end nearer 0 lies inside ±SESOI is starred, and the star explained
    near = drop.reset_index()
    near.loc[near.family == "blur", ["diff", "ci_low", "ci_high"]] = [0.033, 0.014, 0.052]
    text = carry_over_sentence("S^Th", near, measure="drop")
    assert "carries over to blur +0.033 [0.014, 0.052]†" in text
    assert text.endswith("†: the interval's end nearer 0 lies inside ±0.03, so the effect may be too small to "
                         "matter).")
    # losing accuracy under noise (its clean cost) is not read as having no noise robustness at all
    worse = fam.reset_index()
    worse.loc[worse.family == "noise", ["diff", "ci_low", "ci_high"]] = [-0.027, -0.032, -0.022]
    assert ("so at these severities it has no noise advantage in this measure to carry over (the drop from clean "
            "accuracy, below, leaves the clean cost out)") in carry_over_sentence("S^Th", worse)
    with pytest.raises(ConfigError, match="measure"):
        family_tests(acc, measure="relative")


def test_the_yin_sentence_says_whether_augmentations_trade_appears():
    """Known answers: noise augmentation worse under both contrast and fog shows Yin et al.'s trade; better
    under one and worse under neither does not; anything else is not shown either way; no rows, no sentence."""
    from pixelreg.figures.corruptions import yin_sentence

    def fam(contrast, fog):
        return pd.DataFrame([dict(group="noise-aug σ=0.3", family=f, diff=d, ci_low=d - 0.02, ci_high=d + 0.02)
                             for f, d in (("contrast", contrast), ("fog", fog))])
    assert "appears here too" in yin_sentence(fam(-0.2, -0.1))
    assert yin_sentence(fam(0.24, 0.19)).startswith("Unlike Yin et al.'s (2019) CIFAR-10 models")
    assert "the intervals do not show that trade" in yin_sentence(fam(-0.2, 0.0))
    assert yin_sentence(fam(0.2, 0.1).assign(group="S^Th")) == ""


def test_two_seed_pairs_show_estimates_and_make_no_call():
    """The same clear family gaps with 2 seeds instead of 5: the sentence shows each estimate and calls nothing
    (MIN_RUNS_TO_JUDGE); the Fourier band sentence likewise."""
    from pixelreg.figures.fourier import _meaning
    from pixelreg.figures.sentences import MIN_RUNS_TO_JUDGE, too_few_to_judge

    rows = []
    for s in range(2):
        rows += _acc_rows("unregularized", s, 0.9, {})
        rows += _acc_rows("S^Th", s, 0.88, {"noise": 0.1 + 0.001 * s, "blur": 0.05, "contrast": -0.1, "fog": 0.0,
                                            "JPEG": 0.04})
    fam = family_tests(pd.DataFrame(rows), level="family")
    text = carry_over_sentence("S^Th", fam)
    assert text.startswith("**S^Th**: not judged at 2 seed pairs (a call needs at least 3 per side")
    assert "noise +0.081" in text and "blur +0.030" in text
    assert "gains" not in text and "traded" not in text and "carries over" not in text
    assert MIN_RUNS_TO_JUDGE == 3 and too_few_to_judge(3, 3) is None and too_few_to_judge(5, 3) is None
    assert too_few_to_judge(2, 3) == ("not judged at 2 vs 3 runs (a call needs at least 3 per side; the estimates "
                                      "are shown)")
    gt = pd.DataFrame([dict(metric=m, n_a=2, n_b=2, diff=d, ci_low=d - 0.01, ci_high=d + 0.01)
                       for m, d in (("excess", -0.2), ("high", -0.2), ("low", 0.0))])
    assert _meaning(gt).startswith("Not judged at 2 seed pairs")
    assert _meaning(gt.assign(n_a=3, n_b=3)).startswith("Relative to the low band, less sensitive to high frequencies")


# ---- the pages ------------------------------------------------------------------------------------------------

def test_full_plan_is_fig2_seeds_5_to_9_and_the_frontier_noise_runs():
    from pixelreg.figures.beyond import Beyond
    from pixelreg.figures.fig2 import Fig2

    page = Fourier(profile="full")
    main = Fig2(profile="full", seeds=tuple(range(5, 10))).configs()
    noise = [Beyond(profile="full").unreg(s, noise_aug=0.3) for s in range(5)]
    assert set(map(config_hash, page.configs())) == set(map(config_hash, main + noise))
    assert len(page.configs()) == 30 and Corruptions(profile="full").configs() == page.configs()
    assert page.n_images == 500 and Corruptions(profile="full").n_images == 2000
    assert "Welch" in page.plan_text() and "Welch" not in Fourier(profile="smoke").plan_text()
    with pytest.raises(ConfigError, match="noise_sigma"):
        Fourier(profile="smoke", noise_sigma=0.0)
    with pytest.raises(ConfigError, match="corruptions"):
        Corruptions(profile="smoke", corruptions="frost")


def test_full_records_mode_names_the_missing_runs(tmp_path, monkeypatch):
    from pixelreg.errors import MissingRunsError
    from pixelreg.experiment.config import config_hash
    from pixelreg.experiment.records import published_record

    monkeypatch.setenv("PIXELREG_TRAIN", "0")
    for page in (Fourier(profile="full"), Corruptions(profile="full")):
        unpublished = [config_hash(c) for c in page.configs() if published_record(c) is None]
        if not unpublished:
            pytest.skip("every run of the full frequency pages is published")
        with pytest.raises(MissingRunsError) as e:
            page.data(runs_dir=tmp_path / "empty", progress=False)
        assert e.value.run_ids == unpublished  # exactly the runs that are neither trained nor published


@needs_fmnist
@pytest.mark.slow
def test_smoke_pages_and_the_claim_row(tmp_path):
    """At smoke both pages build (training their 12 runs) and the confirmatory row fourier-band computes from
    the Fourier page's band table (any outcome)."""
    page = Fourier(profile="smoke")
    d = page.data(runs_dir=tmp_path, progress=False)
    assert set(d["bands"]["band"]) == {"low", "high"} and len(d["bands"]) == 2 * len(page.configs())
    assert d.what_we_see().startswith("Mean error")
    claim = next(c for c in FIG4_CLAIMS if c.key == "fourier-band")
    row = claims_table({"fourier": d}, panels={"fourier": page.panels}, claims=(claim,)).iloc[0]
    assert not row.verdict.startswith("inconclusive (no data") and not row.verdict.startswith("inconclusive (not run")
    assert math.isfinite(row.estimate)
    c = Corruptions(profile="smoke").data(runs_dir=tmp_path, progress=False)
    assert set(c["families"]["family"]) >= {"clean", "noise", "blur", "contrast", "fog", "JPEG"}
    assert "carry over" in c.what_we_see()
