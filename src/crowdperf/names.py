"""Names that become path components are checked once, the same way everywhere.

A submitter, a venv name, a system slug, a token owner: each ends up as one directory or file name
under a root crowdperf writes (``<submission>/<division>/<submitter>/``, ``<cache>/venvs/<name>/``).
``submission generate --submitter ../../etc`` once wrote its tree outside ``--submission-dir``.
A name passes when it is one portable path component:

    letters A-Z a-z, digits, and . _ + -     nothing else: no / \\ (separators), no NUL or other
                                             control characters, no spaces, none of Windows'
                                             reserved < > : " | ? *
    starts with a letter or a digit          no "." or ".." or hidden ".name", no "-name" that a
                                             command line would read as an option
    does not end with "."                    Windows drops a trailing dot: "a." would be "a"
    not a Windows device name                CON, PRN, AUX, NUL, COM0-9, LPT0-9 (any case, any
                                             extension): Windows opens the device instead
    at most ``MAX_NAME_LENGTH`` characters   far below every file system's 255 bytes, and short
                                             enough to read in a table

``checked_name`` raises a one-line ``UsageError`` naming the option and the rule, before anything
is created; ``child_path`` also proves the joined path stays under its root. Free-text labels that
are shown, never joined to a path (an MLPerf ``system_name`` such as "DGX H100 (8x H100, TensorRT)"),
go through ``checked_label``: no control characters, no path separators, bounded length.
"""

from __future__ import annotations

import re
from pathlib import Path

from crowdperf.errors import UsageError

MAX_NAME_LENGTH = 64
MAX_LABEL_LENGTH = 200
_NAME = re.compile(r"[A-Za-z0-9](?:[A-Za-z0-9._+-]*[A-Za-z0-9_+-])?")
_WINDOWS_DEVICES = re.compile(r"(con|prn|aux|nul|com[0-9]|lpt[0-9])(\..*)?", re.IGNORECASE)
_CONTROL = re.compile(r"[\x00-\x1f\x7f]")
RULE = "letters, digits and . _ + -, starting with a letter or digit"


def checked_name(value: str, what: str, *, max_length: int = MAX_NAME_LENGTH) -> str:
    """``value`` when it is safe as one path component on every OS (the module docstring's rule);
    a one-line UsageError naming ``what`` (an option, e.g. "--submitter") otherwise."""
    if not isinstance(value, str):
        raise UsageError(f"{what} must be a name ({RULE}), got {value!r}")
    shown = _shown(value)
    if not value:
        raise UsageError(f"{what} is empty", hint=f"give a name: {RULE}")
    if len(value) > max_length:
        raise UsageError(
            f"{what} is {len(value):,} characters long; at most {max_length} are allowed",
            hint="use a shorter name",
        )
    if not _NAME.fullmatch(value):
        raise UsageError(f"{what} {shown} is not a plain name", hint=f"use only {RULE} (no path, no spaces)")
    if _WINDOWS_DEVICES.fullmatch(value):
        raise UsageError(f"{what} {shown} is a reserved device name on Windows", hint="choose another name")
    return value


def child_path(root: Path, name: str, what: str) -> Path:
    """``root / name`` for a checked ``name``; the resolved result is inside the resolved root."""
    path = root / checked_name(name, what)
    resolved_root = root.resolve()
    if path.resolve().parent != resolved_root:  # a name is one component: its parent is the root
        raise UsageError(f"{what} {name!r} leads outside {root}", hint=f"use only {RULE}")
    return path


def checked_label(value: object, what: str, *, max_length: int = MAX_LABEL_LENGTH) -> str:
    """A free-text label that is shown, never joined to a path: any printable text (spaces, parens
    and commas too), but no control characters, no path separators and at most ``max_length``."""
    if not isinstance(value, str):
        raise UsageError(f"{what} must be text, got {value!r}")
    if not value.strip():
        raise UsageError(f"{what} is empty", hint="give it a value")
    if len(value) > max_length:
        raise UsageError(f"{what} is {len(value):,} characters long; at most {max_length} are allowed")
    if _CONTROL.search(value) or "/" in value or "\\" in value:
        raise UsageError(
            f"{what} {_shown(value)} contains a control character or a path separator",
            hint="use printable text without / or \\",
        )
    return value


def _shown(value: str) -> str:
    """``value`` as an error message shows it: quoted, escaped, cut to a readable length."""
    text = repr(value)
    return text if len(text) <= 60 else text[:57] + "...'"
