"""The library entry points of ``crowdperf explore``: run (or resume) an exploration, say where
one stands, report its front and winner. Each returns a frozen result the CLI renders."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, replace
from pathlib import Path

from crowdperf.errors import MissingInputError
from crowdperf.explore.executors import Executor, LocalExecutor
from crowdperf.explore.hub_sink import HubReport, HubSink, hub_report
from crowdperf.explore.journal import Header, Measured, journal_path, read_journal
from crowdperf.explore.pareto import front, objectives_of
from crowdperf.explore.search import Driver, Exploration, Listener
from crowdperf.explore.space import Space, build_space
from crowdperf.explore.state import ExplorationState, PointState, PointStatus, replay
from crowdperf.hub.power_meters import mixed_meters_note
from crowdperf.hub.prices import PriceTable, energy_cost_per_million, load_price_table
from crowdperf.hub.query_types import Constraints
from crowdperf.locks import dir_lock, holder_alive
from crowdperf.mlperf.rounds import Category, Scenario
from crowdperf.mlperf.spec import ExecutionMode


@dataclass(frozen=True)
class PointRow:
    """One point as ``status``, ``report`` and the live table show it."""

    key: str
    label: str  # by the axes that vary in the space
    status: str
    rung: str | None  # whose numbers: "final", "screen", or None (none yet)
    performance: float | None
    unit: str
    accuracy_metric: str | None
    accuracy: float | None
    power_w: float | None
    joules_per_sample: float | None
    power_meter: str | None  # whose power_w and joules_per_sample (hub/power_meters.py names)
    power_note: str | None  # why a measured point has no power figure
    usd_per_million: float | None  # instance-hours at the price table's price of the accelerators
    energy_usd_per_million: float | None  # the metered energy at the price table's USD/kWh
    on_front: bool  # on the current front of every measured point (best numbers known)
    note: str  # why skipped / failed / pruned, the power note, the hub import


@dataclass(frozen=True)
class StatusReport:
    directory: str
    exploration: str
    source: str
    model: str
    scenario: str
    budget_s: float
    spent_s: float
    sessions: int
    ended: str | None
    writer_alive: bool
    counts: dict[str, int]
    points: tuple[PointRow, ...]
    meter_note: str = ""  # the hub's warning when the points' power figures come from several meters

    @property
    def done(self) -> int:
        return sum(self.counts[s] for s in ("finished", "pruned", "skipped"))


def _note(p: PointState, label: Callable[[str], str]) -> str:
    if p.skipped:
        same = f" (as {label(p.skipped.same_stack_as)})" if p.skipped.same_stack_as else ""
        return f"refused{same}: {p.skipped.message}"
    if p.failed:
        log = f" (log: {p.failed.log})" if p.failed.log else ""
        return f"{p.failed.rung} failed: {p.failed.error}: {p.failed.message.splitlines()[0]}{log}"
    if p.status is PointStatus.PRUNED and p.decision and p.decision.by:
        return f"ruled out by {label(p.decision.by)}"
    if p.imported:
        return f"in the hub ({p.imported.source})"
    best = p.best
    return f"power: {best.power_note}" if best and best.power_note and best.joules_per_sample is None else ""


def _energy_cost(m: Measured | None, prices: PriceTable) -> float | None:
    """USD per million samples of the energy the point's meter measured (as the hub prices it)."""
    if m is None or m.joules_per_sample is None or prices.energy is None:
        return None
    return energy_cost_per_million(m.joules_per_sample, prices.energy.usd_per_kwh)


