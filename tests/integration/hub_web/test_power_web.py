"""Power on the web (SQLite and PostgreSQL): every power figure with its meter, the meter and power
filters and the power axis in the API and the pages, the energy cost beside the instance-hour
cost, and a visible warning, offering one meter, wherever a software meter's figure meets PTD's."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from hub_web_rows import add_result

from crowdperf.hub.store import Store
from crowdperf.hub.web.app import WebConfig, create_app
from crowdperf.hub.web.static_site import export_site

CROWD_H200 = dict(
    submitter="crowd", system_name="h200-crowd", accelerator="NVIDIA H200", accelerator_count=1,
    backend="pytorch", precision="fp16", throughput=3613.0, accuracy_f1=90.4, power_w=683.0,
    power_meter="nvml", power_scope="devices", power_note="devices: cuda:0 NVIDIA H200 (GPU-5c1e)",
)  # fmt: skip


@pytest.fixture
def mixed(filled_store: Store, tmp_path: Path) -> tuple[TestClient, int]:
    """The sample rows (PTD figures) plus one crowd run measured by NVML; (client, its id)."""
    crowd = add_result(filled_store, **CROWD_H200)
    return TestClient(create_app(WebConfig(store=filled_store, staging_dir=tmp_path / "staging"))), crowd


def _chart_data(html: str) -> dict:
    return json.loads(re.search(r'id="chart-data">(.*?)</script>', html, re.S).group(1))  # type: ignore[union-attr]


def test_api_filters_by_meter_and_power_and_notes_a_mix(mixed) -> None:  # type: ignore[no-untyped-def]
    client, crowd = mixed
    page = client.get("/api/results").json()
    assert (
        page["power_meters"] == ["nvml", "ptd"] and "software-meter and PTD power mixed" in page["meter_note"]
    )
    nvml = client.get("/api/results?meter=nvml").json()
    assert [r["id"] for r in nvml["rows"]] == [crowd] and nvml["meter_note"] == ""
    assert nvml["rows"][0]["energy_usd_per_million"] > 0 and nvml["rows"][0]["usd_per_million"] > 0
    assert {r["system_name"] for r in client.get("/api/results?max_watts=700").json()["rows"]} == {
        "h200-crowd", "<script>alert('x')</script>"}  # fmt: skip
    assert client.get("/api/results?max_joules_per_sample=0.1").json()["total"] == 2
    assert client.get("/api/results?meter=none").json()["total"] == 3  # no figure
    for bad in ("meter=NVML", "meter=ptd%00", "max_watts=inf", "max_joules_per_sample=-1"):
        assert client.get(f"/api/results?{bad}").status_code in (400, 422), bad
    csv_head = client.get("/api/results.csv").text.splitlines()[0].split(",")
    assert {"power_meter", "power_scope", "energy_usd_per_million"} <= set(csv_head)


def test_api_pareto_and_best_rank_power_with_meters(mixed) -> None:  # type: ignore[no-untyped-def]
    client, _ = mixed
    front = client.get("/api/pareto?x=throughput&y=power").json()
    group = front["groups"][0]
    assert front["axes"] == ["throughput", "power"] and group["power_meters"] == ["nvml", "ptd"]
    assert "this front" in group["meter_note"] and all(p["power_meter"] for p in group["points"])
    best = client.get("/api/best?scenario=Offline&objective=power").json()
    assert "this ranking" in best["groups"][0]["meter_note"]
    only = client.get("/api/best?scenario=Offline&objective=power&meter=nvml").json()["groups"][0]
    assert [r["system_name"] for r in only["ranking"]] == ["h200-crowd"] and only["meter_note"] == ""
    assert any("energy cost" in line for line in only["explanation"])
    assert client.get("/api/best?objective=watts").status_code == 422


def test_pages_show_meters_and_warn_with_one_meter_links(mixed) -> None:  # type: ignore[no-untyped-def]
    client, crowd = mixed
    html = client.get("/").text
    assert 'id="meter-warning"' in html and 'href="/?sort=-throughput&amp;meter=nvml"' in html
    assert "$/M samples (instance-hours)" in html and "$/M samples (energy)" in html
    assert 'id="meter-warning"' not in client.get("/?meter=ptd").text
    assert '<option value="nvml"' in html  # the meter drop-down offers what is stored
    chart = client.get("/chart?x=throughput&y=energy").text
    data = _chart_data(chart)
    assert data["y_label"] == "Energy (J/sample) · meters nvml, ptd: not comparable" and data["power_axis"]
    assert 'id="meter-warning"' in chart and "meter=nvml" in chart
    one = _chart_data(client.get("/chart?x=throughput&y=power&meter=nvml").text)
    assert one["y_label"] == "Power (W) · meter nvml" and [p["meter"] for p in one["points"]] == ["nvml"]
    assert _chart_data(client.get("/chart?x=throughput&y=accuracy").text)["y_label"] == "Accuracy (F1)"
    compare = client.get(f"/compare?ids=1&ids={crowd}").text
    assert 'id="meter-warning"' in compare and "· nvml" in compare and "· ptd" in compare
    detail = client.get(f"/results/{crowd}").text
    assert "683.0 W" in detail and "nvml · devices" in detail and "NVIDIA H200 (GPU-5c1e)" in detail
    assert 'id="energy-cost"' in detail and "/kWh" in detail
    best = client.get("/best?scenario=Offline&objective=energy").text
    assert 'id="meter-warning-1"' in best and "· nvml" in best and "<option selected>energy</option>" in best
    assert client.get("/chart?x=throughput&y=watts").status_code == 400


def test_static_site_warns_and_draws_power(filled_store: Store, tmp_path: Path) -> None:
    add_result(filled_store, **CROWD_H200)
    site = export_site(filled_store, tmp_path / "site").path
    assert 'id="meter-warning"' in (site / "index.html").read_text()
    chart = (site / "chart-throughput-power.html").read_text()
    assert 'id="meter-warning"' in chart
    assert _chart_data(chart)["y_label"] == "Power (W) · meters nvml, ptd: not comparable"
