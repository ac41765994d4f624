"""Attacks on models that take float images in [0, 1]: random noise, FGSM, PGD and foolbox's boundary attack.

Every attack is configured once and called with a list of epsilons; it returns one perturbed batch per
epsilon (foolbox habit). Inputs and outputs are ``(B, C, H, W)`` float in [0, 1], and the bounds are
always (0, 1): models own their input scaling (ARCHITECTURE.md), so no bound is ever taken from the data.

Randomness comes from an explicit ``torch.Generator`` on the images' device. Noise attacks use *common
random numbers*: one draw per batch serves every epsilon (Gaussian/uniform: the same unit draw scaled by
ε; salt-and-pepper: the same uniform draw thresholded at ε). Curves over ε are therefore much smoother
than with a fresh draw per ε (the reference's protocol, spec §9.2), while each point keeps the same
distribution. At ε = 0 every attack returns the input unchanged, so the ε = 0 point is clean accuracy.
"""
from __future__ import annotations

import contextlib
import math
import warnings
from dataclasses import dataclass
from typing import Callable, Iterator, Sequence

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from pixelreg.experiment.config import PGD_STEPS
from pixelreg.errors import ConfigError
from pixelreg.hashing import content_hash
from pixelreg.models import INFERENCE_CHUNK

CLIPS = ("bounds", "per-image")


def import_foolbox():
    """Import foolbox 3.3.4, silencing the SciPy DeprecationWarning it triggers on import."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DeprecationWarning)
        import foolbox
    return foolbox


def model_device(model: nn.Module) -> torch.device:
    for t in model.parameters():
        return t.device
    for t in model.buffers():
        return t.device
    return torch.device("cpu")


def as_foolbox(model: nn.Module):
    """``foolbox.PyTorchModel`` of ``model`` in eval mode with bounds (0, 1) on the model's device."""
    fb = import_foolbox()
    return fb.PyTorchModel(model.eval(), bounds=(0, 1), device=model_device(model))


def check_epsilons(epsilons: Sequence[float], upper: float | None = None) -> list[float]:
    """Epsilons as floats; each must be finite, >= 0 and (if given) <= ``upper``."""
    eps = [float(e) for e in np.atleast_1d(np.asarray(epsilons, dtype=float))]
    for e in eps:
        if not math.isfinite(e) or e < 0 or (upper is not None and e > upper):
            allowed = f"finite values in [0, {upper}]" if upper is not None else "finite values >= 0"
            raise ConfigError("epsilons", e, allowed)
    return eps


@contextlib.contextmanager
def eval_mode(model: nn.Module):
    """Put ``model`` in eval mode for the block and restore its previous mode afterwards."""
    was = model.training
    model.eval()
    try:
        yield model
    finally:
        model.train(was)


def _generator(device: torch.device, generator: torch.Generator | int | None) -> torch.Generator:
    if isinstance(generator, torch.Generator):
        return generator
    return torch.Generator(device=device).manual_seed(0 if generator is None else int(generator))


class Attack:
    """Base class. ``attack(model, images, labels, epsilons, generator)`` -> one batch per epsilon."""

    name: str = "attack"
    needs_grad: bool = False  # True: the attack needs autograd (cannot run under inference_mode)
    eps_max: float | None = None  # largest meaningful epsilon (salt-and-pepper: a fraction <= 1)

    def perturbed(self, model: nn.Module, images: torch.Tensor, labels: torch.Tensor,
                  epsilons: Sequence[float], generator: torch.Generator | int | None = None
                  ) -> Iterator[torch.Tensor]:
        """Yield the perturbed batch for each epsilon, in order (lazily, to keep memory at one batch)."""
        raise NotImplementedError

    def __call__(self, model: nn.Module, images: torch.Tensor, labels: torch.Tensor,
                 epsilons: Sequence[float], generator: torch.Generator | int | None = None
                 ) -> list[torch.Tensor]:
        """Args:
            model: maps (B, C, H, W) float in [0, 1] to logits (B, K).
            images: (B, C, H, W) float in [0, 1].
            labels: (B,) int64 true labels (used by FGSM; ignored by noise).
            epsilons: list of attack strengths (meaning depends on the attack).
            generator: a ``torch.Generator`` on the images' device, or an int seed.
        Returns:
            one (B, C, H, W) tensor in [0, 1] per epsilon.
        """
        eps = check_epsilons(epsilons, self.eps_max)
        return list(self.perturbed(model, images, labels, eps, generator))


class _Noise(Attack):
    """Shared machinery for additive random noise with clipping."""

    def __init__(self, clip: str = "bounds"):
        if clip not in CLIPS:
            raise ConfigError("clip", clip, f"one of {CLIPS}")
        self.clip = clip

    def _limits(self, x: torch.Tensor) -> tuple[torch.Tensor | float, torch.Tensor | float]:
        if self.clip == "bounds":
            return 0.0, 1.0
        flat = x.flatten(1)
        shape = (-1,) + (1,) * (x.ndim - 1)
        return flat.amin(1).view(shape), flat.amax(1).view(shape)

    def _clamp(self, x: torch.Tensor, lo, hi) -> torch.Tensor:
        if isinstance(lo, float):
            return x.clamp(lo, hi)
        return torch.maximum(torch.minimum(x, hi), lo)

    def unit_noise(self, x: torch.Tensor, g: torch.Generator) -> torch.Tensor:
        raise NotImplementedError

    def perturbed(self, model, images, labels, epsilons, generator=None):
        g = _generator(images.device, generator)
        z = self.unit_noise(images, g)  # one draw, every epsilon (common random numbers)
        lo, hi = self._limits(images)
        for eps in epsilons:
            yield self._clamp(images + eps * z, lo, hi)  # eps = 0: exactly the input

    def __repr__(self) -> str:
        return f"{type(self).__name__}(clip={self.clip!r})"


