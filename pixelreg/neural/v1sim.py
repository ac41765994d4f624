"""A simulated mouse-V1 population: Gabor simple cells and energy-model complex cells.

Li et al. (2019) recorded mouse V1 with two-photon calcium imaging while showing 36x64 grayscale
ImageNet patches; neither those recordings nor their trained predictors are public. This module is a
stand-in with the same interface as real data (``pixelreg.neural.predictor.NeuralData``): every result built on
it is a result on a *simulated* population and says so.

Parameter ranges (all in degrees of visual angle; see ``DEG_PER_PIXEL`` for the conversion):

- **Pixel-to-degree assumption.** Li et al.'s stimuli filled the monitor, roughly 100-120 degrees
  wide. We take 64 px = 120 deg, i.e. ``DEG_PER_PIXEL = 1.875`` for both axes (square pixels), so
  the 36 px height spans 67.5 deg. This is an assumption, not a number from the paper.
- **Spatial frequency.** Mouse V1 prefers low spatial frequencies: Niell & Stryker (2008, J Neurosci
  28:7520, "Highly selective receptive fields in mouse visual cortex") report preferred SFs mostly
  between ~0.02 and ~0.08 cycles/deg with a peak near 0.04 c/deg. We draw log-normal SFs with median
  0.04 c/deg and log-sd ln(2)/2, clipped to [0.015, 0.12] c/deg (period 6.7 px at 0.08 c/deg, far
  from the 2 px Nyquist limit).
- **Receptive-field size.** RFs of roughly 10-20 deg (same source, order of magnitude): the Gaussian
  envelope's sigma across the bars is uniform in [5, 10] deg (the +-1 sigma region spans 10-20 deg),
  and the envelope is elongated along the bars by 1/aspect with aspect uniform in [0.5, 1].
- **Orientation.** Uniform on [0, 180) deg; mouse V1 has no orientation map ("salt-and-pepper",
  Ohki et al. 2005) and fairly broad tuning, which the low number of cycles per RF reproduces.
- **RF positions.** Li et al. placed the monitor so the recorded population's RFs were near its
  centre; centres are Gaussian around the image centre (sd 20 deg horizontally, 12 deg vertically),
  clipped to the image.
- **Cell types.** A fraction ``simple_fraction`` (default 0.5) of linear simple cells
  (half-wave-rectifying output of one Gabor, phase uniform in [0, 360) deg); the rest are
  Adelson & Bergen (1985) energy-model complex cells (the norm of a quadrature Gabor pair), which
  Niell & Stryker also find in mouse V1 (F1/F0 classification).
- **Luminance.** Gabors keep their DC component by default (``zero_dc=False``), see ``SimulatedV1``.
- **Output.** The drive of every cell is z-scored on a fixed calibration set of 1/f ("pink") noise
  images, so all cells see comparable drive statistics, then
  ``rate = baseline + gain * softplus(drive - threshold)`` with per-neuron gain log-normal (median
  1.5 counts/trial), threshold uniform in [0, 1.5] (sparse-ish responses) and baseline uniform in
  [0.05, 0.3].
- **Trial-to-trial noise.** Doubly stochastic Poisson: counts ~ Poisson(rate * g), where g is a
  mean-one log-normal gain with a private part (per neuron, trial and image; log-sd
  ``private_gain_sd``) and a shared part (per trial and image, common to all neurons; log-sd
  ``shared_gain_sd``), as in the modulated-Poisson model of Goris, Movshon & Simoncelli (2014, Nat
  Neurosci). This gives the super-Poisson variability (Fano factor > 1) and the weak noise
  correlations of cortex. Counts are returned as float32 (deconvolved calcium in Li et al. is
  continuous and non-negative; the predictor's Poisson loss accepts both).
"""
from __future__ import annotations

import math

import torch
import torch.nn.functional as F

from pixelreg.errors import ConfigError

