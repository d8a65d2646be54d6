"""``crowdperf ui``'s application: the hub's pages and API (``app.create_app``) plus the Run pages
(``run_pages``) and their runner, on a server that launches benchmarks on this machine.

    ui = UiState(runner=LocalRunner(...), guard=LaunchGuard(port=8766), capabilities=probe())
    app = create_ui_app(WebConfig(store=store), ui)

``hub serve`` never has the Run pages: a shared hub must not run anything for its visitors.
"""

from __future__ import annotations

from fastapi import Depends, FastAPI

from crowdperf.formatting import duration
from crowdperf.hub.web import run_pages
from crowdperf.hub.web.app import create_app
from crowdperf.hub.web.config import WebConfig
from crowdperf.hub.web.params import single_valued
from crowdperf.hub.web.run_pages import UiState


def create_ui_app(config: WebConfig, ui: UiState) -> FastAPI:
    app = create_app(config)
    app.state.ui = ui
    app.state.templates.globals["run_page"] = True  # base.html's "Run" link
    app.state.templates.filters["duration"] = duration
    app.include_router(run_pages.router, dependencies=[Depends(single_valued)])
    return app
