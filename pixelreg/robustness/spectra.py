"""Spectral analysis of perturbations and band-limited noise (spec §9.6; not in the reference code).

Frequencies are in cycles/pixel: the 2-D DFT of an (H, W) image has frequencies ``fftfreq(H)`` and
``fftfreq(W)`` in [−0.5, 0.5), and the radial frequency is r = sqrt(f_y² + f_x²) in [0, √2/2].

Normalisation: :func:`power_spectrum` returns |fft2(δ)|² / (H·W), averaged over images and channels, so by
Parseval its sum over all frequencies equals the mean squared L2 norm of one channel-image of δ.
"""
from __future__ import annotations

import math

import pandas as pd
import torch

from pixelreg.robustness.attacks import ATTACKS, DEFAULT_CUTOFF, AttackKind, _Noise, _generator, register
from pixelreg.errors import ConfigError

KINDS = ("low", "high")


def radial_frequency(h: int, w: int, device: torch.device | str = "cpu", shifted: bool = True) -> torch.Tensor:
    """(H, W) radial frequency in cycles/pixel; ``shifted=True`` puts zero frequency at (H//2, W//2)."""
    fy = torch.fft.fftfreq(h, device=device, dtype=torch.float64)
    fx = torch.fft.fftfreq(w, device=device, dtype=torch.float64)
    r = torch.sqrt(fy[:, None] ** 2 + fx[None, :] ** 2)
    return torch.fft.fftshift(r) if shifted else r


def power_spectrum(delta: torch.Tensor) -> torch.Tensor:
    """Mean power spectrum of perturbations.

    Args:
        delta: (..., H, W) float, e.g. (N, C, H, W) or (R, N, C, H, W) perturbations. Images containing NaN
            (failed boundary attacks) are excluded.
    Returns:
        (H, W) float64, fftshifted (zero frequency at (H//2, W//2)): mean over all leading dimensions of
        |fft2(δ)|² / (H·W). Its sum is the mean over images and channels of ||δ_c||².
    """
    if delta.ndim < 2:
        raise ConfigError("delta", tuple(delta.shape), "a tensor of shape (..., H, W)")
    h, w = delta.shape[-2:]
    d = delta.reshape(-1, h, w).double()
    d = d[~torch.isnan(d).flatten(1).any(1)]
    if len(d) == 0:
        raise ConfigError("delta", tuple(delta.shape), "at least one image without NaN")
    ps = torch.fft.fft2(d).abs().pow(2).mean(0) / (h * w)
    return torch.fft.fftshift(ps)


def radial_profile(ps: torch.Tensor, reduce: str = "mean", dc: bool = True) -> tuple[torch.Tensor, torch.Tensor]:
    """Radially binned power spectrum.

    Args:
        ps: (H, W) fftshifted power spectrum, as from :func:`power_spectrum`.
        reduce: "mean" (power per frequency, the usual radial profile) or "sum" (power per annulus;
            these sum to ``ps.sum()``).
        dc: keep the zero-frequency bin (k = 0, which holds the zero frequency alone: the nearest other
            frequency is at radius 1/max(H, W), bin 1). ``dc=False`` drops it: a perturbation's mean
            (its DC component) is not a spatial frequency and would dominate a low-frequency share.
    Returns:
        (freqs, power): 1-D tensors; bins of width 1/max(H, W) cycles/pixel centred on k/max(H, W),
        empty bins left out.
    """
    if reduce not in ("mean", "sum"):
        raise ConfigError("reduce", reduce, "'mean' or 'sum'")
    h, w = ps.shape
    n = max(h, w)
    r = radial_frequency(h, w, ps.device)
    k = torch.round(r * n).long().flatten()
    total = torch.zeros(int(k.max()) + 1, dtype=torch.float64, device=ps.device).index_add_(0, k, ps.flatten().double())
    count = torch.bincount(k, minlength=len(total)).double()
    keep = count > 0
    power = total[keep] / count[keep] if reduce == "mean" else total[keep]
    freqs = torch.arange(len(total), dtype=torch.float64, device=ps.device)[keep] / n
    if not dc:
        freqs, power = freqs[freqs > 0], power[freqs > 0]
    return freqs, power


