"""``crowdperf ui``'s app as the tests build it: a real store, a real runner (its runs are real
``crowdperf run`` children writing under ``tmp``), and what this machine can run asked of the real
backends. (A module with a unique name: test modules import it; ``conftest`` names collide.)"""

from __future__ import annotations

import re
import time
from collections.abc import Callable
from functools import lru_cache
from pathlib import Path

from fastapi import FastAPI

from crowdperf.hub.store import Store
from crowdperf.hub.web.config import WebConfig
from crowdperf.hub.web.local_runner import LocalRunner, RunnerConfig
from crowdperf.hub.web.run_capabilities import Capabilities, detect
from crowdperf.hub.web.run_guard import LaunchGuard
from crowdperf.hub.web.run_jobs import JobView
from crowdperf.hub.web.run_pages import UiState
from crowdperf.hub.web.ui_app import create_ui_app

# the default tiny run, made short: one scenario, few distinct samples (a run takes ~10 s here)
QUICK = {"model": "tiny", "backend": "onnxruntime", "device": "cpu", "precision": "fp32",
         "scenario": "Offline", "mode": "all", "execution_mode": "test", "category": "edge",
         "division": "open", "count": "8"}  # fmt: skip


@lru_cache(maxsize=1)
def machine() -> Capabilities:
    return detect()


def make_ui(
    store: Store,
    tmp: Path,
    port: int = 0,
    allow_remote: bool = False,
    capabilities: Capabilities | None = None,
) -> tuple[FastAPI, UiState]:
    """The app and its state; ``capabilities`` another machine's (default: this one's, asked)."""
    runner = LocalRunner(RunnerConfig(workdir=tmp / "ui", store=store, submitter="tester", poll_s=0.1))
    guard = LaunchGuard(allow_remote=allow_remote, port=port)
    state = UiState(runner=runner, guard=guard, capabilities=capabilities or machine())
    return create_ui_app(WebConfig(store=store, staging_dir=tmp / "staging"), state), state


def launch_token(html: str) -> str:
    found = re.search(r'name="launch_token" value="([0-9a-f]+)"', html)
    assert found, "no launch token in the page"
    return found.group(1)


def wait_for(
    view: Callable[[], JobView | None], done: Callable[[JobView], bool], timeout_s: float = 120.0
) -> JobView:
    """Poll a job's view until ``done`` says so."""
    deadline = time.monotonic() + timeout_s
    while True:
        v = view()
        assert v is not None
        if done(v):
            return v
        assert time.monotonic() < deadline, f"job {v.id} stuck in {v.state}: {v.log_tail[-5:]}"
        time.sleep(0.1)
