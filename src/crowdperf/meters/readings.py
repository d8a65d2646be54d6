"""From raw samples to energy: the maths, and the frozen results every layer above reads.

Over a window ``[begin, end]`` (LoadGen's ``power_begin``/``power_end``: the test from its first
issued query to its last completion, the window MLPerf's power checker averages PTD's samples
over), per channel:

    joules   energy counter: E(end) - E(begin), E linearly interpolated between ticks;
             no counter: the trapezoid integral of the power readings, interpolated at the ends
    power    at each tick inside the window: the power reading, else the counter's
             dE/dt over the interval ending at that tick -> min and max
    mean W   joules / window seconds (the energy's average, not the readings')

A meter slower than the sampler holds each value for a while (NVML's energy counter and power
reading on an H200 change every 0.1 s, measured; RAPL's counter every ~1 ms, fresh at each tick),
so each end of the window may be off by that long: ``MAX_EDGE_ERROR`` bounds that share of the
window. A shorter window (a test-mode Server run on a GPU lasts ~0.2 s; a 0.5 s window read 555 W
from the counter where the readings said 687 W) is ``unavailable`` with the reason, never a number.

A meter's figures sum its channels tick by tick (two GPUs' boards: their sum's min and max). The
run's headline (``PowerSummary``) is the meters whose role is ``devices``; a ``host`` meter (RAPL
beside a GPU run) is recorded next to it, never folded in, so every GPU run's headline is
comparable. Joules per sample divide by LoadGen's own sample count of the run.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, replace

import numpy as np

from crowdperf.meters.base import MeterRole
from crowdperf.meters.sampler import MeterTrace

CLIP_TOLERANCE_S = 0.002  # LoadGen's window has millisecond resolution (utils.cc DateTimeStringForPower)
MAX_EDGE_ERROR = 0.1  # both ends' staleness as a share of the window (see the module docstring)


@dataclass(frozen=True)
class Window:
    begin: float  # epoch seconds (UTC)
    end: float
    source: str  # "loadgen power_begin/power_end" | "sampler start/stop"

    @property
    def seconds(self) -> float:
        return self.end - self.begin


@dataclass(frozen=True)
class ChannelReading:
    label: str
    device: str
    energy_source: str  # "energy counter" | "power readings"
    joules: float
    mean_w: float


@dataclass(frozen=True)
class MeterReading:
    """One meter over the window, or why it has no figures (``unavailable``)."""

    meter: str  # "nvml", "rapl"; the headline joins several with "+"
    role: MeterRole
    devices: tuple[str, ...]  # what each channel measures
    samples: int = 0  # meter ticks inside the window
    sample_hz: float | None = None
    seconds: float | None = None
    joules: float | None = None
    mean_w: float | None = None
    min_w: float | None = None  # None when no tick fell inside a window shorter than one period
    max_w: float | None = None
    joules_per_sample: float | None = None  # per LoadGen sample; None when the count is unknown
    channels: tuple[ChannelReading, ...] = ()
    notes: tuple[str, ...] = ()
    unavailable: str | None = None


@dataclass(frozen=True)
class PowerSummary:
    """The run's headline: what ``RunResult``, the ``crowdperf run`` table, ``--json`` and the hub
    carry. ``meter`` names where the numbers came from; ``unavailable`` says why there are none."""

    meter: str | None
    mean_w: float | None = None
    min_w: float | None = None
    max_w: float | None = None
    joules: float | None = None
    joules_per_sample: float | None = None
    unavailable: str | None = None

    def text(self, *, span: bool = True) -> str:
        """One line for people: ``412 W, 0.109 J/sample (nvml; min 380 W, max 430 W)``; without
        ``span``: ``412 W, 0.109 J/sample (nvml)``."""
        if self.unavailable is not None or self.mean_w is None:
            return f"power: unavailable ({self.unavailable})"
        per = "" if self.joules_per_sample is None else f", {_g(self.joules_per_sample)} J/sample"
        extent = "" if self.min_w is None or not span else f"; min {self.min_w:.3g} W, max {self.max_w:.3g} W"
        return f"{self.mean_w:.3g} W{per} ({self.meter}{extent})"


def _g(value: float) -> str:
    return f"{value:.3g}" if value >= 1e-3 else f"{value:.2e}"


def sampled_window(traces: Sequence[MeterTrace]) -> Window | None:
    """The sampler's own span (first to last tick): the window when LoadGen's is unknown."""
    spans = [t.times for t in traces if t.unavailable is None and t.times.size >= 2]
    if not spans:
        return None
    return Window(max(s[0] for s in spans), min(s[-1] for s in spans), "sampler start/stop")


def read_meter(trace: MeterTrace, window: Window, loadgen_samples: int | None) -> MeterReading:
    """``trace`` over ``window`` (clipped to the sampled span)."""
    base = MeterReading(trace.meter, trace.role, trace.devices, notes=trace.notes)
    if trace.unavailable is not None:
        return replace(base, unavailable=trace.unavailable)
    base = replace(base, sample_hz=trace.sample_hz)
    t = trace.times
    if t.size < 2:
        return replace(base, unavailable="fewer than 2 samples were taken")
    begin, end = max(window.begin, t[0]), min(window.end, t[-1])
    if end <= begin:
        return replace(base, unavailable="the sampled span does not overlap LoadGen's window")
    short = _too_short(trace, begin, end)
    if short is not None:
        return replace(base, unavailable=short)
    clipped = window.seconds - (end - begin)
    if clipped > CLIP_TOLERANCE_S:  # the sampler brackets the test: only a clock step gets here
        base = replace(base, notes=(*base.notes, f"window clipped by {clipped:.3f} s to the sampled span"))
    channels = tuple(_channel(trace, k, begin, end) for k in range(len(trace.channels)))
    total_w = _tick_watts(trace).sum(axis=1)  # (ticks,): NaN where any channel has no value
    inside = total_w[(t >= begin) & (t <= end) & np.isfinite(total_w)]
    joules = float(sum(c.joules for c in channels))
    seconds = float(end - begin)
    return replace(
        base,
        samples=int(((t >= begin) & (t <= end)).sum()),
        seconds=seconds,
        joules=joules,
        mean_w=joules / seconds,
        min_w=float(inside.min()) if inside.size else None,
        max_w=float(inside.max()) if inside.size else None,
        joules_per_sample=joules / loadgen_samples if loadgen_samples else None,
        channels=channels,
    )


def _too_short(trace: MeterTrace, begin: float, end: float) -> str | None:
    """Why ``[begin, end]`` is too short for some channel's update interval, or None. A channel
    whose value changes at (nearly) every tick is fresh at each tick; one that changes every n-th
    tick is stale by up to its update interval at each end of the window."""
    tick = float(np.median(np.diff(trace.times)))
    for k in range(len(trace.channels)):
        values = trace.energy_j[:, k] if np.isfinite(trace.energy_j[:, k]).all() else trace.power_w[:, k]
        changed = trace.times[np.flatnonzero(np.diff(values) != 0) + 1]  # when a new value appeared
        if changed.size < 2:
            continue
        every = float(np.median(np.diff(changed)))
        if every > 1.5 * tick and 2 * every > MAX_EDGE_ERROR * (end - begin):
            return (
                f"the timed window ({end - begin:.2g} s) is too short for {trace.meter}, whose values "
                f"change every ~{every:.2g} s: at least {2 * every / MAX_EDGE_ERROR:.2g} s is needed "
                "for a figure within 10 %; a longer run measures it"
            )
    return None


def _channel(trace: MeterTrace, k: int, begin: float, end: float) -> ChannelReading:
    t, energy, power = trace.times, trace.energy_j[:, k], trace.power_w[:, k]
    if np.isfinite(energy).all():
        e_begin, e_end = np.interp([begin, end], t, energy)
        joules, source = float(e_end - e_begin), "energy counter"
    else:  # finite power readings (a meter with neither is unavailable at open)
        grid = np.concatenate(([begin], t[(t > begin) & (t < end)], [end]))
        watts = np.interp(grid, t, power)
        joules, source = float(np.sum((watts[1:] + watts[:-1]) / 2 * np.diff(grid))), "power readings"
    c = trace.channels[k]
    return ChannelReading(c.label, c.device, source, joules, joules / (end - begin))


def _tick_watts(trace: MeterTrace) -> np.ndarray:
    """(ticks, channels) W: the power reading where there is one, else the energy counter's
    average over the interval ending at the tick (NaN at the first tick)."""
    t, power, energy = trace.times, trace.power_w, trace.energy_j
    derived = np.full_like(energy, np.nan)
    dt = np.diff(t)[:, None]
    with np.errstate(divide="ignore", invalid="ignore"):
        derived[1:] = np.where(dt > 0, np.diff(energy, axis=0) / dt, np.nan)
    return np.where(np.isfinite(power), power, derived)


def summarise(
    traces: Sequence[MeterTrace], window: Window | None, loadgen_samples: int | None
) -> tuple[tuple[MeterReading, ...], PowerSummary]:
    """Every meter's reading over ``window`` (None: the sampled span) and the run's headline."""
    window = window or sampled_window(traces)
    if window is None:
        readings = tuple(_unread(t) for t in traces)
    else:
        readings = tuple(read_meter(t, window, loadgen_samples) for t in traces)
    return readings, _headline(traces, readings, window, loadgen_samples)


def _unread(trace: MeterTrace) -> MeterReading:
    reason = trace.unavailable or "fewer than 2 samples were taken"
    return MeterReading(trace.meter, trace.role, trace.devices, notes=trace.notes, unavailable=reason)


def _headline(
    traces: Sequence[MeterTrace],
    readings: Sequence[MeterReading],
    window: Window | None,
    loadgen_samples: int | None,
) -> PowerSummary:
    """From the ``devices`` meters; unavailable when none applies or one of them could not read
    (a partial sum would pass for the whole)."""
    picked = [(t, r) for t, r in zip(traces, readings, strict=True) if r.role is MeterRole.DEVICES]
    if not picked:
        return PowerSummary(None, unavailable="no meter applies to the devices of this run")
    broken = [r for _, r in picked if r.unavailable is not None]
    if broken:
        return PowerSummary(None, unavailable="; ".join(f"{r.meter}: {r.unavailable}" for r in broken))
    r = picked[0][1]
    if len(picked) > 1 and window is not None:  # one sampler: every trace has the same ticks
        r = read_meter(_combined([t for t, _ in picked]), window, loadgen_samples)
    return PowerSummary(r.meter, r.mean_w, r.min_w, r.max_w, r.joules, r.joules_per_sample)


def _combined(traces: Sequence[MeterTrace]) -> MeterTrace:
    first = traces[0]
    return MeterTrace(
        "+".join(t.meter for t in traces),
        MeterRole.DEVICES,
        tuple(d for t in traces for d in t.devices),
        tuple(c for t in traces for c in t.channels),
        first.times,
        np.hstack([t.power_w for t in traces]),
        np.hstack([t.energy_j for t in traces]),
        first.sample_hz,
    )
