"""The sampling thread: ticks at start, stop and in between; a meter failing mid-run; closing."""

from __future__ import annotations

import time

import numpy as np
import pytest

from crowdperf.errors import DeviceError
from crowdperf.meters.base import Channel, ChannelValue, MeterRole, OpenMeter, Unavailable
from crowdperf.meters.readings import summarise
from crowdperf.meters.sampler import PowerSampler


class SteadyBoard(OpenMeter):
    """A board drawing ``watts`` exactly: energy from the wall clock, failing after ``fail_after`` reads."""

    name = "steady"
    role = MeterRole.DEVICES

    def __init__(self, watts: float, fail_after: int | None = None) -> None:
        self.channels = (Channel("b0", "board 0"),)
        self.watts, self.fail_after = watts, fail_after
        self.start, self.reads, self.closed = time.time(), 0, False

    def read(self) -> tuple[ChannelValue, ...]:
        self.reads += 1
        if self.fail_after is not None and self.reads > self.fail_after:
            raise DeviceError("NVML stopped answering: GPU is lost")
        return (ChannelValue(self.watts, self.watts * (time.time() - self.start)),)

    def close(self) -> None:
        self.closed = True


def test_samples_at_the_rate_from_start_to_stop() -> None:
    board = SteadyBoard(7.0)
    begin = time.time()
    with PowerSampler([board], hz=20) as sampler:
        time.sleep(0.5)
    end = time.time()
    (trace,) = sampler.traces()
    assert board.closed and trace.unavailable is None
    assert begin <= trace.times[0] and trace.times[-1] <= end  # a tick at each end of the window
    assert 4 <= trace.times.size <= 13  # ~11 at 20 Hz; a loaded machine delays ticks, never adds
    assert np.all(np.diff(trace.times) > 0)
    (reading,), summary = summarise([trace], None, 35)
    assert reading.mean_w == pytest.approx(7.0, rel=1e-3)  # read a few us after its tick's time
    assert summary.joules_per_sample == pytest.approx(reading.joules / 35)


def test_a_meter_that_stops_answering_is_unavailable_not_a_short_figure() -> None:
    with PowerSampler([SteadyBoard(7.0, fail_after=2)], hz=50) as sampler:
        time.sleep(0.2)
    (trace,) = sampler.traces()
    assert trace.unavailable == "stopped answering during the run: NVML stopped answering: GPU is lost"
    _, summary = summarise([trace], None, 10)
    assert summary.unavailable is not None and summary.joules is None


def test_unavailable_meters_pass_through_and_no_thread_without_a_live_meter() -> None:
    absent = Unavailable("rapl", MeterRole.DEVICES, "no /sys/class/powercap", ("cpu EPYC",))
    with PowerSampler([absent]) as sampler:
        assert sampler._thread is None  # nothing to read: nothing runs beside the benchmark
    (trace,) = sampler.traces()
    assert (trace.meter, trace.unavailable, trace.devices) == (
        "rapl",
        "no /sys/class/powercap",
        ("cpu EPYC",),
    )
    with PowerSampler([]) as nothing:
        pass
    assert nothing.traces() == ()
