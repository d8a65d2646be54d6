"""A real hub database (SQLite file, migrated by open_store) with the sample rows of
hub_web_rows.py, the web app over it, and real submission trees (real LoadGen logs)."""

from __future__ import annotations

import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from hub_web_rows import ROWS, add_result

from crowdperf.hub.store import Store, open_store
from crowdperf.hub.web.app import WebConfig, create_app


@pytest.fixture
def store(tmp_path: Path) -> Iterator[Store]:
    st = open_store(tmp_path / "hub.sqlite")
    yield st
    st.close()


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
