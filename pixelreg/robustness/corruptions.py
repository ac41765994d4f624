"""Common corruptions (Hendrycks & Dietterich 2019, "Benchmarking Neural Network Robustness to Common
Corruptions and Perturbations") for small grayscale images such as 28x28 Fashion-MNIST, at five severities.

Each corruption is ``fn(images, severity, seed=0) -> images``: ``images`` uint8 (N, 1, H, W), ``severity`` in
1..5, ``seed`` an integer or a ``torch.Generator`` for the random ones (the same seed gives the same output;
the random draws do not depend on the severity, so severities of one seed share their noise). Every image of a
batch gets its own draw. :data:`CORRUPTIONS` lists them in order; :func:`corrupt` calls one by name.

Which corruptions, and why. The definitions and severity parameters are those of CIFAR-10-C
(``make_cifar_c.py`` in github.com/hendrycks/robustness, for 32x32 images), the closest published setting to
28x28: the per-pixel parameters (noise levels, blur sigmas and disk radii, brightness shift, contrast factor,
fog strength, JPEG quality) are used unchanged, because the pixel scale of the objects is about the same
(28 vs 32 pixels) and the blur kernels are discrete (rescaling a disk radius by 28/32 would change its pixel
support, not its size); the size-relative ones are applied relative to the image (pixelate's resize fraction,
zoom factors, the fog's plasma fractal drawn at the next power of two, 32, and cropped). The PyPI package
``imagecorruptions`` uses the ImageNet-C parameters (224x224), much stronger at 28 pixels, so it is not the
reference here. Kept: the three noises (gaussian, shot, impulse) and speckle noise, defocus, zoom and
Gaussian blur, fog, brightness, contrast, pixelate and JPEG: all defined for one channel and meaningful at
28x28. Left out of Hendrycks' 15 (+4): frost (needs the frost photographs shipped with the code), snow and
motion blur (defined through ImageMagick's motion blur, which a reimplementation would not reproduce; snow
also brightens through an RGB-to-gray mix), spatter and saturate (colour-specific: water and mud colours,
HSV saturation), glass blur (a sequential pixel-swapping loop, slow and defined pixel by pixel for 32x32), and
elastic transform (a geometric deformation through OpenCV's affine warp; optional, not needed here).

Quantisation: as in Hendrycks' code (``np.uint8`` of a float in [0, 255]), float results are truncated to
integers (with 1e-4 grey levels of slack, so that floating-point error cannot turn an exact integer into the
one below); pixelate rounds as Pillow's resampling does; JPEG is the codec's output.

Implementation: torch and torchvision (``gaussian_blur``, ``adjust_contrast``, ``jpeg``; torchvision's
``adjust_brightness`` multiplies, while Hendrycks' brightness adds to the HSV value, so it is not used); zoom
blur's linear zoom is ``F.interpolate(align_corners=True)``, which is what ``scipy.ndimage.zoom(order=1)``
computes. Differences from the reference: Gaussian blur pads by reflection (torchvision) where scikit-image
repeats the edge pixel (negligible on Fashion-MNIST's black borders); JPEG uses torchvision's libjpeg where the
reference saves through Pillow (the tests find them identical; torchvision 0.29 warns that its JPEG codec is
deprecated in favour of TorchCodec). Checked against the reference code: pixelate, JPEG and the plasma fractal
are identical, defocus and zoom blur within one grey level.
"""
from __future__ import annotations

import math
from typing import Callable

import numpy as np
import torch
import torch.nn.functional as F

from pixelreg.errors import ConfigError

__all__ = ["SEVERITIES", "PARAMS", "CORRUPTIONS", "corrupt", "plasma_fractal", "gaussian_noise", "shot_noise",
           "impulse_noise", "speckle_noise", "defocus_blur", "zoom_blur", "gaussian_blur", "fog", "brightness",
           "contrast", "pixelate", "jpeg_compression"]

SEVERITIES = (1, 2, 3, 4, 5)

