"""A registry of tiny models and synthetic data for the evaluation tests (fast on a CPU).

Data: K classes, each a fixed smooth random template around grey 0.5 with a small amplitude, plus pixel
noise; a tiny conv net trained for ~1 s reaches ~100 % clean accuracy and degrades under noise of
std ~0.2-0.5, so accuracy curves are informative.
"""
from __future__ import annotations

import functools

import torch
import torch.nn.functional as F
from torch import nn

SIZE = 16
CLASSES = 4


def make_data(n: int, channels: int = 1, seed: int = 0, amplitude: float = 0.08, noise: float = 0.08,
              size: int = SIZE, classes: int = CLASSES) -> tuple[torch.Tensor, torch.Tensor]:
    """(images (n, C, size, size) float in [0, 1], labels (n,) int64). Templates fixed (seed 1234)."""
    tg = torch.Generator().manual_seed(1234)
    raw = torch.randn(classes, channels, size // 4, size // 4, generator=tg)
    templates = F.interpolate(raw, size=(size, size), mode="bilinear", align_corners=False)
    templates = templates / templates.flatten(1).std(1).view(-1, 1, 1, 1)
    g = torch.Generator().manual_seed(seed)
    labels = torch.randint(0, classes, (n,), generator=g)
    x = 0.5 + amplitude * templates[labels] + noise * torch.randn(n, channels, size, size, generator=g)
    return x.clamp(0, 1), labels


class TinyConvNet(nn.Module):
    """conv(8) - ReLU - pool - conv(16) - ReLU - global mean - linear; with BatchNorm to exercise eval mode."""

    def __init__(self, channels: int = 1, classes: int = CLASSES):
        super().__init__()
        self.net = nn.Sequential(
            nn.Conv2d(channels, 8, 3, padding=1), nn.BatchNorm2d(8), nn.ReLU(), nn.MaxPool2d(2),
            nn.Conv2d(8, 16, 3, padding=1), nn.ReLU(), nn.Flatten(), nn.Linear(16 * (SIZE // 2) ** 2, classes))

    def forward(self, x):
        return self.net(x)


class ConstantModel(nn.Module):
    """Always predicts class ``cls`` (input-independent logits): no adversarial exists, attacks must fail."""

    def __init__(self, classes: int = CLASSES, cls: int = 0):
        super().__init__()
        self.logits = nn.Parameter(torch.nn.functional.one_hot(torch.tensor(cls), classes).float() * 5)

    def forward(self, x):
        return self.logits.expand(len(x), -1) + 0 * x.flatten(1).sum(1, keepdim=True)


class BrightnessModel(nn.Module):
    """Predicts class 1 for images with mean > ``split``, else class 0.

    Uniform noise has mean ~0.5, so with split 0.6 the boundary attack's init attack (blending towards
    random noise that is adversarial) succeeds on bright images and fails on grey ones.
    """

    def __init__(self, split: float = 0.6, classes: int = CLASSES):
        super().__init__()
        self.split = split
        self.scale = nn.Parameter(torch.tensor(50.0))
        self.classes = classes

    def forward(self, x):
        m = x.flatten(1).mean(1)
        out = torch.zeros(len(x), self.classes, device=x.device)
        out[:, 1] = self.scale * (m - self.split)
        return out


@functools.lru_cache(maxsize=None)
def trained(channels: int = 1, seed: int = 0, steps: int = 150) -> TinyConvNet:
    """A TinyConvNet trained on synthetic data (cached per process); returned in eval mode."""
    torch.manual_seed(seed)  # tests only: initialisation of the tiny net
    model = TinyConvNet(channels)
    threads = torch.get_num_threads()
    torch.set_num_threads(1)  # tiny ops: one thread is faster and immune to a busy machine
    try:
        _fit(model, channels, seed, steps)
    finally:
        torch.set_num_threads(threads)
    return model.eval()


def _fit(model: nn.Module, channels: int, seed: int, steps: int) -> None:
    x, y = make_data(2048, channels, seed=100 + seed)
    opt = torch.optim.Adam(model.parameters(), lr=3e-3)
    g = torch.Generator().manual_seed(seed)
    for _ in range(steps):
        i = torch.randint(0, len(x), (128,), generator=g)
        loss = F.cross_entropy(model(x[i]), y[i])
        opt.zero_grad()
        loss.backward()
        opt.step()


def registry() -> dict[str, nn.Module]:
    """Named tiny models for parametrised tests."""
    return {"tiny-gray": trained(1), "tiny-rgb": trained(3)}
