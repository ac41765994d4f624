"""Tests of pixelreg.models: the paper's CIFAR-style ResNets (reference spec 8.1)."""
from __future__ import annotations

import pytest
import torch
import torchvision
from torchvision.models.feature_extraction import create_feature_extractor

from pixelreg.errors import ConfigError
from pixelreg.models import ARCHS, default_layers, paper_resnet

LAYERS = ["stem", "layer1", "layer2", "layer3", "layer4"]


def test_resnet18_parameter_count():
    model = paper_resnet("resnet18", in_channels=1, num_classes=10, width=64)
    # the reference's 11,175,375 includes the 5 layer logits, which live in SimilarityRegularizer
    assert sum(p.numel() for p in model.parameters() if p.requires_grad) == 11_175_370


@pytest.mark.parametrize("shape,expected", [
    ((1, 32, 32), [(64, 32, 32), (64, 32, 32), (128, 16, 16), (256, 8, 8), (512, 4, 4)]),
    ((1, 28, 28), [(64, 28, 28), (64, 28, 28), (128, 14, 14), (256, 7, 7), (512, 4, 4)]),
    ((1, 36, 64), [(64, 36, 64), (64, 36, 64), (128, 18, 32), (256, 9, 16), (512, 5, 8)]),
])
def test_feature_shapes_of_spec_table(shape, expected):
    model = paper_resnet().eval()
    feats = create_feature_extractor(model, LAYERS)(torch.rand(1, *shape))
    assert [tuple(feats[n].shape[1:]) for n in LAYERS] == expected


@pytest.mark.parametrize("size", [28, 32])
def test_head_equals_reference_avg_pool_4(size):
    model = paper_resnet(width=8).eval()
    x = torch.rand(3, 1, size, size)
    with torch.no_grad():
        feats = create_feature_extractor(model, ["layer4"])(x)["layer4"]
        reference = model.fc(torch.nn.functional.avg_pool2d(feats, 4).flatten(1))
        torch.testing.assert_close(model(x), reference)


@pytest.mark.parametrize("arch", ARCHS)
def test_every_arch_classifies(arch):
    model = paper_resnet(arch, in_channels=3, num_classes=100, width=2).eval()
    assert model(torch.rand(1, 3, 16, 16)).shape == (1, 100)
    assert default_layers(model) == LAYERS


def test_bottleneck_widths_and_stride_on_first_1x1():
    model = paper_resnet("resnet50", width=8)
    assert model.fc.in_features == 8 * 8 * 4
    first = model.layer2[0]
    assert first.conv1.kernel_size == (1, 1) and first.conv1.stride == (2, 2)
    assert first.conv2.stride == (1, 1)


def test_input_scale_is_the_first_op():
    plain = paper_resnet(width=4).eval()
    scaled = paper_resnet(width=4, input_scale=(0.5, 5.0)).eval()
    scaled.load_state_dict(plain.state_dict(), strict=False)
    assert {"input_scale.shift", "input_scale.scale"} <= set(scaled.state_dict())
    x = torch.rand(2, 1, 28, 28)
    with torch.no_grad():
        torch.testing.assert_close(scaled(x), plain(5.0 * (x - 0.5)))


def test_default_layers():
    assert default_layers(torchvision.models.resnet18(num_classes=10)) == ["relu"] + LAYERS[1:]
    with pytest.raises(ConfigError) as err:
        default_layers(torch.nn.Sequential(torch.nn.Conv2d(1, 2, 3)))
    assert err.value.param == "layers"


@pytest.mark.parametrize("kwargs,param", [({"arch": "resnet20"}, "arch"), ({"width": 0}, "width"),
                                          ({"input_scale": (1.0,)}, "input_scale")])
def test_bad_arguments_name_the_parameter(kwargs, param):
    with pytest.raises(ConfigError) as err:
        paper_resnet(**kwargs)
    assert err.value.param == param
