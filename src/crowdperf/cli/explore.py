"""CLI: ``crowdperf explore`` (run or resume an exploration), ``explore status DIR`` and
``explore report DIR``. Parses options, calls one function of ``crowdperf.explore.session``,
renders its typed result (``explore_view.py``): a live table while it runs (stderr), the front and
the winner at the end (stdout), or JSON lines with ``--json``."""

from __future__ import annotations

import inspect
import json
import signal
import sys
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import typer
from rich.live import Live

from crowdperf import jsonio
from crowdperf.backends.registry import backend_names
from crowdperf.cli.console import console, err_console
from crowdperf.cli.explore_view import live_view, print_report, print_status
from crowdperf.errors import InterruptedRun, UsageError
from crowdperf.explore.journal import Record
from crowdperf.explore.pareto import Tolerances
from crowdperf.explore.search import Exploration, SearchSettings
from crowdperf.explore.space import DEFAULT, build_space, split_devices, split_list
from crowdperf.explore.space_file import AXIS_KEYS, SpaceFile, first, load_space_file, parse_duration
from crowdperf.explore.state import ExplorationState
from crowdperf.explore.steps import RunSettings
from crowdperf.hub.query_types import AXES, Constraints
from crowdperf.mlperf.rounds import Category, Scenario, default_round
from crowdperf.mlperf.spec import AssetPaths, ExecutionMode
from crowdperf.mlperf.workload import workload_names
from crowdperf.precision import Precision
from crowdperf.settings import load_settings

# --json: JSON lines, each journal record as crowdperf.explore.event/1 while it runs, then the
# report as crowdperf.explore/1 (status: crowdperf.explore.status/1); jsonio.py's one style
EXPLORE_VERSION = 1
EXAMPLE = """

Examples:

  crowdperf explore --precisions fp32,bf16 --batch-sizes 1,8,32 --threads 1,2 --budget 5m

  crowdperf explore --space space.yaml --ray-address HEAD:6379 --db postgresql+psycopg://...

  crowdperf explore status explorations/tiny-Offline

  crowdperf explore report explorations/tiny-Offline --objective energy --meter rapl
"""

explore_app = typer.Typer(
    help="Find the best stack: search backends x devices x precisions x batch sizes x threads.",
    invoke_without_command=True,
)

DB = typer.Option(
    None, "--db", help="Hub database (SQLite path or URL); default CROWDPERF_HUB_DB or <cache>/hub.sqlite."
)
JSON = typer.Option(
    False, "--json", help="JSON lines (each journal record as it is written, then the result)."
)
PRICES = typer.Option(None, "--price-table", help="JSON price table for cost (default: the shipped one).")
OBJECTIVE = typer.Option(
    None,
    "--objective",
    help="The winner's objective: throughput, latency, accuracy, energy (J/sample), power (W) or cost "
    "(default: the scenario's).",
)
MIN_F1 = typer.Option(None, "--min-accuracy-f1", help="Winner's accuracy F1 at least this.")
MAX_LATENCY = typer.Option(None, "--max-latency-ms", help="Winner's latency at most this.")
MAX_WATTS = typer.Option(None, "--max-watts", help="Winner's mean power at most this (W, of its meter).")
MAX_JPS = typer.Option(
    None, "--max-joules-per-sample", help="Winner's energy per sample at most this (J, of its meter)."
)
METER = typer.Option(
    None,
    "--meter",
    help="Rank only power figures of this meter: rapl (CPU packages), nvml (GPU boards), none "
    "(points without a figure). Figures of different meters are not comparable.",
)
MAX_COST = typer.Option(None, "--max-usd-per-million", help="Winner's cost per 1M samples at most this.")


@dataclass(frozen=True)
class WinnerOptions:
    """What the winner must meet and maximise: ``hub best``'s constraints, said on the command line."""

    objective: str | None
    min_accuracy_f1: float | None
    max_latency_ms: float | None
    max_watts: float | None
    max_joules_per_sample: float | None
    meter: str | None
    max_usd_per_million: float | None

    def constraints(self, scenario: str) -> Constraints:
        """The hub's constraints; the objective defaults to the scenario's metric."""
        latency = scenario in (Scenario.SINGLE_STREAM.value, Scenario.MULTI_STREAM.value)
        objective = self.objective or ("latency" if latency else "throughput")
        if objective not in AXES:
            raise UsageError(f"--objective {objective!r} is not one of: {', '.join(AXES)}")
        return Constraints(
            objective=objective,
            min_accuracy_f1=self.min_accuracy_f1,
            max_latency_ms=self.max_latency_ms,
            max_watts=self.max_watts,
            max_joules_per_sample=self.max_joules_per_sample,
            meter=self.meter,
            max_usd_per_million=self.max_usd_per_million,
        )