class GaussianNoise(_Noise):
    """x + ε·N(0, 1) per pixel: ε is the per-pixel standard deviation (spec §9.2).

    ``clip="bounds"`` (default) clamps to [0, 1], the model's input domain. ``clip="per-image"`` clamps
    each image to its own [min, max] over all its pixels and channels, as the reference does (spec §9.2
    step 5, B6): on an MNIST digit this is still [0, 1], but on a dim CIFAR image it cuts the noise
    harder, so per-image curves are slightly less harsh. The two agree whenever every image spans [0, 1].
    """

    name = "gaussian"

    def unit_noise(self, x, g):
        return torch.randn(x.shape, generator=g, device=x.device, dtype=x.dtype)


class UniformNoise(_Noise):
    """x + U(−ε, ε) per pixel: ε is the L∞ bound of the noise (spec §9.2). ``clip`` as in GaussianNoise."""

    name = "uniform"

    def unit_noise(self, x, g):
        return torch.rand(x.shape, generator=g, device=x.device, dtype=x.dtype) * 2 - 1


class SaltPepper(_Noise):
    """Each pixel value independently, with probability ε, is set to the maximum or minimum (random sign).

    ε is the expected fraction of corrupted pixel values (per channel for RGB, as the reference's
    elementwise noise tensor). With ``clip="per-image"`` (the reference) min/max are the image's own;
    with ``clip="bounds"`` they are 0 and 1. One uniform draw per batch is thresholded at every ε, so the
    pixels corrupted at ε are a subset of those corrupted at any larger ε.
    """

    name = "salt-pepper"
    eps_max = 1.0

    def perturbed(self, model, images, labels, epsilons, generator=None):
        g = _generator(images.device, generator)
        u = torch.rand(images.shape, generator=g, device=images.device, dtype=images.dtype)
        salt = torch.rand(images.shape, generator=g, device=images.device) < 0.5
        lo, hi = self._limits(images)
        extreme = torch.where(salt, torch.as_tensor(hi, dtype=images.dtype, device=images.device),
                              torch.as_tensor(lo, dtype=images.dtype, device=images.device))
        for eps in epsilons:
            yield torch.where(u < eps, extreme, images)  # u >= 0, so eps = 0 changes nothing


class FGSM(Attack):
    """Fast gradient sign method: x_adv = clamp(x + ε·sign(∇_x CE(source(x), y)), 0, 1).

    ``FGSM()`` is white-box (the gradient comes from the attacked model). ``FGSM(source=model)`` is the
    reference's transferred FGSM (spec §9.3): the sign comes from a separate source model, in eval mode.
    The reference computed the gradient one image at a time; we compute it for the whole batch with a
    *summed* per-sample loss. In eval mode a network has no cross-sample interaction (BatchNorm uses its
    running statistics), so the batched gradient of the summed loss equals the stack of per-image
    gradients. The gradient is computed once per batch and reused for every ε (it does not depend on ε).
    Works for any number of channels (fixes B5). ε is in [0, 1] pixel units.
    """

    name = "fgsm"
    needs_grad = True

    def __init__(self, source: nn.Module | Callable[[], nn.Module] | None = None, source_id: str | None = None):
        # a source may be given as a loader (a callable returning the model), called on the first gradient: a
        # result read from the cache then never loads the source (record-only runs have no checkpoint)
        if source is not None and not isinstance(source, nn.Module):
            if not callable(source) or source_id is None:
                raise ConfigError("source", type(source).__name__, "a model, or a loader together with source_id")
            self._loader, self._source = source, None
        else:
            self._loader, self._source = None, source
        self.source_id = source_id if source_id is not None else (
            None if source is None else model_fingerprint(source))
        self._source_signs: dict[str, torch.Tensor] = {}  # transferred: the sign depends on the batch only

    @property
    def transferred(self) -> bool:
        return self._source is not None or self._loader is not None

    @property
    def source(self) -> nn.Module | None:
        if self._source is None and self._loader is not None:
            self._source = self._loader()
        return self._source

    def gradient_sign(self, model: nn.Module, images: torch.Tensor, labels: torch.Tensor) -> torch.Tensor:
        """sign(∇_x CE) from the source model (transferred) or from ``model`` (white-box).

        A transferred attack's sign does not depend on the attacked model, so it is computed once per
        batch of images and labels and reused for every model this attack evaluates (a figure attacks many
        runs with one source).
        """
        if not self.transferred:
            return self._sign(model, images, labels)
        key = f"{tuple(images.shape)}-{content_hash(images, labels, algorithm='sha1', length=None)}"
        if key not in self._source_signs:
            if len(self._source_signs) >= 64:  # bounded: a few batches of a test split
                self._source_signs.clear()
            self._source_signs[key] = self._sign(self.source, images, labels)
        return self._source_signs[key]

    def _sign(self, src: nn.Module, images: torch.Tensor, labels: torch.Tensor) -> torch.Tensor:
        signs = []
        with torch.inference_mode(False), torch.enable_grad(), eval_mode(src):
            for i in range(0, len(images), INFERENCE_CHUNK):  # per-sample gradients do not interact in eval mode
                x = images[i:i + INFERENCE_CHUNK].detach().clone().requires_grad_(True)
                loss = F.cross_entropy(src(x), labels[i:i + INFERENCE_CHUNK].to(x.device), reduction="sum")
                (grad,) = torch.autograd.grad(loss, x)
                signs.append(grad.sign())
        return torch.cat(signs)

    def perturbed(self, model, images, labels, epsilons, generator=None):
        s = self.gradient_sign(model, images, labels)
        for eps in epsilons:
            yield images.clone() if eps == 0 else (images + eps * s).clamp(0, 1)

    def __repr__(self) -> str:
        return f"FGSM(source={self.source_id})" if self.transferred else "FGSM(white-box)"


