"""Run one harness function in a fresh Python process (``python -m crowdperf.mlperf.isolated``).

Why: LoadGen accepts one user.conf per process (see ``loadgen_runner``), and a crash or Ctrl-C in
native code must not take the CLI with it. The job and the outcome travel as pickles in the run's
temporary directory; the child's stdout/stderr go to a log file that is quoted on failure.
The child runs in its own session so a terminal Ctrl-C reaches only the parent, which then stops
the child and removes the partial output. A child never outlives its parent: on Linux the kernel
kills it when the parent dies (``PR_SET_PDEATHSIG``), even by ``kill -9``; elsewhere a watchdog
thread notices the parent is gone within a second. A child that dies says how (signal, likely
out of memory) and quotes the end of its log.
"""

from __future__ import annotations

import contextlib
import ctypes
import importlib
import os
import pickle
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time
import traceback
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from crowdperf.atomic import atomic_write_bytes
from crowdperf.errors import CrowdperfError, ResultsError
from crowdperf.locks import process_alive
from crowdperf.mlperf import progress
from crowdperf.mlperf.progress import ProgressSnapshot


@dataclass(frozen=True)
class ChildStatus:
    """What the parent knows of a running child: for how long, and what it last reported."""

    elapsed_s: float
    progress: ProgressSnapshot | None = None  # None until the child's first report (progress.py)


Poll = Callable[[ChildStatus], None]  # called about ten times a second while the child runs


def _error_class(module: str, name: str) -> type[CrowdperfError]:
    cls = getattr(importlib.import_module(module), name, None)
    return cls if isinstance(cls, type) and issubclass(cls, CrowdperfError) else CrowdperfError


SCRATCH_PREFIX = "crowdperf-{kind}-{pid}-"


def scratch_dir(kind: str) -> Path:
    """A fresh temporary directory for a child's job, outcome and probes (``kind``: "screen",
    "findperf", ...), removed by its caller when done. Its name carries this process's id, so one
    that a ``kill -9`` left behind is removed by the next process that makes one of its kind."""
    base = Path(tempfile.gettempdir())
    for stale in base.glob(SCRATCH_PREFIX.format(kind=kind, pid="*") + "*"):
        pid = stale.name.removeprefix(f"crowdperf-{kind}-").partition("-")[0]
        if pid.isdigit() and not process_alive(int(pid)):
            shutil.rmtree(stale, ignore_errors=True)
    return Path(tempfile.mkdtemp(prefix=SCRATCH_PREFIX.format(kind=kind, pid=os.getpid())))


def run_isolated(func: str, job: Any, work_dir: Path, *, poll: Poll | None = None, what: str = "run") -> Any:
    """Call ``func`` (``"module:function"``) on ``job`` in a child; return its result or re-raise
    its CrowdperfError. KeyboardInterrupt stops the child and propagates."""
    job_path, out_path, log_path = work_dir / ".job.pkl", work_dir / ".outcome.pkl", work_dir / ".child.log"
    progress_file = progress.progress_path(work_dir)
    job_path.write_bytes(pickle.dumps((func, job)))
    start = time.monotonic()
    with log_path.open("wb") as log:
        proc = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "crowdperf.mlperf.isolated",
                str(job_path),
                str(out_path),
                str(os.getpid()),
            ],
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        try:
            while proc.poll() is None:
                if poll:
                    poll(ChildStatus(time.monotonic() - start, progress.read_progress(progress_file)))
                with contextlib.suppress(subprocess.TimeoutExpired):
                    proc.wait(timeout=0.1)
        except BaseException:
            proc.kill()
            proc.wait()
            raise
    try:
        return _read_outcome(out_path, log_path, proc.returncode, what)
    finally:
        for p in (job_path, out_path, log_path, *work_dir.glob(progress.PROGRESS_FILE + "*")):
            p.unlink(missing_ok=True)


def _read_outcome(out_path: Path, log_path: Path, returncode: int, what: str) -> Any:
    if not out_path.is_file():
        tail = log_path.read_text(errors="replace")[-1500:].strip() if log_path.is_file() else ""
        raise ResultsError(
            f"the {what} process {death_reason(returncode)} before finishing"
            + (f"; the end of its log:\n{tail}" if tail else " (it printed nothing)"),
            hint="see above; a run that was killed for memory needs a smaller --batch-size or --count",
        )
    kind, *payload = pickle.loads(out_path.read_bytes())
    if kind == "ok":
        return payload[0]
    if kind == "error":
        module, name, message, hint = payload
        raise _error_class(module, name)(message, hint=hint)
    raise ResultsError(f"the {what} process failed unexpectedly:\n{payload[0]}")


def death_reason(returncode: int) -> str:
    """How a child ended, in words: "was killed by SIGKILL (likely out of memory)", "exited with 3"."""
    if returncode >= 0:
        return f"exited with status {returncode}"
    try:
        name = signal.Signals(-returncode).name
    except ValueError:
        name = f"signal {-returncode}"
    oom = " (likely out of memory: the kernel's OOM killer sends it)" if -returncode == signal.SIGKILL else ""
    return f"was killed by {name}{oom}"


PR_SET_PDEATHSIG = 1  # linux/prctl.h


def die_with_parent(parent: int, signum: int = signal.SIGKILL) -> None:
    """Make sure this process ends when ``parent`` does (the parent may be killed with -9): the
    kernel sends ``signum`` (Linux; it outlives an ``exec``), else a watchdog thread exits."""
    try:
        libc = ctypes.CDLL(None, use_errno=True)
        if libc.prctl(PR_SET_PDEATHSIG, signum) == 0:
            if os.getppid() != parent:  # the parent died before prctl took effect
                os._exit(1)
            return
    except (OSError, AttributeError):  # not Linux: no prctl
        pass

    def watch() -> None:
        while os.getppid() == parent:
            time.sleep(1.0)
        os._exit(1)

    threading.Thread(target=watch, name="parent-watchdog", daemon=True).start()


def _child_main(job_path: str, out_path: str, parent: int) -> int:
    die_with_parent(parent)
    reporter = progress.install(Path(job_path).parent)  # beside the job: the parent reads it there
    func_ref, job = pickle.loads(Path(job_path).read_bytes())
    module, _, name = func_ref.partition(":")
    try:
        outcome: tuple[Any, ...] = ("ok", getattr(importlib.import_module(module), name)(job))
    except CrowdperfError as exc:
        outcome = ("error", type(exc).__module__, type(exc).__name__, exc.message, exc.hint)
    except BaseException:
        outcome = ("crash", traceback.format_exc()[-4000:])
    finally:
        reporter.close()  # no write under way when the process ends (no stray temporary file)
    atomic_write_bytes(Path(out_path), pickle.dumps(outcome))
    return 0


if __name__ == "__main__":
    sys.exit(_child_main(sys.argv[1], sys.argv[2], int(sys.argv[3])))
