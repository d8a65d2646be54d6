"""Execute a RunPlan: one isolated child per LoadGen test, results renamed into the layout.

``execute_run`` is the library entry of ``crowdperf run`` for one RunSpec; ``execute_plan`` runs a
whole plan and returns every ``RunResult`` (find-performance runs return a ``RunResult`` whose
metric is the stored target and whose ``run_dir`` is the targets file).
"""

from __future__ import annotations

import os
import shutil
import time
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from importlib.metadata import version
from pathlib import Path

from crowdperf.errors import InterruptedRun, ResultsError, UsageError
from crowdperf.locks import dir_lock, exclusive
from crowdperf.meters.registry import meter_refs
from crowdperf.mlperf import target_check
from crowdperf.mlperf.commands import find_performance_command
from crowdperf.mlperf.find_performance import FindJob, Measurement
from crowdperf.mlperf.invalid_reason import explain_invalid
from crowdperf.mlperf.isolated import ChildStatus, Poll, run_isolated, scratch_dir
from crowdperf.mlperf.layout import DETAIL, atomic_run_dir, layout_for, system_name
from crowdperf.mlperf.loadgen_runner import Metric, RunResult, TestJob, TestOutcome, read_metric
from crowdperf.mlperf.logs import DetailLog, parse_detail_log
from crowdperf.mlperf.power import record_power
from crowdperf.mlperf.provenance import build_provenance, now_utc
from crowdperf.mlperf.rounds import Scenario, get_round
from crowdperf.mlperf.run_events import EventSink, RunFinished, RunProgress, RunStarted
from crowdperf.mlperf.sizing import needs_sizing, resized_after_short_run
from crowdperf.mlperf.spec import ExecutionMode, Mode, RunPlan, RunSpec
from crowdperf.mlperf.target_check import runs_to_check
from crowdperf.mlperf.targets import StoredTarget, TargetStore
from crowdperf.mlperf.user_conf import ResolvedTargets, apply_margin
from crowdperf.mlperf.workload import load_workload, workload_ref
from crowdperf.settings import Settings
from crowdperf.system import accelerators
from crowdperf.system.devices import DeviceKind, DeviceSelection
from crowdperf.system.inventory import HostInventory, host_inventory
from crowdperf.system.load import machine_load

TEST_DEFAULT_SERVER_QPS = 50.0
# Test-mode re-runs of a run that ended too early (sizing.resized_after_short_run). Each asks for
# more work than the last; a short run's rate includes LoadGen's fixed start-up, so one re-run
# sized from a run of a few ms can be short again (seen under a parallel test suite: 10,680
# samples/s measured, 755,800 the re-run did); the next one is sized from a run long enough.
MAX_RESIZES = 3


@dataclass(frozen=True)
class HarnessContext:
    settings: Settings
    host: str | None = None  # the machine part of system names; None: layout.host_slug(inventory)
    # The host the run is on, read once; a test passes another (a 2-GPU host, say): the devices
    # a run uses are resolved against it, and provenance and the system name follow them.
    inventory: HostInventory = field(default_factory=host_inventory)
    argv: list[str] | None = None
    workers: int | None = None  # SUT threads per replica; None: what the workload's source asks
    # Called after every LoadGen run has landed in its final directory (README population, TEST01
    # verification); the harness itself knows nothing of submissions.
    after_run: Callable[[RunSpec, RunResult], object] | None = None  # its return value is ignored
    # One line for the user, said before what it is about happens (a target re-checked before a
    # 600 s run, a busy machine during find-performance); None: nobody listens.
    notify: Callable[[str], None] | None = None

    def say(self, line: str) -> None:
        if self.notify is not None:
            self.notify(line)

    def system_name(self, spec: RunSpec) -> str:
        """The results' ``<system>`` of ``spec`` on this host (it follows the devices it uses)."""
        return system_name(spec, self.host, self.inventory)

    @property
    def store(self) -> TargetStore:
        return TargetStore(self.settings.cache_dir / "targets.json")


