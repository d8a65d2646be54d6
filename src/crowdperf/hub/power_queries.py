"""The query layer's power side: the meter and power filters as SQL, which meters a set of
results' figures come from, and the warnings when they are more than one (``queries.py`` calls
these; the words are ``power_meters.py``'s).

A set of figures "mixes meters" when its rows having a power or energy figure name more than one
``power_meter`` (a row stored before the hub recorded meters counts as "unrecorded"): a GPU board's
watts (nvml), a CPU package's (rapl) and a whole system's at the wall (PTD) are different things.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence
from typing import Any

from sqlalchemy import func, or_, select
from sqlalchemy.sql.elements import ColumnElement

from crowdperf.hub.models import Result
from crowdperf.hub.power_meters import NONE, UNRECORDED, mixed_meters_note
from crowdperf.hub.query_types import POWER_COLUMNS, HubResult, MetricDelta, ResultFilter
from crowdperf.hub.store import Store

# compare's metrics whose values carry a meter (the energy cost is the energy at a price)
METERED_METRICS = (*POWER_COLUMNS, "energy_usd_per_million")


def has_power() -> ColumnElement[bool]:
    return or_(Result.power_w.is_not(None), Result.energy_j_per_sample.is_not(None))


def power_where(flt: ResultFilter) -> list[ColumnElement[bool]]:
    """The meter and power filters of ``flt`` (a maximum rules out rows without the figure)."""
    conds: list[ColumnElement[bool]] = []
    if flt.meter == NONE:
        conds.append(or_(Result.power_meter == NONE, Result.power_meter.is_(None)))
        conds.append(~has_power())
    elif flt.meter:
        conds.append(Result.power_meter == flt.meter)
    if flt.max_watts is not None:
        conds.append(Result.power_w <= flt.max_watts)
    if flt.max_joules_per_sample is not None:
        conds.append(Result.energy_j_per_sample <= flt.max_joules_per_sample)
    return conds


def meter_name(stored: str | None) -> str:
    return stored or UNRECORDED


def meters_by_key(store: Store, where: Sequence[ColumnElement[bool]]) -> dict[str, tuple[str, ...]]:
    """Per comparison key, the meters of the power figures among the rows ``where`` selects: one
    GROUP BY, asked only where power is ranked, constrained or drawn."""
    stmt = (
        select(Result.comparison_key, Result.power_meter)
        .where(*where, has_power())
        .group_by(Result.comparison_key, Result.power_meter)
    )
    out: dict[str, set[str]] = {}
    with store.session() as s:
        for key, meter in s.execute(stmt):
            out.setdefault(key, set()).add(meter_name(meter))
    return {key: tuple(sorted(meters)) for key, meters in out.items()}


def page_counts(store: Store, where: Sequence[ColumnElement[bool]]) -> tuple[int, int, tuple[str, ...]]:
    """(matching rows, distinct comparison keys, meters of their power figures) in one aggregate:
    rows grouped by (key, meter), a handful per key."""
    stmt = (
        select(
            Result.comparison_key,
            Result.power_meter,
            func.count().label("n"),
            func.count(Result.power_w).label("powered"),
            func.count(Result.energy_j_per_sample).label("with_energy"),
        )
        .where(*where)
        .group_by(Result.comparison_key, Result.power_meter)
    )
    total, keys, meters = 0, set(), set()
    with store.session() as s:
        for key, meter, n, powered, with_energy in s.execute(stmt):
            total += n
            keys.add(key)
            if powered or with_energy:
                meters.add(meter_name(meter))
    return total, len(keys), tuple(sorted(meters))


def compare_meters(results: Sequence[HubResult], metrics: list[MetricDelta]) -> tuple[list[MetricDelta], str]:
    """Each metered metric's values with their meters, and no delta between values of different
    meters (a board's watts against a wall's is no percentage); the warning when they mix."""
    meters = tuple(r.power_meter for r in results)
    out = []
    for m in metrics:
        if m.name in METERED_METRICS:
            deltas = tuple(d if i == 0 or meters[i] == meters[0] else None for i, d in enumerate(m.delta_pct))
            m = dataclasses.replace(m, delta_pct=deltas, meters=meters)
        out.append(m)
    powered = [meter_name(r.power_meter) for r in results if r.power_text() != "n/a"]
    note = mixed_meters_note(powered, "this comparison")
    if note:
        note += "; no delta is given between figures of different meters"
    return out, note


def with_meters(group: Any, meters: tuple[str, ...], what: str) -> Any:
    """A ParetoGroup or BestGroup with its meters and, when they mix, the warning."""
    return dataclasses.replace(group, power_meters=meters, meter_note=mixed_meters_note(meters, what))
