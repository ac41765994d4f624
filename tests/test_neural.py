"""Simulated V1, neural predictor, response similarity, the .npz recordings layout and Fig. 1 data."""
from __future__ import annotations

import numpy as np
import pytest
import torch
from scipy import stats

from pixelreg.errors import ConfigError, DataNotFoundError
from pixelreg.neural.predictor import (NeuralData, SimulatedV1, fit_predictor, gratings, load_responses,
                             neural_target_rows, per_neuron_correlation, predict, response_similarity,
                             save_responses, similarity_correlation)


def _pool(n: int, seed: int = 0) -> torch.Tensor:
    from pixelreg.experiment.data import natural_image_pool

    return natural_image_pool(n, seed=seed)


@pytest.fixture(scope="module")
def v1():
    return SimulatedV1(300, seed=0)


@pytest.fixture(scope="module")
def grating_responses(v1):
    """Rates to static gratings: (orientation, sf, phase, neuron)."""
    oris, sfs, phases = torch.arange(0, 180, 7.5), [0.025, 0.04, 0.065], torch.arange(0, 360, 45)
    r = v1.rates(gratings(oris, sfs, phases, contrast=0.8))
    return oris, r.reshape(len(oris), len(sfs), len(phases), -1)


def test_simple_and_complex_cells_are_orientation_tuned(v1, grating_responses):
    oris, r = grating_responses
    tuning = r.amax(dim=(1, 2))  # best SF and phase per orientation: (O, M)
    peak = oris[tuning.argmax(0)]
    err = (peak - v1.orientation).abs() % 180
    err = torch.minimum(err, 180 - err)
    for cells in (~v1.is_complex, v1.is_complex):
        assert (err[cells] <= 15).float().mean() > 0.8
    osi = (tuning.amax(0) - tuning.amin(0)) / (tuning.amax(0) + tuning.amin(0))
    assert osi.median() > 0.3


def test_complex_cells_are_phase_invariant(v1, grating_responses):
    _, r = grating_responses
    flat = r.permute(3, 0, 1, 2).reshape(r.shape[-1], -1, r.shape[2])  # (M, O*S, P)
    best = flat.amax(2).argmax(1)
    by_phase = flat[torch.arange(flat.shape[0]), best] - v1.baseline[:, None]
    modulation = (by_phase.amax(1) - by_phase.amin(1)) / (by_phase.amax(1) + by_phase.amin(1))
    simple, complex_ = modulation[~v1.is_complex], modulation[v1.is_complex]
    assert simple.median() > 0.8 and complex_.median() < 0.2
    assert complex_.quantile(0.9) < simple.quantile(0.1)


def test_noise_is_poisson_like_and_seeded(v1):
    imgs = _pool(200, seed=3)
    a = v1.responses(imgs, trials=8, generator=torch.Generator().manual_seed(1))
    b = v1.responses(imgs, trials=8, generator=torch.Generator().manual_seed(1))
    assert torch.equal(a, b) and a.shape == (8, 200, 300) and (a >= 0).all()
    assert torch.equal(a, a.round())
    lam = v1.rates(imgs)
    assert (lam > 0).all()
    assert torch.allclose(a.mean(0).mean(), lam.mean(), rtol=0.1)
    fano = a.var(0).mean() / a.mean(0).mean()  # pooled over images and neurons
    assert 1.05 < fano < 2.5, float(fano)  # over-dispersed Poisson


@pytest.mark.slow  # end-to-end: trains a predictor or a run, or attacks with a trained source
def test_predictor_denoises_single_trials():
    """Denoising, the role Li et al. give the predictor: on held-out images, the predictor's output
    correlates better with the noise-free rates than one measured trial of the same image does
    (median over neurons). A single trial is the right baseline: the training images were each
    shown once, so the predictor has seen the same amount of data per image as that trial."""
    v1 = SimulatedV1(80, seed=1)
    imgs = _pool(1700, seed=1)
    tr, te = imgs[:1500], imgs[1500:]
    r_tr = v1.responses(tr, 1, torch.Generator().manual_seed(0))[0]
    model, hist = fit_predictor(tr, r_tr, seed=0, max_epochs=6, patience=2, channels=8, num_threads=1)
    assert list(hist.columns) == ["epoch", "train_loss", "valid_loss", "valid_corr", "seconds"]
    lam = v1.rates(te)
    single = v1.responses(te, 1, torch.Generator().manual_seed(5))[0]
    pred = predict(model, te)
    assert pred.shape == lam.shape and (pred > 0).all()
    r_pred = per_neuron_correlation(pred, lam).nanmedian()
    r_single = per_neuron_correlation(single, lam).nanmedian()
    assert r_pred > r_single, (float(r_pred), float(r_single))
    # deterministic given the seed
    model2, _ = fit_predictor(tr[:200], r_tr[:200], seed=0, max_epochs=1, patience=1, channels=8, num_threads=1)
    model3, _ = fit_predictor(tr[:200], r_tr[:200], seed=0, max_epochs=1, patience=1, channels=8, num_threads=1)
    assert torch.equal(predict(model2, te[:10]), predict(model3, te[:10]))


