"""Where an exploration stands, replayed from its journal (``journal.py``): what ``status`` shows
and what a rerun resumes from.

Per point, in the order a point lives them::

    left -> running -> screened -> promoted -> running -> finished
                    -> skipped     -> pruned
                    -> failed                 -> failed

A point whose last record is ``started`` was running when its writer stopped: if the writer is
gone (the directory's lock is free) it counts as ``left`` and a rerun redoes it (the harness
already removed its partial run directory, ``mlperf.layout.remove_abandoned``).
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from enum import StrEnum

from crowdperf.explore.journal import (
    Entry,
    Header,
    Measured,
    PointDecided,
    PointFailed,
    PointImported,
    PointMeasured,
    PointSkipped,
    SessionEnded,
    SessionStarted,
    Started,
    Stopped,
)

SCREEN, FINAL = "screen", "final"


class PointStatus(StrEnum):
    LEFT = "left"
    RUNNING = "running"
    SCREENED = "screened"
    PROMOTED = "promoted"
    PRUNED = "pruned"
    FINISHED = "finished"
    SKIPPED = "skipped"
    FAILED = "failed"


@dataclass(frozen=True)
class PointState:
    key: str
    status: PointStatus = PointStatus.LEFT
    running_rung: str | None = None
    screen: Measured | None = None
    final: Measured | None = None
    run_dir: str = ""
    decision: PointDecided | None = None
    skipped: PointSkipped | None = None
    failed: PointFailed | None = None
    imported: PointImported | None = None

    @property
    def best(self) -> Measured | None:
        """The most trustworthy numbers known: the final's, else the screening's."""
        return self.final or self.screen

    @property
    def ran_final(self) -> bool:
        return self.final is not None


@dataclass
class ExplorationState:
    header: Header | None = None
    points: dict[str, PointState] = field(default_factory=dict)
    sessions: int = 0
    spent_s: float = 0.0  # over every session, each up to its last record
    ended: str | None = None  # the last session's end reason, when it ended
    _session_start: float | None = None
    _last_t: float = 0.0

    def point(self, key: str) -> PointState:
        return self.points.get(key) or PointState(key)

    def set(self, state: PointState) -> None:
        self.points[state.key] = state

    def counts(self) -> dict[str, int]:
        out = {s.value: 0 for s in PointStatus}
        for p in self.points.values():
            out[p.status.value] += 1
        return out

    def add(self, entry: Entry) -> None:
        """Apply one more record."""
        record = entry.record
        if self._session_start is not None:
            self.spent_s += entry.t - self._last_t
        if isinstance(record, Header):
            self.header = record
        elif isinstance(record, SessionStarted):
            _settle(self)  # a new session: the one before is gone, and nothing of it runs
            self.sessions += 1
            self._session_start, self.ended = entry.t, None
        elif isinstance(record, SessionEnded):
            _settle(self)
            self.ended = record.reason
            self._session_start = None
        else:
            _apply(self, record)
        self._last_t = entry.t


def replay(
    entries: list[Entry], known: tuple[str, ...] = (), *, writer_alive: bool = False
) -> ExplorationState:
    """The state after ``entries``; ``known``: every point of the space (those without a record
    are ``left``). ``writer_alive``: a session is writing now, so ``started`` points are running.
    Time spent counts each session up to its last record (a killed one: to its last record)."""
    state = ExplorationState()
    for key in known:
        state.set(PointState(key))
    for entry in entries:
        state.add(entry)
    if not writer_alive:
        _settle(state)
    return state


def _settle(state: ExplorationState) -> None:
    for p in list(state.points.values()):
        if p.status is PointStatus.RUNNING:
            state.set(_interrupted(p))


def _interrupted(p: PointState) -> PointState:
    """What a point that was running when its writer died goes back to."""
    if p.running_rung == FINAL:
        return replace(p, status=PointStatus.PROMOTED, running_rung=None)
    return replace(p, status=PointStatus.LEFT, running_rung=None)


def _apply(state: ExplorationState, record: object) -> None:
    if isinstance(record, Started):
        for key in record.points:
            state.set(replace(state.point(key), status=PointStatus.RUNNING, running_rung=record.rung))
    elif isinstance(record, Stopped):
        for key in record.points:
            p = state.point(key)
            if p.status is PointStatus.RUNNING:
                state.set(_interrupted(p))
    elif isinstance(record, PointMeasured):
        p = state.point(record.point)
        if record.measured.rung == SCREEN:
            state.set(replace(p, screen=record.measured, status=PointStatus.SCREENED, running_rung=None))
        else:  # finished only once imported: until then a rerun imports it
            final = replace(p, final=record.measured, run_dir=record.run_dir, running_rung=None)
            state.set(replace(final, status=PointStatus.PROMOTED))
    elif isinstance(record, PointSkipped):
        state.set(
            replace(state.point(record.point), status=PointStatus.SKIPPED, skipped=record, running_rung=None)
        )
    elif isinstance(record, PointFailed):
        state.set(
            replace(state.point(record.point), status=PointStatus.FAILED, failed=record, running_rung=None)
        )
    elif isinstance(record, PointDecided):
        p = state.point(record.point)
        if p.status in (PointStatus.SCREENED, PointStatus.PROMOTED, PointStatus.PRUNED):
            status = PointStatus.PROMOTED if record.promoted else PointStatus.PRUNED
            state.set(replace(p, status=status, decision=record))
    elif isinstance(record, PointImported):
        p = state.point(record.point)
        state.set(replace(p, imported=record, status=PointStatus.FINISHED, running_rung=None))
