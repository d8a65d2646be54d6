"""Why LoadGen called a run INVALID, in one line, and the command that fixes it.

LoadGen's own ``result_invalid_reason`` says what to change ("Increase expected QPS so the loadgen
pre-generates a larger (coalesced) query.") but not by how much, nor that the target came from a
find-performance on a busy machine. The detail log has what is needed to say it exactly
(mlcommons/inference loadgen/results.cc ``LogDetail``: ``result_min_duration_met``,
``result_min_queries_met``, ``result_perf_constraints_met``, ``early_stopping_met``, and
loadgen.cc's ``error_runtime`` "Ran out of generated queries"):

    Offline       the one query ended before 600 s: the system did S samples/s, the target said T
    SingleStream  LoadGen ran out of its generated queries: queries took M ms, it expected E ms
    MultiStream
    Server        the p99 latency was above the bound at the target QPS; when the system fell
                  behind (more than the bound's worth of work queued at the end), what it completed
    any           too few queries (min_query_count), early stopping not met

The fix is the same run with the target that would have worked (what the run measured, with the
margins find-performance applies: user_conf.py), or a new find-performance.
"""

from __future__ import annotations

from dataclasses import dataclass

from crowdperf.mlperf.commands import find_performance_command, rerun_command
from crowdperf.mlperf.logs import DetailLog
from crowdperf.mlperf.rounds import Scenario
from crowdperf.mlperf.server_search import ServerProbe
from crowdperf.mlperf.spec import Mode, RunSpec
from crowdperf.mlperf.user_conf import LATENCY_MARGIN, OFFLINE_QPS_MARGIN, SERVER_QPS_MARGIN

RAN_OUT = "Ran out of generated queries"


@dataclass(frozen=True)
class InvalidReason:
    why: str  # one line
    fix: str  # the command that fixes it


def _ms(log: DetailLog, key: str) -> float:
    return float(log.get(key, 0) or 0) / 1e6


def _fix(spec: RunSpec, flag: str, value: float) -> str:
    """The same run with the target that would have worked, or a new find-performance."""
    return f"{rerun_command(spec, flag, value)} (or re-measure: {find_performance_command(spec)})"


def _offline(log: DetailLog, spec: RunSpec) -> InvalidReason:
    qps = float(log.get("result_samples_per_second", 0) or 0)
    target = float(log.get("effective_target_qps", 0) or 0)
    lasted = _ms(log, "result_max_latency_ns") / 1000
    why = (
        f"the Offline query of {log.get('generated_samples_per_query', '?')} samples ended after "
        f"{lasted:.3g} s, before LoadGen's {float(log.get('effective_min_duration_ms', 0)) / 1000:.3g} s "
        f"minimum: the system did {qps:,.4g} samples/s, the target said {target:,.4g}"
    )
    return InvalidReason(why, _fix(spec, "--target-qps", qps * OFFLINE_QPS_MARGIN))


def _latency(log: DetailLog, scenario: Scenario, spec: RunSpec, ran_out: bool) -> InvalidReason:
    mean = _ms(log, "result_mean_latency_ns")
    kind = "single" if scenario is Scenario.SINGLE_STREAM else "multi"
    expected = _ms(log, f"requested_{kind}_stream_expected_latency_ns")  # not logged as effective_
    minimum = float(log.get("effective_min_duration_ms", 0) or 0) / 1000
    issued = log.get("result_query_count", "?")
    what = (
        f"LoadGen ran out of its {log.get('generated_query_count', '?')} generated queries"
        if ran_out
        else f"the run issued its {issued} queries in less than LoadGen's minimum time"
    )
    why = (
        f"{what}: queries took {mean:.4g} ms on average, the expected latency was {expected:.4g} ms "
        f"(queries faster than half of it exhaust what LoadGen generated for {minimum:.3g} s)"
    )
    return InvalidReason(why, _fix(spec, "--target-latency-ms", mean * LATENCY_MARGIN))


def _server(log: DetailLog, spec: RunSpec) -> InvalidReason:
    target = float(log.get("effective_target_qps", 0) or 0)
    bound_ns = int(log.get("effective_target_latency_ns", 0) or 0)
    bound = bound_ns / 1e6
    p99 = _ms(log, "result_99.00_percentile_latency_ns")
    why = f"at {target:,.4g} QPS the p99 latency was {p99:,.4g} ms, above the {bound:,.4g} ms bound"
    run = ServerProbe.of(log)
    if bound_ns and run.fell_behind(bound_ns) and 0 < run.completed_qps < target:
        # Over capacity the backlog, and so the p99, grows with the run's length: scaling the
        # target by bound / p99 would say ~0.2 % of it after 600 s. Flat out, the system completed
        # its capacity (server_search.py), so that is what a valid target stays under.
        backlog_s = run.backlog_ns / 1e9
        why += (
            f": the system fell behind (it completed {run.completed_qps:,.4g} samples/s, "
            f"{backlog_s:,.3g} s of queries were still queued at the end)"
        )
        return InvalidReason(why, _fix(spec, "--target-qps", run.completed_qps * SERVER_QPS_MARGIN))
    lower = target * min(1.0, bound / p99 if p99 else 1.0) * SERVER_QPS_MARGIN
    return InvalidReason(why, _fix(spec, "--target-qps", lower))


def explain_invalid(log: DetailLog, spec: RunSpec) -> InvalidReason | None:
    """Why an INVALID performance or TEST01 run was INVALID; None when it was VALID."""
    if log.valid:
        return None
    reason = _explain(log, spec)
    if spec.mode is Mode.COMPLIANCE:  # TEST01 runs at the targets of the performance run
        return InvalidReason(f"TEST01: {reason.why}", reason.fix)
    return reason


def _explain(log: DetailLog, spec: RunSpec) -> InvalidReason:
    scenario = Scenario(str(log.get("effective_scenario", spec.scenario)))
    ran_out = any(RAN_OUT in str(e.value) for e in log.errors)
    latency_scenario = scenario in (Scenario.SINGLE_STREAM, Scenario.MULTI_STREAM)
    if log.get("result_perf_constraints_met") is False and scenario is Scenario.SERVER:
        return _server(log, spec)
    if log.get("result_min_duration_met") is False or log.get("result_min_queries_met") is False or ran_out:
        if scenario is Scenario.OFFLINE:
            return _offline(log, spec)
        if latency_scenario:
            return _latency(log, scenario, spec, ran_out)
    if log.get("early_stopping_met") is False:
        why = f"early stopping was not met: {' '.join(str(log.get('early_stopping_result', '')).split())}"
        return InvalidReason(why, find_performance_command(spec))
    said = " ".join(str(log.get("result_invalid_reason") or "no reason logged").split())
    return InvalidReason(f"LoadGen: {said}", find_performance_command(spec))
