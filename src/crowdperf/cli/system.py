"""CLI: `crowdperf system describe`."""

from __future__ import annotations

import json
from dataclasses import asdict
from pathlib import Path

import typer
from rich.markup import escape

from crowdperf.cli.console import console
from crowdperf.cli.tables import print_fields
from crowdperf.formatting import plural
from crowdperf.submission.system_description import UNKNOWN, default_devices, describe_system
from crowdperf.system.accelerators import resolve
from crowdperf.system.devices import DEVICE_HELP, DeviceSelection, describe_used
from crowdperf.system.inventory import host_inventory

SCHEMA = "crowdperf.system/2"
ATTRIBUTION = (
    "a run's system follows the devices it uses: its accelerators_per_node, accelerator_* fields "
    "and system name count only those devices (a cpu run has 0 accelerators, --device cuda:1 on a "
    "2-GPU host has 1); pass --device to describe a run on other devices"
)

system_app = typer.Typer(
    help="Describe this host the way MLPerf's systems/<name>.json needs it.", no_args_is_help=True
)


@system_app.command("describe")
def describe(
    as_json: bool = typer.Option(
        False,
        "--json",
        help=f"Print JSON (schema {SCHEMA}): the description, the host inventory, the devices.",
    ),
    overrides: Path | None = typer.Option(
        None, "--overrides", help="YAML file of field: value that win over detection."
    ),
    device: str | None = typer.Option(
        None,
        "--device",
        help=f"Describe a run on these devices: {DEVICE_HELP} (default: every GPU of the host, or cpu).",
    ),
) -> None:
    """Detect CPU, memory, storage, accelerators and software.

    The accelerators are those of a run on --device, as `crowdperf run --device` files them.

    Example: crowdperf system describe --device cuda:0 --overrides my-host.yaml --json
    """
    inventory = host_inventory()
    used = default_devices(inventory) if device is None else resolve(DeviceSelection.parse(device), inventory)
    desc = describe_system(overrides, inventory=inventory, devices=used)
    if as_json:
        payload = {
            "schema": SCHEMA,
            **asdict(desc),
            "devices": [asdict(d) for d in used],
            "inventory": inventory.to_dict(),
            "attribution": ATTRIBUTION,
        }
        typer.echo(json.dumps(payload, indent=2))
        return
    fields = [
        (key, f"[yellow]{value}[/]" if value == UNKNOWN else escape(str(value)))
        for key, value in asdict(desc).items()
    ]
    title = f"system [bold]{escape(desc.system_name)}[/] (host slug {escape(desc.host_slug)})"
    print_fields(console, title, fields)
    gpus = plural(len(inventory.gpus), "GPU")
    console.print(
        f"devices: {describe_used(used)}; the host has {gpus}. Note: {ATTRIBUTION}.",
        soft_wrap=True,
        highlight=False,
    )
    if unknown := desc.unknown_fields():
        console.print(f"[yellow]not detectable, set in --overrides:[/] {', '.join(unknown)}", soft_wrap=True)


def register(app: typer.Typer) -> None:
    """Add this module's commands to the root app."""
    app.add_typer(system_app, name="system")
