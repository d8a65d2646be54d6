"""CLI: ``crowdperf cm ...`` — MLCommons CM's command line, translated to crowdperf's own commands.

Each CM command prints the native command it stands for, then runs it in this process."""

from __future__ import annotations

import shlex

import typer

from crowdperf.automation.cm_translate import plan
from crowdperf.cli.console import err_console, state
from crowdperf.errors import CrowdperfError

CM_HELP = """Usage: crowdperf cm <action> <target> [tags] [--key=value ...]

MLCommons CM's command line, translated to crowdperf's own commands (printed, then run):
  crowdperf cm run script "get cuda" --out=json          -> crowdperf get --tags get,cuda --json
  crowdperf cm run script "get cudnn" --tar_file=F       -> crowdperf get --tags get,cudnn --tar-file F
  crowdperf cm run script "install python-venv" --name=N -> crowdperf get --tags install,python-venv --name N
  crowdperf cm show cache --tags=get,cuda                -> crowdperf cache show --tags get,cuda
  crowdperf cm pull repo mlcommons@ck                    -> nothing (recipes are built in)
  crowdperf cm run script --tags=generate-run-cmds,inference,_find-performance ... -> crowdperf run ...
  crowdperf cm run script --tags=generate,inference,submission ...  -> crowdperf submission generate ...
  crowdperf cm run script --tags=push,github,mlperf,inference,submission ... -> crowdperf submission push ...
See docs/automation.md."""


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
    if not ctx.args or ctx.args[0] in {"-h", "--help", "help"}:
        typer.echo(CM_HELP)
        return
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
        if translation.dry_run:
            continue
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
