"""The paper's CIFAR-style ResNets (reference spec section 8.1) and their regularized layers.

Stem conv7x7 stride 1 (no max-pool, full resolution), 4 stages of widths w, 2w, 4w, 8w (x4 for
bottleneck) with strides 1, 2, 2, 2, bias-free convs, conv1x1+BN shortcuts, PyTorch default init.
Models take images in [0, 1]; an optional input scaling (the reference's CIFAR ``5 * (x - 0.5)``)
is the model's first module.
"""
from __future__ import annotations

import contextlib
from typing import Sequence

import torch
from torch import nn

ARCHS = ("resnet18", "resnet34", "resnet50", "resnet101")
from pixelreg.device import PRECISIONS, bf16_supported, default_device, resolve_precision
from pixelreg.errors import ConfigError

__all__ = ["ARCHS", "paper_resnet", "default_layers", "PaperResNet", "InputScale", "default_device", "CIFAR_INPUT_SCALE",
           "INFERENCE_CHUNK", "PRECISIONS", "bf16_supported", "resolve_precision", "SplitBatchNorm2d", "batch_splits", "running_stats_frozen", "supports_batch_splits"]

# Images per forward pass when a model scores many images without gradients (evaluations, FGSM signs):
# chunks of 250 were 1.3-1.6x faster than 1,000 on this project's CPU (BENCHMARKS.md section 3).
INFERENCE_CHUNK = 250


PAPER_LAYERS = ["stem", "layer1", "layer2", "layer3", "layer4"]  # stem and 4 stage outputs (spec 5)
TORCHVISION_LAYERS = ["relu", "layer1", "layer2", "layer3", "layer4"]  # torchvision ResNet analogue


class InputScale(nn.Module):
    """x -> scale * (x - shift), with shift and scale as buffers (saved with the model)."""

    def __init__(self, shift: float, scale: float):
        super().__init__()
        self.register_buffer("shift", torch.tensor(float(shift)))
        self.register_buffer("scale", torch.tensor(float(scale)))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.scale * (x - self.shift)

    def extra_repr(self) -> str:
        return f"shift={self.shift.item():g}, scale={self.scale.item():g}"


class SplitBatchNorm2d(nn.BatchNorm2d):
    """BatchNorm2d that, in train mode, can normalise consecutive chunks of one batch separately.

    With ``splits = (n1, n2, ...)`` (set by :func:`batch_splits`), a train-mode call on a batch of
    n1 + n2 + ... images runs ``BatchNorm2d.forward`` once per chunk, in order: each chunk is normalised
    with its own statistics and updates the running statistics, exactly as separate calls would ("ghost"
    BatchNorm). The convolutions around it then run once on the whole batch, which is what makes the
    regularizer's pair pathway cheap (BENCHMARKS.md section 1). ``splits = None`` (the default) or eval
    mode: plain BatchNorm2d. The state dict is BatchNorm2d's.
    """

    splits: tuple[int, ...] | None = None
    track: tuple[bool, ...] | None = None  # per chunk: update the running statistics (None: every chunk does)

    def _check_input_dim(self, input: torch.Tensor) -> None:
        # torch.fx traces through this module (it is not in torch.nn), where the dimension is symbolic
        if not isinstance(input, torch.fx.Proxy):
            super()._check_input_dim(input)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if self.splits is None or not self.training:
            return super().forward(x)
        if sum(self.splits) != x.shape[0]:
            raise ConfigError("splits", self.splits, f"chunk sizes summing to the batch size {x.shape[0]}")
        track = self.track or (True,) * len(self.splits)
        outs = []
        for c, tr in zip(x.split(list(self.splits)), track):
            if tr:
                outs.append(super().forward(c))
            else:
                with running_stats_frozen(self):
                    outs.append(super().forward(c))
        return torch.cat(outs)


def supports_batch_splits(model: nn.Module) -> bool:
    """True when every BatchNorm layer of ``model`` is a :class:`SplitBatchNorm2d` (the paper ResNets)."""
    bns = [m for m in model.modules() if isinstance(m, nn.modules.batchnorm._BatchNorm)]
    return bool(bns) and all(isinstance(m, SplitBatchNorm2d) for m in bns)