def test_similarity_matches_numpy():
    g = torch.Generator().manual_seed(0)
    r = torch.rand(40, 25, generator=g) * 3
    x = r.double().numpy()
    x = x - x.mean(0)
    x = x / np.linalg.norm(x, axis=1, keepdims=True)
    expected = x @ x.T
    np.testing.assert_allclose(response_similarity(r).numpy(), expected, atol=1e-5)
    data = NeuralData(torch.zeros(40, 1, 4, 4, dtype=torch.uint8), torch.stack([r, r + 1e-3]))
    rows = neural_target_rows(data)
    np.testing.assert_allclose((rows @ rows.T).numpy(), response_similarity(r + 5e-4).numpy(), atol=1e-4)
    # correlation over i < j and its bootstrap interval
    s2 = torch.from_numpy(expected + 0.1 * np.random.default_rng(0).standard_normal((40, 40))).float()
    s2 = (s2 + s2.T) / 2
    res = {d["method"]: d for d in similarity_correlation(torch.from_numpy(expected).float(), s2, n_boot=50)}
    iu = np.triu_indices(40, 1)
    assert res["pearson"]["r"] == pytest.approx(stats.pearsonr(expected[iu], s2.numpy()[iu])[0], abs=1e-6)
    assert res["spearman"]["r"] == pytest.approx(stats.spearmanr(expected[iu], s2.numpy()[iu])[0], abs=1e-6)
    for d in res.values():
        assert d["n_pairs"] == 780 and d["ci_low"] <= d["r"] <= d["ci_high"]


def _npz(path, **arrays):
    np.savez(path, **arrays)
    return path


@pytest.mark.parametrize("case, arrays, words", [
    ("missing images", dict(responses=np.ones((5, 3))), ["'images'", "missing"]),
    ("missing responses", dict(images=np.zeros((5, 8, 8), np.uint8)), ["'responses'", "missing"]),
    ("images ndim", dict(images=np.zeros((5, 8), np.uint8), responses=np.ones((5, 3))), ["'images'", "(N, H, W)"]),
    ("rgb images", dict(images=np.zeros((5, 3, 8, 8), np.uint8), responses=np.ones((5, 3))), ["'images'", "(N, 1, H, W)"]),
    ("float out of range", dict(images=np.full((5, 8, 8), 2.0), responses=np.ones((5, 3))), ["'images'", "[0, 1]"]),
    ("int16 images", dict(images=np.zeros((5, 8, 8), np.int16), responses=np.ones((5, 3))), ["'images'", "uint8"]),
    ("responses ndim", dict(images=np.zeros((5, 8, 8), np.uint8), responses=np.ones(5)), ["'responses'", "(N, M)"]),
    ("N mismatch", dict(images=np.zeros((5, 8, 8), np.uint8), responses=np.ones((4, 3))), ["'responses'", "N = 5"]),
    ("N mismatch trials", dict(images=np.zeros((5, 8, 8), np.uint8), responses=np.ones((2, 4, 3))), ["N = 5"]),
    ("NaN", dict(images=np.zeros((5, 8, 8), np.uint8), responses=np.array([[np.nan, 1, 1]] * 5)), ["NaN"]),
    ("negative", dict(images=np.zeros((5, 8, 8), np.uint8), responses=-np.ones((5, 3))), ["negative"]),
    ("bool", dict(images=np.zeros((5, 8, 8), np.uint8), responses=np.ones((5, 3), bool)), ["dtype bool"]),
    ("neuron_ids", dict(images=np.zeros((5, 8, 8), np.uint8), responses=np.ones((5, 3)), neuron_ids=np.arange(4)),
     ["'neuron_ids'", "(3,)"]),
])
def test_load_rejects_malformed(tmp_path, case, arrays, words):
    path = _npz(tmp_path / "rec.npz", **arrays)
    with pytest.raises(ConfigError) as e:
        load_responses(path)
    for w in words:
        assert w in str(e.value), (case, str(e.value))


def test_load_missing_and_not_npz(tmp_path):
    with pytest.raises(DataNotFoundError, match="neural responses"):
        load_responses(tmp_path / "nope.npz")
    bad = tmp_path / "bad.npz"
    bad.write_text("not a zip")
    with pytest.raises(ConfigError, match="npz"):
        load_responses(bad)


