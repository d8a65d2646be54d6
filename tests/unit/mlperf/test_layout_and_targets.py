from __future__ import annotations

from pathlib import Path

import pytest

from crowdperf.errors import InterruptedRun, ResultsError, UsageError
from crowdperf.mlperf.layout import atomic_run_dir, host_slug, layout_for
from crowdperf.mlperf.rounds import Scenario
from crowdperf.mlperf.runs import HarnessContext, resolve_targets
from crowdperf.mlperf.spec import ExecutionMode, Mode, RunSpec
from crowdperf.mlperf.targets import StoredTarget, TargetStore
from crowdperf.system.devices import DeviceKind, DeviceSelection
from crowdperf.system.inventory import HostInventory


def test_layout_paths_are_the_submission_contract(tmp_path: Path, two_h200_host: HostInventory) -> None:
    spec = RunSpec(
        "bert-99",
        Scenario.OFFLINE,
        Mode.PERFORMANCE,
        results_dir=tmp_path,
        devices=DeviceSelection(DeviceKind.CUDA),
    )
    lay = layout_for(spec, host="h-2c", inventory=two_h200_host)
    assert lay.system == "h-2c-nvidia-h200x2-onnxruntime-cuda-fp32"
    base = tmp_path / "h-2c-nvidia-h200x2-onnxruntime-cuda-fp32" / "bert-99" / "Offline"
    assert lay.run_dir(Mode.PERFORMANCE) == base / "performance" / "run_1"
    assert lay.run_dir(Mode.ACCURACY) == base / "accuracy"
    assert lay.run_dir(Mode.COMPLIANCE) == base / "TEST01" / "performance" / "run_1"
    assert host_slug() == host_slug() and " " not in host_slug()


def test_interrupted_run_leaves_previous_result_and_no_partial(tmp_path: Path) -> None:
    final = tmp_path / "acc"
    with atomic_run_dir(final) as tmp:
        (tmp / "mlperf_log_summary.txt").write_text("old")
    with pytest.raises(InterruptedRun), atomic_run_dir(final) as tmp:
        (tmp / "mlperf_log_summary.txt").write_text("half")
        raise KeyboardInterrupt
    assert (final / "mlperf_log_summary.txt").read_text() == "old"
    assert [p.name for p in tmp_path.iterdir()] == ["acc"]


def test_unwritable_results_dir_is_a_results_error(tmp_path: Path) -> None:
    blocker = tmp_path / "file"
    blocker.write_text("x")
    with pytest.raises(ResultsError, match="cannot write results"), atomic_run_dir(blocker / "a" / "b"):
        pass


def _entry(value: float, backend: str = "onnxruntime") -> StoredTarget:
    return StoredTarget(
        "h-onnxruntime-cpu-fp32", "tiny", backend, "cpu", "fp32", "Offline", value, "samples/s", "test", "t"
    )


def test_target_store_round_trip_and_stack_check(tmp_path: Path) -> None:
    store = TargetStore(tmp_path / "targets.json")
    spec = RunSpec("tiny", Scenario.OFFLINE, Mode.PERFORMANCE)
    assert store.lookup(spec, "h-onnxruntime-cpu-fp32") is None
    store.save(_entry(10.0))
    store.save(_entry(250.5))
    assert store.lookup(spec, "h-onnxruntime-cpu-fp32") == _entry(250.5)
    store.save(_entry(1.0, backend="pytorch"))  # same key, other stack: never reused
    with pytest.raises(ResultsError, match="measured with pytorch"):
        store.lookup(spec, "h-onnxruntime-cpu-fp32")


def test_valid_mode_needs_a_target(ctx: HarnessContext) -> None:
    spec = RunSpec("tiny", Scenario.SERVER, Mode.PERFORMANCE, execution_mode=ExecutionMode.VALID)
    with pytest.raises(UsageError, match="no Server target") as err:
        resolve_targets(spec, ctx)
    assert "find-performance first or pass --target-qps" in str(err.value)


def test_stored_targets_get_margins(ctx: HarnessContext) -> None:
    spec = RunSpec("tiny", Scenario.OFFLINE, Mode.PERFORMANCE, execution_mode=ExecutionMode.VALID)
    ctx.store.save(
        StoredTarget("testhost-2c-onnxruntime-cpu-fp32", "tiny", "onnxruntime", "cpu", "fp32", "Offline",
                     100.0, "samples/s", "test", "t")
    )  # fmt: skip
    got = resolve_targets(spec, ctx)
    assert got.source == "find-performance" and got.target_qps == pytest.approx(110.0)
