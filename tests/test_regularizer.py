"""Tests of pixelreg.regularizer: S^CNN (reference spec 5) and L_sim (spec 6)."""
from __future__ import annotations

import math

import numpy as np
import pytest
import torch
import torchvision
from torch import nn

from pixelreg.errors import ConfigError
from pixelreg.models import paper_resnet
from pixelreg.regularizer import SimilarityRegularizer, similarity_loss


def _small_resnet(**kw):
    torch.manual_seed(0)
    return paper_resnet(width=4, **kw)


def _rand(*shape, seed=0):
    return torch.rand(*shape, generator=torch.Generator().manual_seed(seed))


# -- loss ------------------------------------------------------------------------------------------
def test_atanh_loss_by_hand():
    eps = 1e-5
    d = math.log(1.5 + eps) - math.log(0.5 + eps) - math.log(2 + eps) + math.log(eps)
    loss = similarity_loss(torch.tensor([0.5]), torch.tensor([1.0]))
    assert loss.item() == pytest.approx(d ** 2, rel=1e-6)
    assert loss.item() == pytest.approx(4 * (math.atanh(0.5) - math.atanh(1 - 1e-5)) ** 2, rel=1e-3)


def test_atanh_loss_is_four_times_fisher_z_difference_and_mean_over_pairs():
    s, t = torch.tensor([0.3, -0.7, 0.0], dtype=torch.float64), torch.tensor([-0.2, 0.1, 0.0], dtype=torch.float64)
    expected = np.mean([4 * (math.atanh(a) - math.atanh(b)) ** 2 for a, b in zip(s.tolist(), t.tolist())])
    assert similarity_loss(s, t, eps=0.0).item() == pytest.approx(expected, rel=1e-12)
    assert similarity_loss(s, t).item() == pytest.approx(expected, rel=1e-4)


def test_mse_loss_and_bad_criterion():
    s, t = torch.tensor([0.5, -0.5]), torch.tensor([1.0, 0.0])
    assert similarity_loss(s, t, criterion="mse").item() == pytest.approx((0.25 + 0.25) / 2)
    with pytest.raises(ConfigError) as err:
        similarity_loss(s, t, criterion="huber")
    assert err.value.param == "criterion"


# -- regularizer -----------------------------------------------------------------------------------
def test_layer_weights_start_uniform_and_repr():
    reg = SimilarityRegularizer(_small_resnet())
    torch.testing.assert_close(reg.layer_weights, torch.full((5,), 0.2))
    assert [n for n, _ in reg.named_parameters()] == ["layer_logits"]
    assert "layer4" in repr(reg) and "beta=0.9" in repr(reg)


def test_running_mean_and_cosine_by_hand():
    """Identity 'network': features are the images, so every quantity can be computed in numpy."""
    model = nn.Sequential(nn.Identity())
    reg = SimilarityRegularizer(model, layers=["0"], beta=0.9)
    xs = [(_rand(3, 2, 4, 5, seed=s), _rand(3, 2, 4, 5, seed=s + 10)) for s in (1, 2)]
    mu = np.zeros(2)
    for xa, xb in xs:
        s = reg(xa, xb)
        m = torch.cat([xa, xb]).numpy().mean(axis=(0, 2, 3))
        mu = 0.9 * mu + 0.1 * m  # updated before use
        a = (xa.numpy() - mu[None, :, None, None]).reshape(3, -1)
        b = (xb.numpy() - mu[None, :, None, None]).reshape(3, -1)
        cos = (a * b).sum(1) / np.linalg.norm(a, axis=1) / np.linalg.norm(b, axis=1)
        np.testing.assert_allclose(reg.running_means["0"].numpy(), mu, rtol=1e-5)
        np.testing.assert_allclose(s.detach().numpy(), cos, rtol=1e-5)


