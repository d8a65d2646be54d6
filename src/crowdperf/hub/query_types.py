"""Typed inputs and answers of the query layer (``hub/queries.py``). Frozen dataclasses;
``to_jsonable(obj)`` turns any of them into plain JSON data (the CLI's ``--json`` and the API)."""

from __future__ import annotations

import dataclasses
import json
import math
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from crowdperf import jsonio
from crowdperf.errors import UsageError
from crowdperf.formatting import quantity
from crowdperf.hub.best_text import explain, result_label
from crowdperf.hub.power_meters import check_meter_filter, with_meter
from crowdperf.hub.prices import PriceTable, energy_cost_per_million

JSON_SCHEMA_VERSION = 1
MAX_ID = 2**31 - 1  # results.id is a 32-bit INTEGER on PostgreSQL
MAX_ROWS = 10_000_000  # bound of limit and offset: past it SQLite cannot even bind the number
MAX_TEXT = 1000

# plausible bounds of the numbers a filter or a constraint may carry (finite, like stored ones)
NUMBER_LIMITS: dict[str, tuple[float, float]] = {
    "min_accuracy_f1": (0.0, 100.0),
    "max_usd_per_million": (0.0, 1e12),
    "max_latency_ms": (0.0, 1e9),
    "max_watts": (0.0, 1e9),
    "max_joules_per_sample": (0.0, 1e15),
}


def check_query_values(obj: Any) -> None:
    """UsageError when a filter or constraint carries a value no stored result could match
    sensibly and a database may refuse: NUL in text, a non-finite or implausible number, an id
    past the id column. The CLI, the API and the pages all build their filters through here."""
    for f in dataclasses.fields(obj):
        value = getattr(obj, f.name)
        if isinstance(value, str):
            if "\x00" in value:
                raise UsageError(f"{f.name} contains a NUL character")
            if len(value) > MAX_TEXT:
                raise UsageError(f"{f.name} is over {MAX_TEXT} characters")
        elif isinstance(value, float | int) and not isinstance(value, bool) and f.name in NUMBER_LIMITS:
            low, high = NUMBER_LIMITS[f.name]
            if not (math.isfinite(value) and low <= value <= high):
                flag = "--" + f.name.replace("_", "-")  # the CLI's spelling; the API's is f.name
                raise UsageError(
                    f"{f.name} ({flag}) must be a number in [{low:g}, {high:g}], not {value!r}",
                    hint=f"give a finite number from {low:g} to {high:g}",
                )
    check_meter_filter(getattr(obj, "meter", None))
    for result_id in getattr(obj, "ids", ()):
        if not 1 <= result_id <= MAX_ID:
            raise UsageError(f"result ids are 1 to {MAX_ID}, not {result_id}")


@dataclass(frozen=True)
class ResultFilter:
    """Which results; ``None``/empty means any. Text filters on accelerator, submitter and
    system are case-insensitive substrings; the others are exact (``meter``: the power meter,
    hub/power_meters.py; "none" = results without a power figure). Hidden results are left out
    unless ``include_hidden`` (everyone's: an admin, the CLI on its own database) or
    ``hidden_owner`` (that uploader's own hidden results) says otherwise."""

    model: str | None = None
    scenario: str | None = None
    division: str | None = None
    round: str | None = None
    accelerator: str | None = None
    submitter: str | None = None
    system: str | None = None
    backend: str | None = None
    precision: str | None = None
    source: str | None = None
    comparison_key: str | None = None
    min_accuracy_f1: float | None = None
    max_usd_per_million: float | None = None
    meter: str | None = None
    max_watts: float | None = None
    max_joules_per_sample: float | None = None
    valid_only: bool = False
    include_hidden: bool = False
    hidden_owner: str | None = None
    ids: tuple[int, ...] = ()

    def __post_init__(self) -> None:
        check_query_values(self)


@dataclass(frozen=True)
class Constraints:
    """What ``best`` must satisfy; ``objective`` is the axis it maximises (or minimises)."""

    scenario: str | None = None
    model: str | None = None
    division: str | None = None
    round: str | None = None
    accelerator: str | None = None
    min_accuracy_f1: float | None = None
    max_latency_ms: float | None = None
    max_watts: float | None = None
    max_usd_per_million: float | None = None
    valid_only: bool = True
    objective: str = "throughput"
    max_joules_per_sample: float | None = None
    meter: str | None = None  # only power figures of this meter (hub/power_meters.py)
    source: str | None = None  # only results imported with this source (an exploration's)
    include_hidden: bool = False

    def __post_init__(self) -> None:
        check_query_values(self)

    def as_filter(self) -> ResultFilter:
        return ResultFilter(
            model=self.model,
            scenario=self.scenario,
            division=self.division,
            round=self.round,
            accelerator=self.accelerator,
            source=self.source,
            valid_only=self.valid_only,
            meter=self.meter,
            include_hidden=self.include_hidden,
        )


