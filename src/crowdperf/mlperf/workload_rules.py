"""What MLPerf's rules say about one benchmark, as typed data a workload carries.

The harness owns the *types*; each workload owns the *values* (BERT's: workloads/bert/rules.py), so
the parent process (plan, checker, TEST01 verification, find-performance, submission generate) reads
rules from the workload definition without loading a model. The fields follow mlcommons/inference
``tools/submission/submission_checker/constants.py`` ``MODEL_CONFIG[<round>]`` (read, not copied):

    "required-scenarios-<category>"   RoundRules.required           per round, per category
    "accuracy-target"                 RoundRules.accuracy (per round), BenchmarkRules.accuracy_metric
    "dataset-size"                    BenchmarkRules.dataset_size    accuracy runs cover all of it
    "performance-sample-count"        BenchmarkRules.performance_sample_count
    "latency-constraint"              BenchmarkRules.server_latency_ns (also mlperf.conf target_latency)
    configuration.py get_delta_perc   BenchmarkRules.test01_delta_percent (TEST01 baseline check)
    compliance/TEST01/<model>/audit.config  BenchmarkRules.test01_sampling_target
    "model_mapping", model_mapping.json   WorkloadRules: a model that is not the benchmark's
                                      reference stands in for it in the open division

Nothing here is silent: a round or category a benchmark has no rules for is a UsageError that
names the ones it has.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from crowdperf.errors import UsageError
from crowdperf.mlperf.rounds import Category, Scenario


@dataclass(frozen=True)
class AccuracyTarget:
    """A closed-division accuracy target: ``fraction`` of the FP32 reference score."""

    reference: float  # the FP32 reference model's score, e.g. 90.874
    fraction: float  # 0.99 for a "-99" benchmark, 0.999 for "-99.9"

    @property
    def value(self) -> float:
        return self.reference * self.fraction


@dataclass(frozen=True)
class RoundRules:
    """What one round asks of a benchmark. A category missing from ``required`` means the
    benchmark is not part of that round's suite for it."""

    accuracy: AccuracyTarget
    required: Mapping[Category, tuple[Scenario, ...]]


@dataclass(frozen=True)
class BenchmarkRules:
    """One MLPerf benchmark (``bert-99``): the name results are filed under in the closed division."""

    name: str
    loadgen_model: str  # mlperf.conf's model key ("bert")
    accuracy_metric: str  # key of the score in accuracy.txt's first line ("f1": the checker's "F1")
    dataset_size: int  # accuracy runs must cover this many samples
    performance_sample_count: int  # mlperf.conf performance_sample_count_override
    server_latency_ns: int  # the Server scenario's p99 latency bound
    test01_delta_percent: float  # TEST01 baseline vs compliance score, at most this apart
    test01_sampling_target: int  # TEST01 audit.config accuracy_log_sampling_target
    rounds: Mapping[str, RoundRules]

    def round(self, name: str) -> RoundRules:
        try:
            return self.rounds[name]
        except KeyError:
            raise UsageError(
                f"{self.name} has no rules for MLPerf round {name!r}",
                hint=f"use one of: {', '.join(self.rounds)}",
            ) from None

    def accuracy_target(self, round_name: str) -> AccuracyTarget:
        return self.round(round_name).accuracy

    def required_scenarios(self, round_name: str, category: Category) -> tuple[Scenario, ...]:
        rules = self.round(round_name)
        if category not in rules.required:
            raise UsageError(
                f"{self.name} is not in MLPerf {round_name}'s {category} suite",
                hint=f"use --category {' or '.join(c.value for c in rules.required)} or another --round",
            )
        return rules.required[category]

    def scenarios_to_run(self, round_name: str, category: Category) -> tuple[Scenario, ...]:
        """What ``--scenario all`` runs. Edge: the required set. Datacenter: the edge set too (where
        the benchmark is in the edge suite), then Server (comparisons between datacenter systems
        need it even where it is not required), then the datacenter set."""
        if category is not Category.DATACENTER:
            return self.required_scenarios(round_name, category)
        edge = self.round(round_name).required.get(Category.EDGE, ())
        datacenter = self.required_scenarios(round_name, Category.DATACENTER)
        return tuple(dict.fromkeys((*edge, Scenario.SERVER, *datacenter)))


@dataclass(frozen=True)
class WorkloadRules:
    """The rules a workload runs under: its benchmark's, and whether it *is* that benchmark.

    ``mlperf_model`` True: the benchmark's reference model (``bert-99``), closed division possible.
    False: another model (``tiny``, generated ``bert-large`` weights) standing in for the benchmark:
    open division only, mapped to it in ``model_mapping.json``; no accuracy target applies.
    """

    benchmark: BenchmarkRules
    mlperf_model: bool

    def closed_accuracy_target(self, round_name: str) -> AccuracyTarget | None:
        return self.benchmark.accuracy_target(round_name) if self.mlperf_model else None
