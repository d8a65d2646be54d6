"""One writer per place: an exclusive lock on a directory or file that crowdperf writes (a results
directory, a submission tree, a hub database file), held for as long as the command writes it.

A second writer fails at once with a ``BusyError`` that names the first (command, pid, start
time), instead of silently replacing its results. The lock is ``filelock``'s (``fcntl``/
``msvcrt``: the kernel releases it when the holder dies, even by ``kill -9``); beside it a small
JSON note says who holds it, for the message. Readers never lock.
"""

from __future__ import annotations

import json
import os
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from filelock import FileLock, Timeout

from crowdperf.errors import BusyError, UsageError

LOCK_NAME = ".crowdperf.lock"


def dir_lock(directory: Path) -> Path:
    """The lock file of a directory crowdperf writes (a results directory, a submission tree)."""
    return directory / LOCK_NAME


def file_lock(path: Path) -> Path:
    """The lock file of a single file crowdperf writes (a SQLite hub database)."""
    return path.with_name(path.name + ".lock")


@contextmanager
def exclusive(lock_path: Path, what: str, *, wait_s: float = 0.0) -> Iterator[None]:
    """Hold ``lock_path`` (from ``dir_lock``/``file_lock``) while writing; ``what`` names the
    place in messages ("results directory results/"). ``wait_s`` > 0 waits that long first."""
    try:
        lock_path.parent.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise UsageError(f"cannot write {what} ({exc.strerror})", hint="pass a writable location") from exc
    note = lock_path.with_name(lock_path.name + ".holder")
    lock = FileLock(str(lock_path), timeout=wait_s)
    try:
        lock.acquire()
    except Timeout:
        raise BusyError(
            f"{what} is being written by another crowdperf process ({_holder(note)})",
            hint="wait for it to finish, or write somewhere else",
        ) from None
    try:
        argv = [Path(sys.argv[0]).name, *sys.argv[1:6]] if sys.argv else []
        note.write_text(json.dumps({"pid": os.getpid(), "argv": argv, "since": time.strftime("%H:%M:%S")}))
        yield
    finally:
        note.unlink(missing_ok=True)
        lock.release()


def _holder(note: Path) -> str:
    try:
        info = json.loads(note.read_text())
        return f"pid {info['pid']}, `{' '.join(info['argv'])}`, since {info['since']}"
    except (OSError, ValueError, KeyError):
        return "holder unknown"
