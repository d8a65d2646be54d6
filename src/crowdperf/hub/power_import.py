"""The power columns of one result: PTD's ``spl.txt`` (MLPerf's power) or crowdperf's ``power.json``.

    columns = power_columns(perf_dir, log, throughput=3613.0, shown=where.shown)
    row.update(columns.row())   # power_meter, power_scope, power_w, energy_j_per_sample, power_note

- ``spl.txt`` (``performance/run_1``): the mean of its positive watt samples between the detail
  log's ``power_begin`` and ``power_end``, as MLPerf's checker computes it
  (mlcommons/inference ``tools/submission/submission_checker/checks/power_check.py``); energy per
  sample = watts / samples per second. No sample in the window is the result's import failure, as
  it is the checker's.
- ``power.json`` (schema ``crowdperf.power/1``, ``meters/record.py``; open-division trees carry it
  beside LoadGen's logs): the run's headline (``summary``: meter, mean W, J/sample over LoadGen's
  window) and the role and devices of its meter. It lies outside MLPerf's result (the checker
  ignores it), so a power.json the hub cannot use never costs the result: its power is null,
  ``power_meter`` is "none" and ``power_note`` says what was wrong (not our schema, corrupt JSON, a
  meter calling itself "ptd", a number that is not finite or not plausible by ``row_checks``, joules
  per sample that disagree with the watts and the logged throughput). A run that could not
  measure records why (``unavailable``), and the note carries that reason.
- both: PTD's figure, noted; neither: meter "none", no note.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

from crowdperf.errors import ResultsError
from crowdperf.hub.power_meters import METER_MAX, METER_NAME, NONE, PTD, RESERVED
from crowdperf.hub.row_checks import number_problem
from crowdperf.meters.record import POWER_JSON, POWER_SCHEMA, summary_from_json
from crowdperf.mlperf.logs import DetailLog

SPL = "spl.txt"
_POWER_TIME = "%m-%d-%Y %H:%M:%S.%f"  # power_begin/power_end and spl.txt timestamps
NOTE_MAX = 1000  # characters of a note kept (a reason from a file)
# J/sample must agree with mean W / samples per second within this factor: both come from the same
# LoadGen window (the file's J/sample divides by LoadGen's sample count, the throughput is LoadGen's)
CONSISTENCY = 1.5
ROLES = ("devices", "host")


@dataclass(frozen=True)
class PowerColumns:
    """What one result stores about power. ``meter`` names where the figures came from."""

    meter: str  # "ptd", a software meter ("nvml", "rapl", ...), or "none"
    scope: str | None = None  # "system" (PTD), or the software meter's role: "devices" | "host"
    power_w: float | None = None
    energy_j_per_sample: float | None = None
    note: str | None = None  # what a software meter measured, or why there is no figure

    def row(self) -> dict[str, Any]:
        return {
            "power_meter": self.meter,
            "power_scope": self.scope,
            "power_w": self.power_w,
            "energy_j_per_sample": self.energy_j_per_sample,
            "power_note": self.note,
        }


def power_columns(
    perf_dir: Path, log: DetailLog, throughput: float | None, shown: Callable[[Path], str]
) -> PowerColumns:
    """The power of the result whose ``performance/run_1`` is ``perf_dir``; ``shown(path)`` names a
    file as the submitter knows it (in notes). ResultsError only for an unusable spl.txt."""
    has_power_json = (perf_dir / POWER_JSON).is_file()
    watts = mean_power(perf_dir, log)
    if watts is not None:
        note = f"{POWER_JSON} also present: PTD's figure is the one kept" if has_power_json else None
        energy = watts / throughput if throughput else None
        return PowerColumns(PTD, "system", watts, energy, note)
    if not has_power_json:
        spl = (perf_dir / SPL).is_file()  # but no power_begin/power_end in the detail log
        return PowerColumns(NONE, note=f"{SPL} not used: the detail log has no power window" if spl else None)
    path = perf_dir / POWER_JSON
    try:
        return _from_power_json(path, throughput)
    except (ResultsError, OSError, ValueError, TypeError) as exc:
        problem = str(exc).replace(str(path), shown(path)).replace("\x00", "\\x00")
        if not problem.startswith(shown(path)):
            problem = f"{shown(path)}: {problem}"
        return PowerColumns(NONE, note=f"power not used: {problem}"[:NOTE_MAX])


def _from_power_json(path: Path, throughput: float | None) -> PowerColumns:
    data = json.loads(path.read_text(encoding="utf-8"))  # ValueError: not JSON, not UTF-8
    if not isinstance(data, dict) or data.get("schema") != POWER_SCHEMA:
        raise ResultsError(f"not a {POWER_SCHEMA} record")
    summary = summary_from_json(data.get("summary"), path)  # types, finite, >= 0; figures or a reason
    if summary.meter is None:
        return PowerColumns(NONE, note=_text(f"unavailable in the run: {summary.unavailable}"))
    meter = summary.meter
    if len(meter) > METER_MAX or not METER_NAME.match(meter) or RESERVED & set(meter.split("+")):
        raise ResultsError(
            f"meter {meter[:40]!r} is not a software meter's name (PTD power comes only from {SPL})"
        )
    watts, energy = summary.mean_w, summary.joules_per_sample
    if energy is None and watts is not None and throughput:
        energy = watts / throughput  # a run that did not know LoadGen's sample count
    for name, value in (("power_w", watts), ("energy_j_per_sample", energy)):
        problem = number_problem(name, value, None)
        if problem:
            raise ResultsError(problem.replace(name, "mean_w" if name == "power_w" else "joules_per_sample"))
    if watts is not None and energy is not None and throughput:
        expected = watts / throughput
        if not 1 / CONSISTENCY <= energy / expected <= CONSISTENCY:
            raise ResultsError(
                f"joules_per_sample {energy:.4g} disagrees with mean_w / throughput = "
                f"{watts:.4g} W / {throughput:.4g} samples/s = {expected:.4g}"
            )
    role, devices = _role_and_devices(data.get("meters"), meter)
    return PowerColumns(meter, role, watts, energy, _text(f"{role}: {devices}") if devices else None)


def _role_and_devices(meters: object, headline: str) -> tuple[str, str]:
    """The headline meter's role (schema 1: always "devices") and what it measured, for people."""
    parts = headline.split("+")
    entries = [m for m in meters if isinstance(m, dict)] if isinstance(meters, list) else []
    mine = [m for m in entries if m.get("meter") in parts]
    roles = {str(m.get("role"))[:20] for m in mine}
    if len(roles) > 1 or not roles <= set(ROLES):
        raise ResultsError(f"meter roles {sorted(roles)} are not one of {', '.join(ROLES)}")
    devices = [str(d) for m in mine if isinstance(m.get("devices"), list) for d in m["devices"]]
    return (roles.pop() if roles else "devices"), ", ".join(devices)


