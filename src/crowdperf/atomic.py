"""Files that appear whole or not at all: every file crowdperf writes for others to read (results,
caches, checksums, models) is written under a temporary name in the same directory and renamed
over the final name, so a reader, a crash or Ctrl-C never sees half of it.

    atomic_path(path)          yields a temporary path for a writer that wants a path
                               (numpy, onnx, quantizers); renamed to ``path`` on success
    atomic_write_bytes/_text   the common cases
    atomic_write_json          ``json.dumps`` with our defaults (indent 2, sorted keys)

Directories that appear whole (a LoadGen run) use ``mlperf.layout.atomic_run_dir``.
"""

from __future__ import annotations

import json
import os
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any


@contextmanager
def atomic_path(path: Path) -> Iterator[Path]:
    """A fresh temporary path beside ``path`` (hidden, unique per process and call); on normal
    exit it replaces ``path``, on any exception it is removed and ``path`` is left untouched."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, name = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    os.close(fd)
    tmp = Path(name)
    try:
        yield tmp
        os.replace(tmp, path)
    finally:
        tmp.unlink(missing_ok=True)


def atomic_write_bytes(path: Path, data: bytes) -> Path:
    with atomic_path(path) as tmp:
        tmp.write_bytes(data)
    return path


def atomic_write_text(path: Path, text: str) -> Path:
    with atomic_path(path) as tmp:
        tmp.write_text(text)
    return path


def atomic_write_json(path: Path, value: Any, *, indent: int | None = 2, sort_keys: bool = True) -> Path:
    return atomic_write_text(path, json.dumps(value, indent=indent, sort_keys=sort_keys) + "\n")