__all__ = ["SimulatedV1", "DEG_PER_PIXEL", "gratings"]

DEG_PER_PIXEL = 1.875  # assumed: 64 px span 120 deg of visual angle (see module docstring)


def _as_float_images(images: torch.Tensor) -> torch.Tensor:
    """(N, 1, H, W) uint8 or float in [0, 1] -> (N, H*W) float32 in [0, 1]."""
    images = torch.as_tensor(images)
    if images.dim() == 3:
        images = images[:, None]
    if images.dim() != 4 or images.shape[1] != 1:
        raise ConfigError("images", tuple(images.shape), "a (N, 1, H, W) grayscale tensor")
    x = images.float() / 255 if images.dtype == torch.uint8 else images.float()
    return x.flatten(1)


def gratings(orientations_deg, sf_cpd, phases_deg, image_shape=(36, 64), contrast: float = 1.0,
             deg_per_pixel: float = DEG_PER_PIXEL) -> torch.Tensor:
    """Full-field static sinusoidal gratings, every combination of the three parameter lists.

    The grating is ``0.5 + 0.5 * contrast * cos(2 pi f u + phase)`` with ``u`` the coordinate (deg)
    across the bars, in the same coordinates and convention as ``SimulatedV1``'s Gabors, so a cell
    prefers the grating with its own orientation, SF and (simple cells) phase.

    Returns:
        (n_ori * n_sf * n_phase, 1, H, W) float32 in [0, 1], orientation slowest, phase fastest.
    """
    H, W = image_shape
    y, x = _grid(H, W, deg_per_pixel)
    th = torch.deg2rad(torch.as_tensor(orientations_deg, dtype=torch.float32))
    f = torch.as_tensor(sf_cpd, dtype=torch.float32)
    ph = torch.deg2rad(torch.as_tensor(phases_deg, dtype=torch.float32))
    u = x[None] * torch.cos(th)[:, None, None] + y[None] * torch.sin(th)[:, None, None]  # (O, H, W)
    arg = 2 * math.pi * f[None, :, None, None, None] * u[:, None, None] + ph[None, None, :, None, None]
    g = 0.5 + 0.5 * contrast * torch.cos(arg)  # (O, S, P, H, W)
    return g.reshape(-1, 1, H, W)


def _grid(H: int, W: int, deg_per_pixel: float):
    """Pixel-centre coordinates in degrees, origin at the image centre, y down. Each (H, W)."""
    ys = (torch.arange(H, dtype=torch.float32) - (H - 1) / 2) * deg_per_pixel
    xs = (torch.arange(W, dtype=torch.float32) - (W - 1) / 2) * deg_per_pixel
    return torch.meshgrid(ys, xs, indexing="ij")