PGD_TRAVEL = 2.5  # default step = PGD_TRAVEL * ε / steps (Madry et al.): the iterate can travel 2.5 ε in all


@contextlib.contextmanager
def _input_grads_only(model: nn.Module):
    """Switch off ``requires_grad`` of the model's parameters for the block (restored afterwards).

    foolbox's gradient calls ``loss.backward()``, which would also compute (and accumulate in ``.grad``) the
    weight gradients; an attack needs only the input gradient, and skipping the weight gradients saves
    most of the backward pass of a convolution.
    """
    frozen = [p for p in model.parameters() if p.requires_grad]
    for p in frozen:
        p.requires_grad_(False)
    try:
        yield model
    finally:
        for p in frozen:
            p.requires_grad_(True)


class PGD(Attack):
    """White-box L∞ projected gradient descent (Madry et al. 2018): foolbox 3.3.4's ``LinfPGD``.

    For each ε > 0, ``foolbox.attacks.LinfPGD(steps=steps, rel_stepsize=rel_stepsize,
    random_start=random_start)`` runs on the attacked model (untargeted, true labels, summed
    cross-entropy, bounds (0, 1)):

    - random start: x₀ = clip₀¹(x + U(−ε, ε)) per pixel (foolbox's; ``random_start=False`` starts at x);
    - ``steps`` times: x ← clip₀¹(x + clip(x + α·sign(∇ CE) − x, −ε, ε)) with α = ``rel_stepsize``·ε;
    - the last iterate is returned (as foolbox; not the best one over the iterations).

    Step size: by default Madry et al.'s α = 2.5·ε/steps (``rel_stepsize = 2.5 / steps``: 0.0625 at the
    customary 40 steps, 0.25 at 10), so the iterate can cross the ε-ball (2ε) from any random start
    whatever the number of steps. foolbox's own default, ε/30 (Madry's MNIST setting of ε 0.3 and step
    0.01), assumes 40 steps; at 10 steps it could move only ε/3. ε is in [0, 1] pixel units (CIFAR
    grids are multiples of 1/255). At ε = 0 the input is returned unchanged.

    As FGSM: the model is in eval mode during the attack (its mode is restored), gradients are float32
    (autocast is switched off for the attack), the batch is attacked in chunks of ``INFERENCE_CHUNK``
    images (in eval mode the images do not interact), on the images' device. Only input gradients are
    computed (the parameters' ``requires_grad`` is switched off for the attack and restored).
    Randomness: foolbox draws the random start from torch's global generator; each call draws one seed
    from ``generator``, and each ε runs under a forked global generator seeded from it, so results are
    deterministic given the seed and the caller's global state is untouched.
    """

    name = "pgd"
    needs_grad = True

    def __init__(self, steps: int = PGD_STEPS, rel_stepsize: float | None = None, random_start: bool = True):
        if not isinstance(steps, (int, np.integer)) or isinstance(steps, bool) or steps < 1:
            raise ConfigError("steps", steps, "an integer >= 1 (PGD iterations; customary 40)")
        self.steps = int(steps)
        if rel_stepsize is None:
            rel_stepsize = PGD_TRAVEL / self.steps
        if (not isinstance(rel_stepsize, (int, float, np.floating)) or isinstance(rel_stepsize, bool)
                or not math.isfinite(rel_stepsize) or rel_stepsize <= 0):
            raise ConfigError("rel_stepsize", rel_stepsize, "a finite number > 0 (step size in units of ε), "
                                                            "or None for 2.5 / steps")
        self.rel_stepsize = float(rel_stepsize)
        if not isinstance(random_start, (bool, np.bool_)):
            raise ConfigError("random_start", random_start, "True or False")
        self.random_start = bool(random_start)

    def __repr__(self) -> str:
        return f"PGD(steps={self.steps}, rel_stepsize={self.rel_stepsize!r}, random_start={self.random_start})"

    def perturbed(self, model, images, labels, epsilons, generator=None):
        g = _generator(images.device, generator)
        base = int(torch.randint(0, 2**62, (1,), generator=g, device=g.device).item())
        for k, eps in enumerate(epsilons):
            yield images.clone() if eps == 0 else self.attack_at(model, images, labels, eps, seed=base + k)

    def attack_at(self, model: nn.Module, images: torch.Tensor, labels: torch.Tensor, eps: float,
                  seed: int = 0) -> torch.Tensor:
        """The PGD adversarial of ``images`` at one ε > 0: (B, C, H, W) in [0, 1], |x_adv − x| <= ε."""
        fb = import_foolbox()
        attack = fb.attacks.LinfPGD(steps=self.steps, rel_stepsize=self.rel_stepsize,
                                    random_start=self.random_start)
        device = images.device
        out = []
        with torch.inference_mode(False), torch.enable_grad(), eval_mode(model), _input_grads_only(model), \
                torch.autocast(device.type, enabled=False), \
                torch.random.fork_rng(devices=[device] if device.type == "cuda" else []):
            if device.type == "cuda":
                with torch.cuda.device(device):
                    torch.cuda.manual_seed(seed)
            else:
                torch.random.default_generator.manual_seed(seed)
            fmodel = fb.PyTorchModel(model, bounds=(0, 1), device=model_device(model))
            for i in range(0, len(images), INFERENCE_CHUNK):
                x = images[i:i + INFERENCE_CHUNK].detach().clone()  # a normal tensor even under inference_mode
                y = labels[i:i + INFERENCE_CHUNK].to(x.device)
                adv = attack.run(fmodel, x, fb.criteria.Misclassification(y), epsilon=eps).detach()
                # foolbox projects and clips already; repeating it guards the ε bound against rounding
                out.append(torch.minimum(torch.maximum(adv, x - eps), x + eps).clamp_(0, 1))
        return torch.cat(out)


