"""The run events as JSON lines (``crowdperf run --events-file``): every kind written and read back,
progress lines throttled, foreign lines skipped."""

from __future__ import annotations

import json
from pathlib import Path

from crowdperf.mlperf.loadgen_runner import Metric, RunResult
from crowdperf.mlperf.progress import Phase, ProgressSnapshot, WorkBudget
from crowdperf.mlperf.rounds import Scenario
from crowdperf.mlperf.run_event_json import EVENT_SCHEMA, EventFileWriter, EventRecord, fan_out
from crowdperf.mlperf.run_events import RunEvent, RunFinished, RunProgress, RunStarted
from crowdperf.mlperf.spec import Mode, RunSpec

SPEC = RunSpec(model="tiny", scenario=Scenario.OFFLINE, mode=Mode.PERFORMANCE)
LOADGEN = ProgressSnapshot(Phase.LOADGEN, phase_elapsed_s=2.0, done=100, budget=WorkBudget(exact_samples=400))
RESULT = RunResult(
    system="box", model="tiny", scenario=Scenario.OFFLINE, mode=Mode.PERFORMANCE, run_dir=Path("r"),
    valid=True, submittable=False, metric=Metric("throughput", "samples/s", 219.4),
)  # fmt: skip


def test_each_event_kind_round_trips_through_one_json_line() -> None:
    events: list[RunEvent] = [
        RunStarted(SPEC, 1, 2),
        RunProgress(SPEC, 1, 2, 0.1, None),
        RunProgress(SPEC, 1, 2, 3.5, LOADGEN),
        RunFinished(SPEC, 1, 2, 4.0, RESULT),
    ]
    for event in events:
        line = EventRecord.of(event).to_json()
        assert "\n" not in line and json.loads(line)["schema"] == EVENT_SCHEMA
        assert EventRecord.from_json(line) == EventRecord.of(event)
    progress = EventRecord.of(events[2])
    assert (progress.phase, progress.done, progress.expected, progress.exact) == ("loadgen", 100, 400, True)
    assert progress.remaining_s == 6.0  # 300 left at 50/s
    finished = EventRecord.of(events[3])
    assert (finished.metric, finished.value, finished.value_unit, finished.valid) == (
        "throughput", 219.4, "samples/s", True,
    )  # fmt: skip


def test_remaining_time_only_in_the_loadgen_phase_with_a_rate() -> None:
    assert LOADGEN.remaining_s() == 6.0
    assert ProgressSnapshot(Phase.WARMUP, 1.0, 5).remaining_s() is None
    assert ProgressSnapshot(Phase.LOADGEN, 1.0, 0, budget=WorkBudget(exact_samples=9)).remaining_s() is None


def test_lines_that_are_not_records_are_skipped() -> None:
    for line in ("", "not json", "[1, 2]", '{"schema": "other/1", "kind": "started"}',
                 json.dumps({"schema": EVENT_SCHEMA, "kind": "started"})):  # fmt: skip
        assert EventRecord.from_json(line) is None


def test_writer_keeps_every_start_and_end_and_throttles_progress(tmp_path: Path) -> None:
    path = tmp_path / "events.jsonl"
    seen: list[RunEvent] = []
    with EventFileWriter(path, interval_s=3600.0) as writer:
        sink = fan_out(writer, None, seen.append)
        sink(RunStarted(SPEC, 1, 1))
        for i in range(50):
            sink(RunProgress(SPEC, 1, 1, i * 0.1, LOADGEN))
        sink(RunFinished(SPEC, 1, 1, 5.0, RESULT))
    kinds = [EventRecord.from_json(line).kind for line in path.read_text().splitlines()]  # type: ignore[union-attr]
    assert kinds == ["started", "progress", "finished"]  # one progress line per interval
    assert len(seen) == 52  # the other sinks see every event
