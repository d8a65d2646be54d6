"""The store's write version, and one row per result whatever the import root.

1. ``hub_version``: one row whose ``version`` grows whenever ``results`` changes. Triggers bump it
   (SQLite: per row; PostgreSQL: per statement), so every writer counts, including other processes
   (a CLI import next to ``hub serve``) and plain SQL. The web app keys its response cache on it.
2. Identity: a result's path (and so its content hash) is now relative to the folder above the
   division (``<division>/<submitter>/results/<system>/<model>/<scenario>``), not to wherever the
   import started. Stored paths are rewritten to that form; a row imported from a division or
   submitter folder had its hash computed over the old path, so its hash is marked ``legacy:`` and
   the importer re-keys it when it meets the same result again (``importer._rekey_legacy``).
3. Rows that are the same result twice (same canonical path and the same stored content: the
   duplicates the old identity let in) are reduced to the lowest id.
4. The submitter is the submitter folder's name, as in MLPerf's own results tables (a system
   JSON may spell it differently from its neighbours: ``Supermicro``/``supermicro``).

Revision ID: 0003
Revises: 0002
"""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa
from alembic import op

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None

LEGACY = "legacy:"
_SAME_CONTENT = ("path", "value", "summary_text", "system_json", "settings_json", "accuracy_value")
_SQLITE_EVENTS = ("INSERT", "UPDATE", "DELETE")


def _version_table() -> None:
    op.create_table(
        "hub_version",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("version", sa.BigInteger(), nullable=False),
    )
    op.execute("INSERT INTO hub_version (id, version) VALUES (1, 0)")
    if op.get_bind().dialect.name == "postgresql":
        op.execute(
            "CREATE FUNCTION hub_bump_version() RETURNS trigger LANGUAGE plpgsql AS $$ "
            "BEGIN UPDATE hub_version SET version = version + 1 WHERE id = 1; RETURN NULL; END $$"
        )
        op.execute(
            "CREATE TRIGGER results_bump_version AFTER INSERT OR UPDATE OR DELETE OR TRUNCATE "
            "ON results FOR EACH STATEMENT EXECUTE FUNCTION hub_bump_version()"
        )
        return
    for event in _SQLITE_EVENTS:  # SQLite has row triggers only; one row's page, cheap
        op.execute(
            f"CREATE TRIGGER results_bump_version_{event.lower()} AFTER {event} ON results "
            "BEGIN UPDATE hub_version SET version = version + 1 WHERE id = 1; END"
        )


def canonical_path(path: str, division: str) -> tuple[str, bool]:
    """(path from the division folder, whether the stored hash was computed over this path)."""
    parts = path.split("/")
    if "results" not in parts:
        return path, True
    at = parts.index("results")
    if at >= 2:
        return "/".join(parts[at - 2 :]), at == 2
    if at == 1 and division:  # imported from the division folder: <submitter>/results/...
        return f"{division}/{path}", False
    return path, False  # imported from the submitter folder: its division folder is unknown


def _rewrite_paths(bind: sa.Connection) -> None:
    results = sa.table(
        "results",
        sa.column("id", sa.Integer),
        sa.column("path", sa.String),
        sa.column("division", sa.String),
        sa.column("submitter", sa.String),
        sa.column("content_hash", sa.String),
    )
    rows = bind.execute(sa.select(results.c.id, results.c.path, results.c.division)).all()
    for rid, path, division in rows:
        new_path, hash_current = canonical_path(path, division)
        values: dict[str, Any] = {}
        if new_path != path:
            values["path"] = new_path
        if not hash_current:
            values["content_hash"] = sa.literal(LEGACY) + sa.func.substr(results.c.content_hash, 1, 57)
        parts = new_path.split("/")
        if len(parts) > 2 and parts[2] == "results":
            values["submitter"] = parts[1]
        if values:
            bind.execute(sa.update(results).where(results.c.id == rid).values(**values))


def _drop_duplicates(bind: sa.Connection) -> None:
    results = sa.table("results", sa.column("id", sa.Integer), *(sa.column(c) for c in _SAME_CONTENT))
    keep = sa.select(sa.func.min(results.c.id)).group_by(*(results.c[c] for c in _SAME_CONTENT))
    bind.execute(sa.delete(results).where(results.c.id.not_in(keep)))


def upgrade() -> None:
    bind = op.get_bind()
    _rewrite_paths(bind)
    _drop_duplicates(bind)
    _version_table()


def downgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        op.execute("DROP TRIGGER IF EXISTS results_bump_version ON results")
        op.execute("DROP FUNCTION IF EXISTS hub_bump_version()")
    else:
        for event in _SQLITE_EVENTS:
            op.execute(f"DROP TRIGGER IF EXISTS results_bump_version_{event.lower()}")
    op.drop_table("hub_version")