def model_fingerprint(model: nn.Module) -> str:
    """Short content hash of a model's class and state (identifies a transfer source in tables/caches)."""
    state = [part for k, v in model.state_dict().items() for part in (k, v)]
    return f"{type(model).__name__}-{content_hash(type(model).__name__, *state, algorithm='sha1', length=10)}"


# --------------------------------------------------------------------------------------------------------
# Boundary attack


@dataclass
class BoundaryResult:
    """Result of :class:`BoundaryAttack` over R repeats of the same N images.

    Attributes:
        delta: (R, N, C, H, W) float perturbations adv − x in [0, 1] units; NaN where the attack failed.
        success: (R, N) bool, True where an adversarial (w.r.t. the model's own prediction) was found.
        mse: (R, N) float, ||δ||²/D per image with D = C·H·W (all channels; the reference used channel 0
            only, which is the same for grayscale); NaN where failed.
        labels: (N,) int64, the model's own predictions on the clean images (the criterion).
    """

    delta: torch.Tensor
    success: torch.Tensor
    mse: torch.Tensor
    labels: torch.Tensor

    @property
    def n_failed(self) -> list[int]:
        """Failed images per repeat (the reference dropped these silently, B14)."""
        return (~self.success).sum(1).tolist()

    @property
    def medians(self) -> np.ndarray:
        """Median per-pixel MSE over successful images, per repeat (NaN if none succeeded)."""
        m = self.mse.double().numpy()
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", RuntimeWarning)  # all-NaN row -> NaN, reported as such
            return np.nanmedian(m, axis=1)

    @property
    def mean_median(self) -> float:
        """The reference's summary: mean over repeats of the per-repeat medians (larger = more robust)."""
        return float(np.mean(self.medians))


