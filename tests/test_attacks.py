"""Attacks: ε = 0 is the identity, noise never helps, agreement with foolbox, FGSM, PGD, boundary attack."""
from __future__ import annotations

import math

import pytest
import torch

from _tiny_models import BrightnessModel, ConstantModel, TinyConvNet, make_data, trained
from pixelreg.robustness.attacks import (FGSM, PGD, BoundaryAttack, GaussianNoise, SaltPepper, UniformNoise, as_foolbox,
                              blended_uniform_noise_init, import_foolbox)
from pixelreg.errors import ConfigError
from pixelreg.robustness.evaluate import EPSILON_GRIDS, accuracy_curve, make_attack, robust_accuracy
from pixelreg.robustness.spectra import FilteredNoise

ATTACKS = [GaussianNoise(), UniformNoise(), SaltPepper(), GaussianNoise("per-image"), SaltPepper("per-image"),
           FilteredNoise("low", 0.15), FilteredNoise("high", 0.15), FGSM(), PGD(steps=5)]


def clean_accuracy(model, x, y) -> float:
    with torch.no_grad():
        return (model(x).argmax(1) == y).double().mean().item()


@pytest.fixture(scope="module")
def data():
    return make_data(600, 1, seed=7)


@pytest.mark.parametrize("attack", ATTACKS, ids=repr)
def test_epsilon_zero_is_identity_and_clean_accuracy(attack, data):
    model = trained(1)
    x, y = data
    out = attack(model, x[:50], y[:50], [0.0, 0.1], generator=3)
    assert len(out) == 2
    assert torch.equal(out[0], x[:50])
    acc = accuracy_curve(model, x, y, attack, [0.0], batch_size=128)
    assert acc[0] == clean_accuracy(model, x, y)


@pytest.mark.parametrize("attack", ATTACKS[:7], ids=repr)
def test_noise_never_beats_clean_on_average(attack, data):
    model = trained(1)
    x, y = data
    eps = [0.0, 0.1, 0.3, 0.5] if not isinstance(attack, SaltPepper) else [0.0, 0.1, 0.2, 0.3]
    curves = torch.tensor([accuracy_curve(model, x, y, attack, eps, seed=s) for s in range(2)]).mean(0)
    assert (curves[1:] <= curves[0] + 1e-12).all(), curves
    assert curves[-1] < curves[0]  # the strongest noise does hurt this model


@pytest.mark.parametrize("attack", ATTACKS[:7], ids=repr)
def test_outputs_in_bounds_and_seeded(attack, data):
    x, y = data
    x = x[:64]
    a = attack(None, x, y[:64], [0.2, 0.5], generator=1)
    b = attack(None, x, y[:64], [0.2, 0.5], generator=1)
    c = attack(None, x, y[:64], [0.2, 0.5], generator=2)
    for xa, xb, xc in zip(a, b, c):
        assert xa.min() >= 0 and xa.max() <= 1
        assert torch.equal(xa, xb) and not torch.equal(xa, xc)
    if attack.clip == "per-image":  # each image stays inside its own [min, max] (reference, B6)
        lo, hi = x.flatten(1).amin(1), x.flatten(1).amax(1)
        assert (a[1].flatten(1).amin(1) >= lo).all() and (a[1].flatten(1).amax(1) <= hi).all()


def test_noise_statistics_and_common_random_numbers():
    x = torch.full((200, 1, 16, 16), 0.5)
    g1, g2 = GaussianNoise()(None, x, None, [0.05, 0.1], generator=0)
    d1, d2 = g1 - x, g2 - x
    assert abs(d1.std().item() - 0.05) < 0.002
    torch.testing.assert_close(d2, 2 * d1)  # same draw scaled by ε (no clipping here)
    (u,) = UniformNoise()(None, x, None, [0.2], generator=0)
    d = u - x
    assert d.abs().max() <= 0.2 + 1e-6 and abs(d.std().item() - 0.2 / math.sqrt(3)) < 0.003
    s1, s2 = SaltPepper()(None, x, None, [0.1, 0.3], generator=0)
    hit1, hit2 = s1 != x, s2 != x
    assert abs(hit1.double().mean().item() - 0.1) < 0.01 and abs(hit2.double().mean().item() - 0.3) < 0.01
    assert (hit2 | ~hit1).all()  # pixels hit at 0.1 are also hit at 0.3
    assert set(s2[hit2].unique().tolist()) <= {0.0, 1.0}


