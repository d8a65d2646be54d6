"""The Server search's decisions (server_search.py) on a scripted system: LoadGen's detail-log
values per probe, from a model of a device of known capacity. The search against the real
LoadGen and a paced workload is in test_find_performance.py."""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from crowdperf.mlperf.logs import DetailLog
from crowdperf.mlperf.rounds import Scenario
from crowdperf.mlperf.server_search import DETECTABLE_OVERLOAD, ServerSearch

BOUND_NS = 130_000_000
# what a confirmation probe can pass: up to 4 % over capacity (a valid run's 0.95 margin covers it)
OVER = 1 + DETECTABLE_OVERLOAD


@dataclass
class ScriptedSystem:
    """A device that completes ``capacity`` samples/s flat out and answers in 30 ms below it (the H200's p50).
    ``stall_over``: the first probe over that target stalls (a kernel compiled inside it) and
    completes only ``stalled_qps``, as the H200 did at Server batch 512 (session 10, call 7)."""

    capacity: float
    stall_over: float = float("inf")
    stalled_qps: float = 0.0
    slow_probes: int = 0  # the first probes complete only ``slow_qps``
    slow_qps: float = 0.0
    latency_limit: float = float("inf")  # from this target on, p99 is over the bound anyway
    targets: list[float] = field(default_factory=list)

    def probe(self, scenario: Scenario, **fields: Any) -> DetailLog:
        assert scenario is Scenario.SERVER
        q, seconds = float(fields["server_target_qps"]), fields["min_duration_ms"] / 1000
        self.targets.append(q)
        n = max(2, int(q * seconds))
        scheduled_s = (n - 1) / q  # the last query's scheduled time
        rate = self.slow_qps if len(self.targets) <= self.slow_probes else self.capacity
        if q > self.stall_over and self.stalled_qps:
            rate, self.stalled_qps = self.stalled_qps, 0.0
        # under capacity the last answer comes one latency (30 ms) after the last query; over
        # it, when the device has worked through the backlog
        done_s = max(scheduled_s, (n - 1) / rate) + 0.03
        done = (n - 1) / done_s
        p99 = 30e6 + ((n - 1) / rate - scheduled_s) * 1e9 if rate < q else 30e6
        if q >= self.latency_limit:
            p99 = 2 * BOUND_NS
        values = {
            "effective_target_qps": q,
            "result_query_count": n,
            "result_scheduled_samples_per_sec": q,
            "result_completed_samples_per_sec": done,
            "result_99.00_percentile_latency_ns": p99,
        }
        return DetailLog(Path("scripted"), values)


def _search(system: ScriptedSystem) -> ServerSearch:
    return ServerSearch(system, BOUND_NS, probe_ms=500)  # type: ignore[arg-type]


def test_the_search_finds_just_under_capacity() -> None:
    system = ScriptedSystem(capacity=7_000)
    got = _search(system).highest(offline_qps=7_900)
    assert 0.9 * 7_000 <= got.qps <= OVER * 7_000


def test_a_stalled_probe_does_not_pull_the_ceiling_under_what_a_pass_completed() -> None:
    """The first probe (7,102) passes, completing 6,698/s (the H200's completed 6,648); the next
    (14,204) stalls and completes 4,340/s. The ceiling is what the system showed it completes,
    not the stalled probe's rate (the search confirmed ~4,200 before)."""
    system = ScriptedSystem(capacity=7_700, stall_over=10_000, stalled_qps=4_340)
    got = _search(system).highest(offline_qps=7_891)
    assert 0.85 * 7_700 <= got.qps <= OVER * 7_700, (got.qps, system.targets)


def test_a_slow_start_does_not_cap_the_answer_under_a_confirmed_higher_qps() -> None:
    """The first two probes run slow (as on an H200 with fresh caches: 7,058 passed completing
    6,448/s, 14,116 completed 6,084/s, and the search confirmed 6,448 where the next start found
    7,287): the ceiling they give is confirmed, then the search steps up towards the short pass
    above it while longer probes hold the bound."""
    system = ScriptedSystem(capacity=7_300, slow_probes=2, slow_qps=6_400)
    search = _search(system)
    got = search.highest(offline_qps=7_840)
    assert 0.95 * 7_300 <= got.qps <= OVER * 7_300, (got.qps, system.targets)
    assert got.confirmations >= 2  # it stepped up from the slow probes' ceiling


def test_steps_up_never_reach_a_target_a_short_probe_failed() -> None:
    """Latency alone fails short probes at 7,000 (a device whose tail is long there, whatever its
    throughput): the confirmations step up from the candidate but stay under 7,000."""
    system = ScriptedSystem(capacity=7_600, latency_limit=7_000)
    got = _search(system).highest(offline_qps=7_000)
    assert got.qps < 7_000 and all(t < 7_000 for t in system.targets[-got.confirmations :]), system.targets


def test_stepping_up_stops_at_the_first_failure_and_keeps_the_last_that_held() -> None:
    """A short pass far over capacity (0.5 s hides 25 %) above a ceiling at capacity: one step
    up fails over the confirmation's length, and the ceiling stands."""
    system = ScriptedSystem(capacity=6_800, slow_probes=1, slow_qps=6_000)
    got = _search(system).highest(offline_qps=8_000)
    assert 0.9 * 6_800 <= got.qps <= OVER * 6_800, (got.qps, system.targets)
    assert got.confirmations <= 4 and system.targets[-1] > OVER * 6_800  # the step that failed


def test_after_stepping_down_it_never_steps_back_up_to_a_failed_confirmation() -> None:
    """6,975 is 4.1 % over the device's 6,700 and fails its confirmation; the step down (0.95 x
    its completed 6,641) holds, and so does the step up to 6,641; the next step (6,991) would pass
    6,975 again, where a probe can only fail once more: the search stops there."""
    system = ScriptedSystem(capacity=6_700)
    got = _search(system).confirm(6_975, below=math.inf)
    assert system.targets[0] == 6_975 and all(t < 6_975 for t in system.targets[1:]), system.targets
    assert 0.95 * 6_700 <= got.qps <= OVER * 6_700
