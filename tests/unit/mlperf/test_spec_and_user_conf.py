from __future__ import annotations

import pytest

from crowdperf.errors import UsageError
from crowdperf.mlperf.rounds import Category, Scenario
from crowdperf.mlperf.spec import ExecutionMode, Mode, RunSpec, Targets, plan_runs
from crowdperf.mlperf.user_conf import (
    ResolvedTargets,
    apply_margin,
    offline_test_samples,
    render_test01_audit_config,
    render_user_conf,
)
from crowdperf.mlperf.workload import workload_rules


def test_all_all_on_edge_is_accuracy_and_performance_of_the_required_scenarios() -> None:
    base = RunSpec("tiny", Scenario.OFFLINE, Mode.PERFORMANCE)
    plan = plan_runs(base, workload_rules("tiny"), None, None)
    assert [(r.scenario, r.mode) for r in plan.runs] == [
        (Scenario.SINGLE_STREAM, Mode.ACCURACY),
        (Scenario.SINGLE_STREAM, Mode.PERFORMANCE),
        (Scenario.OFFLINE, Mode.ACCURACY),
        (Scenario.OFFLINE, Mode.PERFORMANCE),
    ]


def test_datacenter_adds_server_and_single_values_pass_through() -> None:
    base = RunSpec("bert-99", Scenario.OFFLINE, Mode.PERFORMANCE, category=Category.DATACENTER)
    rules = workload_rules("bert-99")
    scenarios = {r.scenario for r in plan_runs(base, rules, None, Mode.FIND_PERFORMANCE).runs}
    assert Scenario.SERVER in scenarios
    one = plan_runs(base, rules, Scenario.MULTI_STREAM, Mode.COMPLIANCE).runs
    assert [(r.scenario, r.mode) for r in one] == [(Scenario.MULTI_STREAM, Mode.COMPLIANCE)]


@pytest.mark.parametrize(
    "kwargs",
    [{"count": 0}, {"threads": 0}, {"batch_size": -1}],
)
def test_bad_spec_values_are_usage_errors(kwargs: dict) -> None:
    with pytest.raises(UsageError):
        RunSpec("tiny", Scenario.OFFLINE, Mode.PERFORMANCE, **kwargs)
    for bad in (-1.0, 0.0, float("nan"), float("inf"), 1e300):
        with pytest.raises(UsageError, match=r"--target-qps must be a finite number in \(0, "):
            Targets(target_qps=bad)
        with pytest.raises(UsageError, match=r"--target-latency-ms must be a finite number"):
            Targets(target_latency_ms=bad)


def _conf(
    mode: ExecutionMode, scenario: Scenario, targets: ResolvedTargets, qsl: int = 300
) -> dict[str, str]:
    text = render_user_conf(
        loadgen_model="bert",
        scenario=scenario,
        execution_mode=mode,
        targets=targets,
        qsl_size=qsl,
        performance_sample_count=10833,
    )
    return dict(line.split(" = ") for line in text.splitlines() if not line.startswith("#"))


def test_test_mode_user_conf_is_short_and_capped() -> None:
    conf = _conf(ExecutionMode.TEST, Scenario.SINGLE_STREAM, ResolvedTargets(target_latency_ms=12.4))
    assert conf["bert.SingleStream.min_duration"] == "100"
    assert conf["bert.SingleStream.min_query_count"] == "64"
    assert conf["bert.SingleStream.performance_sample_count_override"] == "300"
    assert conf["bert.SingleStream.target_latency"] == "12.4"
    offline = _conf(ExecutionMode.TEST, Scenario.OFFLINE, ResolvedTargets())
    assert offline["bert.Offline.min_query_count"] == "300"  # Offline: the whole QSL in one query


@pytest.mark.parametrize(
    ("scenario", "queries"),
    [(Scenario.SINGLE_STREAM, "64"), (Scenario.MULTI_STREAM, "662"), (Scenario.SERVER, "662")],
)
def test_test_mode_issues_the_queries_early_stopping_needs_even_on_a_tiny_qsl(
    scenario: Scenario, queries: str
) -> None:
    # --count caps the QSL (8 samples here), not the queries: fewer than LoadGen's early-stopping
    # minimum is INVALID however fast the system is (results.cc EarlyStopping).
    conf = _conf(ExecutionMode.TEST, scenario, ResolvedTargets(target_qps=1000.0), qsl=8)
    assert conf[f"bert.{scenario.value}.min_query_count"] == queries
    assert conf[f"bert.{scenario.value}.performance_sample_count_override"] == "8"


def test_test_mode_offline_samples_follow_the_target_qps() -> None:
    # 100 ms at 50,000 samples/s with 20x headroom = 100,000 samples, more than the 300-sample QSL
    assert offline_test_samples(300, 50_000.0) == 100_000
    assert offline_test_samples(300, 1e12) == 1_000_000  # capped: LoadGen holds every sample
    assert offline_test_samples(300, 100.0) == 300  # a slow system: the QSL already lasts long enough
    assert offline_test_samples(300, None) == 300
    fast = _conf(ExecutionMode.TEST, Scenario.OFFLINE, ResolvedTargets(target_qps=50_000.0))
    assert fast["bert.Offline.min_query_count"] == "100000"
    assert fast["bert.Offline.performance_sample_count_override"] == "300"


def test_valid_mode_user_conf_never_touches_duration_counts_or_seeds() -> None:
    conf = _conf(ExecutionMode.VALID, Scenario.SERVER, ResolvedTargets(target_qps=123.456), qsl=10833)
    assert conf == {"bert.Server.target_qps": "123.456"}
    small = _conf(ExecutionMode.VALID, Scenario.OFFLINE, ResolvedTargets(target_qps=5.0), qsl=300)
    assert small == {"bert.Offline.target_qps": "5", "bert.Offline.performance_sample_count_override": "300"}


def test_valid_single_stream_expects_a_low_latency_and_caps_the_duration() -> None:
    # An expectation above the mean latency made LoadGen run out of queries before 600 s (INVALID);
    # CM's 0.4 x measured and 660 s cap avoid it. min_duration stays mlperf.conf's.
    assert apply_margin(Scenario.SINGLE_STREAM, 10.0) == 4.0
    conf = _conf(
        ExecutionMode.VALID, Scenario.SINGLE_STREAM, ResolvedTargets(target_latency_ms=4.0), qsl=10833
    )
    assert conf == {"bert.SingleStream.target_latency": "4", "bert.SingleStream.max_duration": "660000"}


def test_test01_audit_config_is_mlperfs() -> None:
    lines = {line for line in render_test01_audit_config(4096).splitlines() if not line.startswith("#")}
    assert lines == {
        "*.*.mode = 2",
        "*.*.accuracy_log_rng_seed = 720381539243781796",
        "*.*.accuracy_log_sampling_target = 4096",
    }