POWER_COLUMNS = ("power_w", "energy_j_per_sample")  # figures that mean what their meter measured


@dataclass(frozen=True)
class Axis:
    name: str
    column: str
    unit: str
    higher_is_better: bool


AXES: dict[str, Axis] = {
    "throughput": Axis("throughput", "throughput", "samples/s", True),
    "latency": Axis("latency", "latency_ms", "ms", False),
    "accuracy": Axis("accuracy", "accuracy_f1", "F1", True),
    "energy": Axis("energy", "energy_j_per_sample", "J/sample", False),
    "power": Axis("power", "power_w", "W", False),
    "cost": Axis("cost", "usd_per_million", "USD/1M samples", False),
}


@dataclass(frozen=True)
class HubResult:
    """One row as the query layer hands it out, with derived cost."""

    id: int
    comparison_key: str
    benchmark: str
    round: str
    division: str
    category: str
    submitter: str
    availability: str
    system_name: str
    host_cpu: str
    host_cpu_count: int | None
    accelerator: str
    accelerator_count: int
    software: str
    backend: str
    precision: str
    model: str
    scenario: str
    metric: str
    unit: str
    value: float
    throughput: float | None
    throughput_per_accelerator: float | None
    latency_ms: float | None
    latency_p99_ms: float | None
    latency_mean_ms: float | None
    valid: bool
    accuracy_metric: str | None
    accuracy_value: float | None
    accuracy_f1: float | None
    accuracy_exact_match: float | None
    power_w: float | None
    energy_j_per_sample: float | None
    power_meter: str | None  # where power_w and energy came from (hub/power_meters.py); None: not recorded
    power_scope: str | None  # "system" (PTD), "devices" or "host" (a software meter's role)
    power_note: str | None  # what the software meter measured, or why there is no figure
    usd_per_million: float | None  # instance-hour cost, derived from the price table
    price_source: str | None  # "<instance> <usd>/h (<source>, <date>)"
    energy_usd_per_million: float | None  # cost of the metered energy at the table's USD/kWh
    energy_price_source: str | None  # "$0.13/kWh (<source>, <date>)"
    loadgen_version: str
    # how crowdperf's SUT fed LoadGen (provenance.json); None: not recorded (official results,
    # older runs and trees)
    batch_size: int | None
    sut_workers_per_device: int | None  # worker threads per device; 0: inline
    settings: dict[str, Any]
    command: str | None
    source: str
    path: str
    content_hash: str
    checker_verdict: str
    checker_notes: str
    uploader: str | None
    hidden: bool
    imported_at: datetime

    @classmethod
    def column_names(cls) -> tuple[str, ...]:
        """The ``results`` columns a HubResult is built from."""
        derived = {"usd_per_million", "price_source", "settings", *_ENERGY_COST}
        return (*(f.name for f in dataclasses.fields(cls) if f.name not in derived), "settings_json")

    @classmethod
    def from_row(cls, row: Any, cost: float | None, prices: PriceTable) -> HubResult:
        """From a ``Result`` or a row holding ``column_names()``."""
        price = prices.lookup(row.accelerator) if cost is not None else None
        values = {n: getattr(row, n) for n in _COLUMNS}
        for n in _FLOAT_COLUMNS:  # a value stored before the row checks must not break a reader
            values[n] = finite_or_none(values[n])
        return cls(
            **values,
            usd_per_million=finite_or_none(None if cost is None else float(cost)),
            price_source=None
            if price is None
            else f"{price.instance} ${price.usd_per_hour:g}/h for {price.accelerators} "
            f"({price.source}, {price.date})",
            settings=_settings(row.settings_json),
            **_energy_cost(values["energy_j_per_sample"], prices),
        )

    @property
    def label(self) -> str:
        return result_label(self.submitter, self.system_name)

    def power_text(self) -> str:
        """``683 W, 0.189 J/sample (nvml)``; ``n/a`` without a figure."""
        parts = [quantity(self.power_w, "W", 3), quantity(self.energy_j_per_sample, "J/sample")]
        shown = [p for p in parts if p != "-"]
        return with_meter(", ".join(shown), self.power_meter) if shown else "n/a"


_ENERGY_COST = ("energy_usd_per_million", "energy_price_source")
# how crowdperf's SUT fed LoadGen (HubResult columns -> labels): shown beside the metrics of a
# comparison so a reader sees when two runs were cut into different batches; never ranked
SCHEDULING: dict[str, str] = {"batch_size": "Batch size", "sut_workers_per_device": "SUT workers per device"}


def _energy_cost(joules_per_sample: float | None, prices: PriceTable) -> dict[str, Any]:
    if joules_per_sample is None or prices.energy is None:
        return {"energy_usd_per_million": None, "energy_price_source": None}
    cost = energy_cost_per_million(joules_per_sample, prices.energy.usd_per_kwh)
    return {"energy_usd_per_million": finite_or_none(cost), "energy_price_source": prices.energy.label}