def test_running_means_update_in_eval_mode_and_bn_behaviour():
    model = _small_resnet()
    reg = SimilarityRegularizer(model)
    bn = model.stem[1]
    xa, xb = _rand(4, 1, 28, 28, seed=1), _rand(4, 1, 28, 28, seed=2)
    reg(xa, xb)
    assert int(bn.num_batches_tracked) == 2  # train mode: each half-batch updates BN stats (B8)
    model.eval()
    before_bn, before_mu = bn.running_mean.clone(), reg.running_means["stem"].clone()
    reg(xa, xb)
    assert int(bn.num_batches_tracked) == 2 and torch.equal(bn.running_mean, before_bn)
    assert not torch.equal(reg.running_means["stem"], before_mu)


def test_two_separate_trunk_calls_in_train_mode():
    """Each half-batch is normalised by its own BN statistics: swapping one pair changes the others."""
    model = _small_resnet()
    reg = SimilarityRegularizer(model, beta=0.0)  # mu = current batch mean, symmetric in A and B
    xa, xb = _rand(4, 1, 28, 28, seed=1), _rand(4, 1, 28, 28, seed=2)
    s = reg(xa, xb)
    torch.testing.assert_close(reg(xb, xa), s)  # cosine is symmetric and batch stats are per call
    xb2 = xb.clone()
    xb2[0] = xa[0]
    assert not torch.allclose(reg(xa, xb2)[1:], s[1:])  # half-batch BN couples the pairs


def test_gradients_reach_logits_and_weights_not_running_means():
    model = _small_resnet()
    reg = SimilarityRegularizer(model)
    opt = torch.optim.SGD(list(model.parameters()) + list(reg.parameters()), lr=0.1, momentum=0.9,
                          weight_decay=1e-3)
    xa, xb = _rand(4, 1, 28, 28, seed=1), _rand(4, 1, 28, 28, seed=2)
    loss = similarity_loss(reg(xa, xb), torch.tensor([1.0, 0.0, -1.0, 1.0]))
    means = {k: v.clone() for k, v in reg.running_means.items()}
    assert all(not v.requires_grad for v in reg.running_means.values())
    loss.backward()
    assert reg.layer_logits.grad is not None and reg.layer_logits.grad.abs().sum() > 0
    assert model.stem[0].weight.grad.abs().sum() > 0 and model.layer4[1].conv2.weight.grad.abs().sum() > 0
    assert model.fc.weight.grad is None  # the head is never reached
    opt.step()
    assert all(torch.equal(reg.running_means[k], v) for k, v in means.items())
    assert not torch.allclose(reg.layer_weights, torch.full((5,), 0.2))


def test_reg_images_36x64_for_a_28x28_task_model():
    model = _small_resnet(input_scale=(0.5, 5.0))
    reg = SimilarityRegularizer(model)
    s = reg(_rand(3, 1, 36, 64, seed=1), _rand(3, 1, 36, 64, seed=2))
    assert s.shape == (3,) and ((s >= -1) & (s <= 1)).all()
    assert [v.numel() for v in reg.running_means.values()] == [4, 4, 8, 16, 32]
    assert model(_rand(2, 1, 28, 28)).shape == (2, 10)
    # the extractor shares the model's modules (so model.to(device) moves both)
    assert reg._extractor.get_submodule("input_scale") is model.input_scale
    assert reg._extractor.get_submodule("stem.0") is model.stem[0]


def test_torchvision_resnet18():
    torch.manual_seed(0)
    model = torchvision.models.resnet18(num_classes=10)
    reg = SimilarityRegularizer(model)
    assert reg.layers == ["relu", "layer1", "layer2", "layer3", "layer4"]
    s = reg(_rand(2, 3, 32, 32, seed=1), _rand(2, 3, 32, 32, seed=2))
    s.sum().backward()
    assert s.shape == (2,) and model.conv1.weight.grad is not None
    model.eval()
    assert reg(_rand(2, 3, 32, 32, seed=1), _rand(2, 3, 32, 32, seed=2)).shape == (2,)


def test_construction_keeps_module_modes_and_state_dict_roundtrip():
    model = _small_resnet().eval()
    model.stem[1].train()
    reg = SimilarityRegularizer(model)
    assert not model.training and model.stem[1].training and not model.layer1[0].bn1.training
    reg(_rand(2, 1, 28, 28, seed=1), _rand(2, 1, 28, 28, seed=2))
    fresh = SimilarityRegularizer(_small_resnet())
    fresh.load_state_dict(reg.state_dict())
    assert all(torch.equal(fresh.running_means[k], v) for k, v in reg.running_means.items())


