"""Test-wide settings: one intra-op thread per process.

Tests run many small models and spawn CLI subprocesses; on a 2-core machine torch's default threads
oversubscribe the cores and make the suite several times slower. Subprocesses inherit the variables.
"""
import os

os.environ.setdefault("OMP_NUM_THREADS", "1")
os.environ.setdefault("MKL_NUM_THREADS", "1")

import torch  # noqa: E402

torch.set_num_threads(1)
