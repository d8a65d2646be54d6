"""Test-mode sizing: a short test-mode run must last LoadGen's ``min_duration`` on any system,
however fast, or LoadGen calls it INVALID for a reason that is ours, not the system's.

How LoadGen decides how much work a run has (mlcommons/inference loadgen/loadgen.cc
``GenerateQueries``, results.cc ``MinDurationMet``):

    SingleStream / MultiStream  queries are generated up front, spaced by the expected latency,
                  over 2 x min_duration (``duration_multiplier``), at least min_query_count. The
                  run stops issuing once min_duration and min_query_count are met; a system faster
                  than half the expectation issues every generated query before min_duration:
                  "Ran out of generated queries", INVALID.
    Offline       one query of max(min_query_count, 1.1 x min_duration x target_qps) samples
                  (test_settings_internal.cc ``kSlack``); VALID only if its last sample completes
                  after min_duration, so a system faster than the target finishes too early.
    Server        queries are scheduled in time (Poisson at target_qps over 1 x min_duration); a
                  faster system cannot run out, a slower one fails the latency bound instead.

So a fixed expectation cannot work for every system (a 0.01 ms one ran out at 201k queries/s on a
fast 2-core CPU). Instead the test's child process measures the system with a short probe right
before the run (after the warm-up) and sizes the run from it with ``SPEED_HEADROOM``: the run
stays VALID on a system up to that many times faster than the probe saw. The SingleStream /
MultiStream probe takes the fastest query, so the headroom is over the system's best case.
Generated queries cost LoadGen ~300 bytes each (630 for MultiStream) and time to generate, so
their number is capped at ``MAX_GENERATED_QUERIES``: the expectation never goes below
0.2 us (2 x 100 ms / 1,000,000), more than ten times faster than a no-op Python SUT through
LoadGen (3-5 us a query on a fast 2-core CPU), which no system can beat through this harness.
Only a system whose fastest query takes under 2 us reaches the cap (300 MB, ~1 s to generate).

A probe can still be wrong by more than the headroom: on a machine whose other load comes and
goes, a probe measured 5,173 samples/s and the run after it did 190,689 (37x), so the run ended
after 54 ms, INVALID. The harness then runs the test again, sized from what the short run itself
measured (``resized_after_short_run``; runs.py, at most ``MAX_RESIZES`` times): the run LoadGen
found too short is the best measure of how fast the system goes. Only test mode does this: its
results are never submitted, and a valid run's targets are the user's or find-performance's
(margins, user_conf.py).
"""

from __future__ import annotations

import tempfile
from dataclasses import replace
from pathlib import Path

from crowdperf.mlperf import progress
from crowdperf.mlperf.invalid_reason import RAN_OUT
from crowdperf.mlperf.logs import DetailLog
from crowdperf.mlperf.probes import Prober
from crowdperf.mlperf.progress import Phase
from crowdperf.mlperf.rounds import Scenario, Seeds
from crowdperf.mlperf.spec import ExecutionMode, Mode, RunSpec
from crowdperf.mlperf.user_conf import TEST_MIN_DURATION_MS, TEST_SPEED_HEADROOM, ResolvedTargets
from crowdperf.mlperf.workload import OpenWorkload

SPEED_HEADROOM = TEST_SPEED_HEADROOM
LOADGEN_GENERATION_MULTIPLIER = 2.0  # loadgen.cc duration_multiplier (not Server)
MAX_GENERATED_QUERIES = 1_000_000
MIN_EXPECTED_LATENCY_MS = LOADGEN_GENERATION_MULTIPLIER * TEST_MIN_DURATION_MS / MAX_GENERATED_QUERIES
SIZED = "test sizing probe"
RESIZED = "test sizing, from a run that ended too early"


def needs_sizing(spec: RunSpec) -> bool:
    """Test-mode performance (and TEST01) runs of the scenarios that can end too early."""
    return (
        spec.execution_mode is ExecutionMode.TEST
        and spec.mode in (Mode.PERFORMANCE, Mode.COMPLIANCE)
        and spec.scenario in (Scenario.OFFLINE, Scenario.SINGLE_STREAM, Scenario.MULTI_STREAM)
    )


def expected_latency_ms(fastest_query_ms: float) -> float:
    """The expected latency LoadGen gets: enough generated queries for a system ``SPEED_HEADROOM``
    times faster than the fastest probed query (LoadGen's own 2x counts towards it)."""
    return max(fastest_query_ms * LOADGEN_GENERATION_MULTIPLIER / SPEED_HEADROOM, MIN_EXPECTED_LATENCY_MS)


def size_test_targets(
    opened: OpenWorkload, spec: RunSpec, seeds: Seeds, given: ResolvedTargets
) -> ResolvedTargets:
    """``given`` (the parent's targets), or targets sized by a probe of ``opened`` when the test
    could otherwise end before min_duration. An explicit target is kept when it already asks for
    at least as much work as the probe says is needed."""
    if not needs_sizing(spec):
        return given
    progress.report_phase(Phase.SIZING, unit="probes")
    with tempfile.TemporaryDirectory(prefix="crowdperf-sizing-") as tmp:
        prober = Prober(
            opened, seeds=seeds, work_dir=Path(tmp), count=spec.count, batch_size=spec.batch_size, probe_ms=0
        )
        if spec.scenario is Scenario.OFFLINE:
            # user_conf.offline_test_samples turns this QPS into SPEED_HEADROOM x min_duration of work
            qps = prober.sizing_qps()
            if given.target_qps is not None and given.target_qps >= qps:
                return given
            return replace(given, target_qps=qps, source=SIZED, probed=qps)
        fastest = prober.fastest_query_ms(spec.scenario)
    latency = expected_latency_ms(fastest)
    if given.target_latency_ms is not None and given.target_latency_ms <= latency:
        return given
    return replace(given, target_latency_ms=latency, source=SIZED, probed=fastest)


def resized_after_short_run(spec: RunSpec, log: DetailLog, used: ResolvedTargets) -> ResolvedTargets | None:
    """Targets for running a test again when it was INVALID only for ending too early (LoadGen:
    min_duration not met, or "Ran out of generated queries"), sized from what that run measured as
    the probe's are: the samples/s it did (Offline), its fastest query (SingleStream, MultiStream).
    None when the test is not one sizing applies to, was VALID or INVALID for another reason, or
    when its own measure would not ask LoadGen for more work than ``used`` did."""
    if not needs_sizing(spec) or log.valid:
        return None
    ran_out = any(RAN_OUT in str(e.value) for e in log.errors)
    if not (ran_out or log.get("result_min_duration_met") is False):
        return None
    if log.get("result_min_queries_met") is False:
        return None  # LoadGen issues at least min_query_count whatever the target: not ours to fix
    if spec.scenario is Scenario.OFFLINE:
        qps = float(log.get("result_samples_per_second", 0) or 0)
        if qps <= (used.target_qps or 0.0):
            return None
        return replace(used, target_qps=qps, source=RESIZED, probed=qps)
    fastest = float(log.get("result_min_latency_ns", 0) or 0) / 1e6
    latency = expected_latency_ms(fastest)
    if fastest <= 0 or (used.target_latency_ms is not None and latency >= used.target_latency_ms):
        return None
    return replace(used, target_latency_ms=latency, source=RESIZED, probed=fastest)
