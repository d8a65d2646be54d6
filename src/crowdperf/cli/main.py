"""The ``crowdperf`` command line: thin. Each sub-module registers its commands; each command parses
options, calls one library function and renders its typed result. Failures of every kind are
reported once, at the root command (``boundary.CrowdperfGroup``)."""

from __future__ import annotations

import typer

from crowdperf import __version__
from crowdperf.cli import cache, cm, dataset, explore, get, hub, run, submission, system, ui
from crowdperf.cli.boundary import CrowdperfGroup
from crowdperf.cli.console import state

app = typer.Typer(
    name="crowdperf",
    cls=CrowdperfGroup,
    help="Crowd-benchmarking of ML inference: MLPerf Inference BERT with the real LoadGen.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    add_completion=False,
    context_settings={"help_option_names": ["-h", "--help"]},
)


def _version(value: bool) -> None:
    if value:
        typer.echo(f"crowdperf {__version__}")
        raise typer.Exit()


@app.callback()
def _root(
    verbose: bool = typer.Option(False, "--verbose", "-v", help="Show details and tracebacks of failures."),
    version: bool = typer.Option(
        False, "--version", callback=_version, is_eager=True, help="Print the version and exit."
    ),
) -> None:
    state.verbose = verbose


for _module in (run, dataset, get, cache, cm, system, submission, hub, explore, ui):
    _module.register(app)


def main(argv: list[str] | None = None) -> None:
    """Entry point of the console script; the root group maps every failure to its exit code."""
    app(args=argv, prog_name="crowdperf", standalone_mode=True)