def resolve_targets(spec: RunSpec, ctx: HarnessContext) -> ResolvedTargets:
    """Override > stored find-performance value (with margin) > test default; valid needs one."""
    qps_scenario = spec.scenario in (Scenario.OFFLINE, Scenario.SERVER)
    override = spec.targets.target_qps if qps_scenario else spec.targets.target_latency_ms
    if override is not None:
        return _targets(qps_scenario, override, "override")
    if spec.execution_mode is ExecutionMode.TEST and not qps_scenario:
        # The test's child sizes the expected latency with a probe (sizing.py): a stored one
        # (measured on a loaded machine, say) could generate too few queries.
        return ResolvedTargets(source="test default")
    stored = ctx.store.lookup(spec, ctx.system_name(spec))
    if stored is not None:
        return _targets(qps_scenario, apply_margin(spec.scenario, stored.value), "find-performance")
    if spec.execution_mode is ExecutionMode.VALID:
        flag = "--target-qps" if qps_scenario else "--target-latency-ms"
        raise UsageError(
            f"no {spec.scenario} target stored for {ctx.system_name(spec)} / {spec.model}",
            hint=f"run --mode find-performance first or pass {flag}",
        )
    if spec.scenario is Scenario.SERVER:
        offline = ctx.store.lookup(spec, ctx.system_name(spec), Scenario.OFFLINE)
        qps = offline.value * 0.5 if offline else TEST_DEFAULT_SERVER_QPS
        return ResolvedTargets(target_qps=qps, source="test default")
    # Offline: the test run's child sizes the query with a probe (sizing.size_test_targets)
    return ResolvedTargets(source="test default")


def _targets(qps: bool, value: float, source: str) -> ResolvedTargets:
    return (
        ResolvedTargets(target_qps=value, source=source)
        if qps
        else ResolvedTargets(target_latency_ms=value, source=source)
    )


def with_resolved_devices(spec: RunSpec, inventory: HostInventory | None = None) -> RunSpec:
    """``spec`` with concrete device indices (``--device cuda`` = every visible GPU), or a
    DeviceError before anything is written or downloaded when the devices are not here."""
    used = accelerators.resolve(spec.devices, inventory)
    if spec.devices.kind is DeviceKind.CPU:
        return spec
    indices = tuple(d.index for d in used if d.index is not None)
    return replace(spec, devices=DeviceSelection(spec.devices.kind, indices))


def execute_run(
    spec: RunSpec, ctx: HarnessContext, poll: Poll | None = None, targets: ResolvedTargets | None = None
) -> RunResult:
    """One test; ``targets``: what a pre-run check decided (default: ``resolve_targets``)."""
    spec = with_resolved_devices(spec, ctx.inventory)
    if spec.mode is Mode.FIND_PERFORMANCE:
        return find_performance(spec, ctx, poll)
    get_round(spec.round)
    ref = workload_ref(spec.model)
    load_workload(ref)  # fails here, before any directory is made, when the module is missing
    layout = layout_for(spec, ctx.host, ctx.inventory)
    final = layout.run_dir(spec.mode)
    targets = targets or resolve_targets(spec, ctx)
    started = now_utc()
    with atomic_run_dir(final) as tmp:
        outcome = _run_test(spec, ctx, ref, tmp, targets, poll)
        # test-mode runs that sizing may have cut short (a probe that under-measured the system)
        log = _detail(tmp) if needs_sizing(spec) else None
        resizes = 0
        while log is not None and resizes < MAX_RESIZES:
            resized = resized_after_short_run(spec, log, outcome.targets or targets)
            if resized is None:
                break
            resizes += 1
            ctx.say(
                f"{spec.scenario} {spec.mode}: the test run ended before LoadGen's minimum time (the "
                "system ran faster than it was measured before); running it again, sized from what "
                "that run measured"
            )
            shutil.rmtree(tmp)
            tmp.mkdir()
            outcome = _run_test(spec, ctx, ref, tmp, resized, poll)
            log = _detail(tmp)
        metric, valid, reason, errors = read_metric(spec.scenario, tmp)
        invalid = spec.mode is not Mode.ACCURACY and not valid
        explained = explain_invalid(log or _detail(tmp), spec) if invalid else None
        power = record_power(tmp, outcome.power) if spec.mode is not Mode.ACCURACY else None
        build_provenance(
            spec,
            backend=outcome.runtime,
            asset_checksums=outcome.asset_checksums,
            loadgen_version=outcome.loadgen_version,
            targets=outcome.targets or targets,
            started_utc=started,
            devices=accelerators.resolve(spec.devices, ctx.inventory),
            inventory=ctx.inventory,
            argv=ctx.argv,
            weights_file=outcome.weights_file,
            batch_size=outcome.scheduling.batch_size if outcome.scheduling else None,
            sut_workers_per_device=outcome.scheduling.workers_per_device if outcome.scheduling else None,
        ).write(tmp)
    is_acc = spec.mode is Mode.ACCURACY
    return RunResult(
        system=layout.system,
        model=spec.model,
        scenario=spec.scenario,
        mode=spec.mode,
        run_dir=final,
        valid=None if is_acc else valid,
        submittable=spec.submittable,
        metric=None if is_acc else metric,
        invalid_reason=None if is_acc or valid else (explained.why if explained else reason),
        accuracy=outcome.accuracy,
        loadgen_errors=errors,
        invalid_fix=explained.fix if explained else None,
        power=power,
    )


