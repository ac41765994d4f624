"""Fourier sensitivity maps (pixelreg.robustness.fourier): the basis, a known-answer map, invariants, validation."""
from __future__ import annotations

import itertools
import math

import pytest
import torch
from torch import nn

from pixelreg.errors import ConfigError
from pixelreg.models import paper_resnet
from pixelreg.robustness.fourier import (DEFAULT_BANDS, FourierMap, band_errors, band_masks, fourier_basis,
                                          fourier_error_map, fourier_frequencies)


def _all(size):
    f = fourier_frequencies(size).tolist()
    return list(itertools.product(f, f))


@pytest.mark.parametrize("size", [8, 7])
def test_basis_unit_norm_real_and_mirror_symmetric(size):
    for u, v in _all(size):
        b = fourier_basis(size, u, v)
        assert b.shape == (size, size) and not b.is_complex()
        assert b.norm().item() == pytest.approx(1.0, abs=1e-12)
        lo = -(size // 2)
        mu, mv = (-u - lo) % size + lo, (-v - lo) % size + lo  # (-u, -v) wrapped into the centred range
        assert torch.allclose(b, fourier_basis(size, mu, mv), atol=1e-12)
        # a cosine grating: Re(ifft2) of a one-hot pair is cos(2π(u y + v x)/S), normalised
        yy, xx = torch.meshgrid(torch.arange(size), torch.arange(size), indexing="ij")
        cos = torch.cos(2 * math.pi * (u * yy + v * xx).double() / size)
        assert torch.allclose(b, cos / cos.norm(), atol=1e-12)


@pytest.mark.parametrize("size", [8, 7])
def test_distinct_basis_images_are_orthogonal(size):
    seen, bases = set(), []
    lo = -(size // 2)
    for u, v in _all(size):
        key = frozenset({(u, v), ((-u - lo) % size + lo, (-v - lo) % size + lo)})
        if key not in seen:
            seen.add(key)
            bases.append(fourier_basis(size, u, v).flatten())
    b = torch.stack(bases)
    assert len(b) == ((size * size + 4) // 2 if size % 2 == 0 else (size * size + 1) // 2)
    assert torch.allclose(b @ b.T, torch.eye(len(b), dtype=b.dtype), atol=1e-10)


def test_dc_basis_is_constant():
    b = fourier_basis(28, 0, 0)
    assert torch.allclose(b, torch.full((28, 28), 1 / 28, dtype=b.dtype))


def test_basis_rejects_out_of_range_frequencies():
    with pytest.raises(ConfigError, match="invalid u="):
        fourier_basis(28, 14, 0)  # the centred range of 28 is [-14, 13]
    with pytest.raises(ConfigError, match="invalid v="):
        fourier_basis(28, 0, 1.5)


class OneFrequencyDetector(nn.Module):
    """Class 1 when |<x - 0.5, U_{u,v}>| (mean over channels) exceeds ``threshold``, else class 0."""

    def __init__(self, size, u, v, threshold):
        super().__init__()
        self.register_buffer("basis", fourier_basis(size, u, v).float())
        self.threshold = threshold

    def forward(self, x):
        p = ((x - 0.5) * self.basis).sum((-2, -1)).mean(1).abs()
        return torch.stack([torch.full_like(p, self.threshold), p], 1)


@pytest.mark.parametrize("u,v", [(3, -5), (-14, 2), (0, 7)])
def test_known_answer_map(u, v):
    """A classifier that sees one frequency only fails exactly at that frequency and at its mirror."""
    size, n = 28, 12
    g = torch.Generator().manual_seed(1)
    target = fourier_basis(size, u, v).float()
    noise = (torch.rand(n, 2, size, size, generator=g) - 0.5) * 0.2
    noise -= (noise * target).sum((-2, -1), keepdim=True) * target  # orthogonal to U_{u,v}: clean p = 0
    images = 0.5 + noise  # no clipping: |noise| + norm * max|U| < 0.5
    labels = torch.zeros(n, dtype=torch.long)
    out = fourier_error_map(OneFrequencyDetector(size, u, v, threshold=0.5), images, labels, norm=1.0, generator=0)
    assert isinstance(out, FourierMap) and out.errors.shape == (size, size) and out.clean_error == 0
    lo = -(size // 2)
    i, j = u - lo, v - lo
    i2, j2 = (-u - lo) % size, (-v - lo) % size
    expected = torch.zeros(size, size, dtype=torch.float64)
    expected[i, j] = expected[i2, j2] = 1.0
    assert torch.equal(out.errors, expected)


def _tiny_model():
    torch.manual_seed(0)
    return paper_resnet(width=4).eval()


def _smooth_images(n, size=16, seed=0):
    g = torch.Generator().manual_seed(seed)
    x = torch.rand(n, 1, size // 4, size // 4, generator=g)
    x = nn.functional.interpolate(x, size=size, mode="bilinear", align_corners=False)
    return (x * 255).round().to(torch.uint8)


def test_tiny_norm_gives_the_clean_error_everywhere():
    model = _tiny_model()
    x = _smooth_images(24)
    y = torch.arange(24) % 10
    out = fourier_error_map(model, x, y, norm=1e-6, generator=0)
    with torch.no_grad():
        clean = (model(x.float() / 255).argmax(1) != y).double().mean().item()
    assert out.clean_error == pytest.approx(clean)
    assert torch.equal(out.errors, torch.full((16, 16), clean, dtype=torch.float64))


def test_same_seed_same_map_and_chunking_does_not_matter():
    model = _tiny_model()
    x = _smooth_images(16, seed=2)
    y = torch.arange(16) % 10
    a = fourier_error_map(model, x, y, norm=6.0, generator=torch.Generator().manual_seed(5))
    b = fourier_error_map(model, x, y, norm=6.0, generator=5, chunk=37)
    assert torch.equal(a.errors, b.errors)
    assert a.errors.min() >= 0 and a.errors.max() <= 1
    # point symmetry of the map (away from the wrap-around row/column of even sizes)
    inner = a.errors[1:, 1:]
    assert torch.equal(inner, inner.flip(0, 1))


def test_model_mode_is_restored():
    model = _tiny_model().train()
    fourier_error_map(model, _smooth_images(4), torch.zeros(4, dtype=torch.long), norm=1.0)
    assert model.training


@pytest.mark.parametrize("norm", [0, -1.0, float("nan"), float("inf")])
def test_bad_norm_rejected(norm):
    with pytest.raises(ConfigError, match="invalid norm="):
        fourier_error_map(_tiny_model(), _smooth_images(2), torch.zeros(2, dtype=torch.long), norm=norm)


def test_bad_images_and_labels_rejected():
    model = _tiny_model()
    y = torch.zeros(2, dtype=torch.long)
    with pytest.raises(ConfigError, match="invalid images="):
        fourier_error_map(model, torch.zeros(2, 1, 16, 12, dtype=torch.uint8), y, norm=1.0)  # not square
    with pytest.raises(ConfigError, match="invalid images="):
        fourier_error_map(model, torch.full((2, 1, 16, 16), 2.0), y, norm=1.0)  # float outside [0, 1]
    with pytest.raises(ConfigError, match="invalid images="):
        fourier_error_map(model, torch.zeros(2, 16, 16), y, norm=1.0)  # not (N, C, H, W)
    with pytest.raises(ConfigError, match="invalid labels="):
        fourier_error_map(model, _smooth_images(2), torch.zeros(3, dtype=torch.long), norm=1.0)
    with pytest.raises(ConfigError, match="invalid precision="):
        fourier_error_map(model, _smooth_images(2), y, norm=1.0, precision="fp16")


def test_band_masks_and_errors():
    low, high = band_masks(28)
    f = fourier_frequencies(28).double()
    r = torch.sqrt(f[:, None] ** 2 + f[None, :] ** 2) / 28
    assert not low[14, 14] and not high[14, 14]  # DC in neither band
    assert torch.equal(low, (r > 0) & (r <= 1 / 7 + 1e-12))  # radius <= 4 cycles per image
    assert torch.equal(high, r >= 1 / 3 - 1e-12)
    assert int(low.sum()) == 48 and not (low & high).any()
    errors = torch.where(high, 0.75, 0.0) + torch.where(low, 0.25, 0.0)
    assert band_errors(errors, (low, high)) == (0.25, 0.75)
    assert band_errors(errors) == (0.25, 0.75)  # default masks: DEFAULT_BANDS
    assert DEFAULT_BANDS == (1 / 7, 1 / 3)
    with pytest.raises(ConfigError, match="invalid low_cutoff="):
        band_masks(28, 0.4, 0.3)
    with pytest.raises(ConfigError, match="invalid high_cutoff="):
        band_masks(28, 0.1, 0.8)
