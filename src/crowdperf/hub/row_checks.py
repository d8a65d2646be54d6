"""What may enter the ``results`` table: every number finite and in a plausible range, every text
free of NUL characters and within its column's length. A row that breaks a rule is not stored:
the importer records it as an import failure whose reason names the file the value came from.

    check_row(row, files)      # raises ResultsError("closed/acme/.../accuracy/accuracy.txt: ...")

Why each rule: a stored ``Infinity`` made every read endpoint answer 500 (JSON has no Infinity) and
broke the chart; PostgreSQL refuses NUL in text and numbers past its column types, which aborted a
whole batch; SQLite truncates text at a NUL when it is read back. Ranges are wide (every MLPerf
Inference model and system class fits) but finite, so derived numbers (cost, energy) stay finite
too: cost divides by throughput, hence its lower bound. A power figure names its meter
(``power_meter``): a GPU board's watts are not a system's at the wall (hub/power_meters.py).
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from sqlalchemy import String

from crowdperf.errors import ResultsError
from crowdperf.hub.models import Result


@dataclass(frozen=True)
class Bounds:
    low: float
    high: float
    what: str  # unit or meaning, for the message

    def holds(self, value: float) -> bool:
        return math.isfinite(value) and self.low <= value <= self.high


SAMPLES_PER_S = Bounds(1e-6, 1e9, "samples/s")
MILLISECONDS = Bounds(1e-9, 1e8, "ms")  # up to ~28 hours per query
PERCENT = Bounds(0.0, 100.0, "percent")
NUMBER_BOUNDS: dict[str, Bounds] = {
    "throughput": SAMPLES_PER_S,
    "throughput_per_accelerator": SAMPLES_PER_S,
    "latency_ms": MILLISECONDS,
    "latency_p99_ms": MILLISECONDS,
    "latency_mean_ms": MILLISECONDS,
    "accuracy_f1": PERCENT,
    "accuracy_exact_match": PERCENT,
    "accuracy_value": Bounds(0.0, 1e6, "accuracy score"),  # FID, ROUGE, mAP, AUC, DICE, percent
    "power_w": Bounds(1e-3, 1e8, "W"),
    # > 0: a measured energy is never zero (power_w >= 1e-3 W at <= 1e9 samples/s gives >= 1e-12)
    "energy_j_per_sample": Bounds(1e-12, 1e15, "J/sample"),
    "accelerator_count": Bounds(0, 1e6, "accelerators"),
    "host_cpu_count": Bounds(0, 1e7, "processors"),
    # provenance.json (scheduling_import.py): batches of one query up to far past any LoadGen query
    "batch_size": Bounds(1, 1e9, "samples per batch"),
    "sut_workers_per_device": Bounds(0, 1e6, "worker threads"),
}

# which file of a result each column comes from (the failure names it); the rest: the detail log
_SYSTEM_COLUMNS = [
    "submitter",
    "category",
    "availability",
    "system_name",
    "host_cpu",
    "host_cpu_count",
    "accelerator",
    "accelerator_count",
    "software",
    "backend",
    "system_json",
]
SOURCE_FILE: dict[str, str] = {
    **dict.fromkeys(_SYSTEM_COLUMNS, "system"),
    **dict.fromkeys(("accuracy_metric", "accuracy_value", "accuracy_f1", "accuracy_exact_match"), "accuracy"),
    **dict.fromkeys(("power_w", "energy_j_per_sample", "power_meter", "power_scope", "power_note"), "power"),
    **dict.fromkeys(("batch_size", "sut_workers_per_device"), "provenance"),
    "precision": "measurements",
    "command": "readme",
    "summary_text": "summary",
}

_LENGTHS = {c.name: c.type.length for c in Result.__table__.columns if isinstance(c.type, String)}


def number_problem(name: str, value: Any, unit: str | None) -> str | None:
    """Why ``value`` may not be stored in column ``name`` (not finite, out of its bounds), or None."""
    bounds = NUMBER_BOUNDS.get(name)
    if name == "value":
        bounds = MILLISECONDS if unit == "ms" else SAMPLES_PER_S
    if bounds is None or value is None or isinstance(value, bool):
        return None
    number = float(value)
    if bounds.holds(number):
        return None
    return f"{name} = {number!r} is not a finite number in [{bounds.low:g}, {bounds.high:g}] {bounds.what}"


def text_problem(name: str, value: str) -> str | None:
    """Why a text cannot be stored in column ``name`` (NUL, too long), or None."""
    if "\x00" in value:
        return f"{name} contains a NUL character"
    limit = _LENGTHS.get(name)
    if limit is not None and len(value) > limit:
        return f"{name} is {len(value)} characters, over the {limit} the hub stores"
    return None


def check_row(row: Mapping[str, Any], files: Callable[[], Mapping[str, str]]) -> None:
    """Raise ResultsError naming the file and the first value that may not be stored.

    ``files()``: file role ("system", "accuracy", "power", "provenance", "measurements", "readme",
    "summary", "detail") -> the file's path as the uploader knows it (inside the tree); called only when a
    value is refused (finding the names costs more than checking a good row)."""
    for name, value in row.items():
        if isinstance(value, str):
            problem = text_problem(name, value)
        elif isinstance(value, int | float):
            problem = number_problem(name, value, row.get("unit"))
        else:
            problem = None
        if problem is None and name == "power_w":
            problem = _unmetered(row)
        if problem:
            names = files()
            where = names.get(SOURCE_FILE.get(name, "detail")) or names.get("detail", "")
            raise ResultsError(f"{where}: {problem}")


def _unmetered(row: Mapping[str, Any]) -> str | None:
    """A power or energy figure must name its meter: numbers of different meters are not comparable."""
    figure = row.get("power_w") is not None or row.get("energy_j_per_sample") is not None
    if figure and row.get("power_meter") in (None, "none"):
        return "a power figure without the meter it came from"
    return None
