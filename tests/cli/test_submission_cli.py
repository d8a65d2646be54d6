from __future__ import annotations

import json
import sys
from pathlib import Path

from typer.testing import CliRunner

from crowdperf.cli.main import app
from crowdperf.errors import DeviceError

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "unit" / "submission"))
from lgtrees import build_results

runner = CliRunner()


def test_system_describe_json_shows_the_inventory_and_the_devices_described(tmp_path: Path) -> None:
    res = runner.invoke(app, ["system", "describe", "--json"])
    assert res.exit_code == 0, res.output
    data = json.loads(res.output)
    assert data["schema"] == "crowdperf.system/2" and data["host_slug"]
    inventory = data["inventory"]
    assert inventory["cpu_model"] == data["host_processor_model_name"]
    assert inventory["cpu_logical_cores"] >= inventory["cpu_physical_cores"] >= 1
    used = [d for d in data["devices"] if d["kind"] == "cuda"]  # default: every GPU of the host
    assert data["accelerators_per_node"] == len(used) == len(inventory["gpus"])
    assert "follows the devices it uses" in data["attribution"]
    # a CPU run on any host, GPUs or not, has none; the overrides file still wins
    overrides = tmp_path / "o.yaml"
    overrides.write_text("cooling: air\n")
    cpu = json.loads(
        runner.invoke(
            app, ["system", "describe", "--json", "--device", "cpu", "--overrides", str(overrides)]
        ).output
    )
    assert cpu["accelerators_per_node"] == 0 and cpu["accelerator_model_name"] == "N/A"
    assert cpu["cooling"] == "air" and [d["kind"] for d in cpu["devices"]] == ["cpu"]
    table = runner.invoke(app, ["system", "describe", "--device", "cpu"], env={"COLUMNS": "200"})
    assert table.exit_code == 0 and "devices: CPU (" in table.output and "follows the devices" in table.output
    if not inventory["gpus"]:
        missing = runner.invoke(app, ["system", "describe", "--device", "cuda:0"])
        assert missing.exit_code == DeviceError.exit_code and "error:" in missing.output


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


def test_check_shows_mlperfs_verdict_next_to_ours(tmp_path: Path) -> None:
    mirror = Path("/work/.mirror/mlcommons+inference/repo")
    if not (mirror / "HEAD").exists():
        import pytest

        pytest.skip("mlcommons/inference mirror not present")
    from lgtrees import extract_inference_copy

    inference = extract_inference_copy("HEAD", tmp_path / "inference")
    build_results(tmp_path / "results", test01=False)
    sub = tmp_path / "sub"
    runner.invoke(
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
    res = runner.invoke(
        app, ["submission", "check", str(sub), "--round", "v6.1", "--official-checker", str(inference)]
    )
    assert res.exit_code == 1
    assert "crowdperf (v6.1): submission has errors" in res.output
    assert "MLPerf checker (v6.1): submission has errors" in res.output
    res = runner.invoke(app, ["submission", "check", str(sub), "--official-checker", str(tmp_path)])
    assert res.exit_code != 0 and "no MLPerf submission checker" in res.output


def test_push_via_cli_prints_branch_and_commit(tmp_path: Path) -> None:
    import subprocess

    build_results(tmp_path / "results", test01=False)
    sub = tmp_path / "sub"
    runner.invoke(
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
    bare = tmp_path / "r.git"
    subprocess.run(["git", "init", "--bare", "-q", str(bare)], check=True)
    res = runner.invoke(app, ["submission", "push", str(sub), "--repo-url", str(bare), "--round", "v6.1"])
    assert res.exit_code == 10 and "fails `crowdperf submission check`" in res.output
    res = runner.invoke(
        app,
        [
            "submission",
            "push",
            str(sub),
            "--repo-url",
            str(bare),
            "--round",
            "v6.1",
            "--branch",
            "mine",
            "--force",
        ],
    )
    assert res.exit_code == 0, res.output
    head = subprocess.run(
        ["git", "-C", str(bare), "rev-parse", "mine"], capture_output=True, text=True
    ).stdout
    assert "pushed branch mine" in res.output and head.strip() in res.output.replace("\n", "")