def _run_test(
    spec: RunSpec, ctx: HarnessContext, ref: str, run_dir: Path, targets: ResolvedTargets, poll: Poll | None
) -> TestOutcome:
    """One LoadGen test in its own child process, its logs written to ``run_dir``."""
    job = TestJob(spec, ref, run_dir, targets, ctx.workers, meter_refs())
    outcome: TestOutcome = run_isolated(
        "crowdperf.mlperf.loadgen_runner:execute_test",
        job,
        run_dir,
        poll=poll,
        what=f"{spec.scenario} {spec.mode}",
    )
    return outcome


_EXPLAINED = ("result_", "effective_", "requested_", "generated_", "early_stopping")


def _detail(run_dir: Path) -> DetailLog:
    return parse_detail_log(run_dir / DETAIL, want=lambda key: key.startswith(_EXPLAINED))


def find_performance(spec: RunSpec, ctx: HarnessContext, poll: Poll | None = None) -> RunResult:
    system = ctx.system_name(spec)
    load = machine_load()  # before the child: what else runs here while we measure
    if load.busy:
        ctx.say(
            f"{spec.scenario} find-performance: the machine is busy ({load.describe()}): the target "
            "measured now may be too low for a quiet machine; a valid run re-checks it first"
        )
    offline = ctx.store.lookup(spec, system, Scenario.OFFLINE) if spec.scenario is Scenario.SERVER else None
    work = scratch_dir("findperf")
    ref = workload_ref(spec.model)
    try:
        job = FindJob(
            spec,
            ref,
            work,
            get_round(spec.round).seeds,
            latency_bound_ns=load_workload(ref).rules.benchmark.server_latency_ns,
            offline_qps=offline.value if offline else None,
        )
        m: Measurement = run_isolated(
            "crowdperf.mlperf.find_performance:search",
            job,
            work,
            poll=poll,
            what=f"{spec.scenario} find-performance",
        )
    except KeyboardInterrupt:
        raise InterruptedRun("interrupted; nothing was stored") from None
    finally:
        shutil.rmtree(work, ignore_errors=True)
    if m.note:
        ctx.say(f"{spec.scenario} find-performance: {m.note}")
    ctx.store.save(
        StoredTarget(
            system,
            spec.model,
            spec.backend,
            spec.devices.kind.value,
            spec.precision.value,
            spec.scenario.value,
            m.value,
            m.unit,
            spec.execution_mode.value,
            now_utc(),
            load.busy_percent,
        )
    )
    return RunResult(
        system=system,
        model=spec.model,
        scenario=spec.scenario,
        mode=spec.mode,
        run_dir=ctx.store.path,
        valid=None,
        submittable=False,
        metric=Metric("target", m.unit, m.value),
    )


