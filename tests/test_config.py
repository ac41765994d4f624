import dataclasses
import math

import pytest

from pixelreg.experiment.config import PRESETS, TrainConfig, config_hash, make_config
from pixelreg.errors import ConfigError
from pixelreg.experiment.train import learning_rate


def test_profile_then_preset_then_flags():
    c = make_config("smoke", preset="mnist-mnist")
    assert (c.task, c.reg_data, c.alpha, c.th, c.width) == ("mnist", "mnist", 4.0, 0.2, 4)
    c = make_config("smoke", preset="mnist-mnist", alpha=2, width=8)
    assert (c.alpha, c.width, c.th) == (2.0, 8, 0.2)
    assert make_config("paper", task="cifar100").epochs == 60
    assert make_config("paper", task="cifar10").epochs == 40
    assert make_config("paper", task="mnist").epochs == 20


def test_hash_is_stable_and_sensitive():
    a = make_config("smoke", alpha=10)
    b = make_config("smoke", alpha=10.0)
    assert config_hash(a) == config_hash(b)
    assert config_hash(a) != config_hash(a.replace(seed=1))
    assert config_hash(a) != config_hash(a.replace(th=0.4))
    # The hash is of the content, not of object identity: a round trip through a dict keeps it.
    assert config_hash(TrainConfig.from_dict(a.to_dict())) == config_hash(a)


@pytest.mark.parametrize("field,value,needle", [
    ("th", 1.5, "(0, 1)"), ("th", 0.0, "(0, 1)"), ("th", 1.0, "(0, 1)"),
    ("alpha", -1.0, ">= 0"), ("pairs", 0, ">= 1"), ("pool_size", 1, ">= 2"),
    ("task", "imagenet21k", "fashion-mnist"), ("reg_data", "svhn", "natural"),
    ("arch", "vgg16", "resnet18"), ("reg_range", "diagonal", "positive"),
    ("target", "brain", "thresholded"), ("criterion", "l1", "atanh"), ("noise_aug", 2.0, "[0, 1]"),
    ("precision", "fp16", "bf16"),
])
def test_bad_values_name_the_parameter(field, value, needle):
    with pytest.raises(ConfigError) as e:
        make_config("smoke", **{field: value})
    assert field in str(e.value) and needle in str(e.value)


def test_th2_rules():
    with pytest.raises(ConfigError, match="th2"):
        make_config("smoke", th=0.4, th2=0.5, reg_range="double")
    with pytest.raises(ConfigError, match="th2"):
        make_config("smoke", reg_range="double")
    assert make_config("smoke", alpha=10, th=0.8, th2=0.2, reg_range="double").th2 == 0.2


def test_rgb_only_for_cifar_and_unknown_preset():
    with pytest.raises(ConfigError, match="rgb"):
        make_config("smoke", task="mnist", rgb=True)
    with pytest.raises(ConfigError, match="preset"):
        make_config("smoke", preset="mnist-imagenet")
    with pytest.raises(ConfigError, match="profile"):
        make_config("laptop")


def test_presets_match_the_paper_table():
    # Spec §10.1: alpha 10 / Th 0.8 everywhere except MNIST<-MNIST (4, 0.2) and FMNIST<-MNIST (10, 0.4).
    assert PRESETS["mnist-mnist"]["alpha"] == 4 and PRESETS["mnist-mnist"]["th"] == 0.2
    assert PRESETS["fashion-mnist-mnist"]["th"] == 0.4
    others = [v for k, v in PRESETS.items() if k not in ("mnist-mnist", "fashion-mnist-mnist")]
    assert all(v["alpha"] == 10 and v["th"] == 0.8 for v in others)