def _foolbox_accuracy(attack, fmodel, x, y, eps):
    _, clipped, success = attack(fmodel, x, y, epsilons=[eps])
    return 1 - success.double().mean().item(), clipped[0]


@pytest.mark.parametrize("kind", ["gaussian", "uniform"])
def test_agrees_with_foolbox_additive_noise(kind):
    """Our per-pixel-σ Gaussian = foolbox L2 Gaussian with ε_L2 = σ·sqrt(D); our U(−ε, ε) = foolbox's
    L∞ uniform (which rescales by the sample max, ≈ 1 for D = 256). Accuracies agree within sampling error."""
    fb = import_foolbox()
    model = trained(1)
    x, y = make_data(1500, 1, seed=11)
    d = x[0].numel()
    ours, theirs = (GaussianNoise(), fb.attacks.L2AdditiveGaussianNoiseAttack()) if kind == "gaussian" else \
        (UniformNoise(), fb.attacks.LinfAdditiveUniformNoiseAttack())
    eps = 0.4 if kind == "gaussian" else 0.6
    acc = accuracy_curve(model, x, y, ours, [eps], seed=5)[0]
    with torch.random.fork_rng():
        torch.manual_seed(5)
        fb_eps = eps * math.sqrt(d) if kind == "gaussian" else eps
        acc_fb, adv_fb = _foolbox_accuracy(theirs, as_foolbox(model), x, y, fb_eps)
    assert 0.4 < acc < 0.98  # an informative point of the curve
    se = math.sqrt(2 * acc * (1 - acc) / len(x))
    assert abs(acc - acc_fb) < 4 * se + 0.005, (acc, acc_fb)
    # the noise itself has the same scale (compare on unclipped grey images)
    grey = torch.full((300, 1, 16, 16), 0.5)
    small = 0.05
    (mine,) = ours(None, grey, None, [small], generator=0)
    with torch.random.fork_rng():
        torch.manual_seed(0)
        _, theirs_adv, _ = theirs(as_foolbox(model), grey, torch.zeros(300, dtype=torch.long),
                                  epsilons=[small * math.sqrt(d) if kind == "gaussian" else small])
    assert abs((mine - grey).std().item() / (theirs_adv[0] - grey).std().item() - 1) < 0.02


def test_fgsm_bounds_and_transfer_equals_white_box():
    model = trained(1)
    x, y = make_data(150, 1, seed=3)
    eps = [0.0, 0.01, 0.05, 0.3]
    wb = FGSM()(model, x, y, eps)
    tr = FGSM(source=model)(model, x, y, eps)
    for e, a, b in zip(eps, wb, tr):
        assert torch.equal(a, b)
        assert a.min() >= 0 and a.max() <= 1
        assert (a - x).abs().max() <= e + 1e-6
    assert accuracy_curve(model, x, y, FGSM(), eps) == accuracy_curve(model, x, y, FGSM(source=model), eps)
    # a different source gives a different (weaker) attack on the target
    with torch.random.fork_rng():
        torch.manual_seed(1)
        other = TinyConvNet().eval()  # an untrained source: its gradient transfers poorly
    acc_wb = accuracy_curve(model, x, y, FGSM(), [0.05])[0]
    acc_tr = accuracy_curve(model, x, y, FGSM(source=other), [0.05])[0]
    assert acc_wb <= acc_tr
    assert repr(FGSM()) == "FGSM(white-box)" and repr(FGSM(source=other)).startswith("FGSM(source=TinyConvNet-")


def test_fgsm_batched_gradient_equals_per_image_and_rgb():
    """Fixes B5 (3 channels) and checks the batched-gradient claim (eval mode: no cross-sample coupling)."""
    with torch.random.fork_rng():
        torch.manual_seed(0)
        model = TinyConvNet(3)
    model.train()  # FGSM must switch to eval mode for the gradient and restore the mode
    x, y = make_data(16, 3, seed=4)
    atk = FGSM()
    s_batch = atk.gradient_sign(model, x, y)
    assert model.training
    s_single = torch.cat([atk.gradient_sign(model, x[i:i + 1], y[i:i + 1]) for i in range(len(x))])
    model.eval()
    assert torch.equal(s_batch, s_single)
    (adv,) = atk(model, x, y, [0.1])
    assert adv.shape == x.shape


