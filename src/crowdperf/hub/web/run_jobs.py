"""One launched benchmark of ``crowdperf ui`` (a job), as the runner keeps it and as pages see it.

    Job       the runner's mutable record, changed only under the runner's lock; every change
              bumps ``version`` (what the event stream watches)
    JobView   a frozen snapshot of it: what the pages render and the event stream sends as JSON

A job's life::

    queued -> waiting (another run holds this machine) -> running -> importing -> finished
                                                          running -> failed | cancelling -> cancelled

The child's progress arrives as ``EventRecord`` lines (``crowdperf run --events-file``), its
stderr as plain lines; ``LineFollower`` reads only the complete lines a file has gained.
"""

from __future__ import annotations

import time
from collections import deque
from dataclasses import dataclass, field, replace
from enum import StrEnum
from pathlib import Path
from typing import Any

from crowdperf import jsonio
from crowdperf.formatting import number
from crowdperf.hub.web.run_form import LaunchChoice
from crowdperf.mlperf.run_event_json import EventRecord

LOG_LINES = 40  # lines of log a page shows


class JobState(StrEnum):
    QUEUED = "queued"
    WAITING = "waiting"  # for another crowdperf ui's run on this machine
    RUNNING = "running"
    CANCELLING = "cancelling"  # SIGTERM sent; the child removes its partial test
    IMPORTING = "importing"  # submission tree + hub import
    FINISHED = "finished"
    FAILED = "failed"
    CANCELLED = "cancelled"


ACTIVE = frozenset(
    {JobState.QUEUED, JobState.WAITING, JobState.RUNNING, JobState.CANCELLING, JobState.IMPORTING}
)
# what Cancel may still stop: once the run has ended well its results are whole, and the import
# (a few seconds) finishes; a cancel then would only make a complete run look cancelled
CANCELLABLE = frozenset({JobState.QUEUED, JobState.WAITING, JobState.RUNNING})


@dataclass(frozen=True)
class TestProgress:
    """Where the running test is: the child's last event."""

    index: int
    count: int
    scenario: str
    mode: str
    phase: str | None
    done: int | None
    expected: int | None
    exact: bool
    unit: str | None
    elapsed_s: float
    remaining_s: float | None

    @property
    def work(self) -> str:
        """``120 of 400 samples``, ``~400`` while only estimated, "" when the phase counts nothing."""
        if not self.done and self.expected is None:
            return ""
        if self.expected is None:
            return f"{number(self.done or 0)} {self.unit or ''}".strip()
        about = "" if self.exact else "~"
        return f"{number(self.done or 0)} of {about}{number(self.expected)} {self.unit or ''}"

    @classmethod
    def of(cls, r: EventRecord) -> TestProgress:
        return cls(r.index, r.count, r.scenario, r.mode, r.phase, r.done, r.expected, r.exact, r.unit,
                   r.elapsed_s, r.remaining_s)  # fmt: skip


@dataclass(frozen=True)
class ShareOutcome:
    """What one share action (generate, check, upload, push) did, in the CLI's words."""

    action: str
    ok: bool
    lines: tuple[str, ...]


@dataclass(frozen=True)
class JobView:
    id: str
    state: JobState
    choice: LaunchChoice
    command: str  # what the server runs, as a crowdperf command line
    results_dir: str
    created_at: float  # epoch seconds
    started_at: float | None
    ended_at: float | None
    queue_position: int | None  # 1 = next; None when not queued
    waiting_for: str  # whom a waiting job waits for
    progress: TestProgress | None
    tests_done: tuple[str, ...]
    log_tail: tuple[str, ...]
    error: tuple[str, ...]  # the child's `error:` / `fix:` lines
    result_ids: tuple[int, ...]  # rows imported into the hub
    import_note: tuple[str, ...]  # why the run is not in the hub (or the import's error)
    shares: tuple[ShareOutcome, ...]
    version: int

    @property
    def active(self) -> bool:
        return self.state in ACTIVE

    @property
    def cancellable(self) -> bool:
        return self.state in CANCELLABLE

    def elapsed_s(self, now: float | None = None) -> float:
        if self.started_at is None:
            return 0.0
        return (self.ended_at or now or time.time()) - self.started_at

    def to_json(self) -> dict[str, Any]:
        data: dict[str, Any] = jsonio.to_jsonable(self)
        data["elapsed_s"] = round(self.elapsed_s(), 1)
        data["active"] = self.active
        data["cancellable"] = self.cancellable
        data["work"] = self.progress.work if self.progress else ""
        return data


