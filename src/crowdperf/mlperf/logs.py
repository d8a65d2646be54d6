"""Parse LoadGen's ``mlperf_log_detail.txt`` (``:::MLLOG {json}`` lines) and ``mlperf_log_summary.txt``.

The detail log is what MLPerf's checker reads (``tools/submission/log_parser.py``: a line starting
with ``:::MLLOG`` carries one JSON object whose ``key``/``value`` are the record; errors are the
records whose ``metadata.is_error`` is true). We read it the same way.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from crowdperf.errors import ResultsError

MLLOG_PREFIX = ":::MLLOG"


@dataclass(frozen=True)
class LogMessage:
    key: str
    value: Any


@dataclass
class DetailLog:
    """All records of one detail log; ``values`` holds the last value of every key."""

    path: Path
    values: dict[str, Any] = field(default_factory=dict)
    errors: list[LogMessage] = field(default_factory=list)
    warnings: list[LogMessage] = field(default_factory=list)

    def get(self, key: str, default: Any = None) -> Any:
        return self.values.get(key, default)

    def __getitem__(self, key: str) -> Any:
        try:
            return self.values[key]
        except KeyError:
            raise ResultsError(f"{self.path}: LoadGen log has no {key!r} record") from None

    def __contains__(self, key: str) -> bool:
        return key in self.values

    @property
    def scenario(self) -> str:
        return str(self["effective_scenario"])

    @property
    def mode(self) -> str:
        return str(self["effective_test_mode"])

    @property
    def valid(self) -> bool:
        return self.get("result_validity") == "VALID"


def _record_key(line: str) -> str | None:
    """The key of a ``:::MLLOG {"key": "...", ...}`` line without decoding the JSON."""
    head = f'{MLLOG_PREFIX} {{"key": "'
    if not line.startswith(head):
        return None
    end = line.find('"', len(head))
    return line[len(head) : end] if end > 0 else None


def parse_detail_log(path: Path, *, want: Callable[[str], bool] | None = None) -> DetailLog:
    """Read a detail log; a missing file or a line that is not JSON is a ResultsError.

    ``want``: decode only records whose key it accepts (plus every error and warning record);
    readers that need a few keys skip e.g. ``loaded_qsl_set``, which lists every loaded sample
    index and can be megabytes long."""
    if not path.is_file():
        raise ResultsError(f"no LoadGen detail log at {path}", hint="run the benchmark first")
    log = DetailLog(path=path)
    with path.open(encoding="utf-8", errors="replace") as fh:
        for lineno, line in enumerate(fh, 1):
            if not line.startswith(MLLOG_PREFIX):
                continue
            if want is not None:
                key = _record_key(line)
                flagged = '"is_error": true' in line or '"is_warning": true' in line
                if key is not None and not want(key) and not flagged:
                    continue
            try:
                record = json.loads(line[len(MLLOG_PREFIX) :])
            except json.JSONDecodeError as exc:
                raise ResultsError(f"{path}:{lineno}: corrupt MLLOG record ({exc.msg})") from exc
            key, value = record.get("key"), record.get("value")
            if not isinstance(key, str):
                continue
            log.values[key] = value
            meta = record.get("metadata") or {}
            if meta.get("is_error"):
                log.errors.append(LogMessage(key, value))
            elif meta.get("is_warning"):
                log.warnings.append(LogMessage(key, value))
    return log


def parse_summary(path: Path) -> dict[str, str]:
    """``key : value`` lines of mlperf_log_summary.txt, e.g. ``Result is`` -> ``VALID``."""
    if not path.is_file():
        raise ResultsError(f"no LoadGen summary at {path}", hint="run the benchmark first")
    out: dict[str, str] = {}
    for line in path.read_text(encoding="utf-8", errors="replace").splitlines():
        if " : " in line:
            key, _, value = line.partition(" : ")
            out.setdefault(key.strip(), value.strip())
    return out
