"""Where and in which arithmetic torch runs: the default device and bfloat16 support.

Imports only torch and :mod:`pixelreg.errors`, so :mod:`pixelreg.experiment.config` can resolve a config's
``precision="auto"`` without importing the models.
"""
from __future__ import annotations

import torch

from pixelreg.errors import ConfigError

__all__ = ["default_device", "PRECISIONS", "bf16_supported", "resolve_precision"]

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
