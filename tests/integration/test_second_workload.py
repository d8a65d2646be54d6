"""The seams hold: a second workload that is not BERT, defined only in the test suite and registered
through the ``crowdperf.workloads`` entry point of its own package metadata (tests/plugins), runs
through ``crowdperf run`` -> ``submission generate`` -> ``submission check`` -> ``hub import`` with
its own backend adapter, rules and accuracy metric, and no line of crowdperf knowing it."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest
from typer.testing import CliRunner

from crowdperf.cli.main import app
from crowdperf.mlperf.workload import workload_names, workload_rules

PLUGINS = Path(__file__).resolve().parents[1] / "plugins"
runner = CliRunner()


@pytest.fixture
def toy_plugin(monkeypatch: pytest.MonkeyPatch) -> None:
    """The plugin's package and dist-info on sys.path here and in every child process."""
    monkeypatch.syspath_prepend(str(PLUGINS))
    monkeypatch.setenv(
        "PYTHONPATH", os.pathsep.join(p for p in (str(PLUGINS), os.environ.get("PYTHONPATH")) if p)
    )


def _ok(args: list[str]) -> str:
    out = runner.invoke(app, args, terminal_width=200)
    assert out.exit_code == 0, out.output
    return out.stdout


@pytest.mark.parametrize("backend", ["onnxruntime", "pytorch"])
def test_a_second_workload_runs_through_run_generate_check_and_hub(
    toy_plugin: None, backend: str, tmp_path: Path
) -> None:
    if backend == "pytorch":
        pytest.importorskip("torch")
    assert "toyclass" in workload_names()
    rules = workload_rules("toyclass")
    assert rules.benchmark.accuracy_metric == "accuracy" and rules.mlperf_model
    results, sub, db = tmp_path / "results", tmp_path / "sub", tmp_path / "hub.sqlite"
    run = ["run", "--model", "toyclass", "--backend", backend, "--results-dir", str(results), "--json"]
    ran = json.loads(_ok(run))["results"]
    ran += json.loads(_ok([*run, "--scenario", "Offline", "--mode", "compliance"]))["results"]
    assert {(r["scenario"], r["mode"]) for r in ran} >= {
        ("SingleStream", "accuracy"), ("SingleStream", "performance"),
        ("Offline", "accuracy"), ("Offline", "performance"), ("Offline", "compliance"),
    }  # fmt: skip
    accuracy = [r["accuracy"] for r in ran if r["mode"] == "accuracy"]
    assert all(a["metric"] == "accuracy" and a["value"] == pytest.approx(100 * 511 / 512) for a in accuracy)
    assert all(a["passed"] is True for a in accuracy)  # the toy's own target, from its own rules
    invalid = [r for r in ran if r["mode"] == "performance" and not r["valid"]]
    assert not invalid, invalid

    _ok(["submission", "generate", "--results-dir", str(results), "--submission-dir", str(sub),
         "--submitter", "ToyOrg", "--division", "closed"])  # fmt: skip
    tree = sub / "closed" / "ToyOrg" / "results"
    assert {p.name for p in tree.glob("*/toyclass/*")} == {"SingleStream", "Offline"}
    checked = runner.invoke(app, ["submission", "check", str(sub)], terminal_width=200)
    # a test-mode tree is never submittable; nothing else may be wrong with it
    findings = [line.strip() for line in checked.stdout.splitlines() if line.strip().startswith("[")]
    assert findings and all(
        f.startswith("[performance] test-mode run") or f == "[compliance] TEST01 is missing" for f in findings
    ), findings
    assert "[compliance] TEST01 is missing" not in checked.stdout.split("/Offline")[1].split("FAIL")[0]

    _ok(["hub", "import", str(sub), "--db", str(db)])
    rows = json.loads(_ok(["hub", "list", "--db", str(db), "--json"]))["rows"]
    assert {(r["model"], r["scenario"]) for r in rows} == {
        ("toyclass", "SingleStream"),
        ("toyclass", "Offline"),
    }
    for r in rows:
        assert r["accuracy_metric"] == "accuracy" and r["accuracy_value"] == pytest.approx(100 * 511 / 512)
        assert r["backend"] == backend and r["accelerator_count"] == 0
