"""``crowdperf ui`` in a real headless Debian Chromium driven by Playwright, against the real server
(uvicorn on 127.0.0.1), real runs (``crowdperf run`` children, tiny model, one scenario, 8
distinct samples: ~10 s each here) and a real SQLite hub: sign in with the printed link, launch
from the Run page, watch progress arrive over Server-Sent Events, re-attach on reload and from a
second tab, queue a second run from it, see both imported and ranked, open the result in the
table, cancel a third run mid-way, and have a POST without the launch token refused; and the form
on a GPU host's capabilities moves to a combination that runs there. Skipped when
/usr/bin/chromium or the playwright package is missing; never downloads a browser."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from hub_live import live_server
from hub_web_rows import ROWS, add_result
from ui_rig import QUICK, make_ui

from crowdperf.hub import queries
from crowdperf.hub.query_types import ResultFilter
from crowdperf.hub.store import Store, open_store
from crowdperf.hub.web.run_capabilities import READY, UNAVAILABLE, Capabilities, DeviceOption, Support
from crowdperf.hub.web.run_pages import UiState

CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
    "--disable-background-networking", "--disable-component-update", "--disable-sync",
]  # fmt: skip
RUN_TIMEOUT_MS = 180_000  # a tiny run takes ~10 s; a busy shared machine may take much longer

pytestmark = [
    pytest.mark.browser,
    pytest.mark.skipif(not CHROMIUM.exists(), reason="needs Debian chromium at /usr/bin/chromium"),
]
sync_api = pytest.importorskip("playwright.sync_api")


@pytest.fixture
def ui_live(tmp_path: Path) -> Iterator[tuple[str, UiState, Store]]:
    store = open_store(tmp_path / "hub.sqlite")
    for row in ROWS:  # the crowd's results are already there (bert-99)
        add_result(store, **row)
    app, state = make_ui(store, tmp_path)
    with live_server(app) as url:
        yield url, state, store
    state.runner.shutdown()
    store.close()


@pytest.fixture
def context() -> Iterator[Any]:
    with sync_api.sync_playwright() as p:
        browser = p.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        ctx = browser.new_context(viewport={"width": 1400, "height": 1000})
        ctx.set_default_timeout(20_000)
        errors: list[str] = []
        ctx.on("page", lambda pg: pg.on("pageerror", lambda e: errors.append(str(e))))
        ctx.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
        yield ctx
        ctx.close()
        browser.close()
        assert not errors, f"errors in the page: {errors}"  # includes CSP violations


def _launch(page: Any, scenario: str = "Offline", count: str = "8") -> str:
    """Fill the Run form and press Run; the new job's id (the page is on its job page)."""
    page.select_option("#f-scenario", scenario)
    page.fill("#f-count", count)
    with page.expect_navigation():
        page.click("#run-button")
    assert "/run/jobs/" in page.url
    return str(page.url.rsplit("/", 1)[1])


def _seen(page: Any) -> int:
    return int(page.get_attribute("#live", "data-seen") or 0)


