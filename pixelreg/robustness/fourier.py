"""Fourier sensitivity maps (Yin et al. 2019, "A Fourier Perspective on Model Robustness in Computer Vision").

For every spatial frequency (u, v) of an S x S image, each test image x is perturbed along the real Fourier
basis image U_{u,v} (unit L2 norm):

    x' = clip(x + r · norm · U_{u,v}, 0, 1),    r = ±1 at random (Rademacher), one draw per image and frequency,

and the model's error rate on the x' is recorded. The map of error rates over (u, v) shows to which
frequencies the model is sensitive: Yin et al. found that naturally trained CIFAR-10 models fail under
high-frequency perturbations that Gaussian augmentation and adversarial training make them robust to, at the
price of more sensitivity at low frequencies.

Conventions (the same as :func:`pixelreg.robustness.spectra.radial_frequency` with ``shifted=True``):

* Frequencies are integers (cycles per image) in the *centred* (fftshift) layout: entry ``[i, j]`` of a map
  is the frequency (u, v) = (i − S//2, j − S//2), u vertical, v horizontal. For even S, u and v run from −S/2
  to S/2 − 1; for odd S from −(S−1)/2 to (S−1)/2. Zero frequency (DC) is at ``[S//2, S//2]``.
  In cycles/pixel the radial frequency of (u, v) is sqrt(u² + v²) / S.
* U_{u,v} is the real part of the inverse DFT of a spectrum that is 1 at (u, v) and at its conjugate
  partner (−u, −v) (modulo S), normalised to unit L2 norm: a cosine grating cos(2π(u·y + v·x)/S) / ‖·‖.
  U_{u,v} and U_{−u,−v} are the same image, so each pair is evaluated once and its error written to both
  entries (the map is point-symmetric about DC up to the wrap-around row/column −S/2 of even S).
* ``norm`` is the L2 norm of the perturbation of one channel image; the same U_{u,v} and sign are added to
  every channel. (Yin et al. perturb the channels of colour images independently; for the package's
  grayscale tasks the two are the same.)
* Signs come from an explicit generator: a ``torch.Generator`` or an integer seed (default 0), drawn once
  as a (frequencies, images) table in the order of the frequency pairs, so a map is reproducible and does not
  depend on the batching.
"""
from __future__ import annotations

import math
from dataclasses import dataclass
from typing import NamedTuple

import torch
from torch import nn

from pixelreg.errors import ConfigError
from pixelreg.device import bf16_autocast
from pixelreg.models import INFERENCE_CHUNK, resolve_precision

__all__ = ["DEFAULT_BANDS", "DEFAULT_NORM", "FourierMap", "BandMasks", "fourier_basis", "fourier_frequencies",
           "fourier_error_map", "band_masks", "band_errors"]

# Low band: radial frequency <= 1/7 cycles/pixel (periods of 7 pixels or more: at most 4 cycles across a 28-pixel
# image, the scale of a garment's silhouette); high band: >= 1/3 cycles/pixel (periods of 3 pixels or less, next to
# the 2-pixel Nyquist limit: texture and edge detail). The gap between them keeps the two bands apart.
DEFAULT_BANDS = (1 / 7, 1 / 3)

# Yin et al. used ||perturbation||_2 = 4 per channel on 32x32 CIFAR images in [0, 1], an RMS of 4/32 = 0.125 per
# pixel; the same per-pixel RMS on a 28x28 image is 0.125 * 28 = 3.5.
DEFAULT_NORM = 3.5


def _check_size(size) -> int:
    if isinstance(size, bool) or not isinstance(size, int) or size < 1:
        raise ConfigError("size", size, "a positive integer (the side of a square image)")
    return size


