"""CLI: ``crowdperf cache show|find|rm`` — the artifact cache of ``crowdperf get``."""

from __future__ import annotations

from datetime import datetime

import typer
from rich.markup import escape

from crowdperf import jsonio
from crowdperf.automation.cache_ops import find_paths, remove_entries, show_entries
from crowdperf.cli.console import console
from crowdperf.cli.tables import Rows, print_rows
from crowdperf.formatting import plural
from crowdperf.settings import load_settings

cache_app = typer.Typer(
    help="Show, find or remove cached artifacts (what `crowdperf get` found).", no_args_is_help=True
)
TAGS_HELP = "Only entries with all these tags, e.g. get,cuda or cuda,_lib-only."


@cache_app.command("show")
def show(
    tags: str = typer.Option(None, "--tags", help=TAGS_HELP),
    as_json: bool = typer.Option(False, "--json", help="Print a JSON list of entries."),
) -> None:
    """List cache entries; stale ones (paths vanished or changed) are marked.

    Example: crowdperf cache show --tags get,cuda
    """
    entries = show_entries(load_settings(), tags)
    if as_json:
        typer.echo(jsonio.dumps(jsonio.document("cache", 1, {"entries": [e.to_dict() for e in entries]})))
        return
    if not entries:
        console.print("no cache entries" + (f" with tags {tags}" if tags else ""))
        return
    rows = []
    for e in entries:
        where = next(iter(e.artifact.paths.values()), "")
        state = "[red]stale[/]" if e.stale else "ok"
        created = datetime.fromtimestamp(e.created).strftime("%Y-%m-%d %H:%M")
        variations = " ".join("_" + v for v in e.variations)
        rows.append(
            (str(e.id), escape(e.recipe), escape(variations), escape(e.artifact.version or ""), state,
             escape(str(where)), created)
        )  # fmt: skip
    headers = ("id", "recipe", "variations", "version", "state", "where", "cached at")
    print_rows(
        console,
        Rows(
            headers, tuple(rows), title=f"artifact cache ({plural(len(entries), 'entry', 'entries')})", keys=2
        ),
    )


@cache_app.command("find")
def find(tags: str = typer.Option(None, "--tags", help=TAGS_HELP)) -> None:
    """Print the main path of each matching entry, one a line (for scripts); exit 3 when none matches.

    Example: crowdperf cache find --tags cuda
    """
    for path in find_paths(load_settings(), tags):
        typer.echo(str(path))


@cache_app.command("rm")
def rm(
    tags: str = typer.Option(None, "--tags", help=TAGS_HELP),
    everything: bool = typer.Option(False, "--all", help="Remove every entry."),
) -> None:
    """Remove entries (and what the cache itself installed for them); exit 3 when no entry has the
    tags (--all on an empty cache removes nothing and succeeds).

    Example: crowdperf cache rm --tags cudnn
    """
    result = remove_entries(load_settings(), tags, everything=everything)
    console.print(
        f"removed {len(result.removed)} entries"
        + (f" and {len(result.deleted_dirs)} installed dirs" if result.deleted_dirs else "")
    )


def register(app: typer.Typer) -> None:
    """Add this module's commands to the root app."""
    app.add_typer(cache_app, name="cache")