@dataclass(frozen=True)
class ExploreOptions:
    """What the command line said (None: not said; the space file or the default decides)."""

    model: str | None
    scenario: str | None
    backends: str | None
    devices: str | None
    precisions: str | None
    batch_sizes: str | None
    threads: str | None
    axis: tuple[str, ...]
    directory: Path | None
    budget: str | None
    screen_count: int | None
    noise: float
    accuracy_tolerance: float
    execution_mode: str | None
    category: str | None
    submitter: str | None
    retry_failed: bool
    paths: AssetPaths
    download: bool


@explore_app.callback()
def explore(
    ctx: typer.Context,
    space_file: Path | None = typer.Option(
        None, "--space", help="YAML or TOML space file (options given here win)."
    ),
    model: str | None = typer.Option(None, help=f"One of: {', '.join(workload_names())} (default tiny)."),
    scenario: str | None = typer.Option(
        None, help="SingleStream, MultiStream, Server or Offline (default Offline)."
    ),
    backends: str | None = typer.Option(
        None, help=f"Comma list (default every installed: {','.join(backend_names())})."
    ),
    devices: str | None = typer.Option(None, help="Comma list of cpu, cuda, cuda:N, cuda:N,M (default cpu)."),
    precisions: str | None = typer.Option(
        None, help=f"Comma list (default all: {','.join(p.value for p in Precision)})."
    ),
    batch_sizes: str | None = typer.Option(None, help=f"Comma list of batch sizes or '{DEFAULT}'."),
    threads: str | None = typer.Option(None, help=f"Comma list of thread counts or '{DEFAULT}'."),
    axis: list[str] = typer.Option([], "--axis", help="Any other run setting: NAME=V1,V2 (repeatable)."),
    directory: Path | None = typer.Option(
        None, "--dir", help="Journal and runs (default explorations/<model>-<scenario>)."
    ),
    budget: str | None = typer.Option(
        None, help="Time for the whole exploration, resumes included: 30m, 1h, 90s (default 30m)."
    ),
    screen_count: int | None = typer.Option(
        None, help="Samples of the accuracy subset screening scores (default 64)."
    ),
    noise: float = typer.Option(
        0.10, help="Relative margin a point must win by on performance, energy, cost."
    ),
    accuracy_tolerance: float = typer.Option(
        0.5, help="Accuracy difference (metric units) that counts as none."
    ),
    execution_mode: str | None = typer.Option(
        None, help="test (short runs, default) or valid (MLPerf's rules)."
    ),
    category: str | None = typer.Option(None, help="edge or datacenter (the submission trees' system type)."),
    submitter: str | None = typer.Option(
        None, help="Submitter of the points' open-division trees (default crowdperf)."
    ),
    retry_failed: bool = typer.Option(False, "--retry-failed", help="Run failed points again."),
    ray_address: str | None = typer.Option(
        None, "--ray-address", help="Run points as Ray tasks on this cluster (needs crowdperf's 'ray' extra)."
    ),
    model_path: Path | None = typer.Option(None, help="Local model file."),
    dataset_path: Path | None = typer.Option(None, help="Local SQuAD dev-v1.1.json."),
    vocab_path: Path | None = typer.Option(None, help="Local vocab.txt."),
    download: bool = typer.Option(False, "--download", help="Allow fetching the official assets."),
    db: str | None = DB,
    price_table: Path | None = PRICES,
    objective: str | None = OBJECTIVE,
    min_accuracy_f1: float | None = MIN_F1,
    max_latency_ms: float | None = MAX_LATENCY,
    max_watts: float | None = MAX_WATTS,
    max_joules_per_sample: float | None = MAX_JPS,
    meter: str | None = METER,
    max_usd_per_million: float | None = MAX_COST,
    as_json: bool = JSON,
) -> None:
    """Search the design space for the best stack within a time budget.

    Screens every point with short probes, runs the promising ones in full, imports them into the
    hub and names the winner. Rerunning the same command resumes (the journal in --dir),
    repeating nothing finished. docs/explore.md tells the search."""
    if ctx.invoked_subcommand is not None:
        return
    sf = load_space_file(space_file) if space_file else SpaceFile()
    opts = ExploreOptions(
        model=model,
        scenario=scenario,
        backends=backends,
        devices=devices,
        precisions=precisions,
        batch_sizes=batch_sizes,
        threads=threads,
        axis=tuple(axis),
        directory=directory,
        budget=budget,
        screen_count=screen_count,
        noise=noise,
        accuracy_tolerance=accuracy_tolerance,
        execution_mode=execution_mode,
        category=category,
        submitter=submitter,
        retry_failed=retry_failed,
        paths=AssetPaths(model_path, dataset_path, vocab_path),
        download=download,
    )
    exp = _exploration(sf, opts)
    winner = WinnerOptions(
        objective,
        min_accuracy_f1,
        max_latency_ms,
        max_watts,
        max_joules_per_sample,
        meter,
        max_usd_per_million,
    )
    constraints = winner.constraints(exp.space.scenario.value)  # checked before anything runs
    from crowdperf.explore.session import exploration_report, run_exploration
    from crowdperf.hub.prices import load_price_table

    prices = load_price_table(price_table)
    hub_db = db or load_settings().hub_db
    listener, finish = _listener(as_json, exp)
    previous = signal.signal(signal.SIGTERM, _terminate_as_interrupt)
    try:
        run_exploration(exp, db=hub_db, prices=prices, ray_address=ray_address, listener=listener)
    except KeyboardInterrupt:
        raise InterruptedRun("interrupted; every finished point is in the journal: rerun to resume") from None
    finally:
        signal.signal(signal.SIGTERM, previous)
        finish()
    report = exploration_report(exp.directory, constraints, hub_db, prices)
    if as_json:
        typer.echo(json.dumps(jsonio.document("explore", EXPLORE_VERSION, report)))
    else:
        print_report(console, report)


