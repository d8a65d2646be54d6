"""The array side of ``queries.pareto_front``: fetch (id, axes) of every candidate per comparison
key without a Row object per candidate, compute the non-dominated mask, and fetch the label columns
of the points handed out only. SQL through SQLAlchemy expressions; every value a bound parameter."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np
from sqlalchemy import Integer, any_, bindparam, distinct, func, select
from sqlalchemy.dialects import postgresql
from sqlalchemy.sql.elements import ColumnElement

from crowdperf.hub.best_text import result_label
from crowdperf.hub.models import Result
from crowdperf.hub.power_meters import UNRECORDED
from crowdperf.hub.query_types import ParetoPoint
from crowdperf.hub.store import Store


def front_mask(coords: np.ndarray) -> np.ndarray:
    """Mask of the non-dominated rows of ``coords`` (n, axes); every coordinate is already 'higher
    is better'. Sorted by the coordinates (descending), a point is on the front unless a point already
    on the front is >= in every coordinate; of equal points the first row is kept. 2-D: one sweep
    keeping the best second coordinate."""
    mask = np.zeros(len(coords), dtype=bool)
    if not len(coords):
        return mask
    order = np.lexsort(tuple(-coords[:, k] for k in reversed(range(coords.shape[1]))))
    ordered = coords[order]
    if coords.shape[1] == 2:
        best_second = np.maximum.accumulate(ordered[:, 1])
        previous = np.concatenate(([-np.inf], best_second[:-1]))
        mask[order[ordered[:, 1] > previous]] = True
        return mask
    front = np.empty((0, coords.shape[1]))
    for i, c in zip(order, ordered, strict=True):
        if not front.size or not np.any(np.all(front >= c, axis=1)):
            front = np.vstack([front, c])
            mask[i] = True
    return mask


# what a ParetoPoint and a ParetoGroup show besides the coordinates (stage 2 of pareto_front)
_LABEL_COLUMNS = (
    Result.id,
    Result.submitter,
    Result.system_name,
    Result.accelerator,
    Result.accelerator_count,
    Result.model,
    Result.scenario,
    Result.round,
    Result.division,
    Result.power_meter,
)
_IN_CHUNK = 2000  # ids per IN (...) when hydrating: well under SQLite's bound-parameter limit


def labels_by_id(store: Store, ids: Sequence[int]) -> dict[int, Any]:
    """Label columns of the given results, by id; the ids are bound parameters (PostgreSQL: one
    array, ``id = ANY(:ids)``; SQLite: ``id IN (...)`` in chunks under its parameter limit)."""
    if store.dialect == "postgresql":
        ids_param = bindparam("ids", list(ids), type_=postgresql.ARRAY(Integer))
        stmts = [select(*_LABEL_COLUMNS).where(Result.id == any_(ids_param))]
    else:
        stmts = [
            select(*_LABEL_COLUMNS).where(Result.id.in_(list(ids[i : i + _IN_CHUNK])))
            for i in range(0, len(ids), _IN_CHUNK)
        ]
    with store.engine.connect() as conn:
        return {row.id: row for stmt in stmts for row in conn.execute(stmt)}


# (key, ids, coords (n, axes), meters of the power figures when asked) sorted by id
_Candidates = list[tuple[str, np.ndarray, np.ndarray, tuple[str, ...]]]


def candidates(
    store: Store, where: list[ColumnElement[bool]], cols: list[ColumnElement[Any]], *, meters: bool = False
) -> _Candidates:
    """(id, axes) of every candidate, per comparison key in key order, each sorted by id; with
    ``meters`` (a power axis) also the distinct power meters of each key's candidates, read in the
    same pass. Up to 100,000 rows: only these columns, and no Row object per candidate."""
    if store.dialect == "postgresql":
        return _candidates_pg(store, where, cols, meters)
    stmt = select(Result.id, Result.comparison_key, *cols, *([Result.power_meter] if meters else []))
    with store.engine.connect() as conn:
        result = conn.execute(stmt.where(*where))
        rows = result.cursor.fetchall()  # the driver's plain tuples: nothing to process
        result.close()
    if not rows:
        return []
    ids_col, key_col, *axis_cols = zip(*rows, strict=True)
    meters_of: dict[str, set[str]] = {}
    if meters:
        for key, meter in set(zip(key_col, axis_cols.pop(), strict=True)):
            meters_of.setdefault(key, set()).add(meter or UNRECORDED)
    keys = sorted(set(key_col))
    code_of = {k: i for i, k in enumerate(keys)}
    codes = np.fromiter((code_of[k] for k in key_col), dtype=np.int64, count=len(key_col))
    ids = np.array(ids_col, dtype=np.int64)
    order = np.lexsort((ids, codes))  # by key, then id: of equal points the lowest id is on the front
    ids, codes = ids[order], codes[order]
    coords = np.array(axis_cols, dtype=float).T[order]
    cuts = (np.flatnonzero(np.diff(codes)) + 1).tolist()
    return [
        (keys[codes[a]], ids[a:b], coords[a:b], tuple(sorted(meters_of.get(keys[codes[a]], ()))))
        for a, b in zip([0, *cuts], [*cuts, len(ids)], strict=True)
    ]


def _candidates_pg(
    store: Store, where: list[ColumnElement[bool]], cols: list[ColumnElement[Any]], meters: bool
) -> _Candidates:
    """PostgreSQL: one row per key with ``array_agg`` of the ids and of each axis (aggregated
    over the same rows, so aligned), read in psycopg's binary format: ~4x faster than 100,000 rows
    of text. The statement is compiled by SQLAlchemy; every value stays a bound parameter."""
    aggregates = [func.array_agg(Result.id), *(func.array_agg(c) for c in cols)]
    if meters:
        aggregates.append(func.array_agg(distinct(Result.power_meter)))
    stmt = (
        select(Result.comparison_key, *aggregates)
        .where(*where)
        .group_by(Result.comparison_key)
        .order_by(Result.comparison_key)
    )
    with store.engine.connect() as conn:
        compiled = stmt.compile(dialect=conn.dialect, compile_kwargs={"render_postcompile": True})
        with conn.connection.dbapi_connection.cursor(binary=True) as cur:  # type: ignore[union-attr,call-arg]
            cur.execute(str(compiled), compiled.params)
            rows = cur.fetchall()
    out = []
    for key, ids_list, *axis_lists in rows:
        found = tuple(sorted({m or UNRECORDED for m in axis_lists.pop()})) if meters else ()
        ids = np.array(ids_list, dtype=np.int64)
        order = np.argsort(ids, kind="stable")
        coords = np.array(axis_lists, dtype=float).T
        out.append((key, ids[order], coords[order], found))
    return out


def point(label: Any, coords: list[float], on_front: bool) -> ParetoPoint:
    return ParetoPoint(
        id=label.id,
        label=result_label(label.submitter, label.system_name),
        accelerator=label.accelerator,
        accelerator_count=label.accelerator_count,
        coords=tuple(coords),
        on_front=on_front,
        power_meter=label.power_meter,
    )
