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

from crowdperf.errors import UsageError
from crowdperf.mlperf.rounds import Category, Scenario
from crowdperf.mlperf.workload_rules import WorkloadRules
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


# What ``--mode all`` means: the two runs MLPerf requires per scenario.
ALL_MODES: tuple[Mode, ...] = (Mode.ACCURACY, Mode.PERFORMANCE)


@dataclass(frozen=True)
class Targets:
    """Explicit overrides; ``None`` = take the stored find-performance value (or a test default)."""

    target_qps: float | None = None  # Offline / Server
    target_latency_ms: float | None = None  # SingleStream / MultiStream

    def __post_init__(self) -> None:
        if self.target_qps is not None and self.target_qps <= 0:
            raise UsageError(f"--target-qps must be > 0, got {self.target_qps}")
        if self.target_latency_ms is not None and self.target_latency_ms <= 0:
            raise UsageError(f"--target-latency-ms must be > 0, got {self.target_latency_ms}")


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
    batch_size: int | None = None  # None = the scenario's default (see sut.default_batch_size)
    results_dir: Path = Path("results")
    paths: AssetPaths = field(default_factory=AssetPaths)
    allow_download: bool = False

    def __post_init__(self) -> None:
        if self.count is not None and self.count < 1:
            raise UsageError(f"--count must be >= 1, got {self.count}")
        if self.threads is not None and self.threads < 1:
            raise UsageError(f"--threads must be >= 1, got {self.threads}")
        if self.batch_size is not None and self.batch_size < 1:
            raise UsageError(f"--batch-size must be >= 1, got {self.batch_size}")

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
