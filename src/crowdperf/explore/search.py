"""The driver of ``crowdperf explore``: screening, promotion, full runs, within the budget, from
and into the journal. docs/explore.md tells the search in words; in short, rounds of

    1. screen   every point not yet screened, group by group (``steps.ScreenTask``), until the
                round's screening share of the budget is spent; a refusal applies to every
                point of the same stack without running it
    2. decide   promote each screened point no other epsilon-dominates (``pareto.decide``)
    3. finals   full accuracy + performance runs of the promoted points, most promising first
                (front layer, then performance), each imported into the hub as it lands

until every point is decided or the budget is spent. A step is started only when the time it is
expected to take (the mean of those before it) still fits; one under way when the budget runs
out is stopped and left for a rerun. Nothing finished is ever redone: the journal says what is.
"""

from __future__ import annotations

import os
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

from crowdperf.errors import UsageError
from crowdperf.explore.executors import Executor, Hooks
from crowdperf.explore.journal import (
    Entry,
    Header,
    Journal,
    PointDecided,
    PointFailed,
    PointImported,
    PointMeasured,
    PointSkipped,
    Record,
    SessionEnded,
    SessionStarted,
    Started,
    Stopped,
    check_same_exploration,
    journal_path,
    read_journal,
)
from crowdperf.explore.pareto import Objectives, Tolerances, decide, final_order, objectives_of
from crowdperf.explore.space import Point, Space
from crowdperf.explore.state import FINAL, SCREEN, ExplorationState, PointStatus, replay
from crowdperf.explore.steps import (
    FinalResult,
    FinalTask,
    PointFailure,
    RunSettings,
    ScreenResult,
    ScreenTask,
    write_failure_log,
)
from crowdperf.hub.prices import PriceTable
from crowdperf.locks import dir_lock, exclusive
from crowdperf.mlperf.spec import ExecutionMode

if TYPE_CHECKING:
    from crowdperf.explore.hub_sink import HubSink

RESERVE_S = 2.0  # kept back from the budget for the last import and the session's end
# a final = an accuracy and a performance run, each its own child with the model's load and
# warm-up: about three screenings of one point (measured on the tiny model, docs/explore.md)
FIRST_FINAL_FACTOR = 3.0


@dataclass(frozen=True)
class SearchSettings:
    budget_s: float
    screen_count: int | None = 64  # accuracy subset of screening; None: no accuracy at screening
    tolerances: Tolerances = field(default_factory=Tolerances)
    screen_share: float = 0.5  # of what is left of the budget, for each round's screening
    retry_failed: bool = False
    submitter: str = "crowdperf"


@dataclass(frozen=True)
class Exploration:
    directory: Path
    space: Space
    run: RunSettings
    search: SearchSettings
    argv: tuple[str, ...] = ()


Listener = Callable[[ExplorationState, Record | None], None]


def points_dir(directory: Path) -> Path:
    return directory / "points"


