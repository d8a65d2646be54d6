"""How ``crowdperf hub list|compare|pareto|best`` print their answers for people: rows that are a
table when they fit and one block per result when they do not (cli/tables.py), numbers in the one
format (formatting.py), submitted text escaped (a system name is never rich markup). ``best``
leads with the winner of the key a user most likely asks about, then each key's detail. A power
figure is never shown without its meter (a `meter` column, or `683 W (nvml)`), and figures of
different meters meeting in one answer get a `warning:` line (hub/power_meters.py)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING

from rich.console import Console
from rich.markup import escape

from crowdperf.cli.tables import Rows, print_rows
from crowdperf.formatting import ACCURACY_DIGITS, delta_percent, number, plural, quantity
from crowdperf.hub.best_text import constraints_text, objective_text, stack
from crowdperf.hub.query_types import (
    AXES,
    SCHEDULING,
    BestAnswer,
    BestGroup,
    Comparison,
    HubResult,
    ParetoFront,
)

if TYPE_CHECKING:  # the importer loads SQLAlchemy: `crowdperf --help` must not (test_root.py)
    from crowdperf.hub.importer import ImportReport

RESULT_HEADERS = (
    "id", "system", "hardware", "software", "model", "scenario", "round", "result",
    "F1", "W", "J/sample", "meter", "$/1M", "$/1M energy", "valid", "key",
)  # fmt: skip
RIGHT = frozenset({"result", "F1", "W", "J/sample", "$/1M", "$/1M energy"})


def meter(r: HubResult) -> str:
    """The meter of a result's power figures ("-" without one)."""
    if r.power_w is None and r.energy_j_per_sample is None:
        return "-"
    return r.power_meter or "not recorded"


def meter_warning(note: str) -> tuple[str, ...]:
    """Figures of different power meters side by side: said in plain sight, never silently."""
    return (f"[yellow]warning:[/] {escape(note)}",) if note else ()


def hardware(r: HubResult) -> str:
    return _hardware(r.accelerator_count, r.accelerator)


def software(r: HubResult) -> str:
    return ", ".join(p for p in (r.backend or r.software, r.precision) if p)


def result_cells(r: HubResult) -> tuple[str, ...]:
    cells = (
        str(r.id), r.label, hardware(r), software(r), r.model, r.scenario, f"{r.round} {r.division}",
        quantity(r.value, r.unit), number(r.accuracy_f1, ACCURACY_DIGITS), number(r.power_w, 3),
        number(r.energy_j_per_sample, 3), meter(r), number(r.usd_per_million),
        number(r.energy_usd_per_million), "yes" if r.valid else "no", r.comparison_key[:8],
    )  # fmt: skip
    return tuple(escape(c) for c in cells)


# left out first when a table is too wide: what a reader can do without soonest (a meter only after
# the figures it labels)
LIST_DROPPABLE = (
    "$/1M energy", "key", "J/sample", "W", "meter", "valid", "round", "scenario", "model", "software", "$/1M",
    "F1",
)  # fmt: skip
RANKING_HEADERS = ("#", "system", "hardware", "software", "result", "F1", "W", "meter", "$/1M", "valid")


def results_rows(rows: Sequence[HubResult], title: str, notes: tuple[str, ...] = ()) -> Rows:
    cells = tuple(result_cells(r) for r in rows)
    return Rows(
        RESULT_HEADERS, cells, title=title, keys=2, right=RIGHT, notes=notes, droppable=LIST_DROPPABLE
    )


def ranking_rows(ranking: Sequence[HubResult], title: str) -> Rows:
    """One key's ranking: model, scenario, round and key are the title's, not columns."""
    cells = tuple(
        tuple(escape(c) for c in (
            str(i), r.label, hardware(r), software(r), quantity(r.value, r.unit),
            number(r.accuracy_f1, ACCURACY_DIGITS), number(r.power_w, 3), meter(r),
            number(r.usd_per_million), "yes" if r.valid else "no",
        ))
        for i, r in enumerate(ranking, start=1)
    )  # fmt: skip
    droppable = ("W", "meter", "valid", "software", "$/1M", "F1")
    return Rows(RANKING_HEADERS, cells, title=title, keys=2, right=RIGHT, droppable=droppable)


def print_import(console: Console, report: ImportReport) -> None:
    failed = len(report.failed)
    console.print(
        f"{plural(report.found, 'result')} found in {escape(report.root)}: [green]{number(report.imported)} "
        f"imported[/], {number(report.unchanged)} unchanged, "
        + (
            f"{number(report.updated)} updated from their power.json or provenance.json, "
            if report.updated
            else ""
        )
        + (f"[red]{number(failed)} failed[/]" if failed else "0 failed")
        + f" ({number(report.results_per_second)} results/s)",
        soft_wrap=True,
    )
    for failure in report.failed:
        console.print(f"  [red]failed[/] {escape(failure.path)}: {escape(failure.reason)}", soft_wrap=True)


