"""The kernels' one targeted log filter: the unencrypted-TCP warning goes, every other line stays."""
from __future__ import annotations

import json
import logging
import logging.config

from pixelreg.kernel_log import MESSAGE, DropUnencryptedTCPWarning, install


def _record(msg: str) -> logging.LogRecord:
    return logging.LogRecord("IPKernelApp", logging.WARNING, __file__, 1, msg, None, None)


def test_the_filter_drops_only_the_tcp_warning():
    f = DropUnencryptedTCPWarning()
    assert not f.filter(_record(MESSAGE + ". All communication ... is sent in plain text"))
    assert f.filter(_record("Parent appears to have exited, shutting down."))
    assert f.filter(_record("something else mentioning " + MESSAGE))


def test_install_merges_into_the_environments_kernel_config(tmp_path):
    path = tmp_path / "etc" / "ipython" / "ipython_kernel_config.json"
    path.parent.mkdir(parents=True)
    path.write_text(json.dumps({"IPKernelApp": {"log_level": "INFO"}, "InteractiveShell": {"colors": "nocolor"}}))
    assert install(tmp_path) == path
    first = path.read_text()
    assert install(tmp_path) == path and path.read_text() == first  # idempotent
    cfg = json.loads(first)
    assert cfg["IPKernelApp"]["log_level"] == "INFO" and cfg["InteractiveShell"] == {"colors": "nocolor"}
    log = cfg["IPKernelApp"]["logging_config"]
    assert log["handlers"]["console"]["filters"] == ["pixelreg_unencrypted_tcp"]
    logging.config.dictConfig({"version": 1, "filters": log["filters"]})  # the factory path resolves
