"""The docs tell the truth about the code: the CLI reference is current, every command and every
environment variable is documented, README's quick start is the two commands CI runs."""

from __future__ import annotations

import importlib.util
import re
from pathlib import Path
from types import ModuleType

from crowdperf.settings import ALL_ENV_VARS

REPO = Path(__file__).resolve().parents[2]
DOCS = REPO / "docs"
REGENERATE = "regenerate it with: .venv/bin/python scripts/gen_cli_docs.py"


def _generator() -> ModuleType:
    spec = importlib.util.spec_from_file_location("gen_cli_docs", REPO / "scripts" / "gen_cli_docs.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def _command_paths(cli_md: str) -> list[str]:
    return re.findall(r"^## `(crowdperf[^`]*)`$", cli_md, flags=re.MULTILINE)


def test_cli_reference_is_current() -> None:
    generated = _generator().generate()
    current = (DOCS / "cli.md").read_text(encoding="utf-8")
    assert current == generated, f"docs/cli.md is out of date with the commands' --help; {REGENERATE}"


def test_cli_reference_is_independent_of_terminal_width(monkeypatch) -> None:
    gen = _generator()
    monkeypatch.setenv("COLUMNS", "40")
    narrow = gen.generate()
    monkeypatch.setenv("COLUMNS", "250")
    monkeypatch.setenv("TERMINAL_WIDTH", "250")
    assert gen.generate() == narrow


def test_every_command_is_mentioned_outside_the_reference() -> None:
    paths = _command_paths((DOCS / "cli.md").read_text(encoding="utf-8"))
    assert "crowdperf run" in paths and "crowdperf hub serve" in paths
    prose = "\n".join(
        p.read_text(encoding="utf-8") for p in [*DOCS.glob("*.md"), REPO / "README.md"] if p.name != "cli.md"
    )
    missing = [p for p in paths if p != "crowdperf" and p not in prose]
    assert not missing, f"commands documented only in docs/cli.md (describe them in a docs page): {missing}"


def test_every_env_var_is_in_settings_doc() -> None:
    settings_md = (DOCS / "settings.md").read_text(encoding="utf-8")
    missing = [name for name in ALL_ENV_VARS if f"`{name}`" not in settings_md]
    assert not missing, f"environment variables missing from docs/settings.md: {missing}"


def test_readme_quick_start_is_the_two_ci_commands() -> None:
    readme = (REPO / "README.md").read_text(encoding="utf-8")
    blocks = re.findall(r"```bash\n(.*?)```", readme, flags=re.DOTALL)
    assert blocks, "README.md has no ```bash block"
    commands = [line.split("#", 1)[0].strip() for line in blocks[0].splitlines()]
    commands = [c for c in commands if c]
    assert commands == ["bash scripts/demo.sh", "bash scripts/test.sh"]
    ci = (REPO / ".ci" / "run").read_text(encoding="utf-8")
    calls_test = re.search(r"^(bash |exec )?\S*scripts/test\.sh\b", ci, flags=re.MULTILINE)
    assert calls_test, ".ci/run must call scripts/test.sh"


def test_every_docs_page_is_linked_from_readme() -> None:
    readme = (REPO / "README.md").read_text(encoding="utf-8")
    missing = [p.name for p in DOCS.glob("*.md") if f"(docs/{p.name})" not in readme]
    assert not missing, f"docs pages not linked from README's docs index: {missing}"


def test_no_help_text_is_eaten_by_rich_markup() -> None:
    """typer renders --help through rich, which takes "[word...]" for a markup tag and drops it:
    "batch size [default: ...]" printed as "batch size ." (every option and command help)."""
    import typer.main
    from rich.text import Text

    from crowdperf.cli.main import app

    gen = _generator()
    root = typer.main.get_command(app)
    eaten = []
    for ctx, cmd in gen._walk(root, gen._context(root, "crowdperf", None)):
        texts = [cmd.help or ""] + [getattr(p, "help", None) or "" for p in cmd.params]
        eaten += [f"{ctx.command_path}: {t!r}" for t in texts if Text.from_markup(t).plain != t]
    assert not eaten, "rich would drop part of these; avoid [...] or escape it:\n" + "\n".join(eaten)
