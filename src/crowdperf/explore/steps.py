"""The work of one step, wherever it runs (this process, or a Ray worker on another machine).

    screen  ``ScreenTask``: one group of points (they differ only in the batch size) through
            ``mlperf.screening.screen_group`` -> a ``Measured`` or a failure per point
    final   ``FinalTask``: one point's full accuracy + performance runs (``mlperf.runs.execute_run``,
            one isolated child each, README and TEST01 hooks as ``crowdperf run``), then its
            open-division submission tree (``submission.generate``), which the driver imports

Tasks and their results are frozen dataclasses of plain values: Ray pickles them across
machines. A step stops at its ``deadline`` (epoch seconds): the running child is killed and its
partial run directory removed, exactly as Ctrl-C does, and ``DeadlinePassed`` propagates.
"""

from __future__ import annotations

import io
import os
import platform
import socket
import tarfile
import time
from dataclasses import dataclass, replace
from importlib.metadata import PackageNotFoundError, version
from pathlib import Path

from crowdperf import __version__
from crowdperf.errors import CrowdperfError
from crowdperf.explore.journal import Measured
from crowdperf.explore.space import Point
from crowdperf.locks import dir_lock, exclusive
from crowdperf.meters.readings import PowerSummary
from crowdperf.mlperf.layout import devices_slug, host_slug
from crowdperf.mlperf.loadgen_runner import RunResult
from crowdperf.mlperf.rounds import Category, Scenario, get_round
from crowdperf.mlperf.runs import HarnessContext, execute_run, with_resolved_devices
from crowdperf.mlperf.screening import ScreenFailure, Screening, screen_group
from crowdperf.mlperf.spec import AssetPaths, ExecutionMode, Mode, RunSpec, Targets
from crowdperf.mlperf.user_conf import apply_margin
from crowdperf.settings import load_settings
from crowdperf.submission.generate import GenerateOptions, generate_submission
from crowdperf.submission.post_run import after_run
from crowdperf.system import accelerators
from crowdperf.system.devices import DeviceKind, DeviceSelection, describe_used


class DeadlinePassed(Exception):  # a signal, not an error: the budget ran out
    """Raised inside a step when its deadline passes (not a CrowdperfError: not the point's fault)."""


@dataclass(frozen=True)
class RunSettings:
    """The part of every point's ``RunSpec`` that the exploration fixes."""

    model: str
    scenario: Scenario
    category: Category
    execution_mode: ExecutionMode
    round: str
    paths: AssetPaths
    allow_download: bool = False
    # a Ray task: the GPUs Ray gave it are the visible ones, so a CUDA point uses "every
    # visible GPU" whatever indices it named (ray_executor.py)
    visible_gpus: bool = False

    def spec(self, point: Point, mode: Mode, results_dir: Path = Path("results")) -> RunSpec:
        base = RunSpec(
            model=self.model,
            scenario=self.scenario,
            mode=mode,
            execution_mode=self.execution_mode,
            round=self.round,
            category=self.category,
            results_dir=results_dir,
            paths=self.paths,
            allow_download=self.allow_download,
        )
        spec = point.run_spec(base)
        if self.visible_gpus and spec.devices.kind is DeviceKind.CUDA:
            spec = replace(spec, devices=DeviceSelection(DeviceKind.CUDA))
        return spec

    def run_argv(self, point: Point, mode: Mode, results_dir: Path) -> list[str]:
        """The ``crowdperf run`` command a point's run stands for (its README and the hub show it)."""
        return [
            "crowdperf", "run", "--model", self.model, "--scenario", self.scenario.value,
            "--mode", mode.value, "--execution-mode", self.execution_mode.value, *point.run_options(),
            "--results-dir", str(results_dir),
        ]  # fmt: skip


@dataclass(frozen=True)
class ScreenTask:
    points: tuple[Point, ...]  # one group, in the order of their batch sizes
    settings: RunSettings
    accuracy_count: int | None
    deadline: float | None = None


@dataclass(frozen=True)
class PointFailure:
    """Why a point has no result at a rung (``refused``: the backend or devices will not run it)."""

    point: str
    error: str
    message: str
    hint: str | None
    refused: bool
    versions: dict[str, str]
    log: str | None = None


@dataclass(frozen=True)
class ScreenResult:
    point: str
    measured: Measured | None
    failure: PointFailure | None = None


@dataclass(frozen=True)
class FinalTask:
    point: Point
    settings: RunSettings
    work_dir: Path  # the point's directory: results/ and submission/ go under it
    submitter: str
    target: float | None = None  # valid mode: the screening's performance as the run's target
    deadline: float | None = None
    pack: bool = False  # send the submission tree back as bytes (the worker is another machine)


@dataclass(frozen=True)
class FinalResult:
    point: str
    measured: Measured | None
    run_dir: str = ""
    tree: str = ""  # the submission tree on the worker's disk
    tree_archive: bytes | None = None  # with ``pack``: the tree as a .tar.gz
    failure: PointFailure | None = None
    where: str = ""