_COLUMNS = tuple(n for n in HubResult.column_names() if n != "settings_json")
_FLOATS = ("float", "float | None")
_FLOAT_COLUMNS = tuple(
    f.name for f in dataclasses.fields(HubResult) if f.type in _FLOATS and f.name in _COLUMNS
)


def finite_or_none(value: float | None) -> float | None:
    """A stored number as readers get it: a non-finite one (stored before the row checks, or
    written around them) becomes None instead of breaking JSON, sorting labels and the chart."""
    return value if value is None or math.isfinite(value) else None


def _settings(text: str | None) -> dict[str, Any]:
    try:
        value = json.loads(text or "{}")
    except ValueError:
        return {}
    return value if isinstance(value, dict) else {}


@dataclass(frozen=True)
class ResultPage:
    rows: tuple[HubResult, ...]
    total: int  # matching rows in all pages
    offset: int
    limit: int | None
    sort: str
    comparison_keys: int  # distinct comparison keys among all matching rows
    price_table: str
    power_meters: tuple[str, ...] = ()  # meters of the matching rows' power figures ("unrecorded")
    meter_note: str = ""  # a warning when those are more than one (power_meters.mixed_meters_note)
    __json_extra__ = ("comparable",)  # jsonio: the answer says whether its rows rank together

    @property
    def comparable(self) -> bool:
        """True when every matching row may be ranked together (one comparison key)."""
        return self.comparison_keys <= 1


@dataclass(frozen=True)
class MetricDelta:
    name: str
    unit: str
    better: str  # "higher" | "lower"
    values: tuple[float | None, ...]
    delta_pct: tuple[float | None, ...]  # vs the first result; None across different power meters
    meters: tuple[str | None, ...] = ()  # power metrics: each value's meter


@dataclass(frozen=True)
class Comparison:
    results: tuple[HubResult, ...]
    metrics: tuple[MetricDelta, ...]
    comparable: bool
    note: str
    meter_note: str = ""  # the power figures come from different meters


@dataclass(frozen=True)
class ParetoPoint:
    id: int
    label: str
    accelerator: str
    accelerator_count: int
    coords: tuple[float, ...]  # in the order of ParetoFront.axes, natural units
    on_front: bool
    power_meter: str | None = None


@dataclass(frozen=True)
class ParetoGroup:
    comparison_key: str
    model: str
    scenario: str
    round: str
    division: str
    total: int  # results with every axis
    points: tuple[ParetoPoint, ...]  # the front first, then others up to max_points
    front_ids: tuple[int, ...]
    power_meters: tuple[str, ...] = ()  # with a power axis: the meters of every candidate's figure
    meter_note: str = ""

    @classmethod
    def build(cls, key: str, first: Any, total: int, points: Sequence[ParetoPoint]) -> ParetoGroup:
        """``first``: the key's lowest-id row (model, scenario, round, division); ``points``: the
        front first, then the others handed out."""
        front_sorted = sorted((p for p in points if p.on_front), key=lambda p: p.coords)
        return cls(
            comparison_key=key,
            model=first.model,
            scenario=first.scenario,
            round=first.round,
            division=first.division,
            total=total,
            points=tuple(points),
            front_ids=tuple(p.id for p in front_sorted),
        )


@dataclass(frozen=True)
class ParetoFront:
    axes: tuple[str, ...]
    groups: tuple[ParetoGroup, ...]  # one per comparison key, largest first
    price_table: str


@dataclass(frozen=True)
class BestGroup:
    comparison_key: str
    candidates: int  # results under this key before the constraints
    meeting: int  # results meeting every constraint (and having the objective)
    excluded_by: dict[str, int]  # constraint -> results it rules out (a result may fail several)
    ranking: tuple[HubResult, ...]  # winners first
    explanation: tuple[str, ...]  # why the winner wins, what the runner-up costs
    power_meters: tuple[str, ...] = ()  # meters of the power figures ranked or constrained
    meter_note: str = ""

    @classmethod
    def build(
        cls,
        key: str,
        ranking: list[HubResult],
        candidates: int,
        meeting: int,
        excluded: dict[str, int],
        axis: Axis,
    ) -> BestGroup:
        return cls(
            comparison_key=key,
            candidates=candidates,
            meeting=meeting,
            excluded_by={k: int(v or 0) for k, v in excluded.items()},
            ranking=tuple(ranking),
            explanation=tuple(explain(ranking, candidates, meeting, excluded, axis)),
        )


@dataclass(frozen=True)
class BestAnswer:
    constraints: Constraints
    objective: str
    groups: tuple[BestGroup, ...]  # one ranking per comparison key
    comparable_note: str
    price_table: str
    lead_key: str | None = None  # the key the answer leads with (best_text.lead_key); None: no winner


def to_jsonable(obj: Any) -> Any:
    """Dataclasses, tuples and datetimes -> JSON-ready data (``crowdperf.jsonio``; a
    ``ResultPage`` also says whether its rows are ``comparable``)."""
    return jsonio.to_jsonable(obj)