@contextlib.contextmanager
def batch_splits(model: nn.Module, sizes: Sequence[int], track: Sequence[bool] | None = None):
    """Within the block, train-mode BatchNorm of ``model`` treats the batch as chunks of ``sizes``; ``track``
    (one flag per chunk, default all True) says which chunks update the running statistics."""
    if track is not None and len(track) != len(sizes):
        raise ConfigError("track", tuple(track), f"one flag per chunk ({len(sizes)} chunks)")
    bns = [m for m in model.modules() if isinstance(m, SplitBatchNorm2d)]
    old = [(m.splits, m.track) for m in bns]
    for m in bns:
        m.splits = tuple(int(n) for n in sizes)
        m.track = None if track is None else tuple(bool(t) for t in track)
    try:
        yield
    finally:
        for m, (o, t) in zip(bns, old):
            m.splits, m.track = o, t


@contextlib.contextmanager
def running_stats_frozen(model: nn.Module):
    """Within the block, train-mode BatchNorm layers of ``model`` (or ``model`` itself, if it is one) normalise
    with the batch's own statistics and leave their running statistics and ``num_batches_tracked`` untouched
    (``track_running_stats`` off for the block, which makes torch pass no running buffers)."""
    bns = [m for m in model.modules() if isinstance(m, nn.modules.batchnorm._BatchNorm)]
    old = [m.track_running_stats for m in bns]
    for m in bns:
        m.track_running_stats = False
    try:
        yield
    finally:
        for m, o in zip(bns, old):
            m.track_running_stats = o


class BasicBlock(nn.Module):
    """conv3x3(stride)-BN-ReLU-conv3x3-BN, plus shortcut, then ReLU."""

    expansion = 1

    def __init__(self, in_planes: int, planes: int, stride: int = 1):
        super().__init__()
        self.conv1 = nn.Conv2d(in_planes, planes, 3, stride, 1, bias=False)
        self.bn1 = SplitBatchNorm2d(planes)
        self.conv2 = nn.Conv2d(planes, planes, 3, 1, 1, bias=False)
        self.bn2 = SplitBatchNorm2d(planes)
        self.relu = nn.ReLU(inplace=True)
        self.shortcut = _shortcut(in_planes, planes * self.expansion, stride)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        out = self.relu(self.bn1(self.conv1(x)))
        out = self.bn2(self.conv2(out))
        return self.relu(out + self.shortcut(x))


class Bottleneck(nn.Module):
    """v1 bottleneck: conv1x1(stride)-BN-ReLU-conv3x3-BN-ReLU-conv1x1(4x)-BN, plus shortcut, ReLU."""

    expansion = 4

    def __init__(self, in_planes: int, planes: int, stride: int = 1):
        super().__init__()
        self.conv1 = nn.Conv2d(in_planes, planes, 1, stride, bias=False)
        self.bn1 = SplitBatchNorm2d(planes)
        self.conv2 = nn.Conv2d(planes, planes, 3, 1, 1, bias=False)
        self.bn2 = SplitBatchNorm2d(planes)
        self.conv3 = nn.Conv2d(planes, planes * self.expansion, 1, bias=False)
        self.bn3 = SplitBatchNorm2d(planes * self.expansion)
        self.relu = nn.ReLU(inplace=True)
        self.shortcut = _shortcut(in_planes, planes * self.expansion, stride)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        out = self.relu(self.bn1(self.conv1(x)))
        out = self.relu(self.bn2(self.conv2(out)))
        out = self.bn3(self.conv3(out))
        return self.relu(out + self.shortcut(x))


def _shortcut(in_planes: int, out_planes: int, stride: int) -> nn.Module:
    if stride == 1 and in_planes == out_planes:
        return nn.Identity()
    return nn.Sequential(nn.Conv2d(in_planes, out_planes, 1, stride, bias=False), SplitBatchNorm2d(out_planes))


_SPECS = {
    "resnet18": (BasicBlock, [2, 2, 2, 2]),
    "resnet34": (BasicBlock, [3, 4, 6, 3]),
    "resnet50": (Bottleneck, [3, 4, 6, 3]),
    "resnet101": (Bottleneck, [3, 4, 23, 3]),
}