class SimulatedV1:
    """A seeded population of simulated mouse-V1 neurons (see the module docstring for the ranges).

    Args:
        n_neurons: M, number of neurons.
        seed: draws every parameter (a ``torch.Generator`` seeded with it; no global RNG).
        image_shape: (H, W) of the stimuli, default Li et al.'s 36 x 64.
        simple_fraction: share of simple cells; the rest are complex cells.
        deg_per_pixel: visual angle of one pixel.
        private_gain_sd, shared_gain_sd: log-sd of the private and shared multiplicative trial gains.
        zero_dc: remove each Gabor's response to uniform luminance. Default False: a standard Gabor
            with ~0.3 cycles per envelope sigma is not zero-mean, so even-phase cells respond to
            local luminance (as mouse V1 cells with unbalanced ON/OFF subregions do). This choice
            decides Fig. 1 on simulated data, because centred pixel similarity is dominated by
            luminance differences. Measured on 500 natural patches (seed 0, 1000 neurons), Pearson r
            of noise-free response similarity with pixel similarity: 0.29 with the DC kept (simple
            cells alone 0.81, complex cells alone 0.16), 0.02 with ``zero_dc=True``.

    Attributes (all (M,) tensors): ``is_complex`` bool, ``orientation`` (deg, [0, 180)), ``sf``
    (cycles/deg), ``phase`` (deg), ``sigma`` (deg), ``aspect``, ``x0``/``y0`` (deg from the image
    centre, y down), ``gain``, ``threshold``, ``baseline``. ``filters`` is (2, M, H*W): the even and
    the odd (quadrature) Gabor of every cell, zero-mean and unit-norm.
    """

    def __init__(self, n_neurons: int = 1000, seed: int = 0, image_shape: tuple[int, int] = (36, 64),
                 simple_fraction: float = 0.5, deg_per_pixel: float = DEG_PER_PIXEL,
                 private_gain_sd: float = 0.4, shared_gain_sd: float = 0.15, zero_dc: bool = False):
        if not isinstance(n_neurons, int) or n_neurons < 1:
            raise ConfigError("n_neurons", n_neurons, "an integer >= 1")
        if not 0.0 <= simple_fraction <= 1.0:
            raise ConfigError("simple_fraction", simple_fraction, "a float in [0, 1]")
        self.n_neurons, self.seed, self.image_shape = n_neurons, seed, tuple(image_shape)
        self.deg_per_pixel, self.simple_fraction = deg_per_pixel, simple_fraction
        self.private_gain_sd, self.shared_gain_sd = private_gain_sd, shared_gain_sd
        self.zero_dc = zero_dc
        M, (H, W) = n_neurons, self.image_shape
        g = torch.Generator().manual_seed(seed)

        def uniform(lo, hi):
            return lo + (hi - lo) * torch.rand(M, generator=g)

        self.is_complex = torch.rand(M, generator=g) >= simple_fraction
        self.orientation = uniform(0.0, 180.0)
        self.sf = (math.log(0.04) + math.log(2) / 2 * torch.randn(M, generator=g)).exp().clamp(0.015, 0.12)
        self.phase = uniform(0.0, 360.0)
        self.sigma = uniform(5.0, 10.0)
        self.aspect = uniform(0.5, 1.0)
        half_w, half_h = (W - 1) / 2 * deg_per_pixel, (H - 1) / 2 * deg_per_pixel
        self.x0 = (20.0 * torch.randn(M, generator=g)).clamp(-half_w, half_w)
        self.y0 = (12.0 * torch.randn(M, generator=g)).clamp(-half_h, half_h)
        self.gain = (math.log(1.5) + 0.5 * torch.randn(M, generator=g)).exp()
        self.threshold = uniform(0.0, 1.5)
        self.baseline = uniform(0.05, 0.3)
        self.filters = self._gabors()
        # z-scoring statistics of the drive on seeded pink-noise images (independent of any data set)
        calib = _pink_noise(512, self.image_shape, torch.Generator().manual_seed(seed + 1))
        d = self._drive_raw(calib.flatten(1))
        self._mu, self._sd = d.mean(0), d.std(0).clamp_min(1e-6)

    def __repr__(self) -> str:
        return (f"SimulatedV1(n_neurons={self.n_neurons}, seed={self.seed}, image_shape={self.image_shape}, "
                f"simple={int((~self.is_complex).sum())}, complex={int(self.is_complex.sum())}, "
                f"deg_per_pixel={self.deg_per_pixel})")

    def _gabors(self) -> torch.Tensor:
        H, W = self.image_shape
        y, x = _grid(H, W, self.deg_per_pixel)
        th = torch.deg2rad(self.orientation)[:, None, None]
        dx, dy = x[None] - self.x0[:, None, None], y[None] - self.y0[:, None, None]
        u = dx * torch.cos(th) + dy * torch.sin(th)  # across the bars
        v = -dx * torch.sin(th) + dy * torch.cos(th)  # along the bars
        s = self.sigma[:, None, None]
        env = torch.exp(-0.5 * (u / s) ** 2 - 0.5 * (v * self.aspect[:, None, None] / s) ** 2)
        carrier = 2 * math.pi * self.sf[:, None, None] * u + torch.deg2rad(self.phase)[:, None, None]
        out = []
        for c in (torch.cos(carrier), torch.sin(-carrier)):  # even and odd: cos(a), cos(a + 90 deg)
            k = env * c
            if self.zero_dc:  # subtracting a multiple of the envelope keeps the RF local
                k = k - env * (k.sum((1, 2), keepdim=True) / env.sum((1, 2), keepdim=True))
            out.append(k.flatten(1) / k.flatten(1).norm(dim=1, keepdim=True).clamp_min(1e-12))
        return torch.stack(out)  # (2, M, H*W)

    def _drive_raw(self, x: torch.Tensor) -> torch.Tensor:
        """(N, H*W) float -> (N, M) raw drive: linear (simple) or quadrature energy norm (complex)."""
        x = x - 0.5
        even = x @ self.filters[0].T
        odd = x @ self.filters[1].T
        return torch.where(self.is_complex, torch.sqrt(even ** 2 + odd ** 2), even)

    def rates(self, images: torch.Tensor, batch_size: int = 2048) -> torch.Tensor:
        """Noise-free mean responses.

        Args:
            images: (N, 1, H, W) uint8, or float in [0, 1].

        Returns:
            (N, M) float32, strictly positive mean counts per trial.
        """
        x = _as_float_images(images)
        if x.shape[1] != self.filters.shape[2]:
            raise ConfigError("images", tuple(images.shape), f"(N, 1, {self.image_shape[0]}, {self.image_shape[1]})")
        out = []
        for b in x.split(batch_size):
            z = (self._drive_raw(b) - self._mu) / self._sd
            out.append(self.baseline + self.gain * F.softplus(z - self.threshold))
        return torch.cat(out)

    def responses(self, images: torch.Tensor, trials: int = 1,
                  generator: torch.Generator | None = None) -> torch.Tensor:
        """Noisy single-trial responses (modulated Poisson counts, as float).

        Args:
            images: (N, 1, H, W) uint8, or float in [0, 1].
            trials: T, repeats of every image.
            generator: the noise source; default a generator seeded with ``seed + 2``.

        Returns:
            (T, N, M) float32, non-negative integers.
        """
        if generator is None:
            generator = torch.Generator().manual_seed(self.seed + 2)
        lam = self.rates(images)
        T, (N, M) = trials, lam.shape
        private = torch.randn(T, N, M, generator=generator) * self.private_gain_sd
        shared = torch.randn(T, N, 1, generator=generator) * self.shared_gain_sd
        # mean-one log-normal gains: E[exp(s z - s^2 / 2)] = 1
        gain = torch.exp(private - self.private_gain_sd ** 2 / 2 + shared - self.shared_gain_sd ** 2 / 2)
        return torch.poisson(lam[None] * gain, generator=generator)


def _pink_noise(n: int, image_shape: tuple[int, int], generator: torch.Generator) -> torch.Tensor:
    """(n, 1, H, W) float images with a 1/f amplitude spectrum, mean 0.5, pixel sd ~0.2, in [0, 1]."""
    H, W = image_shape
    fy = torch.fft.fftfreq(H)[:, None]
    fx = torch.fft.rfftfreq(W)[None, :]
    amp = 1.0 / torch.sqrt(fx ** 2 + fy ** 2).clamp_min(1.0 / max(H, W))
    amp[0, 0] = 0.0
    spec = torch.complex(torch.randn(n, H, fx.shape[1], generator=generator),
                         torch.randn(n, H, fx.shape[1], generator=generator)) * amp
    img = torch.fft.irfft2(spec, s=(H, W))
    img = img / img.flatten(1).std(dim=1)[:, None, None]
    return (0.5 + 0.2 * img).clamp(0, 1)[:, None]
