"""``toyclass``: nearest-prototype classification of generated 16-dimensional points into 4
classes. Its definition is cheap (rules as data); ``open`` imports the rest in the test's child."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from crowdperf.mlperf.rounds import ROUNDS, Category, Scenario
from crowdperf.mlperf.workload_rules import AccuracyTarget, BenchmarkRules, RoundRules, WorkloadRules

if TYPE_CHECKING:
    from crowdperf.mlperf.spec import RunSpec
    from crowdperf.mlperf.workload import AccuracyResult, OpenWorkload

SAMPLES = 512
REFERENCE_ACCURACY = (
    100 * 511 / 512
)  # percent: the fp32 model on the whole set (test_second_workload checks it)
REQUIRED = {
    Category.EDGE: (Scenario.SINGLE_STREAM, Scenario.OFFLINE),
    Category.DATACENTER: (Scenario.SERVER, Scenario.OFFLINE),
}
BENCHMARK = BenchmarkRules(
    name="toyclass",
    loadgen_model="toyclass",  # no mlperf.conf entry of its own: LoadGen applies the "*" defaults
    accuracy_metric="accuracy",
    dataset_size=SAMPLES,
    performance_sample_count=SAMPLES,
    server_latency_ns=20_000_000,
    test01_delta_percent=1.0,
    test01_sampling_target=128,
    rounds={name: RoundRules(AccuracyTarget(REFERENCE_ACCURACY, 0.99), REQUIRED) for name in ROUNDS},
)


@dataclass(frozen=True)
class ToyDefinition:
    name: str
    rules: WorkloadRules

    def open(self, spec: RunSpec) -> OpenWorkload:
        from crowdperf_toyplugin.workload import open_toy

        return open_toy(spec, self.rules)

    def score_log(self, spec: RunSpec, accuracy_log: Path, out_dir: Path) -> AccuracyResult:
        from crowdperf_toyplugin.workload import score

        return score(accuracy_log, out_dir, self.rules, spec.round)


toyclass = ToyDefinition("toyclass", WorkloadRules(BENCHMARK, mlperf_model=True))