class _Untraceable(nn.Module):
    """Data-dependent control flow defeats FX; the hook fallback must stop after the last layer."""

    def __init__(self):
        super().__init__()
        self.a, self.b = nn.Conv2d(1, 3, 3, padding=1), nn.Conv2d(3, 2, 3, padding=1)
        self.head = nn.Linear(2, 2)

    def forward(self, x):
        x = self.a(x)
        if x.sum() > -1e9:
            x = self.b(torch.relu(x))
        return self.head(x.mean((2, 3)))


def test_hook_fallback_for_untraceable_models():
    model = _Untraceable()
    reg = SimilarityRegularizer(model, layers=["a", "b"])
    assert reg._extractor is None and "hooks" in repr(reg)
    model.head.register_forward_pre_hook(lambda *_: (_ for _ in ()).throw(AssertionError("head ran")))
    s = reg(_rand(3, 1, 8, 8, seed=1), _rand(3, 1, 8, 8, seed=2))
    assert s.shape == (3,)
    assert [v.numel() for v in reg.running_means.values()] == [3, 2]
    with pytest.raises(ConfigError, match="layers"):
        SimilarityRegularizer(model, layers=["a", "c"])


@pytest.mark.parametrize("kwargs", [{"layers": ["stem", "layer9"]}, {"layers": []}, {"beta": 1.0}])
def test_bad_arguments_name_the_parameter(kwargs):
    with pytest.raises(ConfigError) as err:
        SimilarityRegularizer(_small_resnet(), **kwargs)
    assert err.value.param == next(iter(kwargs))
    if "layer9" in str(kwargs):
        assert "layer4" in str(err.value)  # lists valid names


# -- one network call for the pair pathway (per-chunk "ghost" BatchNorm) -----------------------------
def _pair_setup(sizes=(12, 4, 4)):
    import copy
    torch.manual_seed(1)
    m1 = paper_resnet(width=4)
    m2 = copy.deepcopy(m1)
    r1, r2 = SimilarityRegularizer(m1), SimilarityRegularizer(m2)
    object.__setattr__(r2, "_split", False)  # the reference: separate calls
    n, k, _ = sizes
    return m1, m2, r1, r2, _rand(n, 1, 28, 28, seed=1), _rand(k, 1, 28, 28, seed=2), _rand(k, 1, 28, 28, seed=3)


@pytest.mark.parametrize("fuse_task", [True, False])
def test_one_call_equals_separate_calls_running_stats_included(fuse_task):
    m1, m2, r1, r2, x, xa, xb = _pair_setup()
    for _ in range(2):  # the second step starts from the running means/statistics of the first
        o1, s1 = r1.task_and_pairs(x, xa, xb, fuse_task=fuse_task)
        o2, s2 = m2(x), r2(xa, xb)
        assert torch.allclose(o1, o2, atol=1e-5) and torch.allclose(s1, s2, atol=1e-5)
        (o1.square().mean() + s1.sum()).backward()
        (o2.square().mean() + s2.sum()).backward()
        for (name, p), q in zip(m1.named_parameters(), m2.parameters()):
            assert torch.allclose(p.grad, q.grad, rtol=1e-4, atol=1e-6), name
        assert torch.allclose(r1.layer_logits.grad, r2.layer_logits.grad, atol=1e-6)
        for (name, a), b in zip(m1.state_dict().items(), m2.state_dict().values()):
            assert torch.allclose(a.float(), b.float(), atol=1e-5), name  # BN running mean/var, counters
        for a, b in zip(r1.running_means.values(), r2.running_means.values()):
            assert torch.allclose(a, b, atol=1e-5)
    # three BN updates per step (task batch, A, B), as the reference's three calls make
    assert m1.stem[1].num_batches_tracked.item() == 6