def _terminate_as_interrupt(signum: int, frame: object) -> None:
    raise KeyboardInterrupt  # SIGTERM stops like Ctrl-C: the running child stopped, the journal says so


def _axes(sf: SpaceFile, o: ExploreOptions) -> dict[str, list[str] | None]:
    given: dict[str, list[str] | None] = {
        "backend": split_list(o.backends),
        "devices": split_devices(o.devices),
        "precision": split_list(o.precisions),
        "batch_size": split_list(o.batch_sizes),
        "threads": split_list(o.threads),
    }
    for text in o.axis:
        name, sep, values = text.partition("=")
        if not sep or not name.strip():
            raise UsageError(f"--axis {text!r} is not NAME=V1,V2", hint="e.g. --axis threads=1,2")
        given[name.strip().replace("-", "_")] = split_list(values)
    out: dict[str, list[str] | None] = dict(sf.axes)
    out.update({k: v for k, v in given.items() if v is not None})
    for name in AXIS_KEYS.values():
        out.setdefault(name, None)
    return out


def _exploration(sf: SpaceFile, o: ExploreOptions) -> Exploration:
    model = first(o.model, sf.model, "tiny")
    scen = _enum(first(o.scenario, sf.scenario, "Offline"), Scenario, "--scenario")
    exec_mode = _enum(first(o.execution_mode, sf.execution_mode, "test"), ExecutionMode, "--execution-mode")
    cat = _enum(first(o.category, sf.category, "edge"), Category, "--category")
    round_name = default_round().name
    space = build_space(
        model, scen, _axes(sf, o), category=cat, execution_mode=exec_mode, round_name=round_name
    )
    if model not in workload_names():
        raise UsageError(
            f"--model {model!r} is not a known model", hint=f"use one of: {', '.join(workload_names())}"
        )
    count = first(o.screen_count, sf.screen_count, 64)
    if count is not None and count < 1:
        raise UsageError(f"--screen-count must be at least 1, got {count}")
    tolerances = Tolerances(o.noise, o.accuracy_tolerance, o.noise, o.noise)
    if not (0 <= o.noise < 10 and 0 <= o.accuracy_tolerance < 1e6):
        raise UsageError("--noise must be in [0, 10) and --accuracy-tolerance at least 0")
    search = SearchSettings(
        budget_s=parse_duration(first(o.budget, sf.budget, "30m")),
        screen_count=count,
        tolerances=tolerances,
        retry_failed=o.retry_failed,
        submitter=first(o.submitter, sf.submitter, "crowdperf"),
    )
    run = RunSettings(
        model, scen, cat, exec_mode, round_name,
        o.paths, o.download,
    )  # fmt: skip
    directory = o.directory or Path("explorations") / f"{model}-{scen.value}"
    return Exploration(directory, space, run, search, tuple(sys.argv))


