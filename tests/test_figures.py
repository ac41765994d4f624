"""Figure functions: each figure's data function and configs function agree on their shared defaults.

The book trains the runs named by ``figN_configs`` (with the notebooks' parameters); the claims page calls
``figN_data`` with its defaults. If the two disagreed (as fig6's alpha grid once did), the claims page would
train and judge different runs from the ones the figure shows.
"""
from __future__ import annotations

import inspect

import pytest

import pixelreg.figures as F


@pytest.mark.parametrize("name", sorted(F.CONFIG_FUNCTIONS))
def test_data_and_configs_defaults_agree(name):
    configs, data = F.CONFIG_FUNCTIONS[name], getattr(F, f"{name}_data")
    pc, pd_ = inspect.signature(configs).parameters, inspect.signature(data).parameters
    shared = [k for k in pc if k in pd_]
    assert {"profile", "task", "reg_data"} <= set(shared)
    for k in shared:
        assert pc[k].default == pd_[k].default, (name, k, pc[k].default, pd_[k].default)
