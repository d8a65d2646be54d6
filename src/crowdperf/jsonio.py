"""One way from our data to JSON, and one schema tag style, for every ``--json``, the API and the
files crowdperf writes for machines.

    to_jsonable(obj)          frozen dataclasses (their fields, cached per class), enums (their
                              values), paths (str), datetimes (ISO 8601), tuples/lists, dicts,
                              numpy scalars (Python numbers); a non-finite float becomes null
                              (JSON has no Infinity, and one such value must not fail an answer)
    document(kind, version, payload)   ``{"schema": "crowdperf.<kind>/<version>", **payload}``
    dumps(document)           indented JSON text

A dataclass may name extra computed values to include with ``__json_extra__`` (property names).
"""

from __future__ import annotations

import dataclasses
import json
import math
from collections.abc import Mapping
from datetime import date, datetime
from enum import Enum
from pathlib import PurePath
from typing import Any

_FIELDS: dict[type, tuple[str, ...] | None] = {}


def _field_names(cls: type) -> tuple[str, ...] | None:
    try:
        return _FIELDS[cls]
    except KeyError:
        names = None
        if dataclasses.is_dataclass(cls):
            names = (*(f.name for f in dataclasses.fields(cls)), *getattr(cls, "__json_extra__", ()))
        return _FIELDS.setdefault(cls, names)


def to_jsonable(obj: Any) -> Any:
    """JSON-ready data for ``obj`` (see the module docstring)."""
    if isinstance(obj, bool) or obj is None or isinstance(obj, str):
        return obj
    if isinstance(obj, int):
        return int(obj)
    if isinstance(obj, float):
        return obj if math.isfinite(obj) else None
    if isinstance(obj, Enum):
        return to_jsonable(obj.value)
    names = _field_names(type(obj))
    if names is not None:
        return {name: to_jsonable(getattr(obj, name)) for name in names}
    if isinstance(obj, Mapping):
        return {str(k): to_jsonable(v) for k, v in obj.items()}
    if isinstance(obj, list | tuple | set | frozenset):
        return [to_jsonable(v) for v in obj]
    if isinstance(obj, PurePath):
        return str(obj)
    if isinstance(obj, datetime | date):
        return obj.isoformat()
    item = getattr(obj, "item", None)  # numpy scalars
    if callable(item):
        return to_jsonable(item())
    return obj


def schema(kind: str, version: int) -> str:
    """The tag every JSON document of ours carries: ``crowdperf.<kind>/<version>``."""
    return f"crowdperf.{kind}/{version}"


def document(kind: str, version: int, payload: Any) -> dict[str, Any]:
    """``{"schema": ..., **payload}`` with ``payload`` made JSON-ready (a mapping or dataclass)."""
    body = to_jsonable(payload)
    if not isinstance(body, dict):
        body = {"items": body}
    return {"schema": schema(kind, version), **body}


def dumps(doc: Any, *, indent: int | None = 2) -> str:
    return json.dumps(doc, indent=indent)
