"""Power through the harness: real LoadGen, synthetic workload, a fake RAPL tree drawing a known
power (this machine has no /sys/class/powercap), read over LoadGen's own window."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path

import pytest

from crowdperf.meters.readings import CLIP_TOLERANCE_S
from crowdperf.meters.record import POWER_JSON, POWER_SAMPLES, read_power_summary
from crowdperf.mlperf.layout import DETAIL
from crowdperf.mlperf.logs import parse_detail_log
from crowdperf.mlperf.power import POWER_TIME_FORMAT
from crowdperf.mlperf.rounds import Scenario
from crowdperf.mlperf.runs import HarnessContext, execute_run
from crowdperf.mlperf.spec import Mode, RunSpec, Targets
from fake_powercap import FakePowercap


def _spec(model: str, scenario: Scenario, mode: Mode, tmp_path: Path) -> RunSpec:
    targets = Targets(target_qps=5000.0) if scenario is Scenario.SERVER else Targets()
    return RunSpec(model, scenario, mode, count=32, results_dir=tmp_path / "results", targets=targets)


@pytest.fixture
def package_drawing_30w(tmp_path: Path, monkeypatch: pytest.MonkeyPatch):
    """CROWDPERF_POWERCAP_DIR -> a package at 24 W and its DRAM at 6 W, counters wrapping every 0.5 s."""
    fake = FakePowercap(tmp_path / "powercap")
    fake.zone("0", "package-0", range_uj=12_000_000)
    fake.zone("0:2", "dram", range_uj=3_000_000)
    monkeypatch.setenv("CROWDPERF_POWERCAP_DIR", str(fake.root))
    with fake.drawing({"0": 24.0, "0:2": 6.0}):
        yield


@pytest.mark.parametrize(
    ("scenario", "mode"),
    [
        (Scenario.OFFLINE, Mode.PERFORMANCE),
        (Scenario.SERVER, Mode.PERFORMANCE),
        (Scenario.OFFLINE, Mode.COMPLIANCE),
    ],
)
def test_performance_and_test01_runs_record_energy_per_loadgen_sample(
    scenario: Scenario,
    mode: Mode,
    synthetic_tiny: str,
    ctx: HarnessContext,
    tmp_path: Path,
    package_drawing_30w: None,
) -> None:
    r = execute_run(_spec(synthetic_tiny, scenario, mode, tmp_path), ctx)
    data = json.loads((r.run_dir / POWER_JSON).read_text())
    log = parse_detail_log(r.run_dir / DETAIL)
    # the window is LoadGen's: first query issued .. last completion, as MLPerf's power checker reads it
    begin = datetime.strptime(log["power_begin"], POWER_TIME_FORMAT).replace(tzinfo=UTC).timestamp()
    assert data["window"]["source"] == "loadgen power_begin/power_end"
    assert data["window"]["begin"] == pytest.approx(begin)
    assert data["loadgen_samples"] == log["result_query_count"] * log["generated_samples_per_query"]
    summary = data["summary"]
    assert summary["meter"] == "rapl" and summary["unavailable"] is None
    assert summary["mean_w"] == pytest.approx(30.0, rel=0.25)  # 2 cores shared: the feeder runs late
    (rapl,) = data["meters"]
    # the reading covers LoadGen's window clipped to the sampled span: on a busy machine the
    # sampler's last tick may come a few ms before the window's end (readings.CLIP_TOLERANCE_S)
    assert rapl["seconds"] == pytest.approx(data["window"]["seconds"], abs=CLIP_TOLERANCE_S)
    assert summary["joules"] == pytest.approx(summary["mean_w"] * rapl["seconds"])
    assert summary["joules_per_sample"] == pytest.approx(summary["joules"] / data["loadgen_samples"])
    assert [c["label"] for c in rapl["channels"]] == ["package-0", "package-0/dram"]
    assert rapl["role"] == "devices" and rapl["sample_hz"] == 20.0
    assert (r.run_dir / POWER_SAMPLES).read_text().startswith("utc_s,rapl:package-0:W,rapl:package-0:J,")
    assert r.power == read_power_summary(r.run_dir)


def test_accuracy_runs_are_not_metered(
    synthetic_tiny: str, ctx: HarnessContext, tmp_path: Path, package_drawing_30w: None
) -> None:
    r = execute_run(_spec(synthetic_tiny, Scenario.OFFLINE, Mode.ACCURACY, tmp_path), ctx)
    assert r.power is None and not (r.run_dir / POWER_JSON).exists()


def test_without_a_readable_meter_the_run_records_why(
    synthetic_tiny: str, ctx: HarnessContext, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("CROWDPERF_POWERCAP_DIR", str(tmp_path / "no-powercap"))
    r = execute_run(_spec(synthetic_tiny, Scenario.SINGLE_STREAM, Mode.PERFORMANCE, tmp_path), ctx)
    assert r.valid is True and r.power is not None
    assert r.power.meter is None and r.power.joules is None and r.power.mean_w is None
    why = "a kernel without powercap, or a VM or container that hides it"
    assert r.power.unavailable == f"rapl: no {tmp_path / 'no-powercap'} ({why})"
    data = json.loads((r.run_dir / POWER_JSON).read_text())
    assert data["summary"]["unavailable"] == r.power.unavailable and data["samples_file"] is None
    assert not (r.run_dir / POWER_SAMPLES).exists()