# CIFAR-10-C's parameters (make_cifar_c.py), one per severity 1..5. Read at call time.
PARAMS: dict[str, tuple] = {
    "gaussian_noise": (0.04, 0.06, 0.08, 0.09, 0.10),  # noise standard deviation
    "shot_noise": (500, 250, 100, 75, 50),  # photons per unit intensity (Poisson rate x*c, divided by c)
    "impulse_noise": (0.01, 0.02, 0.03, 0.05, 0.07),  # fraction of pixels set to 0 or 1 (salt & pepper)
    "speckle_noise": (0.06, 0.10, 0.12, 0.16, 0.20),  # std of the multiplicative noise
    "defocus_blur": ((0.3, 0.4), (0.4, 0.5), (0.5, 0.6), (1, 0.2), (1.5, 0.1)),  # disk radius, alias blur sigma
    "zoom_blur": ((1, 1.06), (1, 1.11), (1, 1.16), (1, 1.21), (1, 1.26)),  # np.arange(start, stop, 0.01)
    "gaussian_blur": (0.4, 0.6, 0.7, 0.8, 1.0),  # sigma in pixels
    "fog": ((0.2, 3), (0.5, 3), (0.75, 2.5), (1, 2), (1.5, 1.75)),  # fog strength, fractal wibble decay
    "brightness": (0.05, 0.1, 0.15, 0.2, 0.3),  # added to the value (HSV V = the grey level)
    "contrast": (0.75, 0.5, 0.4, 0.3, 0.15),  # factor towards the image mean
    "pixelate": (0.95, 0.9, 0.85, 0.75, 0.65),  # box-resize to int(c * size) and back
    "jpeg_compression": (80, 65, 58, 50, 40),  # JPEG quality
}


# ---------------------------------------------------------------------------------------------------- helpers

def _check(images, severity) -> torch.Tensor:
    if not isinstance(images, torch.Tensor) or images.ndim != 4 or images.dtype != torch.uint8:
        raise ConfigError("images", getattr(images, "shape", type(images).__name__),
                          "a uint8 tensor of shape (N, 1, H, W)")
    if images.shape[1] != 1:
        raise ConfigError("images", tuple(images.shape), "grayscale images (N, 1, H, W): one channel")
    if min(images.shape[-2:]) < 8:
        raise ConfigError("images", tuple(images.shape), "images of at least 8x8 pixels")
    if isinstance(severity, bool) or not isinstance(severity, (int, np.integer)) or severity not in SEVERITIES:
        raise ConfigError("severity", severity, f"an integer in {SEVERITIES[0]}..{SEVERITIES[-1]}")
    return images


def _param(name: str, severity: int):
    return PARAMS[name][int(severity) - 1]


def _generator(seed: int | torch.Generator) -> torch.Generator:
    if isinstance(seed, torch.Generator):
        return seed
    if isinstance(seed, bool) or not isinstance(seed, (int, np.integer)):
        raise ConfigError("seed", seed, "an integer seed or a torch.Generator")
    return torch.Generator().manual_seed(int(seed))


def _unit(images: torch.Tensor) -> torch.Tensor:
    return images.to(torch.float64) / 255


def _to_uint8(x: torch.Tensor) -> torch.Tensor:
    """[0, 1] floats -> uint8 by truncation, as ``np.uint8(np.clip(x, 0, 1) * 255)`` in the reference."""
    return torch.floor(x.clamp(0, 1) * 255 + 1e-4).clamp_(0, 255).to(torch.uint8)


def _box_matrix(n_in: int, n_out: int) -> torch.Tensor:
    """(n_out, n_in) weights of Pillow's BOX resampling along one axis.

    Output pixel i covers the input interval centred at (i + 0.5)·n_in/n_out of width max(n_in/n_out, 1); the
    input pixels whose centres fall in it (half-open on the left, as Pillow's box filter) get equal weights.
    """
    scale = n_in / n_out
    support = max(scale, 1.0)
    centre = (torch.arange(n_out, dtype=torch.float64) + 0.5) * scale
    pos = (torch.arange(n_in, dtype=torch.float64) + 0.5)[None, :] - centre[:, None]
    w = ((pos > -support / 2) & (pos <= support / 2)).double()
    return w / w.sum(1, keepdim=True)


def _box_resize(images: torch.Tensor, h: int, w: int) -> torch.Tensor:
    """uint8 (N, C, H, W) -> (N, C, h, w) like ``PIL.Image.resize((w, h), Image.BOX)``: the horizontal pass,
    rounded to uint8, then the vertical pass, rounded."""
    x = images.to(torch.float64)
    x = torch.floor(x @ _box_matrix(x.shape[-1], w).T + 0.5).clamp_(0, 255)
    x = torch.floor(_box_matrix(x.shape[-2], h) @ x + 0.5).clamp_(0, 255)
    return x.to(torch.uint8)


