"""The Run pages of ``crowdperf ui``: pick a benchmark this machine can run, launch it, watch it
live, see where it stands, share it. Mounted by ``ui_app.create_ui_app`` (``hub serve`` has none).

    GET  /run                          the form, what runs here, the current job (sign-in: ?token=)
    POST /run/launch                   queue a run -> 303 to its page
    GET  /run/jobs/{id}                one job: live progress, then summary, standing and sharing
    GET  /run/jobs/{id}/events         Server-Sent Events: the job's JobView as JSON at each change
    GET  /run/jobs/{id}/state          the same JSON once (scripts, tests, pages without JS)
    POST /run/jobs/{id}/cancel         SIGTERM to the run (or drop it from the queue)
    POST /run/jobs/{id}/share/{step}   generate | check | upload | push

Every route checks ``run_guard.LaunchGuard`` first. Pages are rendered on the server; the small
``static/run.js`` opens the event stream and updates the live panel, and reloads the page when
the job ends (the final view, with the standing, is the server's).
"""

from __future__ import annotations

import asyncio
import json
import threading
import time
from collections.abc import AsyncIterator
from dataclasses import asdict, dataclass, field
from pathlib import Path as FsPath
from typing import Annotated
from urllib.parse import parse_qsl

from fastapi import APIRouter, HTTPException, Path, Request
from fastapi.responses import HTMLResponse, JSONResponse, RedirectResponse, Response, StreamingResponse
from starlette.concurrency import run_in_threadpool

from crowdperf.errors import UsageError
from crowdperf.hub.placement import place_result
from crowdperf.hub.web.command_builder import RunChoice, build_commands
from crowdperf.hub.web.local_runner import LocalRunner
from crowdperf.hub.web.rendering import render_page
from crowdperf.hub.web.run_capabilities import Capabilities
from crowdperf.hub.web.run_form import DEFAULTS, form_choices, parse_launch
from crowdperf.hub.web.run_guard import COOKIE_PATH, LaunchGuard
from crowdperf.hub.web.run_jobs import JobView
from crowdperf.hub.web.run_share import check_tree, generate_tree, outcome_of, push_tree, upload_tree

router = APIRouter(include_in_schema=False)
MAX_FORM_BYTES = 16 * 1024
STREAM_POLL_S = 0.2
STREAM_MAX_S = 25.0  # then the browser reconnects: a stopping server never waits long for a stream
KEEPALIVE_S = 10.0
JobId = Annotated[str, Path(pattern=r"^[0-9]{8}-[0-9]{6}-[0-9]{1,4}$")]
Step = Annotated[str, Path(pattern="^(generate|check|upload|push)$")]


@dataclass(frozen=True)
class UiState:
    """What the Run pages need, kept on ``app.state.ui``."""

    runner: LocalRunner
    guard: LaunchGuard
    capabilities: Capabilities
    share_locks: dict[str, threading.Lock] = field(default_factory=dict)

    def share_lock(self, job_id: str) -> threading.Lock:
        return self.share_locks.setdefault(job_id, threading.Lock())


def _ui(request: Request) -> UiState:
    return request.app.state.ui  # type: ignore[no-any-return]


async def _form(request: Request) -> dict[str, str]:
    """An urlencoded form (the only kind these pages send), bounded; a name given twice is refused
    (as ``params.single_valued`` refuses it in a query)."""
    body = await request.body()
    if len(body) > MAX_FORM_BYTES:
        raise UsageError(f"form over {MAX_FORM_BYTES:,} bytes")
    pairs = parse_qsl(body.decode("utf-8", errors="replace"), keep_blank_values=True)
    form = dict(pairs)
    if len(form) != len(pairs):
        raise UsageError("a form field was given more than once")
    return form


def _job(ui: UiState, job_id: str) -> JobView:
    view = ui.runner.view(job_id)
    if view is None:
        raise HTTPException(404, f"no run {job_id} on this server (runs are remembered while it runs)")
    return view


@router.get("/run", response_class=HTMLResponse)
def run_page(request: Request) -> Response:
    ui = _ui(request)
    token = request.query_params.get("token")
    if token is not None:  # the sign-in link: set the cookie, then the same page without the token
        ui.guard.check_client(request)
        if not ui.guard.token_matches(token):
            raise HTTPException(401, "this sign-in link is not the one this server printed")
        response = RedirectResponse("/run", status_code=303)
        response.set_cookie(ui.guard.cookie_name, ui.guard.secret, path=COOKIE_PATH, httponly=True,
                            samesite="strict")  # fmt: skip
        return response
    ui.guard.require_view(request)
    caps = ui.capabilities
    return render_page(
        request, "run.html", page="run", choices=form_choices(caps), defaults=DEFAULTS, caps=caps,
        support=[asdict(s) for s in caps.support], backend_table=caps.backend_table(),
        commands=build_commands(RunChoice(**DEFAULTS)), current=ui.runner.current(),
        jobs=ui.runner.views()[:10], launch_token=ui.guard.launch_token,
    )  # fmt: skip


