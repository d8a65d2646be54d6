"""Can the harness feed N devices? Simulated GPUs through the real LoadGen and our SUT, 1 vs N.

Each simulated device answers a batch of n samples in ``fixed + n / rate`` seconds of sleep (the
GIL released, as a GPU's kernels and copies release it), so the only work the host does is what
the real harness does: LoadGen's issue path, batching, gathering rows and completing samples.
With ``--rate 10000`` one device is an H200 on our fastest path's goal (issue 10); eight of them
need the host to move 80,000 samples/s. Prints samples/s (Offline) and the highest passing QPS
(Server, p99 <= the bound) for 1 and N devices, and the ratio (goal: >= 7.6x for 8, issue 16).

    python bench/device_scaling_sim.py [--devices 8] [--rate 10000] [--fixed-ms 2] \\
        [--offline-batch 1024] [--server-batch 64] [--seconds 4]
"""

from __future__ import annotations

import argparse
import tempfile
import time
from collections.abc import Sequence
from pathlib import Path

import numpy as np

from crowdperf.mlperf.rounds import Scenario
from crowdperf.mlperf.synthetic_workload import SyntheticSource, expected_rows
from lg_bench import run_test

QSL_SIZE = 10833
SERVER_BOUND_NS = 130_000_000  # BERT's Server p99 bound (mlperf.conf)


class PacedDevices(SyntheticSource):
    """``replicas`` simulated devices, each ``fixed + n / rate`` seconds a batch."""

    def __init__(self, replicas: int, rate: float, fixed_s: float) -> None:
        super().__init__(expected_rows(QSL_SIZE, 1), replicas=replicas)
        self.rate, self.fixed_s = rate, fixed_s

    def infer(self, indices: Sequence[int], replica: int = 0) -> np.ndarray:
        time.sleep(self.fixed_s + len(indices) / self.rate)
        return super().infer(indices, replica)


def offline(devices: int, a: argparse.Namespace, work: Path) -> tuple[float, list[int]]:
    src = PacedDevices(devices, a.rate, a.fixed_ms / 1000)
    expected = min(devices * a.rate, 300_000.0)  # LoadGen builds one query of 1.1 x this x seconds
    log = run_test(
        Scenario.OFFLINE, src, work / f"offline-{devices}", batch=a.offline_batch, seconds=a.seconds,
        offline_expected_qps=expected, min_query_count=1,
    )  # fmt: skip
    return float(log["result_samples_per_second"]), list(src.answered)


def server_passes(devices: int, qps: float, a: argparse.Namespace, work: Path) -> tuple[bool, float]:
    src = PacedDevices(devices, a.rate, a.fixed_ms / 1000)
    log = run_test(
        Scenario.SERVER, src, work / f"server-{devices}-{qps:.0f}", batch=a.server_batch, seconds=a.seconds,
        server_target_qps=qps, server_target_latency_ns=SERVER_BOUND_NS, min_query_count=100,
    )  # fmt: skip
    p99 = float(log["result_99.00_percentile_latency_ns"])
    done = float(log["result_completed_samples_per_sec"])
    return p99 <= SERVER_BOUND_NS and done >= 0.95 * qps, p99 / 1e6


def server(devices: int, a: argparse.Namespace, work: Path) -> float:
    """The highest QPS (a ladder of fractions of the devices' capacity) that passes."""
    best = 0.0
    for fraction in (0.5, 0.6, 0.7, 0.8, 0.85, 0.9):
        qps = fraction * devices * a.rate
        ok, p99 = server_passes(devices, qps, a, work)
        print(f"  Server {devices} device(s) at {qps:>9,.0f} QPS: p99 {p99:7.1f} ms {'ok' if ok else 'FAIL'}")
        if not ok:
            break
        best = qps
    return best


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--devices", type=int, default=8)
    ap.add_argument("--rate", type=float, default=10_000.0, help="samples/s of one simulated device")
    ap.add_argument("--fixed-ms", type=float, default=2.0, help="fixed cost of one batch")
    ap.add_argument("--offline-batch", type=int, default=1024)
    ap.add_argument("--server-batch", type=int, default=64)
    ap.add_argument("--seconds", type=float, default=4.0)
    ap.add_argument("--scenarios", default="Offline,Server")
    a = ap.parse_args()
    work = Path(tempfile.mkdtemp(prefix="crowdperf-scaling-"))
    rows = []
    if "Offline" in a.scenarios:
        one, _ = offline(1, a, work)
        many, shares = offline(a.devices, a, work)
        rows.append(("Offline samples/s", one, many))
        print(f"Offline: {one:,.0f} -> {many:,.0f} samples/s; samples per device {shares}")
    if "Server" in a.scenarios:
        rows.append(("Server QPS (p99 <= 130 ms)", server(1, a, work), server(a.devices, a, work)))
    goal = f"ratio (goal >= {0.95 * a.devices:.1f}x)"
    print(f"\n{'metric':<28}{'1 device':>14}{f'{a.devices} devices':>14}   {goal}")
    for name, one, many in rows:
        print(f"{name:<28}{one:>14,.0f}{many:>14,.0f}   {many / one if one else float('nan'):5.2f}x")


if __name__ == "__main__":
    main()