def status_of(
    state: ExplorationState, space: Space, prices: PriceTable, *, directory: Path, writer_alive: bool
) -> StatusReport:
    scenario = space.scenario.value
    # the front among the full runs once there is one (screening's numbers, from probes and an
    # accuracy subset, do not rank against them), else among the screened points
    finals = {k: p.final for k, p in state.points.items() if p.final is not None}
    ranked = finals or {k: p.screen for k, p in state.points.items() if p.screen is not None}
    on_front = set(front({k: objectives_of(m, scenario, prices) for k, m in ranked.items()}))
    by_key = {p.key: p for p in space.points()}

    def label(key: str) -> str:
        return space.label(by_key[key]) if key in by_key else key

    rows = []
    for point in space.points():
        p = state.point(point.key)
        m = p.best
        o = objectives_of(m, scenario, prices) if m else None
        rows.append(
            PointRow(
                point.key,
                space.label(point),
                p.status.value,
                m.rung if m else None,
                m.performance if m else None,
                m.unit if m else "",
                m.accuracy_metric if m else None,
                m.accuracy if m else None,
                m.power_w if m else None,
                m.joules_per_sample if m else None,
                m.power_meter if m else None,
                (m.power_note or "no figure") if m and m.joules_per_sample is None else None,
                o.cost if o else None,
                _energy_cost(m, prices),
                point.key in on_front,
                _note(p, label),
            )
        )
    header = state.header
    last_budget = _last_budget(directory)
    return StatusReport(
        str(directory),
        header.id if header else "",
        header.source if header else "",
        space.model,
        scenario,
        last_budget,
        state.spent_s,
        state.sessions,
        state.ended,
        writer_alive,
        state.counts(),
        tuple(rows),
        mixed_meters_note((r.power_meter for r in rows if r.power_meter), "these points"),
    )


def _last_budget(directory: Path) -> float:
    from crowdperf.explore.journal import SessionStarted

    budgets = [
        e.record.budget_s
        for e in read_journal(journal_path(directory))
        if isinstance(e.record, SessionStarted)
    ]
    return budgets[-1] if budgets else 0.0


def space_of(header: Header) -> Space:
    """The space a journal's header describes."""
    s = header.space
    return build_space(
        s["model"],
        Scenario(s["scenario"]),
        {k: list(v) for k, v in s["axes"].items()},
        category=Category(s["category"]),
        execution_mode=ExecutionMode(s["execution_mode"]),
        round_name=s["round"],
    )


def writer_alive(directory: Path) -> bool:
    """A session is writing ``directory`` now (its lock's holder is a live process)."""
    return holder_alive(dir_lock(directory))


def read_exploration(directory: Path) -> tuple[Header, Space, ExplorationState, bool]:
    entries = read_journal(journal_path(directory))
    if not entries or not isinstance(entries[0].record, Header):
        raise MissingInputError(
            f"no exploration journal in {directory}", hint="pass the --dir of crowdperf explore"
        )
    header = entries[0].record
    space = space_of(header)
    alive = writer_alive(directory)
    state = replay(entries, tuple(p.key for p in space.points()), writer_alive=alive)
    return header, space, state, alive


def exploration_status(directory: Path, prices: PriceTable | None = None) -> StatusReport:
    _, space, state, alive = read_exploration(directory)
    return status_of(state, space, prices or load_price_table(), directory=directory, writer_alive=alive)


@dataclass(frozen=True)
class ExploreReport:
    status: StatusReport
    hub: HubReport
    db: str


def exploration_report(
    directory: Path, constraints: Constraints, db: str, prices: PriceTable | None = None
) -> ExploreReport:
    """The exploration's points (journal) and the hub's front and winner among them."""
    header, space, state, alive = read_exploration(directory)
    prices = prices or load_price_table()
    status = status_of(state, space, prices, directory=directory, writer_alive=alive)
    constraints = replace(
        constraints,
        source=header.source,
        model=space.model,
        scenario=space.scenario.value,
        include_hidden=True,
        # a test-mode run is never an MLPerf result (hub: valid needs 600 s): rank them anyway
        valid_only=constraints.valid_only and space.execution_mode is ExecutionMode.VALID,
    )
    sink = HubSink(db)
    try:
        latency = space.scenario in (Scenario.SINGLE_STREAM, Scenario.MULTI_STREAM)
        hub = hub_report(sink.store, header.source, constraints, prices, latency=latency)
    finally:
        sink.close()
    return ExploreReport(status, hub, db)


def run_exploration(
    exp: Exploration,
    *,
    db: str,
    prices: PriceTable | None = None,
    ray_address: str | None = None,
    listener: Listener | None = None,
) -> ExplorationState:
    """Run or resume ``exp`` until it is done or its budget is spent."""
    executor: Executor
    if ray_address:
        from crowdperf.explore.ray_executor import RayExecutor

        executor = RayExecutor(ray_address, exp.space)
    else:
        executor = LocalExecutor(list(exp.argv))
    sink = HubSink(db)
    try:
        driver = Driver(exp, executor, sink, prices or load_price_table(), listener or (lambda s, r: None))
        return driver.run()
    finally:
        sink.close()
        executor.close()
