"""Tests of pixelreg.similarity: S^pixel, S^Th, pair selection and the pair sampler."""
from __future__ import annotations

import numpy as np
import pytest
import torch
from scipy import stats

from pixelreg.errors import ConfigError
from pixelreg.similarity import (REG_RANGES, PairSampler, centered_unit_rows, pixel_similarity,
                                 threshold_targets)


def _images(n=40, c=1, h=2, w=2, seed=0):
    g = torch.Generator().manual_seed(seed)
    return torch.randint(0, 256, (n, c, h, w), generator=g, dtype=torch.uint8)


def _brute_mask(s: np.ndarray, reg_range: str, th: float, th2: float | None = None) -> np.ndarray:
    """Selection of spec 4.3 written independently, upper triangle only."""
    a = np.abs(s)
    sel = {
        "all": np.ones_like(s, bool),
        "high": (s > th) | (s < -th),
        "low": a < th,
        "positive": (s > th) | (a < th),
        "negative": (s < -th) | (a < th),
        "double": (a > th) | (a < (th2 or 0)),
    }[reg_range]
    return sel & np.triu(np.ones_like(s, bool), k=1)


def test_pixel_similarity_matches_numpy():
    imgs = _images(30, h=5, w=4)
    x = imgs.numpy().astype(np.float64).reshape(30, -1)
    x = x - x.mean(0)
    x /= np.linalg.norm(x, axis=1, keepdims=True)
    np.testing.assert_allclose(pixel_similarity(imgs).numpy(), x @ x.T, atol=1e-5)


def test_diagonal_one_and_offdiagonal_mean():
    n = 50
    s = pixel_similarity(_images(n, h=6, w=6)).double()
    torch.testing.assert_close(s.diagonal(), torch.ones(n, dtype=torch.float64), atol=1e-5, rtol=0)
    off = (s.sum() - s.diagonal().sum()) / (n * (n - 1))
    # exact only for equal row norms: the centred rows, not the unit rows, sum to zero
    assert off.item() == pytest.approx(-1 / (n - 1), rel=0.05)


def test_rgb_uses_plain_channel_mean_and_scale_cancels():
    imgs = _images(20, c=3, h=4, w=4)
    grey = imgs.float().mean(1, keepdim=True)
    torch.testing.assert_close(pixel_similarity(imgs), pixel_similarity(grey / 255.0), atol=1e-5, rtol=0)


def test_zero_rows_are_guarded():
    imgs = torch.zeros(5, 1, 3, 3, dtype=torch.uint8)
    imgs[0] = 200
    rows = centered_unit_rows(imgs)
    assert torch.isfinite(rows).all()
    assert rows.dtype == torch.float32 and rows.shape == (5, 9)
    assert torch.allclose(rows.norm(dim=1), torch.ones(5))


def test_threshold_targets_strict():
    s = torch.tensor([-1.0, -0.8, -0.79, 0.0, 0.79, 0.8, 0.81, 1.0])
    assert threshold_targets(s, 0.8).tolist() == [-1, 0, 0, 0, 0, 0, 1, 1]


@pytest.mark.parametrize("reg_range", REG_RANGES)
@pytest.mark.parametrize("knobs", [{}, {"enumerate_limit": 0}, {"exact_below": 0, "enumerate_below": 0.0}],
                         ids=["enumerated", "rejection-exact", "rejection-estimated"])
def test_selection_and_targets_vs_brute_force(reg_range, knobs):
    imgs = _images(40, h=2, w=2)  # D = 4: similarities spread over [-1, 1]
    th, th2 = 0.6, (0.2 if reg_range == "double" else None)
    s = pixel_similarity(imgs).numpy()
    mask = _brute_mask(s, reg_range, th, th2)
    sampler = PairSampler(centered_unit_rows(imgs), reg_range, th=th, th2=th2, seed=1, **knobs)
    if sampler.share_is_exact:
        assert sampler.selected_share == pytest.approx(mask.sum() / (40 * 39 / 2))
    i, j, t = sampler.sample(3000)
    i, j = i.numpy(), j.numpy()
    assert (i < j).all()
    assert mask[i, j].all(), "an unselected pair was returned"
    np.testing.assert_array_equal(t.numpy(), threshold_targets(torch.from_numpy(s[i, j]), th).numpy())
    pix = PairSampler(centered_unit_rows(imgs), reg_range, th=th, th2=th2, transform="pixel", **knobs)
    i, j, t = pix.sample(500)
    np.testing.assert_allclose(t.numpy(), s[i.numpy(), j.numpy()], atol=1e-5)


