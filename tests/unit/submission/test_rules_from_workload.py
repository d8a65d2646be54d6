"""The checker, TEST01 and generate read a benchmark's rules from the workload that runs it."""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from lgtrees import build_results

from crowdperf.mlperf.rounds import ROUNDS, Category, Scenario
from crowdperf.mlperf.workload import register_workload, unregister_workload
from crowdperf.mlperf.workload_rules import AccuracyTarget, BenchmarkRules, RoundRules, WorkloadRules
from crowdperf.submission.checker import check_submission
from crowdperf.submission.generate import GenerateOptions, generate_submission

SYSTEM = "testhost-onnxruntime-cpu-fp32"


@dataclass(frozen=True)
class RulesOnly:
    """A workload definition whose rules differ from BERT's (the checker never opens it)."""

    rules: WorkloadRules

    def open(self, spec: object) -> object:
        raise NotImplementedError


def _toy(name: str, *, mlperf_model: bool) -> RulesOnly:
    target = AccuracyTarget(reference=50.0, fraction=0.99)  # 49.5, where BERT's is 89.97
    required = {Category.EDGE: (Scenario.OFFLINE,)}  # no SingleStream, where BERT needs it
    rounds = {r: RoundRules(target, required) for r in ROUNDS}
    benchmark = BenchmarkRules(name, "bert", "f1", 64, 64, 50_000_000, 5.0, 64, rounds)
    return RulesOnly(WorkloadRules(benchmark, mlperf_model=mlperf_model))


TOY = _toy("toy-99", mlperf_model=True)
TOY_STAND_IN = _toy("toy-99", mlperf_model=False)


@pytest.fixture
def toy_registered() -> Iterator[None]:
    register_workload("toy-99", f"{__name__}:TOY")
    register_workload("toy-small", f"{__name__}:TOY_STAND_IN")
    yield
    unregister_workload("toy-99")
    unregister_workload("toy-small")


def _generate_and_check(tmp_path: Path, model: str, f1: float) -> tuple[set[str], set[str]]:
    """(divisions, rules of the findings) of ``model``'s Offline-only, 64-sample tree at ``f1``."""
    results = tmp_path / f"results-{model}-{f1}"
    build_results(results, model=model, f1=f1, test01=False)
    sub = tmp_path / f"sub-{model}-{f1}"
    opts = GenerateOptions(results, sub, "ORG", "closed", Category.EDGE, ROUNDS["v6.1"])
    divisions = {r.division for r in generate_submission(opts).results}
    report = check_submission(sub, ROUNDS["v6.1"], skip_compliance=True)
    return divisions, {f.rule for r in report.results if f"/{model}/" in r.key for f in r.findings}


def test_a_workload_with_other_rules_changes_what_the_checker_requires(
    toy_registered: None, tmp_path: Path
) -> None:
    # The same Offline-only tree: bert-99 requires SingleStream too, toy-99 does not.
    assert "scenarios" in _generate_and_check(tmp_path, "bert-99", 95.0)[1]
    assert "scenarios" not in _generate_and_check(tmp_path, "toy-99", 95.0)[1]
    # F1 60: below bert-99's 89.97 (filed under open), above toy-99's 49.5 (closed).
    assert _generate_and_check(tmp_path, "bert-99", 60.0)[0] == {"open"}
    assert _generate_and_check(tmp_path, "toy-99", 60.0)[0] == {"closed"}


def test_a_stand_in_model_is_mapped_to_the_benchmark_its_rules_name(
    toy_registered: None, tmp_path: Path
) -> None:
    results = tmp_path / "results"
    build_results(results, model="toy-small", f1=60.0, test01=False)
    build_results(results, model="bert-large", f1=0.1, test01=False)
    sub = tmp_path / "sub"
    report = generate_submission(
        GenerateOptions(results, sub, "ORG", "closed", Category.EDGE, ROUNDS["v6.1"])
    )
    assert {r.model: r.division for r in report.results} == {"toy-small": "open", "bert-large": "open"}
    mapping = json.loads((sub / "open" / "ORG" / "model_mapping.json").read_text())
    assert mapping == {"toy-small": "toy-99", "bert-large": "bert-99"}
    checked = check_submission(sub, ROUNDS["v6.1"])
    assert not [f for r in checked.results for f in r.findings if f.rule in ("model", "rules")]


def test_an_unregistered_model_is_an_error_naming_the_known_ones(tmp_path: Path) -> None:
    from crowdperf.errors import UsageError

    results = tmp_path / "results"
    build_results(results, model="resnet50", test01=False)
    with pytest.raises(UsageError) as info:
        generate_submission(
            GenerateOptions(results, tmp_path / "sub", "ORG", "closed", Category.EDGE, ROUNDS["v6.1"])
        )
    assert "'resnet50' is not a known model" in info.value.message and "bert-99" in (info.value.hint or "")
