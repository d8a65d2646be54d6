"""CLI: ``crowdperf run``: parse options, call ``mlperf.runs.execute_plan``, render the results."""

from __future__ import annotations

import json
import signal
import sys
from dataclasses import asdict
from enum import Enum, StrEnum
from pathlib import Path
from typing import Any, TypeVar

import typer
from rich.progress import Progress, SpinnerColumn, TextColumn, TimeElapsedColumn
from rich.table import Table

from crowdperf import plugins
from crowdperf.backends.registry import backend_names
from crowdperf.cli.console import console, err_console, state
from crowdperf.errors import CrowdperfError, InterruptedRun, UsageError
from crowdperf.mlperf.loadgen_runner import RunResult
from crowdperf.mlperf.rounds import Category, Scenario, default_round, get_round
from crowdperf.mlperf.runs import HarnessContext, execute_plan
from crowdperf.mlperf.spec import AssetPaths, ExecutionMode, Mode, RunSpec, Targets, plan_runs
from crowdperf.mlperf.workload import workload_names, workload_rules
from crowdperf.precision import Precision
from crowdperf.settings import load_settings
from crowdperf.submission.post_run import after_run
from crowdperf.system.devices import DeviceSelection

RUN_JSON_SCHEMA = "crowdperf.run/1"
E = TypeVar("E", bound=Enum)

POWER_NOTE = (
    "\n\nPerformance and TEST01 runs also record power.json: mean watts and joules per sample over "
    "LoadGen's timed window, from the meters that can read the devices used (nvml for GPUs, rapl "
    "for the CPU), or why none can (docs/power.md)."
)
EXAMPLE = """
Examples:

  crowdperf run        # tiny model, CPU, edge scenarios, accuracy + performance, test mode

  crowdperf run --model bert-99 --device cuda --scenario Offline --mode find-performance
"""


def _choice(value: str, choices: tuple[str, ...], option: str) -> str:
    if value not in choices:
        raise UsageError(f"{option} {value!r} is not one of: {', '.join(choices)}")
    return value


def _registered(value: str, group: plugins.PluginGroup) -> str:
    """``value`` when the registry holds it (read now: a plugin registered after start-up counts)."""
    plugins.ref_of(group, value)  # a UsageError naming the known names otherwise
    return value


def _enum(value: str, enum: type[E], option: str, extra: tuple[str, ...] = ()) -> E | None:
    names = tuple(str(m.value) for m in enum) + extra
    _choice(value, names, option)
    return None if value in extra else enum(value)