# --------------------------------------------------------------------------------------------------------
# PGD


class _Linear2(torch.nn.Module):
    """A two-class linear classifier on 1x8x8 images. Its cross-entropy gradient w.r.t. the input is
    p_other·(w_other − w_true): its sign is the same everywhere, so the L∞ maximiser of the loss over the
    ε-ball ∩ [0, 1] is x + ε·sign(w_other − w_true) clipped to [0, 1], which is exactly FGSM's point."""

    def __init__(self):
        super().__init__()
        g = torch.Generator().manual_seed(0)
        self.lin = torch.nn.Linear(64, 2)
        with torch.no_grad():  # small weights: logits stay moderate, no softmax saturation in float32
            self.lin.weight.copy_(0.3 * torch.randn(2, 64, generator=g))
            self.lin.bias.zero_()

    def forward(self, x):
        return self.lin(x.flatten(1))


def _linear_data(n=200, seed=0):
    g = torch.Generator().manual_seed(seed)
    x = torch.rand(n, 1, 8, 8, generator=g)
    with torch.no_grad():
        y = _Linear2()(x).argmax(1)  # labels = the model's predictions: clean accuracy 1
    return x, y


def test_pgd_reaches_the_analytic_optimum_of_a_linear_model():
    model = _Linear2().eval()
    x, y = _linear_data()
    eps = [0.0, 0.01, 0.05, 0.1, 0.3]
    for steps in (10, 40):  # step 2.5·ε/steps: 2.5 ε of travel crosses the ball from any random start
        pgd, fgsm = PGD(steps=steps)(model, x, y, eps, generator=1), FGSM()(model, x, y, eps)
        for a, b in zip(pgd, fgsm):
            torch.testing.assert_close(a, b, rtol=0, atol=1e-6)
    assert accuracy_curve(model, x, y, PGD(steps=10), eps) == accuracy_curve(model, x, y, FGSM(), eps)
    # foolbox's own default step (ε/30) cannot cross the ball in 10 steps: it stops short of the optimum
    (short,) = PGD(steps=10, rel_stepsize=0.01 / 0.3)(model, x, y, [0.1], generator=1)
    (best,) = FGSM()(model, x, y, [0.1])
    assert (short - best).abs().max() > 0.05


def test_pgd_is_at_least_as_strong_as_fgsm():
    model = trained(1)
    x, y = make_data(400, 1, seed=7)
    eps = [0.02, 0.05, 0.1]
    fgsm = accuracy_curve(model, x, y, FGSM(), eps)
    pgd = torch.tensor([accuracy_curve(model, x, y, PGD(steps=10), eps, seed=s) for s in range(2)]).mean(0)
    assert (pgd <= torch.tensor(fgsm) + 1e-12).all(), (pgd, fgsm)
    assert pgd.sum() < sum(fgsm)  # strictly stronger somewhere on this non-linear model


def test_pgd_bounds_seed_mode_and_side_effects():
    model = trained(3)
    x, y = make_data(64, 3, seed=5)
    model.train()  # PGD must attack the eval-mode model and restore the mode
    grads = [None if p.grad is None else p.grad.clone() for p in model.parameters()]
    eps = [0.0, 0.03, 0.2]
    a = PGD(steps=4)(model, x, y, eps, generator=3)
    assert model.training
    model.eval()
    b = PGD(steps=4)(model, x, y, eps, generator=3)
    c = PGD(steps=4)(model, x, y, eps, generator=4)
    assert torch.equal(a[0], x)
    for e, xa, xb, xc in zip(eps, a, b, c):
        assert xa.shape == x.shape and xa.min() >= 0 and xa.max() <= 1
        assert (xa - x).abs().max() <= e + 1e-6
        assert torch.equal(xa, xb)  # deterministic given the seed
        if e > 0:
            assert not torch.equal(xa, xc)  # the random start depends on the seed
    no_start = [PGD(steps=4, random_start=False)(model, x, y, [0.03], generator=s)[0] for s in (3, 4)]
    assert torch.equal(*no_start)
    for p, g0 in zip(model.parameters(), grads):  # only input gradients: parameters untouched
        assert p.requires_grad and (p.grad is None if g0 is None else torch.equal(p.grad, g0))
    state = torch.random.get_rng_state()
    PGD(steps=2)(model, x[:4], y[:4], [0.1], generator=0)
    assert torch.equal(state, torch.random.get_rng_state())  # the global generator is left alone
    with torch.inference_mode():  # as robust_accuracy's callers may be
        (d,) = PGD(steps=2)(model, x[:4], y[:4], [0.1], generator=0)
    assert torch.equal(d, PGD(steps=2)(model, x[:4], y[:4], [0.1], generator=0)[0])