def test_launch_watch_rank_queue_and_cancel_from_the_browser(
    ui_live: tuple[str, UiState, Store], context: Any
) -> None:
    url, state, store = ui_live
    page = context.new_page()
    page.goto(url + state.guard.sign_in_path())
    assert page.url == url + "/run"  # signed in; the token left the address

    # only what runs here is offered, and the command lines follow the choice
    assert page.locator("#f-device option").all_inner_texts() == [
        d.value for d in state.capabilities.usable_devices
    ]
    page.select_option("#f-backend", "onnxruntime")
    assert "bf16" in page.locator("#f-precision option[disabled]").all_inner_texts()  # onnxruntime: fp32/int8
    page.select_option("#f-scenario", "Offline")
    page.wait_for_function(
        "() => document.getElementById('run-command').textContent.includes('--scenario Offline')"
    )
    assert "_all-modes" in page.inner_text("#cm-command")

    # launch, and watch progress arrive over the event stream
    first = _launch(page)
    page.wait_for_function("() => parseInt(document.getElementById('live').dataset.seen) >= 3")
    page.wait_for_function("() => document.getElementById('job-phase').textContent !== '–'")
    assert page.inner_text("#job-test").startswith(("1 of 2", "2 of 2"))
    page.reload()  # re-attaches: the log so far from the server, then the stream again
    page.wait_for_function(
        "() => { const live = document.getElementById('live');"
        " return live ? parseInt(live.dataset.seen) >= 1 : document.getElementById('outcome') !== null; }"
    )
    assert "[1/2] Offline" in page.inner_text("#job-log, #tests-done")

    # a second tab re-attaches to the running job, then queues another run
    tab = context.new_page()
    tab.goto(url + "/run")
    assert tab.get_attribute("#live", "data-events") == f"/run/jobs/{first}/events"
    tab.wait_for_function("() => parseInt(document.getElementById('live').dataset.seen) >= 1")
    second = _launch(tab)
    assert second != first
    if tab.inner_text("#job-state") == "queued":  # the first may, just, have finished already
        assert "position 1" in tab.inner_text("#job-queue")

    # the first ends: imported, ranked alone; the second ranks among both
    page.wait_for_selector("#outcome[data-state=finished]", timeout=RUN_TIMEOUT_MS)
    assert "Rank 1 of 1" in page.inner_text("#standings .rank")
    tab.wait_for_selector("#outcome[data-state=finished]", timeout=RUN_TIMEOUT_MS)
    rank = tab.inner_text("#standings .rank")
    assert " of 2 " in rank and "% of the others" in rank
    assert "No official MLPerf results for tiny Offline" in tab.inner_text("#standings .official")
    with tab.expect_navigation():
        tab.click("#standings h2 a")  # the result's page in the hub
    assert "/results/" in tab.url and "tiny" in tab.inner_text("h1")
    tab.goto(url + "/?model=tiny")
    assert len(tab.locator("#results tbody tr").all()) == 2  # both runs are in the table

    # a third run, cancelled mid-way: nothing left that looks complete, nothing imported
    page.goto(url + "/run")
    # every edge scenario (nine tests): long enough that a quiet, fast machine cannot finish it
    # before the click (one Offline test of 8 samples did, and Cancel left the page)
    third = _launch(page, scenario="all")
    page.wait_for_function("() => document.getElementById('job-phase').textContent !== '–'")
    with page.expect_navigation():
        page.click("#cancel")
    page.wait_for_selector("#outcome[data-state=cancelled]", timeout=RUN_TIMEOUT_MS)
    assert "partial output removed" in page.inner_text("#cancel-note")
    view = state.runner.view(third)
    assert view is not None
    done = {line.split(":")[0] for line in view.tests_done}
    for run_dir in (p for p in Path(view.results_dir).rglob("*") if p.name in ("accuracy", "run_1")):
        assert any(("performance" if run_dir.name == "run_1" else "accuracy") in d for d in done), run_dir
    assert queries.list_results(store, ResultFilter(source=f"ui:{third}", include_hidden=True)).total == 0

    # a POST without the page's launch token is refused, even from the signed-in browser
    refused = page.request.post(url + "/run/launch", form=QUICK)
    assert refused.status == 403
    assert len(state.runner.views()) == 3


def _gpu_host() -> Capabilities:
    """A machine with a GPU that only pytorch runs on (onnxruntime without its CUDA provider)."""
    runs = {("onnxruntime", "cpu"): ("fp32", "int8"), ("onnxruntime", "cuda"): (),
            ("pytorch", "cpu"): ("fp32", "bf16"), ("pytorch", "cuda"): ("fp32", "fp16", "bf16")}  # fmt: skip
    support = tuple(
        Support("tiny", backend, device, p, READY if p in ok else UNAVAILABLE, "" if p in ok else "not here")
        for (backend, device), ok in runs.items()
        for p in ("fp32", "fp16", "bf16", "int8")
    )
    devices = (DeviceOption("cpu", "cpu", "cpu: EPYC"), DeviceOption("cuda", "cuda", "cuda: 1 x NVIDIA L4"))
    return Capabilities(devices, support)


def test_the_form_moves_to_a_combination_that_runs_here(tmp_path: Path, context: Any) -> None:
    store = open_store(tmp_path / "hub.sqlite")
    app, state = make_ui(store, tmp_path, capabilities=_gpu_host())
    try:
        with live_server(app) as url:
            page = context.new_page()
            page.goto(url + state.guard.sign_in_path())
            assert page.input_value("#f-backend") == "onnxruntime" and page.input_value("#f-device") == "cpu"
            page.select_option("#f-device", "cuda")  # onnxruntime runs nothing on it: backend follows
            assert page.input_value("#f-backend") == "pytorch" and page.input_value("#f-device") == "cuda"
            assert "backend set to pytorch" in page.inner_text("#run-status")
            assert page.locator("#f-precision option[disabled]").all_inner_texts() == ["int8"]
            assert page.is_enabled("#run-button")
            line = "--backend pytorch --device cuda"
            page.wait_for_function(
                f"() => document.getElementById('run-command').textContent.includes('{line}')"
            )
            page.select_option("#f-backend", "onnxruntime")  # the user's pick stays; the device follows
            assert page.input_value("#f-backend") == "onnxruntime" and page.input_value("#f-device") == "cpu"
            assert "device set to cpu" in page.inner_text("#run-status")
            assert sorted(page.locator("#f-precision option:not([disabled])").all_inner_texts()) == [
                "fp32",
                "int8",
            ]
    finally:
        state.runner.shutdown()
        store.close()
