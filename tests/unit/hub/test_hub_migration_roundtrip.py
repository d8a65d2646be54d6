"""Every Alembic downgrade undoes its upgrade exactly: from all heads, one revision at a time down to
base, the schema at each step (tables, columns, indexes, constraints, triggers, functions) equals
the one a fresh upgrade to the same revisions builds. A downgrade that copies a table (Alembic's
batch mode on SQLite) silently drops the triggers and other objects defined outside the table's own
CREATE statement; this is the test that notices. SQLite and PostgreSQL."""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from typing import Any

import pytest
from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import Connection, create_engine, inspect, text

from crowdperf.hub.store import MIGRATIONS_DIR

Schema = dict[str, Any]
_ALEMBIC = "alembic_version"  # Alembic's own record (a downgrade to base keeps it, empty): not compared


def _config() -> Config:
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS_DIR))
    return config


def _migrate(url: str, action: str, *revisions: str) -> tuple[str, ...]:
    """Run ``alembic <action> <revision>`` for each revision; the heads the database is at after."""
    config = _config()
    engine = create_engine(url)
    try:
        with engine.begin() as conn:
            config.attributes["connection"] = conn
            for revision in revisions:
                getattr(command, action)(config, revision)
            return tuple(sorted(MigrationContext.configure(conn).get_current_heads()))
    finally:
        engine.dispose()


def _steps_down() -> list[tuple[str, tuple[str, ...]]]:
    """(the revision to take off, the heads left after it) from all heads down to base, one
    revision at a time; the lowest-named head goes first (our chain before the web layer's)."""
    script = ScriptDirectory.from_config(_config())
    parents = {r.revision: _revisions(r.down_revision) for r in script.walk_revisions()}

    def heads() -> list[str]:
        return sorted(set(parents) - {p for ps in parents.values() for p in ps})

    steps = []
    while parents:
        revision = heads()[0]
        del parents[revision]
        steps.append((revision, tuple(heads())))
    return steps


def _revisions(down_revision: str | Sequence[str] | None) -> tuple[str, ...]:
    if down_revision is None:
        return ()
    return (down_revision,) if isinstance(down_revision, str) else tuple(down_revision)


_TABLE_CONSTRAINT = re.compile(r"(CONSTRAINT|PRIMARY KEY|UNIQUE|CHECK|FOREIGN KEY)\b", re.IGNORECASE)


def _top_level_parts(body: str) -> list[str]:
    """``a INT, b INT, UNIQUE (a, b)`` -> its three parts (commas inside parentheses kept)."""
    parts, depth, start = [], 0, 0
    for at, char in enumerate(body):
        depth += {"(": 1, ")": -1}.get(char, 0)
        if char == "," and depth == 0:
            parts.append(body[start:at].strip())
            start = at + 1
    return [*parts, body[start:].strip()]


def _sql(statement: str | None) -> str | None:
    """A CREATE statement as SQLite stored it, made comparable: whitespace folded (ADD and DROP
    COLUMN edit the stored text in place); of a table, its name unquoted and its constraints sorted
    (a batch copy, as in w002's upgrade, writes them in whatever order it reflected them)."""
    if statement is None:
        return None
    folded = re.sub(r"\s+", " ", statement).strip()
    if not folded.upper().startswith("CREATE TABLE"):
        return folded
    head, body = folded.split("(", 1)
    head = head.replace('"', "")  # a table renamed into place (a batch copy) has its name quoted
    parts = _top_level_parts(body.rsplit(")", 1)[0])
    columns = [p for p in parts if not _TABLE_CONSTRAINT.match(p)]
    constraints = sorted(p for p in parts if _TABLE_CONSTRAINT.match(p))
    return f"{head.strip()} ({', '.join(columns + constraints)})"


def _sqlite_schema(conn: Connection) -> Schema:
    rows = conn.execute(
        text(f"SELECT type, name, tbl_name, sql FROM sqlite_master WHERE tbl_name != '{_ALEMBIC}'")
    )
    return {f"{kind} {name}": (table, _sql(sql)) for kind, name, table, sql in rows}


def _postgresql_schema(conn: Connection) -> Schema:
    inspector = inspect(conn)
    schema: Schema = {}
    for table in set(inspector.get_table_names()) - {_ALEMBIC}:
        schema[f"table {table}"] = {
            "columns": [
                (c["name"], str(c["type"]), c["nullable"], c.get("default"))
                for c in inspector.get_columns(table)
            ],
            "primary key": inspector.get_pk_constraint(table)["constrained_columns"],
            "unique": sorted((u["name"], u["column_names"]) for u in inspector.get_unique_constraints(table)),
            "checks": sorted((c["name"], c["sqltext"]) for c in inspector.get_check_constraints(table)),
            "foreign keys": sorted(str(fk) for fk in inspector.get_foreign_keys(table)),
        }
    objects = conn.execute(text(
        "SELECT 'index ' || indexname, indexdef FROM pg_indexes "
        f"  WHERE schemaname = current_schema() AND tablename != '{_ALEMBIC}' "
        "UNION ALL SELECT 'trigger ' || tgname, pg_get_triggerdef(t.oid) FROM pg_trigger t "
        "  JOIN pg_class c ON c.oid = t.tgrelid "
        "  WHERE NOT t.tgisinternal AND c.relnamespace = current_schema()::regnamespace "
        "UNION ALL SELECT 'function ' || proname, pg_get_functiondef(p.oid) FROM pg_proc p "
        "  WHERE p.pronamespace = current_schema()::regnamespace"
    ))  # fmt: skip
    ours = conn.execute(text("SELECT current_schema()")).scalar_one() + "."
    schema.update({name: definition.replace(ours, "") for name, definition in objects})
    return schema


def _schema(url: str) -> Schema:
    engine = create_engine(url)
    try:
        with engine.connect() as conn:
            sqlite = conn.dialect.name == "sqlite"
            return _sqlite_schema(conn) if sqlite else _postgresql_schema(conn)
    finally:
        engine.dispose()


def test_the_steps_cover_every_revision() -> None:
    steps = _steps_down()
    assert {revision for revision, _ in steps} >= {"0001", "0002", "0003", "0004", "0005", "w001"}
    assert steps[-1] == ("0001", ())


@pytest.mark.parametrize("dialect", ["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def test_each_downgrade_restores_the_schema_a_fresh_upgrade_builds(
    dialect: str, empty_database: Callable[[str], str]
) -> None:
    database = empty_database(dialect)
    _migrate(database, "upgrade", "heads")
    for revision, heads in _steps_down():
        # "<rev>@-1": one step down on rev's own branch (a plain "<parent>" would also take off every
        # other branch grown from that parent: the web layer's w001 from 0001)
        assert _migrate(database, "downgrade", f"{revision}@-1") == heads
        fresh = empty_database(dialect)
        assert _migrate(fresh, "upgrade", *heads) == heads
        assert _schema(database) == _schema(fresh), f"after downgrading {revision}"


@pytest.mark.parametrize("dialect", ["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def test_no_upgrade_loses_what_an_earlier_one_built(
    dialect: str, empty_database: Callable[[str], str]
) -> None:
    """The round trip above cannot see an upgrade that copies a table and drops its triggers (a
    fresh upgrade loses them too); so, going up one revision at a time, every object stays. A
    revision meant to drop one would change this test."""
    database = empty_database(dialect)
    before: set[str] = set()
    for revision, _ in reversed(_steps_down()):
        _migrate(database, "upgrade", revision)
        after = set(_schema(database))
        assert before <= after, f"upgrading to {revision} dropped {before - after}"
        before = after
