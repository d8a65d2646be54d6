"""Power meters as the hub names them, and the words it says when figures of different meters meet.

    ptd    spl.txt of an MLPerf result: the whole system's wall power, logged by SPEC PTDaemon from an
           approved analyser (the only power MLPerf's checker accepts)
    nvml   crowdperf's power.json: the board power of the GPUs the run used
    rapl   crowdperf's power.json: the CPU packages and their DRAM
    none   no figure (no power file, or one that could not be used: ``power_note`` says why)

Another installed meter plugin's name (``crowdperf.meters`` entry points) comes in as it is written;
a run whose headline joins several ``devices`` meters writes ``nvml+rapl``. The figures measure
different things (a GPU board is not the system around it), so a ranking, front or comparison
that mixes meters says so, and every figure is shown with its meter.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from typing import Any

from crowdperf.errors import UsageError

PTD = "ptd"
NONE = "none"
UNRECORDED = "unrecorded"  # a figure stored without its meter (power_meter NULL: around the importer)
RESERVED = frozenset({PTD, NONE})  # never taken from a power.json: only spl.txt is PTD's
METER_NAME = re.compile(r"^[a-z][a-z0-9_-]{0,15}(\+[a-z][a-z0-9_-]{0,15})*$")
METER_MAX = 32  # results.power_meter
_WHAT = {
    PTD: "the whole system at the wall, MLPerf's PTD power",
    "nvml": "GPU boards, a software meter",
    "rapl": "CPU packages and DRAM, a software meter",
}


def meter_what(meter: str) -> str:
    """``nvml`` -> ``GPU boards, a software meter``."""
    parts = meter.split("+")
    if len(parts) > 1:
        return " + ".join(_WHAT.get(p, p).split(",")[0] for p in parts) + ", software meters"
    return _WHAT.get(meter, "a software meter")


def with_meter(text: str, meter: str | None) -> str:
    """``683 W`` -> ``683 W (nvml)``; a figure stored before the hub knew meters says so."""
    return f"{text} ({meter or 'meter not recorded'})"


def mixed_meters_note(meters: Iterable[str | None], what: str) -> str:
    """A warning when ``meters`` (of the figures ``what`` holds: "these results", "this ranking")
    are more than one; "" otherwise. Offers the filter that restricts to one meter."""
    names = sorted({m or UNRECORDED for m in meters})
    if len(names) < 2:
        return ""
    listed = "; ".join(f"{m} ({meter_what(m) if m != UNRECORDED else 'meter not recorded'})" for m in names)
    ptd_and_software = PTD in names and any(m not in (PTD, UNRECORDED) for m in names)
    lead = "software-meter and PTD power mixed" if ptd_and_software else "power from different meters"
    first = next(m for m in names if m != UNRECORDED)
    return (
        f"{lead}: {what} hold{'s' if what.startswith('this') else ''} power figures of {len(names)} meters: "
        f"{listed}. They measure different things and are not comparable with each other; "
        f"restrict to one meter (--meter {first}, or meter={first} on the web)"
    )


def check_meter_filter(meter: str | None) -> None:
    """UsageError unless ``meter`` could name a meter ("ptd", "none", "nvml", a plugin's name)."""
    if meter is not None and (len(meter) > METER_MAX or not METER_NAME.match(meter)):
        raise UsageError(
            f"meter {meter[:40]!r} is not a meter's name",
            hint="use ptd (MLPerf's PTD), nvml, rapl (crowdperf's software meters), another installed "
            "meter's name, or none (results without a power figure)",
        )


def energy_cost_line(r: Any) -> str | None:
    """The explanation's line on the winner's energy cost, labelled with its meter and price."""
    if r.energy_usd_per_million is None:
        return None
    price = (r.energy_price_source or "").split(" (")[0]  # "$0.13/kWh"; the source is on the result
    drew = meter_what(r.power_meter).split(",")[0] if r.power_meter else "a meter not recorded"
    return (
        f"  energy cost: ${r.energy_usd_per_million:.4g} per million samples at {price} for "
        f"{with_meter(f'{r.energy_j_per_sample:.4g} J/sample', r.power_meter)} (what {drew} drew; "
        "the cost above is instance-hours)"
    )
