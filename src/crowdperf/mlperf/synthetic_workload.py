"""A numpy workload with deterministic responses: tests the harness without a model, and measures
the harness's own overhead (bench/harness_overhead.py).

Row ``i`` of the response table is ``float32(i) + arange(response_len) / 1000``, so the accuracy
check is exact: every sample LoadGen logged must carry the bytes of its own index.
"""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from crowdperf import __version__
from crowdperf.mlperf.rounds import ROUNDS, Category, Scenario
from crowdperf.mlperf.spec import RunSpec
from crowdperf.mlperf.workload import AccuracyResult, RuntimeInfo
from crowdperf.mlperf.workload_rules import AccuracyTarget, BenchmarkRules, RoundRules, WorkloadRules
from crowdperf.precision import Precision
from crowdperf.system.devices import DeviceKind, UsedDevice


@dataclass
class SyntheticSource:
    """A SampleSource over a precomputed (total, response_len) float32 table."""

    table: np.ndarray  # (total, response_len) float32
    seconds_per_batch: float = 0.0  # simulated model time
    fail: bool = False  # raise in infer (error-path tests)
    align: int = 1
    call_overhead_tokens: float = float("inf")  # rows cost nothing: never split a batch
    replicas: int = 1  # simulated devices: each counts the samples it answered
    concurrency: int = 1  # worker threads per replica the SUT runs
    batch_sizes: dict[Scenario, int] = field(default_factory=dict)  # none: the harness's defaults
    loaded: set[int] = field(default_factory=set)
    answered: list[int] = field(default_factory=list)  # samples per replica
    # simulated other load that ends: the first ``busy_samples`` answered take this long each
    busy_samples: int = 0
    seconds_per_busy_sample: float = 0.0

    def __post_init__(self) -> None:
        self.answered = [0] * self.replicas
        self._count = threading.Lock()  # several workers may answer for one replica

    @property
    def total_count(self) -> int:
        return int(self.table.shape[0])

    @property
    def performance_count(self) -> int:
        return int(self.table.shape[0])

    @property
    def lengths(self) -> np.ndarray:
        # pseudo token lengths 16..383 so length grouping has something to sort
        return (np.arange(self.total_count, dtype=np.int64) * 7919) % 368 + 16

    def load(self, indices: Sequence[int]) -> None:
        self.loaded.update(indices)

    def unload(self, indices: Sequence[int]) -> None:
        self.loaded.difference_update(indices)

    def infer(self, indices: Sequence[int], replica: int = 0) -> np.ndarray:
        with self._count:
            before = sum(self.answered)
            self.answered[replica] += len(indices)  # IndexError for a replica that does not exist
        if self.fail:
            raise RuntimeError("synthetic inference failure")
        if self.seconds_per_batch:
            time.sleep(self.seconds_per_batch)
        busy = min(len(indices), max(0, self.busy_samples - before))
        if busy:
            time.sleep(busy * self.seconds_per_busy_sample)
        return self.table[np.asarray(indices, dtype=np.int64)]


def expected_rows(total: int, response_len: int) -> np.ndarray:
    return np.arange(total, dtype=np.float32)[:, None] + np.arange(response_len, dtype=np.float32) / 1000


@dataclass
class OpenSyntheticWorkload:
    source: SyntheticSource
    runtime: RuntimeInfo
    asset_checksums: dict[str, str]
    weights_file: str = "synthetic-table"  # its "model" is the response table
    loadgen_model: str = "bert"
    response_dtype: np.dtype = field(default_factory=lambda: np.dtype(np.float32))

    def evaluate_accuracy(self, accuracy_log: Path, out_dir: Path) -> AccuracyResult:
        entries = json.loads(accuracy_log.read_text())
        width = self.source.table.shape[1]
        correct = 0
        predictions: dict[str, bool] = {}
        for e in entries:
            row = np.frombuffer(bytes.fromhex(e["data"]), dtype=np.float32)
            ok = row.shape == (width,) and bool(np.array_equal(row, self.source.table[e["qsl_idx"]]))
            predictions[str(e["qsl_idx"])] = ok
            correct += ok
        n = len(entries)
        score = 100.0 * correct / n if n else 0.0
        (out_dir / "predictions.json").write_text(json.dumps(predictions, sort_keys=True))
        (out_dir / "accuracy.txt").write_text(json.dumps({"exact_match": score, "f1": score}) + "\n")
        scores = {"f1": score, "exact_match": score}
        return AccuracyResult("f1", score, scores, n, None, None, "synthetic workload: no accuracy target")

    def close(self) -> None:
        self.source.loaded.clear()


def synthetic_rules(total: int) -> WorkloadRules:
    """Rules of a stand-in benchmark "synthetic": BERT's scenarios, LoadGen key and Server bound
    (the synthetic runs use mlperf.conf's ``bert`` settings, hence its 10,833 performance samples),
    a data set of ``total`` rows and a 99 % target on its exact-match score. Not an MLPerf model."""
    required = {
        Category.EDGE: (Scenario.SINGLE_STREAM, Scenario.OFFLINE),
        Category.DATACENTER: (Scenario.SERVER, Scenario.OFFLINE),
    }
    target = AccuracyTarget(100.0, 0.99)
    benchmark = BenchmarkRules(
        name="synthetic",
        loadgen_model="bert",
        accuracy_metric="f1",
        dataset_size=total,
        performance_sample_count=10833,
        server_latency_ns=130_000_000,
        test01_delta_percent=1.0,
        test01_sampling_target=4096,
        rounds={name: RoundRules(target, required) for name in ROUNDS},
    )
    return WorkloadRules(benchmark, mlperf_model=False)


@dataclass(frozen=True)
class SyntheticWorkload:
    total: int = 512
    response_len: int = 8
    seconds_per_batch: float = 0.0
    fail: bool = False
    replicas: int = 1
    busy_samples: int = 0  # SyntheticSource's: other load that ends after this many samples
    seconds_per_busy_sample: float = 0.0

    @property
    def rules(self) -> WorkloadRules:
        return synthetic_rules(self.total)

    def open(self, spec: RunSpec) -> OpenSyntheticWorkload:
        source = SyntheticSource(
            expected_rows(self.total, self.response_len),
            self.seconds_per_batch,
            self.fail,
            replicas=self.replicas,
            busy_samples=self.busy_samples,
            seconds_per_busy_sample=self.seconds_per_busy_sample,
        )
        cpu = UsedDevice(DeviceKind.CPU, None, "cpu")
        info = RuntimeInfo("synthetic", __version__, Precision.FP32, "numpy", (cpu,) * self.replicas)
        return OpenSyntheticWorkload(source, info, {"synthetic-table": f"{self.total}x{self.response_len}"})


# The harness-overhead benchmarks' workload (bench/harness_overhead.py, bench/power_overhead.py),
# a registry target: ``"crowdperf.mlperf.synthetic_workload:noop_workload"``. The test suite's own
# instances (slow, failing, paced, ...) live with the tests (tests/synthetic_workloads.py).
noop_workload = SyntheticWorkload(total=10833, response_len=1)