def _frequency_range(size: int) -> tuple[int, int]:
    lo = -(size // 2)
    return lo, lo + size - 1


def fourier_frequencies(size: int) -> torch.Tensor:
    """(size,) int64: the frequency (cycles per image) of each row/column of a centred map, −size//2 first."""
    _check_size(size)
    lo, hi = _frequency_range(size)
    return torch.arange(lo, hi + 1)


def _mirror(size: int, u: int, v: int) -> tuple[int, int]:
    """The conjugate partner (−u, −v) of (u, v), wrapped into the centred range."""
    lo = -(size // 2)
    return (-u - lo) % size + lo, (-v - lo) % size + lo


def fourier_basis(size: int, u: int, v: int) -> torch.Tensor:
    """The real Fourier basis image U_{u,v} of a ``size`` x ``size`` image.

    Args:
        size: the image side S.
        u, v: vertical and horizontal frequency in cycles per image, in the centred range
            [−S//2, S − S//2 − 1] (see the module docstring).
    Returns:
        (S, S) float64 with unit L2 norm: Re(ifft2(δ_{u,v} + δ_{−u,−v})) normalised. ``fourier_basis(S, 0, 0)``
        is the constant 1/S; U_{u,v} equals U_{−u,−v}; distinct pairs are orthogonal.
    """
    _check_size(size)
    lo, hi = _frequency_range(size)
    for name, f in (("u", u), ("v", v)):
        if isinstance(f, bool) or not isinstance(f, int) or not lo <= f <= hi:
            raise ConfigError(name, f, f"an integer frequency in [{lo}, {hi}] (centred convention, size {size})")
    spectrum = torch.zeros(size, size, dtype=torch.complex128)
    spectrum[u % size, v % size] = 1
    spectrum[-u % size, -v % size] = 1  # the conjugate partner (the same entry for DC and Nyquist frequencies)
    basis = torch.fft.ifft2(spectrum).real
    return basis / basis.norm()


@dataclass(frozen=True)
class FourierMap:
    """A Fourier sensitivity map.

    errors: (S, S) float64 error rates in the centred layout (``errors[i, j]``: frequency (i − S//2, j − S//2)).
    clean_error: the error rate on the unperturbed images. norm: the perturbation's L2 norm per channel.
    n_images: images per frequency. precision: "fp32" or "bf16" (after resolving "auto").
    """

    errors: torch.Tensor
    clean_error: float
    norm: float
    n_images: int
    precision: str

    @property
    def size(self) -> int:
        return self.errors.shape[-1]

    @property
    def frequencies(self) -> torch.Tensor:
        return fourier_frequencies(self.size)


def _check_images(images: torch.Tensor) -> torch.Tensor:
    """(N, C, S, S) float32 in [0, 1] from uint8 or float images."""
    if not isinstance(images, torch.Tensor) or images.ndim != 4:
        raise ConfigError("images", getattr(images, "shape", type(images).__name__),
                          "a tensor of shape (N, C, H, W)")
    n, _, h, w = images.shape
    if n == 0:
        raise ConfigError("images", tuple(images.shape), "at least one image")
    if h != w:
        raise ConfigError("images", tuple(images.shape), "square images (H == W)")
    if images.dtype == torch.uint8:
        return images.float() / 255
    if not images.is_floating_point():
        raise ConfigError("images", images.dtype, "uint8 in [0, 255] or float in [0, 1]")
    if not torch.isfinite(images).all() or images.min() < 0 or images.max() > 1:
        raise ConfigError("images", f"float in [{float(images.min()):.3g}, {float(images.max()):.3g}]",
                          "float images with finite values in [0, 1] (or uint8)")
    return images.float()


def _check_labels(labels, n: int) -> torch.Tensor:
    if not isinstance(labels, torch.Tensor) or labels.ndim != 1 or len(labels) != n:
        raise ConfigError("labels", getattr(labels, "shape", type(labels).__name__),
                          f"a 1-D tensor with one label per image ({n})")
    if labels.is_floating_point() or labels.is_complex() or labels.dtype == torch.bool:
        raise ConfigError("labels", labels.dtype, "integer class labels")
    return labels.long()


def _check_norm(norm) -> float:
    if isinstance(norm, bool) or not isinstance(norm, (int, float)) or not math.isfinite(norm) or norm <= 0:
        raise ConfigError("norm", norm, "a finite L2 norm > 0 (per channel, images in [0, 1])")
    return float(norm)


def _generator(generator: torch.Generator | int | None) -> torch.Generator:
    if isinstance(generator, torch.Generator):
        return generator
    if generator is None:
        generator = 0
    if isinstance(generator, bool) or not isinstance(generator, int):
        raise ConfigError("generator", generator, "a torch.Generator or an integer seed")
    return torch.Generator().manual_seed(generator)


def _pairs(size: int) -> list[tuple[int, int, int, int]]:
    """One (i, j, i', j') per pair {(u, v), (−u, −v)}: centred indices of the frequency and of its partner."""
    lo, _ = _frequency_range(size)
    seen, out = set(), []
    for i in range(size):
        for j in range(size):
            if (i, j) in seen:
                continue
            mu, mv = _mirror(size, i + lo, j + lo)
            i2, j2 = mu - lo, mv - lo
            seen.update({(i, j), (i2, j2)})
            out.append((i, j, i2, j2))
    return out


def fourier_error_map(model: nn.Module, images: torch.Tensor, labels: torch.Tensor, norm: float = DEFAULT_NORM,
                      generator: torch.Generator | int | None = None, precision: str = "fp32",
                      chunk: int = INFERENCE_CHUNK) -> FourierMap:
    """Error rate of ``model`` under Fourier-basis perturbations of L2 norm ``norm``, for every frequency.

    Args:
        model: (B, C, S, S) float in [0, 1] -> logits; run in eval mode without gradients (its mode is restored).
        images: (N, C, S, S) uint8 in [0, 255] or float in [0, 1], square.
        labels: (N,) integer labels.
        norm: L2 norm of each perturbation per channel (> 0), in [0, 1] pixel units.
        generator: a ``torch.Generator`` (its state advances) or an integer seed (default 0) for the signs.
        precision: "fp32", "bf16" (bfloat16 autocast for the forward passes) or "auto".
        chunk: images per forward pass (perturbations of several frequencies share a batch).
    Returns:
        :class:`FourierMap` with ``errors`` (S, S) in the centred layout and the clean error rate.

    Cost: (S² + 4)/2 frequency pairs (S even) times N forward passes, e.g. 394 × N for 28x28 images.
    """
    x = _check_images(images)
    n, c, s, _ = x.shape
    y = _check_labels(labels, n)
    norm = _check_norm(norm)
    if isinstance(chunk, bool) or not isinstance(chunk, int) or chunk < 1:
        raise ConfigError("chunk", chunk, "a positive number of images per forward pass")
    param = next(iter(model.parameters()), None)
    device = param.device if param is not None else torch.device("cpu")
    precision = resolve_precision(precision, device)
    g = _generator(generator)

    pairs = _pairs(s)
    lo, _ = _frequency_range(s)
    bases = torch.stack([fourier_basis(s, i + lo, j + lo) for i, j, _, _ in pairs]).float().to(device)
    signs = torch.randint(0, 2, (len(pairs), n), generator=g, device=g.device).to(device, torch.float32) * 2 - 1
    x, y = x.to(device), y.to(device)

    wrong = torch.zeros(len(pairs), dtype=torch.float64, device=device)
    was_training = model.training
    model.eval()
    try:
        with torch.inference_mode(), bf16_autocast(device, enabled=precision == "bf16"):
            clean_wrong = 0
            for start in range(0, n, chunk):
                clean_wrong += int((model(x[start:start + chunk]).argmax(1) != y[start:start + chunk]).sum())
            total = len(pairs) * n
            for start in range(0, total, chunk):
                t = torch.arange(start, min(start + chunk, total), device=device)
                f, k = t // n, t % n
                amp = (signs[f, k] * norm).view(-1, 1, 1, 1)
                xb = (x[k] + amp * bases[f].unsqueeze(1)).clamp_(0, 1)
                miss = (model(xb).argmax(1) != y[k]).double()
                wrong.index_add_(0, f, miss)
    finally:
        model.train(was_training)

    rates = (wrong / n).cpu()
    errors = torch.empty(s, s, dtype=torch.float64)
    for (i, j, i2, j2), e in zip(pairs, rates.tolist()):
        errors[i, j] = errors[i2, j2] = e
    return FourierMap(errors=errors, clean_error=clean_wrong / n, norm=norm, n_images=n, precision=precision)


class BandMasks(NamedTuple):
    """Boolean (S, S) masks in the centred layout: ``low`` (0 < r <= low cutoff), ``high`` (r >= high cutoff)."""

    low: torch.Tensor
    high: torch.Tensor


def band_masks(size: int, low_cutoff: float = DEFAULT_BANDS[0], high_cutoff: float = DEFAULT_BANDS[1]) -> BandMasks:
    """Low- and high-frequency bands of a centred ``size`` x ``size`` map, by radial frequency r in cycles/pixel.

    low: 0 < r <= ``low_cutoff`` (DC excluded: a constant shift is brightness, not a spatial frequency);
    high: r >= ``high_cutoff``. r = sqrt(u² + v²) / size reaches sqrt(2)/2 at the corners.
    """
    _check_size(size)
    r_max = math.sqrt(2) / 2
    for name, cut in (("low_cutoff", low_cutoff), ("high_cutoff", high_cutoff)):
        if isinstance(cut, bool) or not isinstance(cut, (int, float)) or not 0 < cut <= r_max:
            raise ConfigError(name, cut, f"a radial frequency in (0, {r_max:.3f}] cycles/pixel")
    if low_cutoff >= high_cutoff:
        raise ConfigError("low_cutoff", low_cutoff, f"below high_cutoff={high_cutoff}")
    f = fourier_frequencies(size).double() / size
    r = torch.sqrt(f[:, None] ** 2 + f[None, :] ** 2)
    low, high = (r > 0) & (r <= low_cutoff + 1e-12), r >= high_cutoff - 1e-12
    if not low.any() or not high.any():
        raise ConfigError("size", size, f"an image large enough to have frequencies in both bands "
                                        f"(r <= {low_cutoff:.3g} and r >= {high_cutoff:.3g} cycles/pixel)")
    return BandMasks(low, high)


def band_errors(errors: torch.Tensor | FourierMap, masks: BandMasks | None = None) -> tuple[float, float]:
    """(mean error over the low band, mean error over the high band) of a map; ``masks`` default to
    ``band_masks(S)`` with :data:`DEFAULT_BANDS`."""
    if isinstance(errors, FourierMap):
        errors = errors.errors
    if not isinstance(errors, torch.Tensor) or errors.ndim != 2 or errors.shape[0] != errors.shape[1]:
        raise ConfigError("errors", getattr(errors, "shape", type(errors).__name__), "a square (S, S) map")
    if masks is None:
        masks = band_masks(errors.shape[0])
    low, high = masks
    if low.shape != errors.shape or high.shape != errors.shape:
        raise ConfigError("masks", (tuple(low.shape), tuple(high.shape)),
                          f"masks of the map's shape {tuple(errors.shape)}")
    return float(errors[low].double().mean()), float(errors[high].double().mean())
