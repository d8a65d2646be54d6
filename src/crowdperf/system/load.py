"""How busy this machine is right now, in the two ways a user knows: the share of its CPU time that
other processes take (sampled over a short window while crowdperf itself is idle) and the 1-minute
load average. A target measured while other jobs ran is too low for the quiet machine, and a
valid run measured while they run is not this system's result: the harness says so (mlperf/
target_check.py, find-performance)."""

from __future__ import annotations

import os
from dataclasses import dataclass

import psutil

SAMPLE_S = 0.5  # long enough to average a scheduler tick or two, short enough to be free
BUSY_PERCENT = 25.0  # above this, other processes take a share a benchmark notices


@dataclass(frozen=True)
class MachineLoad:
    busy_percent: float  # CPU time used by everything else during the sample, % of all CPUs
    load_average: float  # 1-minute load average (runnable processes)
    cpus: int  # logical CPUs

    @property
    def busy(self) -> bool:
        return self.busy_percent >= BUSY_PERCENT

    def describe(self) -> str:
        return f"{self.busy_percent:.0f}% of its {self.cpus} CPUs busy, load average {self.load_average:.1f}"


def machine_load(sample_s: float = SAMPLE_S) -> MachineLoad:
    """Sample now; call it while this process does nothing else (its own time counts as busy)."""
    busy = float(psutil.cpu_percent(interval=sample_s))
    try:
        load = os.getloadavg()[0]
    except OSError:  # not available on this platform
        load = 0.0
    return MachineLoad(busy, load, psutil.cpu_count(logical=True) or 1)
