from __future__ import annotations

import json
import os
import re
import signal
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest
from rich.console import Console
from typer.testing import CliRunner

from crowdperf.cli.main import app
from crowdperf.cli.run_view import results_rows
from crowdperf.cli.tables import print_rows
from crowdperf.meters.readings import PowerSummary
from crowdperf.mlperf.loadgen_runner import RunResult
from crowdperf.mlperf.rounds import Scenario
from crowdperf.mlperf.spec import Mode
from crowdperf.mlperf.workload import register_workload, unregister_workload
from fake_powercap import FakePowercap

runner = CliRunner()


@pytest.fixture
def synthetic_tiny() -> Iterator[None]:
    register_workload("tiny", "crowdperf.mlperf.synthetic_workload:default_workload")
    yield
    unregister_workload("tiny")


def test_run_json_has_versioned_schema_and_every_result(synthetic_tiny: None, tmp_path: Path) -> None:
    out = runner.invoke(
        app, ["run", "--scenario", "Offline", "--count", "16", "--results-dir", str(tmp_path), "--json"]
    )
    assert out.exit_code == 0, out.output
    data = json.loads(out.stdout)
    assert data["schema"] == "crowdperf.run/1"
    assert [(r["scenario"], r["mode"]) for r in data["results"]] == [
        ("Offline", "accuracy"),
        ("Offline", "performance"),
    ]
    perf = data["results"][1]
    assert perf["metric"]["unit"] == "samples/s" and perf["submittable"] is False
    assert Path(perf["run_dir"]).is_dir()