class Driver:
    """One session of one exploration (see the module docstring)."""

    def __init__(
        self, exp: Exploration, executor: Executor, sink: HubSink, prices: PriceTable, listener: Listener
    ) -> None:
        self.exp, self.executor, self.sink, self.prices, self.listener = exp, executor, sink, prices, listener
        self.points: dict[str, Point] = {p.key: p for p in exp.space.points()}
        self.journal: Journal | None = None
        self.state = ExplorationState()
        self.deadline = 0.0
        self.records = 0  # written by this session

    # -- journal -------------------------------------------------------------------------------
    def record(self, record: Record) -> None:
        assert self.journal is not None
        t = self.journal.append(record)
        self.state.add(Entry(t, record))
        self.records += 1
        self.listener(self.state, record)

    def _open(self) -> None:
        path = journal_path(self.exp.directory)
        entries = read_journal(path)
        identity = self.exp.space.identity()
        header = entries[0].record if entries else None
        if entries and not isinstance(header, Header):
            raise UsageError(f"{path} does not start with an exploration record", hint="use another --dir")
        if isinstance(header, Header):
            check_same_exploration(header, identity, self.exp.search.screen_count, self.exp.directory)
        self.state = replay(entries, tuple(self.points))
        self.journal = Journal(path)
        if header is None:
            exp_id = uuid.uuid4().hex[:12]
            self.record(Header(exp_id, identity, self.exp.search.screen_count, f"explore:{exp_id}"))
        remaining = self.exp.search.budget_s - self.state.spent_s
        self.record(
            SessionStarted(os.getpid(), self.exp.search.budget_s, list(self.exp.argv), self.executor.name)
        )
        self.deadline = time.time() + remaining - RESERVE_S

    # -- the search ----------------------------------------------------------------------------
    def run(self) -> ExplorationState:
        with exclusive(dir_lock(self.exp.directory), f"exploration directory {self.exp.directory}"):
            self._open()
            try:
                reason = self._rounds()
            except KeyboardInterrupt:
                self.record(SessionEnded("interrupted"))
                raise
            self.record(SessionEnded(reason))
            assert self.journal is not None
            self.journal.close()
        return self.state

    def _rounds(self) -> str:
        self._import_pending()
        while True:
            before = self.records
            left = self._screen_candidates()
            if left:  # the rest of this round's share is kept for the finals
                share = self.exp.search.screen_share
                if not self._screen(left, time.time() + share * max(0.0, self.deadline - time.time())):
                    self._stopped()
            self._decide()
            if not self._finals():
                self._stopped()
                return "budget"
            if not self._screen_candidates():
                return "done"
            if time.time() >= self.deadline or self.records == before:
                return "budget"  # no time left, or none enough for the next step

    def _stopped(self) -> None:
        """The budget stopped what was running: it is left (journalled, so a rerun agrees)."""
        running = [k for k, p in self.state.points.items() if p.status is PointStatus.RUNNING]
        if running:
            self.record(Stopped(running))

    def _screen_candidates(self) -> list[Point]:
        wanted = {PointStatus.LEFT}
        out = []
        for key, point in self.points.items():
            p = self.state.point(key)
            retry = self.exp.search.retry_failed and p.status is PointStatus.FAILED and p.screen is None
            if p.status in wanted or retry:
                out.append(point)
        return out

    # -- screening -----------------------------------------------------------------------------
    def _screen(self, points: list[Point], until: float) -> bool:
        groups: dict[str, list[Point]] = {}
        for point in points:
            groups.setdefault(point.group_key, []).append(point)
        tasks = [
            ScreenTask(tuple(g), self.exp.run, self.exp.search.screen_count, until) for g in groups.values()
        ]
        return self.executor.screen(
            tasks, Hooks(lambda t: self._admit_screen(t, until), self._started, self._screened)
        )

    def _refused_stack(self, point: Point) -> str | None:
        for key, p in self.state.points.items():
            first_refusal = p.skipped is not None and p.skipped.same_stack_as is None
            if first_refusal and self.points[key].stack_key == point.stack_key:
                return key
        return None

    def _admit_screen(self, task: ScreenTask, until: float) -> bool:
        by = self._refused_stack(task.points[0])  # a group shares its stack
        if by is not None:
            first = self.state.point(by).skipped
            assert first is not None
            for point in task.points:
                self.record(PointSkipped(point.key, first.error, first.message, first.hint, same_stack_as=by))
            return False
        expected = self._mean_seconds(SCREEN) * len(task.points)
        return time.time() + expected <= until

    def _mean_seconds(self, rung: str) -> float:
        seconds = [
            m.seconds
            for p in self.state.points.values()
            for m in (p.screen, p.final)
            if m is not None and m.rung == rung
        ]
        return sum(seconds) / len(seconds) if seconds else 0.0

    def _started(self, task: ScreenTask | FinalTask) -> None:
        if isinstance(task, ScreenTask):
            self.record(Started([p.key for p in task.points], SCREEN, self.executor.name))
        else:
            self.record(Started([task.point.key], FINAL, self.executor.name))

    def _screened(self, result: ScreenResult) -> None:
        if result.measured is not None:
            self.record(PointMeasured(result.point, result.measured))
        elif result.failure is not None:
            self._failed(result.failure, SCREEN)

    def _failed(self, f: PointFailure, rung: str) -> None:
        if f.refused:
            self.record(PointSkipped(f.point, f.error, f.message, f.hint))
            return
        if f.log is None or not Path(f.log).is_file():  # a screening's, or a log on a Ray worker
            log = points_dir(self.exp.directory) / self.points[f.point].slug / f"{rung}-error.log"
            f = write_failure_log(f, log, elsewhere=f.log)
        self.record(PointFailed(f.point, rung, f.error, f.message, f.hint, f.versions, f.log))

    # -- promotion -----------------------------------------------------------------------------
    def objectives(self) -> dict[str, Objectives]:
        scenario = self.exp.space.scenario.value
        return {
            key: objectives_of(p.screen, scenario, self.prices)
            for key, p in self.state.points.items()
            if p.screen is not None and key in self.points
        }

    def _decide(self) -> None:
        objs = self.objectives()
        verdicts = decide(objs, self.exp.search.tolerances)
        for key, v in verdicts.items():
            p = self.state.point(key)
            if p.status not in (PointStatus.SCREENED, PointStatus.PROMOTED, PointStatus.PRUNED):
                continue
            old = p.decision
            if old is None or old.promoted != v.promoted or old.by != v.by:
                reason = "no screened point rules it out" if v.promoted else f"ruled out by {v.by}"
                self.record(PointDecided(key, v.promoted, v.by, reason))

    # -- finals --------------------------------------------------------------------------------
    def _finals(self) -> bool:
        objs = self.objectives()
        verdicts = decide(objs, self.exp.search.tolerances)
        order = [k for k in final_order(objs, verdicts) if self._wants_final(k)]
        if self.exp.search.retry_failed:
            order += [
                k for k, p in self.state.points.items()
                if p.status is PointStatus.FAILED and p.screen is not None and k not in order
            ]  # fmt: skip
        tasks = [self._final_task(self.points[k]) for k in order]
        return self.executor.final(tasks, Hooks(self._admit_final, self._started, self._finished))

    def _wants_final(self, key: str) -> bool:
        p = self.state.point(key)
        return p.status is PointStatus.PROMOTED and p.final is None

    def _final_task(self, point: Point) -> FinalTask:
        screen = self.state.point(point.key).screen
        valid = self.exp.run.execution_mode is ExecutionMode.VALID
        return FinalTask(
            point,
            self.exp.run,
            points_dir(self.exp.directory) / point.slug,
            self.exp.search.submitter,
            target=screen.performance if (valid and screen) else None,
            deadline=self.deadline,
            pack=self.executor.name != "local",
        )

    def _admit_final(self, task: FinalTask) -> bool:
        """Start a final only when it can still finish: the mean of the finals so far, or before
        the first, FIRST_FINAL_FACTOR x the point's screening (two children instead of one)."""
        expected = self._mean_seconds(FINAL)
        screen = self.state.point(task.point.key).screen
        if not expected and screen is not None:
            expected = FIRST_FINAL_FACTOR * screen.seconds
        return time.time() + expected <= self.deadline

    def _finished(self, result: FinalResult) -> None:
        if result.failure is not None or result.measured is None:
            if result.failure is not None:
                self._failed(result.failure, FINAL)
            return
        self.record(PointMeasured(result.point, result.measured, run_dir=result.run_dir))
        tree = self.sink.place(result, points_dir(self.exp.directory) / self.points[result.point].slug)
        self._import(result.point, tree)

    def _import(self, key: str, tree: Path) -> None:
        assert self.state.header is not None
        source = self.state.header.source
        report = self.sink.import_tree(tree, source)
        if report.failed:
            reason = "; ".join(f"{f.path}: {f.reason}" for f in report.failed)
            self.record(PointFailed(key, "import", "HubError", reason, "see crowdperf hub import"))
            return
        self.record(PointImported(key, str(tree), source, report.imported, report.unchanged))

    def _import_pending(self) -> None:
        """Points whose final ran but whose import did not land (the last writer was stopped)."""
        for key, p in self.state.points.items():
            if p.final is not None and p.imported is None and p.status is PointStatus.PROMOTED:
                tree = points_dir(self.exp.directory) / self.points[key].slug / "submission"
                if tree.is_dir():
                    self._import(key, tree)
