"""The Server search: the highest target QPS the system *sustains* under the workload's latency
bound (BERT: p99 <= 130 ms, mlperf.conf ``bert.Server.target_latency``), for find-performance and
for the check of a stored Server target before a valid run (target_check.py).

Why a short probe is not enough. A target above the system's capacity builds a backlog that grows
by (target / capacity - 1) x the probe's length: a probe shows the overload only once that backlog
exceeds the bound. A 0.5 s probe (test mode) passes up to ~25 % over capacity; measured on an H200
(BERT-Large FP8, batch 64, capacity ~6,800 samples/s), a 0.5 s probe at 8,196 QPS had p99 107 ms
and "passed", and the old search reported 8,196: a 600 s run there would end INVALID, its p99 in
the seconds. So the search runs in three steps:

    bracket   short probes (``probe_ms``): start at 0.9 x Offline, double or halve until one passes
              and one fails, then bisect to ``BISECT_TO``
    ceiling   a failed probe's completed samples/s when it fell behind. LoadGen's completed rate
              is (samples - 1) / final_query_all_samples_done_time (mlcommons/inference
              loadgen/results.cc ``LogDetail``): an overloaded system works flat out from the
              first query to the last answer, so it is the system's capacity, and no higher
              target is sustainable (never taken under the most any probe completed).
              It caps the bracket: the first failure's completed rate x ``STEP_DOWN`` is the next
              target when nothing has passed yet
    confirm   the candidate (the highest pass, at most the ceiling) with one probe of
              ``confirm_ms`` = bound / ``DETECTABLE_OVERLOAD`` (3.25 s for 130 ms), long enough
              that a target 4 % over capacity breaks the bound; valid mode's 10 s probes already
              are. On a failure: ``STEP_DOWN`` x the lower of the target and that probe's
              completed rate, and confirm again. Once one holds, step up by 1 / ``STEP_DOWN``
              while confirmations hold, never to a target a probe failed: an overloaded
              short probe's completed rate can fall under the capacity (likely: the SUT's threads
              share the interpreter with LoadGen's callbacks, which double with the target; a
              slow moment weighs on a 0.5 s probe). Seen on an H200 with fresh caches: probes
              at 2x the target completed 6,084-6,750/s in four searches and 7,538-7,674/s in
              two; one search confirmed 6,448 with p99 53 ms where the next found 7,287. At
              most ``MAX_CONFIRMATIONS`` probes; the answer is the highest that held the bound

A probe passes when LoadGen logged no error, its p99 is within the bound, and its backlog at the
end, final_query_all_samples_done_time - final_query_scheduled_time (results.cc: both times are
(samples - 1) / the logged scheduled and completed rates), is within the bound too: a system that
ends a probe with more than the bound's worth of work queued would make the next queries miss it.

Why 4 %: a valid run's target is the found QPS x ``user_conf.SERVER_QPS_MARGIN`` (0.95), so a found
QPS at most 4 % over capacity still gives a target under it (1.04 x 0.95 = 0.99).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import TYPE_CHECKING

from crowdperf.errors import ResultsError
from crowdperf.mlperf.logs import DetailLog
from crowdperf.mlperf.rounds import Scenario

if TYPE_CHECKING:  # the parent imports this module for ServerProbe without LoadGen
    from crowdperf.mlperf.probes import Prober

START_FRACTION = 0.9  # of the Offline samples/s (Server measured 76-87 % of Offline, docs/harness.md)
BISECT_TO = 0.05  # the bracket's width, relative, when the short probes stop
MAX_SEARCH_PROBES = 8  # short probes in the bracket and bisection
DETECTABLE_OVERLOAD = 0.04  # a confirmation probe fails at 4 % over capacity (see the docstring)
STEP_DOWN = 0.95  # after a failed confirmation (and below the first failure's completed rate)
MAX_CONFIRMATIONS = 4  # confirmation probes: down to 0.95^3 = 0.86 x the first candidate
SERVER_MIN_QUERIES = 100  # enough for a 99th percentile


def confirm_ms(latency_bound_ns: int, probe_ms: int) -> int:
    """The length of a confirmation probe: one in which ``DETECTABLE_OVERLOAD`` over capacity
    builds more backlog than the bound; never shorter than the search's own probes."""
    return max(probe_ms, math.ceil(latency_bound_ns / 1e6 / DETECTABLE_OVERLOAD))


