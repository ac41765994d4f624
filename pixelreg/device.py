"""Where and in which arithmetic torch runs: the default device and bfloat16 support.

Imports only torch and :mod:`pixelreg.errors`, so :mod:`pixelreg.experiment.config` can resolve a config's
``precision="auto"`` without importing the models.
"""
from __future__ import annotations

import contextlib

import torch
import torch.nn.functional as F
from torch.overrides import TorchFunctionMode

from pixelreg.errors import ConfigError

__all__ = ["default_device", "PRECISIONS", "bf16_supported", "resolve_precision", "bf16_autocast"]

PRECISIONS = ("fp32", "bf16", "auto")


def default_device(device: str | torch.device | None = None) -> torch.device:
    """``device`` as a torch.device; None = "cuda" when available, else "cpu" (training and evaluation)."""
    if device is None:
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    return torch.device(device)


def bf16_supported(device: str | torch.device = "cpu") -> bool:
    """True when ``device`` runs bfloat16 natively: a CUDA GPU that supports it, or a CPU with AVX-512 BF16.

    On CPUs without it, bfloat16 autocast is emulated and slower than float32, so "auto" picks float32.
    """
    device = torch.device(device)
    if device.type == "cuda":
        return bool(torch.cuda.is_available() and torch.cuda.is_bf16_supported())
    if device.type != "cpu":
        return False
    probe = getattr(torch.cpu, "_is_avx512_bf16_supported", None)  # private in torch 2.x; absent = unknown
    try:
        return bool(probe()) if probe is not None else False
    except RuntimeError:  # pragma: no cover - a build without the probe
        return False


def resolve_precision(precision: str, device: str | torch.device = "cpu") -> str:
    """"fp32" or "bf16" for an evaluation on ``device``; "auto" = "bf16" where native (bf16_supported)."""
    if precision not in PRECISIONS:
        raise ConfigError("precision", precision, f"one of {PRECISIONS}")
    if precision == "auto":
        return "bf16" if bf16_supported(device) else "fp32"
    return precision


_CONVS = {F.conv1d, F.conv2d, F.conv3d}


def _bf16(t):
    return t.to(torch.bfloat16).float() if isinstance(t, torch.Tensor) and t.is_floating_point() else t


class _EmulatedBf16Conv(TorchFunctionMode):
    """Convolutions as a native bfloat16 kernel computes them, at float32 speed: operands rounded to bfloat16
    (products of two bfloat16 numbers are exact in float32), accumulated in float32, the output rounded to
    bfloat16. Everything else runs under the enclosing autocast unchanged."""

    def __torch_function__(self, func, types, args=(), kwargs=None):
        kwargs = kwargs or {}
        if func in _CONVS:
            with torch.autocast("cpu", enabled=False):
                return func(*[_bf16(a) for a in args], **{k: _bf16(v) for k, v in kwargs.items()}).to(torch.bfloat16)
        return func(*args, **kwargs)


def bf16_autocast(device: str | torch.device, enabled: bool = True) -> contextlib.AbstractContextManager:
    """bfloat16 autocast on ``device`` (a no-op when not ``enabled``).

    On a CPU without native bfloat16 (no AVX-512 BF16), torch's bfloat16 convolution falls back to a kernel
    about 15x slower than float32 (BENCHMARKS.md section 3b); there the convolutions are emulated instead
    (:class:`_EmulatedBf16Conv`: the same bfloat16 operands and output, float32 accumulation as in the native
    kernel; only the order of the float32 additions may differ). Scores agree with torch's own bfloat16 path
    (tests/test_device.py), so evaluation keys with ``precision="bf16"`` stay one quantity on every machine.
    """
    device = torch.device(device)
    if not enabled:
        return contextlib.nullcontext()
    stack = contextlib.ExitStack()
    stack.enter_context(torch.autocast(device.type, dtype=torch.bfloat16))
    if device.type == "cpu" and not bf16_supported(device):
        stack.enter_context(_EmulatedBf16Conv())
    return stack
