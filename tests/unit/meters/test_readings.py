"""Samples -> joules and watts over LoadGen's window, and the run's headline (no hardware)."""

from __future__ import annotations

import numpy as np
import pytest

from crowdperf.meters.base import Channel, MeterRole
from crowdperf.meters.readings import PowerSummary, Window, read_meter, summarise
from crowdperf.meters.sampler import MeterTrace

NAN = np.nan
T0 = 1_796_000_000.0  # epoch seconds, as time.time() gives


def _trace(
    meter: str, role: MeterRole, times: list[float], power: list[list[float]], energy: list[list[float]]
) -> MeterTrace:
    width = len(power[0])
    channels = tuple(Channel(f"ch{k}", f"device {k}") for k in range(width))
    return MeterTrace(
        meter,
        role,
        tuple(c.device for c in channels),
        channels,
        T0 + np.asarray(times),
        np.asarray(power, dtype=float),
        np.asarray(energy, dtype=float),
        sample_hz=10.0,
    )


def test_energy_counter_gives_joules_interpolated_at_the_window_edges() -> None:
    # 100 W for 1 s, then 300 W: E = 0, 100, 400 J at t = 0, 1, 2 s; power readings as the board says
    trace = _trace("nvml", MeterRole.DEVICES, [0, 1, 2], [[110], [120], [290]], [[0], [100], [400]])
    r = read_meter(trace, Window(T0 + 0.5, T0 + 1.5, "test"), loadgen_samples=1000)
    assert r.joules == pytest.approx(50 + 150)  # half of each second's energy
    assert r.mean_w == pytest.approx(200.0) and r.seconds == pytest.approx(1.0)
    assert (r.min_w, r.max_w) == (120.0, 120.0)  # the one power reading inside the window
    assert r.joules_per_sample == pytest.approx(0.2) and r.samples == 1
    assert r.channels[0].energy_source == "energy counter"


def test_without_a_counter_the_power_readings_are_integrated() -> None:
    # a ramp from 100 W to 300 W over 2 s: trapezoids are exact on a ramp
    trace = _trace("nvml", MeterRole.DEVICES, [0, 1, 2], [[100], [200], [300]], [[NAN], [NAN], [NAN]])
    r = read_meter(trace, Window(T0, T0 + 2, "test"), loadgen_samples=None)
    assert r.joules == pytest.approx(400.0) and r.mean_w == pytest.approx(200.0)
    assert (r.min_w, r.max_w) == (100.0, 300.0)
    assert r.joules_per_sample is None  # LoadGen's sample count unknown: no per-sample figure
    assert r.channels[0].energy_source == "power readings"
    half = read_meter(trace, Window(T0 + 0.5, T0 + 1.5, "test"), None)  # interpolated edges
    assert half.joules == pytest.approx(200.0)


def test_counter_only_channels_take_min_and_max_from_the_intervals() -> None:
    # RAPL: energy only; 10 W, then 30 W, then 20 W over 1 s intervals
    trace = _trace("rapl", MeterRole.DEVICES, [0, 1, 2, 3], [[NAN]] * 4, [[0], [10], [40], [60]])
    r = read_meter(trace, Window(T0, T0 + 3, "test"), None)
    assert r.joules == pytest.approx(60.0) and (r.min_w, r.max_w) == (10.0, 30.0)


def test_channels_add_up_tick_by_tick() -> None:
    trace = _trace(
        "nvml",
        MeterRole.DEVICES,
        [0, 1, 2],
        [[100, 50], [300, 60], [200, 70]],
        [[0, 0], [200, 55], [450, 120]],
    )
    r = read_meter(trace, Window(T0, T0 + 2, "test"), 10)
    assert r.joules == pytest.approx(450 + 120)
    assert (r.min_w, r.max_w) == (150.0, 360.0)  # sums of the two boards at each tick
    assert [c.joules for c in r.channels] == pytest.approx([450, 120])


def test_a_window_shorter_than_a_tick_has_energy_but_no_min_max() -> None:
    trace = _trace("nvml", MeterRole.DEVICES, [0, 1], [[100], [100]], [[0], [100]])
    r = read_meter(trace, Window(T0 + 0.2, T0 + 0.3, "test"), 5)
    assert r.joules == pytest.approx(10.0) and r.min_w is None and r.max_w is None