def low_frequency_fraction(delta: torch.Tensor, cutoff: float) -> float:
    """Fraction of the power of ``delta`` (..., H, W) at radial frequency <= ``cutoff`` cycles/pixel."""
    ps = power_spectrum(delta)
    r = radial_frequency(*ps.shape, ps.device)
    return float(ps[r <= cutoff].sum() / ps.sum())


def image_power_spectra(delta: torch.Tensor) -> torch.Tensor:
    """Power spectrum of each image: |fft2(δ)|² / (H·W) averaged over channels, fftshifted.

    Args:
        delta: (N, C, H, W) or (N, H, W) perturbations.
    Returns:
        (N, H, W) float64; an image containing NaN gets NaN everywhere (so rows stay aligned with the input).
    """
    if delta.ndim not in (3, 4):
        raise ConfigError("delta", tuple(delta.shape), "a tensor of shape (N, C, H, W) or (N, H, W)")
    d = delta.double() if delta.ndim == 4 else delta.double()[:, None]
    h, w = d.shape[-2:]
    ps = torch.fft.fft2(torch.nan_to_num(d)).abs().pow(2).mean(1) / (h * w)
    ps[torch.isnan(d).flatten(1).any(1)] = float("nan")
    return torch.fft.fftshift(ps, dim=(-2, -1))


def low_frequency_share(delta: torch.Tensor, cutoff: float) -> torch.Tensor:
    """Per image, the share of non-DC power at radial frequency 0 < r <= ``cutoff`` cycles/pixel:

        share = Σ_{0 < r <= cutoff} P(f) / Σ_{r > 0} P(f),   P = :func:`image_power_spectra`.

    The zero frequency (the image mean of δ) is left out of numerator and denominator. Scale-invariant, so
    the share of a direction does not depend on its length.

    Returns:
        (N,) float64; NaN for an image with NaN or with no non-DC power (e.g. a constant δ, or a zero δ where
        an attack failed).
    """
    ps = image_power_spectra(delta)
    r = radial_frequency(*ps.shape[-2:], ps.device)
    if not (0 < cutoff < float(r.max())):
        raise ConfigError("cutoff", cutoff, f"a radial frequency in (0, {float(r.max()):.3f}) cycles/pixel")
    total = ps[:, r > 0].sum(1)
    low = ps[:, (r > 0) & (r <= cutoff)].sum(1)
    scale = ps.flatten(1).nan_to_num().amax(1).clamp_min(1e-300)  # "zero" relative to the DC power
    return torch.where(total > 1e-12 * scale, low / total.clamp_min(1e-300), torch.full_like(total, float("nan")))


def start_direction(x: torch.Tensor, start: torch.Tensor) -> torch.Tensor:
    """The perturbation implied by an attack's starting point alone: ``start − x``.

    For the boundary attack's blended-uniform-noise init, start = (1 − b)·x + b·u, so start − x = b·(u − x):
    it carries the (negated) image's own spectrum, low frequencies included, before any attack step. The
    low-frequency share of this direction is the null a boundary perturbation must beat.
    """
    if x.shape != start.shape:
        raise ConfigError("start", tuple(start.shape), f"the shape of x, {tuple(x.shape)}")
    return start - x


def share_table(delta: torch.Tensor, cutoff: float, **labels) -> pd.DataFrame:
    """Tidy per-image low-frequency shares (:func:`low_frequency_share`): columns ``image`` (index in
    ``delta``), ``share``, ``cutoff`` and one constant column per keyword (e.g. seed=0,
    condition="S^Th", source="attack" or "start"). Images with an undefined share are dropped."""
    s = low_frequency_share(delta, cutoff).cpu().numpy()
    out = pd.DataFrame({"image": range(len(s)), "share": s, "cutoff": float(cutoff)})
    for k, v in labels.items():
        out[k] = v
    return out[~out["share"].isna()].reset_index(drop=True)


def _band_mask(h: int, w: int, cutoff: float, kind: str, device) -> torch.Tensor:
    if kind not in KINDS:
        raise ConfigError("kind", kind, f"one of {KINDS}")
    r = radial_frequency(h, w, device, shifted=False)
    if not (0 <= cutoff < float(r.max())):
        raise ConfigError("cutoff", cutoff, f"a radial frequency in [0, {float(r.max()):.3f}) cycles/pixel")
    return r <= cutoff if kind == "low" else r > cutoff


