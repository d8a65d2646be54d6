"""The screenshots of docs/ui.md, taken from a real ``crowdperf ui`` session: the Run page, a run's
progress view, and where the result stands after two runs. Headless Debian chromium through
Playwright (never ``playwright install``); a fresh cache and hub under a temporary folder.

    .venv/bin/python scripts/ui_screenshots.py docs/images
"""

from __future__ import annotations

import os
import socket
import sys
import tempfile
import threading
import time
from pathlib import Path

CHROMIUM = "/usr/bin/chromium"


def main(out: Path) -> None:
    tmp = Path(tempfile.mkdtemp(prefix="crowdperf-ui-shots-"))
    os.environ["CROWDPERF_CACHE"] = str(tmp / "cache")  # before crowdperf reads its settings

    import uvicorn
    from playwright.sync_api import sync_playwright

    from crowdperf.hub.store import open_store
    from crowdperf.hub.web.app import WebConfig
    from crowdperf.hub.web.local_runner import LocalRunner, RunnerConfig
    from crowdperf.hub.web.run_capabilities import probe
    from crowdperf.hub.web.run_guard import LaunchGuard
    from crowdperf.hub.web.run_pages import UiState
    from crowdperf.hub.web.ui_app import create_ui_app

    store = open_store(tmp / "hub.sqlite")
    runner = LocalRunner(RunnerConfig(workdir=tmp / "ui", store=store, submitter="me"))
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    state = UiState(runner=runner, guard=LaunchGuard(port=port), capabilities=probe())
    app = create_ui_app(WebConfig(store=store), state)
    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning"))
    threading.Thread(target=server.run, daemon=True).start()
    while not server.started:
        time.sleep(0.05)
    url = f"http://127.0.0.1:{port}"
    out.mkdir(parents=True, exist_ok=True)
    try:
        with sync_playwright() as p:
            browser = p.chromium.launch(executable_path=CHROMIUM, args=["--headless", "--no-sandbox"])
            page = browser.new_page(viewport={"width": 1280, "height": 900})
            page.set_default_timeout(300_000)
            page.goto(url + state.guard.sign_in_path())
            page.select_option("#f-scenario", "Offline")
            page.fill("#f-count", "64")
            page.wait_for_function(
                "() => document.getElementById('run-command').textContent.includes('Offline')"
            )
            page.screenshot(path=str(out / "ui-run-page.png"), full_page=True)
            for shot in ("ui-progress.png", None):
                with page.expect_navigation():
                    page.click("#run-button")
                if shot:  # the first run, caught in its performance test's timed phase
                    page.wait_for_function(
                        "() => document.getElementById('job-test').textContent.startsWith('2 of 2')"
                        " && document.getElementById('job-phase').textContent === 'loadgen'"
                        " && !document.getElementById('job-work').textContent.startsWith('0 ')"
                    )
                    page.screenshot(path=str(out / shot), full_page=True)
                page.wait_for_selector("#outcome[data-state=finished]")
                if shot:
                    page.goto(url + "/run")
                    page.select_option("#f-scenario", "Offline")
                    page.fill("#f-count", "64")
            page.screenshot(path=str(out / "ui-standing.png"), full_page=True)
            browser.close()
    finally:
        server.should_exit = True
        runner.shutdown()
        store.close()
    print(f"screenshots in {out}; runs under {tmp}")


if __name__ == "__main__":
    main(Path(sys.argv[1] if len(sys.argv) > 1 else "docs/images"))
