"""CLI: ``crowdperf hub import|list|compare|pareto|best``. Parses options, calls one function of
``crowdperf.hub``, renders its typed result (rich table, or ``--json``).

``hub_app`` is the ``hub`` sub-app; ``crowdperf.cli.hub_web`` (serve, submit, token, export-site), when
present, adds its commands through ``register_web(hub_app)``.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeVar

import typer
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeRemainingColumn

from crowdperf import jsonio
from crowdperf.cli.console import console, err_console
from crowdperf.cli.hub_render import (
    compare_rows,
    meter_warning,
    print_best,
    print_import,
    print_pareto,
    results_rows,
)
from crowdperf.cli.hub_web import register_web
from crowdperf.cli.tables import print_rows
from crowdperf.errors import HubError, MissingInputError, UsageError
from crowdperf.formatting import number, plural
from crowdperf.hub.prices import PriceTable, load_price_table
from crowdperf.hub.query_types import (
    JSON_SCHEMA_VERSION,
    MAX_ID,
    MAX_ROWS,
    BestAnswer,
    Comparison,
    Constraints,
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

Q = TypeVar("Q", ResultFilter, Constraints)
ROUND_NAME = re.compile(r"v\d+\.\d+")
MAX_TOP = 1_000

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
SCENARIO = typer.Option(None, "--scenario", help="SingleStream, MultiStream, Server or Offline (any case).")
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


def _store(db: str | None, *, create: bool = False) -> Store:
    """The hub database; only a writer (``import``) may create it (store.open_store)."""
    from crowdperf.hub.store import open_store

    return open_store(db or load_settings().hub_db, create=create)


@contextmanager
def _new_store_removed_on_failure(db: str | None) -> Iterator[Store]:
    """A writer's store; a SQLite file this command created is removed again when the command
    fails (a bad tree leaves no empty database behind)."""
    from crowdperf.hub.store import database_url

    url = database_url(db or load_settings().hub_db)
    path = Path(url.removeprefix("sqlite:///")) if url.startswith("sqlite:///") else None
    fresh = path is not None and not path.exists()
    store = _store(db, create=True)
    try:
        yield store
    except BaseException:
        store.close()
        if fresh and path is not None:
            for leftover in (
                path,
                *path.parent.glob(path.name + "-*"),
                path.with_name(path.name + ".migrate.lock"),
            ):
                leftover.unlink(missing_ok=True)
        raise
    store.close()


def _filters(store: Store, query: Q) -> Q:
    from crowdperf.hub.filter_values import checked_filters

    return checked_filters(store, query)


def _prices(path: Path | None) -> PriceTable:
    return load_price_table(path)


def _emit_json(kind: str, obj: Any) -> None:
    payload = jsonio.document(f"hub.{kind}", JSON_SCHEMA_VERSION, to_jsonable(obj))
    typer.echo(json.dumps(payload, indent=2))


def _round_name(value: str | None) -> str | None:
    if value is not None and not ROUND_NAME.fullmatch(value):
        raise UsageError(f"--round {value!r} is not a round name", hint="use the form v5.1")
    return value


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
    Exits 11 when not one result could be imported (the failures are listed).

    Example: crowdperf hub import ./inference_results_v4.0 --source mlcommons
    """
    from crowdperf.hub.importer import import_tree, is_git_url

    _round_name(round_name)
    if not is_git_url(target) and not Path(target).expanduser().is_dir():
        raise MissingInputError(f"no submission tree at {target}", hint="pass a directory or a git URL")
    with (
        _new_store_removed_on_failure(db) as store,
        Progress(
            TextColumn("importing"),
            BarColumn(),
            MofNCompleteColumn(),
            TimeRemainingColumn(),
            console=err_console,
            transient=True,
            disable=as_json,
        ) as bar,
    ):
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
    else:
        print_import(console, report)
    if report.failed and not (report.imported or report.unchanged):
        raise HubError(
            f"none of the {plural(report.found, 'result')} could be imported",
            hint="see the reason given for each; fix the tree and import it again",
        )


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
        None, "--limit", min=1, max=MAX_ROWS, help="Rows per page (default: all with --json, 50 otherwise)."
    ),
    offset: int = typer.Option(0, "--offset", min=0, max=MAX_ROWS),
    db: str = DB,
    price_table: Path = PRICES,
    as_json: bool = JSON,
) -> None:
    """List results, filtered and sorted. Filter values are checked against what the hub holds
    (any case: --scenario offline is Offline).

    Example: crowdperf hub list --model bert-99 --scenario Offline --min-accuracy-f1 89.96 --sort -throughput
    """
    from crowdperf.hub.queries import list_results, sort_keys

    sort_keys(sort)
    prices = _prices(price_table)
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
    store = _store(db)
    page: ResultPage = list_results(
        store,
        _filters(store, flt),
        sort=sort,
        offset=offset,
        prices=prices,
        limit=limit if (limit or as_json) else 50,
    )
    if as_json:
        _emit_json("list", page)
        return
    shown = f"{plural(page.total, 'result')}" + (
        f" (showing {number(len(page.rows))} from {number(offset)})" if len(page.rows) < page.total else ""
    )
    notes: tuple[str, ...] = ()
    if not page.comparable:
        notes = (
            f"[yellow]note:[/] these rows span {number(page.comparison_keys)} comparison keys: rank only "
            "rows with the same key (filter by model, scenario, round and division)",
        )
    print_rows(console, results_rows(page.rows, shown, (*notes, *meter_warning(page.meter_note))))


@hub_app.command("compare")
def compare_cmd(
    ids: list[int] = typer.Argument(
        ..., min=1, max=MAX_ID, help="Two or more result ids; deltas are against the first."
    ),
    db: str = DB,
    price_table: Path = PRICES,
    as_json: bool = JSON,
) -> None:
    """Compare results side by side with deltas.

    Example: crowdperf hub compare 12 40 41
    """
    from crowdperf.hub.queries import compare_results

    prices = _prices(price_table)
    cmp: Comparison = compare_results(_store(db), ids, prices=prices)
    if as_json:
        _emit_json("compare", cmp)
        return
    print_rows(console, compare_rows(cmp))


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
    from crowdperf.hub.queries import pareto_front

    prices = _prices(price_table)
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
    store = _store(db)
    axis_names = [a.strip() for a in axes.split(",") if a.strip()]
    front: ParetoFront = pareto_front(store, _filters(store, flt), axis_names, prices=prices)
    if as_json:
        _emit_json("pareto", front)
        return
    print_pareto(console, front)


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
    top: int = typer.Option(
        5, "--top", min=1, max=MAX_TOP, help="Configurations to rank per comparison key."
    ),
    db: str = DB,
    price_table: Path = PRICES,
    as_json: bool = JSON,
) -> None:
    """Answer first: the best configuration meeting the constraints and why; then the ranking
    of every comparison key the filters match (numbers of different keys are not comparable).

    Example: crowdperf hub best --scenario Offline --min-accuracy-f1 89.96 --max-usd-per-million 5
    Example: crowdperf hub best --scenario Offline --objective energy --meter nvml
    """
    from crowdperf.hub.queries import best_configurations

    prices = _prices(price_table)
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
    store = _store(db)
    answer: BestAnswer = best_configurations(store, _filters(store, c), prices=prices, top=top)
    if as_json:
        _emit_json("best", answer)
        return
    print_best(console, answer)


def register(app: typer.Typer) -> None:
    """Add ``hub`` to the root app, its web commands (serve, submit, token, ...) included."""
    register_web(hub_app)
    app.add_typer(hub_app, name="hub")