def test_the_window_is_clipped_to_what_was_sampled() -> None:
    trace = _trace("nvml", MeterRole.DEVICES, [0, 1], [[100], [100]], [[0], [100]])
    r = read_meter(trace, Window(T0 - 5, T0 + 5, "test"), None)
    assert r.seconds == pytest.approx(1.0) and r.joules == pytest.approx(100.0)
    assert r.notes == ("window clipped by 9.000 s to the sampled span",)
    assert read_meter(trace, Window(T0 - 0.001, T0 + 1, "test"), None).notes == ()  # LoadGen's ms
    outside = read_meter(trace, Window(T0 + 7, T0 + 9, "test"), None)
    assert outside.joules is None and outside.unavailable is not None


def test_headline_is_the_devices_meters_and_never_a_partial_sum() -> None:
    gpu = _trace("nvml", MeterRole.DEVICES, [0, 1], [[400], [400]], [[0], [400]])
    host = _trace("rapl", MeterRole.HOST, [0, 1], [[NAN]], [[0], [90]])
    readings, summary = summarise([gpu, host], Window(T0, T0 + 1, "test"), 100)
    assert summary.meter == "nvml" and summary.joules == pytest.approx(400)  # host recorded beside
    assert [r.meter for r in readings] == ["nvml", "rapl"] and readings[1].joules == pytest.approx(90)

    broken = MeterTrace("nvml", MeterRole.DEVICES, ("cuda:0",), unavailable="no NVIDIA driver found")
    readings, summary = summarise([broken, host], Window(T0, T0 + 1, "test"), 100)
    assert summary.meter is None and summary.unavailable == "nvml: no NVIDIA driver found"
    assert summary.joules is None and summary.mean_w is None  # never a zero
    assert readings[1].joules == pytest.approx(90)  # what could be read is still recorded

    _, summary = summarise([host], Window(T0, T0 + 1, "test"), 100)
    assert summary.unavailable == "no meter applies to the devices of this run"


def test_two_devices_meters_combine_into_one_headline() -> None:
    a = _trace("nvml", MeterRole.DEVICES, [0, 1, 2], [[100], [300], [100]], [[0], [200], [400]])
    b = _trace("other", MeterRole.DEVICES, [0, 1, 2], [[NAN]] * 3, [[0], [50], [150]])
    _, summary = summarise([a, b], Window(T0, T0 + 2, "test"), 2)
    assert summary.meter == "nvml+other" and summary.joules == pytest.approx(550)
    assert (summary.min_w, summary.max_w) == (200.0, 350.0) and summary.joules_per_sample == 275


def test_no_window_from_loadgen_falls_back_to_the_sampled_span() -> None:
    trace = _trace("nvml", MeterRole.DEVICES, [0, 2], [[50], [50]], [[0], [100]])
    _, summary = summarise([trace], None, 10)
    assert summary.mean_w == pytest.approx(50.0)


def test_summary_text_says_the_meter_or_why_there_is_none() -> None:
    assert PowerSummary("nvml", 412.3, 380.0, 430.0, 41.2, 0.109).text() == (
        "412 W, 0.109 J/sample (nvml; min 380 W, max 430 W)"
    )
    assert (
        PowerSummary(None, unavailable="rapl: no powercap").text() == "power: unavailable (rapl: no powercap)"
    )


def _stepped_trace(
    seconds: float, hz: float = 20.0, update_s: float = 0.1, watts: float = 700.0
) -> MeterTrace:
    """An H200's NVML as measured: sampled at 20 Hz, its energy counter steps every 0.1 s."""
    times = np.arange(0, seconds, 1 / hz)
    energy = np.floor(times / update_s) * update_s * watts  # the value held since the last step
    return _trace("nvml", MeterRole.DEVICES, list(times), [[NAN]] * len(times), [[e] for e in energy])


def test_a_window_too_short_for_the_meters_steps_is_unavailable_not_a_number() -> None:
    trace = _stepped_trace(10.0)
    short = read_meter(trace, Window(T0 + 1.0, T0 + 1.2, "test"), 600)  # a GPU's test-mode Server run
    assert short.unavailable is not None and short.joules is None
    assert "too short for nvml" in short.unavailable and "0.1 s" in short.unavailable
    long = read_meter(trace, Window(T0 + 1.0, T0 + 4.0, "test"), 600)  # 3 s: within 10 %
    assert long.unavailable is None and long.mean_w == pytest.approx(700.0, rel=0.1)
    # a meter that changes at every tick (RAPL) is fresh at each tick: short windows are fine
    fresh = _stepped_trace(10.0, update_s=0.05, watts=30.0)
    assert read_meter(fresh, Window(T0 + 1.0, T0 + 1.2, "test"), 600).unavailable is None
