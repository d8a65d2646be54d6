from __future__ import annotations

from pathlib import Path

import pytest

from crowdperf.mlperf.layout import system_name
from crowdperf.mlperf.rounds import Scenario
from crowdperf.mlperf.runs import HarnessContext, execute_run, resolve_targets
from crowdperf.mlperf.spec import ExecutionMode, Mode, RunSpec


def _spec(scenario: Scenario, tmp_path: Path, **kw: object) -> RunSpec:
    return RunSpec("tiny", scenario, Mode.FIND_PERFORMANCE, count=64, results_dir=tmp_path, **kw)  # type: ignore[arg-type]


def test_find_performance_stores_targets_that_valid_runs_use(
    synthetic_tiny: str, ctx: HarnessContext, tmp_path: Path
) -> None:
    off = execute_run(_spec(Scenario.OFFLINE, tmp_path), ctx)
    ss = execute_run(_spec(Scenario.SINGLE_STREAM, tmp_path), ctx)
    assert off.metric and off.metric.unit == "samples/s" and off.metric.value > 100
    assert ss.metric and ss.metric.unit == "ms" and 0 < ss.metric.value < 50
    assert off.run_dir == ctx.store.path and not list(tmp_path.iterdir())  # nothing in results

    valid = _spec(Scenario.OFFLINE, tmp_path, execution_mode=ExecutionMode.VALID)
    stored = ctx.store.lookup(valid, system_name(valid, ctx.host))
    assert stored is not None and stored.value == off.metric.value
    got = resolve_targets(valid.with_run(Scenario.OFFLINE, Mode.PERFORMANCE), ctx)
    assert got.target_qps == pytest.approx(off.metric.value * 1.01)


@pytest.mark.slow
def test_server_search_finds_a_qps_meeting_the_bound(
    synthetic_tiny: str, ctx: HarnessContext, tmp_path: Path
) -> None:
    r = execute_run(_spec(Scenario.SERVER, tmp_path), ctx)
    assert r.metric and r.metric.value > 100
