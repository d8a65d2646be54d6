"""Before the 600 s runs of a valid plan: does the stored find-performance target still hold?

A target measured while other jobs slowed the machine is too low once it is quiet (seen: 2.6x
Offline, 4.5x SingleStream), and LoadGen then ends the run INVALID after 10+ minutes. So, before
the first valid performance or TEST01 run of each scenario (unless the plan itself measures the
target first), a short probe of the same system in a child (the workload opened and warmed up as
for the run) measures it now, and the harness decides from how LoadGen sizes a valid run
(mlcommons/inference loadgen/loadgen.cc ``GenerateQueries``, results.cc ``MinDurationMet``):

    Offline       one query of 1.1 x 600 s x target samples (test_settings_internal.cc kSlack),
                  VALID when it lasts 600 s: the probe's samples/s must stay below 1.1 x target.
                  Faster: it would end early (INVALID); much slower: it would last far longer than
                  600 s. Either way: re-targeted to the probe x ``OFFLINE_QPS_MARGIN``.
    SingleStream  queries generated for 2 x 600 s at the expected latency run out when queries
    MultiStream   take less than half of it: the fastest probed query must stay above that (with
                  ``LATENCY_SAFETY``); else re-targeted to it x ``LATENCY_MARGIN``.
    Server        a target the system cannot sustain fails the p99 bound (INVALID). A Server
                  probe of the target itself: a 0.2 s one (far over capacity shows at once, and
                  what it completed says where to go), then one long enough that 4 % over
                  capacity breaks the bound (server_search.py ``ServerSearch.check``), stepping
                  down 5 % on a failure; re-targeted to what held x ``SERVER_QPS_MARGIN``. It
                  also catches a target stored by the old 0.5 s search, which could be ~20 %
                  over capacity on the same, unchanged system (an Offline probe would not see it).

A target the user passed (``--target-qps``/``--target-latency-ms``) is never changed: a run it
would make INVALID is refused up front with the value that works. Each decision is one line to
the user (``HarnessContext.notify``) and is recorded in provenance (``ResolvedTargets.source``,
``probed``). The machine's load (system/load.py) now and when the target was measured is part
of the line.
"""

from __future__ import annotations

import shutil
from dataclasses import dataclass, replace
from pathlib import Path

from crowdperf.errors import UsageError
from crowdperf.mlperf.isolated import run_isolated, scratch_dir
from crowdperf.mlperf.probes import Prober
from crowdperf.mlperf.rounds import MIN_DURATION_MS, Scenario, Seeds, get_round
from crowdperf.mlperf.server_search import ServerSearch
from crowdperf.mlperf.spec import ExecutionMode, Mode, RunPlan, RunSpec
from crowdperf.mlperf.sut import default_batch_size
from crowdperf.mlperf.targets import StoredTarget
from crowdperf.mlperf.user_conf import LATENCY_MARGIN, OFFLINE_QPS_MARGIN, SERVER_QPS_MARGIN, ResolvedTargets
from crowdperf.mlperf.workload import load_workload
from crowdperf.system.load import MachineLoad

KSLACK = 1.1  # test_settings_internal.cc: an Offline query holds 1.1 x min_duration x target samples
OFFLINE_SAFETY = 1.05  # the run must be predicted to last this much more than 600 s
OFFLINE_TOO_LONG = 1.6  # a run predicted to last longer than this x 600 s is re-targeted down
LATENCY_SAFETY = 1.25  # the fastest query must stay this far above half the expected latency
# The Server check's first probe: a target several times over capacity (the machine busy now)
# shows within 0.2 s, and the probe's drain, which grows with its length, stays short.
SERVER_SCREEN_MS = 200
PROBE_FLOOR_MS = 500.0  # an Offline probe lasts at least this long (LoadGen's start-up is noise)
PROBE_S = 0.5  # the first Offline probe's length at the stored speed


@dataclass(frozen=True)
class SpeedJob:
    """What the probe child measures: Offline samples/s, the Server QPS that holds the bound at or
    below ``server_target_qps``, or the fastest query ms (SingleStream, MultiStream)."""

    spec: RunSpec
    workload_ref: str
    work_dir: Path
    seeds: Seeds
    first_samples: int
    server_target_qps: float = 0.0  # the run's target (margin included)
    latency_bound_ns: int = 0  # the workload's Server p99 bound


def measure_now(job: SpeedJob) -> float:
    """Child-process entry: open and warm up the workload as for the run, then probe it."""
    opened = load_workload(job.workload_ref).open(job.spec)
    try:
        scenario = job.spec.scenario
        warmup = getattr(opened, "warmup", None)
        if warmup is not None:
            warmup(default_batch_size(scenario, job.spec.batch_size, opened.source))
        prober = Prober(
            opened,
            seeds=job.seeds,
            work_dir=job.work_dir,
            count=job.spec.count,
            batch_size=job.spec.batch_size,
            probe_ms=0,
        )
        if scenario is Scenario.OFFLINE:
            return prober.sizing_qps(floor_ms=PROBE_FLOOR_MS, first_samples=job.first_samples)
        if scenario is Scenario.SERVER:
            search = ServerSearch(prober, job.latency_bound_ns, probe_ms=SERVER_SCREEN_MS)
            return search.check(job.server_target_qps).qps
        return prober.fastest_query_ms(scenario)
    finally:
        opened.close()


@dataclass(frozen=True)
class Decision:
    targets: ResolvedTargets  # what the run gets
    changed: bool
    why: str  # one line: what the probe says about the stored target
    invalid: bool = False  # the unchanged target would make the run INVALID (not merely long)


