"""bf16_autocast: torch's bfloat16 autocast, with convolutions emulated on CPUs without native bfloat16."""
import torch
from torch import nn

from pixelreg.device import _EmulatedBf16Conv, bf16_autocast
from pixelreg.models import paper_resnet


def _model():
    torch.manual_seed(0)
    m = paper_resnet("resnet18", in_channels=1, num_classes=10, width=4).eval()
    for mod in m.modules():  # non-trivial running statistics, as in a trained network
        if isinstance(mod, nn.BatchNorm2d):
            mod.running_mean.uniform_(-0.2, 0.2)
            mod.running_var.uniform_(0.5, 2.0)
    return m


def test_emulated_conv_matches_torch_bf16_kernel():
    """Same bfloat16 operands and rounding of the output: logits within a few bfloat16 ulps, argmax identical
    on nearly every image, and far closer to torch's bf16 path than float32 is."""
    m, x = _model(), torch.rand(64, 1, 28, 28, generator=torch.Generator().manual_seed(1))
    with torch.inference_mode():
        with torch.autocast("cpu", dtype=torch.bfloat16):
            ref = m(x).float()
        with torch.autocast("cpu", dtype=torch.bfloat16), _EmulatedBf16Conv():
            emu = m(x).float()
        fp32 = m(x)
    assert emu.dtype == torch.float32
    ulp = ref.abs().clamp_min(1e-3) * 2.0 ** -7
    assert ((emu - ref).abs() <= 4 * ulp + 1e-6).float().mean() > 0.99
    assert (emu.argmax(1) == ref.argmax(1)).float().mean() >= 0.98
    assert (emu - ref).abs().mean() < (fp32 - ref).abs().mean()


def test_emulated_conv_rounds_like_bfloat16():
    """A 1x1 convolution of one pixel is one product: the emulated output is that product rounded to bfloat16."""
    x = torch.tensor([[[[1.0 + 2 ** -10]]]])  # not a bfloat16 number: rounds to 1.0
    w = torch.tensor([[[[3.0]]]])
    with torch.autocast("cpu", dtype=torch.bfloat16), _EmulatedBf16Conv():
        y = nn.functional.conv2d(x, w)
    assert y.dtype == torch.bfloat16 and y.item() == 3.0
    w2 = torch.tensor([[[[1.0 + 2 ** -6]]]])  # a bfloat16 number; the product 1 + 2^-6 is one too
    with torch.autocast("cpu", dtype=torch.bfloat16), _EmulatedBf16Conv():
        assert nn.functional.conv2d(torch.ones(1, 1, 1, 1), w2).item() == 1.0 + 2 ** -6


def test_bf16_autocast_disabled_is_float32():
    m, x = _model(), torch.rand(8, 1, 28, 28)
    with torch.inference_mode():
        with bf16_autocast("cpu", enabled=False):
            a = m(x)
        b = m(x)
    assert a.dtype == torch.float32 and torch.equal(a, b)
    with torch.inference_mode(), bf16_autocast("cpu"):
        assert m(x).dtype == torch.bfloat16  # the final linear layer runs in bfloat16, as under plain autocast
