"""Run configuration: one frozen dataclass, its validation, its hash, the paper's presets and the profiles.

Every field names its paper symbol and unit. A run is identified by :func:`config_hash` of all fields, so
the same config always finds its earlier result and a changed config never reuses a stale one.
"""
from __future__ import annotations

import dataclasses
import math
from dataclasses import dataclass, field, fields
from typing import Any

from pixelreg.errors import ConfigError
from pixelreg.hashing import content_hash
# the method's own vocabulary, owned by the method modules (models, similarity, regularizer)
from pixelreg.models import ARCHS
from pixelreg.regularizer import CRITERIA, PAIR_BN
from pixelreg.similarity import REG_RANGES

TASKS = ("mnist", "fashion-mnist", "cifar10", "cifar100")  # classification datasets
NUM_CLASSES = {"mnist": 10, "fashion-mnist": 10, "cifar10": 10, "cifar100": 100}
REG_DATA = TASKS + ("natural", "imagenet")  # regularization pools
TARGETS = ("thresholded", "pixel", "shuffled", "neural")
TRAIN_PRECISIONS = ("fp32", "bf16", "auto")

DEFAULT_TASK = "fashion-mnist"  # the classification task of the book, the CLI and the figures
# The scale used when none is named (the book, the CLI, the figures, the notebooks): the published evidence,
# whose runs are committed as records (data/results/full), so a default call renders them without training.
DEFAULT_PROFILE = "full"

# A figure's plan: which experiments (dataset pairs, alpha and Th, attacks, epsilon grids), declared in each
# figure's module once per plan. "paper": the paper's datasets (MNIST, CIFAR-10/100, an ImageNet folder);
# "analogue": the offline stand-in (Fashion-MNIST, natural photographs in place of ImageNet). A profile picks a
# plan and a scale; a page's ``plan`` parameter overrides the profile's (the paper's plan at the smoke scale
# runs in the tests, on generated data).
PLANS = ("analogue", "paper")

# Paper epochs per task (CCN paper: CIFAR-100 60, CIFAR-10 40, MNIST 20; Fashion-MNIST not stated, 20 inferred).
PAPER_EPOCHS = {"mnist": 20, "fashion-mnist": 20, "cifar10": 40, "cifar100": 60}


@dataclass(frozen=True)
class TrainConfig:
    """One training run. Field defaults are the reference code's, except where a comment says otherwise."""

    task: str = DEFAULT_TASK  # classification dataset
    reg_data: str | None = None  # regularization pool source; None = same as task
    alpha: float = 0.0  # α, weight of L_sim (reference convention: 4·artanh² loss); 0 = no regularization
    th: float = 0.8  # Th, threshold of S^Th (reference default 0.6 is used in no reported experiment)
    th2: float | None = None  # Th_2 of reg_range "double"
    reg_range: str = "all"  # which pairs i<j are regularized (spec §4.3)
    target: str = "thresholded"  # S^Th ("thresholded"), raw S^pixel ("pixel"), "shuffled" control, "neural"
    criterion: str = "atanh"  # "atanh": 4·(artanh s − artanh t)², "mse": (s − t)²
    pairs: int = 16  # k, regularization pairs per classification step
    pool_size: int = 5000  # N, regularization images
    responses: str | None = None  # .npz of neural responses, for target "neural"
    responses_sha256: str | None = None  # content hash of that file (filled in by resolve())
    imagenet_dir: str | None = None  # image folder for reg_data "imagenet" (where it is; not in the run's hash)
    imagenet_sha256: str | None = None  # digest of that pool's images (filled in by canonical(); names the run)
    arch: str = "resnet18"
    width: int = 64  # base channels (64 in the paper)
    rgb: bool = False  # keep 3 colour channels (CIFAR only); the paper trains on grayscale
    epochs: float = 20  # training epochs (may be fractional at the smoke scale)
    phase_duration: float = 4.0  # epochs per learning-rate phase; 5 phases per cycle
    lr: float = 0.1  # initial SGD learning rate
    lr_decay: float = 0.3  # lr multiplier per phase
    momentum: float = 0.9
    weight_decay: float = 0.0
    batch_size: int = 64  # classification images per step
    valid_portion: float = 0.01  # share of the training split held out for model selection
    train_subset: int | None = None  # use only this many training images (None = all)
    test_subset: int | None = None  # per-epoch test metrics on the first n test images (None = all)
    noise_aug: float = 0.0  # σ of Gaussian noise added to training images (augmentation baseline), [0,1] units
    pair_bn: str = "update"  # BatchNorm running statistics in the pair pathway: PAIR_BN ("update" = reference)
    precision: str = "fp32"  # training arithmetic: "fp32", or "bf16" autocast (BENCHMARKS.md); "auto" is
    # resolved by canonical() to "bf16" where the device runs it natively, else "fp32", before hashing
    seed: int = 0

    def replace(self, **changes: Any) -> "TrainConfig":
        return dataclasses.replace(self, **changes)

    def to_dict(self) -> dict[str, Any]:
        return dataclasses.asdict(self)

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> "TrainConfig":
        names = {f.name for f in fields(cls)}
        unknown = set(d) - names
        if unknown:
            raise ConfigError("config", sorted(unknown), f"unknown fields; allowed: {sorted(names)}")
        return cls(**d)

    @property
    def regularized(self) -> bool:
        return self.alpha > 0

    @property
    def pool_source(self) -> str:
        return self.reg_data or self.task

    def __post_init__(self) -> None:
        self.validate()

    def validate(self) -> "TrainConfig":
        """Raise ConfigError naming the first bad field; return self. Runs on construction."""
        values = self.to_dict()
        for name in _FIELD_RULES:
            check_value(name, values[name], th=self.th)
        if self.reg_range == "double" and self.th2 is None:
            raise ConfigError("th2", None, "reg_range 'double' needs th2 in (0, th)")
        if self.rgb and not self.task.startswith("cifar"):
            raise ConfigError("rgb", self.rgb, "rgb=True needs a CIFAR task (MNIST-like data has one channel)")
        if self.target == "neural" and not self.responses:
            raise ConfigError("responses", self.responses, "target 'neural' needs --responses FILE.npz")
        if self.target != "neural" and self.responses:
            raise ConfigError("responses", self.responses, "only used with --target neural")
        if self.pool_source == "imagenet" and not self.imagenet_dir:
            raise ConfigError("imagenet_dir", None, "reg_data 'imagenet' needs --imagenet-dir FOLDER")
        return self