def _conv_same(x: torch.Tensor, kernel: torch.Tensor) -> torch.Tensor:
    """Correlation of (N, 1, H, W) with an odd (k, k) kernel, reflect-101 borders (cv2.filter2D's default)."""
    p = kernel.shape[-1] // 2
    return F.conv2d(F.pad(x, (p, p, p, p), mode="reflect"), kernel[None, None].to(x.dtype))


def _gaussian_kernel1d(ksize: int, sigma: float) -> torch.Tensor:
    t = torch.arange(ksize, dtype=torch.float64) - (ksize - 1) / 2
    k = torch.exp(-t ** 2 / (2 * sigma ** 2))
    return k / k.sum()


def _disk(radius: float, alias_blur: float) -> torch.Tensor:
    """The reference's anti-aliased disk kernel: a binary disk on a (2L+1)² grid (L = 8, or the radius when
    larger), normalised, then blurred by a 3x3 (5x5 for large radii) Gaussian of sigma ``alias_blur``
    (cv2.GaussianBlur, reflect-101 borders). All-zero border rows and columns are trimmed."""
    half = 8 if radius <= 8 else int(radius)
    ksize = 3 if radius <= 8 else 5
    t = torch.arange(-half, half + 1, dtype=torch.float64)
    disk = ((t[:, None] ** 2 + t[None, :] ** 2) <= radius ** 2).double()
    disk /= disk.sum()
    g = _gaussian_kernel1d(ksize, alias_blur)
    kernel = _conv_same(disk[None, None], g[:, None] * g[None, :])[0, 0]
    keep = kernel.abs().sum(0) > 0
    lo, hi = int(keep.nonzero().min()), int(keep.nonzero().max())
    r = max(half - lo, hi - half)
    return kernel[half - r:half + r + 1, half - r:half + r + 1]


def plasma_fractal(n: int, mapsize: int = 32, wibbledecay: float = 3, seed: int | torch.Generator = 0
                   ) -> torch.Tensor:
    """(n, mapsize, mapsize) float64 height maps in [0, 1] from the diamond-square algorithm, as in the
    reference's ``plasma_fractal`` (itself after github.com/FLHerne/mapgen), one map per image, with the
    random offsets drawn from ``seed`` (an integer or a torch.Generator). ``mapsize`` must be a power of two.
    """
    if isinstance(mapsize, bool) or not isinstance(mapsize, int) or mapsize < 2 or mapsize & (mapsize - 1):
        raise ConfigError("mapsize", mapsize, "a power of two >= 2")
    g = _generator(seed)
    m = torch.zeros(n, mapsize, mapsize, dtype=torch.float64)
    step, wibble = mapsize, 100.0

    def wibbled_mean(a: torch.Tensor) -> torch.Tensor:
        u = torch.rand(a.shape, generator=g, dtype=torch.float64) * (2 * wibble) - wibble
        return a / 4 + wibble * u

    while step >= 2:
        half = step // 2
        # squares: the centre of each square of corners gets their mean plus a random offset
        corners = m[:, 0::step, 0::step]
        acc = corners + torch.roll(corners, -1, 1)
        acc = acc + torch.roll(acc, -1, 2)
        m[:, half::step, half::step] = wibbled_mean(acc)
        # diamonds: the edge midpoints get the mean of their four diamond neighbours plus a random offset
        dr = m[:, half::step, half::step]
        ul = m[:, 0::step, 0::step]
        lt = dr + torch.roll(dr, 1, 1) + ul + torch.roll(ul, -1, 2)
        m[:, 0::step, half::step] = wibbled_mean(lt)
        tt = dr + torch.roll(dr, 1, 2) + ul + torch.roll(ul, -1, 1)
        m[:, half::step, 0::step] = wibbled_mean(tt)
        step //= 2
        wibble /= wibbledecay
    m -= m.amin((1, 2), keepdim=True)
    return m / m.amax((1, 2), keepdim=True)


# ---------------------------------------------------------------------------------------------- corruptions

