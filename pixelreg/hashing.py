"""One content-hash helper: every name the package derives from its inputs (a run's hash, an evaluation's
cache key, a tensor's file name, a sweep id, a transfer source's fingerprint) is :func:`content_hash` of them.

A part is hashed by what it is: a ``str`` as its UTF-8 bytes, ``bytes`` as they are, an array or tensor as
its contiguous CPU bytes (no shape or dtype: callers that need them pass them as another part), and anything
else as canonical JSON (sorted keys; objects JSON cannot encode become ``str(obj)``).

The JSON spelling is part of published names, so it is a parameter, not a choice made here: ``compact=True``
(no spaces) names runs (:func:`pixelreg.experiment.config.config_hash`) and evaluation caches
(:func:`pixelreg.experiment.runs.params_hash`); ``compact=False`` (json's default separators) names the tensors
kept beside an evaluation and Fig. 1's predictors. Changing either would orphan every published record.
"""
from __future__ import annotations

import hashlib
import json
from typing import Any

ALGORITHMS = ("sha256", "sha1")  # sha1: in-memory keys and the transfer-source fingerprints of older caches


def canonical_json(obj: Any, compact: bool = True) -> str:
    """``obj`` as JSON with sorted keys; ``compact`` drops the spaces after ``,`` and ``:``."""
    return json.dumps(obj, sort_keys=True, separators=(",", ":") if compact else None, default=str)


def _bytes(part: Any, compact: bool) -> bytes:
    if isinstance(part, bytes):
        return part
    if isinstance(part, str):
        return part.encode()
    if hasattr(part, "detach") and hasattr(part, "numpy"):  # a torch tensor (torch is not imported here)
        return part.detach().cpu().contiguous().numpy().tobytes()
    if hasattr(part, "tobytes") and hasattr(part, "dtype"):  # a numpy array
        import numpy as np

        return np.ascontiguousarray(part).tobytes()
    return canonical_json(part, compact).encode()


def content_hash(*parts: Any, length: int | None = 12, algorithm: str = "sha256", compact: bool = True) -> str:
    """Hex digest of ``parts`` fed in order, cut to ``length`` digits (None: the whole digest).

    Args:
        parts: str, bytes, arrays/tensors, or JSON-able objects (see the module docstring).
        length: hex digits kept (12 for run hashes and cache keys, 16 for Fig. 1's, 10 for fingerprints).
        algorithm: "sha256" (every published name) or "sha1".
        compact: the JSON spelling of dict/list parts (see the module docstring).
    """
    if algorithm not in ALGORITHMS:
        from pixelreg.errors import ConfigError

        raise ConfigError("algorithm", algorithm, f"one of {', '.join(ALGORITHMS)}")
    h = hashlib.new(algorithm)
    for part in parts:
        h.update(_bytes(part, compact))
    digest = h.hexdigest()
    return digest if length is None else digest[:length]


__all__ = ["content_hash", "canonical_json", "ALGORITHMS"]
