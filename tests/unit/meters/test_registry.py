"""Meters are plugins (entry-point group crowdperf.meters), and a registration reaches the child
process that runs the LoadGen test, as a workload's does."""

from __future__ import annotations

import json
import os
from collections.abc import Iterator
from pathlib import Path

import pytest

from crowdperf import plugins
from crowdperf.errors import BackendError
from crowdperf.meters.nvml_meter import NvmlMeter
from crowdperf.meters.rapl import RaplMeter
from crowdperf.meters.registry import load_meter, meter_names, meter_refs
from crowdperf.mlperf.rounds import Scenario
from crowdperf.mlperf.runs import HarnessContext, execute_run
from crowdperf.mlperf.spec import Mode, RunSpec
from crowdperf.mlperf.workload import register_workload, unregister_workload
from crowdperf.settings import load_settings

TESTS = Path(__file__).resolve().parents[2]


def test_builtin_meters_are_installed_entry_points() -> None:
    assert meter_names() == ("nvml", "rapl")
    assert meter_refs() == ("crowdperf.meters.nvml_meter:NvmlMeter", "crowdperf.meters.rapl:RaplMeter")
    assert isinstance(load_meter(meter_refs()[0]), NvmlMeter) and isinstance(
        load_meter(meter_refs()[1]), RaplMeter
    )


def test_an_entry_that_is_no_meter_is_a_load_error() -> None:
    with pytest.raises(BackendError, match="is not a Meter"):
        load_meter("steady_meter:not_a_meter")
    with pytest.raises(BackendError, match="not available"):
        load_meter("no_such_module:Meter")


@pytest.fixture
def steady_registered(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    monkeypatch.setenv("PYTHONPATH", os.pathsep.join([str(TESTS), os.environ.get("PYTHONPATH", "")]))
    plugins.register(plugins.METERS, "steady", "steady_meter:SteadyMeter")
    register_workload("tiny", "synthetic_workloads:default_workload")
    yield
    plugins.unregister(plugins.METERS, "steady")
    unregister_workload("tiny")


def test_a_registered_meter_is_sampled_in_the_loadgen_child(steady_registered: None, tmp_path: Path) -> None:
    ctx = HarnessContext(load_settings(), host="testhost-2c", argv=["crowdperf", "run"])
    spec = RunSpec("tiny", Scenario.OFFLINE, Mode.PERFORMANCE, count=32, results_dir=tmp_path)
    r = execute_run(spec, ctx)
    meters = {m["meter"]: m for m in json.loads((r.run_dir / "power.json").read_text())["meters"]}
    assert set(meters) == {"rapl", "steady"}  # nvml does not apply to a CPU run
    assert meters["steady"]["role"] == "host" and meters["steady"]["mean_w"] == pytest.approx(12.5, rel=1e-3)
