"""Files the user names (an overrides YAML, a SQuAD JSON, an accuracy log, a price table) are read
through here, so every way such a file can be wrong is one line with the fix, never a traceback:

    missing, a directory, unreadable        MissingInputError (exit 3) naming the path
    not UTF-8, malformed YAML or JSON       UsageError (exit 2) with the line and column
    NaN, Infinity, or a number past float   UsageError: JSON and YAML both spell these (``NaN``,
                                            ``.inf``, ``1e999``); a number read from a user's file
                                            is finite, as every number crowdperf takes (numbers.py)

What a value means (its type and range) is the reader's to check, with ``numbers.checked_value``.
"""

from __future__ import annotations

import json
import math
from pathlib import Path
from typing import Any

from crowdperf.errors import MissingInputError, UsageError


def read_user_text(path: Path, what: str) -> str:
    """The text of a file the user named, or a one-line error that says what is wrong with it."""
    if path.is_dir():
        raise MissingInputError(f"{what} {path} is a directory, not a file", hint="pass the file itself")
    if not path.exists():
        raise MissingInputError(f"no {what} at {path}", hint="check the path")
    try:
        return path.read_text(encoding="utf-8")
    except UnicodeDecodeError as exc:
        raise UsageError(
            f"{what} {path} is not UTF-8 text (byte {exc.start})", hint="pass the text file itself"
        ) from exc
    except OSError as exc:
        raise MissingInputError(
            f"cannot read {what} {path}: {exc.strerror}", hint="check its permissions"
        ) from exc


def _non_finite(token: str) -> float:
    raise ValueError(f"{token} is not a finite number")


def _finite_float(token: str) -> float:
    value = float(token)
    if not math.isfinite(value):
        raise ValueError(f"{token} is too large for a number")
    return value


def parse_json(text: str, what: str) -> Any:
    """JSON with finite numbers only; a one-line UsageError with the line and column otherwise."""
    try:
        return json.loads(text, parse_constant=_non_finite, parse_float=_finite_float)
    except json.JSONDecodeError as exc:
        raise UsageError(
            f"{what} is not valid JSON: {exc.msg} (line {exc.lineno}, column {exc.colno})",
            hint="fix the file (a JSON linter shows where)",
        ) from exc
    except ValueError as exc:  # from the hooks above
        raise UsageError(f"{what}: {exc}", hint="numbers must be finite") from exc


def load_json(path: Path, what: str) -> Any:
    """A JSON file the user named, parsed (see ``parse_json``)."""
    return parse_json(read_user_text(path, what), f"{what} {path}")


def load_yaml(path: Path, what: str) -> Any:
    """A YAML file the user named, parsed safely; malformed YAML and non-finite numbers
    (``.nan``, ``.inf``) are one-line UsageErrors with the line and column."""
    import yaml  # only the commands that read YAML pay for it

    text = read_user_text(path, what)
    try:
        data = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f" (line {mark.line + 1}, column {mark.column + 1})" if mark is not None else ""
        problem = getattr(exc, "problem", None) or type(exc).__name__
        raise UsageError(
            f"{what} {path} is not valid YAML: {problem}{where}",
            hint="fix the file (e.g. a missing ']' or a tab used for indentation)",
        ) from exc
    _refuse_non_finite(data, f"{what} {path}")
    return data


def _refuse_non_finite(data: Any, what: str, key: str = "") -> None:
    if isinstance(data, float) and not math.isfinite(data):
        raise UsageError(f"{what}: {key or 'a value'} is {data!r}", hint="numbers must be finite")
    if isinstance(data, dict):
        for k, v in data.items():
            _refuse_non_finite(v, what, str(k))
    elif isinstance(data, list):
        for v in data:
            _refuse_non_finite(v, what, key)