def _choice(name: str, value: Any, allowed: tuple[str, ...]) -> None:
    if value not in allowed:
        raise ConfigError(name, value, f"one of {', '.join(allowed)}")


def _number(name, value, lo=None, hi=None, open_lo=False, open_hi=False, allowed=""):
    ok = isinstance(value, (int, float)) and not isinstance(value, bool) and math.isfinite(value)
    if ok and lo is not None:
        ok = value > lo if open_lo else value >= lo
    if ok and hi is not None:
        ok = value < hi if open_hi else value <= hi
    if not ok:
        raise ConfigError(name, value, allowed)


def _integer(name, value, lo, allowed):
    if not isinstance(value, int) or isinstance(value, bool) or value < lo:
        raise ConfigError(name, value, allowed)


def _sha256(name, value):
    if not (isinstance(value, str) and len(value) == 64 and all(ch in "0123456789abcdef" for ch in value)):
        raise ConfigError(name, value, "a SHA-256 digest: 64 lowercase hex digits")


def _optional(rule):
    return lambda name, v, ctx: None if v is None else rule(name, v, ctx)


# The rule of every checked TrainConfig field, in the order validate() applies them. Each takes the name to
# report, the value and the config's other values (th2 is checked against th).
_FIELD_RULES: dict[str, Any] = {
    "task": lambda n, v, c: _choice(n, v, TASKS),
    "reg_data": _optional(lambda n, v, c: _choice(n, v, REG_DATA)),
    "target": lambda n, v, c: _choice(n, v, TARGETS),
    "criterion": lambda n, v, c: _choice(n, v, CRITERIA),
    "reg_range": lambda n, v, c: _choice(n, v, REG_RANGES),
    "arch": lambda n, v, c: _choice(n, v, ARCHS),
    "precision": lambda n, v, c: _choice(n, v, TRAIN_PRECISIONS),
    "pair_bn": lambda n, v, c: _choice(n, v, PAIR_BN),
    "alpha": lambda n, v, c: _number(n, v, lo=0.0, allowed="a number >= 0 (0 disables regularization)"),
    "th": lambda n, v, c: _number(n, v, lo=0.0, hi=1.0, open_lo=True, open_hi=True, allowed="a number in (0, 1)"),
    "th2": _optional(lambda n, v, c: _number(n, v, lo=0.0, hi=c["th"], open_lo=True, open_hi=True,
                                             allowed=f"a number in (0, th={c['th']})")),
    "pairs": lambda n, v, c: _integer(n, v, lo=1, allowed="an integer >= 1"),
    "pool_size": lambda n, v, c: _integer(n, v, lo=2, allowed="an integer >= 2"),
    "width": lambda n, v, c: _integer(n, v, lo=1, allowed="an integer >= 1"),
    "batch_size": lambda n, v, c: _integer(n, v, lo=1, allowed="an integer >= 1"),
    "seed": lambda n, v, c: _integer(n, v, lo=0, allowed="an integer >= 0"),
    "epochs": lambda n, v, c: _number(n, v, lo=0.0, open_lo=True, allowed="a number > 0"),
    "phase_duration": lambda n, v, c: _number(n, v, lo=0.0, open_lo=True, allowed="a number > 0"),
    "lr": lambda n, v, c: _number(n, v, lo=0.0, open_lo=True, allowed="a number > 0"),
    "lr_decay": lambda n, v, c: _number(n, v, lo=0.0, hi=1.0, open_lo=True, allowed="a number in (0, 1]"),
    "momentum": lambda n, v, c: _number(n, v, lo=0.0, hi=1.0, open_hi=True, allowed="a number in [0, 1)"),
    "weight_decay": lambda n, v, c: _number(n, v, lo=0.0, allowed="a number >= 0"),
    "valid_portion": lambda n, v, c: _number(n, v, lo=0.0, hi=0.5, open_lo=True, allowed="a number in (0, 0.5]"),
    "noise_aug": lambda n, v, c: _number(n, v, lo=0.0, hi=1.0, allowed="a number in [0, 1] (pixel units)"),
    "train_subset": _optional(lambda n, v, c: _integer(n, v, lo=1, allowed="an integer >= 1, or None for all")),
    "test_subset": _optional(lambda n, v, c: _integer(n, v, lo=1, allowed="an integer >= 1, or None for all")),
    "imagenet_sha256": _optional(lambda n, v, c: _sha256(n, v)),
}


