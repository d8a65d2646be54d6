"""Screening: the cheap look at a configuration that ``crowdperf explore`` takes of every point
before it spends full runs on the promising ones (docs/explore.md).

One child process (``isolated``) screens a *group*: configurations that differ only in the batch
size, which the harness applies per LoadGen test (everything the backend loads is the same). It
opens the workload once, warms it up at the largest batch, and for each batch size in turn:

    performance  find-performance's own search for the scenario (``TargetSearch``: Offline
                 samples/s, SingleStream/MultiStream latency, Server QPS under the bound)
    power        the meters that apply to the devices, sampled over the search and read over the
                 last probe's LoadGen window (``power_begin``/``power_end``): J/sample is that
                 probe's energy over its own sample count
    accuracy     LoadGen's AccuracyOnly mode over the first ``accuracy_count`` samples (a fixed
                 subset, the same for every point), scored by the workload's own metric

Each result is written to the work directory as soon as it exists, so the parent can journal it
while the next one runs, and a child that dies costs only the configuration it was on. Nothing
is stored: no targets file, no results directory. A backend that refuses the configuration (a
precision it does not run, a device it cannot use) raises a UsageError or DeviceError: in the
parent, from the harness's ``preflight`` (the workload's cheap checks, before any child starts or
a model is made), or out of ``open`` in the child; every configuration of the group gets it.
"""

from __future__ import annotations

import pickle
import shutil
import time
from collections.abc import Callable
from dataclasses import dataclass, replace

from crowdperf.atomic import atomic_write_bytes
from crowdperf.errors import CrowdperfError, DeviceError, InterruptedRun, UsageError
from crowdperf.meters.readings import PowerSummary, summarise
from crowdperf.meters.registry import meter_refs, open_meters
from crowdperf.meters.sampler import PowerSampler
from crowdperf.mlperf.find_performance import FindJob, Measurement, TargetSearch
from crowdperf.mlperf.isolated import run_isolated, scratch_dir
from crowdperf.mlperf.layout import DETAIL
from crowdperf.mlperf.loadgen_runner import as_accuracy_result
from crowdperf.mlperf.logs import parse_detail_log
from crowdperf.mlperf.power import loadgen_samples, loadgen_window
from crowdperf.mlperf.probes import Prober
from crowdperf.mlperf.rounds import get_round
from crowdperf.mlperf.runs import HarnessContext, preflight, with_resolved_devices
from crowdperf.mlperf.spec import Mode, RunPlan, RunSpec
from crowdperf.mlperf.sut import default_batch_size
from crowdperf.mlperf.workload import AccuracyResult, OpenWorkload, RuntimeInfo, load_workload, workload_ref

RESULT_FILE = "screen-{}.pkl"


@dataclass(frozen=True)
class ScreenJob:
    find: FindJob  # the group's spec (count None: performance over the whole QSL), seeds, bound
    batch_sizes: tuple[int | None, ...]  # one configuration each, in order
    accuracy_count: int | None  # samples of the accuracy subset; None: no accuracy pass
    meters: tuple[str, ...] | None = None  # "module:attr" of each meter; None: the installed ones


@dataclass(frozen=True)
class Screening:
    """What screening measured of one configuration (plain values: pickled and journalled)."""

    performance: Measurement  # samples/s (Offline, Server) or ms (SingleStream, MultiStream)
    accuracy: AccuracyResult | None
    power: PowerSummary | None  # None when no meter applies to the devices
    runtime: RuntimeInfo
    seconds: float  # wall time spent on this configuration (its share of the child)


@dataclass(frozen=True)
class ScreenFailure:
    """Why one configuration has no screening. ``refused``: the backend or the devices will not
    run it (UsageError, DeviceError), a property of the configuration, not an accident."""

    error: str  # the exception's class name
    message: str
    hint: str | None
    refused: bool

    @classmethod
    def of(cls, exc: BaseException) -> ScreenFailure:
        if isinstance(exc, CrowdperfError):
            refused = isinstance(exc, UsageError | DeviceError)
            return cls(type(exc).__name__, exc.message, exc.hint, refused)
        return cls(type(exc).__name__, str(exc), None, False)


ScreenOutcome = Screening | ScreenFailure
OnResult = Callable[[int, ScreenOutcome], None]  # (index in the group, outcome)


