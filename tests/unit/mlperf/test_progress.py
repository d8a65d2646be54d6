"""A test's progress, from its child to the caller of ``execute_plan``: typed events, real LoadGen."""

from __future__ import annotations

import itertools
from pathlib import Path

import pytest

from crowdperf.mlperf.progress import (
    Phase,
    ProgressReporter,
    WorkBudget,
    progress_path,
    read_progress,
)
from crowdperf.mlperf.rounds import Scenario
from crowdperf.mlperf.run_events import RunEvent, RunFinished, RunProgress, RunStarted
from crowdperf.mlperf.runs import HarnessContext, execute_plan
from crowdperf.mlperf.spec import Mode, RunPlan, RunSpec
from crowdperf.mlperf.workload import register_workload, unregister_workload


def test_work_budget_is_exact_when_known_and_follows_the_rate_otherwise() -> None:
    assert WorkBudget(exact_samples=256).expected(done=10, elapsed_s=1.0) == 256
    latency = WorkBudget(min_samples=1024, min_duration_s=600.0)
    assert latency.expected(done=0, elapsed_s=0.0) == 1024  # nothing seen yet: the minimum
    assert latency.expected(done=500, elapsed_s=5.0) == 60_000  # 100/s for 600 s
    assert latency.expected(done=100, elapsed_s=100.0) == 1024  # slow: the query count rules
    assert WorkBudget().expected(done=0, elapsed_s=0.0) is None


def test_reporter_writes_snapshots_the_parent_reads(tmp_path: Path) -> None:
    path = progress_path(tmp_path)
    assert read_progress(path) is None  # before the child's first report
    reporter = ProgressReporter(path, interval_s=0.01)
    first = read_progress(path)  # written at once: the parent knows the child is up
    assert first is not None and first.phase is Phase.LOADING and first.done == 0
    reporter.phase(Phase.LOADGEN, budget=WorkBudget(min_samples=64, min_duration_s=1.0))
    reporter.advance(8)
    reporter.advance(8)
    reporter.budget(WorkBudget(exact_samples=100))
    reporter.close()
    seen = read_progress(path)
    assert seen is not None and seen.phase is Phase.LOADGEN and seen.done == 16
    assert seen.expected_total == 100 and seen.phase_elapsed_s >= 0
    assert [p.name for p in tmp_path.iterdir()] == [path.name]  # no temporary file left
    path.write_bytes(b"not a pickle")
    assert read_progress(path) is None


@pytest.fixture
def slow_offline() -> str:
    # 256 samples in batches of 8, 0.05 s each: a LoadGen phase of ~1.6 s, long enough to be seen
    register_workload("slowish", "crowdperf.mlperf.synthetic_workload:slow_workload")
    yield "slowish"
    unregister_workload("slowish")


def test_execute_plan_tells_each_test_its_phases_and_samples(
    slow_offline: str, ctx: HarnessContext, tmp_path: Path
) -> None:
    spec = RunSpec(slow_offline, Scenario.OFFLINE, Mode.ACCURACY, batch_size=8, results_dir=tmp_path / "r")
    events: list[RunEvent] = []
    (result,) = execute_plan(RunPlan((spec,)), ctx, events.append)
    assert isinstance(events[0], RunStarted) and (events[0].index, events[0].count) == (1, 1)
    assert isinstance(events[-1], RunFinished) and events[-1].result == result and events[-1].elapsed_s > 0
    ticks = [e for e in events if isinstance(e, RunProgress)]
    assert all(a.elapsed_s <= b.elapsed_s for a, b in itertools.pairwise(ticks))
    phases = [t.progress.phase for t in ticks if t.progress is not None]
    order = list(Phase)
    assert phases and all(order.index(a) <= order.index(b) for a, b in itertools.pairwise(phases))
    loadgen = [t.progress for t in ticks if t.progress is not None and t.progress.phase is Phase.LOADGEN]
    assert loadgen, phases
    assert {p.expected_total for p in loadgen} == {256}  # accuracy: every sample once, known
    assert max(p.done for p in loadgen) > 0 and all(p.done <= 256 for p in loadgen)
    leftovers = [p.name for p in result.run_dir.iterdir() if p.name.startswith(".progress")]
    assert leftovers == []  # the child's progress file does not end up in the results


def test_a_plan_numbers_its_tests(synthetic_tiny: str, ctx: HarnessContext, tmp_path: Path) -> None:
    acc = RunSpec(synthetic_tiny, Scenario.OFFLINE, Mode.ACCURACY, count=32, results_dir=tmp_path / "r")
    perf = RunSpec(synthetic_tiny, Scenario.OFFLINE, Mode.PERFORMANCE, count=32, results_dir=tmp_path / "r")
    events: list[RunEvent] = []
    execute_plan(RunPlan((acc, perf)), ctx, events.append)
    steps = [(type(e).__name__, e.index, e.count) for e in events if not isinstance(e, RunProgress)]
    assert steps == [("RunStarted", 1, 2), ("RunFinished", 1, 2), ("RunStarted", 2, 2), ("RunFinished", 2, 2)]
