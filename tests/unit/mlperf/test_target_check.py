"""A valid run must not fail for a reason the tool could have seen (issue 14, item 11).

Before the 600 s runs, each stored target is re-checked by a short probe of the same system; the
paced synthetic workloads play a system measured while the machine was busy (slower when measured
than when run) and the reverse. After an INVALID run, one line says why and the command fixes it.
The LoadGen runs that prove a decision are the valid-mode rule scaled from 600 s to ~0.5 s."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import replace
from pathlib import Path

import pytest

from crowdperf.errors import UsageError
from crowdperf.mlperf.invalid_reason import explain_invalid
from crowdperf.mlperf.probes import Prober
from crowdperf.mlperf.rounds import Scenario, get_round
from crowdperf.mlperf.runs import RECHECKED, HarnessContext, check_valid_targets, execute_run, resolve_targets
from crowdperf.mlperf.spec import ExecutionMode, Mode, RunPlan, RunSpec, Targets
from crowdperf.mlperf.sut import DEFAULT_BATCH_SIZE
from crowdperf.mlperf.target_check import decide_latency, decide_offline, decide_server
from crowdperf.mlperf.targets import StoredTarget
from crowdperf.mlperf.user_conf import SERVER_QPS_MARGIN, ResolvedTargets
from crowdperf.mlperf.workload import register_workload, unregister_workload
from crowdperf.settings import load_settings
from synthetic_workloads import paced_workload

PACED = "synthetic_workloads:{}"
SCALED_MS = 500  # LoadGen's 600 s minimum, scaled down


@pytest.fixture
def heard(_isolated_cache: Path) -> Iterator[tuple[HarnessContext, list[str]]]:
    """A context whose notes are kept: what the user would read."""
    lines: list[str] = []
    yield HarnessContext(load_settings(), host="testhost-2c", notify=lines.append), lines
    unregister_workload("paced")


def _measure_as(
    heard: tuple[HarnessContext, list[str]], workload: str, tmp_path: Path, *scenarios: Scenario
) -> None:
    ctx, lines = heard
    register_workload("paced", PACED.format(workload))
    for scenario in scenarios:
        execute_run(RunSpec("paced", scenario, Mode.FIND_PERFORMANCE, results_dir=tmp_path), ctx)
    lines.clear()  # what find-performance said (this shared machine may be busy); not under test


def _valid(scenario: Scenario, **kw: object) -> RunSpec:
    return RunSpec("paced", scenario, Mode.PERFORMANCE, execution_mode=ExecutionMode.VALID, **kw)  # type: ignore[arg-type]


def _scaled_run(scenario: Scenario, targets: ResolvedTargets, tmp_path: Path) -> bool:
    """The valid-mode rule at SCALED_MS on the idle paced system: VALID?"""
    opened = paced_workload.open(_valid(scenario))
    try:
        prober = Prober(
            opened, seeds=get_round("v6.1").seeds, work_dir=tmp_path, count=None, batch_size=None, probe_ms=0
        )
        if scenario is Scenario.OFFLINE:
            log = prober.probe(scenario, offline_expected_qps=targets.target_qps, min_query_count=1,
                               min_duration_ms=SCALED_MS)  # fmt: skip
        else:
            expected_ns = int(float(targets.target_latency_ms or 0) * 1e6)
            log = prober.probe(scenario, single_stream_expected_latency_ns=expected_ns, min_query_count=64,
                               min_duration_ms=SCALED_MS)  # fmt: skip
    finally:
        opened.close()
    return log.valid


def test_targets_measured_on_a_busy_machine_are_re_targeted_before_the_run(
    heard: tuple[HarnessContext, list[str]], tmp_path: Path
) -> None:
    ctx, lines = heard
    _measure_as(heard, "paced_busy_workload", tmp_path, Scenario.OFFLINE, Scenario.SINGLE_STREAM)
    stored = {s: resolve_targets(_valid(s), ctx) for s in (Scenario.OFFLINE, Scenario.SINGLE_STREAM)}
    register_workload("paced", PACED.format("paced_workload"))  # the machine is quiet now
    plan = RunPlan(
        tuple(_valid(s).with_run(s, m) for s in stored for m in (Mode.PERFORMANCE, Mode.COMPLIANCE))
    )
    checked = check_valid_targets(plan, ctx)
    for scenario, old in stored.items():
        new = checked[scenario]
        assert new.source == RECHECKED and new.probed is not None
        assert not _scaled_run(scenario, old, tmp_path / f"old-{scenario}")  # the stored one: INVALID
        assert _scaled_run(scenario, new, tmp_path / f"new-{scenario}")  # the re-checked one: VALID
    assert len(lines) == 2 and all(
        "re-targeted to" in line and "--mode find-performance" in line for line in lines
    )
    assert (
        "before LoadGen's 600 s minimum (INVALID)" in lines[0] and "run out of generated queries" in lines[1]
    )
    assert all("machine now:" in line and "% busy" in line for line in lines)


def test_a_target_that_still_holds_is_kept_and_said_so(
    heard: tuple[HarnessContext, list[str]], tmp_path: Path
) -> None:
    ctx, lines = heard
    _measure_as(heard, "paced_workload", tmp_path, Scenario.OFFLINE)
    stored = resolve_targets(_valid(Scenario.OFFLINE), ctx)
    checked = check_valid_targets(RunPlan((_valid(Scenario.OFFLINE),)), ctx)
    assert checked[Scenario.OFFLINE] == stored
    assert lines and lines[0].startswith("Offline: the stored target holds")


def _store_server_target(ctx: HarnessContext, value: float) -> None:
    """A Server find-performance value for the paced system, as targets.json holds it."""
    spec = _valid(Scenario.SERVER)
    ctx.store.save(
        StoredTarget(ctx.system_name(spec), spec.model, spec.backend, spec.devices.kind.value,
                     spec.precision.value, "Server", value, "samples/s", "test", "2026-01-01T00:00:00Z")
    )  # fmt: skip


PACED_SERVER_CAPACITY = DEFAULT_BATCH_SIZE[Scenario.SERVER] / paced_workload.seconds_per_batch  # 1,600/s


def test_a_system_slower_when_run_than_when_measured_gets_a_lower_server_target(
    heard: tuple[HarnessContext, list[str]],
) -> None:
    ctx, lines = heard
    _store_server_target(ctx, PACED_SERVER_CAPACITY * 0.9)
    register_workload("paced", PACED.format("paced_busy_workload"))  # now the machine is busy: 6x slower
    checked = check_valid_targets(RunPlan((_valid(Scenario.SERVER),)), ctx)
    assert checked[Scenario.SERVER].target_qps < PACED_SERVER_CAPACITY / 6
    assert "would fail it (INVALID)" in lines[0] and "re-targeted to" in lines[0]


def test_a_server_target_over_capacity_is_re_targeted_though_offline_has_not_changed(
    heard: tuple[HarnessContext, list[str]],
) -> None:
    """The old 0.5 s Server search stored targets ~10-25 % over what the same, unchanged system
    sustains (8,196 QPS on an H200 that completes ~6,800/s; ~1,750 on the paced system, which
    completes <= 1,600/s): an Offline probe sees nothing wrong, a Server probe of the target does."""
    ctx, lines = heard
    register_workload("paced", PACED.format("paced_workload"))
    _store_server_target(ctx, 1752.0)
    checked = check_valid_targets(RunPlan((_valid(Scenario.SERVER),)), ctx)[Scenario.SERVER]
    assert checked.source == RECHECKED and checked.probed is not None
    assert 0.7 * PACED_SERVER_CAPACITY < checked.target_qps <= PACED_SERVER_CAPACITY * SERVER_QPS_MARGIN
    assert "would fail it (INVALID)" in lines[0]


def test_a_plan_that_measures_its_own_target_is_not_re_checked(
    heard: tuple[HarnessContext, list[str]],
) -> None:
    ctx, lines = heard
    plan = RunPlan(
        (_valid(Scenario.OFFLINE).with_run(Scenario.OFFLINE, Mode.FIND_PERFORMANCE), _valid(Scenario.OFFLINE))
    )
    assert check_valid_targets(plan, ctx) == {} and lines == []


def test_a_target_the_user_passed_that_would_spoil_the_run_is_refused(
    heard: tuple[HarnessContext, list[str]], tmp_path: Path
) -> None:
    ctx, _ = heard
    register_workload("paced", PACED.format("paced_workload"))
    spec = _valid(Scenario.OFFLINE, targets=Targets(target_qps=10.0))  # the system does ~6,000/s
    with pytest.raises(UsageError, match=r"would end after ~\d+ s, before LoadGen's 600 s minimum") as info:
        check_valid_targets(RunPlan((spec,)), ctx)
    assert "--target-qps" in (info.value.hint or "")


@pytest.mark.parametrize(
    ("probed", "changed", "invalid"),
    [(10.0, False, False), (13.0, True, True), (5.0, True, False)],  # target 10 samples/s
)
def test_offline_decision(probed: float, changed: bool, invalid: bool) -> None:
    # 1.1 x 600 s x 10 samples at `probed`/s: 660 s (kept), 508 s (INVALID), 1,320 s (too long)
    d = decide_offline(ResolvedTargets(target_qps=10.0, source="find-performance"), probed)
    assert (d.changed, d.invalid) == (changed, invalid)
    if changed:
        assert d.targets.target_qps == pytest.approx(probed * 1.1)


def test_latency_and_server_decisions() -> None:
    held = decide_latency(ResolvedTargets(target_latency_ms=4.0), 4.0)
    ran_out = decide_latency(ResolvedTargets(target_latency_ms=4.0), 2.0)  # < 4 / 2 x 1.25
    assert not held.changed and ran_out.invalid and ran_out.targets.target_latency_ms == pytest.approx(0.8)
    server = ResolvedTargets(target_qps=100.0)
    assert not decide_server(server, 100.0).changed  # the target itself held the bound
    lower = decide_server(server, 80.0)  # it held only at 80: x the find-performance margin
    assert lower.invalid and lower.targets.target_qps == pytest.approx(80.0 * SERVER_QPS_MARGIN)


def _invalid_log(scenario: Scenario, tmp_path: Path, **fields: float | int):
    opened = paced_workload.open(_valid(scenario))
    try:
        prober = Prober(
            opened, seeds=get_round("v6.1").seeds, work_dir=tmp_path, count=None, batch_size=None, probe_ms=0
        )
        return prober.probe(scenario, min_duration_ms=SCALED_MS, **fields)
    finally:
        opened.close()


def test_an_invalid_run_says_why_in_one_line_and_the_command_that_fixes_it(tmp_path: Path) -> None:
    offline = _invalid_log(Scenario.OFFLINE, tmp_path / "o", offline_expected_qps=100.0, min_query_count=1)
    why = explain_invalid(offline, _valid(Scenario.OFFLINE))
    assert why is not None and "\n" not in why.why
    assert (
        "ended after" in why.why
        and "before LoadGen's 0.5 s minimum" in why.why
        and "the target said 100" in why.why
    )
    assert (
        "--scenario Offline --mode performance --execution-mode valid" in why.fix
        and "--target-qps" in why.fix
    )
    assert "--mode find-performance" in why.fix
    ss = _invalid_log(
        Scenario.SINGLE_STREAM,
        tmp_path / "s",
        single_stream_expected_latency_ns=100_000_000,
        min_query_count=64,
    )
    said = explain_invalid(ss, replace(_valid(Scenario.SINGLE_STREAM), mode=Mode.COMPLIANCE))
    assert said is not None and said.why.startswith("TEST01: LoadGen ran out of its")
    assert "expected latency was 100 ms" in said.why and "--target-latency-ms" in said.fix
    # 2.5x over the paced system's capacity: 2,000 queries in 0.5 s take it ~1.3 s (20,000 QPS,
    # 12x over: 10,000 queries, ~7 s; the run's length adds nothing to what is checked)
    server = _invalid_log(Scenario.SERVER, tmp_path / "v", server_target_qps=4_000.0,
                          server_target_latency_ns=10_000_000, min_query_count=200)  # fmt: skip
    said = explain_invalid(server, _valid(Scenario.SERVER))
    assert said is not None and "p99 latency was" in said.why and "above the 10 ms bound" in said.why
    # over capacity: the fix is under what the system completed, not 4,000 x bound / p99 (~50)
    assert "the system fell behind (it completed" in said.why
    suggested = float(said.fix.split("--target-qps ")[1].split()[0])
    assert 0.5 * PACED_SERVER_CAPACITY < suggested <= PACED_SERVER_CAPACITY * SERVER_QPS_MARGIN
    # ~5,000 samples/s: 1.1 x 0.5 s x 8,000 samples last ~0.9 s, VALID: nothing to explain
    valid = _invalid_log(Scenario.OFFLINE, tmp_path / "ok", offline_expected_qps=8000.0, min_query_count=1)
    assert valid.valid and explain_invalid(valid, _valid(Scenario.OFFLINE)) is None
