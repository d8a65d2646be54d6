"""The Server search's decisions (server_search.py) on a scripted system: LoadGen's detail-log
values per probe, from a model of a device of known capacity. The search against the real
LoadGen and a paced workload is in test_find_performance.py."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from crowdperf.mlperf.logs import DetailLog
from crowdperf.mlperf.rounds import Scenario
from crowdperf.mlperf.server_search import ServerSearch

BOUND_NS = 130_000_000


@dataclass
class ScriptedSystem:
    """A device that completes ``capacity`` samples/s flat out and answers in 30 ms below it (the H200's p50).
    ``stall_over``: the first probe over that target stalls (a kernel compiled inside it) and
    completes only ``stalled_qps``, as the H200 did at Server batch 512 (session 10, call 7)."""

    capacity: float
    stall_over: float = float("inf")
    stalled_qps: float = 0.0
    targets: list[float] = field(default_factory=list)

    def probe(self, scenario: Scenario, **fields: Any) -> DetailLog:
        assert scenario is Scenario.SERVER
        q, seconds = float(fields["server_target_qps"]), fields["min_duration_ms"] / 1000
        self.targets.append(q)
        n = max(2, int(q * seconds))
        scheduled_s = (n - 1) / q  # the last query's scheduled time
        rate = self.capacity
        if q > self.stall_over and self.stalled_qps:
            rate, self.stalled_qps = self.stalled_qps, 0.0
        # under capacity the last answer comes one latency (30 ms) after the last query; over
        # it, when the device has worked through the backlog
        done_s = max(scheduled_s, (n - 1) / rate) + 0.03
        done = (n - 1) / done_s
        p99 = 30e6 + ((n - 1) / rate - scheduled_s) * 1e9 if rate < q else 30e6
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
    assert 0.9 * 7_000 <= got.qps <= 7_000


def test_a_stalled_probe_does_not_pull_the_ceiling_under_what_a_pass_completed() -> None:
    """The first probe (7,102) passes, completing 6,698/s (the H200's completed 6,648); the next
    (14,204) stalls and completes 4,340/s. The ceiling is what the system showed it completes,
    not the stalled probe's rate (the search confirmed ~4,200 before)."""
    system = ScriptedSystem(capacity=7_700, stall_over=10_000, stalled_qps=4_340)
    got = _search(system).highest(offline_qps=7_891)
    assert got.qps >= 0.85 * 7_700, (got.qps, system.targets)
    assert got.qps <= 7_700