def check_value(field_name: str, value: Any, name: str | None = None, th: float | None = None) -> Any:
    """Check one value by the rule :meth:`TrainConfig.validate` applies to field ``field_name``; return it.

    The ConfigError names ``name`` (default: the field), so a figure parameter that feeds a field (e.g.
    ``noise_sigma`` -> ``noise_aug``) is checked by the field's rule and reported under its own name. ``th``
    is the threshold a ``th2`` must stay below (default: TrainConfig's th).
    """
    if field_name not in _FIELD_RULES:
        raise ConfigError("field_name", field_name, f"a checked TrainConfig field: {', '.join(_FIELD_RULES)}")
    _FIELD_RULES[field_name](name or field_name, value, {"th": TrainConfig.th if th is None else th})
    return value


# Fields added to TrainConfig after runs were published (data/results/): name -> the default that reproduces
# the behaviour before the field existed. A field listed here enters the hash only when it differs from that
# default, so adding a field never orphans the published records. Policy: every new field goes here.
HASH_LATER_FIELDS: dict[str, Any] = {"pair_bn": "update", "imagenet_sha256": None}


def config_hash(config: TrainConfig, length: int = 12) -> str:
    """Stable hash of every field (canonical JSON, floats normalised so 10 and 10.0 agree); a field of
    :data:`HASH_LATER_FIELDS` at its listed default is left out.

    An ImageNet pool is named by its images, not by where they are: ``imagenet_sha256`` enters the hash and
    ``imagenet_dir`` is hashed as null (as for every other pool), so two users with the same images share runs.

    Raises:
        ConfigError: naming ``imagenet_sha256`` for a regularized ImageNet config without it (a config not made
            by :func:`make_config` / :func:`canonical`, which fill it in from the folder).
    """
    d = {k: (float(v) if isinstance(v, (int, float)) and not isinstance(v, bool) and k in _FLOAT_FIELDS else v)
         for k, v in config.to_dict().items()
         if not (k in HASH_LATER_FIELDS and v == HASH_LATER_FIELDS[k])}
    if config.regularized and config.pool_source == "imagenet":
        if not config.imagenet_sha256:
            raise ConfigError("imagenet_sha256", None, "the digest of the ImageNet pool's images, filled in by "
                              "canonical() / make_config() from imagenet_dir; an ImageNet run is named by it")
        d["imagenet_dir"] = None
    return content_hash(d, length=length)  # compact canonical JSON


_FLOAT_FIELDS = {f.name for f in fields(TrainConfig) if "float" in str(f.type)}