class PaperResNet(nn.Module):
    """CIFAR-style ResNet of the reference code (spec 8.1).

    Submodules: ``input_scale`` (InputScale or Identity), ``stem`` (conv7x7-BN-ReLU),
    ``layer1``..``layer4`` (stages), ``avgpool``, ``fc``. The regularized layers are the outputs of
    ``stem`` and of the four stages (``default_layers``).

    The head pools globally (adaptive average pooling) where the reference uses
    ``avg_pool2d(kernel=4)``: the stage-4 maps are 4x4 for 28x28 and 32x32 inputs, where both are
    the same; other input sizes then still classify instead of failing in the linear layer.

    Input: (B, in_channels, H, W) float in [0, 1]. Output: (B, num_classes) logits.
    """

    def __init__(self, arch: str = "resnet18", in_channels: int = 1, num_classes: int = 10,
                 width: int = 64, input_scale: tuple[float, float] | None = None):
        super().__init__()
        block, counts = _SPECS[arch]
        self.arch = arch
        self.input_scale = nn.Identity() if input_scale is None else InputScale(*input_scale)
        self.stem = nn.Sequential(
            nn.Conv2d(in_channels, width, 7, 1, 3, bias=False), SplitBatchNorm2d(width), nn.ReLU(inplace=True))
        in_planes = width
        for n, (mult, count, stride) in enumerate(zip((1, 2, 4, 8), counts, (1, 2, 2, 2)), start=1):
            blocks = []
            for b in range(count):
                blocks.append(block(in_planes, width * mult, stride if b == 0 else 1))
                in_planes = width * mult * block.expansion
            setattr(self, f"layer{n}", nn.Sequential(*blocks))
        self.avgpool = nn.AdaptiveAvgPool2d(1)
        self.fc = nn.Linear(in_planes, num_classes)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = self.stem(self.input_scale(x))
        x = self.layer4(self.layer3(self.layer2(self.layer1(x))))
        return self.fc(torch.flatten(self.avgpool(x), 1))


def paper_resnet(arch: str = "resnet18", in_channels: int = 1, num_classes: int = 10, width: int = 64,
                 input_scale: tuple[float, float] | None = None) -> PaperResNet:
    """The paper's ResNet.

    Args:
        arch: one of ``ARCHS``.
        in_channels: 1 (grayscale, the paper's default) or 3 (rgb).
        num_classes: 10 or 100 for the paper's tasks.
        width: base width w (the reference's ``--base_channels``, 64).
        input_scale: None to use the [0, 1] inputs as they are, or (shift, scale) so the model's first
            op computes ``scale * (x - shift)``; the reference's CIFAR preprocessing is (0.5, 5.0).

    Returns:
        A ``PaperResNet`` taking (B, in_channels, H, W) float images in [0, 1].
    """
    if arch not in ARCHS:
        raise ConfigError("arch", arch, f"one of {ARCHS}")
    if int(width) != width or width < 1:
        raise ConfigError("width", width, "a positive integer base width (the reference uses 64)")
    if int(in_channels) != in_channels or in_channels < 1:
        raise ConfigError("in_channels", in_channels, "a positive integer (1 grayscale, 3 rgb)")
    if int(num_classes) != num_classes or num_classes < 1:
        raise ConfigError("num_classes", num_classes, "a positive integer")
    if input_scale is not None and len(tuple(input_scale)) != 2:
        raise ConfigError("input_scale", input_scale, "None or a (shift, scale) pair, e.g. (0.5, 5.0)")
    return PaperResNet(arch, int(in_channels), int(num_classes), int(width),
                       None if input_scale is None else tuple(input_scale))


def default_layers(model: nn.Module) -> list[str]:
    """Names of the layers the regularizer compares by default.

    Paper ResNet: ["stem", "layer1", "layer2", "layer3", "layer4"] (stem after its ReLU, stages after
    their final ReLU). torchvision ResNet: ["relu", "layer1", ..., "layer4"] ("relu" is the stem's
    ReLU, before the max-pool). Other models: ConfigError, pass ``layers`` explicitly.
    """
    if isinstance(model, PaperResNet):
        return list(PAPER_LAYERS)
    try:
        from torchvision.models import ResNet
    except ImportError:  # pragma: no cover - torchvision is a dependency
        ResNet = ()
    if isinstance(model, ResNet):
        return list(TORCHVISION_LAYERS)
    raise ConfigError("layers", None, f"explicit layer names for a {type(model).__name__}; defaults exist "
                      "only for the paper ResNet and torchvision ResNets")


CIFAR_INPUT_SCALE = (0.5, 5.0)  # the reference feeds CIFAR nets 5·(x − 0.5); MNIST-like nets see [0, 1]
