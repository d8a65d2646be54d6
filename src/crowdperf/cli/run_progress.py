"""How ``crowdperf run`` shows a plan while it runs, from the harness's typed events
(mlperf/run_events.py): on a terminal a rich progress line per test (test i of n, the LoadGen
phase, samples done of the expected total, elapsed and estimated remaining time), and a line that
stays once the test is done; piped (CI, a log) one plain line per step and a heartbeat line a
minute during long phases; with ``--json`` nothing.
"""

from __future__ import annotations

import time
from types import TracebackType

from rich.console import Console
from rich.markup import escape
from rich.progress import BarColumn, Progress, SpinnerColumn, TaskID, TextColumn, TimeElapsedColumn

from crowdperf.formatting import duration, number, plural
from crowdperf.mlperf.progress import Phase, ProgressSnapshot
from crowdperf.mlperf.run_event_json import EventRecord
from crowdperf.mlperf.run_events import RunEvent, RunFinished, RunProgress, RunStarted
from crowdperf.mlperf.spec import RunSpec

HEARTBEAT_S = 60.0


def test_name(spec: RunSpec, index: int, count: int) -> str:
    return f"[{index}/{count}] {spec.scenario.value} {spec.mode.value}"


def work_text(progress: ProgressSnapshot | None) -> str:
    """``12,345 of ~60,000 samples``, ``probe 3``, or "" when the phase counts nothing."""
    if progress is None:
        return ""
    if progress.unit == "probes":
        return f"{plural(progress.done, 'probe')} done" if progress.done else ""
    total = progress.expected_total
    if total is None:
        return f"{number(progress.done)} {progress.unit}" if progress.done else ""
    exact = progress.budget is not None and progress.budget.exact_samples is not None
    return f"{number(progress.done)} of {'' if exact else '~'}{number(total)} {progress.unit}"


def remaining_s(progress: ProgressSnapshot | None) -> float | None:
    """Seconds left in the LoadGen phase at the rate so far; None when there is no rate yet."""
    return None if progress is None else progress.remaining_s()


class RunProgressView:
    """An ``EventSink`` that draws the events on ``console`` (stderr)."""

    def __init__(self, console: Console, *, quiet: bool = False) -> None:
        self.console, self.quiet = console, quiet
        self.live = console.is_terminal and not quiet
        self._bar = Progress(
            SpinnerColumn(),
            TextColumn("{task.description}"),
            BarColumn(bar_width=20),
            TextColumn("{task.fields[work]}"),
            TimeElapsedColumn(),
            TextColumn("{task.fields[left]}"),
            console=console,
            transient=True,
        )
        self._task: TaskID | None = None
        self._phase: Phase | None = None
        self._said_at = 0.0

    def __enter__(self) -> RunProgressView:
        if self.live:
            self._bar.start()
        return self

    def __exit__(self, *exc: type[BaseException] | BaseException | TracebackType | None) -> None:
        if self.live:
            self._bar.stop()

    def __call__(self, event: RunEvent) -> None:
        if self.quiet:
            return
        if isinstance(event, RunStarted):
            self._started(event)
        elif isinstance(event, RunProgress):
            self._progress(event)
        else:
            self._finished(event)

    def _started(self, event: RunStarted) -> None:
        self._phase = None
        name = test_name(event.spec, event.index, event.count)
        if self.live:  # piped, the first phase line names the test
            self._task = self._bar.add_task(escape(name), total=None, work="", left="")

    def _progress(self, event: RunProgress) -> None:
        p = event.progress
        name = test_name(event.spec, event.index, event.count)
        left = remaining_s(p)
        left_text = "" if left is None else f"~{duration(left)} left"
        if self.live and self._task is not None:
            total = p.expected_total if p is not None and p.phase is Phase.LOADGEN else None
            self._bar.update(
                self._task,
                description=escape(f"{name} · {p.phase.value}" if p else name),
                total=total,
                completed=p.done if total is not None and p is not None else 0,
                work=work_text(p),
                left=left_text,
            )
            return
        if p is None:
            return
        changed = p.phase is not self._phase
        if changed or time.monotonic() - self._said_at >= HEARTBEAT_S:
            self._phase = p.phase
            details = [work_text(p), f"{duration(event.elapsed_s)} elapsed", left_text]
            self._say(f"{name}: {p.phase.value}" + "".join(f", {d}" for d in details if d and not changed))

    def _finished(self, event: RunFinished) -> None:
        line = f"{test_name(event.spec, event.index, event.count)}: {EventRecord.of(event).finished_text()}"
        if self.live and self._task is not None:
            self._bar.remove_task(self._task)
            self._task = None
            self._bar.console.print(f"[green]✓[/] {escape(line)}", highlight=False)
        else:
            self._say(line)

    def _say(self, line: str) -> None:
        self._said_at = time.monotonic()
        self.console.print(escape(line), highlight=False, soft_wrap=True)
