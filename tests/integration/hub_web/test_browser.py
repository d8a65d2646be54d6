"""The pages in a real headless Debian Chromium driven by Playwright, against the real server
(uvicorn in a thread on 127.0.0.1, real SQLite store). Skipped when /usr/bin/chromium or the
playwright package is missing; never downloads a browser."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pytest
from hub_live import live_server
from hub_trees import Entry, write_tree  # tests/unit/hub, put on the path by conftest.py
from hub_web_rows import ROWS, add_result

from crowdperf.hub.auth import create_token
from crowdperf.hub.store import Store, open_store
from crowdperf.hub.web.app import WebConfig, create_app
from crowdperf.hub.web.client import submit_tree

CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
    "--disable-background-networking", "--disable-component-update", "--disable-sync",
]  # fmt: skip

pytestmark = [
    pytest.mark.browser,
    pytest.mark.skipif(not CHROMIUM.exists(), reason="needs Debian chromium at /usr/bin/chromium"),
]
sync_api = pytest.importorskip("playwright.sync_api")


@pytest.fixture(scope="module")
def live(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[str, Store]]:
    """The hub on a free loopback port, serving a store with the sample rows."""
    base = tmp_path_factory.mktemp("live")
    store = open_store(base / "hub.sqlite")
    for row in ROWS:
        add_result(store, **row)
    with live_server(create_app(WebConfig(store=store, staging_dir=base / "staging"))) as url:
        yield url, store
    store.close()


@pytest.fixture(scope="module")
def browser() -> Iterator[object]:
    with sync_api.sync_playwright() as p:
        b = p.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        yield b
        b.close()


@pytest.fixture
def page(browser) -> Iterator[object]:  # type: ignore[no-untyped-def]
    ctx = browser.new_context(viewport={"width": 1400, "height": 900})
    pg = ctx.new_page()
    errors: list[str] = []
    pg.on("pageerror", lambda e: errors.append(str(e)))
    pg.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
    pg.set_default_timeout(10_000)
    yield pg
    ctx.close()
    assert not errors, f"errors in the page: {errors}"  # includes CSP violations


def _rows(page) -> list[str]:  # type: ignore[no-untyped-def]
    return page.locator("#results tbody tr td:nth-child(5) a").all_inner_texts()


def test_table_loads_and_filters(live, page) -> None:  # type: ignore[no-untyped-def]
    url, _ = live
    page.goto(url + "/")
    assert _rows(page)[:2] == ["h100-box", "a100-box"] and len(_rows(page)) == 6
    with page.expect_navigation():
        page.select_option("select[name=scenario]", "SingleStream")  # applies at once (app.js)
    assert _rows(page) == ["h100-ss"] and "scenario=SingleStream" in page.url
    page.goto(url + "/")
    page.fill("input[name=submitter]", "crowd")
    with page.expect_navigation():
        page.click("#filters button[type=submit]")
    assert sorted(_rows(page)) == ["<script>alert('x')</script>", "laptop"]  # shown as text, not run


def test_chart_renders_points_and_front(live, page) -> None:  # type: ignore[no-untyped-def]
    url, _ = live
    page.goto(url + "/chart?x=throughput&y=accuracy")
    page.wait_for_selector("#chart .scatterlayer .point")
    assert page.locator("#chart .scatterlayer .point").count() == 5
    assert page.locator("#chart .legendtext", has_text="Pareto front").count() == 1
    page.select_option("select[name=color]", "front")  # recoloured in place, no reload
    page.wait_for_selector("#chart .legendtext >> text=dominated")


def test_compare_shows_deltas(live, page) -> None:  # type: ignore[no-untyped-def]
    url, _ = live
    page.goto(url + "/")
    page.check("#results tr[data-id='1'] input[name=ids]")
    page.check("#results tr[data-id='2'] input[name=ids]")
    with page.expect_navigation():
        page.click("#compare-button")
    assert "/compare?ids=1&ids=2" in page.url
    deltas = page.locator("#compare .delta").all_inner_texts()
    assert "-53.3%" in deltas and "-21.2%" in deltas


def test_command_builder_produces_the_command(live, page) -> None:  # type: ignore[no-untyped-def]
    url, _ = live
    page.goto(url + "/builder")
    with page.expect_navigation():
        page.select_option("select[name=device]", "cuda")
    with page.expect_navigation():
        page.select_option("select[name=scenario]", "Server")
    assert page.inner_text("#run-command") == (
        "crowdperf run --model bert-99 --backend onnxruntime --device cuda --precision fp32 "
        "--scenario Server --mode performance --execution-mode test --category edge --download"
    )
    assert "--device=cuda" in page.inner_text("#cm-command") and "--scenario=Server" in page.inner_text(
        "#cm-command"
    )


def test_upload_then_appears_in_the_table(live, page, submission_tree: Path) -> None:  # type: ignore[no-untyped-def]
    url, store = live
    token = create_token(store, "browser-user").secret
    result = submit_tree(submission_tree, server=url, token=token)
    assert result.report["imported"] == 1
    page.goto(url + "/?system=uploaded")
    assert _rows(page) == ["uploaded-box"]
    # a test-mode tree (100 ms min_duration) is LoadGen-VALID but not an MLPerf result
    assert page.locator("#results .badge.invalid").count() == 1
    with page.expect_navigation():
        page.click("text=uploaded-box")
    assert "browser-user" in page.inner_text("main")


def test_static_site_filters_and_draws_offline(live, page, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    from crowdperf.hub.web.static_site import export_site

    _, store = live
    site = export_site(store, tmp_path / "site").path
    page.goto((site / "index.html").as_uri())
    page.fill("#quick-filter", "acme")
    assert page.locator("#results tbody tr:not([hidden])").count() == 3
    assert page.inner_text("#count").startswith("3 of ")
    page.goto((site / "chart.html").as_uri())
    page.wait_for_selector("#chart .scatterlayer .point")
    with page.expect_navigation():
        page.select_option("select[name=y]", "energy")
        page.click("#axes button[type=submit]")
    assert page.url.endswith("chart-throughput-energy.html")
    page.wait_for_selector("#chart .scatterlayer .point")


# stored around the row checks (a database from before them, or plain SQL): the chart must
# still draw whatever the axes
POISONED = (
    dict(system_name="inf", throughput=float("inf"), accuracy_f1=90.0, power_w=300.0, latency_ms=2.0),
    dict(system_name="nan", throughput=500.0, accuracy_f1=float("nan"), energy_j_per_sample=float("inf")),
    dict(system_name="huge", throughput=1e308, accuracy_f1=1e308, power_w=1e308, latency_ms=1e308,
         accelerator="NVIDIA H100-SXM-80GB", accelerator_count=8),
    dict(system_name="tiny", throughput=1e-308, accuracy_f1=-float("inf"), latency_ms=1e-308,
         accelerator="NVIDIA L4", accelerator_count=1, energy_j_per_sample=1e-308),
    dict(system_name="ok", throughput=800.0, accuracy_f1=90.3, latency_ms=3.0, power_w=70.0,
         energy_j_per_sample=0.09, accelerator="NVIDIA L4", accelerator_count=1),
)  # fmt: skip


@pytest.fixture(scope="module")
def poisoned_live(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    base = tmp_path_factory.mktemp("poisoned")
    store = open_store(base / "hub.sqlite")
    for row in (*ROWS, *POISONED):
        add_result(store, **{"submitter": "p", **row})
    with live_server(create_app(WebConfig(store=store, staging_dir=base / "staging"))) as url:
        yield url
    store.close()


@pytest.mark.parametrize("axes", ["x=throughput&y=accuracy", "x=cost&y=energy", "x=latency&y=throughput",
                                  "x=accuracy&y=cost", "x=energy&y=latency", "x=power&y=energy"])  # fmt: skip
def test_chart_survives_any_stored_value(poisoned_live: str, page, axes: str) -> None:  # type: ignore[no-untyped-def]
    page.goto(f"{poisoned_live}/chart?{axes}")
    page.wait_for_selector("#chart .main-svg")
    assert page.locator("#chart .scatterlayer .point").count() >= 1
    # the page fixture fails the test on any script error (a JSON.parse of Infinity was one)


def test_api_docs_render_offline_under_the_csp(live, page) -> None:  # type: ignore[no-untyped-def]
    url, _ = live
    requests: list[str] = []
    page.on("request", lambda r: requests.append(r.url))
    page.goto(url + "/docs")
    page.wait_for_selector(".swagger-ui .opblock-summary-path")
    assert "/api/results" in page.inner_text(".swagger-ui")
    assert all(r.startswith(url) or r.startswith("data:") for r in requests), requests


@pytest.fixture(scope="module")
def power_live(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """The sample rows (their power is PTD's) plus a crowd run measured by NVML."""
    base = tmp_path_factory.mktemp("power")
    store = open_store(base / "hub.sqlite")
    for row in ROWS:
        add_result(store, **row)
    add_result(store, submitter="crowd", system_name="h200-crowd", accelerator="NVIDIA H200",
               accelerator_count=1, backend="pytorch", precision="fp16", throughput=3613.0, accuracy_f1=90.4,
               power_w=683.0, power_meter="nvml", power_scope="devices")  # fmt: skip
    with live_server(create_app(WebConfig(store=store, staging_dir=base / "staging"))) as url:
        yield url
    store.close()


def test_chart_with_a_power_axis_names_the_meters_and_offers_one(power_live: str, page) -> None:  # type: ignore[no-untyped-def]
    page.goto(f"{power_live}/chart?x=throughput&y=power")
    page.wait_for_selector("#chart .scatterlayer .point")
    assert page.locator("#chart .scatterlayer .point").count() == 4  # the Offline results with power
    assert "meters nvml, ptd: not comparable" in (page.text_content("#chart .g-ytitle") or "")
    assert page.locator("#meter-warning").is_visible()
    page.select_option("select[name=color]", "meter")  # recoloured in place: one trace per meter
    page.wait_for_selector("#chart .legendtext >> text=meter nvml")
    assert page.locator("#chart .legendtext", has_text="meter ptd").count() == 1
    with page.expect_navigation():
        page.click("#meter-warning a >> text=nvml")
    page.wait_for_selector("#chart .scatterlayer .point")
    assert "meter=nvml" in page.url and page.locator("#chart .scatterlayer .point").count() == 1
    assert (page.text_content("#chart .g-ytitle") or "") == "Power (W) · meter nvml"
    assert page.locator("#meter-warning").count() == 0


@pytest.fixture(scope="module")
def scheduling_live(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[str, Store]]:
    """One official-style result (no provenance.json) to compare an uploaded crowd run with."""
    base = tmp_path_factory.mktemp("scheduling")
    store = open_store(base / "hub.sqlite")
    add_result(store, submitter="acme", system_name="official-box", accelerator="NVIDIA H200",
               accelerator_count=1, throughput=9000.0, accuracy_f1=90.3)  # fmt: skip
    with live_server(create_app(WebConfig(store=store, staging_dir=base / "staging"))) as url:
        yield url, store
    store.close()


def test_an_uploaded_run_shows_how_its_sut_fed_loadgen(
    scheduling_live, page, tmp_path: Path, offline_logs: Path
) -> None:  # type: ignore[no-untyped-def]
    """Uploaded with a token (hub submit), its provenance.json's batch size and workers are on its
    page and beside the official result on the compare page, which has a dash for "not recorded"."""
    url, store = scheduling_live
    record = json.dumps({"schema": "crowdperf.provenance/2", "batch_size": 1024, "sut_workers_per_device": 2})
    tree = write_tree(tmp_path / "S", [Entry("crowd-h200", "Offline", offline_logs, provenance=record)],
                      layout="v6", division="open")  # fmt: skip
    assert submit_tree(tree, server=url, token=create_token(store, "crowd").secret).report["imported"] == 1
    page.goto(url + "/")
    for row in page.locator("#results tbody tr").all():
        row.locator("input[name=ids]").check()
    with page.expect_navigation():
        page.click("#compare-button")
    cells = {tr.locator("th").inner_text().split(" how ")[0]: tr.locator("td").all_inner_texts()
             for tr in page.locator("#scheduling tr").all()}  # fmt: skip
    systems = page.locator("#compare thead th a").all_inner_texts()
    crowd = systems.index("crowd-h200")
    assert cells["Batch size"][crowd] == "1,024" and cells["Batch size"][1 - crowd] == "–"
    assert cells["SUT workers per device"][crowd] == "2"
    with page.expect_navigation():
        page.click("#compare thead >> text=crowd-h200")
    assert page.inner_text("#batch-size") == "1,024" and page.inner_text("#sut-workers-per-device") == "2"
