"""How ``crowdperf explore`` and ``explore status|report`` show an exploration to people: the
points as rows that are a table when they fit (cli/tables.py: columns nobody needs at this width
left out first, else one block per point; never a wrapped cell), the same rows live while it
runs, then the front and the winner with ``hub best``'s explanation. A power figure is never
shown without its meter (``0.0123 (rapl)``); figures of different meters get a ``warning:``."""

from __future__ import annotations

from typing import Any

from rich.console import Console, Group, RenderableType
from rich.markup import escape
from rich.text import Text

from crowdperf import formatting
from crowdperf.cli.tables import Rows, as_table, fits, narrowed, print_rows
from crowdperf.hub.power_meters import with_meter

HEADERS = ("point", "status", "performance", "accuracy", "J/sample", "$/1M", "$/1M energy", "note")
RIGHT = frozenset({"performance", "accuracy", "J/sample", "$/1M", "$/1M energy"})
# left out first when the table is too wide (the figures stay in --json and in `explore report`)
DROPPABLE = ("$/1M energy", "$/1M", "J/sample", "note", "accuracy")
FRONT_LEGEND = "* on the current front (final numbers where a point has them)"


def _shared_power_note(points: Any) -> str:
    """The one reason no measured point has power (no meter on this machine), said once under
    the table instead of on every row; "" when some point has power or the reasons differ."""
    reasons = {r.power_note for r in points if r.performance is not None}
    if len(reasons) != 1 or None in reasons:
        return ""
    return f"power: {next(iter(reasons))}"


def _energy_cell(joules_per_sample: float | None, meter: str | None) -> str:
    """J/sample with its meter (``0.0123 (rapl)``): a power figure is never shown without it."""
    return "-" if joules_per_sample is None else with_meter(formatting.number(joules_per_sample), meter)


def _cells(r: Any, shared_power: str) -> tuple[str, ...]:
    perf = "-" if r.performance is None else f"{formatting.quantity(r.performance, r.unit)} ({r.rung})"
    acc = (
        "-"
        if r.accuracy is None
        else f"{r.accuracy_metric} {formatting.number(r.accuracy, formatting.ACCURACY_DIGITS)}"
    )
    cells = (
        f"{'*' if r.on_front else ''}{r.label}",
        r.status,
        perf,
        acc,
        _energy_cell(r.joules_per_sample, r.power_meter),
        formatting.number(r.usd_per_million),
        formatting.number(r.energy_usd_per_million),
        "" if shared_power and r.note == shared_power else r.note,
    )
    return tuple(escape(c) for c in cells)


def status_rows(report: Any, *, budget_s: float | None = None) -> Rows:
    """The points of a ``StatusReport``; a column no point has a value in is left out."""
    counts = report.counts
    budget = budget_s if budget_s is not None else report.budget_s
    title = (
        f"{report.model} {report.scenario}: {counts['finished']} finished, {counts['running']} running, "
        f"{counts['left']} left, {counts['screened'] + counts['promoted']} screened, "
        f"{counts['pruned']} pruned, {counts['skipped']} skipped, {counts['failed']} failed; "
        f"{formatting.duration(report.spent_s)} of {formatting.duration(budget)}"
    )
    shared = _shared_power_note(report.points)
    notes = [FRONT_LEGEND, *([escape(shared)] if shared else [])]
    if report.meter_note:
        notes.append(f"[yellow]warning:[/] {escape(report.meter_note)}")
    rows = Rows(
        HEADERS,
        tuple(_cells(r, shared) for r in report.points),
        title=escape(title),
        right=RIGHT,
        notes=tuple(notes),
        droppable=DROPPABLE,
    )
    for header in HEADERS[2:]:
        column = rows.headers.index(header)
        if all(row[column] in ("-", "") for row in rows.rows):
            rows = rows.without(header)
    return rows


def print_status(console: Console, report: Any) -> None:
    print_rows(console, status_rows(report))


def live_view(console: Console, report: Any, *, budget_s: float) -> RenderableType:
    """What the live display shows: the table with as few columns dropped as it takes to fit, or,
    on a console too narrow even for that, the title and the counts alone."""
    rows = status_rows(report, budget_s=budget_s)
    fewer, _ = narrowed(console, rows)
    table = as_table(fewer)
    parts: list[RenderableType] = [Text.from_markup(rows.title or "")]
    if fits(console, table):
        parts.append(table)
    parts += [Text.from_markup(n) for n in rows.notes if n != FRONT_LEGEND or fits(console, table)]
    return Group(*parts)


def _say(console: Console, line: str) -> None:
    console.print(line, highlight=False, markup=False, soft_wrap=True)


def print_report(console: Console, report: Any) -> None:
    """The points, the journal's front, the hub's front among the imported points, the winner."""
    print_status(console, report.status)
    hub = report.hub
    front = [r.label for r in report.status.points if r.on_front]
    _say(
        console,
        "front (performance, accuracy, energy, cost where known): " + ("; ".join(front) or "none yet"),
    )
    _say(console, f"hub {report.db}: {len(hub.results)} point(s) of source {hub.source}")
    for group in hub.front.groups:  # the hub's accuracy axis is F1: empty for another metric
        ids = set(group.front_ids)
        names = [p.label for p in group.points if p.id in ids]
        _say(console, f"hub front ({', '.join(hub.front.axes)}): " + "; ".join(names))
        if group.meter_note:
            _say(console, f"warning: {group.meter_note}")
    for group in hub.best.groups:
        for line in group.explanation:
            _say(console, line)
        if group.meter_note:
            _say(console, f"warning: {group.meter_note}")
    if not hub.best.groups:
        _say(console, "no winner: no point finished its full runs")