def test_pgd_repr_grids_and_bad_parameters():
    assert repr(PGD()) == "PGD(steps=40, rel_stepsize=0.0625, random_start=True)"
    assert repr(PGD(steps=10)) == "PGD(steps=10, rel_stepsize=0.25, random_start=True)"
    assert repr(make_attack("pgd", steps=10)) == repr(PGD(steps=10)) and make_attack("pgd").steps == 40
    for bad in (0, -3, 2.5, True, "10", None):
        with pytest.raises(ConfigError, match="steps"):
            PGD(steps=bad)
    for bad in (0, -0.1, float("nan"), float("inf"), "0.1"):
        with pytest.raises(ConfigError, match="rel_stepsize"):
            PGD(rel_stepsize=bad)
    with pytest.raises(ConfigError, match="random_start"):
        PGD(random_start="yes")
    with pytest.raises(ConfigError, match="epsilons"):
        PGD(steps=2)(trained(1), torch.zeros(1, 1, 16, 16), torch.zeros(1, dtype=torch.long), [-0.1])
    with pytest.raises(ConfigError, match="source"):
        make_attack("pgd", source=trained(1))
    assert EPSILON_GRIDS["cifar10"]["pgd"] == pytest.approx([k / 255 for k in (0, 0.5, 1, 2, 4, 8, 16)])
    assert EPSILON_GRIDS["cifar100"]["pgd"] == EPSILON_GRIDS["cifar10"]["pgd"]
    assert EPSILON_GRIDS["mnist"]["pgd"] == EPSILON_GRIDS["fashion-mnist"]["pgd"]
    assert EPSILON_GRIDS["mnist"]["pgd"][0] == 0 and EPSILON_GRIDS["mnist"]["pgd"][-1] == pytest.approx(0.3)


class _Run:
    """The interface robust_accuracy needs: .dir, .config, .load_model(device)."""

    class config:  # noqa: N801 - a stand-in for a TrainConfig
        task, seed, alpha = "mnist", 0, 0.0

    def __init__(self, path):
        self.dir, self.loads = path, 0

    def load_model(self, device="cpu"):
        self.loads += 1
        return trained(1).to(device).eval()


def test_pgd_is_cached_per_step_count(tmp_path):
    """robust_accuracy runs PGD like FGSM; the step count is in the cache key, so 10 and 40 steps never share
    an entry, and a repeated setting is read back from the run's evals/ folder."""
    x, y = make_data(120, 1, seed=2)
    run = _Run(tmp_path / "run")
    t10 = robust_accuracy(run, PGD(steps=10), n_images=120, images=x, labels=y)
    assert t10["epsilon"].tolist() == pytest.approx(list(EPSILON_GRIDS["mnist"]["pgd"]))
    assert (t10["attack"] == "pgd").all() and t10["accuracy"].iloc[0] > t10["accuracy"].iloc[-1]
    assert t10["attack_repr"].iloc[0] == repr(PGD(steps=10))
    again = robust_accuracy(run, PGD(steps=10), n_images=120, images=x, labels=y)
    assert run.loads == 1 and again["accuracy"].tolist() == t10["accuracy"].tolist()
    robust_accuracy(run, PGD(steps=2), n_images=120, images=x, labels=y)
    t_name = robust_accuracy(run, "pgd", epsilons=[0.0, 0.1], n_images=120, images=x, labels=y)
    assert run.loads == 3 and t_name["attack_repr"].iloc[0] == repr(PGD(steps=40))
    assert len(list((tmp_path / "run" / "evals").glob("acc-pgd-*.csv"))) == 3
    clean = accuracy_curve(trained(1), x, y, FGSM(), [0.0])[0]
    assert t10["accuracy"].iloc[0] == pytest.approx(clean)