def gaussian_noise(images: torch.Tensor, severity: int, seed: int | torch.Generator = 0) -> torch.Tensor:
    """x + N(0, c²), clipped; c = 0.04 .. 0.10."""
    _check(images, severity)
    x = _unit(images)
    z = torch.randn(x.shape, generator=_generator(seed), dtype=torch.float64)
    return _to_uint8(x + _param("gaussian_noise", severity) * z)


def shot_noise(images: torch.Tensor, severity: int, seed: int | torch.Generator = 0) -> torch.Tensor:
    """Poisson(x·c)/c, clipped; c = 500 .. 50 (fewer photons, more noise)."""
    _check(images, severity)
    c = _param("shot_noise", severity)
    return _to_uint8(torch.poisson(_unit(images) * c, generator=_generator(seed)) / c)


def impulse_noise(images: torch.Tensor, severity: int, seed: int | torch.Generator = 0) -> torch.Tensor:
    """Salt and pepper (scikit-image's ``random_noise(mode='s&p')``): each pixel is replaced with probability
    c = 0.01 .. 0.07, by 1 or 0 with equal odds."""
    _check(images, severity)
    g = _generator(seed)
    x = _unit(images)
    flipped = torch.rand(x.shape, generator=g, dtype=torch.float64) <= _param("impulse_noise", severity)
    salted = torch.rand(x.shape, generator=g, dtype=torch.float64) <= 0.5
    x = torch.where(flipped & salted, 1.0, torch.where(flipped & ~salted, 0.0, x))
    return _to_uint8(x)


def speckle_noise(images: torch.Tensor, severity: int, seed: int | torch.Generator = 0) -> torch.Tensor:
    """x + x·N(0, c²), clipped; c = 0.06 .. 0.20 (one of Hendrycks' four extra corruptions)."""
    _check(images, severity)
    x = _unit(images)
    z = torch.randn(x.shape, generator=_generator(seed), dtype=torch.float64)
    return _to_uint8(x + x * _param("speckle_noise", severity) * z)


def defocus_blur(images: torch.Tensor, severity: int, seed: int | torch.Generator = 0) -> torch.Tensor:
    """Convolution with the anti-aliased disk (radius, alias sigma) = (0.3, 0.4) .. (1.5, 0.1); reflect-101
    borders as cv2.filter2D. Severities 1-3 are nearly Gaussian 3x3 blurs; 4 a plus-shaped, 5 a 3x3 box."""
    _check(images, severity)
    radius, alias = _param("defocus_blur", severity)
    return _to_uint8(_conv_same(_unit(images), _disk(radius, alias)))


def _clipped_zoom(x: torch.Tensor, factor: float) -> torch.Tensor:
    """(N, 1, H, H) zoomed by ``factor`` about the centre and cropped back to (H, H), as the reference's
    ``clipped_zoom``: the central ceil(H/factor) crop resized to round(crop·factor) pixels by linear interpolation
    (``scipy.ndimage.zoom(order=1)``, whose grid maps corner pixel to corner pixel: align_corners=True)."""
    h = x.shape[-1]
    ch = int(math.ceil(h / factor))
    top = (h - ch) // 2
    size = int(round(ch * factor))
    out = F.interpolate(x[..., top:top + ch, top:top + ch], size=(size, size), mode="bilinear", align_corners=True)
    trim = (size - h) // 2
    return out[..., trim:trim + h, trim:trim + h]


def zoom_blur(images: torch.Tensor, severity: int, seed: int | torch.Generator = 0) -> torch.Tensor:
    """Mean of the image and its centre zooms by 1.00, 1.01, ... up to 1.05 .. 1.25 (needs square images)."""
    _check(images, severity)
    if images.shape[-1] != images.shape[-2]:
        raise ConfigError("images", tuple(images.shape), "square images for zoom_blur")
    start, stop = _param("zoom_blur", severity)
    factors = np.arange(start, stop, 0.01)  # the reference's factors, floating-point steps included
    x = _unit(images).float()  # the reference works in float32 here
    out = torch.zeros_like(x)
    for z in factors:
        out += _clipped_zoom(x, float(z))
    return _to_uint8(((x + out) / (len(factors) + 1)).double())


def _tv():
    """torchvision's v2 functional transforms, imported on first use: importing torchvision costs seconds, and the
    pages that import this module render from records without corrupting an image."""
    import torchvision.transforms.v2.functional as TF

    return TF


