"""CLI: ``crowdperf hub import|list|compare|pareto|best``. Parses options, calls one function of
``crowdperf.hub``, renders its typed result (rich table, or ``--json``).

``hub_app`` is the ``hub`` sub-app; ``crowdperf.cli.hub_web`` (serve, submit, token, export-site), when
present, adds its commands through ``register_web(hub_app)``.
"""

from __future__ import annotations

import importlib
import json
from pathlib import Path
from typing import TYPE_CHECKING, Any

import typer
from rich.markup import escape
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeRemainingColumn
from rich.table import Table

from crowdperf.cli.console import console, err_console
from crowdperf.hub.prices import PriceTable, load_price_table
from crowdperf.hub.query_types import (
    JSON_SCHEMA_VERSION,
    BestAnswer,
    Comparison,
    Constraints,
    HubResult,
    ParetoFront,
    ResultFilter,
    ResultPage,
    to_jsonable,
)
from crowdperf.settings import load_settings

if TYPE_CHECKING:
    from crowdperf.hub.store import Store

# The store, importer and queries import SQLAlchemy (~0.25 s): each command imports them when it
# runs, so `crowdperf --help` and `crowdperf run` never load it (tests/cli/test_root.py checks).

hub_app = typer.Typer(
    help="Results hub: import MLPerf results, list, compare, Pareto fronts, best stack.", no_args_is_help=True
)

DB = typer.Option(
    None,
    "--db",
    help="SQLite path or database URL (postgresql+psycopg://...); default "
    "CROWDPERF_HUB_DB or <cache>/hub.sqlite.",
)
JSON = typer.Option(False, "--json", help="Print JSON (versioned schema) instead of a table.")
PRICES = typer.Option(None, "--price-table", help="JSON price table (default: the shipped cloud prices).")
MODEL = typer.Option(None, "--model", help="Exact model, e.g. bert-99.")
SCENARIO = typer.Option(None, "--scenario", help="SingleStream, MultiStream, Server or Offline.")
DIVISION = typer.Option(None, "--division", help="closed, open or network.")
ROUND = typer.Option(None, "--round", help="MLPerf round, e.g. v5.1.")
ACCEL = typer.Option(None, "--accelerator", help="Substring of the accelerator name (case-insensitive).")
SUBMITTER = typer.Option(None, "--submitter", help="Substring of the submitter (case-insensitive).")
BACKEND = typer.Option(None, "--backend", help="onnxruntime, tensorrt, pytorch, ...")
PRECISION = typer.Option(None, "--precision", help="Weight data type, e.g. fp32, int8.")
MIN_F1 = typer.Option(None, "--min-accuracy-f1", help="Only results with F1 at least this.")
METER = typer.Option(
    None,
    "--meter",
    help="Only power figures of this meter: ptd (MLPerf's, the system at the wall), nvml (GPU boards), "
    "rapl (CPU packages), none (no figure). Figures of different meters are not comparable.",
)
MAX_WATTS = typer.Option(None, "--max-watts", help="Mean power at most this (W, of the result's meter).")
MAX_JPS = typer.Option(
    None, "--max-joules-per-sample", help="Energy per sample at most this (J, of the result's meter)."
)


def _store(db: str | None) -> Store:
    from crowdperf.hub.store import open_store

    return open_store(db or load_settings().hub_db)


def _prices(path: Path | None) -> PriceTable:
    return load_price_table(path)


def _emit_json(kind: str, obj: Any) -> None:
    payload = {"schema": f"crowdperf.hub.{kind}/{JSON_SCHEMA_VERSION}", **to_jsonable(obj)}
    typer.echo(json.dumps(payload, indent=2))


def _num(value: float | None, fmt: str = "{:,.4g}") -> str:
    return "-" if value is None else fmt.format(value)