def test_bad_input():
    with pytest.raises(ConfigError, match="epsilons"):
        GaussianNoise()(None, torch.zeros(1, 1, 4, 4), None, [-0.1])
    with pytest.raises(ConfigError, match="epsilons"):
        SaltPepper()(None, torch.zeros(1, 1, 4, 4), None, [1.5])
    with pytest.raises(ConfigError, match="clip"):
        GaussianNoise("global")
    with pytest.raises(ConfigError, match="steps"):
        BoundaryAttack(steps=0)
    assert repr(GaussianNoise()) == "GaussianNoise(clip='bounds')"
    assert repr(BoundaryAttack()) == "BoundaryAttack(steps=50, repeats=5, batch_size=100)"


def test_boundary_attack_adversarial_and_in_bounds():
    model = trained(1)
    x, _ = make_data(4, 1, seed=9)
    res = BoundaryAttack(steps=5, repeats=2, batch_size=2)(model, x, seed=0)
    assert res.success.all() and res.n_failed == [0, 0]
    assert res.delta.shape == (2, 4, 1, 16, 16)
    for r in range(2):
        adv = x + res.delta[r]
        assert adv.min() >= 0 and adv.max() <= 1
        with torch.no_grad():
            assert (model(adv).argmax(1) != res.labels).all()  # misclassified w.r.t. the model's own label
    torch.testing.assert_close(res.mse, res.delta.flatten(2).pow(2).mean(2))
    assert len(res.medians) == 2 and res.mean_median == pytest.approx(res.medians.mean())


def test_boundary_attack_counts_failures():
    """Init attack fails on grey images (the model predicts class 0 for them and for all noise): foolbox
    would raise for the whole batch; here only the grey images are lost, and counted."""
    bright, _ = make_data(2, 1, seed=1)
    bright = (bright + 0.25).clamp(0, 1)
    grey = torch.full((2, 1, 16, 16), 0.5)
    x = torch.cat([bright[:1], grey[:1], bright[1:], grey[1:]])
    res = BoundaryAttack(steps=5, repeats=1, batch_size=4)(BrightnessModel(), x, seed=0)
    assert res.success.tolist() == [[True, False, True, False]]
    assert res.n_failed == [1 * 2]
    assert torch.isnan(res.delta[0, 1]).all() and torch.isnan(res.mse[0, [1, 3]]).all()
    assert not torch.isnan(res.mse[0, [0, 2]]).any()
    none = BoundaryAttack(steps=5, repeats=1, batch_size=2)(ConstantModel(), grey, seed=0)
    assert none.n_failed == [2] and math.isnan(none.medians[0])


def test_as_foolbox_bounds():
    fm = as_foolbox(TinyConvNet())
    assert fm.bounds == (0, 1)


class _Counting(torch.nn.Module):
    """Wraps a model and counts its forward calls."""

    def __init__(self, model):
        super().__init__()
        self.model, self.calls = model, 0

    def forward(self, x):
        self.calls += 1
        return self.model(x)


def _mixed_batch():
    bright, _ = make_data(3, 1, seed=1)
    bright = (bright + 0.25).clamp(0, 1)
    grey = torch.full((1, 1, 16, 16), 0.5)
    return torch.cat([bright[:2], grey, bright[2:]])


def test_blended_init_finds_what_foolbox_finds_with_fewer_forwards():
    """Same images found as foolbox's LinearSearchBlendedUniformNoiseAttack(steps=50) on a batch with one
    image no noise can flip, each start misclassified; but the resisting image costs a few forward passes
    instead of foolbox's 1,000 passes of the whole batch."""
    fb = import_foolbox()
    model = BrightnessModel().eval()
    x = _mixed_batch()
    with torch.no_grad():
        y = model(x).argmax(1)
    ours = _Counting(model)
    start, found = blended_uniform_noise_init(ours, x, y, generator=torch.Generator().manual_seed(0))
    assert found.tolist() == [True, True, False, True]
    assert torch.equal(start[2], x[2])  # not found: the input itself
    with torch.no_grad():
        assert (model(start[found]).argmax(1) != y[found]).all()
    theirs = _Counting(model).eval()
    torch.manual_seed(0)
    with pytest.warns(UserWarning, match="failed to draw"):
        fstart = fb.attacks.LinearSearchBlendedUniformNoiseAttack(steps=50).run(
            fb.PyTorchModel(theirs, bounds=(0, 1)), x, fb.criteria.Misclassification(y))
    with torch.no_grad():
        assert ((model(fstart).argmax(1) != y) == found).all()
    assert theirs.calls >= 1000 and ours.calls <= 1 + math.ceil(999 / 64) + 4, (ours.calls, theirs.calls)


