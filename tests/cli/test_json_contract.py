"""Every ``--json`` speaks one style: an object whose ``schema`` is ``crowdperf.<kind>/<version>``
(crowdperf/jsonio.py). A command with ``--json`` that is not covered here fails the last test."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import pytest
import typer.main
from typer.testing import CliRunner

from crowdperf.cli.main import app

SCHEMA = re.compile(r"crowdperf\.[a-z][a-z.]*/\d+")
runner = CliRunner()

# command -> arguments that make it succeed here with nothing prepared (the rest need fixtures:
# their own tests check their schema; they are named in COVERED_ELSEWHERE)
CHEAP = {
    "cache show": ["cache", "show"],
    "get": ["get", "--list"],
    "system describe": ["system", "describe"],
    "dataset squad": ["dataset", "squad"],
}
COVERED_ELSEWHERE = {
    "run": "tests/cli/test_run.py",
    "dataset squad-accuracy": "tests/cli/test_dataset_cli.py",
    "submission generate": "tests/cli/test_submission_cli.py",
    "submission check": "tests/cli/test_submission_cli.py",
    "hub import": "tests/cli/test_hub_cli.py",
    "hub list": "tests/cli/test_hub_cli.py",
    "hub compare": "tests/cli/test_hub_cli.py",
    "hub pareto": "tests/cli/test_hub_cli.py",
    "hub best": "tests/cli/test_hub_cli.py",
    "hub submit": "tests/integration/hub_web",
    "explore": "tests/cli/test_explore.py",
    "explore status": "tests/cli/test_explore.py",
    "explore report": "tests/cli/test_explore.py",
}


def _json_commands(group: Any, prefix: str = "") -> list[str]:
    """Leaf commands with a --json option (duck-typed: typer ships its own click)."""
    found = []
    for name, cmd in group.commands.items():
        path = f"{prefix} {name}".strip()
        if hasattr(cmd, "commands"):
            found += _json_commands(cmd, path)
        elif any("--json" in getattr(p, "opts", ()) for p in cmd.params):
            found.append(path)
    return found


@pytest.mark.parametrize("command", sorted(CHEAP))
def test_cheap_json_commands_carry_a_schema_tag(command: str, tmp_path: Path) -> None:
    out = runner.invoke(app, [*CHEAP[command], "--json"])
    assert out.exit_code == 0, out.output
    doc = json.loads(out.stdout)
    assert isinstance(doc, dict) and SCHEMA.fullmatch(doc["schema"]), doc.get("schema")


def test_every_json_command_is_covered() -> None:
    commands = _json_commands(typer.main.get_command(app))
    missing = [c for c in commands if c not in CHEAP and c not in COVERED_ELSEWHERE]
    assert commands and not missing, f"add a schema check for: {missing}"
