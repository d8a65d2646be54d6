"""What ``execute_plan`` tells its caller while a plan runs: typed events, one kind per moment.

    RunStarted   test ``index`` of ``count`` begins (before its child starts)
    RunProgress  about ten times a second while its child runs: elapsed time and the child's
                 last ``ProgressSnapshot`` (phase, samples done, expected total: progress.py)
    RunFinished  the test's result has landed (its run directory is complete)

The CLI draws a progress bar from them on a terminal and prints a line per step when piped; the
harness knows nothing of either.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from crowdperf.mlperf.loadgen_runner import RunResult
from crowdperf.mlperf.progress import ProgressSnapshot
from crowdperf.mlperf.spec import RunSpec


@dataclass(frozen=True)
class RunStarted:
    spec: RunSpec
    index: int  # 1-based position in the plan
    count: int


@dataclass(frozen=True)
class RunProgress:
    spec: RunSpec
    index: int
    count: int
    elapsed_s: float
    progress: ProgressSnapshot | None  # None until the child's first report


@dataclass(frozen=True)
class RunFinished:
    spec: RunSpec
    index: int
    count: int
    elapsed_s: float
    result: RunResult


RunEvent = RunStarted | RunProgress | RunFinished
EventSink = Callable[[RunEvent], None]
