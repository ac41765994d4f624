"""Common corruptions (pixelreg.robustness.corruptions): shapes, severities, determinism, hand computations,
Pillow as the reference for pixelate and JPEG, and a cross-check with the ``imagecorruptions`` package."""
from __future__ import annotations

import io

import numpy as np
import pytest
import torch
import torch.nn.functional as F
from PIL import Image

from pixelreg.errors import ConfigError
from pixelreg.robustness import corruptions as C
from pixelreg.robustness.corruptions import CORRUPTIONS, PARAMS, corrupt, plasma_fractal

RANDOM = ("gaussian_noise", "shot_noise", "impulse_noise", "speckle_noise", "fog")


def garment_like(n=8, size=28, seed=0) -> torch.Tensor:
    """Fashion-MNIST-like uint8 (n, 1, size, size): a smooth textured blob on a black background."""
    g = torch.Generator().manual_seed(seed)
    texture = F.interpolate(torch.rand(n, 1, 7, 7, generator=g), size=size, mode="bicubic", align_corners=False)
    t = torch.linspace(-1, 1, size)
    radius = 0.55 + 0.3 * torch.rand(n, 1, 1, 1, generator=g)
    blob = ((t[:, None] / radius) ** 2 + (t[None, :] / (radius * 0.8)) ** 2 <= 1).float()
    blob = F.avg_pool2d(F.pad(blob, (1, 1, 1, 1), mode="replicate"), 3, stride=1)  # soft edges
    x = (0.35 + 0.65 * texture.clamp(0, 1)) * blob
    x = x / x.amax((1, 2, 3), keepdim=True)
    return (x * 255).round().to(torch.uint8)


@pytest.fixture(scope="module")
def images():
    return garment_like()


def test_registry_order_and_names():
    assert list(CORRUPTIONS) == ["gaussian_noise", "shot_noise", "impulse_noise", "defocus_blur", "zoom_blur", "fog",
                                 "brightness", "contrast", "pixelate", "jpeg_compression", "speckle_noise",
                                 "gaussian_blur"]
    assert set(PARAMS) == set(CORRUPTIONS) and all(len(p) == 5 for p in PARAMS.values())


@pytest.mark.parametrize("name", list(CORRUPTIONS))
def test_shape_dtype_and_monotone_severity(name, images):
    changes = []
    for s in range(1, 6):
        out = corrupt(images, name, s, seed=3)
        assert out.shape == images.shape and out.dtype == torch.uint8
        changes.append((out.float() - images.float()).abs().mean().item())
    assert changes[0] > 0
    if name == "pixelate":
        # CIFAR-10-C's fractional sizes (26 and 25 px here) make severities 1 and 2 close and their order depends
        # on the image: on smooth blobs like these, 1 changes more than 2 (as CIFAR-10-C's 30 and 28 px do on
        # smooth 32x32 images); on the first 2,000 Fashion-MNIST test images the means grow (3.25, 3.93, 6.52,
        # 8.39, 12.66). The steps from severity 2 on grow here too.
        changes = changes[1:]
    assert all(b > a for a, b in zip(changes, changes[1:])), (name, changes)


@pytest.mark.parametrize("name", list(CORRUPTIONS))
def test_other_image_sizes(name):
    x = garment_like(3, size=32)
    assert corrupt(x, name, 3).shape == x.shape


@pytest.mark.parametrize("name", list(CORRUPTIONS))
def test_deterministic_given_the_seed(name, images):
    a = corrupt(images, name, 4, seed=11)
    assert torch.equal(a, corrupt(images, name, 4, seed=11))
    assert torch.equal(a, corrupt(images, name, 4, seed=torch.Generator().manual_seed(11)))
    if name in RANDOM:
        assert not torch.equal(a, corrupt(images, name, 4, seed=12))
        # every image gets its own draw
        same = images[:1].expand(4, -1, -1, -1).contiguous()
        out = corrupt(same, name, 4, seed=0)
        assert not torch.equal(out[0], out[1])


def _tile(values) -> torch.Tensor:
    """(1, 1, 8, 8) uint8: a 2x2 pattern of ``values`` repeated (the corruptions need 8x8 images at least)."""
    return torch.tensor(values, dtype=torch.uint8).view(1, 1, 2, 2).repeat(1, 1, 4, 4)