@dataclass(frozen=True)
class ServerProbe:
    """What one Server test's detail log says about the load it was given."""

    target_qps: float
    p99_ns: float
    completed_qps: float  # result_completed_samples_per_sec: (samples - 1) / all-done time
    backlog_ns: float  # final_query_all_samples_done_time - final_query_scheduled_time
    errors: int  # LoadGen error records
    duration_ms: int  # the min_duration it ran with (0: unknown, a valid run's log)

    @classmethod
    def of(cls, log: DetailLog, duration_ms: int = 0) -> ServerProbe:
        # Server queries carry one sample each (results.cc ProcessLatencies), so the query count
        # is the sample count the rates were computed from.
        n = int(log.get("result_query_count", 0) or 0)
        scheduled = float(log.get("result_scheduled_samples_per_sec", 0) or 0)
        completed = float(log.get("result_completed_samples_per_sec", 0) or 0)
        backlog_s = 0.0
        if n > 1 and completed > 0 and scheduled > 0:
            backlog_s = (n - 1) / completed - (n - 1) / scheduled
        return cls(
            target_qps=float(log.get("effective_target_qps", 0) or 0),
            p99_ns=float(log["result_99.00_percentile_latency_ns"]),
            completed_qps=completed,
            backlog_ns=max(0.0, backlog_s * 1e9),
            errors=len(log.errors),
            duration_ms=duration_ms,
        )

    def passes(self, latency_bound_ns: int) -> bool:
        return not self.errors and self.p99_ns <= latency_bound_ns and self.backlog_ns <= latency_bound_ns

    def fell_behind(self, latency_bound_ns: int) -> bool:
        """The system ended the test with more than the bound's worth of work queued: the target
        was over its capacity, and the completed rate is what it did flat out."""
        return self.backlog_ns > latency_bound_ns

    def below(self) -> float:
        """The next target to try after this probe failed: ``STEP_DOWN`` x the lower of its
        target and what it completed (its capacity when it fell behind)."""
        return STEP_DOWN * min(self.target_qps, self.completed_qps or self.target_qps)


@dataclass(frozen=True)
class SustainedQps:
    """The search's answer: ``qps`` held the bound over ``confirmed`` (a probe of confirm length)."""

    qps: float
    confirmed: ServerProbe
    search_probes: int
    confirmations: int  # confirmation probes run (0: the search's own probe was long enough)

    def describe(self) -> str:
        return (
            f"{self.qps:,.0f} QPS held the bound over {self.confirmed.duration_ms / 1000:.3g} s "
            f"(p99 {self.confirmed.p99_ns / 1e6:.3g} ms); {self.search_probes} search probe(s), "
            f"{self.confirmations} confirmation probe(s)"
        )