def filtered_noise(shape: tuple[int, ...], cutoff: float, kind: str = "low", *, l2: float | None = None,
                   std: float | None = None, generator: torch.Generator | int | None = None,
                   device: torch.device | str = "cpu", dtype: torch.dtype = torch.float32) -> torch.Tensor:
    """Gaussian noise passed through an ideal radial low- or high-pass filter, with matched energy.

    White Gaussian noise is multiplied in the Fourier domain by the mask r <= cutoff (``kind="low"``,
    zero frequency included) or r > cutoff (``kind="high"``), transformed back (the mask is
    Hermitian-symmetric, so the result is real), and each image (all its channels together) is rescaled
    to L2 norm ``l2``, or equivalently to per-pixel RMS ``std`` (l2 = std·sqrt(C·H·W)). Default: std = 1.
    Low- and high-pass noise with the same ``l2``/``std`` therefore carry exactly the same energy.

    Args:
        shape: (N, C, H, W) (any (..., H, W) works; the norm is taken over all but the first dimension).
        cutoff: radial cutoff in cycles/pixel, in [0, max radial frequency).
        generator: ``torch.Generator`` on ``device`` or an int seed.
    Returns:
        float tensor of ``shape``.
    """
    if l2 is not None and std is not None:
        raise ConfigError("l2/std", (l2, std), "give at most one of l2 and std")
    h, w = shape[-2:]
    g = _generator(torch.device(device), generator)
    z = torch.randn(shape, generator=g, device=device, dtype=torch.float64)
    mask = _band_mask(h, w, cutoff, kind, device)
    x = torch.fft.ifft2(torch.fft.fft2(z) * mask).real
    d = math.prod(shape[1:])
    target = l2 if l2 is not None else (1.0 if std is None else std) * math.sqrt(d)
    norms = x.flatten(1).norm(dim=1).clamp_min(1e-300).view((-1,) + (1,) * (len(shape) - 1))
    return (x * (target / norms)).to(dtype)


class FilteredNoise(_Noise):
    """Band-limited Gaussian noise as an attack: x + ε·n, n low- or high-pass with unit per-pixel RMS.

    ε is the per-pixel RMS of the added noise (before clipping), so low- and high-pass curves at the same
    ε compare perturbations of equal energy. Clipping to [0, 1] removes a little energy, slightly more for
    noise concentrated where the image is saturated (MNIST background); it is the same clip as the other
    noise attacks. Used for "regularized models are insensitive to high-frequency perturbations".
    """

    def __init__(self, kind: str = "low", cutoff: float = 0.1, clip: str = "bounds"):
        super().__init__(clip)
        if kind not in KINDS:
            raise ConfigError("kind", kind, f"one of {KINDS}")
        self.kind, self.cutoff = kind, float(cutoff)
        self.name = f"{kind}-pass"

    def unit_noise(self, x, g):
        return filtered_noise(tuple(x.shape), self.cutoff, self.kind, std=1.0, generator=g,
                              device=x.device, dtype=x.dtype)

    def __repr__(self) -> str:
        return f"FilteredNoise(kind={self.kind!r}, cutoff={self.cutoff}, clip={self.clip!r})"


# Band-limited noise in the attack registry (pixelreg.robustness.attacks.ATTACKS): the same ε range as
# Gaussian noise, ε = per-pixel RMS; not in the reference.
for _kind in KINDS:
    register(AttackKind(f"{_kind}-pass", f"{_kind}-pass noise", "band",
                        lambda clip="bounds", cutoff=DEFAULT_CUTOFF, _kind=_kind, **_: FilteredNoise(_kind, cutoff, clip),
                        ATTACKS["gaussian"].grids, "per-pixel RMS"))

__all__ = ["radial_frequency", "power_spectrum", "radial_profile", "low_frequency_fraction",
           "image_power_spectra", "low_frequency_share", "start_direction", "share_table",
           "filtered_noise", "FilteredNoise"]
