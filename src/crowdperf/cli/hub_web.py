"""CLI: the web side of `crowdperf hub`: serve, submit, token, hide/delete, export-site.

cli/hub.py calls ``register_web(hub_app)`` to add these to its `hub` sub-app."""

from __future__ import annotations

from pathlib import Path

import typer
from rich.markup import escape

from crowdperf import jsonio
from crowdperf.cli.console import console, err_console
from crowdperf.errors import HubError, UsageError
from crowdperf.formatting import number
from crowdperf.locks import exclusive, tree_lock
from crowdperf.settings import load_settings

DB_HELP = "Hub database: SQLite path or postgresql:// URL (default: CROWDPERF_HUB_DB or <cache>/hub.sqlite)."


def _open(db: str | None, *, create: bool = True):  # type: ignore[no-untyped-def]
    """The hub database; a reader (export-site, token revoke) passes ``create=False``."""
    from crowdperf.hub.store import open_store

    return open_store(db or load_settings().hub_db, create=create)


def _prices(price_table: Path | None):  # type: ignore[no-untyped-def]
    from crowdperf.hub.prices import load_price_table

    return load_price_table(price_table) if price_table else None


def serve(
    host: str = typer.Option("127.0.0.1", help="Address to bind; loopback unless you mean otherwise."),
    port: int = typer.Option(8765, min=1, max=65535),
    db: str | None = typer.Option(None, "--db", help=DB_HELP),
    price_table: Path | None = typer.Option(
        None, "--price-table", exists=True, dir_okay=False, help="JSON prices per hour (default: shipped)."
    ),
    max_upload_mb: int = typer.Option(64, min=1, max=4096, help="Largest accepted upload (compressed)."),
    check_round: str | None = typer.Option(
        None, "--check-round", help="MLPerf round the upload checker applies (default: the newest)."
    ),
    workers: int = typer.Option(
        1, min=1, max=64, help="Worker processes sharing the port (one core each; e.g. the number of cores)."
    ),
    cache_mb: int = typer.Option(
        64, min=0, max=65536, help="Response cache per worker, MiB (0: none); emptied by every write."
    ),
    log_level: str = typer.Option(
        "info", help="uvicorn log level: warning or above drops the access-log line per request."
    ),
) -> None:
    """Serve the results table, compare, chart, best-stack and command-builder pages and the JSON API.

    Example: crowdperf hub serve --db hub.sqlite --port 8765   (then open http://127.0.0.1:8765)
    """
    from crowdperf.hub.web.app import WebConfig
    from crowdperf.hub.web.response_cache import MIB, CacheLimits
    from crowdperf.hub.web.server import ServeOptions, is_loopback, listen
    from crowdperf.hub.web.server import serve as run_server
    from crowdperf.hub.web.staging import StagingLimits
    from crowdperf.hub.web.submission_checks import submission_checker
    from crowdperf.hub.web.upload_safety import ArchiveLimits

    if log_level not in ("critical", "error", "warning", "info", "debug", "trace"):
        raise UsageError(f"unknown log level {log_level!r}", hint="use warning, info or debug")
    if not is_loopback(host):
        err_console.print(f"[yellow]warning:[/] binding {host}: the hub is reachable from other machines")
    _open(db).close()  # migrate once and fail early, before any worker starts
    limits = ArchiveLimits(max_compressed_bytes=max_upload_mb * 1024 * 1024)
    # staging is accounted per worker: split the total so all workers together keep to it
    staging = StagingLimits(
        total_bytes=max(StagingLimits().total_bytes // workers, StagingLimits().per_user_bytes)
    )
    prices, checker = _prices(price_table), submission_checker(check_round)
    cache = CacheLimits(max_bytes=cache_mb * MIB) if cache_mb else None

    def make_config() -> WebConfig:
        return WebConfig(
            store=_open(db), prices=prices, limits=limits, checker=checker, staging=staging, cache=cache
        )

    options = ServeOptions(host=host, port=port, workers=workers, log_level=log_level)
    sock = listen(options)  # a busy port fails here, before the banner
    console.print(f"crowdperf hub on http://{host}:{port}  (API docs: /docs)")
    run_server(make_config, options, sock)


def submit(
    tree: Path = typer.Argument(..., help="Submission tree root (holds closed/ or open/)."),
    server: str = typer.Option(..., "--server", help="Hub URL, e.g. http://127.0.0.1:8765"),
    token: str = typer.Option(..., "--token", help="Upload token (crowdperf hub token create NAME)."),
    as_json: bool = typer.Option(False, "--json"),
) -> None:
    """Upload a submission tree to a hub server.

    Example: crowdperf hub submit S --server http://127.0.0.1:8765 --token cph_...
    """
    from crowdperf.hub.web.client import submit_tree

    result = submit_tree(tree, server=server, token=token)
    r = result.report
    if as_json:
        typer.echo(jsonio.dumps(jsonio.document("hub.submit", 1, r)))
    else:
        console.print(
            escape(
                f"uploaded {number(result.bytes_sent)} bytes as {r['owner']}: "
                f"{number(r['imported'])} imported, {number(r['unchanged'])} unchanged, "
                f"{number(len(r['failed']))} failed; results labelled {r['verdict']}"
            ),
            soft_wrap=True,
        )
        for line in r["failed"]:
            console.print(f"  [red]failed[/] {escape(str(line))}", highlight=False, soft_wrap=True)
    if r["failed"] and not (r["imported"] or r["unchanged"]):  # the upload stored nothing
        raise HubError(
            f"none of the {len(r['failed'])} uploaded results could be stored",
            hint="see the reason given for each; fix the tree and submit it again",
        )


def _change(action: str, result_id: int, server: str, token: str) -> None:
    from crowdperf.hub.web.client import change_result

    answer = change_result(server, token, result_id, action)
    console.print(escape(str(answer.get("message") or answer)), soft_wrap=True)


RESULT_ID = typer.Argument(..., min=1, max=2**31 - 1, help="The result's id (hub list shows it).")


def hide(
    result_id: int = RESULT_ID,
    server: str = typer.Option(..., "--server"),
    token: str = typer.Option(..., "--token"),
    unhide: bool = typer.Option(False, "--unhide", help="Show it again."),
) -> None:
    """Hide one of your uploaded results (or show it again with --unhide)."""
    _change("unhide" if unhide else "hide", result_id, server, token)


def delete(result_id: int = RESULT_ID, server: str = typer.Option(..., "--server"),
           token: str = typer.Option(..., "--token")) -> None:  # fmt: skip
    """Delete one of your uploaded results for good."""
    _change("delete", result_id, server, token)


def export_site(
    dest: Path = typer.Argument(..., help="Output folder (replaced)."),
    db: str | None = typer.Option(None, "--db", help=DB_HELP),
    price_table: Path | None = typer.Option(None, "--price-table", exists=True, dir_okay=False),
) -> None:
    """Write the table, compare and chart pages as a static site plus data/results.json.

    Example: crowdperf hub export-site site/ --db hub.sqlite
    """
    from crowdperf.hub.web.static_site import export_site as run_export

    # One writer per site folder: two exports share its .partial sibling (locks.py; exit 12).
    with exclusive(tree_lock(dest.resolve()), f"site folder {dest}"):
        report = run_export(_open(db, create=False), dest, prices=_prices(price_table))
    console.print(f"wrote {report.pages} pages for {report.results} results to {report.path}")


token_app = typer.Typer(help="Upload tokens (stored hashed; the secret is shown once).", no_args_is_help=True)


@token_app.command("create")
def token_create(
    name: str,
    db: str | None = typer.Option(None, "--db", help=DB_HELP),
    admin: bool = typer.Option(False, "--admin", help="May see every hidden result and hide or delete any."),
) -> None:
    """Create an upload token for NAME and print it once (a revoked NAME gets a new token and
    keeps its results).

    Example: crowdperf hub token create alice --db hub.sqlite
    """
    from crowdperf.hub.auth import create_token

    created = create_token(_open(db), name, admin=admin)
    err_console.print(f"token for {created.name} (shown once, store it now):")
    typer.echo(created.secret)


@token_app.command("revoke")
def token_revoke(name: str, db: str | None = typer.Option(None, "--db", help=DB_HELP)) -> None:
    """Revoke NAME's token; its uploads stay (`token create NAME` gives it a new one)."""
    from crowdperf.hub.auth import revoke_token

    revoke_token(_open(db, create=False), name)
    console.print(f"revoked the token of {name}")


def register_web(hub_app: typer.Typer) -> None:
    """Add serve, submit, hide, delete, export-site and token to the `hub` sub-app (called by
    cli/hub.py's ``register``)."""
    for fn, name in ((serve, "serve"), (submit, "submit"), (hide, "hide"), (delete, "delete"),
                     (export_site, "export-site")):  # fmt: skip
        hub_app.command(name)(fn)
    hub_app.add_typer(token_app, name="token")