@hub_app.command("import")
def import_cmd(
    target: str = typer.Argument(..., help="Submission tree directory or git URL."),
    source: str = typer.Option(
        None, "--source", help="Name recorded as the results' source (default: TARGET)."
    ),
    round_name: str = typer.Option(
        None, "--round", help="MLPerf round when it cannot be inferred (v4.0, ...)."
    ),
    uploader: str = typer.Option(None, "--uploader", help="Who imported these results."),
    db: str = DB,
    as_json: bool = JSON,
) -> None:
    """Import an MLPerf submission tree (ours, or an official inference_results_vX.Y repository).

    Example: crowdperf hub import ./inference_results_v4.0 --source mlcommons
    """
    from crowdperf.hub.importer import import_tree

    store = _store(db)
    with Progress(
        TextColumn("importing"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeRemainingColumn(),
        console=err_console,
        transient=True,
        disable=as_json,
    ) as bar:
        task = bar.add_task("import", total=None)
        report = import_tree(
            store,
            target,
            source=source,
            round_name=round_name,
            uploader=uploader,
            progress=lambda done, total: bar.update(task, completed=done, total=total),
        )
    if as_json:
        _emit_json("import", report)
        return
    console.print(
        f"{report.found} results found in {escape(report.root)}: [green]{report.imported} imported[/], "
        f"{report.unchanged} unchanged, "
        + (f"{report.updated} updated with their power.json, " if report.updated else "")
        + f"[red]{len(report.failed)} failed[/] "
        f"({report.results_per_second:,.0f} results/s)"
    )
    for failure in report.failed:
        console.print(f"  [red]failed[/] {escape(failure.path)}: {escape(failure.reason)}", highlight=False)


def _add_row(table: Table, *cells: str) -> None:
    """Cells come from submitted data: never interpret them as rich markup."""
    table.add_row(*(escape(c) for c in cells))


def _results_table(rows: tuple[HubResult, ...], title: str) -> Table:
    table = Table(title=title, title_justify="left")
    for col in (
        "id",
        "round",
        "submitter",
        "system",
        "accelerator",
        "backend",
        "prec",
        "model",
        "scenario",
        "result",
        "F1",
        "W",
        "J/sample",
        "meter",
        "$/1M",
        "$/1M energy",
        "valid",
        "key",
    ):
        table.add_column(col, overflow="fold")
    for r in rows:
        _add_row(
            table,
            str(r.id),
            r.round,
            r.submitter,
            r.system_name,
            f"{r.accelerator_count}x {r.accelerator}" if r.accelerator else "CPU",
            r.backend,
            r.precision,
            r.model,
            r.scenario,
            f"{_num(r.value)} {r.unit}",
            _num(r.accuracy_f1, "{:.3f}"),
            _num(r.power_w),
            _num(r.energy_j_per_sample),
            r.power_meter or ("-" if r.power_w is None else "not recorded"),
            _num(r.usd_per_million, "{:,.3g}"),
            _num(r.energy_usd_per_million, "{:,.3g}"),
            "yes" if r.valid else "no",
            r.comparison_key[:8],
        )
    return table


def _meter_warning(note: str) -> None:
    """Figures of different power meters side by side: said in plain sight, never silently."""
    if note:
        console.print(f"[yellow]warning:[/] {escape(note)}")


@hub_app.command("list")
def list_cmd(
    model: str = MODEL,
    scenario: str = SCENARIO,
    division: str = DIVISION,
    round_name: str = ROUND,
    accelerator: str = ACCEL,
    submitter: str = SUBMITTER,
    backend: str = BACKEND,
    precision: str = PRECISION,
    min_accuracy_f1: float = MIN_F1,
    meter: str = METER,
    max_watts: float = MAX_WATTS,
    max_joules_per_sample: float = MAX_JPS,
    valid_only: bool = typer.Option(False, "--valid-only", help="Only VALID LoadGen runs."),
    sort: str = typer.Option("-throughput", "--sort", help="Comma-separated fields, '-' for descending."),
    limit: int = typer.Option(
        None, "--limit", min=1, help="Rows per page (default: all with --json, 50 otherwise)."
    ),
    offset: int = typer.Option(0, "--offset", min=0),
    db: str = DB,
    price_table: Path = PRICES,
    as_json: bool = JSON,
) -> None:
    """List results, filtered and sorted.

    Example: crowdperf hub list --model bert-99 --scenario Offline --min-accuracy-f1 89.96 --sort -throughput
    """
    flt = ResultFilter(
        model=model,
        scenario=scenario,
        division=division,
        round=round_name,
        accelerator=accelerator,
        submitter=submitter,
        backend=backend,
        precision=precision,
        min_accuracy_f1=min_accuracy_f1,
        meter=meter,
        max_watts=max_watts,
        max_joules_per_sample=max_joules_per_sample,
        valid_only=valid_only,
    )
    from crowdperf.hub.queries import list_results

    page: ResultPage = list_results(
        _store(db),
        flt,
        sort=sort,
        offset=offset,
        prices=_prices(price_table),
        limit=limit if (limit or as_json) else 50,
    )
    if as_json:
        _emit_json("list", page)
        return
    console.print(_results_table(page.rows, f"{page.total} results (showing {len(page.rows)} from {offset})"))
    if not page.comparable:
        console.print(
            f"[yellow]note:[/] these rows span {page.comparison_keys} comparison keys: rank only rows "
            "with the same key (filter by model, scenario, round and division)"
        )
    _meter_warning(page.meter_note)


@hub_app.command("compare")
def compare_cmd(
    ids: list[int] = typer.Argument(..., help="Two or more result ids; deltas are against the first."),
    db: str = DB,
    price_table: Path = PRICES,
    as_json: bool = JSON,
) -> None:
    """Compare results side by side with deltas.

    Example: crowdperf hub compare 12 40 41
    """
    from crowdperf.hub.queries import compare_results

    cmp: Comparison = compare_results(_store(db), ids, prices=_prices(price_table))
    if as_json:
        _emit_json("compare", cmp)
        return
    table = Table(title="comparison (deltas vs the first result)", title_justify="left")
    table.add_column("metric")
    for r in cmp.results:
        table.add_column(
            f"#{r.id} {r.label}\n{r.accelerator_count}x {r.accelerator or 'CPU'}", overflow="fold"
        )
    for m in cmp.metrics:
        cells = [
            _num(v) if i == 0 or d is None else f"{_num(v)} ({d:+.1f}%)"
            for i, (v, d) in enumerate(zip(m.values, m.delta_pct, strict=True))
        ]
        if m.meters:  # a power figure is shown with its meter
            named = zip(cells, m.meters, strict=True)
            cells = [c if c == "-" else f"{c} ({mt or 'meter not recorded'})" for c, mt in named]
        unit = f"{m.unit}, " if m.unit else ""
        table.add_row(f"{m.name} ({unit}{m.better} is better)", *cells)
    console.print(table)
    if cmp.note:
        console.print(f"[yellow]note:[/] {escape(cmp.note)}")
    _meter_warning(cmp.meter_note)


@hub_app.command("pareto")
def pareto_cmd(
    axes: str = typer.Option(
        "throughput,accuracy",
        "--axes",
        help="Two or three of throughput, latency, accuracy, energy (J/sample), power (W), cost.",
    ),
    model: str = MODEL,
    scenario: str = SCENARIO,
    division: str = DIVISION,
    round_name: str = ROUND,
    accelerator: str = ACCEL,
    submitter: str = SUBMITTER,
    backend: str = BACKEND,
    precision: str = PRECISION,
    min_accuracy_f1: float = MIN_F1,
    meter: str = METER,
    max_watts: float = MAX_WATTS,
    max_joules_per_sample: float = MAX_JPS,
    db: str = DB,
    price_table: Path = PRICES,
    as_json: bool = JSON,
) -> None:
    """Pareto front over two or three axes, one per comparison key.

    Example: crowdperf hub pareto --axes throughput,accuracy,cost --scenario Offline
    Example: crowdperf hub pareto --axes throughput,energy --meter nvml
    """
    flt = ResultFilter(
        model=model,
        scenario=scenario,
        division=division,
        round=round_name,
        accelerator=accelerator,
        submitter=submitter,
        backend=backend,
        precision=precision,
        min_accuracy_f1=min_accuracy_f1,
        meter=meter,
        max_watts=max_watts,
        max_joules_per_sample=max_joules_per_sample,
    )
    from crowdperf.hub.queries import pareto_front

    front: ParetoFront = pareto_front(
        _store(db), flt, [a.strip() for a in axes.split(",") if a.strip()], prices=_prices(price_table)
    )
    if as_json:
        _emit_json("pareto", front)
        return
    if not front.groups:
        console.print("no results have all of these axes")
    for g in front.groups:
        table = Table(
            title=escape(
                f"{g.model} {g.scenario} {g.round} {g.division} (key {g.comparison_key[:8]}): "
                f"{len(g.front_ids)} on the front of {g.total}"
            ),
            title_justify="left",
        )
        powered = any(a in ("energy", "power") for a in front.axes)
        for col in ("id", "system", "accelerator", *front.axes, *(["meter"] if powered else [])):
            table.add_column(col)
        for p in (p for p in g.points if p.on_front):
            _add_row(
                table,
                str(p.id),
                p.label,
                f"{p.accelerator_count}x {p.accelerator or 'CPU'}",
                *(_num(c) for c in p.coords),
                *([p.power_meter or "not recorded"] if powered else []),
            )
        console.print(table)
        _meter_warning(g.meter_note)


@hub_app.command("best")
def best_cmd(
    scenario: str = SCENARIO,
    model: str = MODEL,
    division: str = DIVISION,
    round_name: str = ROUND,
    accelerator: str = ACCEL,
    min_accuracy_f1: float = typer.Option(None, "--min-accuracy-f1", help="F1 at least this."),
    max_latency_ms: float = typer.Option(None, "--max-latency-ms", help="Scenario latency at most this."),
    max_watts: float = MAX_WATTS,
    max_joules_per_sample: float = MAX_JPS,
    meter: str = METER,
    max_usd_per_million: float = typer.Option(
        None, "--max-usd-per-million", help="Cost per 1M samples at most this."
    ),
    objective: str = typer.Option(
        "throughput",
        "--objective",
        help="throughput, latency, accuracy, energy (J/sample), power (W) or cost.",
    ),
    include_invalid: bool = typer.Option(
        False, "--include-invalid", help="Also rank INVALID (test-mode) runs."
    ),
    top: int = typer.Option(5, "--top", min=1, help="Configurations to rank per comparison key."),
    db: str = DB,
    price_table: Path = PRICES,
    as_json: bool = JSON,
) -> None:
    """Rank the configurations meeting constraints and explain the winner.

    Example: crowdperf hub best --scenario Offline --min-accuracy-f1 89.96 --max-usd-per-million 5
    Example: crowdperf hub best --scenario Offline --objective energy --meter nvml
    """
    c = Constraints(
        scenario=scenario,
        model=model,
        division=division,
        round=round_name,
        accelerator=accelerator,
        min_accuracy_f1=min_accuracy_f1,
        max_latency_ms=max_latency_ms,
        max_watts=max_watts,
        max_usd_per_million=max_usd_per_million,
        valid_only=not include_invalid,
        objective=objective,
        max_joules_per_sample=max_joules_per_sample,
        meter=meter,
    )
    from crowdperf.hub.queries import best_configurations

    answer: BestAnswer = best_configurations(_store(db), c, prices=_prices(price_table), top=top)
    if as_json:
        _emit_json("best", answer)
        return
    if not answer.groups:
        console.print("no results match the scenario/model/round filters")
    for g in answer.groups:
        if g.ranking:
            first = g.ranking[0]
            console.print(
                _results_table(
                    g.ranking,
                    escape(
                        f"{first.model} {first.scenario} {first.round} {first.division} "
                        f"(key {g.comparison_key[:8]})"
                    ),
                )
            )
        for line in g.explanation:
            console.print(line, highlight=False, markup=False)
        _meter_warning(g.meter_note)
    if answer.comparable_note:
        console.print(f"[yellow]note:[/] {answer.comparable_note}")


def register(app: typer.Typer) -> None:
    """Add ``hub`` to the root app; the web commands join when ``crowdperf.cli.hub_web`` exists."""
    try:
        web = importlib.import_module("crowdperf.cli.hub_web")
    except ModuleNotFoundError as exc:
        if exc.name != "crowdperf.cli.hub_web":
            raise
    else:
        web.register_web(hub_app)
    app.add_typer(hub_app, name="hub")
