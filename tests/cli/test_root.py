from __future__ import annotations

import subprocess
import sys
from pathlib import Path


def test_version_and_help() -> None:
    out = subprocess.run([sys.executable, "-m", "crowdperf", "--version"], capture_output=True, text=True)
    assert out.returncode == 0 and out.stdout.startswith("crowdperf ")
    out = subprocess.run([sys.executable, "-m", "crowdperf", "--help"], capture_output=True, text=True)
    assert out.returncode == 0 and "Usage" in out.stdout


def test_cli_start_up_and_run_do_not_import_sqlalchemy(tmp_path: Path) -> None:
    # The hub's store/queries import SQLAlchemy (~0.25 s); only `crowdperf hub ...` may pay for it.
    check = 'import crowdperf.cli.main, sys; assert "sqlalchemy" not in sys.modules'
    subprocess.run([sys.executable, "-c", check], check=True, timeout=60)
    run = f"""
import sys
from pathlib import Path
from typer.testing import CliRunner
from crowdperf.cli.main import app
from crowdperf.mlperf.workload import register_workload
register_workload("tiny", "synthetic_workloads:default_workload")
args = ["run", "--scenario", "Offline", "--mode", "accuracy", "--count", "8"]
args += ["--results-dir", {str(tmp_path)!r}]
r = CliRunner().invoke(app, args)
assert r.exit_code == 0, r.output
assert "sqlalchemy" not in sys.modules, "crowdperf run imported sqlalchemy"
"""
    out = subprocess.run([sys.executable, "-c", run], capture_output=True, text=True, timeout=60)
    assert out.returncode == 0, out.stderr
    assert list(tmp_path.rglob("accuracy.txt"))