def _pattern(out: torch.Tensor) -> list[int]:
    assert torch.equal(out, out[..., :2, :2].repeat(1, 1, 4, 4))
    return out[..., :2, :2].flatten().tolist()


def test_brightness_by_hand():
    x = _tile([0, 100, 200, 250])
    # severity 2: + 0.1 (25.5 grey levels), truncated as np.uint8 does; clipped at 255
    assert _pattern(C.brightness(x, 2)) == [25, 125, 225, 255]
    # severity 5: + 0.3 (76.5)
    assert _pattern(C.brightness(x, 5)) == [76, 176, 255, 255]


def test_contrast_by_hand():
    x = _tile([0, 0, 200, 200])  # mean 100
    assert _pattern(C.contrast(x, 2)) == [50, 50, 150, 150]  # factor 0.5
    assert _pattern(C.contrast(x, 5)) == [85, 85, 115, 115]  # factor 0.15: 100 -+ 15
    y = _tile([10, 20, 30, 40])  # mean 25, factor 0.75
    assert _pattern(C.contrast(y, 1)) == [13, 21, 28, 36]  # 13.75, 21.25, 28.75, 36.25 truncated
    # the mean is per image
    both = torch.cat([x, y])
    assert torch.equal(C.contrast(both, 1), torch.cat([C.contrast(x, 1), C.contrast(y, 1)]))


@pytest.mark.parametrize("name", ["gaussian_blur", "defocus_blur", "zoom_blur", "pixelate", "contrast"])
def test_constant_image_stays_constant(name):
    x = torch.full((2, 1, 28, 28), 137, dtype=torch.uint8)
    for s in range(1, 6):
        assert torch.equal(corrupt(x, name, s), x), (name, s)


@pytest.mark.parametrize("severity", [1, 2, 3, 4, 5])
def test_pixelate_keeps_an_image_already_on_its_block_grid(severity):
    d = int(28 * PARAMS["pixelate"][severity - 1])
    small = (torch.rand(3, 1, d, d, generator=torch.Generator().manual_seed(severity)) * 255).to(torch.uint8)
    idx = ((torch.arange(28) + 0.5) * d / 28).floor().long()  # the low-resolution pixel under each pixel
    x = small[:, :, idx][:, :, :, idx]
    assert torch.equal(C.pixelate(x, severity), x)


def _pil(img: np.ndarray) -> Image.Image:
    return Image.fromarray(img)


@pytest.mark.parametrize("severity", [1, 2, 3, 4, 5])
def test_pixelate_equals_pillow_box_resizes(severity, images):
    """CIFAR-10-C's definition: x.resize((int(c*S),)*2, BOX).resize((S, S), BOX)."""
    c = PARAMS["pixelate"][severity - 1]
    ref = np.stack([np.array(_pil(im[0].numpy()).resize((int(28 * c),) * 2, Image.BOX).resize((28, 28), Image.BOX))
                    for im in images])
    assert np.array_equal(C.pixelate(images, severity)[:, 0].numpy(), ref)


@pytest.mark.parametrize("severity", [1, 2, 3, 4, 5])
def test_jpeg_in_range_close_and_equal_to_pillow(severity, images):
    out = C.jpeg_compression(images, severity)
    assert out.dtype == torch.uint8 and out.shape == images.shape
    q = PARAMS["jpeg_compression"][severity - 1]
    ref = []
    for im in images:
        buf = io.BytesIO()
        _pil(im[0].numpy()).save(buf, "JPEG", quality=q)
        ref.append(np.array(Image.open(buf)))
    diff = np.abs(out[:, 0].numpy().astype(int) - np.stack(ref))
    assert diff.max() <= 1  # same libjpeg tables; bit-exact here, one grey level of slack for other builds
    if severity == 1:
        assert (out.float() - images.float()).abs().mean() < 3  # quality 80 is close to the input


def test_gaussian_noise_statistics():
    x = torch.full((1, 1, 200, 200), 128, dtype=torch.uint8)
    out = C.gaussian_noise(x, 3, seed=0).float() / 255
    assert out.std().item() == pytest.approx(0.08, rel=0.05)
    assert out.mean().item() == pytest.approx(128 / 255, abs=0.005)


