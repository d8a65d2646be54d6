"""What to run: one frozen ``RunSpec`` per LoadGen test, and the plan that expands ``all``.

``--scenario all --mode all`` becomes a ``RunPlan``: the scenarios the workload's rules name for the
round and category (``BenchmarkRules.scenarios_to_run``) times the modes (all = accuracy +
performance, MLPerf's two required runs per scenario; compliance and find-performance are asked for
by name).
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from enum import StrEnum
from pathlib import Path

from crowdperf.mlperf.rounds import Category, Scenario
from crowdperf.mlperf.workload_rules import WorkloadRules
from crowdperf.numbers import checked_float, checked_int
from crowdperf.precision import Precision
from crowdperf.system.devices import DeviceSelection


class Mode(StrEnum):
    FIND_PERFORMANCE = "find-performance"
    ACCURACY = "accuracy"
    PERFORMANCE = "performance"
    COMPLIANCE = "compliance"  # TEST01: performance mode with MLPerf's audit.config


class ExecutionMode(StrEnum):
    TEST = "test"  # short runs, relaxed duration, capped samples: never submittable
    VALID = "valid"  # MLPerf's rules untouched (600 s minimum), targets from find-performance


MAX_TARGET_QPS = 1e9
MAX_TARGET_LATENCY_MS = 1e7
MAX_COUNT = 100_000_000  # distinct samples: far above any MLPerf data set
MAX_THREADS = 4096
MAX_BATCH_SIZE = 65_536

# What ``--mode all`` means: the two runs MLPerf requires per scenario.
ALL_MODES: tuple[Mode, ...] = (Mode.ACCURACY, Mode.PERFORMANCE)


@dataclass(frozen=True)
class Targets:
    """Explicit overrides; ``None`` = take the stored find-performance value (or a test default)."""

    target_qps: float | None = None  # Offline / Server
    target_latency_ms: float | None = None  # SingleStream / MultiStream

    def __post_init__(self) -> None:
        if self.target_qps is not None:  # 1e9 samples/s is beyond any system for decades
            checked_float(self.target_qps, "--target-qps", low=0, high=MAX_TARGET_QPS)
        if self.target_latency_ms is not None:  # one query of up to 10^7 ms (2.8 h)
            checked_float(self.target_latency_ms, "--target-latency-ms", low=0, high=MAX_TARGET_LATENCY_MS)


@dataclass(frozen=True)
class AssetPaths:
    """Local files the user named; ``None`` = the workload's default (embedded or cached)."""

    model: Path | None = None
    dataset: Path | None = None
    vocab: Path | None = None


@dataclass(frozen=True)
class RunSpec:
    """One LoadGen test (or one find-performance search) exactly as requested."""

    model: str  # the workload registry key: "tiny", "bert-large", "bert-99", "bert-99.9", ...
    scenario: Scenario
    mode: Mode
    backend: str = "onnxruntime"
    devices: DeviceSelection = field(default_factory=DeviceSelection)  # --device / --devices
    precision: Precision = Precision.FP32
    execution_mode: ExecutionMode = ExecutionMode.TEST
    round: str = "v6.1"
    category: Category = Category.EDGE
    targets: Targets = field(default_factory=Targets)
    count: int | None = None  # cap on QSL samples (distinct; performance runs reuse them)
    threads: int | None = None
    batch_size: int | None = None  # None = the source's or the scenario's (sut.default_batch_size)
    results_dir: Path = Path("results")
    paths: AssetPaths = field(default_factory=AssetPaths)
    allow_download: bool = False

    def __post_init__(self) -> None:
        if self.count is not None:
            checked_int(self.count, "--count", low=1, high=MAX_COUNT)
        if self.threads is not None:
            checked_int(self.threads, "--threads", low=1, high=MAX_THREADS)
        if self.batch_size is not None:
            checked_int(self.batch_size, "--batch-size", low=1, high=MAX_BATCH_SIZE)

    @property
    def submittable(self) -> bool:
        return self.execution_mode is ExecutionMode.VALID

    def with_run(self, scenario: Scenario, mode: Mode) -> RunSpec:
        return replace(self, scenario=scenario, mode=mode)


@dataclass(frozen=True)
class RunPlan:
    """The ordered runs of one invocation, scenario by scenario; within a scenario find-performance
    comes first because the runs after it read its targets."""

    runs: tuple[RunSpec, ...]


def plan_runs(base: RunSpec, rules: WorkloadRules, scenario: Scenario | None, mode: Mode | None) -> RunPlan:
    """Expand ``None`` (= ``all``) for scenario and mode with the workload's ``rules`` for
    ``base.round`` and ``base.category``. ``base``'s own scenario/mode are ignored."""
    scenarios = (
        (scenario,) if scenario is not None else rules.benchmark.scenarios_to_run(base.round, base.category)
    )
    modes = (mode,) if mode is not None else ALL_MODES
    runs = [base.with_run(s, m) for s in scenarios for m in _ordered(modes)]
    return RunPlan(runs=tuple(runs))


def _ordered(modes: tuple[Mode, ...]) -> tuple[Mode, ...]:
    order = (Mode.FIND_PERFORMANCE, Mode.ACCURACY, Mode.PERFORMANCE, Mode.COMPLIANCE)
    return tuple(m for m in order if m in modes)
