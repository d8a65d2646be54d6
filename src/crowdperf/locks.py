"""One writer per place: an exclusive lock on a directory or file that crowdperf writes (a results
directory, a submission tree, a hub database file, a download, an artifact cache entry), held for
as long as the command writes it.

A second writer fails at once with a ``BusyError`` that names the first (command, pid, start
time), instead of silently replacing its results; where waiting is what a user wants (a download
or an install another process is finishing), it waits up to ``wait_s``, saying once on stderr
whom it waits for, and then fails the same way. The lock is ``filelock``'s (``fcntl``/
``msvcrt``: the kernel releases it when the holder dies, even by ``kill -9``); beside it a small
JSON note says who holds it, for the message. Readers never lock.
"""

from __future__ import annotations

import json
import os
import sys
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

from filelock import FileLock, Timeout

from crowdperf.errors import BusyError, UsageError

LOCK_NAME = ".crowdperf.lock"


def dir_lock(directory: Path) -> Path:
    """The lock file of a directory crowdperf writes (a results directory, a submission tree)."""
    return directory / LOCK_NAME


def tree_lock(directory: Path) -> Path:
    """The lock of a directory that is replaced whole by a rename (a submission tree): beside it,
    hidden, so it is neither part of the tree nor lost when the tree is swapped."""
    return directory.parent / f".{directory.name}.crowdperf.lock"


def file_lock(path: Path) -> Path:
    """The lock file of a single file crowdperf writes (a SQLite hub database)."""
    return path.with_name(path.name + ".lock")


def say_on_stderr(line: str) -> None:
    sys.stderr.write(line + "\n")
    sys.stderr.flush()


@contextmanager
def exclusive(
    lock_path: Path,
    what: str,
    *,
    wait_s: float = 0.0,
    on_wait: Callable[[str], None] = say_on_stderr,
) -> Iterator[None]:
    """Hold ``lock_path`` (from ``dir_lock``/``file_lock``/``tree_lock``) while writing; ``what``
    names the place in messages ("results directory results/"). ``wait_s`` > 0 waits that long
    for another holder, telling ``on_wait`` once whom it waits for."""
    try:
        lock_path.parent.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise UsageError(f"cannot write {what} ({exc.strerror})", hint="pass a writable location") from exc
    note = lock_path.with_name(lock_path.name + ".holder")
    lock = FileLock(str(lock_path), timeout=0)
    try:
        try:
            lock.acquire()
        except Timeout:
            if wait_s <= 0:
                raise
            on_wait(f"waiting for {what}: another crowdperf process writes it ({_holder(note)})")
            lock.acquire(timeout=wait_s)
    except Timeout:
        raise BusyError(
            f"{what} is being written by another crowdperf process ({_holder(note)})"
            + (f"; waited {wait_s:.0f} s" if wait_s > 0 else ""),
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


def process_alive(pid: int) -> bool:
    """A process with this id runs on this machine (another user's counts). Whoever leaves
    something named by its pid (a lock's holder note, a partial run directory, a child's scratch
    directory) is asked here whether it is still there after a ``kill -9``."""
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # another user's live process
        return True
    return True


def holder_alive(lock_path: Path) -> bool:
    """Someone holds ``lock_path`` now: its holder note names a live process. Only reads (a reader
    that took the lock to find out could make a starting writer fail)."""
    note = lock_path.with_name(lock_path.name + ".holder")
    try:
        pid = int(json.loads(note.read_text())["pid"])
    except (OSError, ValueError, KeyError, TypeError):
        return False
    return process_alive(pid)
