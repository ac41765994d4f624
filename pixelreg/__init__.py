"""pixelreg: pixel-similarity regularization of CNNs (Attias, Pehlevan & Obeid 2024).

Public API (a contract the book and outside code rely on)::

    from pixelreg import pixel_similarity, threshold_targets, similarity_loss, SimilarityRegularizer, train

Names are imported lazily so that ``import pixelreg`` stays cheap and submodules load on first use.
"""
from __future__ import annotations

import importlib

__version__ = "0.1.0"

_EXPORTS = {
    "pixel_similarity": "similarity", "threshold_targets": "similarity", "PairSampler": "similarity",
    "similarity_loss": "regularizer", "SimilarityRegularizer": "regularizer",
    "TrainConfig": "experiment.config", "make_config": "experiment.config", "PRESETS": "experiment.config",
    "PROFILES": "experiment.config", "train": "experiment.train", "RunStore": "experiment.runs",
    "Run": "experiment.runs", "paper_resnet": "models", "robust_accuracy": "robustness.evaluate",
}
__all__ = sorted(_EXPORTS) + ["__version__"]


def __getattr__(name: str):
    if name in _EXPORTS:
        module = importlib.import_module(f".{_EXPORTS[name]}", __name__)
        return getattr(module, name)
    raise AttributeError(f"module 'pixelreg' has no attribute {name!r}")
