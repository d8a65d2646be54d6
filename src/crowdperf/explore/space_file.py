"""A space file (YAML or TOML) and the precedence of its values: an option given on the command
line wins over the file, the file over the defaults. Example (``space.yaml``)::

    model: tiny
    scenario: Offline
    backends: [onnxruntime, pytorch]
    precisions: [fp32, bf16]
    batch_sizes: [1, 8, 32]
    threads: [1, 2]
    axes:                      # any other RunSpec field, by name
      some_field: [a, b]
    budget: 5m
    screen_count: 64

The same in TOML: ``backends = ["onnxruntime", "pytorch"]``, ``[axes]`` for the table.
"""

from __future__ import annotations

import re
import tomllib
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from crowdperf.errors import MissingInputError, UsageError

# file key -> axis name, for the axes that have their own option
AXIS_KEYS = {
    "backends": "backend",
    "devices": "devices",
    "precisions": "precision",
    "batch_sizes": "batch_size",
    "threads": "threads",
}
MAX_BUDGET_S = 30 * 24 * 3600.0
_DURATION = re.compile(r"(?:(\d+(?:\.\d+)?)h)?(?:(\d+(?:\.\d+)?)m)?(?:(\d+(?:\.\d+)?)s)?")


def parse_duration(text: str, option: str = "--budget") -> float:
    """``"30m"``, ``"1h30m"``, ``"90s"``, ``"45"`` (seconds) -> seconds."""
    t = str(text).strip().lower().replace(" ", "")
    if re.fullmatch(r"\d+(\.\d+)?", t):
        seconds = float(t)
    else:
        m = _DURATION.fullmatch(t)
        if not t or m is None or not any(m.groups()):
            raise UsageError(f"{option} {text!r} is not a duration", hint="e.g. 30m, 1h30m, 90s")
        h, mi, s = (float(g) if g else 0.0 for g in m.groups())
        seconds = h * 3600 + mi * 60 + s
    if not 0 < seconds <= MAX_BUDGET_S:
        raise UsageError(f"{option} must be more than 0 and at most 30 days, got {text!r}")
    return seconds


@dataclass(frozen=True)
class SpaceFile:
    """What a space file says; ``None``: not said (the command line or the default decides)."""

    model: str | None = None
    scenario: str | None = None
    category: str | None = None
    execution_mode: str | None = None
    axes: dict[str, list[str]] = field(default_factory=dict)  # axis name -> values as text
    budget: str | None = None
    screen_count: int | None = None
    submitter: str | None = None


_SCALARS = ("model", "scenario", "category", "execution_mode", "budget", "submitter")


def _texts(key: str, value: Any) -> list[str]:
    values = value if isinstance(value, list) else [value]
    if not all(isinstance(v, str | int | float | bool) for v in values):
        raise UsageError(f"space file: {key} must be a list of values, got {value!r}")
    return [str(v).lower() if isinstance(v, bool) else str(v) for v in values]


def load_space_file(path: Path) -> SpaceFile:
    if not path.is_file():
        raise MissingInputError(f"no space file at {path}", hint="pass an existing .yaml or .toml file")
    raw = _read(path)
    known = {*_SCALARS, "screen_count", "axes", *AXIS_KEYS}
    unknown = sorted(set(raw) - known)
    if unknown:
        raise UsageError(f"{path}: unknown key {unknown[0]!r}", hint=f"use: {', '.join(sorted(known))}")
    axes = {AXIS_KEYS[k]: _texts(k, v) for k, v in raw.items() if k in AXIS_KEYS}
    extra = raw.get("axes") or {}
    if not isinstance(extra, Mapping):
        raise UsageError(f"{path}: axes must be a mapping of setting: [values]")
    axes.update({str(k).replace("-", "_"): _texts(str(k), v) for k, v in extra.items()})
    count = raw.get("screen_count")
    if count is not None and (isinstance(count, bool) or not isinstance(count, int)):
        raise UsageError(f"{path}: screen_count must be a whole number, got {count!r}")
    return SpaceFile(
        axes=axes,
        screen_count=count,
        **{k: None if raw.get(k) is None else str(raw[k]) for k in _SCALARS},
    )


def _read(path: Path) -> dict[str, Any]:
    text = path.read_text(encoding="utf-8")
    try:
        if path.suffix.lower() == ".toml":
            data: Any = tomllib.loads(text)
        else:
            import yaml

            data = yaml.safe_load(text) or {}
    except (tomllib.TOMLDecodeError, ValueError) as exc:
        raise UsageError(f"{path} is not valid {path.suffix.lstrip('.') or 'YAML'}: {exc}") from exc
    except Exception as exc:  # yaml.YAMLError and its subclasses
        if type(exc).__module__.startswith("yaml"):
            raise UsageError(f"{path} is not valid YAML: {exc}") from exc
        raise
    if not isinstance(data, dict):
        raise UsageError(f"{path}: expected a mapping of key: value")
    return {str(k).replace("-", "_"): v for k, v in data.items()}


def first(*values: Any) -> Any:
    """The first value that is not None: command line, then file, then default."""
    return next((v for v in values if v is not None), None)


__all__ = ["AXIS_KEYS", "SpaceFile", "first", "load_space_file", "parse_duration"]