# The paper's (alpha, Th) per classification <- regularization pair (spec §10.1; README of the reference code).
PRESETS: dict[str, dict[str, Any]] = {
    "cifar10-cifar10": dict(task="cifar10", reg_data="cifar10", alpha=10.0, th=0.8),
    "cifar10-cifar100": dict(task="cifar10", reg_data="cifar100", alpha=10.0, th=0.8),
    "cifar10-imagenet": dict(task="cifar10", reg_data="imagenet", alpha=10.0, th=0.8),
    "cifar10-natural": dict(task="cifar10", reg_data="natural", alpha=10.0, th=0.8),
    "cifar100-cifar10": dict(task="cifar100", reg_data="cifar10", alpha=10.0, th=0.8),
    "cifar100-cifar100": dict(task="cifar100", reg_data="cifar100", alpha=10.0, th=0.8),
    "cifar100-imagenet": dict(task="cifar100", reg_data="imagenet", alpha=10.0, th=0.8),
    "cifar100-natural": dict(task="cifar100", reg_data="natural", alpha=10.0, th=0.8),
    "mnist-mnist": dict(task="mnist", reg_data="mnist", alpha=4.0, th=0.2),
    "mnist-fashion-mnist": dict(task="mnist", reg_data="fashion-mnist", alpha=10.0, th=0.8),
    "fashion-mnist-mnist": dict(task="fashion-mnist", reg_data="mnist", alpha=10.0, th=0.4),
    "fashion-mnist-fashion-mnist": dict(task="fashion-mnist", reg_data="fashion-mnist", alpha=10.0, th=0.8),
    # Not in the paper's table: our offline stand-in for ImageNet (photographs shipped with scikit-image/foolbox).
    "fashion-mnist-natural": dict(task="fashion-mnist", reg_data="natural", alpha=10.0, th=0.8),
}


PGD_STEPS = 40  # white-box PGD iterations: the customary count (Madry et al. 2018; foolbox's LinfPGD default)


@dataclass(frozen=True)
class Profile:
    """The scale of a profile. ``train`` fills TrainConfig fields; the figures read their seeds, image counts
    and attack steps here (each figure's plan, i.e. its conditions and grids, lives in its own module)."""

    name: str
    description: str
    train: dict[str, Any] = field(default_factory=dict)
    plan: str = "analogue"  # which experiments the figures run (PLANS); the rest of the profile is the scale
    seeds: tuple[int, ...] = (0,)  # seeds of the main comparisons (Figs. 2-4, beyond)
    # seeds of Fig. 2's main comparison (and the diagnostics of its runs) where they exceed ``seeds``; None: ``seeds``.
    # The other pages keep ``seeds``: their attacks cost more, and a page raises its seeds only where it needs them.
    main_seeds: tuple[int, ...] | None = None
    ablation_seeds: tuple[int, ...] = (0,)  # seeds of each ablation cell (Figs. 5-7)
    eval_images: int = 2000  # test images per robustness curve
    boundary_images: int = 20  # images per boundary attack
    boundary_steps: int = 50  # the reference protocol's steps
    alpha: float | None = None  # α used by the figures when none is given; None = the paper's table
    spectra_steps: int = 500  # a stronger boundary attack whose perturbations feed the spectra
    # White-box L∞ PGD of Fig. 3 (not in the paper): iterations (step 2.5·ε/steps, pixelreg.robustness.attacks.PGD) and
    # test images per curve (None = eval_images). Its cost sets these (book/reproduce.md gives the arithmetic).
    pgd_steps: int = PGD_STEPS
    pgd_images: int | None = None
    # Forward passes of the robustness curves: "auto" = bfloat16 autocast where the device runs it natively
    # (BENCHMARKS.md compares it with float32 on trained runs), "fp32" = float32 throughout.
    eval_precision: str = "fp32"
    # Fig. 1's simulated V1 population and response predictor: n_neurons (M), n_train (training images, one
    # trial each; 10% validate early stopping), n_test (held-out images: the pairs analysed), repeats (trials
    # per held-out image), max_epochs / patience / channels (predictor), n_boot (bootstrap resamples).
    fig1: dict[str, Any] = field(default_factory=dict)
    # Failed runs (non-finite loss, or the untrained state selected) are left out of the pages' means and
    # tests. The smoke profile keeps them in, flagged: its 8-step runs are meant to exercise code paths, and
    # most of its regularized runs never beat the untrained network's validation loss.
    drop_failed: bool = True

    @property
    def main_comparison_seeds(self) -> tuple[int, ...]:
        """The seeds of Fig. 2's main comparison: ``main_seeds``, else ``seeds``."""
        return self.main_seeds if self.main_seeds is not None else self.seeds

    def value(self, name: str) -> Any:
        """A TrainConfig field's value at this profile (``make_config(profile)`` would reset the
        regularization fields, e.g. ``pairs`` and ``pool_size``, because an unregularized config ignores them)."""
        defaults = {f.name: f.default for f in fields(TrainConfig)}
        if name not in defaults:
            raise ConfigError("name", name, "a TrainConfig field")
        return self.train.get(name, defaults[name])


