"""Run one harness function in a fresh Python process (``python -m crowdperf.mlperf.isolated``).

Why: LoadGen accepts one user.conf per process (see ``loadgen_runner``), and a crash or Ctrl-C in
native code must not take the CLI with it. The job and the outcome travel as pickles in the run's
temporary directory; the child's stdout/stderr go to a log file that is quoted on failure.
The child runs in its own session so a terminal Ctrl-C reaches only the parent, which then stops
the child and removes the partial output.
"""

from __future__ import annotations

import contextlib
import importlib
import pickle
import subprocess
import sys
import time
import traceback
from collections.abc import Callable
from pathlib import Path
from typing import Any

from crowdperf.errors import CrowdperfError, ResultsError

Poll = Callable[[float], None]  # called with elapsed seconds while the child runs


def _error_class(module: str, name: str) -> type[CrowdperfError]:
    cls = getattr(importlib.import_module(module), name, None)
    return cls if isinstance(cls, type) and issubclass(cls, CrowdperfError) else CrowdperfError


def run_isolated(func: str, job: Any, work_dir: Path, *, poll: Poll | None = None, what: str = "run") -> Any:
    """Call ``func`` (``"module:function"``) on ``job`` in a child; return its result or re-raise
    its CrowdperfError. KeyboardInterrupt stops the child and propagates."""
    job_path, out_path, log_path = work_dir / ".job.pkl", work_dir / ".outcome.pkl", work_dir / ".child.log"
    job_path.write_bytes(pickle.dumps((func, job)))
    start = time.monotonic()
    with log_path.open("wb") as log:
        proc = subprocess.Popen(
            [sys.executable, "-m", "crowdperf.mlperf.isolated", str(job_path), str(out_path)],
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        try:
            while proc.poll() is None:
                if poll:
                    poll(time.monotonic() - start)
                with contextlib.suppress(subprocess.TimeoutExpired):
                    proc.wait(timeout=0.1)
        except BaseException:
            proc.kill()
            proc.wait()
            raise
    try:
        return _read_outcome(out_path, log_path, proc.returncode, what)
    finally:
        for p in (job_path, out_path, log_path):
            p.unlink(missing_ok=True)


def _read_outcome(out_path: Path, log_path: Path, returncode: int, what: str) -> Any:
    if not out_path.is_file():
        tail = log_path.read_text(errors="replace")[-1500:].strip()
        raise ResultsError(f"the {what} process died (exit {returncode}) before finishing:\n{tail}")
    kind, *payload = pickle.loads(out_path.read_bytes())
    if kind == "ok":
        return payload[0]
    if kind == "error":
        module, name, message, hint = payload
        raise _error_class(module, name)(message, hint=hint)
    raise ResultsError(f"the {what} process failed unexpectedly:\n{payload[0]}")


def _child_main(job_path: str, out_path: str) -> int:
    func_ref, job = pickle.loads(Path(job_path).read_bytes())
    module, _, name = func_ref.partition(":")
    try:
        outcome: tuple[Any, ...] = ("ok", getattr(importlib.import_module(module), name)(job))
    except CrowdperfError as exc:
        outcome = ("error", type(exc).__module__, type(exc).__name__, exc.message, exc.hint)
    except BaseException:
        outcome = ("crash", traceback.format_exc()[-4000:])
    tmp = Path(out_path + ".tmp")
    tmp.write_bytes(pickle.dumps(outcome))
    tmp.rename(out_path)
    return 0


if __name__ == "__main__":
    sys.exit(_child_main(sys.argv[1], sys.argv[2]))