def test_impulse_noise_fraction():
    x = torch.full((1, 1, 200, 200), 128, dtype=torch.uint8)
    out = C.impulse_noise(x, 5, seed=0)
    hit = (out != 128).float().mean().item()
    assert hit == pytest.approx(0.07, abs=0.01)
    assert set(out[out != 128].unique().tolist()) == {0, 255}


def test_plasma_fractal():
    m = plasma_fractal(3, 32, 2, seed=4)
    assert m.shape == (3, 32, 32) and m.amin((1, 2)).tolist() == [0, 0, 0] and m.amax((1, 2)).tolist() == [1, 1, 1]
    assert torch.equal(m, plasma_fractal(3, 32, 2, seed=4))
    with pytest.raises(ConfigError, match="invalid mapsize="):
        plasma_fractal(1, 28)


def test_bad_arguments_raise_config_error(images):
    with pytest.raises(ConfigError, match="invalid name='frost'") as e:
        corrupt(images, "frost", 1)
    assert "gaussian_noise" in str(e.value)  # names the allowed corruptions
    for bad in (0, 6, 2.5, True, "3"):
        with pytest.raises(ConfigError, match="invalid severity="):
            corrupt(images, "contrast", bad)
    with pytest.raises(ConfigError, match="invalid images="):
        corrupt(images.float(), "contrast", 1)
    with pytest.raises(ConfigError, match="invalid images="):
        corrupt(images.expand(-1, 3, -1, -1), "contrast", 1)
    with pytest.raises(ConfigError, match="invalid images="):
        corrupt(images[..., :6, :6], "contrast", 1)  # smaller than 8x8
    with pytest.raises(ConfigError, match="invalid seed="):
        corrupt(images, "fog", 1, seed=1.5)


# ------------------------------------------------------------------------------------------------ cross-check
# ``imagecorruptions`` (PyPI) implements Hendrycks' ImageNet-C corruptions with the ImageNet-C severity parameters
# (ours are CIFAR-10-C's), for images of at least 32x32. To compare the operations, its parameters are put into
# PARAMS and both are run on the same 28x28 image padded with black to 32x32 (as a Fashion-MNIST garment on its
# background). Its version 1.1.2 imports pkg_resources, which setuptools >= 81 no longer ships, so this test is
# skipped unless it imports.
IMAGENET_PARAMS = {  # imagecorruptions 1.1.2, corruptions.py
    "brightness": (0.1, 0.2, 0.3, 0.4, 0.5),
    "contrast": (0.4, 0.3, 0.2, 0.1, 0.05),
    "pixelate": (0.6, 0.5, 0.4, 0.3, 0.25),  # it upsamples with NEAREST, CIFAR-10-C with BOX: the same pixels
    "jpeg_compression": (25, 18, 15, 10, 7),
    "defocus_blur": ((3, 0.1), (4, 0.5), (6, 0.5), (8, 0.5), (10, 0.5)),
}


def _imagecorruptions():
    try:
        import imagecorruptions
    except Exception as e:  # noqa: BLE001 - ImportError, or a broken dependency such as pkg_resources
        pytest.skip(f"imagecorruptions not importable: {e!r}")
    return imagecorruptions


@pytest.mark.parametrize("name", list(IMAGENET_PARAMS))
def test_cross_check_with_imagecorruptions(name, monkeypatch, images):
    ic = _imagecorruptions()
    x = F.pad(images[:3], (2, 2, 2, 2))  # 28x28 -> 32x32, the package's minimum size
    monkeypatch.setitem(PARAMS, name, IMAGENET_PARAMS[name])
    for s in range(1, 6):
        ours = corrupt(x, name, s)[:, 0].numpy().astype(int)
        theirs = np.stack([ic.corrupt(im[0].numpy(), severity=s, corruption_name=name) for im in x])
        theirs = theirs.mean(-1) if theirs.ndim == 4 else theirs  # it returns gray images as RGB
        diff = np.abs(ours - theirs)
        assert diff.max() <= 1, (name, s, diff.max())  # float32 vs float64, truncation, JPEG's chroma path