# Fig. 1 scales. Li et al. (2019) had ~5,000 single-trial training images and 100 test images x 10 repeats
# per scan, a few thousand neurons per scan.
_FIG1_CPU = dict(n_neurons=1000, n_train=5000, n_test=500, repeats=10, max_epochs=10, patience=3, channels=16,
                 n_boot=200)

PROFILES: dict[str, Profile] = {
    "smoke": Profile(
        "smoke", "tests and CI: seconds per run; proves the code path, not the science",
        alpha=1.0,
        train=dict(width=4, epochs=1, phase_duration=0.2, train_subset=256, test_subset=256, pool_size=64,
                   batch_size=32, pairs=4),
        seeds=(0, 1), ablation_seeds=(0,), eval_images=128, boundary_images=4, boundary_steps=10,
        spectra_steps=20, eval_precision="auto", pgd_steps=3, pgd_images=64, drop_failed=False,
        fig1=dict(n_neurons=60, n_train=300, n_test=60, repeats=4, max_epochs=2, patience=2, channels=8, n_boot=20),
    ),
    "cpu": Profile(
        "cpu", "a 2-core CPU: the paper's method at width 16 on a training subset, one compressed lr cycle; "
        "alpha 1 in the figures, because 158 steps cannot absorb the paper's alpha 10 (Fig. 6 shows both)",
        alpha=1.0,
        train=dict(width=16, epochs=2, phase_duration=0.4, train_subset=5000, test_subset=2000, pool_size=2000),
        seeds=(0, 1, 2), ablation_seeds=(0,), eval_images=1000, boundary_images=16, spectra_steps=200,
        eval_precision="auto", fig1=_FIG1_CPU,
        # PGD: 6 runs (S^Th and unregularized of one pool, 3 seeds) x 12-17 s per curve = 73-104 s
        # (measured, BENCHMARKS.md section 7)
        pgd_steps=10, pgd_images=250,
    ),
    "full": Profile(
        "full", "the evidence runs, trained once on a 2-core CPU and published as records (data/results/full): "
        "the Fashion-MNIST training set (1% held out for model selection), the paper's alpha and Th, one 5-phase lr cycle over 3 epochs, "
        "width 16 (book/reproduce.md gives the arithmetic)",
        train=dict(width=16, epochs=3, phase_duration=0.6, pool_size=5000, batch_size=64, pairs=16,
                   test_subset=2000),
        # main_seeds: Fig. 2's main comparison at seeds 0-9 (issue 22 item 4), published with their evaluations
        # on 2026-12-07; the other pages keep seeds 0-4 (book/reproduce.md).
        seeds=(0, 1, 2, 3, 4), main_seeds=tuple(range(10)), ablation_seeds=(0, 1, 2), eval_images=2000, boundary_images=32,
        spectra_steps=500, eval_precision="bf16", fig1=_FIG1_CPU,
        # PGD: 6 ε > 0 x ~9.6 gradients x 1.3 s per 1,000 images x 0.75 = 56 s per run; 10 runs (S^Th and
        # unregularized of one pool, 5 seeds) = 562 s, 9.4 min of CPU
        pgd_steps=10, pgd_images=750,
    ),
    "paper": Profile(
        "paper", "the paper's protocol on a GPU: the paper's datasets and pairs (MNIST, CIFAR-10/100, ImageNet), "
        "grey images as the paper, width 64, full data, 20/40/60 epochs, 7 seeds; PGD-40 on the full test set",
        train=dict(width=64, phase_duration=4.0, pool_size=5000), plan="paper",
        seeds=tuple(range(7)), ablation_seeds=(0, 1, 2), eval_images=10000, boundary_images=1000,
        spectra_steps=5000,
        fig1=dict(n_neurons=5000, n_train=20000, n_test=1000, repeats=10, max_epochs=100, patience=8, channels=32,
                  n_boot=1000),
    ),
}