def test_save_load_round_trip(tmp_path, v1):
    imgs = _pool(30, seed=2)
    resp = v1.responses(imgs, trials=3)
    path = save_responses(tmp_path / "sim.npz", imgs, resp, neuron_ids=np.arange(300), image_ids=np.arange(30))
    data = load_responses(path)
    assert torch.equal(data.images, imgs) and torch.equal(data.responses, resp)
    assert data.n_trials == 3 and data.n_neurons == 300 and data.n_images == 30
    assert (data.neuron_ids == np.arange(300)).all() and data.meta["simulated"] is False
    # float images in [0, 1] and (N, H, W) layout become uint8 (N, 1, H, W); (N, M) responses stay 2-D
    _npz(tmp_path / "f.npz", images=imgs[:, 0].numpy() / 255.0, responses=resp[0].numpy())
    data = load_responses(tmp_path / "f.npz")
    assert torch.equal(data.images, imgs) and data.responses.shape == (30, 300) and data.n_trials == 1
    rows = neural_target_rows(data)
    assert rows.shape == (30, 300) and torch.allclose(rows.norm(dim=1), torch.ones(30), atol=1e-5)


def test_fig1_smoke_end_to_end(tmp_path):
    from pixelreg.figures.fig1 import fig1_tables as fig1_data

    out = fig1_data("smoke", cache_dir=tmp_path, n_boot=10, num_threads=1)
    assert set(out) == {"pairs", "correlations", "predictor", "history", "meta"}
    c = out["correlations"]
    assert set(c.source) == {"noise_free", "single_trial", "trial_average", "predictor"}
    assert set(c.reference) == {"pixel", "noise_free"} and set(c.method) == {"pearson", "spearman"}
    for col in ("r", "ci_low", "ci_high"):
        assert np.isfinite(c[col]).all() and c[col].between(-1, 1).all()
    assert {"pixel", "noise_free", "single_trial", "trial_average", "predictor"} <= set(out["pairs"].columns)
    assert len(out["pairs"]) == 60 * 59 // 2 and (out["pairs"].i < out["pairs"].j).all()
    assert len(out["predictor"]) == 60
    meta = dict(zip(out["meta"].parameter, out["meta"].value))
    assert meta["simulated"] is True and meta["cache_hit"] is False
    again = fig1_data("smoke", cache_dir=tmp_path, n_boot=10, num_threads=1)
    meta2 = dict(zip(again["meta"].parameter, again["meta"].value))
    assert meta2["cache_hit"] is True
    np.testing.assert_allclose(again["pairs"].predictor, out["pairs"].predictor, atol=1e-6)
    # real-data path: the exported simulation read back through load_responses
    v1 = SimulatedV1(20, seed=0)
    imgs = _pool(80, seed=4)
    path = save_responses(tmp_path / "rec.npz", imgs, v1.responses(imgs, trials=2))
    real = fig1_data("smoke", data=path, n_boot=5, max_epochs=1, num_threads=1)
    assert set(real["correlations"].source) == {"single_trial", "trial_average", "predictor"}
    assert np.isfinite(real["correlations"].r).all()


def test_fig1_sentence_calls_a_correlation_inside_the_sesoi_negligible():
    """A correlation whose interval lies inside ±SESOI_R is called negligible, even when the interval excludes 0;
    one beyond it is called positive; one whose interval holds 0 and leaves ±SESOI_R is indistinguishable from
    zero. The predictor's denoising is called only where the intervals against the noise-free similarities do
    not overlap."""
    import pandas as pd

    from pixelreg.figures import FigureData
    from pixelreg.figures.fig1 import SESOI_R, Fig1

    def text(r, lo, hi):
        c = pd.DataFrame([dict(simulation="sim", reference="pixel", method="pearson", source="predictor", r=r,
                               ci_low=lo, ci_high=hi, n_pairs=100)])
        return Fig1(profile="smoke").what_we_see(FigureData("fig1", {}, dict(correlations=c)))

    assert SESOI_R == 0.1
    small = text(0.029, 0.011, 0.047)
    assert "**only negligibly**" in small and "although it excludes 0" in small and "positively" not in small
    assert "although" not in text(0.0, -0.05, 0.05)
    assert "correlate positively" in text(0.3, 0.2, 0.4) and "correlate positively" in text(0.15, 0.05, 0.25)
    assert "do not correlate distinguishably from zero" in text(0.05, -0.05, 0.15)
    from pixelreg.figures.fig1 import denoising_sentence

    def nf(p, s):
        return pd.DataFrame([dict(simulation="sim", reference="noise_free", method="pearson", source=src, r=r,
                                  ci_low=lo, ci_high=hi) for src, (r, lo, hi) in (("predictor", p), ("single_trial", s))])
    (better,) = denoising_sentence(nf((0.99, 0.987, 0.991), (0.938, 0.927, 0.948)))
    assert "the predictor's r = 0.990 (0.987 to 0.991)" in better and "tracks them better than a single trial" in better
    (overlap,) = denoising_sentence(nf((0.95, 0.93, 0.97), (0.94, 0.92, 0.96)))
    assert "neither is shown to track them better" in overlap
