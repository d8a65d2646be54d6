"""Sample every open meter in a background thread around LoadGen's timed window.

One tick reads every meter at one wall-clock time (``time.time()``: LoadGen stamps its window,
``power_begin``/``power_end`` in the detail log, with the system clock, so both share one time
base). A tick is taken when the sampler starts and when it stops, and every ``1 / hz`` seconds in
between; ``bench/power_overhead.py`` measures what the thread costs the benchmark.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from types import TracebackType

import numpy as np

from crowdperf.errors import CrowdperfError
from crowdperf.meters.base import Channel, MeterRole, OpenMeter, Unavailable

SAMPLE_HZ = 20.0  # >= 10 Hz; NVML's own power value is a ~1 s average on recent GPUs anyway


@dataclass(frozen=True, eq=False)
class MeterTrace:
    """The raw samples of one meter (or why it has none). Arrays: one row per tick."""

    meter: str
    role: MeterRole
    devices: tuple[str, ...]  # what the meter measures (or would have), for people
    channels: tuple[Channel, ...] = ()
    times: np.ndarray = field(default_factory=lambda: np.zeros(0))  # (ticks,) float64 s, epoch
    power_w: np.ndarray = field(default_factory=lambda: np.zeros((0, 0)))  # (ticks, channels), NaN: none
    energy_j: np.ndarray = field(default_factory=lambda: np.zeros((0, 0)))  # (ticks, channels) cumulative
    sample_hz: float = SAMPLE_HZ
    notes: tuple[str, ...] = ()
    unavailable: str | None = None


class _Series:
    """One open meter's samples as they arrive (lists: appended from the sampler thread)."""

    def __init__(self, meter: OpenMeter) -> None:
        self.meter = meter
        self.times: list[float] = []
        self.power: list[list[float]] = []
        self.energy: list[list[float]] = []
        self.failure: str | None = None

    def tick(self, now: float) -> None:
        if self.failure is not None:
            return
        try:
            values = self.meter.read()
        except (CrowdperfError, OSError, ValueError) as exc:  # a GPU lost, a sysfs file gone
            self.failure = f"stopped answering during the run: {exc}"
            return
        self.times.append(now)
        self.power.append([np.nan if v.power_w is None else v.power_w for v in values])
        self.energy.append([np.nan if v.energy_j is None else v.energy_j for v in values])

    def trace(self, hz: float) -> MeterTrace:
        m = self.meter
        devices = tuple(dict.fromkeys(c.device for c in m.channels))
        if self.failure is not None:
            return MeterTrace(m.name, m.role, devices, m.channels, notes=m.notes, unavailable=self.failure)
        width = len(m.channels)
        return MeterTrace(
            m.name,
            m.role,
            devices,
            m.channels,
            np.asarray(self.times, dtype=np.float64),
            np.asarray(self.power, dtype=np.float64).reshape(-1, width),
            np.asarray(self.energy, dtype=np.float64).reshape(-1, width),
            hz,
            m.notes,
        )


class PowerSampler:
    """``with PowerSampler(opened) as s: <timed work>``; then ``s.traces()``. Closes the meters."""

    def __init__(self, opened: Sequence[OpenMeter | Unavailable], hz: float = SAMPLE_HZ) -> None:
        self.hz = hz
        self._unavailable = [u for u in opened if isinstance(u, Unavailable)]
        self._series = [_Series(m) for m in opened if isinstance(m, OpenMeter)]
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def _tick(self) -> None:
        now = time.time()
        for s in self._series:
            s.tick(now)

    def _loop(self) -> None:
        period = 1.0 / self.hz
        while not self._stop.wait(period):
            self._tick()

    def __enter__(self) -> PowerSampler:
        self._tick()
        if self._series:
            self._thread = threading.Thread(target=self._loop, name="crowdperf-power", daemon=True)
            self._thread.start()
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join()
        self._tick()
        for s in self._series:
            s.meter.close()

    def traces(self) -> tuple[MeterTrace, ...]:
        """The open meters' traces, then a trace per unavailable meter carrying its reason."""
        done = [s.trace(self.hz) for s in self._series]
        done += [MeterTrace(u.meter, u.role, u.devices, unavailable=u.reason) for u in self._unavailable]
        return tuple(done)