@dataclass
class Job:
    """The runner's record of one job (mutated under the runner's lock)."""

    id: str
    choice: LaunchChoice
    directory: Path
    command: str
    created_at: float = field(default_factory=time.time)
    state: JobState = JobState.QUEUED
    started_at: float | None = None
    ended_at: float | None = None
    waiting_for: str = ""
    progress: TestProgress | None = None
    tests_done: list[str] = field(default_factory=list)
    log: deque[str] = field(default_factory=lambda: deque(maxlen=LOG_LINES))
    error: tuple[str, ...] = ()
    result_ids: tuple[int, ...] = ()
    import_note: tuple[str, ...] = ()
    shares: dict[str, ShareOutcome] = field(default_factory=dict)
    version: int = 0
    cancel_requested: bool = False

    @property
    def results_dir(self) -> Path:
        return self.directory / "results"

    def changed(self) -> None:
        self.version += 1

    def apply(self, record: EventRecord) -> None:
        """One event of the child: progress, and a log line when a test starts, changes phase or ends."""
        name = f"[{record.index}/{record.count}] {record.scenario} {record.mode}"
        if record.kind == "started":
            self.log.append(f"{name}: started")
        elif record.kind == "finished":
            line = f"{name}: {record.finished_text()}"
            self.tests_done.append(line)
            self.log.append(line)
        elif record.phase and (self.progress is None or self.progress.phase != record.phase
                               or self.progress.index != record.index):  # fmt: skip
            self.log.append(f"{name}: {record.phase}")
        same_test = self.progress is not None and self.progress.index == record.index
        if record.kind == "progress" and record.phase is None and same_test and self.progress:
            # between the child's last report and its exit: keep what it last said
            self.progress = replace(self.progress, elapsed_s=record.elapsed_s)
        else:
            self.progress = TestProgress.of(record)
        self.changed()

    def view(self, queue_position: int | None) -> JobView:
        return JobView(
            id=self.id, state=self.state, choice=self.choice, command=self.command,
            results_dir=str(self.results_dir), created_at=self.created_at, started_at=self.started_at,
            ended_at=self.ended_at, queue_position=queue_position, waiting_for=self.waiting_for,
            progress=self.progress, tests_done=tuple(self.tests_done), log_tail=tuple(self.log),
            error=self.error, result_ids=self.result_ids, import_note=self.import_note,
            shares=tuple(self.shares.values()), version=self.version,
        )  # fmt: skip


class LineFollower:
    """The complete lines a growing file has gained since the last call (``tail -f``, polled)."""

    def __init__(self, path: Path, max_bytes: int = 1 << 20) -> None:
        self.path, self.max_bytes = path, max_bytes
        self._offset = 0
        self._partial = b""

    def read_new(self) -> list[str]:
        try:
            with self.path.open("rb") as f:
                f.seek(self._offset)
                data = f.read(self.max_bytes)
        except FileNotFoundError:
            return []
        self._offset += len(data)
        *lines, self._partial = (self._partial + data).split(b"\n")
        return [line.decode("utf-8", errors="replace").rstrip("\r") for line in lines]

    def flush(self) -> list[str]:
        """Every line left, the last one even without its newline (the writer has exited)."""
        lines = self.read_new()
        if self._partial:
            lines.append(self._partial.decode("utf-8", errors="replace"))
            self._partial = b""
        return lines


def error_lines(stderr_lines: list[str], limit: int = 20) -> tuple[str, ...]:
    """The CLI's last failure as it printed it: the ``error:`` line and what follows it (a
    message of several lines, ``  fix: ...``; cli/boundary.py's format)."""
    for i in range(len(stderr_lines) - 1, -1, -1):
        if stderr_lines[i].startswith(("error:", "internal error:")):
            return tuple(stderr_lines[i : i + limit])
    return ()
