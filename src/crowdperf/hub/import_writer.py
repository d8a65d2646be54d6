"""The importer's writes: rows and failures into the store, safe against a second importer
writing the same results at the same time and against a row the database refuses.

    inserted, refused = insert_results(store, rows)   # hashes stored now; (path, reason) refused
    insert_failures(store, failures)

Rows go in with ``INSERT ... ON CONFLICT (content_hash) DO NOTHING RETURNING content_hash``
(SQLite >= 3.35 and PostgreSQL): a result another process stored a moment ago is simply not
inserted again, and the hashes returned say which rows this import added. When the database
refuses a batch anyway (a value the row checks did not foresee), the batch is retried row by row
so one bad row costs only itself, and its reason is recorded like any other failure.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from sqlalchemy import select, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.exc import DBAPIError, IntegrityError

from crowdperf.hub.models import ImportFailure, Result
from crowdperf.hub.store import Store

LEGACY_PREFIX = "legacy:"  # content hashes from before paths were canonical (migration 0003)


def _insert(store: Store, table: Any) -> postgresql.Insert | sqlite.Insert:
    """The dialect's INSERT, which has ON CONFLICT (both dialects spell it the same)."""
    return postgresql.insert(table) if store.dialect == "postgresql" else sqlite.insert(table)


def _insert_rows(store: Store, rows: Sequence[dict[str, Any]]) -> set[str]:
    stmt = (
        _insert(store, Result.__table__)
        .on_conflict_do_nothing(index_elements=["content_hash"])
        .returning(Result.__table__.c.content_hash)
    )
    # Core, not the ORM session: the session's bulk path runs one statement per few rows and
    # splices the RETURNING rows back together (2.4x slower); Core sends multi-row VALUES batches
    with store.engine.begin() as conn:
        return set(conn.execute(stmt, list(rows)).scalars())


# SQLite's driver raises OverflowError itself (an integer past 64 bits), not through the DBAPI
_REFUSED = (DBAPIError, OverflowError)


def _refusal(exc: Exception) -> str:
    first = str(getattr(exc, "orig", None) or exc).strip().splitlines()
    return f"the database refused the row: {first[0] if first else type(exc).__name__}"


def insert_results(store: Store, rows: Sequence[dict[str, Any]]) -> tuple[set[str], list[tuple[str, str]]]:
    """(content hashes inserted by this call, (path, reason) of rows the database refused)."""
    if not rows:
        return set(), []
    try:
        return _insert_rows(store, rows), []
    except _REFUSED:
        pass  # one row spoilt the batch: find it
    inserted: set[str] = set()
    refused: list[tuple[str, str]] = []
    for row in rows:
        try:
            inserted |= _insert_rows(store, [row])
        except _REFUSED as exc:
            refused.append((row["path"], _refusal(exc)))
    return inserted, refused


def insert_failures(store: Store, failures: Sequence[dict[str, Any]]) -> None:
    if not failures:
        return
    stmt = _insert(store, ImportFailure.__table__).on_conflict_do_nothing(
        index_elements=["source", "path", "content_hash"]
    )
    with store.engine.begin() as conn:
        conn.execute(stmt, list(failures))


# what a stored row must share with a freshly parsed one to be the same result
_SAME = ("value", "summary_text", "system_json", "settings_json", "accuracy_value")
# what a row imported before migration 0004 (power_meter NULL) takes from the fresh one
_POWER = ("power_meter", "power_scope", "power_w", "energy_j_per_sample", "power_note")


def legacy_rows(store: Store) -> dict[str, list[dict[str, Any]]]:
    """Rows whose hash predates canonical paths, by path (none in a database made since)."""
    cols = [Result.id, Result.path, Result.source, Result.power_meter, *(getattr(Result, c) for c in _SAME)]
    with store.session() as s:
        found = s.execute(select(*cols).where(Result.content_hash.startswith(LEGACY_PREFIX))).all()
    out: dict[str, list[dict[str, Any]]] = {}
    for row in found:
        out.setdefault(row.path, []).append(row._asdict())
    return out


def rekey_legacy(store: Store, candidates: list[dict[str, Any]], row: dict[str, Any]) -> bool:
    """Give the stored row that is this same result its new content hash (and, when it was stored
    before the hub read power.json by the same source, the fresh row's power: another uploader's
    power.json never lands in someone else's row); False when none is."""
    for old in candidates:
        if all(old[c] == row[c] for c in _SAME):
            candidates.remove(old)
            values = {"content_hash": row["content_hash"]}
            if old["power_meter"] is None and old["source"] == row["source"]:
                values.update({c: row[c] for c in _POWER})
            rekey = update(Result).where(Result.id == old["id"]).values(**values)
            try:
                with store.session() as s:
                    changed = s.execute(rekey).rowcount  # type: ignore[attr-defined]
            except IntegrityError:  # another importer stored it under the new hash meanwhile
                return False
            return bool(changed)
    return False


def pre_power_paths(store: Store, source: str) -> dict[str, list[int]]:
    """Ids of the rows ``source`` stored before the hub read power.json (migration 0004:
    power_meter NULL), by path. Their hash was computed without power.json: the next import of a
    result that has one must update that row (``adopt_pre_power_row``), not add the same result
    again. Only the same source's: a power.json uploaded by someone else is their own row."""
    unread = (Result.power_meter.is_(None), Result.source == source)
    with store.session() as s:
        found = s.execute(select(Result.id, Result.path).where(*unread)).all()
    out: dict[str, list[int]] = {}
    for result_id, path in found:
        out.setdefault(path, []).append(result_id)
    return out


def adopt_pre_power_row(store: Store, ids: list[int], row: dict[str, Any]) -> bool:
    """The row among ``ids`` that is this same result takes its new hash and its power; False
    when none is (or another importer took it first)."""
    cols = [Result.id, Result.source, Result.power_meter, *(getattr(Result, c) for c in _SAME)]
    with store.session() as s:
        found = [r._asdict() for r in s.execute(select(*cols).where(Result.id.in_(ids)))]
    stored = [r for r in found if r["power_meter"] is None]
    for old in stored:
        ids.remove(old["id"])
    return rekey_legacy(store, stored, row)
