"""The query layer's power side: the meter and power filters as SQL, which meters a set of
results' figures come from, and the warnings when they are more than one (``queries.py`` calls
these; the words are ``power_meters.py``'s).

A set of figures "mixes meters" when its rows having a power or energy figure name more than one
``power_meter`` (a row stored before the hub recorded meters counts as "unrecorded"): a GPU board's
watts (nvml), a CPU package's (rapl) and a whole system's at the wall (PTD) are different things.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Iterable, Sequence
from typing import Any

from sqlalchemy import and_, case, func, or_, select
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


def metered(condition: ColumnElement[bool] | None = None) -> ColumnElement[Any]:
    """A row's meter where it has a power figure (and ``condition``), else NULL: min() and max()
    of it per group say whether the group's figures come from one meter."""
    when = has_power() if condition is None else and_(condition, has_power())
    return case((when, func.coalesce(Result.power_meter, UNRECORDED)), else_=None)


def stored_meters(store: Store) -> tuple[str, ...]:
    """Every meter of a stored figure (cached until the next write)."""

    def compute() -> tuple[str, ...]:
        stmt = select(metered()).where(has_power()).distinct()
        with store.session() as s:
            return tuple(sorted(m for (m,) in s.execute(stmt)))

    return store.cached("power_meters", compute)


def meters_between(
    store: Store, low: str | None, high: str | None, exact: Callable[[], Iterable[str | None]]
) -> tuple[str, ...]:
    """The meters of a group whose figures' smallest and largest meter names are ``low`` and
    ``high`` (SQL min/max): one when they agree; both when the whole store holds no third (the
    usual case: PTD's and one software meter's); else ``exact()`` asks the database."""
    if low is None or high is None:
        return ()
    if low == high:
        return (low,)
    if len(stored_meters(store)) <= 2:
        return tuple(sorted({low, high}))
    return tuple(sorted({m for m in exact() if m is not None}))


def page_counts(store: Store, where: Sequence[ColumnElement[bool]]) -> tuple[int, int, tuple[str, ...]]:
    """(matching rows, distinct comparison keys, meters of their power figures): one hash aggregate
    per key (the plan the count had before meters: the filter's index, then grouping), whose
    min/max meter say whether the figures mix meters."""
    per_key = (
        select(func.count().label("n"), func.min(metered()).label("low"), func.max(metered()).label("high"))
        .select_from(Result)
        .where(*where)
        .group_by(Result.comparison_key)
        .subquery()
    )
    counts = (func.coalesce(func.sum(per_key.c.n), 0), func.count())
    outer = select(*counts, func.min(per_key.c.low), func.max(per_key.c.high)).select_from(per_key)
    with store.session() as s:
        total, keys, low, high = s.execute(outer).one()

    def exact() -> list[str | None]:
        with store.session() as s:
            return list(s.scalars(select(metered()).where(*where, has_power()).distinct()))

    return int(total), int(keys), meters_between(store, low, high, exact)


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
