"""docs/automation.md stays true: every recipe, cache command and seed CM command is documented."""

from __future__ import annotations

from pathlib import Path

from crowdperf.automation.registry import load_registry

DOC = Path(__file__).resolve().parents[3] / "docs" / "automation.md"


def test_every_recipe_and_command_is_documented() -> None:
    text = DOC.read_text()
    for name in load_registry().names():
        assert f"`{name}`" in text, f"recipe {name} missing from docs/automation.md"
    for command in (
        "crowdperf cache show",
        "crowdperf cache find",
        "crowdperf cache rm",
        "crowdperf get --tags",
        "crowdperf cm pull repo",
        "generate-run-cmds",
        "generate,inference,submission",
        "push,github,mlperf,inference,submission",
    ):
        assert command in text, command
