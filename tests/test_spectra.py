"""Spectra: sinusoids peak at their frequency, band-limited noise stays in its band with matched energy."""
from __future__ import annotations

import math

import pytest
import torch

from pixelreg.errors import ConfigError
from pixelreg.robustness.spectra import (FilteredNoise, filtered_noise, image_power_spectra, low_frequency_fraction,
                              low_frequency_share, power_spectrum, radial_frequency, radial_profile, share_table,
                              start_direction)


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


# ---- without the zero frequency (issue 13 item 4) ----------------------------------------------------------


def test_constant_image_has_no_power_outside_dc():
    x = torch.full((2, 3, 16, 16), 0.7)
    ps = image_power_spectra(x)
    assert ps.shape == (2, 16, 16)
    r = radial_frequency(16, 16)
    assert ps[:, r > 0].abs().max().item() < 1e-20 and ps[:, 8, 8].min().item() == pytest.approx(0.7 ** 2 * 256)
    assert torch.isnan(low_frequency_share(x, 0.1)).all()  # no non-DC power: the share is undefined
    freqs, power = radial_profile(power_spectrum(x), dc=False)
    assert freqs.min().item() > 0 and power.abs().max().item() < 1e-20
    f_all, _ = radial_profile(power_spectrum(x))
    assert f_all[0].item() == 0 and len(f_all) == len(freqs) + 1  # dc=False drops exactly the k = 0 bin


def test_low_frequency_share_without_dc():
    h = w = 32
    yy, xx = torch.meshgrid(torch.arange(h), torch.arange(w), indexing="ij")
    low = torch.sin(2 * math.pi * (1 * yy + 2 * xx) / 32)  # 0.07 cycles/pixel
    high = torch.sin(2 * math.pi * 10 * xx / 32)  # 0.31 cycles/pixel
    # a large offset (DC) does not count: the share stays ~1 for the low sinusoid, ~0 for the high one
    delta = torch.stack([5 + low, 5 + high, 0.5 * low + high])[:, None]
    share = low_frequency_share(delta, 0.1)
    assert share[0].item() == pytest.approx(1.0, abs=1e-9) and share[1].item() == pytest.approx(0.0, abs=1e-9)
    assert share[2].item() == pytest.approx(0.25 / 1.25, rel=1e-6)  # power ratio of amplitudes² 0.25 : 1
    assert low_frequency_fraction(delta[:1], 0.1) == pytest.approx(1.0)  # the old statistic counts DC as low
    assert low_frequency_fraction(delta[1:2], 0.1) > 0.9  # ... and calls a high sinusoid on an offset "low"
    # scale-invariant; NaN images stay NaN and keep their row; white noise: the share of non-DC frequencies
    torch.testing.assert_close(low_frequency_share(3 * delta, 0.1), share)
    with_nan = torch.cat([delta, torch.full((1, 1, h, w), float("nan"))])
    assert torch.isnan(low_frequency_share(with_nan, 0.1)[3]) and len(low_frequency_share(with_nan, 0.1)) == 4
    white = torch.randn(2000, 1, h, w, generator=torch.Generator().manual_seed(0))
    r = radial_frequency(h, w)
    expected = float(((r > 0) & (r <= 0.1)).sum() / (r > 0).sum())
    assert low_frequency_share(white, 0.1).mean().item() == pytest.approx(expected, rel=0.03)
    with pytest.raises(ConfigError, match="cutoff"):
        low_frequency_share(delta, 0.0)
    with pytest.raises(ConfigError, match="delta"):
        image_power_spectra(torch.zeros(4, 4))


def test_start_direction_and_share_table():
    g = torch.Generator().manual_seed(1)
    x = torch.rand(5, 1, 16, 16, generator=g)
    u = torch.rand(5, 1, 16, 16, generator=g)
    b = 0.3
    start = (1 - b) * x + b * u  # the blended-uniform-noise init
    torch.testing.assert_close(start_direction(x, start), b * (u - x))
    torch.testing.assert_close(low_frequency_share(start_direction(x, start), 0.1), low_frequency_share(u - x, 0.1))
    with pytest.raises(ConfigError, match="start"):
        start_direction(x, start[:2])
    delta = torch.cat([start - x, torch.zeros(1, 1, 16, 16)])  # a failed attack (zero δ) is dropped
    t = share_table(delta, 0.1, seed=3, condition="S^Th", source="start")
    assert list(t.columns) == ["image", "share", "cutoff", "seed", "condition", "source"]
    assert list(t.image) == [0, 1, 2, 3, 4] and (t.seed == 3).all() and t.share.between(0, 1).all()
