"""MLPerf's rules for BERT (bert-99, bert-99.9), as values of the harness's rule types.

Sources (read, not copied), mlcommons/inference:
- ``tools/submission/submission_checker/constants.py`` ``MODEL_CONFIG`` on master for v5.0 .. v6.1,
  and ``tools/submission/submission_checker.py`` at tag v4.1 for v4.1: "required-scenarios-edge",
  "required-scenarios-datacenter", "accuracy-target" (``("F1", 90.874 * 0.99)``), "dataset-size"
  and "performance-sample-count" (10833), "latency-constraint" (bert Server 130e6 ns, v4.1/v5.0).
- ``loadgen/mlperf.conf``: ``bert.*.performance_sample_count_override = 10833``,
  ``bert.Server.target_latency = 130`` (ms); the model key is ``bert``.
- ``tools/submission/submission_checker/configuration/configuration.py`` ``get_delta_perc``: a
  TEST01 baseline may differ by 1 % (bert-99) or 0.1 % (a "99.9" model);
  ``compliance/TEST01/bert/audit.config``: accuracy_log_sampling_target = 4096.
"""

from __future__ import annotations

from crowdperf.mlperf.rounds import Category, Scenario
from crowdperf.mlperf.workload_rules import AccuracyTarget, BenchmarkRules, RoundRules, WorkloadRules

FP32_REFERENCE_F1 = 90.874  # the reference BERT-Large's F1 on SQuAD v1.1 dev
DATASET_SIZE = 10833  # SQuAD v1.1 dev features at max_seq_length 384, doc_stride 128
SERVER_LATENCY_NS = 130_000_000
LOADGEN_MODEL = "bert"

_EDGE = (Scenario.SINGLE_STREAM, Scenario.OFFLINE)
# BERT left MLPerf's datacenter suite in v5.0. crowdperf still runs and requires Server + Offline
# for --category datacenter (v4.1's datacenter set) so datacenter systems stay comparable.
_DATACENTER = (Scenario.SERVER, Scenario.OFFLINE)
_LATER_ROUNDS = ("v5.0", "v5.1", "v6.0", "v6.1")


def _benchmark(name: str, fraction: float, test01_delta_percent: float) -> BenchmarkRules:
    target = AccuracyTarget(FP32_REFERENCE_F1, fraction)
    both = {Category.EDGE: _EDGE, Category.DATACENTER: _DATACENTER}
    # v4.1's edge suite had bert-99 only (bert-99.9 was datacenter-only).
    v41 = both if name == "bert-99" else {Category.DATACENTER: _DATACENTER}
    rounds = {"v4.1": RoundRules(target, v41), **{r: RoundRules(target, both) for r in _LATER_ROUNDS}}
    return BenchmarkRules(
        name=name,
        loadgen_model=LOADGEN_MODEL,
        accuracy_metric="f1",
        dataset_size=DATASET_SIZE,
        performance_sample_count=DATASET_SIZE,
        server_latency_ns=SERVER_LATENCY_NS,
        test01_delta_percent=test01_delta_percent,
        test01_sampling_target=4096,  # compliance/TEST01/bert/audit.config
        rounds=rounds,
    )


BERT_99 = _benchmark("bert-99", 0.99, 1.0)
BERT_99_9 = _benchmark("bert-99.9", 0.999, 0.1)

# The rules each registered BERT model runs under (workloads/bert/definitions.py).
RULES: dict[str, WorkloadRules] = {
    "bert-99": WorkloadRules(BERT_99, mlperf_model=True),
    "bert-99.9": WorkloadRules(BERT_99_9, mlperf_model=True),
    # Not MLPerf models (generated weights): open division, standing in for bert-99.
    "tiny": WorkloadRules(BERT_99, mlperf_model=False),
    "bert-large": WorkloadRules(BERT_99, mlperf_model=False),
}


def f1_target(model: str, round_name: str | None = None) -> float | None:
    """The closed F1 target of ``model`` in ``round_name`` (default: the newest round); None for a
    model that is not an MLPerf model, or not BERT's (``dataset squad-accuracy`` scores any log)."""
    rules = RULES.get(model)
    if rules is None:
        return None
    target = rules.closed_accuracy_target(round_name or list(rules.benchmark.rounds)[-1])
    return target.value if target else None