def gaussian_blur(images: torch.Tensor, severity: int, seed: int | torch.Generator = 0) -> torch.Tensor:
    """Gaussian blur of sigma 0.4 .. 1.0 pixels, truncated at 4 sigma (scikit-image's default), through
    torchvision (reflect borders; scikit-image repeats the edge)."""
    _check(images, severity)
    sigma = float(_param("gaussian_blur", severity))
    ksize = 2 * int(4 * sigma + 0.5) + 1
    return _to_uint8(_tv().gaussian_blur(_unit(images), [ksize, ksize], [sigma, sigma]))


def fog(images: torch.Tensor, severity: int, seed: int | torch.Generator = 0) -> torch.Tensor:
    """x + c·plasma, rescaled by max(x)/(max(x) + c), clipped; (c, wibble decay) = (0.2, 3) .. (1.5, 1.75).
    The plasma fractal is drawn at the next power of two >= max(H, W) and cropped to the image."""
    _check(images, severity)
    c, decay = _param("fog", severity)
    n, _, h, w = images.shape
    mapsize = 1 << max(1, math.ceil(math.log2(max(h, w))))
    x = _unit(images)
    max_val = x.amax((1, 2, 3), keepdim=True)
    x = x + c * plasma_fractal(n, mapsize, decay, seed)[:, None, :h, :w]
    return _to_uint8(x * max_val / (max_val + c))


def brightness(images: torch.Tensor, severity: int, seed: int | torch.Generator = 0) -> torch.Tensor:
    """clip(x + c) with c = 0.05 .. 0.30: the reference adds c to the HSV value, which for a gray pixel is its
    grey level (saturation 0), so this is the same operation."""
    _check(images, severity)
    return _to_uint8(_unit(images) + _param("brightness", severity))


def contrast(images: torch.Tensor, severity: int, seed: int | torch.Generator = 0) -> torch.Tensor:
    """(x − mean)·c + mean, mean over each image; c = 0.75 .. 0.15 (torchvision's ``adjust_contrast``)."""
    _check(images, severity)
    return _to_uint8(_tv().adjust_contrast(_unit(images), float(_param("contrast", severity))))


def pixelate(images: torch.Tensor, severity: int, seed: int | torch.Generator = 0) -> torch.Tensor:
    """Box-resize to int(c·H) x int(c·W) and back with Pillow's BOX filter, c = 0.95 .. 0.65 (28x28: 26, 25,
    23, 21, 18 pixels); the way back copies the nearest low-resolution pixel.

    With these fractional sizes the change is set by where the resampling seams fall, so severities 1 and 2
    are close: on the first 2,000 Fashion-MNIST test images the mean absolute change is 3.25, 3.93, 6.52, 8.39,
    12.66 grey levels, but on smooth blobs severity 1 (26 px) changes more than 2 (25 px), as CIFAR-10-C's own
    30 and 28 px do on smooth 32x32 images."""
    _check(images, severity)
    c = _param("pixelate", severity)
    h, w = images.shape[-2:]
    small = _box_resize(images, max(1, int(h * c)), max(1, int(w * c)))
    return _box_resize(small, h, w)


def jpeg_compression(images: torch.Tensor, severity: int, seed: int | torch.Generator = 0) -> torch.Tensor:
    """JPEG encoding and decoding at quality 80, 65, 58, 50, 40 (torchvision's ``jpeg``, libjpeg)."""
    _check(images, severity)
    return _tv().jpeg(images.contiguous(), int(_param("jpeg_compression", severity)))


CORRUPTIONS: dict[str, Callable[..., torch.Tensor]] = {f.__name__: f for f in (
    gaussian_noise, shot_noise, impulse_noise, defocus_blur, zoom_blur, fog, brightness, contrast, pixelate,
    jpeg_compression, speckle_noise, gaussian_blur)}


def corrupt(images: torch.Tensor, name: str, severity: int, seed: int | torch.Generator = 0) -> torch.Tensor:
    """``CORRUPTIONS[name](images, severity, seed)``: uint8 (N, 1, H, W) -> uint8 (N, 1, H, W)."""
    if name not in CORRUPTIONS:
        raise ConfigError("name", name, f"one of {tuple(CORRUPTIONS)}")
    return CORRUPTIONS[name](images, severity, seed)