@router.post("/run/launch")
async def launch(request: Request) -> Response:
    ui = _ui(request)
    form = await _form(request)
    ui.guard.require_post(request, form.get("launch_token"))
    view = ui.runner.submit(parse_launch(form, ui.capabilities))
    return RedirectResponse(f"/run/jobs/{view.id}", status_code=303)


@router.get("/run/jobs/{job_id}", response_class=HTMLResponse)
def job_page(request: Request, job_id: JobId) -> Response:
    ui = _ui(request)
    ui.guard.require_view(request)
    view = _job(ui, job_id)
    store, prices = request.app.state.config.store, request.app.state.config.prices
    standings = [s for rid in view.result_ids if (s := place_result(store, rid, prices=prices)) is not None]
    return render_page(
        request, "run_job.html", page="run", job=view, standings=standings,
        launch_token=ui.guard.launch_token, commands=view.choice.commands(),
        shares={s.action: s for s in view.shares},
        tree_ready=(FsPath(view.results_dir).parent / "submission").is_dir(),
    )  # fmt: skip


@router.get("/run/jobs/{job_id}/state")
def job_state(request: Request, job_id: JobId) -> JSONResponse:
    ui = _ui(request)
    ui.guard.require_view(request)
    return JSONResponse(_job(ui, job_id).to_json(), headers={"Cache-Control": "no-store"})


@router.get("/run/jobs/{job_id}/events")
def job_events(request: Request, job_id: JobId) -> StreamingResponse:
    ui = _ui(request)
    ui.guard.require_view(request)
    _job(ui, job_id)
    headers = {"Cache-Control": "no-store", "X-Accel-Buffering": "no"}
    return StreamingResponse(
        _stream(request, ui.runner, job_id), media_type="text/event-stream", headers=headers
    )


async def _stream(request: Request, runner: LocalRunner, job_id: str) -> AsyncIterator[str]:
    """The job's state at each change; ends after the final state (or after ``STREAM_MAX_S``: the
    browser reconnects by itself, and a reconnect gets the current state at once)."""
    yield "retry: 1000\n\n"
    started = sent_at = time.monotonic()
    last = -1
    while time.monotonic() - started < STREAM_MAX_S:
        version = runner.version(job_id)
        if version is None:
            yield "event: gone\ndata: {}\n\n"
            return
        if version != last:
            view = runner.view(job_id)
            if view is None:
                return
            last, sent_at = view.version, time.monotonic()
            yield f"event: state\nid: {view.version}\ndata: {json.dumps(view.to_json())}\n\n"
            if not view.active:
                return
        elif time.monotonic() - sent_at > KEEPALIVE_S:
            sent_at = time.monotonic()
            yield ": keep-alive\n\n"
        if await request.is_disconnected():
            return
        await asyncio.sleep(STREAM_POLL_S)


@router.post("/run/jobs/{job_id}/cancel")
async def cancel(request: Request, job_id: JobId) -> Response:
    ui = _ui(request)
    form = await _form(request)
    ui.guard.require_post(request, form.get("launch_token"))
    _job(ui, job_id)
    ui.runner.cancel(job_id)
    return RedirectResponse(f"/run/jobs/{job_id}", status_code=303)


@router.post("/run/jobs/{job_id}/share/{step}")
async def share(request: Request, job_id: JobId, step: Step) -> Response:
    ui = _ui(request)
    form = await _form(request)
    ui.guard.require_post(request, form.get("launch_token"))
    view = _job(ui, job_id)
    if view.active:
        raise UsageError("the run has not finished yet", hint="share it once it has")
    job_dir = FsPath(view.results_dir).parent
    tree = job_dir / "submission"

    def run_step() -> None:
        with ui.share_lock(job_id):  # one step of a job at a time (they share its tree)
            steps = {
                "generate": lambda: generate_tree(job_dir, view.choice, form.get("submitter", ""),
                                                  form.get("division", view.choice.division)),
                "check": lambda: check_tree(tree),
                "upload": lambda: upload_tree(tree, form.get("server", ""), form.get("token", "")),
                "push": lambda: push_tree(tree, form.get("repo_url", ""), form.get("force") == "on"),
            }  # fmt: skip
            ui.runner.record_share(job_id, outcome_of(step, steps[step]))

    await run_in_threadpool(run_step)
    return RedirectResponse(f"/run/jobs/{job_id}#share-{step}", status_code=303)
