"""Test-wide settings: one intra-op thread per process.

Tests run many small models and spawn CLI subprocesses; on a 2-core machine torch's default threads
oversubscribe the cores and make the suite several times slower. Subprocesses inherit the variables.
"""
import os

os.environ.setdefault("OMP_NUM_THREADS", "1")
os.environ.setdefault("MKL_NUM_THREADS", "1")

import torch  # noqa: E402

torch.set_num_threads(1)


def _fmnist_available() -> bool:
    try:
        from pixelreg.data import load_dataset
        load_dataset("fashion-mnist", "test", source="local")
        return True
    except Exception:  # noqa: BLE001 - any failure means the tests needing it are skipped
        return False


import pytest  # noqa: E402

needs_fmnist = pytest.mark.skipif(not _fmnist_available(),
                                  reason="Fashion-MNIST not installed (apt-get install dataset-fashion-mnist)")