def test_run_json_carries_power_with_its_meter(
    synthetic_tiny: None, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    fake = FakePowercap(tmp_path / "powercap")
    fake.zone("0", "package-0")
    monkeypatch.setenv("CROWDPERF_POWERCAP_DIR", str(fake.root))
    args = ["run", "--scenario", "Offline", "--count", "16", "--results-dir", str(tmp_path / "r"), "--json"]
    with fake.drawing({"0": 40.0}):
        out = runner.invoke(app, args)
    assert out.exit_code == 0, out.output
    accuracy, performance = json.loads(out.stdout)["results"]
    assert accuracy["power"] is None  # accuracy runs are not metered
    power = performance["power"]
    assert power["meter"] == "rapl" and power["unavailable"] is None
    assert power["mean_w"] == pytest.approx(40.0, rel=0.25)
    assert power["min_w"] <= power["mean_w"] <= power["max_w"] and power["joules_per_sample"] > 0


def _rendered(results: list[RunResult], width: int = 250) -> str:
    console = Console(width=width, record=True)
    print_rows(console, results_rows(results, Path("r")))
    return console.export_text()


def _result(mode: Mode, power: PowerSummary | None) -> RunResult:
    return RunResult("sys", "tiny", Scenario.OFFLINE, mode, Path("r"), None, False, power=power)


def test_table_shows_watts_and_joules_per_sample_with_the_meter() -> None:
    measured = PowerSummary("nvml", 652.4, 600.0, 690.0, 1300.0, 0.1718)
    text = _rendered([_result(Mode.ACCURACY, None), _result(Mode.PERFORMANCE, measured)])
    assert "652 W, 0.172 J/sample (nvml)" in text and "power" in text.splitlines()[2]
    lost = PowerSummary(None, unavailable="nvml: NVML stopped answering")
    text = _rendered([_result(Mode.PERFORMANCE, measured), _result(Mode.COMPLIANCE, lost)])
    assert "unavailable (nvml: NVML stopped answering)" in text  # reasons differ: said per row


def test_table_says_once_why_there_is_no_power() -> None:
    absent = PowerSummary(None, unavailable="rapl: no /sys/class/powercap")
    text = _rendered([_result(Mode.PERFORMANCE, absent), _result(Mode.COMPLIANCE, absent)])
    assert text.count("power: unavailable (rapl: no /sys/class/powercap)") == 1
    assert "J/sample" not in text and "power" not in text.splitlines()[2]  # no column of blanks


def test_piped_run_says_each_step_marks_test_runs_and_what_to_do_next(
    synthetic_tiny: None, tmp_path: Path
) -> None:
    args = ["run", "--scenario", "SingleStream", "--mode", "performance", "--count", "8"]
    out = runner.invoke(app, [*args, "--results-dir", str(tmp_path)])  # piped: 80 columns
    assert out.exit_code == 0, out.output
    assert re.search(
        r"^\[1/1\] SingleStream performance: (loading|warm-up|sizing|loadgen)$", out.stderr, re.M
    )
    assert "[1/1] SingleStream performance: done in" in out.stderr
    assert "SingleStream" in out.stdout and "TEST (not submittable" in out.stdout
    assert "…" not in out.stdout and "\n  result    " in out.stdout  # 80 columns: one block per run
    valid = (
        f"crowdperf run --model tiny --scenario SingleStream --results-dir {tmp_path} --execution-mode valid"
    )
    assert valid in out.stdout  # the demo's last lines: what to do next
    assert f"crowdperf submission generate --results-dir {tmp_path}" in out.stdout


@pytest.mark.parametrize(
    ("args", "needle"),
    [
        (["--scenario", "Foo"], "--scenario 'Foo' is not one of: SingleStream"),
        (["--mode", "fast"], "--mode 'fast' is not one of"),
        (["--device", "tpu"], "--device 'tpu' is not one of: cpu, cuda"),
        (["--model", "gpt"], "--model 'gpt' is not a known model"),
        (["--model", "gpt"], "use one of: bert-99, bert-99.9, bert-large, tiny"),
        (["--backend", "tf"], "use one of: onnxruntime, pytorch"),
        (["--count", "0"], "--count must be a whole number from 1"),
        (["--round", "v1.0"], "unknown MLPerf round"),
    ],
)
def test_bad_options_exit_2_with_one_line(args: list[str], needle: str, tmp_path: Path) -> None:
    out = runner.invoke(app, ["run", *args, "--results-dir", str(tmp_path)], terminal_width=400)
    assert out.exit_code == 2
    assert needle in out.output
    assert len([line for line in out.output.splitlines() if line.strip()]) <= 2


def test_valid_mode_without_target_explains_the_fix(synthetic_tiny: None, tmp_path: Path) -> None:
    args = ["run", "--scenario", "Offline", "--mode", "performance", "--execution-mode", "valid"]
    out = runner.invoke(app, [*args, "--results-dir", str(tmp_path)], terminal_width=400)
    assert out.exit_code == 2
    assert "run --mode find-performance first or pass --target-qps" in out.output


def test_ctrl_c_mid_run_exits_130_and_leaves_no_complete_looking_dir(tmp_path: Path) -> None:
    register_workload("tiny", "crowdperf.mlperf.synthetic_workload:slow_workload")  # ~13 s of work
    timer = threading.Timer(1.5, os.kill, (os.getpid(), signal.SIGINT))
    timer.start()
    try:
        out = runner.invoke(app, ["run", "--scenario", "SingleStream", "--results-dir", str(tmp_path)])
    finally:
        timer.cancel()
        unregister_workload("tiny")
    assert out.exit_code == 130, out.output
    assert "interrupted" in out.output
    # readers ignore hidden names (mlperf/layout.py); the results directory's lock file is one
    leftovers = [p for p in tmp_path.rglob("*") if p.is_file() and p.name != ".crowdperf.lock"]
    assert leftovers == []


def test_model_choices_are_the_registry_read_at_run_time(tmp_path: Path) -> None:
    # A workload registered after start-up (as a test, or a plugin) is a valid --model at once.
    register_workload("toy", "crowdperf.mlperf.synthetic_workload:default_workload")
    try:
        args = ["run", "--model", "toy", "--scenario", "Offline", "--mode", "accuracy", "--count", "8"]
        out = runner.invoke(app, [*args, "--results-dir", str(tmp_path)])
    finally:
        unregister_workload("toy")
    assert out.exit_code == 0, out.output
    assert list(tmp_path.glob("*/toy/Offline/accuracy/accuracy.txt"))
    help_text = runner.invoke(app, ["run", "--help"], terminal_width=400).output
    assert all(name in help_text for name in ("tiny", "bert-large", "bert-99.9", "onnxruntime", "pytorch"))


@pytest.mark.parametrize(
    ("option", "value"),
    [
        (option, value)
        for option in ("--target-latency-ms", "--target-qps")
        for value in ("nan", "inf", "-inf", "0", "-1", "1e300")
    ]
    + [
        (option, value)
        for option in ("--count", "--threads", "--batch-size")
        for value in ("0", "-3", "10000000000")
    ],
)
def test_every_numeric_run_option_rejects_numbers_that_are_not_numbers(
    option: str, value: str, tmp_path: Path
) -> None:
    out = runner.invoke(app, ["run", option, value, "--results-dir", str(tmp_path)])
    assert out.exit_code == 2, out.output
    assert option in out.output and "Traceback" not in out.output
    assert not list(tmp_path.iterdir())  # refused before anything was written


def test_an_invalid_run_says_why_in_one_line_and_the_command_that_fixes_it(tmp_path: Path) -> None:
    """Issue 14, item 11: a Server target the system cannot hold (the slow synthetic system does
    ~150 samples/s) ends INVALID; the table is followed by the reason and the fix."""
    register_workload("tiny", "crowdperf.mlperf.synthetic_workload:slow_workload")
    try:
        args = ["run", "--scenario", "Server", "--mode", "performance", "--category", "datacenter"]
        out = runner.invoke(
            app, [*args, "--target-qps", "2000", "--results-dir", str(tmp_path)], terminal_width=400
        )
    finally:
        unregister_workload("tiny")
    assert out.exit_code == 0, out.output
    said = " ".join(out.output.split())
    assert (
        "INVALID Server performance: at 2,000 QPS the p99 latency was" in said
        and "above the 130 ms bound" in said
    )
    assert "fix: crowdperf run --model tiny" in said and "--scenario Server --mode performance" in said
    assert "--target-qps" in said.split("fix:")[1] and "--mode find-performance" in said
