"""One plugin mechanism: entry points for workloads, backends and recipes; built-ins like plugins."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from crowdperf import plugins
from crowdperf.backends.registry import backend_names, get_backend
from crowdperf.errors import BackendError, UsageError
from crowdperf.mlperf.workload import (
    load_workload,
    register_workload,
    unregister_workload,
    workload_names,
    workload_ref,
    workload_rules,
)

SYNTHETIC = "synthetic_workloads:default_workload"


def test_builtins_are_entry_points_in_the_installed_metadata() -> None:
    # What pyproject.toml declares, read back from the installed package (pip install -e .)
    assert set(workload_names()) >= {"tiny", "bert-large", "bert-99", "bert-99.9"}
    assert set(backend_names()) >= {"onnxruntime", "pytorch"}
    assert plugins.entries(plugins.RECIPES)["builtin"] == "crowdperf.automation.builtin_recipes:register"
    assert workload_ref("bert-99") == "crowdperf.workloads.bert.definitions:bert_99"


def test_unknown_names_are_usage_errors_naming_the_known_ones() -> None:
    with pytest.raises(UsageError) as info:
        workload_ref("bert-100")
    assert "--model 'bert-100' is not a known model" in str(info.value)
    assert all(name in (info.value.hint or "") for name in ("tiny", "bert-large", "bert-99", "bert-99.9"))
    with pytest.raises(UsageError) as info:
        get_backend("tensorflow")
    assert "not a known backend" in info.value.message and "onnxruntime, pytorch" in (info.value.hint or "")


def test_in_process_registration_wins_and_is_undone() -> None:
    register_workload("tiny", SYNTHETIC)
    try:
        assert workload_ref("tiny") == SYNTHETIC
        assert workload_rules("tiny").benchmark.name == "synthetic"
    finally:
        unregister_workload("tiny")
    assert workload_ref("tiny") == "crowdperf.workloads.bert.definitions:tiny"
    with pytest.raises(UsageError, match="module:attr"):
        register_workload("x", "no colon here")


def test_a_reference_that_does_not_import_is_the_groups_load_error() -> None:
    with pytest.raises(BackendError, match="not available"):
        load_workload("no_such_module:workload")
    with pytest.raises(BackendError, match="is not a workload definition"):
        load_workload("crowdperf.mlperf.rounds:ROUNDS")  # importable, but no rules/open


def test_reading_rules_loads_no_model_code() -> None:
    # The parent (checker, plan, find-performance) reads rules; open() alone imports the heavy parts.
    code = (
        "import sys; from crowdperf.mlperf.workload import benchmarks, workload_rules;"
        "benchmarks(); workload_rules('bert-large');"
        "heavy = [m for m in ('onnxruntime', 'torch', 'tokenizers', 'crowdperf.workloads.bert.workload')"
        " if m in sys.modules]; assert not heavy, heavy"
    )
    subprocess.run([sys.executable, "-c", code], check=True, timeout=60)


@pytest.fixture
def installed_workload_plugin(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> str:
    """A package's metadata, as pip installs it, registering a workload ``toy`` (the synthetic one)
    through the ``crowdperf.workloads`` entry point: on sys.path here and in child processes."""
    dist_info = tmp_path / "crowdperf_toy-0.1.dist-info"
    dist_info.mkdir()
    (dist_info / "METADATA").write_text("Metadata-Version: 2.1\nName: crowdperf-toy\nVersion: 0.1\n")
    (dist_info / "entry_points.txt").write_text(f"[crowdperf.workloads]\ntoy = {SYNTHETIC}\n")
    monkeypatch.syspath_prepend(str(tmp_path))
    monkeypatch.setenv(
        "PYTHONPATH", os.pathsep.join(filter(None, [str(tmp_path), os.environ.get("PYTHONPATH")]))
    )
    return "toy"


def test_an_installed_plugin_is_listed_and_runs_across_the_process_boundary(
    installed_workload_plugin: str, tmp_path: Path
) -> None:
    assert installed_workload_plugin in workload_names()
    cli = [sys.executable, "-m", "crowdperf"]
    help_text = subprocess.run([*cli, "run", "--help"], capture_output=True, text=True, check=True).stdout
    assert "toy" in help_text
    run = [*cli, "run", "--model", "toy", "--scenario", "Offline", "--mode", "accuracy", "--count", "8"]
    out = subprocess.run([*run, "--results-dir", str(tmp_path / "r")], capture_output=True, text=True)
    assert out.returncode == 0, out.stderr
    assert list((tmp_path / "r").glob("*/toy/Offline/accuracy/accuracy.txt"))
