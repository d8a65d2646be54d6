"""``power.json`` and ``power_samples.csv`` in a run directory.

The names say what they are and cannot be mistaken for MLPerf's power log (``spl.txt``, written
by SPEC PTDaemon from a wall-power analyser, the only power MLPerf's checker accepts). Schema
``crowdperf.power/1``:

    schema, note
    summary          PowerSummary: meter, mean_w, min_w, max_w, joules, joules_per_sample,
                     unavailable (the reason, when there are no figures)
    window           begin, end (epoch s, UTC), source, seconds; null when nothing was sampled
    loadgen_samples  LoadGen's sample count of the run (result_query_count x
                     generated_samples_per_query)
    meters           every meter that applied: MeterReading (meter, role, devices, samples,
                     sample_hz, seconds, joules, mean/min/max W, joules_per_sample, channels,
                     notes, unavailable)
    samples_file     "power_samples.csv" (one row per tick: utc_s, then W and J per channel)
"""

from __future__ import annotations

import csv
import json
import math
from collections.abc import Sequence
from dataclasses import asdict, dataclass, fields
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from crowdperf.errors import ResultsError
from crowdperf.meters.readings import MeterReading, PowerSummary, Window
from crowdperf.meters.sampler import MeterTrace

POWER_SCHEMA = "crowdperf.power/1"
POWER_JSON = "power.json"
POWER_SAMPLES = "power_samples.csv"
SOFTWARE_METER_NOTE = (
    "software meters (GPU boards through NVML, CPU packages and DRAM through RAPL) over LoadGen's "
    "power_begin..power_end window; not MLPerf power, which is the system's wall power logged by "
    "SPEC PTDaemon (spl.txt)"
)


@dataclass(frozen=True)
class PowerRecord:
    summary: PowerSummary
    meters: tuple[MeterReading, ...]
    window: Window | None
    loadgen_samples: int | None
    samples_file: str | None
    schema: str = POWER_SCHEMA
    note: str = SOFTWARE_METER_NOTE

    def to_json(self) -> dict[str, Any]:
        data = asdict(self)
        if self.window is not None:
            w = self.window
            data["window"].update(seconds=w.seconds, begin_utc=_utc(w.begin), end_utc=_utc(w.end))
        return {"schema": data.pop("schema"), **data}

    def write(self, directory: Path) -> Path:
        path = directory / POWER_JSON
        path.write_text(json.dumps(self.to_json(), indent=2) + "\n")
        return path


def _utc(epoch: float) -> str:
    return datetime.fromtimestamp(epoch, UTC).isoformat(timespec="milliseconds")


def write_samples(directory: Path, traces: Sequence[MeterTrace]) -> str | None:
    """The raw ticks of every meter that read, as CSV; the file's name, or None without data."""
    live = [t for t in traces if t.unavailable is None and t.times.size]
    if not live:
        return None
    times = live[0].times
    live = [t for t in live if t.times.size == times.size]  # one sampler: every meter ticks together
    header = ["utc_s"]
    for t in live:
        for c in t.channels:
            header += [f"{t.meter}:{c.label}:W", f"{t.meter}:{c.label}:J"]
    with (directory / POWER_SAMPLES).open("w", newline="") as fh:
        out = csv.writer(fh)
        out.writerow(header)
        for i, now in enumerate(times):
            row = [f"{now:.6f}"]
            for t in live:
                for k in range(len(t.channels)):
                    row += [_cell(t.power_w[i, k]), _cell(t.energy_j[i, k])]
            out.writerow(row)
    return POWER_SAMPLES


def _cell(value: float) -> str:
    return "" if math.isnan(value) else f"{value:.6g}"


def read_power_summary(directory: Path) -> PowerSummary | None:
    """The headline a run directory's ``power.json`` records; None when it has none (accuracy
    runs, runs made before power was measured); ResultsError when it is not ours or is corrupt."""
    path = directory / POWER_JSON
    if not path.is_file():
        return None
    try:
        data = json.loads(path.read_text())
    except (OSError, json.JSONDecodeError) as exc:
        raise ResultsError(f"{path} is not readable JSON: {exc}") from exc
    if not isinstance(data, dict) or data.get("schema") != POWER_SCHEMA:
        raise ResultsError(f"{path} is not a {POWER_SCHEMA} record")
    return summary_from_json(data.get("summary"), path)


def summary_from_json(raw: object, where: Path | str) -> PowerSummary:
    """A ``PowerSummary`` from its JSON form; ResultsError on a wrong field or type."""
    if not isinstance(raw, dict):
        raise ResultsError(f"{where}: power summary is not an object")
    values: dict[str, Any] = {}
    for f in fields(PowerSummary):
        value = raw.get(f.name)
        values[f.name] = value if f.name in _TEXT_FIELDS else _number(value, f.name, where)
        if f.name in _TEXT_FIELDS and not (value is None or isinstance(value, str)):
            raise ResultsError(f"{where}: power summary field {f.name!r} is {value!r}")
    summary = PowerSummary(**values)
    if (summary.meter is None) == (summary.unavailable is None) or (summary.meter and summary.mean_w is None):
        raise ResultsError(f"{where}: a power summary names its meter and figures, or why it has none")
    return summary


_TEXT_FIELDS = ("meter", "unavailable")


def _number(value: object, name: str, where: Path | str) -> float | None:
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int | float) or not math.isfinite(value) or value < 0:
        raise ResultsError(f"{where}: power summary field {name!r} is {value!r}")
    return float(value)