def test_blended_init_takes_the_smallest_adversarial_blend_on_the_grid():
    """Hand check of the line search: with the noise r known (first-round draw of a seeded generator),
    start = (1 - b) x + b r with b = k/50, the blend at b is misclassified and the blend at b - 1/50 is not."""
    model = BrightnessModel().eval()
    x = (make_data(3, 1, seed=1)[0] + 0.25).clamp(0, 1)
    with torch.no_grad():
        y = model(x).argmax(1)
    start, found = blended_uniform_noise_init(model, x, y, generator=torch.Generator().manual_seed(3))
    assert found.all()
    r = torch.rand((1, *x.shape), generator=torch.Generator().manual_seed(3))[0]  # the first round's draw
    for i in range(len(x)):
        d, u = (start[i] - x[i]).flatten(), (r[i] - x[i]).flatten()
        b = float(d @ u / (u @ u))
        assert b * 50 == pytest.approx(round(b * 50), abs=1e-4) and 0 < b <= 1
        torch.testing.assert_close(start[i], (1 - b) * x[i] + b * r[i])
        with torch.no_grad():
            assert model(start[i:i + 1]).argmax(1).item() != y[i].item()
            prev = (1 - (b - 0.02)) * x[i] + (b - 0.02) * r[i]
            assert model(prev[None]).argmax(1).item() == y[i].item()


class _BandModel(torch.nn.Module):
    """Class 1 for images whose mean lies in (0.6, 0.7), else class 0: uniform noise (mean ~0.5) is never
    misclassified for a bright image, but blends between the two cross the band."""

    def forward(self, x):
        m = x.flatten(1).mean(1)
        out = torch.zeros(len(x), 2)
        out[:, 1] = 50 * (torch.minimum(m - 0.6, 0.7 - m))
        return out


def test_blended_init_line_searches_towards_the_last_draw_like_foolbox():
    from pixelreg.robustness.attacks import blended_uniform_noise_init

    fb = import_foolbox()
    model = _BandModel().eval()
    x = torch.full((2, 1, 16, 16), 0.9)
    y = torch.zeros(2, dtype=torch.long)
    start, found = blended_uniform_noise_init(model, x, y, directions=20, generator=torch.Generator().manual_seed(0))
    assert found.all() and (model(start).argmax(1) == 1).all()
    torch.manual_seed(0)
    with pytest.warns(UserWarning, match="failed to draw"):
        fstart = fb.attacks.LinearSearchBlendedUniformNoiseAttack(steps=50, directions=20).run(
            fb.PyTorchModel(model, bounds=(0, 1)), x, fb.criteria.Misclassification(y))
    assert (model(fstart).argmax(1) == 1).all()  # foolbox also finds them on the segment


def test_fig3_reads_pgd_rows_with_the_gradient_masking_caveat_only_when_pgd_ran(monkeypatch):
    import pandas as pd

    import pixelreg.figures.fig3 as f3
    from pixelreg.figures import FigureData

    monkeypatch.setattr(f3, "gain_sentence", lambda label, *a, **k: f"- {label}")
    page = f3.Fig3(profile="smoke")

    def text(modes):
        t = pd.DataFrame(dict(panel="p", mode=list(modes), b="S^Th"))
        return page.what_we_see(FigureData("fig3", dict(pgd_steps=7), dict(tests=t, summary=pd.DataFrame())))

    with_pgd = text(["transferred", "white-box PGD"])
    assert "gradient masking" in with_pgd and "PGD with 7 steps and one random start" in with_pgd
    assert "gradient masking" not in text(["transferred", "white-box"])