def _enum(value: str, enum: Any, option: str) -> Any:
    try:
        return enum(value)
    except ValueError:
        raise UsageError(
            f"{option} {value!r} is not one of: {', '.join(str(m.value) for m in enum)}"
        ) from None


def _listener(as_json: bool, exp: Exploration) -> tuple[Any, Any]:
    """(listener for the driver, finisher): JSON lines on stdout, or a live table on stderr."""
    from crowdperf.explore.session import status_of
    from crowdperf.hub.prices import load_price_table

    if as_json:

        def emit(_state: ExplorationState, record: Record | None) -> None:
            if record is not None:
                payload = {"event": record.event, "t": time.time(), **jsonio.to_jsonable(record)}
                typer.echo(json.dumps(jsonio.document("explore.event", EXPLORE_VERSION, payload)))

        return emit, lambda: None
    prices = load_price_table()
    live = Live(console=err_console, refresh_per_second=2, transient=True)
    live.start()

    def show(st: ExplorationState, _record: Record | None) -> None:
        report = status_of(st, exp.space, prices, directory=exp.directory, writer_alive=True)
        live.update(live_view(err_console, report, budget_s=exp.search.budget_s))

    return show, live.stop


@explore_app.command("status")
def status_cmd(
    directory: Path = typer.Argument(..., help="The exploration's --dir."),
    as_json: bool = typer.Option(False, "--json", help="Print JSON instead of the table."),
) -> None:
    """Where an exploration stands: finished, running, left, failed, skipped, pruned points.

    Example: crowdperf explore status explorations/tiny-Offline
    """
    from crowdperf.explore.session import exploration_status

    report = exploration_status(directory)
    if as_json:
        typer.echo(jsonio.dumps(jsonio.document("explore.status", EXPLORE_VERSION, report)))
        return
    print_status(console, report)


@explore_app.command("report")
def report_cmd(
    directory: Path = typer.Argument(..., help="The exploration's --dir."),
    db: str | None = DB,
    price_table: Path | None = PRICES,
    objective: str | None = OBJECTIVE,
    min_accuracy_f1: float | None = MIN_F1,
    max_latency_ms: float | None = MAX_LATENCY,
    max_watts: float | None = MAX_WATTS,
    max_joules_per_sample: float | None = MAX_JPS,
    meter: str | None = METER,
    max_usd_per_million: float | None = MAX_COST,
    as_json: bool = typer.Option(False, "--json", help="Print JSON instead of the tables."),
) -> None:
    """The points, the hub's Pareto front among them and the winner under the constraints,
    explained as `crowdperf hub best` explains it.

    Example: crowdperf explore report explorations/tiny-Offline --objective throughput --max-watts 300
    Example: crowdperf explore report explorations/h200 --objective energy --meter nvml
    """
    from crowdperf.explore.session import exploration_report, exploration_status
    from crowdperf.hub.prices import load_price_table

    winner = WinnerOptions(
        objective,
        min_accuracy_f1,
        max_latency_ms,
        max_watts,
        max_joules_per_sample,
        meter,
        max_usd_per_million,
    )
    prices = load_price_table(price_table)
    scenario = exploration_status(directory, prices).scenario
    report = exploration_report(directory, winner.constraints(scenario), db or load_settings().hub_db, prices)
    if as_json:
        typer.echo(jsonio.dumps(jsonio.document("explore", EXPLORE_VERSION, report)))
        return
    print_report(console, report)


def register(app: typer.Typer) -> None:
    """Add ``explore`` (and its ``status``, ``report``) to the root app."""
    explore_app.info.help = inspect.cleandoc(str(explore.__doc__)) + EXAMPLE
    app.add_typer(explore_app, name="explore")