def profile(name: str) -> Profile:
    if name not in PROFILES:
        raise ConfigError("profile", name, f"one of {', '.join(PROFILES)}")
    return PROFILES[name]


def make_config(profile_name: str = DEFAULT_PROFILE, preset: str | None = None, **overrides: Any) -> TrainConfig:
    """Build a validated config: profile defaults < preset < explicit overrides (None values are ignored)."""
    prof = profile(profile_name)
    values: dict[str, Any] = dict(prof.train)
    if preset is not None:
        if preset not in PRESETS:
            raise ConfigError("preset", preset, f"one of {', '.join(PRESETS)}")
        values.update(PRESETS[preset])
    values.update({k: v for k, v in overrides.items() if v is not None})
    task = values.get("task", TrainConfig.task)
    if "epochs" not in values:
        values["epochs"] = PAPER_EPOCHS.get(task, 20)
    names = {f.name for f in fields(TrainConfig)}
    unknown = set(values) - names
    if unknown:
        raise ConfigError("config", sorted(unknown), f"unknown fields; allowed: {sorted(names)}")
    for k in _FLOAT_FIELDS & set(values):
        if isinstance(values[k], int) and not isinstance(values[k], bool):
            values[k] = float(values[k])
    return canonical(TrainConfig(**values))


_REG_FIELDS = ("reg_data", "th", "th2", "reg_range", "target", "criterion", "pairs", "pool_size", "responses",
               "responses_sha256", "imagenet_dir", "imagenet_sha256", "pair_bn")


def canonical(config: TrainConfig) -> TrainConfig:
    """Reset fields that cannot influence the run, so equivalent configs share one hash and one run.

    An unregularized run (α = 0) ignores every regularization field, a pool other than ImageNet ignores
    ``imagenet_dir``; a raw-similarity target over all pairs
    (target "pixel" or "neural" with reg_range "all") ignores Th. Precision "auto" becomes the precision it
    resolves to on this machine's default device, so the hash names the arithmetic that actually ran.
    An ImageNet pool without ``imagenet_sha256`` gets it from its folder
    (:func:`pixelreg.experiment.imagefolder.pool_digest`: the pool's files, read once per process), so planning
    an ImageNet run needs the folder; a config that has it (read from a run or a record) keeps it.

    Raises:
        ConfigError: naming ``imagenet_dir`` when an ImageNet pool's folder is missing, not a folder, or holds
            fewer than ``pool_size`` images.
    """
    defaults = {f.name: f.default for f in fields(TrainConfig)}
    if config.precision == "auto":
        from pixelreg.device import resolve_precision  # torch is needed only to probe the processor

        config = config.replace(precision=resolve_precision("auto"))
    if not config.regularized:
        return config.replace(**{k: defaults[k] for k in _REG_FIELDS})
    if config.pool_source != "imagenet":
        if config.imagenet_dir is not None or config.imagenet_sha256 is not None:
            config = config.replace(imagenet_dir=None, imagenet_sha256=None)  # only an ImageNet pool reads them
    elif config.imagenet_sha256 is None:
        from pixelreg.experiment.imagefolder import pool_digest  # reads the pool's files (no torch at import)

        config = config.replace(imagenet_sha256=pool_digest(config.imagenet_dir, config.pool_size, config.seed))
    if config.target in ("pixel", "neural") and config.reg_range == "all":
        return config.replace(th=defaults["th"], th2=None)
    return config


def condition_label(config: Any) -> str:
    """Condition of a run for tables and plots.

    "unregularized" (α = 0), "noise-aug" (α = 0 and Gaussian noise augmentation), else by target:
    "S^Th" (thresholded), "S^pixel" (pixel), "shuffled", "neural"; " (task BN)" is appended for
    ``pair_bn="task-only"`` and " + noise-aug" for a regularized run with noise augmentation. Missing fields
    take their defaults.
    """
    alpha = float(getattr(config, "alpha", 0.0) or 0.0)
    aug = float(getattr(config, "noise_aug", 0.0) or 0.0) > 0
    if alpha == 0:
        return "noise-aug" if aug else "unregularized"
    target = getattr(config, "target", "thresholded")
    label = {"thresholded": "S^Th", "pixel": "S^pixel"}.get(target, str(target))
    if getattr(config, "pair_bn", "update") == "task-only":
        label += " (task BN)"
    return label + " + noise-aug" if aug else label
