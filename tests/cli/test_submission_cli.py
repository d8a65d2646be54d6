from __future__ import annotations

import json
import sys
from pathlib import Path

from typer.testing import CliRunner

from crowdperf.cli.main import app

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "unit" / "submission"))
from lgtrees import build_results

runner = CliRunner()


def test_system_describe_json() -> None:
    res = runner.invoke(app, ["system", "describe", "--json"])
    assert res.exit_code == 0, res.output
    data = json.loads(res.output)
    assert data["schema"] == "crowdperf.system/1" and data["host_slug"]


def test_generate_then_check_reports_test_mode_and_exits_1(tmp_path: Path) -> None:
    build_results(tmp_path / "results", test01=False)
    sub = tmp_path / "sub"
    res = runner.invoke(
        app,
        [
            "submission",
            "generate",
            "--results-dir",
            str(tmp_path / "results"),
            "--submission-dir",
            str(sub),
            "--submitter",
            "ORG",
            "--round",
            "v6.1",
        ],
    )
    assert res.exit_code == 0, res.output
    assert "open" in res.output  # F1 0 -> open division
    res = runner.invoke(app, ["submission", "check", str(sub), "--round", "v6.1", "--json"])
    assert res.exit_code == 1
    data = json.loads(res.output)
    assert data["schema"] == "crowdperf.submission.check/1" and not data["passed"]
    msgs = [f["message"] for r in data["results"] for f in r["findings"]]
    assert "test-mode run, not submittable" in msgs


def test_bad_category_is_a_usage_error(tmp_path: Path) -> None:
    res = runner.invoke(
        app,
        [
            "submission",
            "generate",
            "--results-dir",
            str(tmp_path),
            "--submission-dir",
            str(tmp_path / "s"),
            "--submitter",
            "O",
            "--category",
            "phone",
        ],
    )
    assert res.exit_code != 0
