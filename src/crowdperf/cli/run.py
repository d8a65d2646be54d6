"""CLI: ``crowdperf run``: parse options, call ``mlperf.runs.execute_plan``, render the results."""

from __future__ import annotations

import contextlib
import json
import signal
import sys
from enum import Enum
from pathlib import Path
from typing import Any, TypeVar

import typer
from rich.markup import escape

from crowdperf import plugins
from crowdperf.backends.registry import backend_names
from crowdperf.cli.console import console, err_console
from crowdperf.cli.run_progress import RunProgressView
from crowdperf.cli.run_view import next_steps, results_json, results_rows
from crowdperf.cli.tables import print_rows
from crowdperf.errors import InterruptedRun, UsageError
from crowdperf.mlperf.loadgen_runner import RunResult
from crowdperf.mlperf.rounds import Category, Scenario, default_round, get_round
from crowdperf.mlperf.run_event_json import EventFileWriter, fan_out
from crowdperf.mlperf.runs import HarnessContext, execute_plan
from crowdperf.mlperf.spec import AssetPaths, ExecutionMode, Mode, RunPlan, RunSpec, Targets, plan_runs
from crowdperf.mlperf.workload import workload_names, workload_rules
from crowdperf.precision import Precision
from crowdperf.settings import load_settings
from crowdperf.submission.post_run import after_run
from crowdperf.system.devices import DeviceSelection

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
    """``value`` as one of ``choices``, in any case (``offline`` is Offline: the intent is plain)."""
    if value in choices:
        return value
    same = [c for c in choices if c.casefold() == value.casefold()]
    if len(same) != 1:
        raise UsageError(f"{option} {value!r} is not one of: {', '.join(choices)}")
    return same[0]


def _registered(value: str, group: plugins.PluginGroup) -> str:
    """``value`` when the registry holds it (read now: a plugin registered after start-up counts)."""
    plugins.ref_of(group, value)  # a UsageError naming the known names otherwise
    return value


def _enum(value: str, enum: type[E], option: str, extra: tuple[str, ...] = ()) -> E | None:
    names = tuple(str(m.value) for m in enum) + extra
    chosen = _choice(value, names, option)
    return None if chosen in extra else enum(chosen)


def run(
    model: str = typer.Option("tiny", help=f"One of: {', '.join(workload_names())} (installed workloads)."),
    backend: str = typer.Option("onnxruntime", help=f"One of: {', '.join(backend_names())} (installed)."),
    device: str = typer.Option(
        "cpu", help="cpu, cuda (every visible GPU), or cuda:N[,M] (never silently falls back to CPU)."
    ),
    devices: str | None = typer.Option(None, help="Accelerator indices to use, e.g. 0,2 (default: all)."),
    precision: str = typer.Option(
        "fp32", help="fp32, fp16, bf16, int8 or fp8 (what the backend supports; fp8: pytorch on FP8 GPUs)."
    ),
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
    batch_size: int | None = typer.Option(
        None,
        help="Offline/Server batch size (default: the workload's for its device, BERT packed on "
        "a GPU 1024 Offline and 256 Server, else 32 Offline and 8 Server).",
    ),
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
    events_file: Path | None = typer.Option(
        None,
        "--events-file",
        help="Append the progress events as JSON lines to this file (schema crowdperf.run-event/1: "
        "test i of n, phase, samples done of expected, time left; what `crowdperf ui` follows).",
    ),
) -> None:
    """Run MLPerf Inference BERT through the real LoadGen and write the results directory."""
    spec, scen, md = _build_spec(**locals())
    get_round(spec.round)
    plan = plan_runs(spec, workload_rules(spec.model), scen, md)
    ctx = HarnessContext(load_settings(), argv=list(sys.argv), after_run=after_run, notify=_note)
    try:
        results = _execute(plan, ctx, quiet=as_json, events_file=events_file)
    except KeyboardInterrupt:  # between runs: nothing partial exists
        raise InterruptedRun("interrupted; completed runs were kept, nothing partial was left") from None
    if as_json:
        typer.echo(json.dumps(results_json(results), indent=2))
        return
    print_rows(console, results_rows(results, spec.results_dir))
    for r in results:
        if r.valid is False:  # why, in one line, and the command that fixes it
            console.print(
                f"[red]INVALID[/] {r.scenario} {r.mode}: {escape(str(r.invalid_reason))}", highlight=False
            )
            if r.invalid_fix:
                console.print(f"  fix: {r.invalid_fix}", highlight=False, markup=False)
    for line in next_steps(results, spec, scen):
        console.print(escape(line), highlight=False, soft_wrap=True)


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


def _execute(plan: RunPlan, ctx: HarnessContext, *, quiet: bool, events_file: Path | None) -> list[RunResult]:
    previous = signal.signal(signal.SIGTERM, _terminate_as_interrupt)
    try:
        return _execute_with_progress(plan, ctx, quiet=quiet, events_file=events_file)
    finally:
        signal.signal(signal.SIGTERM, previous)


def _execute_with_progress(
    plan: RunPlan, ctx: HarnessContext, *, quiet: bool, events_file: Path | None
) -> list[RunResult]:
    with RunProgressView(err_console, quiet=quiet) as view, contextlib.ExitStack() as stack:
        events = stack.enter_context(EventFileWriter(events_file)) if events_file else None
        return execute_plan(plan, ctx, fan_out(view, events))


def register(app: typer.Typer) -> None:
    """Add this module's commands to the root app."""
    app.command(name="run", help=str(run.__doc__) + POWER_NOTE + EXAMPLE)(run)