def compare_rows(cmp: Comparison) -> Rows:
    headers = ("metric", *(f"#{r.id} {r.label}" for r in cmp.results))
    rows = []
    for m in cmp.metrics:
        cells = [
            quantity(v, "") if i == 0 or d is None else f"{quantity(v, '')} ({delta_percent(d)})"
            for i, (v, d) in enumerate(zip(m.values, m.delta_pct, strict=True))
        ]
        if m.meters:  # a power figure is shown with its meter
            named = zip(cells, m.meters, strict=True)
            cells = [c if c == "-" else f"{c} ({mt or 'meter not recorded'})" for c, mt in named]
        unit = f"{m.unit}, " if m.unit else ""
        rows.append((escape(f"{m.name} ({unit}{m.better} is better)"), *cells))
    stacks = ("hardware", *(escape(stack(r)) for r in cmp.results))
    for name in SCHEDULING:  # how the SUT fed LoadGen: shown, never ranked
        values = [getattr(r, name) for r in cmp.results]
        if any(v is not None for v in values):
            rows.append((f"{name} (not ranked)", *("-" if v is None else number(v) for v in values)))
    notes = ((f"[yellow]note:[/] {escape(cmp.note)}",) if cmp.note else ()) + meter_warning(cmp.meter_note)
    return Rows(
        tuple(escape(h) for h in headers),
        (stacks, *rows),
        title="comparison (deltas against the first result)",
        notes=notes,
    )


def _hardware(count: int, accelerator: str | None) -> str:
    return f"{count}x {accelerator}" if accelerator else "CPU"


def print_pareto(console: Console, front: ParetoFront) -> None:
    if not front.groups:
        console.print("no results have all of these axes")
    for g in front.groups:
        title = (
            f"{escape(f'{g.model} {g.scenario} {g.round} {g.division}')} (key {g.comparison_key[:8]}): "
            f"{number(len(g.front_ids))} on the front of {plural(g.total, 'result')}"
        )
        units = {a: AXES[a].unit for a in front.axes}
        powered = any(a in ("energy", "power") for a in front.axes)  # the figures' meter beside them
        headers = ("id", "system", "hardware", *(f"{a} ({units[a]})" for a in front.axes))
        headers += ("meter",) if powered else ()
        rows = tuple(
            (str(p.id), escape(p.label), escape(_hardware(p.accelerator_count, p.accelerator)),
             *(number(c) for c in p.coords), *((escape(p.power_meter or "not recorded"),) if powered else ()))
            for p in g.points if p.on_front
        )  # fmt: skip
        right = frozenset(headers[3 : 3 + len(front.axes)])
        notes = meter_warning(g.meter_note)
        print_rows(console, Rows(headers, rows, title=title, keys=2, right=right, notes=notes))


def _key_title(g: BestGroup) -> str:
    first = g.ranking[0]
    where = f"{first.model} {first.scenario}, round {first.round}, {first.division}"
    return (
        f"{where} (key {g.comparison_key[:8]}): {number(g.meeting)} of "
        f"{plural(g.candidates, 'candidate')} meet the constraints"
    )


def print_best(console: Console, answer: BestAnswer) -> None:
    """The overall answer first (the lead key's winner and why), then every key's ranking."""
    if not answer.groups:
        console.print("no results match the scenario, model and round filters")
        return
    wants = escape(constraints_text(answer.constraints))
    lead = next((g for g in answer.groups if g.comparison_key == answer.lead_key), None)
    if lead is None:
        console.print(f"[bold]No configuration meets the constraints[/] ({wants}).", soft_wrap=True)
    else:
        win, axis = lead.ranking[0], AXES[answer.objective]
        value = escape(objective_text(win, axis))
        console.print(f"[bold]Best {answer.objective}: {escape(win.label)}, {value}[/]", soft_wrap=True)
        console.print(f"  asked: {wants}", soft_wrap=True, highlight=False)
        console.print(f"  among: {escape(_key_title(lead))}", soft_wrap=True, highlight=False)
        for line in lead.explanation:
            console.print("  " + escape(line), soft_wrap=True, highlight=False)
        for warning in meter_warning(lead.meter_note):
            console.print("  " + warning, soft_wrap=True, highlight=False)
    others = [g for g in answer.groups if g is not lead]
    if lead is not None and others:
        console.print(
            f"\n{plural(len(others), 'other comparison key')} also match; each ranks on its own (their "
            "numbers are not comparable with the answer above):",
            soft_wrap=True,
        )
    for g in ([lead] if lead is not None else []) + others:
        console.print()
        if g.ranking:
            print_rows(console, ranking_rows(g.ranking, f"[bold]{escape(_key_title(g))}[/]"))
        if g is not lead:
            for line in g.explanation:
                console.print(escape(line), soft_wrap=True, highlight=False)
            for warning in meter_warning(g.meter_note):
                console.print(warning, soft_wrap=True, highlight=False)
