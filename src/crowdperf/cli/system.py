"""CLI: `crowdperf system describe`."""

from __future__ import annotations

import json
from dataclasses import asdict
from pathlib import Path

import typer
from rich.table import Table

from crowdperf.cli.console import console
from crowdperf.submission.system_description import UNKNOWN, describe_system

system_app = typer.Typer(
    help="Describe this host the way MLPerf's systems/<name>.json needs it.", no_args_is_help=True
)


@system_app.command("describe")
def describe(
    as_json: bool = typer.Option(False, "--json", help="Print JSON (schema crowdperf.system/1)."),
    overrides: Path | None = typer.Option(
        None, "--overrides", help="YAML file of field: value that win over detection."
    ),
) -> None:
    """Detect CPU, memory, storage, accelerators and software.

    Example: crowdperf system describe --overrides my-host.yaml --json
    """
    desc = describe_system(overrides)
    if as_json:
        typer.echo(json.dumps({"schema": "crowdperf.system/1", **asdict(desc)}, indent=2))
        return
    table = Table(title=f"system {desc.system_name} (host slug {desc.host_slug})", show_header=False)
    for key, value in asdict(desc).items():
        table.add_row(key, f"[yellow]{value}[/]" if value == UNKNOWN else str(value))
    console.print(table)
    if unknown := desc.unknown_fields():
        console.print(f"[yellow]not detectable, set in --overrides:[/] {', '.join(unknown)}")


def register(app: typer.Typer) -> None:
    """Add this module's commands to the root app."""
    app.add_typer(system_app, name="system")
