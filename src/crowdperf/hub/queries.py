"""The one query layer behind the CLI, the JSON API and the pages.

    list_results(store, ResultFilter(model="bert-99", scenario="Offline"), sort="-throughput")
    get_result(store, 42)
    compare_results(store, [3, 7, 9])                       # side by side, deltas vs the first
    pareto_front(store, ResultFilter(scenario="Offline"), ["throughput", "accuracy"])
    best_configurations(store, Constraints(scenario="Offline", min_accuracy_f1=89.9))

Everything returns frozen dataclasses (``hub/query_types.py``). Rankings never mix comparison
keys: ``pareto_front`` and ``best_configurations`` answer per key, and a ``ResultPage`` says
whether its rows share one key. SQL is built with SQLAlchemy expressions only; every user value is
a bound parameter.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Sequence
from typing import Any

import numpy as np
from sqlalchemy import Select, and_, case, func, literal, or_, select, true
from sqlalchemy.sql.elements import ColumnElement

from crowdperf.errors import UsageError
from crowdperf.hub.best_text import lead_key
from crowdperf.hub.models import Result
from crowdperf.hub.pareto_arrays import candidates, front_mask, labels_by_id, point
from crowdperf.hub.power_meters import energy_cost_line, mixed_meters_note
from crowdperf.hub.power_queries import (
    compare_meters,
    meter_name,
    metered,
    meters_between,
    page_counts,
    power_where,
    with_meters,
)
from crowdperf.hub.prices import PriceTable, load_price_table
from crowdperf.hub.query_types import (
    AXES,
    MAX_ROWS,
    POWER_COLUMNS,
    Axis,
    BestAnswer,
    BestGroup,
    Comparison,
    Constraints,
    HubResult,
    MetricDelta,
    ParetoFront,
    ParetoGroup,
    ResultFilter,
    ResultPage,
)
from crowdperf.hub.row_checks import NUMBER_BOUNDS, SAMPLES_PER_S
from crowdperf.hub.store import Store

__all__ = [
    "AXES",
    "SORT_FIELDS",
    "best_configurations",
    "compare_results",
    "get_result",
    "list_results",
    "pareto_front",
    "sort_keys",
]

_COST = "usd_per_million"
_HUGE = 1e300
EVERYTHING = ResultFilter(include_hidden=True)  # the default of get/compare: the CLI's own database
# sort name -> column (cost is computed from the price table)
SORT_FIELDS: tuple[str, ...] = (
    "id",
    "throughput",
    "throughput_per_accelerator",
    "latency_ms",
    "accuracy_f1",
    "power_w",
    "energy_j_per_sample",
    "power_meter",
    _COST,
    "energy_usd_per_million",  # one price per kWh: the order of energy per sample
    "value",
    "submitter",
    "system_name",
    "accelerator",
    "model",
    "scenario",
    "round",
    "division",
    "backend",
    "precision",
    "imported_at",
)


def _cost_expr(store: Store, prices: PriceTable) -> ColumnElement[Any]:
    """USD per million samples as SQL: CASE over the distinct accelerator names, prices bound."""
    branches = []
    for name in store.accelerator_names():
        price = prices.lookup(name)
        if price is not None:
            branches.append((Result.accelerator == name, literal(price.usd_per_accelerator_hour)))
    if not branches:
        return literal(None).label(_COST)
    hourly = case(*branches, else_=None) * Result.accelerator_count
    # a count of 0 has no price; the bounds are row_checks' (rows stored before them may be wild):
    # PostgreSQL raises on float overflow and underflow, so an absurd throughput must not get here
    usable = and_(
        Result.throughput.between(SAMPLES_PER_S.low, SAMPLES_PER_S.high),
        Result.accelerator_count.between(1, NUMBER_BOUNDS["accelerator_count"].high),
    )
    cost = case((usable, hourly * 1e6 / (Result.throughput * 3600.0)), else_=None)
    return cost.label(_COST)


def _where(flt: ResultFilter) -> list[ColumnElement[bool]]:
    conds: list[ColumnElement[bool]] = []
    exact = {
        Result.model: flt.model,
        Result.scenario: flt.scenario,
        Result.division: flt.division,
        Result.round: flt.round,
        Result.backend: flt.backend,
        Result.precision: flt.precision,
        Result.comparison_key: flt.comparison_key,
        Result.source: flt.source,
    }
    for column, value in exact.items():
        if value:
            conds.append(column == value)
    # case-insensitive substring matches; the value is a bound parameter, LIKE wildcards escaped
    for column, value in (
        (Result.accelerator, flt.accelerator),
        (Result.submitter, flt.submitter),
        (Result.system_name, flt.system),
    ):
        if value:
            pattern = "%" + value.lower().replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_") + "%"
            conds.append(func.lower(column).like(pattern, escape="\\"))
    if flt.min_accuracy_f1 is not None:
        conds.append(Result.accuracy_f1 >= flt.min_accuracy_f1)
    if flt.valid_only:
        conds.append(Result.valid.is_(True))
    if not flt.include_hidden:
        visible: ColumnElement[bool] = Result.hidden.is_(False)
        if flt.hidden_owner:
            visible = or_(visible, Result.uploader == flt.hidden_owner)
        conds.append(visible)
    if flt.ids:
        conds.append(Result.id.in_(list(flt.ids)))
    return [*conds, *power_where(flt)]


_SORT_COLUMN = {"energy_usd_per_million": "energy_j_per_sample"}


def sort_keys(sort: str) -> list[tuple[str, bool]]:
    """``"-throughput,id"`` -> [("throughput", True), ("id", False)]; a UsageError for a field
    that cannot be sorted by (checked before any database is opened)."""
    out = []
    for part in [p.strip() for p in sort.split(",") if p.strip()]:
        name = part.lstrip("-+")
        if name not in SORT_FIELDS:
            raise UsageError(
                f"cannot sort by {name!r}",
                hint=f"use one of {', '.join(SORT_FIELDS)} (prefix - for descending)",
            )
        out.append((name, part.startswith("-")))
    return out


def _order(sort: str, cost: ColumnElement[Any]) -> list[Any]:
    out = []
    for name, desc in sort_keys(sort):
        column = cost if name == _COST else getattr(Result, _SORT_COLUMN.get(name, name))
        # NULLs last in both directions (SQLite and PostgreSQL; PostgreSQL has matching indexes)
        out.append((column.desc() if desc else column.asc()).nulls_last())
    out.append(Result.id.asc())  # stable pagination
    return out


# plain columns, not ORM entities: no identity map, no big text columns (summary, system JSON)
_ROW_COLUMNS = tuple(getattr(Result, name) for name in HubResult.column_names())


def _rows(store: Store, stmt: Select[Any], prices: PriceTable) -> list[HubResult]:
    with store.session() as s:
        return [HubResult.from_row(row, row.usd_per_million, prices) for row in s.execute(stmt)]


def list_results(
    store: Store,
    flt: ResultFilter | None = None,
    *,
    sort: str = "-throughput",
    limit: int | None = 50,
    offset: int = 0,
    prices: PriceTable | None = None,
) -> ResultPage:
    """Filtered, sorted rows; ``limit=None`` returns every matching row."""
    flt = flt or ResultFilter()
    prices = prices or load_price_table()
    if not 0 <= offset <= MAX_ROWS or (limit is not None and not 1 <= limit <= MAX_ROWS):
        raise UsageError(f"limit must be 1 to {MAX_ROWS:,} and offset 0 to {MAX_ROWS:,}")
    cost = _cost_expr(store, prices)
    where = _where(flt)
    if flt.max_usd_per_million is not None:
        where.append(cost <= flt.max_usd_per_million)
    stmt = select(*_ROW_COLUMNS, cost).where(*where).order_by(*_order(sort, cost)).offset(offset)
    if limit is not None:
        stmt = stmt.limit(limit)
    # one hash aggregate by (key, meter) gives the total, the comparison keys and the power meters
    total, keys, meters = page_counts(store, where)
    rows = _rows(store, stmt, prices)
    return ResultPage(
        rows=tuple(rows),
        total=int(total),  # PostgreSQL: SUM(bigint) is NUMERIC, a Decimal
        offset=offset,
        limit=limit,
        sort=sort,
        comparison_keys=keys,
        price_table=prices.origin,
        power_meters=meters,
        meter_note=mixed_meters_note(meters, "these results"),
    )


def get_result(
    store: Store, result_id: int, *, prices: PriceTable | None = None, visible: ResultFilter | None = None
) -> HubResult | None:
    """One result; ``visible`` says whose hidden results may be seen (default: everyone's, as the
    CLI on its own database; the web passes the viewer's)."""
    flt = dataclasses.replace(visible or EVERYTHING, ids=(result_id,))
    page = list_results(store, flt, limit=1, prices=prices)
    return page.rows[0] if page.rows else None


_COMPARE_METRICS: tuple[tuple[str, str, str], ...] = (
    ("value", "", "metric"),  # unit and direction filled per scenario
    ("throughput", "samples/s", "higher"),
    ("throughput_per_accelerator", "samples/s", "higher"),
    ("latency_ms", "ms", "lower"),
    ("latency_p99_ms", "ms", "lower"),
    ("accuracy_f1", "F1", "higher"),
    ("power_w", "W", "lower"),
    ("energy_j_per_sample", "J", "lower"),
    (_COST, "USD", "lower"),
    ("energy_usd_per_million", "USD", "lower"),
)


def compare_results(
    store: Store, ids: Sequence[int], *, prices: PriceTable | None = None, visible: ResultFilter | None = None
) -> Comparison:
    """Results side by side in the given order; deltas (percent) against the first one. A result
    ``visible`` does not show (default: all) is reported missing like an absent one."""
    if len(ids) < 2:
        raise UsageError("compare needs at least two result ids", hint="e.g. crowdperf hub compare 3 7")
    flt = dataclasses.replace(visible or EVERYTHING, ids=tuple(ids))
    page = list_results(store, flt, limit=None, prices=prices)
    by_id = {r.id: r for r in page.rows}
    missing = [i for i in ids if i not in by_id]
    if missing:
        raise UsageError(f"no result with id {', '.join(map(str, missing))}", hint="see crowdperf hub list")
    results = tuple(by_id[i] for i in ids)
    metrics = []
    for name, unit, better in _COMPARE_METRICS:
        values = tuple(getattr(r, name) for r in results)
        if all(v is None for v in values):
            continue
        if name == "value":
            unit = results[0].unit
            better = "lower" if results[0].unit == "ms" else "higher"
        base = values[0]
        deltas = tuple(None if v is None or not base else (v - base) / abs(base) * 100.0 for v in values)
        metrics.append(MetricDelta(name=name, unit=unit, better=better, values=values, delta_pct=deltas))
    metrics, meter_note = compare_meters(results, metrics)
    keys = {r.comparison_key for r in results}
    note = (
        ""
        if len(keys) == 1
        else (
            f"these results have {len(keys)} different comparison keys (model, scenario, round, division or "
            "LoadGen settings differ): the numbers are shown side by side but are not comparable"
        )
    )
    return Comparison(
        results=results, metrics=tuple(metrics), comparable=len(keys) == 1, note=note, meter_note=meter_note
    )


def _axis_column(axis: Axis, cost: ColumnElement[Any]) -> ColumnElement[Any]:
    return cost if axis.column == _COST else getattr(Result, axis.column)


def _finite(column: ColumnElement[Any]) -> ColumnElement[bool]:
    """Not NULL, not +-Infinity, not NaN (PostgreSQL sorts NaN above every number; SQLite stores
    it as NULL): a value stored before the row checks must not win a ranking or a front."""
    return and_(column > -_HUGE, column < _HUGE)


def pareto_front(
    store: Store,
    flt: ResultFilter | None,
    axes: Sequence[str],
    *,
    prices: PriceTable | None = None,
    max_points: int = 5000,
    focus: str | None = None,
) -> ParetoFront:
    """Per comparison key: the points (results having every axis) and which lie on the front.
    ``focus`` (a chart draws one key): only that key's group, or the largest group when no group
    has that key, gets dominated points; the other groups carry their front only.

    Two stages: only (id, key, axes) of every candidate are fetched and the fronts computed on
    arrays; then the label columns of the points handed out (the front, then other points up to
    ``max_points`` per key) are fetched by id."""
    if not 2 <= len(axes) <= 3 or len(set(axes)) != len(axes):
        raise UsageError(
            "a Pareto front needs two or three different axes", hint=f"choose from {', '.join(AXES)}"
        )
    unknown = [a for a in axes if a not in AXES]
    if unknown:
        raise UsageError(f"unknown axis {unknown[0]!r}", hint=f"choose from {', '.join(AXES)}")
    flt = flt or ResultFilter()
    prices = prices or load_price_table()
    cost = _cost_expr(store, prices)
    axis_objs = [AXES[a] for a in axes]
    cols = [_axis_column(a, cost) for a in axis_objs]
    where = [*_where(flt), *(_finite(c) for c in cols)]
    powered = any(a.column in POWER_COLUMNS for a in axis_objs)  # a front over power: whose figures?
    groups = candidates(store, where, cols, meters=powered)
    meters = {key: found for key, _, _, found in groups}
    signs = np.array([1.0 if a.higher_is_better else -1.0 for a in axis_objs])
    picked = []  # per key: (key, ids, coords, indices handed out: the front first, then others by id)
    for key, ids, coords, _ in groups:
        on_front = front_mask(coords * signs)
        front_idx = np.flatnonzero(on_front)
        others = np.flatnonzero(~on_front)[: max(max_points - len(front_idx), 0)]
        picked.append((key, ids, coords, front_idx, others))
    if focus is not None and picked:
        keys = [key for key, *_ in picked]
        # the largest group as chart_data picks it: groups sorted by -total, stable in key order
        chosen = focus if focus in keys else max(picked, key=lambda p: (len(p[1]), -keys.index(p[0])))[0]
        empty = np.empty(0, dtype=np.int64)
        picked = [(k, i, c, f, o if k == chosen else empty) for k, i, c, f, o in picked]
    wanted = set()
    for _, ids, _, front_idx, others in picked:
        wanted.add(int(ids[0]))  # the key's lowest id names its model, scenario, round, division
        wanted.update(ids[front_idx].tolist())
        wanted.update(ids[others].tolist())
    labels = labels_by_id(store, sorted(wanted))
    out = []
    for key, ids, coords, front_idx, others in picked:
        points = [
            point(labels[i], xyz, on_front)
            for idx, on_front in ((front_idx, True), (others, False))
            for i, xyz in zip(ids[idx].tolist(), coords[idx].tolist(), strict=True)
        ]
        out.append(ParetoGroup.build(key, labels[int(ids[0])], len(ids), points))
    if powered:
        out = [with_meters(g, meters[g.comparison_key], "this front") for g in out]
    out.sort(key=lambda g: -g.total)
    return ParetoFront(axes=tuple(axes), groups=tuple(out), price_table=prices.origin)


def _constraint_where(c: Constraints, cost: ColumnElement[Any]) -> list[tuple[str, ColumnElement[bool]]]:
    """(explanation, condition) per active constraint."""
    out: list[tuple[str, ColumnElement[bool]]] = []
    if c.min_accuracy_f1 is not None:
        out.append((f"F1 >= {c.min_accuracy_f1:g}", Result.accuracy_f1 >= c.min_accuracy_f1))
    if c.max_latency_ms is not None:
        out.append((f"latency <= {c.max_latency_ms:g} ms", Result.latency_ms <= c.max_latency_ms))
    if c.max_watts is not None:
        out.append((f"power <= {c.max_watts:g} W", Result.power_w <= c.max_watts))
    if c.max_joules_per_sample is not None:
        limit = c.max_joules_per_sample
        out.append((f"energy <= {limit:g} J/sample", Result.energy_j_per_sample <= limit))
    if c.max_usd_per_million is not None:
        out.append((f"cost <= ${c.max_usd_per_million:g} per million samples", cost <= c.max_usd_per_million))
    return out


def best_configurations(
    store: Store,
    constraints: Constraints,
    *,
    prices: PriceTable | None = None,
    top: int = 5,
) -> BestAnswer:
    """Rank the configurations meeting ``constraints`` by ``constraints.objective``, per
    comparison key, and explain why the winner wins and what the runner-up costs."""
    if constraints.objective not in AXES:
        raise UsageError(
            f"unknown objective {constraints.objective!r}", hint=f"choose from {', '.join(AXES)}"
        )
    prices = prices or load_price_table()
    cost = _cost_expr(store, prices)
    base = _where(constraints.as_filter())
    active = _constraint_where(constraints, cost)
    axis = AXES[constraints.objective]
    objective = _axis_column(axis, cost)
    # how many results each constraint removes, and the lowest and highest power meter of those
    # meeting them (one meter when they agree), in one aggregate query per comparison key
    meets = and_(true(), _finite(objective), *(cond for _, cond in active))
    counts = [
        func.count(Result.id),
        func.sum(case((meets, 1), else_=0)),
        func.min(metered(meets)),
        func.max(metered(meets)),
    ] + [func.sum(case((or_(~cond, cond.is_(None)), 1), else_=0)) for _, cond in active]
    with store.session() as s:
        per_key = {
            row[0]: (row[1], int(row[2] or 0), row[5:], row[3:5])
            for row in s.execute(
                select(Result.comparison_key, *counts).where(*base).group_by(Result.comparison_key)
            )
        }

    def meeting_meters(key: str) -> tuple[str, ...]:
        def exact() -> list[str | None]:
            stmt = select(metered(meets)).where(*base, Result.comparison_key == key).distinct()
            with store.session() as s:
                return list(s.scalars(stmt))

        low, high = per_key[key][3]
        return meters_between(store, low, high, exact)

    ranked_col = (
        func.row_number()
        .over(
            partition_by=Result.comparison_key,
            order_by=[objective.desc() if axis.higher_is_better else objective.asc(), Result.id.asc()],
        )
        .label("rank")
    )
    inner = select(Result.id, ranked_col).where(*base, *(c for _, c in active), _finite(objective)).subquery()
    stmt = (
        select(*_ROW_COLUMNS, cost, inner.c.rank)
        .join(inner, inner.c.id == Result.id)
        .where(inner.c.rank <= top)
        .order_by(Result.comparison_key, inner.c.rank)
    )
    grouped: dict[str, list[HubResult]] = {}
    with store.session() as s:
        for row in s.execute(stmt):
            grouped.setdefault(row.comparison_key, []).append(
                HubResult.from_row(row, row.usd_per_million, prices)
            )
    groups = [
        BestGroup.build(
            key,
            grouped.get(key, []),
            per_key[key][0],
            per_key[key][1],
            dict(zip([t for t, _ in active], per_key[key][2], strict=True)),
            axis,
        )
        for key in per_key
    ]
    groups = _best_power(constraints, meeting_meters, groups)
    groups.sort(key=lambda g: (not g.ranking, -g.candidates))
    return BestAnswer(
        constraints=constraints,
        objective=constraints.objective,
        groups=tuple(groups),
        comparable_note=(
            ""
            if len(groups) <= 1
            else f"{len(groups)} comparison keys match: each has its own ranking, "
            "numbers from different keys are not comparable"
        ),
        price_table=prices.origin,
        lead_key=lead_key(groups),
    )


def _best_power(
    c: Constraints, meeting: Callable[[str], tuple[str, ...]], groups: list[BestGroup]
) -> list[BestGroup]:
    """Each ranking's power figures with their meters: the winner's energy cost, and a warning
    when the ranking ranks by power, or constrains it, over figures of several meters (``meeting``:
    of every row of a key meeting the constraints) or shows figures of several meters (its own rows)."""
    by_power = AXES[c.objective].column in POWER_COLUMNS
    weighed = by_power or c.max_watts is not None or c.max_joules_per_sample is not None
    out = []
    for g in groups:
        shown = {meter_name(r.power_meter) for r in g.ranking if r.power_text() != "n/a"}
        if weighed:
            shown |= set(meeting(g.comparison_key))
        g = with_meters(g, tuple(sorted(shown)), "this ranking")
        line = energy_cost_line(g.ranking[0]) if g.ranking else None
        out.append(dataclasses.replace(g, explanation=(*g.explanation, line)) if line else g)
    return out