def _versions(backend: str) -> dict[str, str]:
    out = {"crowdperf": __version__, "python": platform.python_version()}
    for package in ("mlcommons-loadgen", backend):
        try:
            out[package] = version(package)
        except PackageNotFoundError:
            continue
    return out


def _failure(point: Point, exc: BaseException | ScreenFailure, log: Path | None = None) -> PointFailure:
    failure = exc if isinstance(exc, ScreenFailure) else ScreenFailure.of(exc)
    out = PointFailure(
        point.key,
        failure.error,
        failure.message,
        failure.hint,
        failure.refused,
        _versions(point.value("backend")),
    )
    return out if log is None else write_failure_log(out, log)


def lost_failure(point: Point, exc: BaseException) -> PointFailure:
    """The point's failure when the step itself was lost (a Ray worker died or raised)."""
    failure = ScreenFailure(
        type(exc).__name__,
        str(exc).strip() or repr(exc),
        "the worker that ran it died or raised: see its log (ray logs), then rerun with --retry-failed",
        refused=False,
    )
    return _failure(point, failure)


def write_failure_log(failure: PointFailure, log: Path, *, elsewhere: str | None = None) -> PointFailure:
    """``failure`` in ``log`` (the error, its message with the end of the child's own log, the
    fix, the versions); the failure naming that log. ``elsewhere``: the log a worker wrote."""
    lines = [f"point: {failure.point}", f"{failure.error}: {failure.message}"]
    lines += [f"fix: {failure.hint}"] if failure.hint else []
    lines += [f"versions: {' '.join(f'{k} {v}' for k, v in sorted(failure.versions.items()))}"]
    lines += [f"worker's log: {elsewhere}"] if elsewhere else []
    log.parent.mkdir(parents=True, exist_ok=True)
    log.write_text("\n".join(lines) + "\n")
    return replace(failure, log=str(log))


def _deadline_poll(deadline: float | None):  # type: ignore[no-untyped-def]
    def poll(*_status: object) -> None:
        if deadline is not None and time.time() > deadline:
            raise DeadlinePassed

    return poll


def _meter(power: PowerSummary | None) -> str | None:
    """The meter of a run's power figures; None when there are none (a reason is the note)."""
    if power is None or (power.mean_w is None and power.joules_per_sample is None):
        return None
    return power.meter


def measured_screen(s: Screening) -> Measured:
    acc, power = s.accuracy, s.power
    used = tuple(d for d in s.runtime.devices if d.is_accelerator)
    return Measured(
        rung="screen",
        performance=s.performance.value,
        unit=s.performance.unit,
        accuracy_metric=acc.metric if acc else None,
        accuracy=acc.value if acc else None,
        accuracy_samples=acc.n_samples if acc else None,
        power_w=power.mean_w if power else None,
        joules_per_sample=power.joules_per_sample if power else None,
        power_note=(power.unavailable if power else "no meter applies to these devices"),
        power_meter=_meter(power),
        accelerator=used[0].name if used else "",
        accelerator_count=len(dict.fromkeys(used)),
        runtime=f"{s.runtime.name} {s.runtime.version} {s.runtime.execution_provider}",
        seconds=s.seconds,
    )


def run_screen_task(task: ScreenTask, ctx: HarnessContext, on_result=None) -> list[ScreenResult]:  # type: ignore[no-untyped-def]
    """Screen ``task``'s group; ``on_result(ScreenResult)`` as each point lands."""
    first = task.points[0]
    spec = task.settings.spec(first, Mode.FIND_PERFORMANCE)
    batch_sizes = tuple(task.settings.spec(p, Mode.FIND_PERFORMANCE).batch_size for p in task.points)
    results: list[ScreenResult] = []

    def landed(index: int, outcome: Screening | ScreenFailure) -> None:
        point = task.points[index]
        if isinstance(outcome, Screening):
            result = ScreenResult(point.key, measured_screen(outcome))
        else:
            result = ScreenResult(point.key, None, _failure(point, outcome))
        results.append(result)
        if on_result is not None:
            on_result(result)

    screen_group(
        spec,
        batch_sizes,
        ctx,
        accuracy_count=task.accuracy_count,
        on_result=landed,
        poll=_deadline_poll(task.deadline),
    )
    return results


def point_context(task: FinalTask, argv: list[str]) -> HarnessContext:
    """The harness context of a point's runs: its ``<system>`` name carries the point's tuning
    (``<host>-batch_size8-threads2-onnxruntime-cpu-fp32``), so no two points share a name."""
    inventory = HarnessContext(load_settings()).inventory
    host = "-".join(p for p in (host_slug(inventory), task.point.tuning_slug) if p)
    return HarnessContext(load_settings(), host=host, inventory=inventory, argv=argv, after_run=_after_run)


def _after_run(spec: RunSpec, result: RunResult) -> None:
    """``crowdperf run``'s hook: README.md per measurement, TEST01's verdict."""
    after_run(spec, result)


@dataclass(frozen=True)
class FinalRuns:
    accuracy: RunResult
    performance: RunResult
    seconds: float  # both runs, wall time


