"""Run one LoadGen test on a SampleSource, and read its logs into a typed ``RunResult``.

``execute_test`` runs inside a fresh child process (``isolated.py``): LoadGen's
``TestSettings::FromConfig`` keeps a process-wide counter (loadgen/test_settings_internal.cc), so a
second user.conf in one process logs ``error_invalid_config`` ("Multiple conf files are used") and
skips mlperf.conf, zeroing the round's seeds. One test per process keeps every log clean.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from importlib.metadata import version
from pathlib import Path

import mlperf_loadgen as lg

from crowdperf.errors import BackendError, ResultsError
from crowdperf.meters.readings import PowerSummary
from crowdperf.meters.registry import open_meters
from crowdperf.meters.sampler import MeterTrace, PowerSampler
from crowdperf.mlperf import progress
from crowdperf.mlperf.layout import ACCURACY_LOG, DETAIL, SUMMARY, USER_CONF
from crowdperf.mlperf.logs import parse_detail_log
from crowdperf.mlperf.metrics import result_field
from crowdperf.mlperf.probes import LOADGEN_SCENARIO, qsl_sizes
from crowdperf.mlperf.progress import Phase, WorkBudget
from crowdperf.mlperf.rounds import Scenario, get_round
from crowdperf.mlperf.sizing import size_test_targets
from crowdperf.mlperf.spec import Mode, RunSpec
from crowdperf.mlperf.sut import BatchingSut, default_batch_size
from crowdperf.mlperf.user_conf import ResolvedTargets, render_test01_audit_config, render_user_conf
from crowdperf.mlperf.workload import AccuracyResult, OpenWorkload, RuntimeInfo, load_workload


@dataclass(frozen=True)
class TestJob:
    """Everything the child needs; pickled to it."""

    spec: RunSpec
    workload_ref: str
    out_dir: Path
    targets: ResolvedTargets
    workers: int | None = None  # None: the source's concurrency
    meters: tuple[str, ...] | None = None  # "module:attr" of each power meter; None: the installed ones


@dataclass(frozen=True)
class Scheduling:
    """How the SUT fed the test (provenance.json records it): the batch size it cut queries into
    (``--batch-size``, else the source's for its device, else the scenario's) and its worker
    threads per device (0: SingleStream and MultiStream run inline in LoadGen's thread)."""

    batch_size: int
    workers_per_device: int


@dataclass(frozen=True)
class TestOutcome:
    """What the child reports back (besides the files it wrote)."""

    runtime: RuntimeInfo
    asset_checksums: dict[str, str]
    loadgen_version: str
    qsl_size: int
    accuracy: AccuracyResult | None = None
    targets: ResolvedTargets | None = None  # what user.conf got (test mode may size it)
    power: tuple[MeterTrace, ...] = ()  # the meters' raw samples (performance and TEST01 runs)
    weights_file: str | None = None  # which of asset_checksums is the model (OpenWorkload.weights_file)
    scheduling: Scheduling | None = None


def execute_test(job: TestJob) -> TestOutcome:
    """Open the workload, write user.conf, FromConfig once, run LoadGen, score accuracy."""
    spec = job.spec
    progress.report_phase(Phase.LOADING)
    workload = load_workload(job.workload_ref)
    opened = workload.open(spec)
    try:
        total, perf = qsl_sizes(opened.source.total_count, opened.source.performance_count, spec.count)
        warmup = getattr(opened, "warmup", None)  # optional: untimed, before any LoadGen test
        if warmup is not None:  # (also before the sizing probes: graphs captured, kernels chosen)
            progress.report_phase(Phase.WARMUP)
            warmup(default_batch_size(spec.scenario, spec.batch_size, opened.source))
        targets = size_test_targets(opened, spec, get_round(spec.round).seeds, job.targets)
        settings = _settings(job, opened, total, targets, workload.rules.benchmark.performance_sample_count)
        audit = job.out_dir / "audit.config"
        if spec.mode is Mode.COMPLIANCE:
            audit.write_text(render_test01_audit_config(workload.rules.benchmark.test01_sampling_target))
        try:
            power, scheduling = _start(job, opened, settings, total, perf, audit)
        finally:
            audit.unlink(missing_ok=True)  # not a LoadGen output; provenance records TEST01
        accuracy = None
        if spec.mode is Mode.ACCURACY:
            progress.report_phase(Phase.ACCURACY)
            accuracy = as_accuracy_result(opened.evaluate_accuracy(job.out_dir / ACCURACY_LOG, job.out_dir))
        return TestOutcome(
            opened.runtime,
            dict(opened.asset_checksums),
            version("mlcommons-loadgen"),
            total,
            accuracy,
            targets,
            power,
            getattr(opened, "weights_file", None),  # optional, like warmup
            scheduling,
        )
    finally:
        opened.close()


def _settings(
    job: TestJob, opened: OpenWorkload, qsl_size: int, targets: ResolvedTargets, performance_sample_count: int
) -> lg.TestSettings:
    spec = job.spec
    conf = job.out_dir / USER_CONF
    conf.write_text(
        render_user_conf(
            loadgen_model=opened.loadgen_model,
            scenario=spec.scenario,
            execution_mode=spec.execution_mode,
            targets=targets,
            qsl_size=qsl_size,
            performance_sample_count=performance_sample_count,
        )
    )
    settings = lg.TestSettings()
    settings.scenario = LOADGEN_SCENARIO[spec.scenario]
    # Exactly once per process: see the module docstring.
    if settings.FromConfig(str(conf), opened.loadgen_model, spec.scenario.value) != 0:
        raise ResultsError(f"LoadGen rejected {conf}", hint="see mlperf_log_detail.txt")
    settings.mode = lg.TestMode.AccuracyOnly if spec.mode is Mode.ACCURACY else lg.TestMode.PerformanceOnly
    return settings


def _start(
    job: TestJob, opened: OpenWorkload, settings: lg.TestSettings, total: int, perf: int, audit: Path
) -> tuple[tuple[MeterTrace, ...], Scheduling]:
    """Run the LoadGen test; a performance or TEST01 test is sampled by the power meters that
    apply to its devices, from right before ``StartTestWithLogSettings`` to right after it (not
    the model load, the warm-up or the sizing probes: those ran before). Returns the meters'
    samples and how the SUT fed the test."""
    measured = job.spec.mode in (Mode.PERFORMANCE, Mode.COMPLIANCE)
    log = lg.LogSettings()
    log.log_output.outdir = str(job.out_dir)
    log.log_output.copy_summary_to_stdout = False
    log.log_output.copy_detail_to_stdout = False
    log.enable_trace = False
    source = opened.source
    qsl = lg.ConstructQSL(total, perf, source.load, source.unload)
    batch = default_batch_size(job.spec.scenario, job.spec.batch_size, source)
    try:
        meters = open_meters(opened.runtime.devices, job.meters) if measured else []  # untimed: NVML, sysfs
        progress.report_phase(Phase.LOADGEN, budget=work_budget(job.spec, settings, total))
        with (
            BatchingSut(
                source,
                job.spec.scenario,
                batch_size=batch,
                workers=job.workers,
                on_issued=lambda n: progress.report_budget(WorkBudget(exact_samples=n)),
                on_completed=progress.advance,
            ) as sut,
            PowerSampler(meters) as power,
        ):
            # audit.config exists only in compliance mode; otherwise LoadGen finds no file there
            # (never the default "audit.config" in the current directory).
            lg.StartTestWithLogSettings(sut.handle, qsl, settings, log, str(audit))
    finally:
        lg.DestroyQSL(qsl)
    if sut.errors:
        exc = sut.errors[0]
        raise BackendError(f"inference failed during the {job.spec.scenario} run: {exc}") from exc
    return power.traces(), Scheduling(batch, sut.workers)


def work_budget(spec: RunSpec, settings: lg.TestSettings, qsl_total: int) -> WorkBudget:
    """How many samples the test will complete (progress only): every QSL sample once in
    accuracy mode; Offline's query size arrives with the query (the SUT reports it); the other
    scenarios run to ``min_duration`` and ``min_query_count`` (progress.py)."""
    if spec.mode is Mode.ACCURACY:
        return WorkBudget(exact_samples=qsl_total)
    per_query = settings.multi_stream_samples_per_query if spec.scenario is Scenario.MULTI_STREAM else 1
    return WorkBudget(
        min_samples=int(settings.min_query_count) * per_query,
        min_duration_s=settings.min_duration_ms / 1000.0,
    )


def as_accuracy_result(acc: object) -> AccuracyResult:
    """The workload's score with plain Python numbers (a plugin may hand over numpy scalars, which
    neither JSON nor the hub take)."""
    if not isinstance(acc, AccuracyResult):
        raise ResultsError(f"the workload scored accuracy as {type(acc).__name__}, not an AccuracyResult")
    return replace(
        acc,
        value=float(acc.value),
        scores={str(k): float(v) for k, v in acc.scores.items()},
        n_samples=int(acc.n_samples),
        target=None if acc.target is None else float(acc.target),
        passed=None if acc.passed is None else bool(acc.passed),
    )


@dataclass(frozen=True)
class Metric:
    name: str
    unit: str
    value: float


@dataclass(frozen=True)
class RunResult:
    """One finished LoadGen test as the CLI, --json and the hub see it."""

    system: str
    model: str
    scenario: Scenario
    mode: Mode
    run_dir: Path
    valid: bool | None  # None for accuracy runs (LoadGen does not judge them)
    submittable: bool
    metric: Metric | None = None
    invalid_reason: str | None = None  # one line: why LoadGen called it INVALID (invalid_reason.py)
    accuracy: AccuracyResult | None = None
    loadgen_errors: tuple[str, ...] = field(default_factory=tuple)
    invalid_fix: str | None = None  # the command that fixes an INVALID run
    power: PowerSummary | None = None  # performance and TEST01 runs: watts, J/sample or why not


def read_metric(scenario: Scenario, run_dir: Path) -> tuple[Metric | None, bool, str | None, tuple[str, ...]]:
    """(metric, valid, invalid_reason, loadgen errors) from a run directory's detail log."""
    log = parse_detail_log(run_dir / DETAIL)
    if not (run_dir / SUMMARY).is_file():
        raise ResultsError(f"LoadGen wrote no summary in {run_dir}")
    errors = tuple(f"{e.key}: {e.value}" for e in log.errors)
    field_ = result_field(scenario)
    metric = (
        Metric(field_.name, field_.unit, float(log[field_.key]) * field_.scale) if field_.key in log else None
    )
    reason = log.get("result_invalid_reason") or None
    return metric, log.valid and not errors, reason, errors
