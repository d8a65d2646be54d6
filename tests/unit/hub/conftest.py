"""Hub fixtures: real LoadGen logs (generated once per session), and a store parametrized over
SQLite and PostgreSQL (``CROWDPERF_TEST_PG_URL``; skipped when unset). Each PostgreSQL test gets
its own schema, dropped afterwards, so tests never see each other's rows."""

from __future__ import annotations

import contextlib
import os
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from hub_lgrun import run_loadgen
from sqlalchemy import Engine, create_engine, make_url, text
from sqlalchemy.exc import DBAPIError

from crowdperf.hub.store import Store, database_url, open_store

PG_ENV = "CROWDPERF_TEST_PG_URL"


@pytest.fixture(scope="session")
def lg_logs(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    """Real LoadGen logs per scenario; 'OfflinePower' has a ~0.3 s power window."""
    base = tmp_path_factory.mktemp("lglogs")
    logs = {s: run_loadgen(base / s, s) for s in ("Offline", "SingleStream", "Server")}
    logs["OfflinePower"] = run_loadgen(base / "OfflinePower", "Offline", sut_delay_s=0.3)
    return logs


@pytest.fixture
def empty_database(tmp_path: Path) -> Iterator[Callable[[str], str]]:
    """A factory: ``empty_database("sqlite" | "postgres")`` is the URL of a new, empty database (a
    SQLite file; a PostgreSQL schema of its own, dropped afterwards). Skips without PostgreSQL."""
    admin: Engine | None = None
    schemas: list[str] = []

    def make(dialect: str) -> str:
        nonlocal admin
        if dialect == "sqlite":
            return database_url(tmp_path / f"hub-{uuid.uuid4().hex[:12]}.sqlite")
        url = os.environ.get(PG_ENV)
        if not url:
            pytest.skip(f"{PG_ENV} not set (see scripts/ci_postgres.sh)")
        if admin is None:
            admin = create_engine(database_url(url))
            with contextlib.suppress(DBAPIError), admin.begin() as c:
                # pg_trgm in public once, so that it never lives in (and dies with) a per-test schema
                c.execute(text("CREATE EXTENSION IF NOT EXISTS pg_trgm SCHEMA public"))
        schema = f"t_{uuid.uuid4().hex[:12]}"
        with admin.begin() as c:
            c.execute(text(f'CREATE SCHEMA "{schema}"'))  # our own generated name, not user input
        schemas.append(schema)
        return (
            make_url(database_url(url))
            .update_query_dict({"options": f"-csearch_path={schema}"})
            .render_as_string(hide_password=False)
        )

    yield make
    if admin is not None:
        with admin.begin() as c:
            for schema in schemas:
                c.execute(text(f'DROP SCHEMA "{schema}" CASCADE'))
        admin.dispose()


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def store(request: pytest.FixtureRequest, empty_database: Callable[[str], str]) -> Iterator[Store]:
    s = open_store(empty_database(request.param))
    yield s
    s.close()
