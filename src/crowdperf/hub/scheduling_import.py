"""How crowdperf's SUT fed LoadGen, from the run's ``provenance.json`` (``mlperf/provenance.py``).

    columns = scheduling_columns(perf_dir)
    row.update(columns.row())   # batch_size, sut_workers_per_device

v6 submission trees carry the performance run's provenance.json in ``performance/run_1``
(``submission/generate.py``); official results and older trees have none: both columns NULL, no
note. Records older than crowdperf's session 6 have neither field: NULL too. Like power.json, the
file lies outside MLPerf's result (the checker ignores it), so one the hub cannot use never costs
the result: its columns are NULL and ``note`` says why (corrupt JSON, a value that is not a
plausible whole number by ``row_checks``).
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from crowdperf.hub.row_checks import NUMBER_BOUNDS
from crowdperf.mlperf.layout import PROVENANCE

FIELDS = ("batch_size", "sut_workers_per_device")


@dataclass(frozen=True)
class SchedulingColumns:
    batch_size: int | None = None  # the effective batch size queries were cut into
    sut_workers_per_device: int | None = None  # worker threads per device; 0: inline
    note: str | None = None  # why a recorded value was not taken

    def row(self) -> dict[str, Any]:
        return {"batch_size": self.batch_size, "sut_workers_per_device": self.sut_workers_per_device}


def _whole_number(name: str, value: object) -> tuple[int | None, str | None]:
    """(the value, None) when it can be stored; (None, why not) otherwise; (None, None) unrecorded."""
    if value is None:
        return None, None
    if not isinstance(value, int) or isinstance(value, bool):
        return None, f"{name} = {value!r} is not a whole number"
    bounds = NUMBER_BOUNDS[name]
    if not bounds.holds(value):
        return None, f"{name} = {value} is not in [{bounds.low:g}, {bounds.high:g}] {bounds.what}"
    return value, None


def scheduling_columns(perf_dir: Path) -> SchedulingColumns:
    """The scheduling columns of the run in ``perf_dir`` (``performance/run_1``)."""
    path = perf_dir / PROVENANCE
    if not path.is_file():
        return SchedulingColumns()
    try:
        raw = json.loads(path.read_text(encoding="utf-8"))
    except (ValueError, OSError) as exc:  # ValueError: also a file that is not UTF-8
        return SchedulingColumns(note=f"{PROVENANCE} unusable ({type(exc).__name__}): no scheduling")
    if not isinstance(raw, dict):
        return SchedulingColumns(note=f"{PROVENANCE} is not a JSON object: no scheduling")
    values: dict[str, int | None] = {}
    problems = []
    for name in FIELDS:
        values[name], problem = _whole_number(name, raw.get(name))
        if problem:
            problems.append(problem)
    note = f"{PROVENANCE}: {'; '.join(problems)} (not recorded)" if problems else None
    return SchedulingColumns(values["batch_size"], values["sut_workers_per_device"], note)
