"""Hub fixtures: real LoadGen logs (generated once per session), and a store parametrized over
SQLite and PostgreSQL (``CROWDPERF_TEST_PG_URL``; skipped when unset). Each PostgreSQL test gets
its own schema, dropped afterwards, so tests never see each other's rows."""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
from hub_lgrun import run_loadgen
from sqlalchemy import create_engine, make_url, text

from crowdperf.hub.store import Store, database_url, open_store

PG_ENV = "CROWDPERF_TEST_PG_URL"


@pytest.fixture(scope="session")
def lg_logs(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    """Real LoadGen logs per scenario; 'OfflinePower' has a ~0.3 s power window."""
    base = tmp_path_factory.mktemp("lglogs")
    logs = {s: run_loadgen(base / s, s) for s in ("Offline", "SingleStream", "Server")}
    logs["OfflinePower"] = run_loadgen(base / "OfflinePower", "Offline", sut_delay_s=0.3)
    return logs


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def store(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Store]:
    if request.param == "sqlite":
        s = open_store(tmp_path / "hub.sqlite")
        yield s
        s.close()
        return
    url = os.environ.get(PG_ENV)
    if not url:
        pytest.skip(f"{PG_ENV} not set (see scripts/ci_postgres.sh)")
    schema = f"t_{uuid.uuid4().hex[:12]}"
    admin = create_engine(database_url(url))
    with admin.begin() as c:
        c.execute(text(f'CREATE SCHEMA "{schema}"'))  # our own generated name, not user input
    s = open_store(
        make_url(database_url(url))
        .update_query_dict({"options": f"-csearch_path={schema}"})
        .render_as_string(hide_password=False)
    )
    try:
        yield s
    finally:
        s.close()
        with admin.begin() as c:
            c.execute(text(f'DROP SCHEMA "{schema}" CASCADE'))
        admin.dispose()