@torch.no_grad()
def blended_uniform_noise_init(model: nn.Module, x: torch.Tensor, y: torch.Tensor, directions: int = 1000,
                               steps: int = 50, chunk: int = 64, generator: torch.Generator | None = None
                               ) -> tuple[torch.Tensor, torch.Tensor]:
    """Starting points for the boundary attack: foolbox's LinearSearchBlendedUniformNoiseAttack, re-scheduled.

    The algorithm is foolbox's (3.3.4, the reference's default init attack with ``steps=50``): for each
    image, draw uniform-noise images in [0, 1] until one is misclassified (at most ``directions`` draws;
    the first misclassified draw is kept), then blend ``(1 - b) x + b noise`` and keep the smallest ``b`` on
    the grid ``linspace(0, 1, steps + 1)`` that is misclassified. Only the schedule differs: foolbox evaluates
    the whole batch for every draw, so one image that resists 1,000 draws costs 1,000 forward passes of the
    batch; here the draws continue, ``chunk`` at a time, for the unresolved images only, and the blend
    grid is scanned in a few batched passes. As in foolbox, an image without a misclassified draw is
    still line-searched towards its latest draw (intermediate blends can be misclassified). Per image
    the result has the same distribution as foolbox's; the random stream differs.

    Args:
        model: (B, C, H, W) in [0, 1] -> logits, in eval mode.
        x: (N, C, H, W) float in [0, 1]; y: (N,) the labels that must change (the model's predictions).
        directions, steps: foolbox's parameters (at most ``directions`` draws; ``steps + 1`` blend factors).
        chunk: draws per image per forward pass after the first round.
        generator: source of the noise draws; None = torch's global generator (as foolbox).
    Returns:
        (start, found): start (N, C, H, W), the misclassified blended starting point where found, else
        ``x``; found (N,) bool.
    """
    if directions < 1 or steps < 1 or chunk < 1:
        raise ConfigError("directions/steps/chunk", (directions, steps, chunk), "integers >= 1")
    n = len(x)
    noise = torch.empty_like(x)
    found = torch.zeros(n, dtype=torch.bool, device=x.device)
    drawn = 0
    per_round = 1  # one draw each first (most images are resolved by it), then ``chunk`` at a time
    while drawn < directions and not bool(found.all()):
        todo = (~found).nonzero().flatten()
        k = min(per_round, directions - drawn)
        cand = torch.rand((k, len(todo), *x.shape[1:]), device=x.device, dtype=x.dtype, generator=generator)
        pred = model(cand.flatten(0, 1)).argmax(1).view(k, len(todo))
        adv = pred != y[todo]
        hit = adv.any(0)
        first = adv.to(torch.uint8).argmax(0)  # the first misclassified draw of each image
        noise[todo[hit]] = cand[first[hit], hit.nonzero().flatten()]
        noise[todo[~hit]] = cand[-1, ~hit]  # as foolbox: an unresolved image keeps its latest draw
        found[todo[hit]] = True
        drawn += k
        per_round = chunk
    # Line search for every image, as foolbox: an image without a misclassified draw can still become
    # misclassified somewhere on the segment towards its latest draw.
    grid = torch.linspace(0, 1, steps + 1, device=x.device, dtype=x.dtype)
    best = torch.ones(n, device=x.device, dtype=x.dtype)
    hit_any = torch.zeros(n, dtype=torch.bool, device=x.device)
    for block in grid.split(max(1, chunk // 4)):  # stop once every image has a blend below 1 (foolbox's rule)
        b = block.view(-1, 1, 1, 1, 1)
        adv = model(((1 - b) * x + b * noise).flatten(0, 1)).argmax(1).view(len(block), n) != y
        best = torch.minimum(best, torch.where(adv, block.view(-1, 1), torch.ones_like(best)).amin(0))
        hit_any |= adv.any(0)
        if bool((best < 1).all()):
            break
    b = best.view(-1, 1, 1, 1)
    return torch.where(hit_any.view(-1, 1, 1, 1), (1 - b) * x + b * noise, x), hit_any


class BoundaryAttack:
    """Foolbox's decision-based boundary attack, minimal-perturbation mode (spec §9.4).

    The reference protocol is the default: ``foolbox.attacks.BoundaryAttack(steps=50)`` with its default
    init attack (LinearSearchBlendedUniformNoiseAttack(steps=50)), criterion = misclassification of the
    model's *own* predicted label, ``epsilons=None`` (unbounded), bounds (0, 1). 50 steps is far from
    converged; pass e.g. ``steps=2000`` for the spectral analysis.

    Batched calls (``batch_size`` images per foolbox call) are much faster than the reference's per-image
    calls; samples of one batch share foolbox's step-size adaptation, so results differ slightly from
    per-image calls (``batch_size=1`` reproduces those). The default init attack is foolbox's blended
    uniform noise, scheduled per image (:func:`blended_uniform_noise_init`: same algorithm, far fewer
    forward passes when an image resists); pass ``init_attack=`` to use a foolbox init attack instead.
    Images the init attack cannot make adversarial (foolbox would raise ValueError for the whole batch)
    are marked failed and the boundary attack runs on the rest from the init attack's starting points.
    Failures are returned in ``success`` and counted, never dropped silently.

    Each repeat ``r`` reruns the attack on the same images with torch seed derived from ``(seed, r)``;
    foolbox draws from torch's global generator, which we fork so the caller's global state is untouched.
    """

    def __init__(self, steps: int = 50, repeats: int = 5, batch_size: int = 100, **foolbox_kwargs):
        if steps < 1:
            raise ConfigError("steps", steps, "an integer >= 1")
        if repeats < 1:
            raise ConfigError("repeats", repeats, "an integer >= 1")
        if batch_size < 1:
            raise ConfigError("batch_size", batch_size, "an integer >= 1")
        self.steps, self.repeats, self.batch_size = int(steps), int(repeats), int(batch_size)
        self.foolbox_kwargs = foolbox_kwargs

    def __repr__(self) -> str:
        extra = "".join(f", {k}={v!r}" for k, v in sorted(self.foolbox_kwargs.items()))
        return f"BoundaryAttack(steps={self.steps}, repeats={self.repeats}, batch_size={self.batch_size}{extra})"

    def _run_batch(self, model, fmodel, x: torch.Tensor, y: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """Attack one batch. The init attack runs once on the whole batch; images it cannot make adversarial
        are marked failed (NaN), and the boundary attack runs on the others from those starting points.

        This is what foolbox does inside ``BoundaryAttack.run``, except that foolbox raises ValueError for
        the whole batch when any init fails; splitting here keeps the batch and loses only the failures.
        """
        start, ok = self._starts(model, fmodel, x, y)
        return self._attack_from(fmodel, x, y, start, ok)

    def _starts(self, model, fmodel, x: torch.Tensor, y: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """The init attack's starting points of one batch and whether each is adversarial."""
        fb = import_foolbox()
        init = self.foolbox_kwargs.get("init_attack")
        if init is None:  # the reference's default init attack, scheduled per image (see the function)
            return blended_uniform_noise_init(model, x, y)
        with warnings.catch_warnings():  # init-attack failures are counted, not warned about
            warnings.filterwarnings("ignore", message=".*failed to draw sufficient random", category=UserWarning)
            start = init.run(fmodel, x, fb.criteria.Misclassification(y))
        with torch.no_grad():
            ok = fmodel(start).argmax(-1) != y
        return start, ok

    def _attack_from(self, fmodel, x: torch.Tensor, y: torch.Tensor, start: torch.Tensor, ok: torch.Tensor
                     ) -> tuple[torch.Tensor, torch.Tensor]:
        """foolbox's boundary attack from ``start`` on the images where ``ok``; NaN and False elsewhere."""
        fb = import_foolbox()
        adv = torch.full_like(x, float("nan"))
        success = torch.zeros(len(x), dtype=torch.bool, device=x.device)
        if ok.any():
            kwargs = {k: v for k, v in self.foolbox_kwargs.items() if k != "init_attack"}
            attack = fb.attacks.BoundaryAttack(steps=self.steps, **kwargs)
            sub_adv, _, sub_ok = attack(fmodel, x[ok], fb.criteria.Misclassification(y[ok]), epsilons=None,
                                        starting_points=start[ok])
            adv[ok], success[ok] = sub_adv, sub_ok
        return adv, success

    def __call__(self, model: nn.Module, images: torch.Tensor, seed: int = 0) -> BoundaryResult:
        """Args:
            model: (B, C, H, W) float in [0, 1] -> logits.
            images: (N, C, H, W) float in [0, 1].
            seed: base seed; repeat r uses torch seed ``seed * 1000 + r``.
        """
        fb = import_foolbox()
        device = model_device(model)
        x_all = images.to(device)
        with eval_mode(model):
            fmodel = fb.PyTorchModel(model, bounds=(0, 1), device=device)
            with torch.no_grad():
                labels = torch.cat([model(x_all[i:i + self.batch_size]).argmax(1)
                                    for i in range(0, len(x_all), self.batch_size)])
            deltas, successes = [], []
            for r in range(self.repeats):
                with torch.random.fork_rng(devices=[device] if device.type == "cuda" else []):
                    torch.manual_seed(seed * 1000 + r)
                    d_r, s_r = [], []
                    for i in range(0, len(x_all), self.batch_size):
                        x, y = x_all[i:i + self.batch_size], labels[i:i + self.batch_size]
                        adv, ok = self._run_batch(model, fmodel, x, y)
                        d_r.append((adv - x).cpu())
                        s_r.append(ok.cpu())
                deltas.append(torch.cat(d_r))
                successes.append(torch.cat(s_r))
        delta = torch.stack(deltas)
        success = torch.stack(successes)
        delta[~success] = float("nan")
        mse = delta.flatten(2).pow(2).mean(2)
        return BoundaryResult(delta=delta, success=success, mse=mse, labels=labels.cpu())


@dataclass
class BoundaryIterates:
    """The boundary attack's perturbations at checkpoints of one run (:func:`boundary_iterates`).

    Attributes:
        start: (N, C, H, W) float32, ``start − x``: the direction the init attack's starting point alone implies
            (:func:`pixelreg.robustness.spectra.start_direction`); NaN where the init found no start.
        deltas: steps -> (N, C, H, W) float32, ``adv − x`` after that many boundary steps; NaN where failed.
            Holds every checkpoint the attack reached (all of them unless ``stop`` ended it early).
        success: (N,) bool, True where the init found an adversarial start (the attack then stays adversarial).
        labels: (N,) int64, the model's own predictions (the criterion).
        steps_run: the boundary steps actually run (the last checkpoint reached).
        stopped_early: True when ``stop`` ended the attack before its last checkpoint.
    """

    start: torch.Tensor
    deltas: dict[int, torch.Tensor]
    success: torch.Tensor
    labels: torch.Tensor
    steps_run: int
    stopped_early: bool


class _StopBoundary(Exception):
    """Raised inside foolbox's loop to end a checkpointed boundary attack early."""


@contextlib.contextmanager
def _watch_boundary(watch: Callable[[int, torch.Tensor], None]):
    """For the block, foolbox's boundary attack calls ``watch(k, best)`` before its step k + 1, where ``best`` is its
    current best adversarial batch (the result it would return after ``k`` steps).

    foolbox 3.3.4's ``BoundaryAttack.run`` calls the module function ``draw_proposals(bounds, originals, best_advs,
    ...)`` once per step with its current best adversarials; the block wraps that function (restored afterwards).
    Nothing else of the attack changes: its random stream and its step-size adaptation are those of one
    uninterrupted run (tests/test_convergence.py checks the iterate after k steps against ``steps=k``).
    """
    fb = import_foolbox()
    module = fb.attacks.boundary_attack
    original = module.draw_proposals
    calls = [0]

    def draw_proposals(bounds, originals, perturbed, *args):
        watch(calls[0], perturbed.raw)
        calls[0] += 1
        return original(bounds, originals, perturbed, *args)

    module.draw_proposals = draw_proposals
    try:
        yield
    finally:
        module.draw_proposals = original


def check_checkpoints(checkpoints: Sequence[int]) -> tuple[int, ...]:
    """Checkpoints as a strictly increasing tuple of integers >= 1 (ConfigError otherwise)."""
    cps = tuple(checkpoints)
    if not cps or any(not isinstance(c, (int, np.integer)) or isinstance(c, bool) or c < 1 for c in cps) \
            or any(b <= a for a, b in zip(cps, cps[1:])):
        raise ConfigError("checkpoints", cps, "a non-empty, strictly increasing sequence of integers >= 1 (steps)")
    return tuple(int(c) for c in cps)


@dataclass
class _Starts:
    """What :func:`boundary_iterates` and :func:`hopskipjump_iterates` share: the images, the model's labels,
    the init attack's starting points and where it found one (:func:`_from_boundary_starts`)."""

    fb: object
    fmodel: object
    x: torch.Tensor
    labels: torch.Tensor
    start: torch.Tensor
    ok: torch.Tensor

    def full(self, sub: torch.Tensor) -> torch.Tensor:
        """The attacked images' δ = ``sub − x`` in the whole batch (float32, CPU), NaN where no start."""
        d = torch.full_like(self.x, float("nan"))
        d[self.ok] = sub - self.x[self.ok]
        return d.float().cpu()

    def result(self, deltas: dict[int, torch.Tensor], success: torch.Tensor, state: dict) -> BoundaryIterates:
        nan = torch.full_like(self.x, float("nan"))
        start_dir = torch.where(self.ok.view(-1, *([1] * (self.x.ndim - 1))), self.start - self.x, nan)
        return BoundaryIterates(start=start_dir.float().cpu(), deltas=dict(sorted(deltas.items())),
                                success=success.cpu(), labels=self.labels.cpu(), steps_run=int(state["last"]),
                                stopped_early=bool(state["stopped"]))


@contextlib.contextmanager
def _from_boundary_starts(model: nn.Module, images: torch.Tensor, seed: int, init: "BoundaryAttack"
                          ) -> Iterator[_Starts]:
    """In eval mode, under a forked torch generator seeded ``seed * 1000`` (repeat 0 of :class:`BoundaryAttack`):
    the model's labels and ``init``'s starting points; the attack run inside the block continues that generator."""
    fb = import_foolbox()
    device = model_device(model)
    x = images.to(device)
    with eval_mode(model):
        fmodel = fb.PyTorchModel(model, bounds=(0, 1), device=device)
        with torch.no_grad():
            labels = model(x).argmax(1)
        with torch.random.fork_rng(devices=[device] if device.type == "cuda" else []):
            torch.manual_seed(seed * 1000)
            start, ok = init._starts(model, fmodel, x, labels)
            yield _Starts(fb, fmodel, x, labels, start, ok)


def boundary_iterates(model: nn.Module, images: torch.Tensor, checkpoints: Sequence[int],
                      stop: Callable[[int, torch.Tensor], bool] | None = None, seed: int = 0,
                      **foolbox_kwargs) -> BoundaryIterates:
    """One boundary attack on all ``images``, its perturbations kept at each checkpoint (a number of steps).

    The attack is :class:`BoundaryAttack`'s first repeat with ``batch_size >= len(images)`` (the same init, the
    same torch seed ``seed * 1000``, one foolbox call), run for ``max(checkpoints)`` steps; the perturbation
    kept at checkpoint k is exactly what ``BoundaryAttack(steps=k, repeats=1)`` returns on these images, so one
    run of the longest attack measures every shorter one (no restart: a restart from ``starting_points`` would
    reset foolbox's step sizes and success statistics).

    Args:
        model: (B, C, H, W) float in [0, 1] -> logits.
        images: (N, C, H, W) float in [0, 1].
        checkpoints: strictly increasing step counts >= 1.
        stop: ``stop(k, delta)`` is called at every checkpoint but the last with the perturbations after k steps
            ((N, C, H, W), NaN where failed); True ends the attack there (e.g. once it has converged).
        seed: as :class:`BoundaryAttack` (torch seed ``seed * 1000``).
        foolbox_kwargs: as :class:`BoundaryAttack` (passed to foolbox's BoundaryAttack).
    """
    cps = check_checkpoints(checkpoints)
    attack = BoundaryAttack(steps=cps[-1], repeats=1, batch_size=max(1, len(images)), **foolbox_kwargs)
    deltas: dict[int, torch.Tensor] = {}
    state = dict(stopped=False, last=0)
    with _from_boundary_starts(model, images, seed, attack) as s:

        def watch(k: int, best: torch.Tensor) -> None:
            if k in cps[:-1]:
                deltas[k] = s.full(best)
                state["last"] = k
                if stop is not None and stop(k, deltas[k]):
                    state["stopped"] = True
                    raise _StopBoundary

        try:
            with _watch_boundary(watch):
                adv, success = attack._attack_from(s.fmodel, s.x, s.labels, s.start, s.ok)
            d = (adv - s.x).float().cpu()
            for k in cps:  # foolbox ends early only when every step size has collapsed: the rest equal its result
                deltas.setdefault(k, d)
            state["last"] = cps[-1]
        except _StopBoundary:
            success = s.ok.clone()
    return s.result(deltas, success, state)


def hopskipjump_iterates(model: nn.Module, images: torch.Tensor, checkpoints: Sequence[int],
                         stop: Callable[[int, torch.Tensor], bool] | None = None, seed: int = 0,
                         **foolbox_kwargs) -> BoundaryIterates:
    """foolbox's HopSkipJump (Chen, Jordan & Wainwright 2020; L2, untargeted) from the boundary attack's starting
    points, its perturbations kept after each checkpoint's number of iterations.

    The starting points are :class:`BoundaryAttack`'s first repeat (its init attack under torch seed
    ``seed * 1000``), so the start directions are those of the reference protocol; HopSkipJump's own random draws
    follow under the same forked generator. One run of ``max(checkpoints)`` iterations: the iterate after k
    iterations is read where iteration k + 1 begins (foolbox passes it to ``approximate_gradients``), and equals
    what ``HopSkipJumpAttack(steps=k)`` returns (nothing in an iteration depends on the total). ``stop`` and the
    result are as in :func:`boundary_iterates` (``deltas`` keyed by iterations).
    """
    cps = check_checkpoints(checkpoints)
    init = BoundaryAttack(steps=1, repeats=1, batch_size=max(1, len(images)))
    deltas: dict[int, torch.Tensor] = {}
    state = dict(stopped=False, last=0)
    with _from_boundary_starts(model, images, seed, init) as s:
        fb = s.fb

        class _Watched(fb.attacks.HopSkipJumpAttack):
            def select_delta(self, originals, distances, step):  # the first call of each iteration
                self._iteration = step
                return super().select_delta(originals, distances, step)

            def approximate_gradients(self, is_adversarial, x_advs, steps, delta):
                k = self._iteration
                if k in cps[:-1]:
                    deltas[k] = s.full(x_advs.raw)
                    state["last"] = k
                    if stop is not None and stop(k, deltas[k]):
                        state["stopped"] = True
                        raise _StopBoundary
                return super().approximate_gradients(is_adversarial, x_advs, steps, delta)

        success = s.ok.clone()
        try:
            if s.ok.any():
                attack = _Watched(steps=cps[-1], **foolbox_kwargs)
                adv = attack.run(s.fmodel, s.x[s.ok], fb.criteria.Misclassification(s.labels[s.ok]),
                                 starting_points=s.start[s.ok])
                deltas[cps[-1]] = s.full(adv)
            else:
                for k in cps:
                    deltas[k] = torch.full_like(s.x, float("nan")).float().cpu()
            state["last"] = cps[-1]
        except _StopBoundary:
            pass
    return s.result(deltas, success, state)


# --------------------------------------------------------------------------------------------------------
# The registry: every attack the package evaluates, by name. Adding an attack is one entry here (or one
# register() call next to its class, as pixelreg.robustness.spectra does for the band-limited noise):
# evaluate (make_attack, the reference ε grids, the CLI's --attack) and the figures (the noise attacks, the
# labels in prose) read this and nothing else.

def _linspace(hi: float) -> tuple[float, ...]:
    return tuple(float(e) for e in np.linspace(0.0, hi, 10))


def _grids(mnist_like: tuple[float, ...], cifar10: tuple[float, ...], cifar100: tuple[float, ...] | None = None
           ) -> dict[str, tuple[float, ...]]:
    """Per task: Fashion-MNIST uses MNIST's grid (the reference has none of its own), CIFAR-100 CIFAR-10's unless given."""
    return {"mnist": mnist_like, "fashion-mnist": mnist_like, "cifar10": cifar10, "cifar100": cifar100 or cifar10}


@dataclass(frozen=True)
class AttackKind:
    """One registered attack.

    Attributes:
        name: its key in tables, caches and the CLI (``Attack.name`` of what ``make`` builds).
        label: the attack in prose ("Gaussian noise").
        family: "noise" (the paper's random noise), "band" (band-limited noise), "gradient" (FGSM, PGD),
            "minimal" (the boundary attack: minimal perturbations, no ε grid, own API).
        make: ``make(clip=, cutoff=, steps=, source=, source_id=) -> Attack``; None for "minimal".
        grids: the reference ε grid per task, [0, 1] pixel units (10 points, np.linspace(0, hi, 10), spec
            §9.1, unless stated); empty for "minimal".
        units: what ε means.
    """

    name: str
    label: str
    family: str
    make: Callable[..., Attack] | None
    grids: dict[str, tuple[float, ...]]
    units: str

    def __repr__(self) -> str:
        return f"AttackKind({self.name!r}, {self.family})"


ATTACKS: dict[str, AttackKind] = {}
DEFAULT_CUTOFF = 0.1  # cycles/pixel, low/high-pass split of the band-limited noise attacks
FAMILIES = ("noise", "band", "gradient", "minimal")


def register(kind: AttackKind) -> AttackKind:
    """Add an attack to :data:`ATTACKS` (a second registration under the same name is an error)."""
    if kind.family not in FAMILIES:
        raise ConfigError("family", kind.family, f"one of {', '.join(FAMILIES)}")
    if kind.name in ATTACKS:
        raise ConfigError("name", kind.name, "an attack name not registered yet")
    ATTACKS[kind.name] = kind
    return kind


def attacks_of(*families: str) -> tuple[str, ...]:
    """Names of the registered attacks of these families, in registration order."""
    return tuple(n for n, k in ATTACKS.items() if k.family in families)


def _white_box_pgd(steps: int = PGD_STEPS, source=None, source_id=None, **_) -> Attack:
    if source is not None:
        raise ConfigError("source", source_id or type(source).__name__, "only for fgsm (PGD is white-box)")
    return PGD(steps=steps)


# MNIST-like: up to the customary 0.3 (Madry et al.), finer where undefended models still hold out; CIFAR:
# 0, 0.5, 1, 2, 4, 8 and 16 in units of 1/255, as robustness papers report them (8/255 the usual one).
PGD_GRID_MNIST = (0.0, 0.01, 0.02, 0.05, 0.1, 0.2, 0.3)
PGD_GRID_CIFAR = tuple(k / 255 for k in (0, 0.5, 1, 2, 4, 8, 16))

register(AttackKind("gaussian", "Gaussian noise", "noise", lambda clip="bounds", **_: GaussianNoise(clip),
                    _grids(_linspace(0.5), _linspace(0.1)), "per-pixel standard deviation"))
register(AttackKind("uniform", "uniform noise", "noise", lambda clip="bounds", **_: UniformNoise(clip),
                    _grids(_linspace(0.5), _linspace(0.1)), "L-infinity bound"))
register(AttackKind("salt-pepper", "salt-and-pepper noise", "noise", lambda clip="bounds", **_: SaltPepper(clip),
                    _grids(_linspace(0.3), _linspace(0.1)), "fraction of pixels"))
register(AttackKind("fgsm", "FGSM", "gradient",
                    lambda source=None, source_id=None, **_: FGSM(source=source, source_id=source_id),
                    _grids(_linspace(0.5), _linspace(0.02), _linspace(0.005)), "L-infinity step"))
# white-box L∞ PGD: not in the reference (the paper ran no white-box attack)
register(AttackKind("pgd", "white-box PGD", "gradient", _white_box_pgd, _grids(PGD_GRID_MNIST, PGD_GRID_CIFAR),
                    "L-infinity bound"))
register(AttackKind("boundary", "boundary attack", "minimal", None, {}, "minimal perturbation (MSE)"))


def make_attack(name: str, source: nn.Module | None = None, source_id: str | None = None,
                clip: str = "bounds", cutoff: float = DEFAULT_CUTOFF, steps: int = PGD_STEPS) -> Attack:
    """The registered attack ``name`` (:data:`ATTACKS`, not "boundary"); ``source`` makes "fgsm" a transferred FGSM.

    "pgd" is white-box L∞ PGD with ``steps`` iterations and step 2.5·ε/steps (:class:`PGD`; its repr, which
    holds ``steps``, is part of the evaluation cache key).
    """
    kind = ATTACKS.get(name)
    if kind is None or kind.make is None:
        raise ConfigError("attack", name, f"one of {', '.join(attacks_of('noise', 'band', 'gradient'))}")
    return kind.make(clip=clip, cutoff=cutoff, steps=steps, source=source, source_id=source_id)


def epsilon_grids() -> dict[str, dict[str, tuple[float, ...]]]:
    """The reference ε grids as task -> attack -> grid, from the registry."""
    out: dict[str, dict[str, tuple[float, ...]]] = {}
    for name, kind in ATTACKS.items():
        for task, grid in kind.grids.items():
            out.setdefault(task, {})[name] = grid
    return out


__all__ = ["Attack", "GaussianNoise", "UniformNoise", "SaltPepper", "FGSM", "PGD", "PGD_STEPS", "BoundaryAttack",
           "blended_uniform_noise_init", "BoundaryIterates", "boundary_iterates", "hopskipjump_iterates", "check_checkpoints",
           "BoundaryResult", "as_foolbox", "import_foolbox", "check_epsilons", "eval_mode",
           "model_fingerprint", "model_device", "CLIPS", "AttackKind", "ATTACKS", "FAMILIES", "register", "attacks_of",
           "make_attack", "epsilon_grids", "DEFAULT_CUTOFF", "PGD_GRID_MNIST", "PGD_GRID_CIFAR"]
