"""Spectra: sinusoids peak at their frequency, band-limited noise stays in its band with matched energy."""
from __future__ import annotations

import math

import pytest
import torch

from pixelreg.errors import ConfigError
from pixelreg.spectra import (FilteredNoise, filtered_noise, low_frequency_fraction, power_spectrum,
                              radial_frequency, radial_profile)


def test_sinusoid_peaks_at_its_frequency():
    h = w = 32
    yy, xx = torch.meshgrid(torch.arange(h), torch.arange(w), indexing="ij")
    fy, fx = 2 / 32, 5 / 32  # cycles/pixel
    delta = torch.sin(2 * math.pi * (fy * yy + fx * xx)).float()[None, None].repeat(3, 2, 1, 1)
    ps = power_spectrum(delta)
    peak = torch.nonzero(ps == ps.max()).tolist()
    # fftshifted: frequency (fy, fx) sits at (h//2 + 2, w//2 + 5), its mirror at (h//2 - 2, w//2 - 5)
    assert sorted(peak) == sorted([[h // 2 + 2, w // 2 + 5], [h // 2 - 2, w // 2 - 5]])
    assert ps.sum().item() == pytest.approx(delta[0, 0].pow(2).sum().item(), rel=1e-6)  # Parseval
    freqs, power = radial_profile(ps)
    assert freqs[power.argmax()].item() == pytest.approx(round(math.hypot(fy, fx) * 32) / 32)
    _, per_annulus = radial_profile(ps, reduce="sum")
    assert per_annulus.sum().item() == pytest.approx(ps.sum().item())
    assert low_frequency_fraction(delta, 0.1) == pytest.approx(0.0, abs=1e-9)
    assert low_frequency_fraction(delta, 0.2) == pytest.approx(1.0)


def test_nan_images_are_excluded():
    d = torch.randn(4, 1, 8, 8)
    with_nan = torch.cat([d, torch.full((2, 1, 8, 8), float("nan"))])
    torch.testing.assert_close(power_spectrum(with_nan), power_spectrum(d))


@pytest.mark.parametrize("shape", [(64, 1, 28, 28), (16, 3, 32, 32), (8, 1, 36, 64)])
def test_filtered_noise_bands_and_energy(shape):
    cutoff = 0.15
    low = filtered_noise(shape, cutoff, "low", std=0.1, generator=0, dtype=torch.float64)
    high = filtered_noise(shape, cutoff, "high", std=0.1, generator=0, dtype=torch.float64)
    r = radial_frequency(*shape[-2:])
    ps_low, ps_high = power_spectrum(low), power_spectrum(high)
    assert ps_low[r > cutoff].max() < 1e-20 * ps_low.max()
    assert ps_high[r <= cutoff].max() < 1e-20 * ps_high.max()
    assert low_frequency_fraction(low, cutoff) == pytest.approx(1.0)
    assert low_frequency_fraction(high, cutoff) == pytest.approx(0.0, abs=1e-12)
    d = math.prod(shape[1:])
    for n in (low, high):  # every image carries exactly the requested energy
        torch.testing.assert_close(n.flatten(1).norm(dim=1), torch.full((shape[0],), 0.1 * math.sqrt(d),
                                                                        dtype=torch.float64))
    l2 = filtered_noise(shape, cutoff, "high", l2=3.0, generator=1)
    torch.testing.assert_close(l2.flatten(1).norm(dim=1), torch.full((shape[0],), 3.0))


def test_filtered_noise_attack_rms_is_epsilon():
    x = torch.full((100, 1, 28, 28), 0.5)
    for kind in ("low", "high"):
        atk = FilteredNoise(kind, 0.1)
        zero, small = atk(None, x, None, [0.0, 0.02], generator=0)
        assert torch.equal(zero, x)
        rms = (small - x).flatten(1).pow(2).mean(1).sqrt()
        torch.testing.assert_close(rms, torch.full((100,), 0.02), rtol=1e-4, atol=1e-6)
    assert repr(FilteredNoise("high", 0.1)) == "FilteredNoise(kind='high', cutoff=0.1, clip='bounds')"


def test_bad_input():
    with pytest.raises(ConfigError, match="kind"):
        filtered_noise((1, 1, 8, 8), 0.1, "band")
    with pytest.raises(ConfigError, match="cutoff"):
        filtered_noise((1, 1, 8, 8), 0.8, "high")
    with pytest.raises(ConfigError, match="l2/std"):
        filtered_noise((1, 1, 8, 8), 0.1, l2=1.0, std=1.0)
    with pytest.raises(ConfigError, match="reduce"):
        radial_profile(torch.ones(4, 4), reduce="max")
    with pytest.raises(ConfigError, match="delta"):
        power_spectrum(torch.full((2, 1, 4, 4), float("nan")))
