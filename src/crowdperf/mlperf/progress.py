"""How far a test has got, told by the child process that runs it to the parent that shows it.

The child (``isolated.py``) keeps one ``ProgressReporter``: the harness code it runs says which
``Phase`` it is in (``report_phase``) and the SUT counts completed samples (``advance``); a
background thread writes the latest ``ProgressSnapshot`` to a small file in the test's work
directory (atomically, every ``WRITE_INTERVAL_S``). The parent's poll loop reads that file
(``read_progress``) and hands it on as part of ``isolated.ChildStatus``. A file,
not a pipe: the child never blocks on a parent that is slow to read, and a dead parent costs
nothing. Without a reporter (a test that calls the harness in-process) every call is a no-op.

How much work a LoadGen test has (``WorkBudget``) is exact for accuracy runs (every QSL sample
once) and Offline (one query of known size); for SingleStream, MultiStream and Server LoadGen
runs until both ``min_duration`` and ``min_query_count`` are met (loadgen/results.cc
``MinDurationMet``, ``MinQueriesMet``), so the expected total follows the rate seen so far.
"""

from __future__ import annotations

import math
import pickle
import threading
import time
from dataclasses import dataclass
from enum import StrEnum
from pathlib import Path

from crowdperf.atomic import atomic_write_bytes

PROGRESS_FILE = ".progress.pkl"
WRITE_INTERVAL_S = 0.25


class Phase(StrEnum):
    """What a test's child is doing, in the order a test does it."""

    LOADING = "loading"  # opening the workload: model, data set, features
    WARMUP = "warm-up"  # untimed batches before anything is measured
    SIZING = "sizing"  # test-mode probes that size the run (sizing.py)
    SEARCH = "search"  # find-performance's probes
    LOADGEN = "loadgen"  # the LoadGen test itself
    ACCURACY = "accuracy scoring"  # the accuracy log scored against the data set


@dataclass(frozen=True)
class WorkBudget:
    """How many samples a LoadGen test will complete, as far as it can be known early."""

    exact_samples: int | None = None  # accuracy runs and Offline: known before the first sample
    min_samples: int = 0  # min_query_count x samples per query
    min_duration_s: float = 0.0

    def expected(self, done: int, elapsed_s: float) -> int | None:
        """The expected total after ``done`` samples in ``elapsed_s``; None when unknowable yet."""
        if self.exact_samples is not None:
            return self.exact_samples
        if done <= 0 or elapsed_s <= 0:
            return self.min_samples or None
        return max(self.min_samples, math.ceil(done / elapsed_s * self.min_duration_s), done)


@dataclass(frozen=True)
class ProgressSnapshot:
    """One snapshot of a test's child: its phase, for how long, and what it has done in it."""

    phase: Phase
    phase_elapsed_s: float = 0.0
    done: int = 0  # samples (LOADGEN) or probes (SIZING, SEARCH) completed in this phase
    unit: str = "samples"
    budget: WorkBudget | None = None

    @property
    def expected_total(self) -> int | None:
        if self.budget is None:
            return None
        return self.budget.expected(self.done, self.phase_elapsed_s)


class ProgressReporter:
    """The child's side: phase changes and counts in, a file out (see the module docstring).
    ``advance`` runs on the SUT's threads once per completed batch or query, after LoadGen has
    its completion: a lock and an integer add, nothing that could show in a latency."""

    def __init__(self, path: Path, interval_s: float = WRITE_INTERVAL_S) -> None:
        self.path, self.interval_s = path, interval_s
        self._lock = threading.Lock()
        self._phase, self._unit, self._done = Phase.LOADING, "samples", 0
        self._budget: WorkBudget | None = None
        self._phase_started = time.monotonic()
        self._stop = threading.Event()
        self._write()  # at once: the parent knows the child is up before any import is done
        self._thread = threading.Thread(target=self._loop, name="progress-writer", daemon=True)
        self._thread.start()

    def phase(self, phase: Phase, *, unit: str = "samples", budget: WorkBudget | None = None) -> None:
        with self._lock:
            self._phase, self._unit, self._budget, self._done = phase, unit, budget, 0
            self._phase_started = time.monotonic()

    def budget(self, budget: WorkBudget) -> None:
        with self._lock:
            self._budget = budget

    def advance(self, count: int = 1) -> None:
        with self._lock:  # SUT worker threads complete batches concurrently
            self._done += count

    def snapshot(self) -> ProgressSnapshot:
        with self._lock:
            elapsed = time.monotonic() - self._phase_started
            return ProgressSnapshot(self._phase, elapsed, self._done, self._unit, self._budget)

    def _loop(self) -> None:
        while not self._stop.wait(self.interval_s):
            self._write()

    def _write(self) -> None:
        atomic_write_bytes(self.path, pickle.dumps(self.snapshot()))  # ~200 bytes, 4 times a second

    def close(self) -> None:
        """Stop the writer (no write under way afterwards) and leave the final snapshot."""
        self._stop.set()
        self._thread.join()
        self._write()


_reporter: ProgressReporter | None = None


def install(work_dir: Path) -> ProgressReporter:
    """The child's reporter, writing into ``work_dir`` (called once, by ``isolated``)."""
    global _reporter
    _reporter = ProgressReporter(progress_path(work_dir))
    return _reporter


def report_phase(phase: Phase, *, unit: str = "samples", budget: WorkBudget | None = None) -> None:
    if _reporter is not None:
        _reporter.phase(phase, unit=unit, budget=budget)


def report_budget(budget: WorkBudget) -> None:
    if _reporter is not None:
        _reporter.budget(budget)


def advance(count: int = 1) -> None:
    if _reporter is not None:
        _reporter.advance(count)


def progress_path(work_dir: Path) -> Path:
    return work_dir / PROGRESS_FILE


def read_progress(path: Path) -> ProgressSnapshot | None:
    """The parent's side: the child's latest snapshot, or None before it wrote one."""
    try:
        value = pickle.loads(path.read_bytes())
    except (OSError, EOFError, pickle.UnpicklingError):
        return None
    return value if isinstance(value, ProgressSnapshot) else None
