"""The harness's run events (run_events.py) as JSON lines, for a program that watches a run.

``crowdperf run --events-file PATH`` appends one line per event to PATH while a plan runs;
``crowdperf ui`` starts ``crowdperf run`` as a child and follows that file to draw its progress
page. One line = one ``EventRecord``, schema ``crowdperf.run-event/1``::

    {"schema": "crowdperf.run-event/1", "kind": "progress", "index": 1, "count": 4,
     "scenario": "Offline", "mode": "accuracy", "elapsed_s": 2.4, "phase": "loadgen",
     "phase_elapsed_s": 1.1, "done": 120, "expected": 400, "exact": true, "unit": "samples",
     "remaining_s": 2.6, ...}

``started`` and ``finished`` lines are always written; ``progress`` lines at most every
``PROGRESS_INTERVAL_S`` per test (the harness emits ten a second). Each line is written whole and
flushed, so a reader that only takes complete lines never sees half of one.
"""

from __future__ import annotations

import json
import time
from dataclasses import dataclass, fields, replace
from pathlib import Path
from types import TracebackType
from typing import IO

from crowdperf import jsonio
from crowdperf.formatting import duration, number, quantity
from crowdperf.mlperf.run_events import EventSink, RunEvent, RunProgress, RunStarted

EVENT_SCHEMA = jsonio.schema("run-event", 1)
PROGRESS_INTERVAL_S = 0.25


@dataclass(frozen=True)
class EventRecord:
    """One run event as plain values (what a JSON line holds)."""

    kind: str  # "started" | "progress" | "finished"
    index: int  # 1-based test of the plan
    count: int  # tests in the plan
    scenario: str
    mode: str
    elapsed_s: float = 0.0  # since the test started
    phase: str | None = None  # progress.Phase value; None before the child's first report
    phase_elapsed_s: float | None = None
    done: int | None = None  # samples (or probes) completed in the phase
    expected: int | None = None  # expected total of the phase; None while unknowable
    exact: bool = False  # expected is exact (accuracy, Offline), not a running estimate
    unit: str | None = None  # "samples" | "probes"
    remaining_s: float | None = None  # LoadGen phase only, at the rate so far
    metric: str | None = None  # finished: the scenario's result metric
    value: float | None = None
    value_unit: str | None = None
    valid: bool | None = None  # finished: LoadGen's verdict (None for accuracy runs)
    accuracy_metric: str | None = None
    accuracy_value: float | None = None

    @classmethod
    def of(cls, event: RunEvent) -> EventRecord:
        spec = event.spec
        started = cls("started", event.index, event.count, spec.scenario.value, spec.mode.value)
        if isinstance(event, RunStarted):
            return started
        if isinstance(event, RunProgress):
            p = event.progress
            progress = replace(started, kind="progress", elapsed_s=_ms(event.elapsed_s))
            if p is None:
                return progress
            return replace(
                progress, phase=p.phase.value, phase_elapsed_s=_ms(p.phase_elapsed_s), done=p.done,
                expected=p.expected_total, exact=p.budget is not None and p.budget.exact_samples is not None,
                unit=p.unit, remaining_s=p.remaining_s(),
            )  # fmt: skip
        r = event.result
        finished = replace(started, kind="finished", elapsed_s=_ms(event.elapsed_s), valid=r.valid)
        if r.metric is not None:
            finished = replace(finished, metric=r.metric.name, value=r.metric.value, value_unit=r.metric.unit)
        if r.accuracy is not None:
            finished = replace(finished, accuracy_metric=r.accuracy.metric, accuracy_value=r.accuracy.value)
        return finished

    def finished_text(self) -> str:
        """``done in 4.4 s, throughput 219.4 samples/s, VALID``: a finished test as ``crowdperf
        run`` prints it and the ui's job page shows it."""
        parts = [f"done in {duration(self.elapsed_s)}"]
        if self.metric is not None:
            parts.append(f"{self.metric} {quantity(self.value, self.value_unit or '')}")
        if self.valid is not None:
            parts.append("VALID" if self.valid else "INVALID")
        if self.accuracy_metric is not None:
            parts.append(f"{self.accuracy_metric} {number(self.accuracy_value)}")
        return ", ".join(parts)

    def to_json(self) -> str:
        return json.dumps(jsonio.document("run-event", 1, self), separators=(",", ":"))

    @classmethod
    def from_json(cls, line: str) -> EventRecord | None:
        """The record of one line; None for a line of another schema or one that is not a record
        (a reader skips it rather than failing a page)."""
        try:
            data = json.loads(line)
        except ValueError:
            return None
        if not isinstance(data, dict) or data.get("schema") != EVENT_SCHEMA:
            return None
        known = {f.name for f in fields(cls)}
        try:
            return cls(**{k: v for k, v in data.items() if k in known})
        except TypeError:  # a required field missing
            return None


def _ms(seconds: float) -> float:
    """Seconds to the millisecond: what a watcher needs, and lines a third as long."""
    return round(seconds, 3)


class EventFileWriter:
    """An ``EventSink`` appending each event's record to ``path`` (see the module docstring)."""

    def __init__(self, path: Path, interval_s: float = PROGRESS_INTERVAL_S) -> None:
        self.path, self.interval_s = path, interval_s
        self._file: IO[str] | None = None
        self._last_progress = 0.0

    def __enter__(self) -> EventFileWriter:
        self._file = self.path.open("a", encoding="utf-8")
        return self

    def __exit__(self, *exc: type[BaseException] | BaseException | TracebackType | None) -> None:
        if self._file is not None:
            self._file.close()
            self._file = None

    def __call__(self, event: RunEvent) -> None:
        if self._file is None:
            return
        now = time.monotonic()
        if isinstance(event, RunProgress):
            if now - self._last_progress < self.interval_s:
                return
            self._last_progress = now
        else:
            self._last_progress = 0.0  # the next test's first progress line is written at once
        self._file.write(EventRecord.of(event).to_json() + "\n")
        self._file.flush()


def fan_out(*sinks: EventSink | None) -> EventSink:
    """One ``EventSink`` that hands each event to every sink in ``sinks`` (None ones skipped)."""
    live = [s for s in sinks if s is not None]

    def sink(event: RunEvent) -> None:
        for s in live:
            s(event)

    return sink