def _text(text: str) -> str:
    if "\x00" in text:
        raise ResultsError("a text field contains a NUL character")
    return text[:NOTE_MAX]


def _power_time(text: str) -> tuple[int, ...]:
    """``MM-DD-YYYY HH:MM:SS.fff`` -> a comparable tuple (strptime is 30x slower; spl.txt has
    a line per sample)."""
    try:
        return (
            int(text[6:10]),
            int(text[0:2]),
            int(text[3:5]),
            int(text[11:13]),
            int(text[14:16]),
            int(text[17:19]),
            int((text[20:] + "000000")[:6]),
        )
    except ValueError:
        t = datetime.strptime(text, _POWER_TIME)
        return (t.year, t.month, t.day, t.hour, t.minute, t.second, t.microsecond)


def mean_power(perf_dir: Path, log: DetailLog) -> float | None:
    """Mean of spl.txt's positive watt samples inside (power_begin, power_end) (power_check.py)."""
    spl = perf_dir / SPL
    if not spl.is_file() or "power_begin" not in log or "power_end" not in log:
        return None
    begin, end = _power_time(log["power_begin"]), _power_time(log["power_end"])
    watts = []
    for line in spl.read_text(encoding="utf-8", errors="replace").splitlines():
        parts = line.split(",")
        if not line.startswith("Time") or len(parts) < 4:
            continue
        if begin < _power_time(parts[1]) < end and float(parts[3]) > 0:
            watts.append(float(parts[3]))
    if not watts:
        raise ResultsError(f"{spl}: no power samples between power_begin and power_end")
    return sum(watts) / len(watts)