def test_ghost_batchnorm_normalises_each_chunk_with_its_own_statistics():
    from pixelreg.models import SplitBatchNorm2d, batch_splits
    bn = SplitBatchNorm2d(3, affine=False)
    x = torch.cat([torch.randn(4, 3, 5, 5), 10 + 5 * torch.randn(4, 3, 5, 5)])
    with batch_splits(bn, (4, 4)):
        y = bn(x)
    for chunk in y.split(4):  # each chunk standardised on its own
        assert chunk.mean().abs() < 1e-5 and (chunk.var(unbiased=False) - 1).abs() < 1e-3
    assert bn.splits is None  # restored after the block
    with pytest.raises(ConfigError, match="splits"):
        with batch_splits(bn, (3, 3)):
            bn(x)


def test_torchvision_models_fall_back_to_separate_calls():
    torch.manual_seed(0)
    m = torchvision.models.resnet18(num_classes=10)
    reg = SimilarityRegularizer(m)
    assert not reg._split
    out, s = reg.task_and_pairs(_rand(4, 3, 32, 32), _rand(2, 3, 32, 32, seed=1), _rand(2, 3, 32, 32, seed=2))
    assert out.shape == (4, 10) and s.shape == (2,)


def test_update_means_false_changes_nothing():
    m = _small_resnet()
    reg = SimilarityRegularizer(m)
    reg(_rand(4, 1, 28, 28), _rand(4, 1, 28, 28, seed=1))
    before = {k: v.clone() for k, v in reg.state_dict().items()}
    m.eval()
    reg(_rand(4, 1, 28, 28, seed=2), _rand(4, 1, 28, 28, seed=3), update_means=False)
    assert all(torch.equal(before[k], v) for k, v in reg.state_dict().items())


# -- BatchNorm in the pair pathway (pair_bn) --------------------------------------------------------
def _bn_state(model):
    return {k: v.clone() for k, v in model.state_dict().items() if "running" in k or "num_batches" in k}


def _torchvision_resnet():
    torch.manual_seed(0)
    return torchvision.models.resnet18(num_classes=10)


@pytest.mark.parametrize("make, shape", [(_small_resnet, (1, 28, 28)), (_torchvision_resnet, (3, 32, 32))],
                         ids=["one-call-split-bn", "separate-calls"])
@pytest.mark.parametrize("fuse_task", [True, False])
def test_task_only_pair_bn_leaves_running_stats_to_the_task_batch(make, shape, fuse_task):
    """After one training step with pairs, pair_bn="task-only" leaves exactly the running statistics of a step
    on the task batch alone; "update" (the reference) does not."""
    x, xa, xb = _rand(8, *shape, seed=1), _rand(4, *shape, seed=2), _rand(4, *shape, seed=3)
    task_only_model = make().train()
    task_only_model(x)
    expected = _bn_state(task_only_model)

    for pair_bn in ("task-only", "update"):
        model = make().train()
        reg = SimilarityRegularizer(model, pair_bn=pair_bn)
        logits, s = reg.task_and_pairs(x, xa, xb, fuse_task=fuse_task)
        (logits.sum() + s.sum()).backward()  # gradients flow through both pathways in either mode
        got = _bn_state(model)
        same = all(torch.equal(got[k], expected[k]) for k in expected)
        assert same == (pair_bn == "task-only"), pair_bn
        assert s.shape == (4,) and torch.all(s.abs() <= 1 + 1e-6)


def test_task_only_pair_bn_still_normalises_pairs_with_their_own_batch_statistics():
    """The pairs' similarities are the same in both modes (only the running statistics differ)."""
    xa, xb = _rand(4, 1, 28, 28, seed=2), _rand(4, 1, 28, 28, seed=3)
    s = {m: SimilarityRegularizer(_small_resnet().train(), pair_bn=m)(xa, xb) for m in ("update", "task-only")}
    torch.testing.assert_close(s["update"], s["task-only"])


def test_pair_bn_rejects_unknown_mode():
    with pytest.raises(ConfigError) as err:
        SimilarityRegularizer(_small_resnet(), pair_bn="frozen")
    assert err.value.param == "pair_bn" and "task-only" in str(err.value)