def screen_child(job: ScreenJob) -> tuple[ScreenOutcome, ...]:
    """Child-process entry: see the module docstring."""
    spec = job.find.spec
    started = time.monotonic()
    try:
        opened = load_workload(job.find.workload_ref).open(spec)
    except CrowdperfError as exc:  # the backend refuses the group's configuration, or cannot load
        failure = ScreenFailure.of(exc)
        return tuple(_written(job, i, failure) for i in range(len(job.batch_sizes)))
    try:
        warmup = getattr(opened, "warmup", None)
        if warmup is not None:  # at the scenario's largest batch, as find_performance.search does
            warmup(max(default_batch_size(spec.scenario, b, opened.source) for b in job.batch_sizes))
        outcomes = []
        for i, batch_size in enumerate(job.batch_sizes):
            try:
                outcome: ScreenOutcome = _screen_one(job, opened, batch_size, started)
            except CrowdperfError as exc:
                outcome = ScreenFailure.of(exc)
            outcomes.append(_written(job, i, outcome))
            started = time.monotonic()
        return tuple(outcomes)
    finally:
        opened.close()


def _written(job: ScreenJob, index: int, outcome: ScreenOutcome) -> ScreenOutcome:
    atomic_write_bytes(job.find.work_dir / RESULT_FILE.format(index), pickle.dumps(outcome))
    return outcome


def _screen_one(job: ScreenJob, opened: OpenWorkload, batch_size: int | None, started: float) -> Screening:
    spec = replace(job.find.spec, batch_size=batch_size)
    work = job.find.work_dir / f"config-{batch_size or 'default'}"
    search = TargetSearch(replace(job.find, spec=spec, work_dir=work), opened)
    with PowerSampler(open_meters(opened.runtime.devices, job.meters)) as sampler:
        performance = search.measure(spec.scenario)
    power = _probe_power(search.prober, sampler)
    accuracy = None
    if job.accuracy_count is not None:
        prober = Prober(
            opened,
            seeds=job.find.seeds,
            work_dir=work / "accuracy",
            count=job.accuracy_count,
            batch_size=batch_size,
            probe_ms=0,
        )
        log = prober.accuracy_log(spec.scenario)
        accuracy = as_accuracy_result(opened.evaluate_accuracy(log, log.parent))
    shutil.rmtree(work, ignore_errors=True)
    return Screening(performance, accuracy, power, opened.runtime, time.monotonic() - started)


def _probe_power(prober: Prober, sampler: PowerSampler) -> PowerSummary | None:
    """The meters over the last probe's LoadGen window; None when no meter applies."""
    traces = sampler.traces()
    if not traces:
        return None
    log = parse_detail_log(prober.last_probe_dir / DETAIL)
    _, summary = summarise(traces, loadgen_window(log), loadgen_samples(log))
    return summary


def screen_group(
    spec: RunSpec,
    batch_sizes: tuple[int | None, ...],
    ctx: HarnessContext,
    *,
    accuracy_count: int | None,
    on_result: OnResult,
    poll: Callable[..., None] | None = None,
) -> None:
    """Screen ``spec`` at each of ``batch_sizes`` in one child; ``on_result`` gets each
    configuration's outcome as soon as the child has written it (so while the next one runs).
    ``spec.count`` and ``spec.batch_size`` are ignored. A device that is not here is every
    configuration's refusal; a child that dies is the failure of the configuration it was on,
    and the ones after it are left unscreened (no call). ``poll`` as ``run_isolated``'s; an
    exception it raises (a deadline) stops the child like Ctrl-C does."""
    try:
        spec = replace(with_resolved_devices(spec, ctx.inventory), mode=Mode.FIND_PERFORMANCE, count=None)
        preflight(RunPlan((spec,)), ctx)  # a refusal the parent can see (backend, precision) costs no child
    except CrowdperfError as exc:
        for i in range(len(batch_sizes)):
            on_result(i, ScreenFailure.of(exc))
        return
    ref = workload_ref(spec.model)
    work = scratch_dir("screen")
    seen: set[int] = set()

    def collect(*status: object) -> None:
        for i in range(len(batch_sizes)):
            path = work / RESULT_FILE.format(i)
            if i not in seen and path.is_file():
                seen.add(i)
                on_result(i, pickle.loads(path.read_bytes()))
        if poll is not None:
            poll(*status)

    try:
        rules = load_workload(ref).rules
        job = ScreenJob(
            FindJob(spec, ref, work, get_round(spec.round).seeds, rules.benchmark.server_latency_ns),
            batch_sizes,
            accuracy_count,
            meter_refs(),
        )
        try:
            run_isolated("crowdperf.mlperf.screening:screen_child", job, work, poll=collect, what="screening")
        except CrowdperfError as exc:  # the child died (or its warm-up failed): the configuration
            # it was on failed
            collect()
            if len(seen) < len(batch_sizes):
                on_result(min(set(range(len(batch_sizes))) - seen), ScreenFailure.of(exc))
            return
        collect()
    except KeyboardInterrupt:
        raise InterruptedRun("interrupted; nothing was stored") from None
    finally:
        shutil.rmtree(work, ignore_errors=True)


__all__ = ["ScreenFailure", "ScreenJob", "ScreenOutcome", "Screening", "screen_group"]
