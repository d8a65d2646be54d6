"""bench/power_overhead.py runs (briefly: the no-op workload, one pair of short runs)."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

BENCH = Path(__file__).resolve().parents[3] / "bench" / "power_overhead.py"


def test_overhead_bench_prints_the_ratio_and_the_sampler_cost() -> None:
    out = subprocess.run(
        [sys.executable, str(BENCH), "--workload", "noop", "--pairs", "1", "--seconds", "0.2"],
        capture_output=True, text=True, timeout=300,
    )  # fmt: skip
    assert out.returncode == 0, out.stderr
    assert "median ratio with/without sampling: " in out.stdout
    assert "us per tick x 20 Hz" in out.stdout and "goal < 1 % loss: " in out.stdout