@pytest.mark.parametrize("reg_range,knobs", [("all", {}), ("high", {}), ("high", {"enumerate_limit": 0}),
                                             ("positive", {"exact_below": 0, "enumerate_below": 0.0})])
def test_sampler_is_uniform_over_selected_pairs(reg_range, knobs):
    imgs = _images(16, h=2, w=2, seed=3)
    mask = _brute_mask(pixel_similarity(imgs).numpy(), reg_range, 0.6)
    sampler = PairSampler(centered_unit_rows(imgs), reg_range, th=0.6, seed=7, **knobs)
    counts = np.zeros_like(mask, dtype=np.int64)
    for _ in range(50):
        i, j, _ = sampler.sample(400)
        np.add.at(counts, (i.numpy(), j.numpy()), 1)
    assert counts[~mask].sum() == 0
    observed = counts[mask]
    assert observed.sum() == 20_000 and mask.sum() >= 10
    assert stats.chisquare(observed).pvalue > 1e-3


def test_sample_is_reproducible_and_independent_across_calls():
    rows = centered_unit_rows(_images(30))
    a = PairSampler(rows, "high", th=0.6, seed=5)
    b = PairSampler(rows, "high", th=0.6, seed=5)
    first = a.sample(16)
    assert all(torch.equal(x, y) for x, y in zip(first, b.sample(16)))
    assert not torch.equal(first[0], a.sample(16)[0])
    g1, g2 = torch.Generator().manual_seed(9), torch.Generator().manual_seed(9)
    assert torch.equal(a.sample(8, g1)[0], b.sample(8, g2)[0])


def test_permutation_control():
    imgs = _images(25, h=2, w=2)
    s = pixel_similarity(imgs).numpy()
    perm = torch.randperm(25, generator=torch.Generator().manual_seed(2))
    sp = s[perm.numpy()][:, perm.numpy()]  # similarity seen by pair (i, j) in the control
    for knobs in ({}, {"enumerate_limit": 0}):
        sampler = PairSampler(centered_unit_rows(imgs), "high", th=0.6, permutation=perm, **knobs)
        assert sampler.selected_share == pytest.approx(_brute_mask(sp, "high", 0.6).sum() / 300)
        i, j, t = sampler.sample(500)
        i, j = i.numpy(), j.numpy()
        assert (i < j).all() and (np.abs(sp[i, j]) > 0.6).all()
        np.testing.assert_array_equal(t.numpy(), np.sign(sp[i, j]))
    with pytest.raises(ConfigError, match="permutation"):
        PairSampler(centered_unit_rows(imgs), permutation=torch.zeros(25, dtype=torch.long))


def test_large_pool_sets_up_without_the_full_matrix():
    g = torch.Generator().manual_seed(0)
    imgs = torch.randint(0, 256, (60_000, 1, 28, 28), generator=g, dtype=torch.uint8)
    rows = centered_unit_rows(imgs)
    for reg_range in ("all", "low"):  # "low" exercises the estimated-share rejection path
        sampler = PairSampler(rows, reg_range, th=0.8)
        assert sampler.method == ("direct" if reg_range == "all" else "rejection")
        i, j, t = sampler.sample(64)
        assert (i < j).all() and j.max() < 60_000
        assert set(t.unique().tolist()) <= ({0.0} if reg_range == "low" else {-1.0, 0.0, 1.0})
    assert "N=60000" in repr(sampler) and "estimated" in repr(sampler)


@pytest.mark.parametrize("kwargs,param", [
    ({"reg_range": "middle"}, "reg_range"),
    ({"reg_range": "double"}, "th2"),
    ({"reg_range": "double", "th2": 0.9}, "th2"),
    ({"reg_range": "double", "th2": 0.0}, "th2"),
    ({"reg_range": "high", "th2": 0.1}, "th2"),
    ({"th": 1.0}, "th"),
    ({"transform": "raw"}, "transform"),
    ({"reg_range": "high", "th": 0.999}, "th"),  # no pair selected
])
def test_bad_arguments_name_the_parameter(kwargs, param):
    rows = centered_unit_rows(_images(20, h=8, w=8))
    with pytest.raises(ConfigError) as err:
        PairSampler(rows, **kwargs)
    assert err.value.param == param
