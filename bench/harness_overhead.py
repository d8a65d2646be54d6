"""Harness overhead: a no-op workload through the real LoadGen and our SUT layer.

Offline: samples/s when inference costs nothing. Server: the highest target QPS whose p99 latency
stays under 1 ms (so the harness adds < 1 ms) while completing as scheduled. Goal on 2 cores:
Offline >= 100,000 samples/s, Server >= 20,000 QPS.

    python bench/harness_overhead.py [--batch-size N] [--seconds S]
"""

from __future__ import annotations

import argparse
import tempfile
from pathlib import Path

from crowdperf.mlperf.rounds import Scenario
from crowdperf.mlperf.sut import DEFAULT_SERVER_MAX_WAIT_MS, default_batch_size
from crowdperf.mlperf.synthetic_workload import SyntheticSource, expected_rows
from lg_bench import run_test

QSL_SIZE = 10833
P99_BOUND_NS = 1_000_000
MAX_WAIT_MS = DEFAULT_SERVER_MAX_WAIT_MS


def run_once(
    scenario: Scenario, source: SyntheticSource, out: Path, batch: int | None, seconds: float, **fields: float
) -> dict:
    batch_size = default_batch_size(scenario, batch, source)
    log = run_test(
        scenario, source, out, batch=batch_size, seconds=seconds, max_wait_ms=MAX_WAIT_MS, **fields
    )
    return log.values


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--batch-size", type=int, default=None, help="default: the SUT's per-scenario default")
    ap.add_argument("--seconds", type=float, default=3.0)
    ap.add_argument(
        "--max-wait-ms", type=float, default=DEFAULT_SERVER_MAX_WAIT_MS, help="Server batching deadline"
    )
    args = ap.parse_args()
    global MAX_WAIT_MS
    MAX_WAIT_MS = args.max_wait_ms
    source = SyntheticSource(expected_rows(QSL_SIZE, 1))
    work = Path(tempfile.mkdtemp(prefix="crowdperf-bench-"))

    v = run_once(
        Scenario.OFFLINE,
        source,
        work / "offline",
        args.batch_size,
        args.seconds,
        offline_expected_qps=300_000,
    )
    offline = float(v["result_samples_per_second"])
    batch = default_batch_size(Scenario.OFFLINE, args.batch_size, source)
    print(f"Offline: {offline:,.0f} samples/s (batch {batch})")

    best = 0.0
    for qps in (5_000, 10_000, 20_000, 30_000, 40_000, 60_000, 80_000):
        v = run_once(
            Scenario.SERVER, source, work / f"server_{qps}", args.batch_size, args.seconds,
            server_target_qps=qps, server_target_latency_ns=P99_BOUND_NS,
        )  # fmt: skip
        p99 = float(v["result_99.00_percentile_latency_ns"])
        done = float(v["result_completed_samples_per_sec"])
        ok = p99 <= P99_BOUND_NS and done >= 0.98 * qps
        verdict = "ok" if ok else "FAIL"
        p50 = float(v["result_50.00_percentile_latency_ns"])
        p90 = float(v["result_90.00_percentile_latency_ns"])
        print(
            f"Server target {qps:>6,} QPS: completed {done:>9,.0f}/s  latency p50 {p50 / 1e6:.3f} "
            f"p90 {p90 / 1e6:.3f} p99 {p99 / 1e6:.3f} ms  {verdict}"
        )
        if ok:
            best = qps
    print(f"Server: {best:,.0f} QPS with p99 <= 1 ms")
    print(f"goal Offline >= 100,000: {'met' if offline >= 100_000 else 'NOT met'}; "
          f"Server >= 20,000: {'met' if best >= 20_000 else 'NOT met'}")  # fmt: skip


if __name__ == "__main__":
    main()
