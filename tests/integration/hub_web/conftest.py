"""A real hub database (SQLite file, migrated by open_store) with the sample rows of
hub_web_rows.py, the web app over it, and real submission trees (real LoadGen logs)."""

from __future__ import annotations

import contextlib
import os
import sys
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from hub_web_rows import ROWS, add_result
from sqlalchemy import create_engine, make_url, text
from sqlalchemy.exc import DBAPIError

from crowdperf.hub.store import Store, database_url, open_store
from crowdperf.hub.web.app import WebConfig, create_app


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def store(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Store]:
    """SQLite file, and PostgreSQL (CROWDPERF_TEST_PG_URL, a fresh schema per test) when set."""
    if request.param == "sqlite":
        st = open_store(tmp_path / "hub.sqlite")
        yield st
        st.close()
        return
    url = os.environ.get("CROWDPERF_TEST_PG_URL")
    if not url:
        pytest.skip("CROWDPERF_TEST_PG_URL not set (see scripts/ci_postgres.sh)")
    schema = f"w_{uuid.uuid4().hex[:12]}"
    admin = create_engine(database_url(url))
    with contextlib.suppress(DBAPIError), admin.begin() as c:
        # pg_trgm in public (as tests/unit/hub/conftest.py does): else the migration creates it in
        # this test's schema, where another test running at the same time (pytest-xdist) finds
        # it, and this schema's DROP ... CASCADE takes that test's trigram indexes along
        c.execute(text("CREATE EXTENSION IF NOT EXISTS pg_trgm SCHEMA public"))
    with admin.begin() as c:
        c.execute(text(f'CREATE SCHEMA "{schema}"'))  # our own generated name, not user input
    pg_url = make_url(database_url(url)).update_query_dict({"options": f"-csearch_path={schema}"})
    st = open_store(pg_url.render_as_string(hide_password=False))
    try:
        yield st
    finally:
        st.close()
        with admin.begin() as c:
            c.execute(text(f'DROP SCHEMA "{schema}" CASCADE'))
        admin.dispose()


@pytest.fixture
def filled_store(store: Store) -> Store:
    for row in ROWS:
        add_result(store, **row)
    return store


@pytest.fixture
def client(filled_store: Store, tmp_path: Path) -> TestClient:
    app = create_app(WebConfig(store=filled_store, staging_dir=tmp_path / "staging"))
    return TestClient(app)


# Real submission trees (real LoadGen logs) come from hub-core's test builders in tests/unit/hub.
sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "unit" / "hub"))
from hub_lgrun import run_loadgen  # noqa: E402
from hub_trees import Entry, write_tree  # noqa: E402


@pytest.fixture(scope="session")
def offline_logs(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return run_loadgen(tmp_path_factory.mktemp("lg") / "Offline", "Offline")


@pytest.fixture
def submission_tree(tmp_path: Path, offline_logs: Path) -> Path:
    """An MLPerf submission tree (our v5 layout) with one Offline result named 'uploaded-box'."""
    return write_tree(tmp_path / "S", [Entry(system="uploaded-box", scenario="Offline", logs=offline_logs)])