def preflight(plan: RunPlan, ctx: HarnessContext) -> None:
    """Every cheap precondition of every run of ``plan``, before anything runs, is fetched or
    written: its devices are on this host (DeviceError), its results directory can be written,
    and its workload's own checks pass (``Workload.preflight``: backend, precision, files, disk)."""
    checked: set[tuple[object, ...]] = set()
    for spec in plan.runs:
        spec = with_resolved_devices(spec, ctx.inventory)
        if spec.mode is not Mode.FIND_PERFORMANCE:
            require_writable(spec.results_dir)
        key = (spec.model, spec.backend, spec.devices, spec.precision, spec.paths, spec.allow_download)
        if key in checked:
            continue
        checked.add(key)
        check = getattr(load_workload(workload_ref(spec.model)), "preflight", None)
        if check is not None:
            check(spec, ctx.settings)


def require_writable(directory: Path) -> None:
    """A ResultsError now when ``directory`` could not be created or written; creates nothing."""
    existing = next((p for p in (directory, *directory.absolute().parents) if p.exists()), Path("/"))
    if not existing.is_dir() or not os.access(existing, os.W_OK | os.X_OK):
        raise ResultsError(
            f"cannot write results under {directory}: {existing} is not a writable directory",
            hint="pass a writable --results-dir",
        )


def execute_plan(plan: RunPlan, ctx: HarnessContext, on_event: EventSink | None = None) -> list[RunResult]:
    """Every run of ``plan`` in order, after ``preflight`` passed for all of them, telling
    ``on_event`` how each goes (run_events.py). The results directory is locked for the whole
    plan: a second ``crowdperf run`` into it fails at once, naming this one (locks.py)."""
    preflight(plan, ctx)
    writes = [s.results_dir for s in plan.runs if s.mode is not Mode.FIND_PERFORMANCE]
    if not writes:
        return _execute_runs(plan, ctx, on_event)
    with exclusive(dir_lock(writes[0]), f"results directory {writes[0]}"):
        return _execute_runs(plan, ctx, on_event)


def check_valid_targets(plan: RunPlan, ctx: HarnessContext) -> dict[Scenario, ResolvedTargets]:
    """Before any 600 s run: each valid scenario's stored target re-checked by a short probe of the
    system now (target_check.py); the targets its runs get, said to the user one line each. A
    target the user passed that would make the run INVALID is refused (UsageError)."""
    specs = [with_resolved_devices(s, ctx.inventory) for s in runs_to_check(plan)]
    checked: dict[Scenario, ResolvedTargets] = {}
    if not specs:
        return checked
    load = machine_load()
    for spec in specs:
        targets = resolve_targets(spec, ctx)
        system = ctx.system_name(spec)
        stored = ctx.store.lookup(spec, system)
        probed = target_check.probe(spec, workload_ref(spec.model), targets, stored)
        decision = target_check.decide(spec, targets, probed)
        if targets.source == "override":
            if decision.changed and decision.invalid:
                raise target_check.refuse_override(spec, decision)
            ctx.say(f"{spec.scenario}: your target: {decision.why}")
            continue
        if decision.changed:
            decision = replace(decision, targets=replace(decision.targets, source=RECHECKED))
        ctx.say(target_check.explain(spec, decision, load, stored, find_performance_command(spec)))
        checked[spec.scenario] = decision.targets
    return checked


RECHECKED = "find-performance, re-targeted by a pre-run probe"


def _execute_runs(plan: RunPlan, ctx: HarnessContext, on_event: EventSink | None) -> list[RunResult]:
    checked = check_valid_targets(plan, ctx)
    results = []
    emit = on_event or (lambda _event: None)
    count = len(plan.runs)
    for index, spec in enumerate(plan.runs, start=1):
        emit(RunStarted(spec, index, count))
        started = time.monotonic()

        def poll(status: ChildStatus, spec: RunSpec = spec, index: int = index) -> None:
            emit(RunProgress(spec, index, count, status.elapsed_s, status.progress))

        targets = checked.get(spec.scenario) if spec.mode in (Mode.PERFORMANCE, Mode.COMPLIANCE) else None
        result = execute_run(spec, ctx, poll if on_event else None, targets)
        if ctx.after_run is not None and spec.mode is not Mode.FIND_PERFORMANCE:
            ctx.after_run(spec, result)
        results.append(result)
        emit(RunFinished(spec, index, count, time.monotonic() - started, result))
    return results


def loadgen_version() -> str:
    return version("mlcommons-loadgen")
