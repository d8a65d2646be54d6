"""What the pages show, in terms of the query layer's own types (``crowdperf.hub.query_types``).

Nothing here queries: the table columns, the filter fields of the forms, and the one reshaping the
chart needs (a ``ParetoGroup`` -> points with x, y, a link and colour groups).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any
from urllib.parse import urlencode

from crowdperf.hub.power_meters import UNRECORDED
from crowdperf.hub.query_types import AXES, POWER_COLUMNS, ParetoFront, ParetoGroup


@dataclass(frozen=True)
class Column:
    key: str  # attribute of HubResult
    label: str
    numeric: bool = False
    digits: int = 2
    sortable: bool = True  # the key is one of queries.SORT_FIELDS


# MLPerf's results-table columns, then accuracy, power (with the meter it came from) and cost.
TABLE_COLUMNS: tuple[Column, ...] = (
    Column("round", "Round"),
    Column("division", "Division"),
    Column("submitter", "Submitter"),
    Column("system_name", "System"),
    Column("host_cpu", "Processor", sortable=False),
    Column("accelerator", "Accelerator"),
    Column("accelerator_count", "#", numeric=True, digits=0, sortable=False),
    Column("backend", "Backend"),
    Column("precision", "Precision"),
    Column("model", "Model"),
    Column("scenario", "Scenario"),
    Column("value", "Result", numeric=True),
    Column("accuracy_f1", "F1", numeric=True, digits=3),
    Column("power_w", "Power W", numeric=True, digits=1),
    Column("energy_j_per_sample", "J/sample", numeric=True, digits=4),
    Column("power_meter", "Meter"),
    Column("usd_per_million", "$/M samples (instance-hours)", numeric=True),
    Column("energy_usd_per_million", "$/M samples (energy)", numeric=True, digits=4),
)

# exact-match filters get a drop-down of the values present; substring filters a text box
CHOICE_FILTERS: tuple[str, ...] = ("model", "scenario", "division", "round", "backend", "precision", "meter")
TEXT_FILTERS: tuple[str, ...] = ("accelerator", "submitter", "system")

AXIS_LABELS: dict[str, str] = {name: f"{name.capitalize()} ({axis.unit})" for name, axis in AXES.items()}
COLOR_FIELDS: tuple[str, ...] = ("accelerator", "front", "meter")


def meter_links(path: str, query: dict[str, str], meters: tuple[str, ...]) -> dict[str, str]:
    """Each meter -> the same view restricted to it (what a mixed-meter warning offers)."""
    return {m: f"{path}?{urlencode({**query, 'meter': m})}" for m in meters if m != UNRECORDED}


def _axis_label(axis: str, group: ParetoGroup | None) -> str:
    """``Energy (J/sample) · meter nvml``: a power axis names the meters of what it draws."""
    label = AXIS_LABELS[axis]
    if group is None or AXES[axis].column not in POWER_COLUMNS or not group.power_meters:
        return label
    meters = ", ".join(group.power_meters)
    if len(group.power_meters) == 1:
        return f"{label} · meter {meters}"
    return f"{label} · meters {meters}: not comparable"


@dataclass(frozen=True)
class ChartData:
    x: str
    y: str
    group: ParetoGroup | None
    groups: tuple[ParetoGroup, ...]  # every comparison key, for the key picker

    def to_json(self, href: Any) -> dict[str, Any]:
        """The JSON the page's chart.js draws; ``href(id)`` makes a result's link."""
        points = []
        for p in self.group.points if self.group else ():
            points.append({
                "id": p.id, "x": p.coords[0], "y": p.coords[1], "label": p.label, "href": href(p.id),
                "on_front": p.on_front, "meter": p.power_meter or "not recorded",
                "groups": {
                    "accelerator": f"{p.accelerator_count}x {p.accelerator}" if p.accelerator else "CPU",
                    "front": "Pareto front" if p.on_front else "dominated",
                    "meter": f"meter {p.power_meter or 'not recorded'}",
                },
            })  # fmt: skip
        power_axis = any(AXES[a].column in POWER_COLUMNS for a in (self.x, self.y))
        return {"x_label": _axis_label(self.x, self.group), "y_label": _axis_label(self.y, self.group),
                "points": points, "power_axis": power_axis}  # fmt: skip


def chart_data(front: ParetoFront, key: str | None) -> ChartData:
    """Pick the comparison key to draw: the asked one, else the largest group."""
    chosen = next((g for g in front.groups if g.comparison_key == key), None)
    if chosen is None and front.groups:
        chosen = front.groups[0]
    return ChartData(x=front.axes[0], y=front.axes[1], group=chosen, groups=front.groups)