class ServerSearch:
    """Server probes on ``prober`` against ``latency_bound_ns``: see the module docstring."""

    def __init__(self, prober: Prober, latency_bound_ns: int, *, probe_ms: int) -> None:
        self.prober = prober
        self.bound_ns = latency_bound_ns
        self.probe_ms = probe_ms
        self.confirm_ms = confirm_ms(latency_bound_ns, probe_ms)
        self.search_probes = 0
        self.confirmations = 0

    def probe(self, qps: float, duration_ms: int) -> ServerProbe:
        log = self.prober.probe(
            Scenario.SERVER,
            server_target_qps=qps,
            server_target_latency_ns=self.bound_ns,
            server_target_latency_percentile=0.99,
            min_query_count=SERVER_MIN_QUERIES,
            min_duration_ms=duration_ms,
            max_duration_ms=duration_ms * 10,
        )
        return ServerProbe.of(log, duration_ms)

    def highest(self, offline_qps: float) -> SustainedQps:
        """find-performance's answer: bracket from 0.9 x ``offline_qps``, then confirm."""
        candidate, passing, failed_target = self.bracket(max(offline_qps * START_FRACTION, 0.1))
        if passing is not None and passing.duration_ms >= self.confirm_ms:  # valid mode: 10 s probes
            return SustainedQps(candidate, passing, self.search_probes, 0)
        return self.confirm(candidate, below=failed_target)

    def bracket(self, start_qps: float) -> tuple[float, ServerProbe | None, float]:
        """The candidate (the highest short pass, at most the lowest ceiling), when the candidate
        is that pass its probe, and the lowest target a short probe failed (inf: none)."""
        passed, failed, best = 0.0, math.inf, None
        failed_target = math.inf
        done = 0.0  # the most any probe completed a second: the system does at least that
        q = start_qps
        for _ in range(MAX_SEARCH_PROBES):
            self.search_probes += 1
            p = self.probe(q, self.probe_ms)
            probed = q
            done = max(done, p.completed_qps)
            if p.passes(self.bound_ns):
                if q > passed:
                    passed, best = q, p
            else:
                first_failure = failed == math.inf
                failed = min(failed, q, self._ceiling(p, done))
                failed_target = min(failed_target, q)
            if passed and (failed <= passed or (failed - passed) / failed < BISECT_TO):
                break
            if not passed:  # just under what the system completed, then halve
                q = failed * STEP_DOWN if first_failure else failed / 2
            else:
                q = q * 2 if failed == math.inf else (passed + failed) / 2
        if not passed:
            raise ResultsError(
                f"no Server QPS down to {probed:.3g} met the {self.bound_ns / 1e6:.0f} ms p99 bound",
                hint="use a faster backend/device or a smaller --batch-size",
            )
        if failed < passed:  # a target the system could not complete: confirm the ceiling
            return failed, None, failed_target
        return passed, best, failed_target

    def _ceiling(self, failed: ServerProbe, done: float) -> float:
        """What a failed probe says the system cannot sustain: its completed rate when it fell
        behind (its capacity, see the docstring), but never under what some probe completed (a
        stall inside one probe, a kernel compiled mid-run, slows its completed rate, not the
        system's: seen on an H200 at batch 512, 4,340/s completed after a pass at 7,102 that
        completed 6,648/s); a failure by latency alone caps at its target."""
        if failed.fell_behind(self.bound_ns) and failed.completed_qps:
            return max(failed.completed_qps, done)
        return failed.target_qps

    def confirm(self, qps: float, *, below: float = 0.0) -> SustainedQps:
        """``qps`` or, stepping down, the first lower QPS that holds the bound over a probe of
        ``confirm_ms``; once one holds, steps of 1 / ``STEP_DOWN`` up while they hold, each under
        ``below`` (a target a short probe failed; 0: no steps up) and under any target a
        confirmation failed. The highest that held; a ResultsError when ``MAX_CONFIRMATIONS``
        probes found none."""
        q = last = qps
        held: tuple[float, ServerProbe] | None = None
        for _ in range(MAX_CONFIRMATIONS):
            self.confirmations += 1
            p = self.probe(q, self.confirm_ms)
            if p.passes(self.bound_ns):
                held = (q, p)
                if q / STEP_DOWN >= below:
                    break
                q /= STEP_DOWN
            elif held is not None:  # a step up failed: the last QPS that held stands
                break
            else:  # never step back up to a target a confirmation failed
                below = min(below, q)
                last, q = q, p.below()
        if held is not None:
            return SustainedQps(held[0], held[1], self.search_probes, self.confirmations)
        raise ResultsError(
            f"no Server QPS from {qps:,.4g} down to {last:,.4g} held the "
            f"{self.bound_ns / 1e6:.0f} ms p99 bound over a {self.confirm_ms / 1000:.3g} s probe",
            hint="run it on a quiet machine (other load makes the latency tail erratic), "
            "or use a smaller --batch-size",
        )

    def check(self, target_qps: float) -> SustainedQps:
        """A stored target before a valid run: one short probe (a target far over capacity shows at
        once, and its completed rate says where to go), then ``confirm``."""
        self.search_probes += 1
        p = self.probe(target_qps, self.probe_ms)
        return self.confirm(target_qps if p.passes(self.bound_ns) else p.below())