def run(
    model: str = typer.Option("tiny", help=f"One of: {', '.join(workload_names())} (installed workloads)."),
    backend: str = typer.Option("onnxruntime", help=f"One of: {', '.join(backend_names())} (installed)."),
    device: str = typer.Option(
        "cpu", help="cpu, cuda (every visible GPU), or cuda:N[,M] (never silently falls back to CPU)."
    ),
    devices: str | None = typer.Option(None, help="Accelerator indices to use, e.g. 0,2 (default: all)."),
    precision: str = typer.Option("fp32", help="fp32, fp16, bf16 or int8 (what the backend supports)."),
    scenario: str = typer.Option("all", help="SingleStream, MultiStream, Server, Offline or all."),
    category: str = typer.Option("edge", help="edge or datacenter (datacenter adds Server to 'all')."),
    mode: str = typer.Option("all", help="find-performance, accuracy, performance, compliance or all."),
    execution_mode: str = typer.Option("test", help="test (short, not submittable) or valid (MLPerf rules)."),
    round_name: str = typer.Option("", "--round", help="MLPerf round (default: the installed LoadGen's)."),
    results_dir: Path = typer.Option(Path("results"), help="Where results are written."),
    target_qps: float | None = typer.Option(None, help="Offline/Server target QPS override."),
    target_latency_ms: float | None = typer.Option(None, help="SingleStream/MultiStream latency override."),
    count: int | None = typer.Option(
        None,
        help="Cap on distinct samples (the QSL); performance runs reuse them as often as validity needs.",
    ),
    threads: int | None = typer.Option(None, help="Backend intra-op threads."),
    batch_size: int | None = typer.Option(None, help="Offline/Server batch size."),
    model_path: Path | None = typer.Option(None, help="Local model file."),
    dataset_path: Path | None = typer.Option(None, help="Local SQuAD dev-v1.1.json."),
    vocab_path: Path | None = typer.Option(None, help="Local vocab.txt."),
    download: bool = typer.Option(
        False,
        "--download",
        help="Fetch the official files a run needs and the cache lacks (bert-99, bert-99.9: model "
        "~1.3 GB, SQuAD dev set, vocab). Without it a missing file is an error before anything "
        "runs; generated models (tiny, bert-large) fetch nothing.",
    ),
    as_json: bool = typer.Option(False, "--json", help="Print a JSON object instead of the table."),
) -> None:
    """Run MLPerf Inference BERT through the real LoadGen and write the results directory."""
    try:
        spec, scen, md = _build_spec(**locals())
        get_round(spec.round)
        plan = plan_runs(spec, workload_rules(spec.model), scen, md)
        ctx = HarnessContext(load_settings(), argv=list(sys.argv), after_run=after_run, notify=_note)
        try:
            results = _execute(plan, ctx, quiet=as_json)
        except KeyboardInterrupt:  # between runs: nothing partial exists
            raise InterruptedRun("interrupted; completed runs were kept, nothing partial was left") from None
    except CrowdperfError as exc:
        if state.verbose:
            err_console.print_exception()
        err_console.print(f"[bold red]error:[/] {exc}", highlight=False)
        raise typer.Exit(exc.exit_code) from None
    if as_json:
        typer.echo(json.dumps(results_json(results), indent=2))
    else:
        console.print(results_table(results, spec.results_dir))
        for r in results:
            if r.valid is False:  # why, in one line, and the command that fixes it
                console.print(f"[red]INVALID[/] {r.scenario} {r.mode}: {r.invalid_reason}", highlight=False)
                if r.invalid_fix:
                    console.print(f"  fix: {r.invalid_fix}", highlight=False, markup=False)


def _note(line: str) -> None:
    """What the harness says before it acts (a target re-checked before a 600 s run)."""
    err_console.print(f"note: {line}", highlight=False, markup=False)


def _build_spec(**o: Any) -> tuple[RunSpec, Scenario | None, Mode | None]:
    scen = _enum(o["scenario"], Scenario, "--scenario", ("all",))
    md = _enum(o["mode"], Mode, "--mode", ("all",))
    spec = RunSpec(
        model=_registered(o["model"], plugins.WORKLOADS),
        scenario=scen or Scenario.OFFLINE,
        mode=md or Mode.PERFORMANCE,
        backend=_registered(o["backend"], plugins.BACKENDS),
        devices=DeviceSelection.parse(o["device"], o["devices"]),
        precision=_enum(o["precision"], Precision, "--precision"),  # type: ignore[arg-type]
        execution_mode=_enum(o["execution_mode"], ExecutionMode, "--execution-mode"),  # type: ignore[arg-type]
        round=o["round_name"] or default_round().name,
        category=_enum(o["category"], Category, "--category"),  # type: ignore[arg-type]
        targets=Targets(o["target_qps"], o["target_latency_ms"]),
        count=o["count"],
        threads=o["threads"],
        batch_size=o["batch_size"],
        results_dir=o["results_dir"],
        paths=AssetPaths(o["model_path"], o["dataset_path"], o["vocab_path"]),
        allow_download=o["download"],
    )
    return spec, scen, md


def _terminate_as_interrupt(signum: int, frame: object) -> None:
    raise KeyboardInterrupt  # SIGTERM cleans up like Ctrl-C: child stopped, partial run removed


def _execute(plan: Any, ctx: HarnessContext, *, quiet: bool) -> list[RunResult]:
    previous = signal.signal(signal.SIGTERM, _terminate_as_interrupt)
    try:
        return _execute_with_progress(plan, ctx, quiet=quiet)
    finally:
        signal.signal(signal.SIGTERM, previous)