def decide_offline(targets: ResolvedTargets, probed_qps: float) -> Decision:
    target = float(targets.target_qps or 0.0)
    seconds = KSLACK * (MIN_DURATION_MS / 1000) * target / probed_qps
    now = f"a probe measures {probed_qps:,.4g} samples/s now, the target is {target:,.4g}"
    if (
        seconds >= MIN_DURATION_MS / 1000 * OFFLINE_SAFETY
        and seconds <= MIN_DURATION_MS / 1000 * OFFLINE_TOO_LONG
    ):
        return Decision(targets, False, f"{now}: the 600 s run should take ~{seconds / 60:.0f} min")
    invalid = seconds < MIN_DURATION_MS / 1000 * OFFLINE_SAFETY
    if invalid:
        why = f"{now}: the run would end after ~{seconds:.0f} s, before LoadGen's 600 s minimum (INVALID)"
    else:
        why = f"{now}: the run would take ~{seconds / 60:.0f} min instead of ~11"
    new = replace(targets, target_qps=probed_qps * OFFLINE_QPS_MARGIN, probed=probed_qps)
    return Decision(new, True, why, invalid)


def decide_latency(targets: ResolvedTargets, fastest_ms: float) -> Decision:
    expected = float(targets.target_latency_ms or 0.0)
    now = f"the fastest probed query takes {fastest_ms:.4g} ms, the expected latency is {expected:.4g} ms"
    if fastest_ms >= expected / 2 * LATENCY_SAFETY:
        return Decision(targets, False, f"{now}: LoadGen generates enough queries for 600 s")
    why = f"{now}: LoadGen would run out of generated queries before 600 s (INVALID)"
    new = replace(targets, target_latency_ms=fastest_ms * LATENCY_MARGIN, probed=fastest_ms)
    return Decision(new, True, why, invalid=True)


def decide_server(targets: ResolvedTargets, sustained_qps: float) -> Decision:
    """``sustained_qps``: the target, or the first lower QPS (stepping down), that held the p99
    bound over a Server probe now (``ServerSearch.check``)."""
    target = float(targets.target_qps or 0.0)
    if sustained_qps >= target:
        held = f"a Server probe now holds the p99 bound at the target {target:,.4g} QPS"
        return Decision(targets, False, held)
    why = (
        f"a Server probe now holds the p99 bound only up to {sustained_qps:,.4g} QPS: the target "
        f"{target:,.4g} would fail it (INVALID)"
    )
    new = replace(targets, target_qps=sustained_qps * SERVER_QPS_MARGIN, probed=sustained_qps)
    return Decision(new, True, why, invalid=True)


def decide(spec: RunSpec, targets: ResolvedTargets, probed: float) -> Decision:
    if spec.scenario is Scenario.OFFLINE:
        return decide_offline(targets, probed)
    if spec.scenario is Scenario.SERVER:
        return decide_server(targets, probed)
    return decide_latency(targets, probed)


def runs_to_check(plan: RunPlan) -> list[RunSpec]:
    """The first valid performance/TEST01 run of each scenario whose target the plan does not
    measure itself (find-performance first: the target is fresh)."""
    measured = {s.scenario for s in plan.runs if s.mode is Mode.FIND_PERFORMANCE}
    first: dict[Scenario, RunSpec] = {}
    for spec in plan.runs:
        long_run = spec.mode in (Mode.PERFORMANCE, Mode.COMPLIANCE)
        if spec.execution_mode is ExecutionMode.VALID and long_run and spec.scenario not in measured:
            first.setdefault(spec.scenario, spec)
    return list(first.values())


def probe(spec: RunSpec, ref: str, targets: ResolvedTargets, stored: StoredTarget | None) -> float:
    """Measure the system now in a child (see ``measure_now``)."""
    speed = stored.value if stored is not None and stored.unit == "samples/s" else targets.target_qps or 64.0
    work = scratch_dir("target-check")
    try:
        job = SpeedJob(
            spec,
            ref,
            work,
            get_round(spec.round).seeds,
            max(8, min(int(speed * PROBE_S), 4096)),
            server_target_qps=float(targets.target_qps or 0.0),
            latency_bound_ns=load_workload(ref).rules.benchmark.server_latency_ns,
        )
        return float(
            run_isolated(
                "crowdperf.mlperf.target_check:measure_now", job, work, what=f"{spec.scenario} target check"
            )
        )
    finally:
        shutil.rmtree(work, ignore_errors=True)


def explain(
    spec: RunSpec, decision: Decision, load: MachineLoad, stored: StoredTarget | None, fix: str
) -> str:
    """The one line the user reads before the run."""
    then = (
        f"; when measured: {stored.machine_busy_percent:.0f}% busy"
        if stored is not None and stored.machine_busy_percent is not None
        else ""
    )
    machine = f" (machine now: {load.describe()}{then})"
    if not decision.changed:
        return f"{spec.scenario}: the stored target holds: {decision.why}{machine}"
    new = decision.targets
    value = (
        f"{new.target_qps:,.4g} samples/s"
        if new.target_qps is not None
        else f"{new.target_latency_ms:.4g} ms"
    )
    return f"{spec.scenario}: {decision.why}{machine}; re-targeted to {value} (to store it: {fix})"


def refuse_override(spec: RunSpec, decision: Decision) -> UsageError:
    flag = "--target-qps" if spec.scenario in (Scenario.OFFLINE, Scenario.SERVER) else "--target-latency-ms"
    new = decision.targets
    value = new.target_qps if new.target_qps is not None else new.target_latency_ms
    return UsageError(
        f"{spec.scenario}: the {flag} you passed would spoil the 600 s run: {decision.why}",
        hint=f"pass {flag} {value:.4g} (what a probe of this system supports now), or leave it out",
    )
