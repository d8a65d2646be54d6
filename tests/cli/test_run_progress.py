"""How ``crowdperf run`` shows a plan's events when piped: a plain line per phase, heartbeats."""

from __future__ import annotations

from pathlib import Path

import pytest
from rich.console import Console

from crowdperf.cli import run_progress
from crowdperf.cli.run_progress import RunProgressView, remaining_s, work_text
from crowdperf.mlperf.loadgen_runner import Metric, RunResult
from crowdperf.mlperf.progress import Phase, ProgressSnapshot, WorkBudget
from crowdperf.mlperf.rounds import Scenario
from crowdperf.mlperf.run_events import RunFinished, RunProgress, RunStarted
from crowdperf.mlperf.spec import Mode, RunSpec

SPEC = RunSpec("tiny", Scenario.OFFLINE, Mode.PERFORMANCE)
EXACT = WorkBudget(exact_samples=60_000)


def _tick(progress: ProgressSnapshot | None, elapsed: float = 1.0) -> RunProgress:
    return RunProgress(SPEC, 2, 4, elapsed, progress)


def test_work_and_time_left_follow_the_budget() -> None:
    loadgen = ProgressSnapshot(Phase.LOADGEN, 20.0, 12_345, budget=EXACT)
    assert work_text(loadgen) == "12,345 of 60,000 samples"
    assert remaining_s(loadgen) == pytest.approx(20.0 * (60_000 - 12_345) / 12_345)
    latency = ProgressSnapshot(
        Phase.LOADGEN, 10.0, 1_000, budget=WorkBudget(min_samples=1024, min_duration_s=600)
    )
    assert work_text(latency) == "1,000 of ~60,000 samples"  # the rate so far over min_duration
    assert work_text(ProgressSnapshot(Phase.SIZING, 1.0, 1, unit="probes")) == "1 probe done"
    assert remaining_s(ProgressSnapshot(Phase.WARMUP, 3.0)) is None and work_text(None) == ""


def test_piped_view_prints_a_line_per_phase_and_a_heartbeat(monkeypatch: pytest.MonkeyPatch) -> None:
    console = Console(record=True, width=200, force_terminal=False)
    view = RunProgressView(console)
    assert not view.live
    with view:
        view(RunStarted(SPEC, 2, 4))
        view(_tick(None))  # the child has not reported yet: nothing to say
        view(_tick(ProgressSnapshot(Phase.LOADING, 0.5)))
        view(_tick(ProgressSnapshot(Phase.LOADING, 0.8)))  # same phase, within the minute: quiet
        view(_tick(ProgressSnapshot(Phase.LOADGEN, 5.0, 100, budget=EXACT), elapsed=6.0))
        monkeypatch.setattr(run_progress, "HEARTBEAT_S", 0.0)
        view(_tick(ProgressSnapshot(Phase.LOADGEN, 65.0, 30_000, budget=EXACT), elapsed=66.0))
        result = RunResult("sys", "tiny", Scenario.OFFLINE, Mode.PERFORMANCE, Path("r"), True, False,
                           metric=Metric("throughput", "samples/s", 461.54))  # fmt: skip
        view(RunFinished(SPEC, 2, 4, 130.0, result))
    lines = console.export_text().splitlines()
    assert lines == [
        "[2/4] Offline performance: loading",
        "[2/4] Offline performance: loadgen",
        "[2/4] Offline performance: loadgen, 30,000 of 60,000 samples, 1 min 06 s elapsed, ~1 min 05 s left",
        "[2/4] Offline performance: done in 2 min 10 s, throughput 461.5 samples/s, VALID",
    ]


def test_json_runs_show_nothing() -> None:
    console = Console(record=True, width=200)
    with RunProgressView(console, quiet=True) as view:
        view(RunStarted(SPEC, 1, 1))
        view(_tick(ProgressSnapshot(Phase.LOADGEN, 5.0, 100, budget=EXACT)))
    assert console.export_text() == ""
