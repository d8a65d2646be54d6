"""Workload rules: types in the harness, values on the workload, nothing implicit."""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest

from crowdperf.errors import ResultsError, UsageError
from crowdperf.mlperf.metrics import RESULT_FIELDS, result_field
from crowdperf.mlperf.rounds import ROUNDS, Category, Scenario
from crowdperf.mlperf.user_conf import render_test01_audit_config
from crowdperf.mlperf.workload import benchmark_rules, benchmarks, workload_rules
from crowdperf.workloads.bert.rules import BERT_99, BERT_99_9

MIRROR = Path("/work/.mirror/mlcommons+inference/repo")
SS, OFF, SRV = Scenario.SINGLE_STREAM, Scenario.OFFLINE, Scenario.SERVER


def test_required_scenarios_come_from_the_workload_for_each_round_and_category() -> None:
    rules = workload_rules("bert-99").benchmark
    assert rules.required_scenarios("v6.1", Category.EDGE) == (SS, OFF)
    assert rules.scenarios_to_run("v6.1", Category.EDGE) == (SS, OFF)
    assert rules.scenarios_to_run("v6.1", Category.DATACENTER) == (SS, OFF, SRV)
    assert BERT_99_9.required_scenarios("v4.1", Category.DATACENTER) == (SRV, OFF)
    assert BERT_99_9.scenarios_to_run("v4.1", Category.DATACENTER) == (SRV, OFF)


def test_a_round_or_category_without_rules_is_an_error_naming_the_known() -> None:
    with pytest.raises(UsageError) as info:
        BERT_99.required_scenarios("v3.0", Category.EDGE)
    assert "bert-99 has no rules for MLPerf round 'v3.0'" in info.value.message
    assert "v4.1" in (info.value.hint or "") and "v6.1" in (info.value.hint or "")
    with pytest.raises(UsageError) as info:  # bert-99.9 was datacenter-only in v4.1
        BERT_99_9.scenarios_to_run("v4.1", Category.EDGE)
    assert "not in MLPerf v4.1's edge suite" in info.value.message and "datacenter" in (info.value.hint or "")


def test_models_that_are_not_mlperf_models_stand_in_for_bert_99() -> None:
    for model in ("tiny", "bert-large"):
        rules = workload_rules(model)
        assert not rules.mlperf_model and rules.benchmark is BERT_99
        assert rules.closed_accuracy_target("v6.1") is None
    assert workload_rules("bert-99.9").closed_accuracy_target("v6.1").value == pytest.approx(90.874 * 0.999)
    assert set(benchmarks()) >= {"bert-99", "bert-99.9"}
    with pytest.raises(UsageError, match="not an MLPerf benchmark") as info:
        benchmark_rules("resnet")
    assert "bert-99, bert-99.9" in (info.value.hint or "")


def _checker_constants() -> dict:
    if not (MIRROR / "HEAD").exists():
        pytest.skip("mlcommons/inference mirror not present")
    source = subprocess.run(
        ["git", "-C", str(MIRROR), "show", "HEAD:tools/submission/submission_checker/constants.py"],
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    namespace: dict = {}
    exec(compile(source, "constants.py", "exec"), namespace)  # plain data: dicts and lists
    return namespace


@pytest.mark.parametrize("round_name", ["v5.0", "v5.1", "v6.0", "v6.1"])
def test_bert_rules_are_the_mlperf_checkers(round_name: str) -> None:
    config = _checker_constants()["MODEL_CONFIG"][round_name]
    for rules in (BERT_99, BERT_99_9):
        name = rules.name
        metric, target = config["accuracy-target"][name]
        assert metric == "F1" and rules.accuracy_target(round_name).value == pytest.approx(target)
        assert rules.dataset_size == config["dataset-size"][name]
        assert rules.performance_sample_count == config["performance-sample-count"][name]
        edge = tuple(Scenario(s) for s in config["required-scenarios-edge"][name])
        assert rules.required_scenarios(round_name, Category.EDGE) == edge


def test_the_metric_table_is_the_checkers_result_field() -> None:
    fields = _checker_constants()["RESULT_FIELD_NEW"]
    for round_name in ROUNDS:
        if round_name in fields:
            for scenario, key in fields[round_name].items():
                assert result_field(scenario).key == key
    assert set(RESULT_FIELDS) == set(fields["v6.1"])
    with pytest.raises(ResultsError, match="no result metric"):
        result_field("Batch")


def test_bert_test01_audit_config_is_mlperfs() -> None:
    if not (MIRROR / "HEAD").exists():
        pytest.skip("mlcommons/inference mirror not present")
    official = subprocess.run(
        ["git", "-C", str(MIRROR), "show", "HEAD:compliance/TEST01/bert/audit.config"],
        capture_output=True,
        text=True,
        check=True,
    ).stdout

    def settings(text: str) -> set[str]:
        return {line.strip() for line in text.splitlines() if line.strip() and not line.startswith("#")}

    assert settings(render_test01_audit_config(BERT_99.test01_sampling_target)) == settings(official)
