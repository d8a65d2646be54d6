"""Which INVALID test runs the harness runs again, re-sized from what they measured
(sizing.resized_after_short_run): only test-mode performance and TEST01 runs of the scenarios
sizing applies to, INVALID only for ending too early, and only when their own measure asks LoadGen
for more work than the targets they ran at. (The whole path through real LoadGen runs is
test_loadgen_runs.py's.)"""

from __future__ import annotations

from pathlib import Path

import pytest

from crowdperf.mlperf.invalid_reason import RAN_OUT
from crowdperf.mlperf.logs import DetailLog, LogMessage
from crowdperf.mlperf.rounds import Scenario
from crowdperf.mlperf.sizing import RESIZED, expected_latency_ms, resized_after_short_run
from crowdperf.mlperf.spec import ExecutionMode, Mode, RunSpec
from crowdperf.mlperf.user_conf import ResolvedTargets

SIZED = ResolvedTargets(target_qps=500.0, source="test sizing probe", probed=500.0)
SIZED_LATENCY = ResolvedTargets(target_latency_ms=0.2, source="test sizing probe", probed=2.0)


def _spec(
    scenario: Scenario, mode: Mode = Mode.PERFORMANCE, execution: ExecutionMode = ExecutionMode.TEST
) -> RunSpec:
    return RunSpec("tiny", scenario, mode, execution_mode=execution, results_dir=Path("results"))


def _short_offline(qps: float = 529_100.0, **extra: object) -> DetailLog:
    values = {"result_validity": "INVALID", "result_min_duration_met": False, "result_min_queries_met": True}
    values["result_samples_per_second"] = qps
    return DetailLog(Path("mlperf_log_detail.txt"), {**values, **extra})


def _ran_out(fastest_ns: int = 6_000) -> DetailLog:
    values = {"result_validity": "INVALID", "result_min_duration_met": True, "result_min_queries_met": True}
    values["result_min_latency_ns"] = fastest_ns
    return DetailLog(Path("mlperf_log_detail.txt"), values, errors=[LogMessage("error_runtime", RAN_OUT)])


def test_a_short_offline_run_is_re_sized_from_its_own_samples_per_second() -> None:
    resized = resized_after_short_run(_spec(Scenario.OFFLINE), _short_offline(), SIZED)
    assert resized == ResolvedTargets(target_qps=529_100.0, source=RESIZED, probed=529_100.0)
    compliance = resized_after_short_run(_spec(Scenario.OFFLINE, Mode.COMPLIANCE), _short_offline(), SIZED)
    assert compliance is not None  # TEST01 is sized as the performance run is


@pytest.mark.parametrize("scenario", [Scenario.SINGLE_STREAM, Scenario.MULTI_STREAM])
def test_a_run_out_of_generated_queries_is_re_sized_from_its_fastest_query(scenario: Scenario) -> None:
    resized = resized_after_short_run(_spec(scenario), _ran_out(6_000), SIZED_LATENCY)
    assert resized is not None and resized.source == RESIZED and resized.probed == pytest.approx(0.006)
    assert resized.target_latency_ms == pytest.approx(expected_latency_ms(0.006))


@pytest.mark.parametrize(
    "spec",
    [
        _spec(Scenario.OFFLINE, execution=ExecutionMode.VALID),  # the user's or find-performance's targets
        _spec(Scenario.OFFLINE, Mode.ACCURACY),
        _spec(Scenario.SERVER),  # scheduled in time: it cannot end early
    ],
    ids=["valid mode", "accuracy", "Server"],
)
def test_runs_sizing_does_not_apply_to_are_never_re_sized(spec: RunSpec) -> None:
    assert resized_after_short_run(spec, _short_offline(), SIZED) is None


def test_only_a_run_that_ended_too_early_is_re_sized() -> None:
    offline = _spec(Scenario.OFFLINE)
    valid = DetailLog(Path("d"), {"result_validity": "VALID", "result_samples_per_second": 9e5})
    assert resized_after_short_run(offline, valid, SIZED) is None
    too_few = _short_offline(result_min_queries_met=False)  # LoadGen's count, not the target's
    assert resized_after_short_run(offline, too_few, SIZED) is None
    other = DetailLog(Path("d"), {"result_validity": "INVALID", "result_min_duration_met": True})
    assert resized_after_short_run(offline, other, SIZED) is None


def test_a_measure_that_would_not_ask_for_more_work_is_not_run_again() -> None:
    """No loop: a run that was short at its own speed would be short again."""
    offline = _spec(Scenario.OFFLINE)
    assert resized_after_short_run(offline, _short_offline(qps=400.0), SIZED) is None
    assert resized_after_short_run(offline, _short_offline(qps=0.0), ResolvedTargets()) is None
    slow = _ran_out(fastest_ns=int(5e6))  # 5 ms: expects more than the 0.2 ms it ran at
    assert resized_after_short_run(_spec(Scenario.SINGLE_STREAM), slow, SIZED_LATENCY) is None
    assert resized_after_short_run(_spec(Scenario.SINGLE_STREAM), _ran_out(0), SIZED_LATENCY) is None