def run_final_task(task: FinalTask) -> FinalResult:
    """Accuracy then performance for one point, and its submission tree; never raises for the
    point's own failure (that is a ``FinalResult.failure``), only ``DeadlinePassed``."""
    where = socket.gethostname()
    results_dir = task.work_dir / "results"
    try:
        runs = _final_runs(task, results_dir)
        tree = _submission_tree(task, results_dir, runs.performance.system)
    except CrowdperfError as exc:
        failure = _failure(task.point, exc, task.work_dir / "error.log")
        return FinalResult(task.point.key, None, failure=failure, where=where)
    return FinalResult(
        task.point.key,
        measured_final(runs, task.settings, task.point),
        run_dir=str(results_dir),
        tree=str(tree),
        tree_archive=_archive(tree) if task.pack else None,
        where=where,
    )


def _final_runs(task: FinalTask, results_dir: Path) -> FinalRuns:
    poll = _deadline_poll(task.deadline)
    started = time.monotonic()
    runs: dict[Mode, RunResult] = {}
    with exclusive(dir_lock(results_dir), f"results directory {results_dir}"):
        for mode in (Mode.ACCURACY, Mode.PERFORMANCE):
            spec = task.settings.spec(task.point, mode, results_dir)
            if mode is Mode.PERFORMANCE and task.target is not None:
                spec = replace(spec, targets=_targets(spec, task.target))
            ctx = point_context(task, task.settings.run_argv(task.point, mode, results_dir))
            runs[mode] = execute_run(spec, ctx, poll)
            if ctx.after_run is not None:
                ctx.after_run(spec, runs[mode])
    return FinalRuns(runs[Mode.ACCURACY], runs[Mode.PERFORMANCE], time.monotonic() - started)


def _targets(spec: RunSpec, measured: float) -> Targets:
    value = apply_margin(spec.scenario, measured)
    if spec.scenario in (Scenario.OFFLINE, Scenario.SERVER):
        return Targets(target_qps=value)
    return Targets(target_latency_ms=value)


def measured_final(runs: FinalRuns, settings: RunSettings, point: Point) -> Measured:
    spec = with_resolved_devices(settings.spec(point, Mode.PERFORMANCE))
    used = [d for d in accelerators.resolve(spec.devices) if d.is_accelerator]
    perf = runs.performance
    power, accuracy, metric = perf.power, runs.accuracy.accuracy, perf.metric
    return Measured(
        rung="final",
        performance=metric.value if metric else 0.0,
        unit=metric.unit if metric else "",
        accuracy_metric=accuracy.metric if accuracy else None,
        accuracy=accuracy.value if accuracy else None,
        accuracy_samples=accuracy.n_samples if accuracy else None,
        power_w=power.mean_w if power else None,
        joules_per_sample=power.joules_per_sample if power else None,
        power_note=power.unavailable if power else None,
        power_meter=_meter(power),
        accelerator=used[0].name if used else "",
        accelerator_count=len(used),
        valid=perf.valid,
        runtime=describe_used(tuple(used)) if used else "CPU",
        seconds=runs.seconds,
    )


def _submission_tree(task: FinalTask, results_dir: Path, system: str) -> Path:
    """The point's open-division tree; its system description names the point's tuning."""
    tree = task.work_dir / "submission"
    overrides = task.work_dir / "system-overrides.yaml"
    used = accelerators.resolve(
        with_resolved_devices(task.settings.spec(task.point, Mode.PERFORMANCE)).devices
    )
    name = "-".join(p for p in (host_slug(), devices_slug(used)) if p)
    tuning = " ".join(
        f"{k}={v}" for k, v in task.point.values if k not in ("backend", "devices", "precision")
    )
    overrides.write_text(f"system_name: {name!r}\n" if not tuning else f"system_name: '{name} [{tuning}]'\n")
    generate_submission(
        GenerateOptions(
            results_dir=results_dir,
            submission_dir=tree,
            submitter=task.submitter,
            division="open",
            category=task.settings.category,
            round=get_round(task.settings.round),
            sw_notes_extra=f"crowdperf explore point: {task.point.key} (results system {system})",
            overrides=overrides,
            force=True,
        )
    )
    return tree


def _archive(tree: Path) -> bytes:
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w:gz") as tar:
        tar.add(tree, arcname="submission")
    return buffer.getvalue()


def unpack_tree(archive: bytes, into: Path) -> Path:
    """The inverse of ``_archive``, into ``into`` (replacing an older copy); returns the tree."""
    import shutil

    target = into / "submission"
    staging = into / f".submission.unpack-{os.getpid()}"
    shutil.rmtree(staging, ignore_errors=True)
    staging.mkdir(parents=True)
    with tarfile.open(fileobj=io.BytesIO(archive), mode="r:gz") as tar:
        tar.extractall(staging, filter="data")
    shutil.rmtree(target, ignore_errors=True)
    (staging / "submission").rename(target)
    shutil.rmtree(staging, ignore_errors=True)
    return target
