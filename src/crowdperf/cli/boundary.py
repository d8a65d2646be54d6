"""The command line's one exception boundary: every failure ends as ``error: <what>`` and, where
there is one, ``  fix: <what to do>``, then the documented exit code. No traceback unless
``--verbose``.

    CrowdperfError            its message, hint and exit code (errors.py's table)
    click's usage errors      an unknown option, a missing or malformed value, an unknown
                              command: one line, the fix points at the command's --help; exit 2
    other click errors        one line; their own exit code
    KeyboardInterrupt         "interrupted", exit 130
    OSError                   the file and the reason (disk full, permission denied); exit 1
    anything else             a bug in crowdperf: one line naming it and how to report it;
                              exit 70 (EX_SOFTWARE)

``CrowdperfGroup`` is the root command's class, so the boundary holds however the app is started:
the console script, ``python -m crowdperf``, and the tests' ``CliRunner``.
"""

from __future__ import annotations

import sys
from typing import Any, NoReturn

import typer
from rich.markup import escape
from typer.core import TyperGroup

from crowdperf.cli.console import err_console, state
from crowdperf.errors import CrowdperfError

INTERNAL_ERROR_EXIT = 70  # sysexits.h EX_SOFTWARE: a bug, not the user's input
INTERRUPTED_EXIT = 130


def _click_exceptions() -> Any:
    """typer vendors its own click: its exception module (where ``typer.BadParameter`` lives)."""
    return sys.modules[typer.BadParameter.__module__]


def print_error(message: str, hint: str | None = None) -> None:
    """``error: message`` and ``  fix: hint`` on stderr, never wrapped or interpreted as markup."""
    err_console.print(f"[bold red]error:[/] {escape(message)}", highlight=False, soft_wrap=True)
    if hint:
        err_console.print(f"  fix: {escape(hint)}", highlight=False, soft_wrap=True)


def _usage_hint(exc: Any) -> str:
    ctx = getattr(exc, "ctx", None)
    path = ctx.command_path if ctx is not None else "crowdperf"
    return f"see `{path} --help`"


def report(exc: BaseException) -> int:
    """Print ``exc`` as the boundary does; return the exit code."""
    click_exc = _click_exceptions()
    if state.verbose and not isinstance(exc, click_exc.UsageError | KeyboardInterrupt):
        err_console.print_exception()
    if isinstance(exc, CrowdperfError):
        print_error(exc.message, exc.hint)
        return exc.exit_code
    if isinstance(exc, click_exc.NoArgsIsHelpError):
        if not getattr(typer.core, "HAS_RICH", False):  # with rich, building the error printed it
            exc.show()
        return 2
    if isinstance(exc, click_exc.UsageError):
        print_error(exc.format_message(), _usage_hint(exc))
        return 2
    if isinstance(exc, click_exc.ClickException):
        print_error(exc.format_message())
        return int(exc.exit_code)
    if isinstance(exc, KeyboardInterrupt | typer.Abort):
        print_error("interrupted")
        return INTERRUPTED_EXIT
    if isinstance(exc, OSError):
        where = f" {exc.filename}" if exc.filename else ""
        print_error(
            f"{exc.strerror or exc}{':' if where else ''}{where}",
            "check the path, its permissions, free space",
        )
        return 1
    print_error(
        f"internal error: {type(exc).__name__}: {str(exc)[:300]}",
        "this is a crowdperf bug: rerun with --verbose for the traceback and report it",
    )
    return INTERNAL_ERROR_EXIT


class CrowdperfGroup(TyperGroup):
    """The root group: click's standalone error handling replaced by ``report``."""

    def main(  # type: ignore[override]
        self,
        args: Any = None,
        prog_name: str | None = None,
        complete_var: str | None = None,
        standalone_mode: bool = True,
        **extra: Any,
    ) -> Any:
        if not standalone_mode:  # a caller (``crowdperf cm``) handles failures itself
            return super().main(args, prog_name, complete_var, standalone_mode=False, **extra)
        try:
            code = super().main(args, prog_name, complete_var, standalone_mode=False, **extra)
        except SystemExit:
            raise
        except BaseException as exc:
            _exit(report(exc))
        _exit(code if isinstance(code, int) else 0)


def _exit(code: int) -> NoReturn:
    sys.exit(code)