def test_cyclic_schedule_matches_reference_formula():
    c = make_config("paper", task="cifar10")  # phase_duration 4, 5 phases per 20-epoch cycle
    for e in range(40):
        expected = 0.1 * 0.3 ** ((e % 20) // 4)
        for frac in (0.0, 0.5, 0.99):
            assert math.isclose(learning_rate(c, e + frac), expected, rel_tol=1e-12)
    assert math.isclose(learning_rate(c, 20.0), 0.1)  # the reset at the start of the second cycle
    short = c.replace(phase_duration=0.4)
    assert math.isclose(learning_rate(short, 0.79), 0.03) and math.isclose(learning_rate(short, 0.8), 0.009)


def test_equivalent_configs_share_a_hash():
    # alpha 0 ignores every regularization field; a raw pixel target over all pairs ignores Th.
    a = make_config("cpu", alpha=0, th=0.4, reg_data="natural", pool_size=100)
    b = make_config("cpu", alpha=0)
    assert config_hash(a) == config_hash(b)
    assert config_hash(make_config("cpu", alpha=10, target="pixel", th=0.4)) == \
        config_hash(make_config("cpu", alpha=10, target="pixel", th=0.8))
    assert config_hash(make_config("cpu", alpha=10, th=0.4)) != config_hash(make_config("cpu", alpha=10, th=0.8))


def test_profiles_evaluate_in_a_known_precision():
    """The paper profile scores in float32 (the authors' setting); the small profiles may use bfloat16
    where native. Every profile's value is one the evaluation accepts."""
    from pixelreg.experiment.config import PROFILES
    from pixelreg.robustness.evaluate import PRECISIONS, resolve_precision

    assert PROFILES["paper"].eval_precision == "fp32"
    for p in PROFILES.values():
        assert p.eval_precision in PRECISIONS
        assert resolve_precision(p.eval_precision) in ("fp32", "bf16")


def test_training_precision_is_resolved_and_hashed():
    """"auto" never reaches the hash: it becomes the precision this machine's default device would run."""
    from pixelreg.models import resolve_precision

    auto = make_config("smoke", precision="auto")
    assert auto.precision == resolve_precision("auto") in ("fp32", "bf16")
    assert config_hash(auto) == config_hash(make_config("smoke", precision=auto.precision))
    assert config_hash(make_config("smoke", precision="fp32")) != config_hash(make_config("smoke", precision="bf16"))
    assert make_config("paper", task="mnist").precision == "fp32"  # the authors' arithmetic


def test_constants_are_config_s_own_objects():
    """config owns the constants; the modules that use them import them (the same objects, not copies)."""
    from pixelreg import models, regularizer, similarity
    from pixelreg.experiment import config, data

    assert similarity.REG_RANGES is config.REG_RANGES
    assert regularizer.CRITERIA is config.CRITERIA
    assert data.DATASETS is config.TASKS and data.NUM_CLASSES is config.NUM_CLASSES
    assert data.REG_DATA is config.REG_DATA and models.ARCHS is config.ARCHS


def test_a_field_added_later_leaves_published_hashes_alone(monkeypatch):
    """A field listed in HASH_LATER_FIELDS enters the hash only away from its listed default: the hash of a
    config at that default equals the hash of the same config without the field."""
    import hashlib
    import json

    from pixelreg.experiment import config

    cfg = make_config("smoke")
    published = dict(config.HASH_LATER_FIELDS)
    before = config.config_hash(cfg)
    monkeypatch.setattr(config, "HASH_LATER_FIELDS", {**published, "noise_aug": cfg.noise_aug})
    d = {k: (float(v) if k in config._FLOAT_FIELDS and isinstance(v, (int, float)) and not isinstance(v, bool)
             else v) for k, v in cfg.to_dict().items() if k != "noise_aug" and k not in published}
    without = hashlib.sha256(json.dumps(d, sort_keys=True, separators=(",", ":")).encode()).hexdigest()[:12]
    assert config.config_hash(cfg) == without != before
    other = dataclasses.replace(cfg, noise_aug=0.1)
    assert config.config_hash(other) not in (without, before)
    monkeypatch.setattr(config, "HASH_LATER_FIELDS", published)
    assert config.config_hash(cfg) == before


def test_pair_bn_is_a_later_field():
    """pair_bn at the reference's "update" leaves every published hash alone; "task-only" is another run; an
    unregularized run ignores it; a bad value is rejected naming the field."""
    from pixelreg.experiment import config

    assert config.HASH_LATER_FIELDS["pair_bn"] == "update" == TrainConfig.pair_bn
    reg = make_config("full", preset="fashion-mnist-natural")
    alt = make_config("full", preset="fashion-mnist-natural", pair_bn="task-only")
    assert config.config_hash(reg) != config.config_hash(alt)
    assert make_config("full", alpha=0.0, pair_bn="task-only") == make_config("full", alpha=0.0)
    with pytest.raises(ConfigError) as err:
        make_config("full", preset="fashion-mnist-natural", pair_bn="off")
    assert err.value.param == "pair_bn"


def test_main_seeds_raise_only_the_main_comparison(monkeypatch):
    """A profile's main_seeds drive Fig. 2 (and the diagnostics of its runs), not the other pages."""
    import dataclasses
    from pixelreg.experiment import config as cfg
    from pixelreg.figures.beyond import Beyond
    from pixelreg.figures.diagnostics import Diagnostics
    from pixelreg.figures.fig2 import Fig2
    smoke = cfg.PROFILES["smoke"]
    assert smoke.main_comparison_seeds == smoke.seeds  # None: the profile's seeds
    monkeypatch.setitem(cfg.PROFILES, "smoke", dataclasses.replace(smoke, main_seeds=(0, 1, 7)))
    assert {c.seed for c in Fig2(profile="smoke").configs()} == {0, 1, 7}
    assert Diagnostics(profile="smoke").seeds == (0, 1, 7)
    assert {c.seed for c in Beyond(profile="smoke").configs()} == set(smoke.seeds)


def test_the_docs_name_the_default_profile():
    """README's profile table, the intro and the reproduce page's parameter table name the one default profile
    (pixelreg.experiment.config.DEFAULT_PROFILE), and no other profile is called the default."""
    import re
    from pathlib import Path

    from pixelreg.experiment.config import DEFAULT_PROFILE, PROFILES

    root = Path(__file__).resolve().parents[1]
    readme = (root / "README.md").read_text()
    marked = re.findall(r"^\| `(\w+)` \(default\) \|", readme, flags=re.M)
    assert marked == [DEFAULT_PROFILE]
    intro = (root / "book" / "intro.md").read_text()
    assert f"`{DEFAULT_PROFILE}` (the default" in intro
    assert not [p for p in PROFILES if p != DEFAULT_PROFILE and f"`{p}` (the default" in intro]
    assert f"`None` = `{DEFAULT_PROFILE}` (`pixelreg.experiment.config.DEFAULT_PROFILE`)" in (
        root / "book" / "reproduce.md").read_text()
