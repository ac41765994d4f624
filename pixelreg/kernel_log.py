"""One targeted log filter for the notebooks' kernels: ipykernel's "Kernel is running over TCP without
encryption" warning, printed once per notebook by ``jupyter-book build book/`` and papermill.

The warning is about the transport between a kernel and the process that started it on this machine: without
CurveZMQ keys, kernel messages on local TCP ports are plain text. ``make book`` avoids TCP altogether (its
kernels talk over IPC sockets, :func:`pixelreg.book.kernel_config`); the other entry points cannot be told the
transport, so their kernels drop exactly this message, and every other kernel log line still shows.

:func:`install` writes ``<sys.prefix>/etc/ipython/ipython_kernel_config.json`` (IPython's per-environment
config folder, read by every kernel of this virtualenv and no other), adding the filter to the console handler
of the kernel application's logging (``IPKernelApp.logging_config``). ``make venv`` runs it
(``python -m pixelreg.kernel_log``), and so does the book before it starts kernels.
"""
from __future__ import annotations

import json
import logging
import sys
from pathlib import Path

MESSAGE = "Kernel is running over TCP without encryption"
FILTER_NAME = "pixelreg_unencrypted_tcp"


class DropUnencryptedTCPWarning(logging.Filter):
    """Drops the one log record whose message starts with :data:`MESSAGE`; passes everything else."""

    def filter(self, record: logging.LogRecord) -> bool:
        return not str(record.msg).startswith(MESSAGE)


def kernel_logging_config() -> dict:
    """The ``IPKernelApp.logging_config`` fragment that attaches the filter to the console handler."""
    return {"filters": {FILTER_NAME: {"()": f"{__name__}.DropUnencryptedTCPWarning"}},
            "handlers": {"console": {"filters": [FILTER_NAME]}}}


def install(prefix: str | Path = sys.prefix) -> Path:
    """Merge the filter into ``<prefix>/etc/ipython/ipython_kernel_config.json`` (other settings kept); return it."""
    path = Path(prefix) / "etc" / "ipython" / "ipython_kernel_config.json"
    config = json.loads(path.read_text()) if path.is_file() else {}
    app = config.setdefault("IPKernelApp", {}).setdefault("logging_config", {})
    for key, value in kernel_logging_config().items():
        app.setdefault(key, {}).update(value)
    path.parent.mkdir(parents=True, exist_ok=True)
    new = json.dumps(config, indent=1, sort_keys=True) + "\n"
    if not path.is_file() or path.read_text() != new:
        path.write_text(new)
    return path


if __name__ == "__main__":
    print(install())
