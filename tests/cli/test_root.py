from __future__ import annotations

import subprocess
import sys


def test_version_and_help() -> None:
    out = subprocess.run([sys.executable, "-m", "crowdperf", "--version"], capture_output=True, text=True)
    assert out.returncode == 0 and out.stdout.startswith("crowdperf ")
    out = subprocess.run([sys.executable, "-m", "crowdperf", "--help"], capture_output=True, text=True)
    assert out.returncode == 0 and "Usage" in out.stdout
