"""Atomic file writes: the one mechanism every module uses to put a file in place.

The file is written under a temporary name in its own folder, flushed to disk, given mode 0644 (``mkstemp``
makes 0600 files; data folders and run stores may be shared) and renamed over the target (``os.replace`` is
atomic on POSIX): a concurrent reader sees the old file or the new one, never half of one, and a failure
leaves no temporary file behind. Errors are the ``OSError`` s of the file system; :mod:`pixelreg.experiment.runs` turns
the ones a user can fix (full disk, read-only folder) into one clear message for the run store.
"""
from __future__ import annotations

import os
import tempfile
from pathlib import Path
from typing import Callable

__all__ = ["atomic_write", "atomic_write_bytes"]


def _write_then_replace(path: str | os.PathLike, fill: Callable[[int, str], None]) -> None:
    """The mechanism: ``fill(fd, tmp)`` fills (and closes) a temporary file beside ``path``; then fsync,
    mode 0644 and ``os.replace``. The temporary file never outlives a failure."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        fill(fd, tmp)
        with open(tmp, "rb+") as f:
            os.fsync(f.fileno())
        os.chmod(tmp, 0o644)
        os.replace(tmp, path)
    finally:
        if os.path.exists(tmp):
            os.unlink(tmp)


def atomic_write(path: str | os.PathLike, write: Callable[[str], None]) -> None:
    """Call ``write(tmp)`` to fill a temporary file beside ``path`` (e.g. ``torch.save(obj, tmp)``), then
    move it into place."""
    def fill(fd: int, tmp: str) -> None:
        os.close(fd)
        write(tmp)

    _write_then_replace(path, fill)


def atomic_write_bytes(path: str | os.PathLike, data: bytes) -> None:
    """Write ``data`` to ``path`` atomically."""
    def fill(fd: int, tmp: str) -> None:
        with os.fdopen(fd, "wb") as f:
            f.write(data)

    _write_then_replace(path, fill)
