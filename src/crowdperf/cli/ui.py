"""CLI: ``crowdperf ui``: the local hub in a browser, with a Run page that launches benchmarks on
this machine, shows them live and places the result among everyone's (hub/web/ui_app.py)."""

from __future__ import annotations

import getpass
import os
import sys
import webbrowser
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

import typer

from crowdperf.cli.console import console, err_console
from crowdperf.cli.hub_web import DB_HELP
from crowdperf.errors import CrowdperfError, UsageError
from crowdperf.names import checked_name
from crowdperf.settings import load_settings

if TYPE_CHECKING:
    from crowdperf.hub.store import Store

DEFAULT_PORT = 8766  # beside `hub serve`'s 8765: both may run at once
LOG_LEVELS = ("critical", "error", "warning", "info", "debug", "trace")


@dataclass(frozen=True)
class UiOptions:
    """``crowdperf ui``'s options once checked: what ``_serve`` binds, where runs write, who submits."""

    host: str
    port: int
    workdir: Path
    submitter: str
    allow_remote_launch: bool
    open_browser: bool
    price_table: Path | None
    log_level: str


def _default_submitter() -> str:
    """The login name when it is a plain name (names.py), else "local"."""
    try:
        return checked_name(getpass.getuser(), "submitter")
    except (CrowdperfError, OSError, KeyError):
        return "local"


def _has_display() -> bool:
    """A graphical browser can open: never start a text browser inside the user's terminal."""
    return sys.platform in ("darwin", "win32") or bool(
        os.environ.get("DISPLAY") or os.environ.get("WAYLAND_DISPLAY")
    )


def ui(
    host: str = typer.Option("127.0.0.1", help="Address to bind. Loopback unless --allow-remote-launch."),
    port: int = typer.Option(DEFAULT_PORT, min=1, max=65535),
    db: str | None = typer.Option(None, "--db", help=DB_HELP),
    workdir: Path | None = typer.Option(
        None, "--workdir", help="Where launched runs write (runs/<id>/results ...); default <cache>/ui."
    ),
    submitter: str | None = typer.Option(
        None, help="Submitter of the hub's copy of each run (default: your login name)."
    ),
    allow_remote_launch: bool = typer.Option(
        False,
        "--allow-remote-launch",
        help="Allow binding a non-loopback --host: anyone with the printed link may then launch runs here.",
    ),
    open_browser: bool = typer.Option(
        True,
        "--open-browser/--no-open-browser",
        help="Open the sign-in link in a browser (when there is a display).",
    ),
    price_table: Path | None = typer.Option(
        None, "--price-table", exists=True, dir_okay=False, help="JSON prices per hour (default: shipped)."
    ),
    log_level: str = typer.Option(
        "warning", help="uvicorn log level (info logs each request, the link's token too)."
    ),
) -> None:
    """Open the local hub with a Run page: pick what this machine can run, launch it, watch it live,
    and see where the result stands among comparable results and the official MLPerf ones. It prints
    a link with a token (like Jupyter's) that signs the browser in; the Run pages answer nobody
    else. One run at a time, queued otherwise; each is `crowdperf run` in a child process, its
    results imported into this hub when it ends.

    Example: crowdperf ui        (then open the printed http://127.0.0.1:8766/run?token=... link)
    """
    from crowdperf.hub.store import open_store
    from crowdperf.hub.web.server import is_loopback

    if log_level not in LOG_LEVELS:
        raise UsageError(f"unknown log level {log_level!r}", hint="use warning, info or debug")
    if not is_loopback(host) and not allow_remote_launch:
        raise UsageError(
            f"crowdperf ui launches benchmarks on this machine: binding {host} would offer that to "
            "other machines",
            hint="keep the default 127.0.0.1 (reach it through `ssh -L 8766:127.0.0.1:8766`), or pass "
            "--allow-remote-launch (the printed link's token is then the only guard)",
        )
    settings = load_settings()
    name = checked_name(submitter, "--submitter") if submitter else _default_submitter()
    store = open_store(db or settings.hub_db)
    try:
        options = UiOptions(
            host=host,
            port=port,
            workdir=(workdir or settings.cache_dir / "ui").absolute(),
            submitter=name,
            allow_remote_launch=allow_remote_launch,
            open_browser=open_browser,
            price_table=price_table,
            log_level=log_level,
        )
        _serve(store, options)
    finally:
        store.close()


def _serve(store: Store, o: UiOptions) -> None:
    """Ask what runs here, bind, print the sign-in link, serve until Ctrl-C, stop any run."""
    from crowdperf.hub.prices import load_price_table
    from crowdperf.hub.web.config import WebConfig
    from crowdperf.hub.web.local_runner import LocalRunner, RunnerConfig
    from crowdperf.hub.web.run_capabilities import probe
    from crowdperf.hub.web.run_guard import LaunchGuard
    from crowdperf.hub.web.run_pages import UiState
    from crowdperf.hub.web.server import ServeOptions, listen, serve
    from crowdperf.hub.web.ui_app import create_ui_app

    prices = load_price_table(o.price_table) if o.price_table else None  # a bad table fails first
    options = ServeOptions(host=o.host, port=o.port, log_level=o.log_level, graceful_s=3)
    sock = listen(options)  # a busy port fails here, before the probe (seconds) and the banner
    try:
        err_console.print("asking the installed backends and workloads what runs here ...", highlight=False)
        caps = probe()
    except BaseException:
        sock.close()
        raise
    guard = LaunchGuard(allow_remote=o.allow_remote_launch, port=sock.getsockname()[1])
    runner = LocalRunner(RunnerConfig(workdir=o.workdir, store=store, submitter=o.submitter))
    state = UiState(runner=runner, guard=guard, capabilities=caps)
    shown = f"[{o.host}]" if ":" in o.host else o.host
    link = f"http://{shown}:{guard.port}{guard.sign_in_path()}"
    console.print(f"crowdperf ui on http://{shown}:{guard.port}  (runs under {o.workdir})")
    console.print("open this link; it signs your browser in to the Run page:", highlight=False)
    console.print(f"    {link}", highlight=False, soft_wrap=True)
    if o.open_browser and _has_display():
        webbrowser.open(link)
    try:
        serve(lambda: WebConfig(store=store, prices=prices), options, sock,
              make_app=lambda config: create_ui_app(config, state))  # fmt: skip
    finally:
        runner.shutdown()  # a run still going is stopped as Cancel stops it


def register(app: typer.Typer) -> None:
    """Add ``crowdperf ui`` to the root app."""
    app.command(name="ui")(ui)
