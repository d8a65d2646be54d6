"""CLI: ``crowdperf cm ...`` — MLCommons CM's command line, translated to crowdperf's own commands.

Each CM command prints the native command it stands for, then runs it in this process."""

from __future__ import annotations

import shlex

import typer

from crowdperf.automation.cm_translate import plan
from crowdperf.cli.console import err_console, state
from crowdperf.errors import CrowdperfError


def _missing_command(root: object, argv: tuple[str, ...], ctx: typer.Context) -> str | None:
    """The first word of ``argv`` naming a command this build lacks, e.g. 'run'."""
    command = root
    for word in argv:
        if not hasattr(command, "get_command"):
            return None
        sub = command.get_command(ctx, word)
        if sub is None:
            return word
        command = sub
    return None


def cm_command(ctx: typer.Context) -> None:
    """Run a CM command with `cm` replaced by `crowdperf cm`.

    Example: crowdperf cm run script "get cuda" --out=json
    """
    translation = plan(list(ctx.args))
    if translation.verbose:
        state.verbose = True
    for note in translation.notes:
        err_console.print(f"[dim]note: {note}[/]", highlight=False)
    root = ctx.find_root().command
    for argv in translation.commands:
        native = "crowdperf " + " ".join(shlex.quote(a) for a in argv)
        missing = _missing_command(root, argv, ctx)
        if missing is not None:
            raise CrowdperfError(
                f"`crowdperf {' '.join(argv[: argv.index(missing) + 1])}` is not part of this build; "
                f"the native command is: {native}",
                hint="update crowdperf to a build that has it",
            )
        err_console.print(f"[bold]native:[/] {native}", highlight=False)
        code = root.main(args=list(argv), prog_name="crowdperf", standalone_mode=False)
        if isinstance(code, int) and code != 0:
            raise typer.Exit(code)


def register(app: typer.Typer) -> None:
    """Add this module's commands to the root app."""
    app.command(
        "cm",
        context_settings={"allow_extra_args": True, "ignore_unknown_options": True, "help_option_names": []},
        help='MLCommons CM\'s command line: `crowdperf cm run script "get cuda"` runs `crowdperf get ...`.',
    )(cm_command)
