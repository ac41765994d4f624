"""Security audit of the GitHub Actions workflows with zizmor (https://docs.zizmor.sh).

`.ci/run` installs zizmor into the virtualenv, so in CI this test always runs; elsewhere it is skipped
unless zizmor is installed (`pip install 'zizmor>=1.32,<2'`). `--offline`: no GitHub API calls.
"""
from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
WORKFLOWS = ROOT / ".github" / "workflows"


def _zizmor() -> str | None:
    beside = Path(sys.executable).parent / "zizmor"
    if beside.is_file():
        return str(beside)
    return shutil.which("zizmor")


ZIZMOR = _zizmor()


@pytest.mark.skipif(ZIZMOR is None,
                    reason="zizmor not installed (pip install 'zizmor>=1.32,<2'; .ci/run installs it)")
def test_workflows_pass_zizmor_audit():
    assert WORKFLOWS.is_dir()
    proc = subprocess.run([ZIZMOR, "--offline", "--no-progress", "--format", "json", str(WORKFLOWS)],
                          cwd=ROOT, capture_output=True, text=True, timeout=300)
    findings = json.loads(proc.stdout) if proc.stdout.strip() else None
    if proc.returncode != 0 or findings:
        # Re-run with the human-readable report so the failure says what to fix.
        report = subprocess.run([ZIZMOR, "--offline", "--no-progress", "--color", "never", str(WORKFLOWS)],
                                cwd=ROOT, capture_output=True, text=True, timeout=300)
        pytest.fail(f"zizmor exit status {proc.returncode}\n{report.stdout}\n{report.stderr or proc.stderr}")
    assert findings == []
