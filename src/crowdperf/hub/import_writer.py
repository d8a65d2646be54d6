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
from crowdperf.meters.record import POWER_JSON
from crowdperf.mlperf.layout import PROVENANCE

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
# A file of crowdperf's that the hub began to read later -> the columns read from it. A row stored
# before (its hash left the file out, or its tree lacked it) has them all NULL; the next import of
# the same result by the same source updates that row (its hash and these columns) instead of
# storing the result twice. power.json: migration 0004; provenance.json: migration 0005 (v6 trees
# carry it since then).
_POWER = ("power_meter", "power_scope", "power_w", "energy_j_per_sample", "power_note")
_SCHEDULING = ("batch_size", "sut_workers_per_device")
READ_LATER: dict[str, tuple[str, ...]] = {POWER_JSON: _POWER, PROVENANCE: _SCHEDULING}
_KEPT = (Result.id, Result.source, *(getattr(Result, c) for c in (*_SAME, *_POWER, *_SCHEDULING)))


def legacy_rows(store: Store) -> dict[str, list[dict[str, Any]]]:
    """Rows whose hash predates canonical paths, by path (none in a database made since)."""
    with store.session() as s:
        query = select(Result.path, *_KEPT).where(Result.content_hash.startswith(LEGACY_PREFIX))
        found = s.execute(query).all()
    out: dict[str, list[dict[str, Any]]] = {}
    for row in found:
        out.setdefault(row.path, []).append(row._asdict())
    return out


def rekey_legacy(store: Store, candidates: list[dict[str, Any]], row: dict[str, Any]) -> bool:
    """Give the stored row that is this same result its new content hash (and, where it was stored
    before the hub read one of ``READ_LATER``'s files, by the same source, the fresh row's columns
    of that file: another uploader's power.json or provenance.json never lands in someone else's
    row); False when none is."""
    for old in candidates:
        if all(old[c] == row[c] for c in _SAME):
            candidates.remove(old)
            values = {"content_hash": row["content_hash"]}
            for columns in READ_LATER.values():
                if old["source"] == row["source"] and all(old[c] is None for c in columns):
                    values.update({c: row[c] for c in columns})
            rekey = update(Result).where(Result.id == old["id"]).values(**values)
            try:
                with store.session() as s:
                    changed = s.execute(rekey).rowcount  # type: ignore[attr-defined]
            except IntegrityError:  # another importer stored it under the new hash meanwhile
                return False
            return bool(changed)
    return False


def _unread(columns: tuple[str, ...]) -> list[Any]:
    return [getattr(Result, c).is_(None) for c in columns]


def unread_paths(store: Store, source: str, file: str) -> dict[str, list[int]]:
    """Ids of the rows ``source`` stored before the hub read ``file`` (``READ_LATER``: its columns
    all NULL), by path. The next import of such a result with that file must update the row
    (``adopt_unread_row``), not add the same result again. Only the same source's: a file
    uploaded by someone else is their own row."""
    with store.session() as s:
        query = select(Result.id, Result.path).where(Result.source == source, *_unread(READ_LATER[file]))
        found = s.execute(query).all()
    out: dict[str, list[int]] = {}
    for result_id, path in found:
        out.setdefault(path, []).append(result_id)
    return out


def adopt_unread_row(store: Store, ids: list[int], row: dict[str, Any], file: str) -> bool:
    """The row among ``ids`` (``unread_paths``) that is this same result takes its new hash and
    the columns of ``file``; False when none is (or another importer took it first)."""
    with store.session() as s:
        query = select(*_KEPT).where(Result.id.in_(ids), *_unread(READ_LATER[file]))
        stored = [r._asdict() for r in s.execute(query)]
    for old in stored:
        ids.remove(old["id"])
    return rekey_legacy(store, stored, row)
