"""How crowdperf's SUT fed LoadGen on the web (SQLite and PostgreSQL): results imported from real
trees, one whose provenance.json records batch size and workers, one older record without them,
as the JSON API (one result, a list, compare, CSV), the detail page and the compare page show them;
"not recorded" is null in JSON, an empty CSV cell and a dash on the pages."""

from __future__ import annotations

import csv
import io
import json
import re
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from hub_trees import Entry, write_tree  # tests/unit/hub, put on the path by conftest.py

from crowdperf.hub.importer import import_tree
from crowdperf.hub.store import Store
from crowdperf.hub.web.app import WebConfig, create_app


def _provenance(**fields: object) -> str:
    return json.dumps(
        {"schema": "crowdperf.provenance/2", "model": "bert-99", "scenario": "Offline", **fields}
    )


@pytest.fixture
def imported(store: Store, offline_logs: Path, tmp_path: Path) -> tuple[TestClient, int, int]:
    """(client, id of the GPU run with batch 1024 and 2 workers, id of an older record's run)."""
    gpu = _provenance(batch_size=1024, sut_workers_per_device=2)
    entries = [Entry("gpu-box", "Offline", offline_logs, provenance=gpu),
               Entry("older-box", "Offline", offline_logs, provenance=_provenance())]  # fmt: skip
    tree = write_tree(tmp_path / "sub", entries, layout="v6", division="open")
    assert import_tree(store, tree).imported == 2
    client = TestClient(create_app(WebConfig(store=store, staging_dir=tmp_path / "staging")))
    ids = {r["system_name"]: r["id"] for r in client.get("/api/results").json()["rows"]}
    return client, ids["gpu-box"], ids["older-box"]


def test_api_result_objects_carry_batch_size_and_workers(imported) -> None:  # type: ignore[no-untyped-def]
    client, gpu, older = imported
    one = client.get(f"/api/results/{gpu}").json()
    assert (one["batch_size"], one["sut_workers_per_device"]) == (1024, 2)
    old = client.get(f"/api/results/{older}").json()
    assert "batch_size" in old and old["batch_size"] is None and old["sut_workers_per_device"] is None
    rows = {r["id"]: r for r in client.get("/api/results").json()["rows"]}
    assert (rows[gpu]["batch_size"], rows[older]["batch_size"]) == (1024, None)
    compared = client.get(f"/api/compare?ids={gpu}&ids={older}").json()
    assert [r["batch_size"] for r in compared["results"]] == [1024, None]
    assert all(
        m["name"] not in ("batch_size", "sut_workers_per_device") for m in compared["metrics"]
    )  # not ranked
    table = {r["id"]: r for r in csv.DictReader(io.StringIO(client.get("/api/results.csv").text))}
    assert (table[str(gpu)]["batch_size"], table[str(gpu)]["sut_workers_per_device"]) == ("1024", "2")
    assert (table[str(older)]["batch_size"], table[str(older)]["sut_workers_per_device"]) == ("", "")


def _dd(html: str, dd_id: str) -> str:
    found = re.search(rf'<dd id="{dd_id}">(.*?)</dd>', html, re.S)
    assert found, dd_id
    return re.sub(r"<[^>]+>", "", found.group(1)).strip()


def test_detail_page_shows_them_and_a_dash_when_not_recorded(imported) -> None:  # type: ignore[no-untyped-def]
    client, gpu, older = imported
    html = client.get(f"/results/{gpu}").text
    assert "Batch size" in html and "SUT workers per device" in html
    assert (_dd(html, "batch-size"), _dd(html, "sut-workers-per-device")) == ("1,024", "2")
    old = client.get(f"/results/{older}").text
    assert (_dd(old, "batch-size"), _dd(old, "sut-workers-per-device")) == ("–", "–")


def _scheduling_rows(html: str) -> dict[str, list[str]]:
    body = re.search(r'<tbody id="scheduling">(.*?)</tbody>', html, re.S)
    assert body
    rows = {}
    for tr in re.findall(r"<tr>(.*?)</tr>", body.group(1), re.S):
        label = re.sub(r"<[^>]+>", "", re.search(r"<th>(.*?) <span", tr, re.S).group(1)).strip()  # type: ignore[union-attr]
        rows[label] = [
            re.sub(r"<[^>]+>", "", td).strip() for td in re.findall(r"<td[^>]*>(.*?)</td>", tr, re.S)
        ]
    return rows


def test_compare_page_shows_how_each_run_was_fed(imported) -> None:  # type: ignore[no-untyped-def]
    client, gpu, older = imported
    rows = _scheduling_rows(client.get(f"/compare?ids={gpu}&ids={older}").text)
    assert rows == {"Batch size": ["1,024", "–"], "SUT workers per device": ["2", "–"]}
    # neither recorded: no rows (as a metric none of the results has)
    assert _scheduling_rows(client.get(f"/compare?ids={older}&ids={older}").text) == {}