def _execute_with_progress(plan: Any, ctx: HarnessContext, *, quiet: bool) -> list[RunResult]:
    columns = (SpinnerColumn(), TextColumn("{task.description}"), TimeElapsedColumn())
    with Progress(*columns, console=err_console, transient=True, disable=quiet) as progress:
        tasks: dict[int, Any] = {}

        def on_event(spec: RunSpec, phase: str, _elapsed: float) -> None:
            key = id(spec)
            if phase == "start":
                tasks[key] = progress.add_task(f"{spec.scenario} {spec.mode}", total=None)
            elif phase == "done":
                progress.update(tasks[key], visible=False)

        return execute_plan(plan, ctx, on_event)


def _metric_text(r: RunResult) -> str:
    if r.metric is None:
        return "-"
    v = r.metric.value
    return (
        f"{r.metric.name}: {v:,.0f} {r.metric.unit}"
        if v >= 100
        else f"{r.metric.name}: {v:.3g} {r.metric.unit}"
    )


def _accuracy_text(r: RunResult) -> str:
    a = r.accuracy
    if a is None:
        return "-"
    verdict = "" if a.passed is None else (" PASS" if a.passed else " FAIL")
    others = " ".join(f"{k} {v:.2f}" for k, v in a.scores.items() if k != a.metric)
    text = f"{a.metric} {a.value:.2f}" + (f" ({others})" if others else "") + verdict
    return f"{text} ({a.note})" if a.note else text


def _validity(r: RunResult) -> str:
    if r.valid is None:
        return "-"
    return "VALID" if r.valid else "INVALID"


def _shared_unavailable(results: list[RunResult]) -> str | None:
    """The one reason every measured run lacks power: said once under the table, no column."""
    reasons = {r.power.unavailable for r in results if r.power is not None}
    return next(iter(reasons)) if len(reasons) == 1 and None not in reasons else None


def _power_text(r: RunResult) -> str:
    if r.power is None:
        return "-"
    if r.power.unavailable is not None:
        return f"unavailable ({r.power.unavailable})"
    return r.power.text(span=False)  # min and max: power.json and --json


def results_table(results: list[RunResult], results_dir: Path | None = None) -> Table:
    test = any(not r.submittable for r in results)
    systems = sorted({f"{r.system}/{r.model}" for r in results})
    written = any(r.mode is not Mode.FIND_PERFORMANCE for r in results)
    lines = [f"results under {results_dir}"] if results_dir and written else []
    if test:
        lines.insert(0, "TEST (not submittable)")
    no_power = _shared_unavailable(results)
    caption = "; ".join(lines) + (f"\npower: unavailable ({no_power})" if no_power else "")
    power_column = not no_power and any(r.power is not None for r in results)
    table = Table(title=", ".join(systems), caption=caption.strip() or None)
    for col in ("scenario", "mode"):
        table.add_column(col, no_wrap=True)
    for col in ("metric", "result", "accuracy", *(("power",) if power_column else ())):
        table.add_column(col, overflow="fold")
    for r in results:
        mark = "" if r.submittable else " [yellow]TEST[/]"
        cells = [r.scenario.value, r.mode.value, _metric_text(r), _validity(r) + mark, _accuracy_text(r)]
        table.add_row(*cells, *((_power_text(r),) if power_column else ()))
    return table


def _jsonable(value: Any) -> Any:
    if isinstance(value, dict):
        return {k: _jsonable(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_jsonable(v) for v in value]
    if isinstance(value, StrEnum | Path):
        return str(value)
    return value


def results_json(results: list[RunResult]) -> dict[str, Any]:
    return {"schema": RUN_JSON_SCHEMA, "results": [_jsonable(asdict(r)) for r in results]}


def register(app: typer.Typer) -> None:
    """Add this module's commands to the root app."""
    app.command(name="run", help=str(run.__doc__) + POWER_NOTE + EXAMPLE)(run)
