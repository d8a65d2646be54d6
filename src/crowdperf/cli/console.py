"""Shared rich consoles and the global CLI state (verbosity)."""

from __future__ import annotations

from dataclasses import dataclass

from rich.console import Console

console = Console()
err_console = Console(stderr=True)


@dataclass
class CliState:
    verbose: bool = False


state = CliState()
