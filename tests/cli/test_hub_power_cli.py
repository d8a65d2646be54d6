"""Power from a real run to the hub, through the CLI: ``crowdperf run`` (the real LoadGen; RAPL read
from a fake powercap tree drawing a known power, since this machine has none) -> ``submission
generate --division open`` (power.json travels) -> ``hub import`` -> the meter on every figure,
filters by meter and energy, and the warning when the run's software figure meets PTD's."""

from __future__ import annotations

import json
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
from typer.testing import CliRunner

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "unit" / "hub"))
from hub_lgrun import run_loadgen
from hub_trees import Entry, write_tree

from crowdperf.cli.main import app
from crowdperf.mlperf.workload import register_workload, unregister_workload
from fake_powercap import FakePowercap

runner = CliRunner()


def _ok(*args: str) -> str:
    out = runner.invoke(app, list(args), env={"COLUMNS": "250"})
    assert out.exit_code == 0, out.output
    return out.stdout


@pytest.fixture(scope="module")
def hub_db(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """A hub holding a crowd run measured by RAPL (40 W drawn) and an official result with PTD."""
    base = tmp_path_factory.mktemp("powerhub")
    fake = FakePowercap(base / "powercap")
    fake.zone("0", "package-0")
    fake.zone("0:2", "dram")
    register_workload("tiny", "crowdperf.mlperf.synthetic_workload:default_workload")
    patch = pytest.MonkeyPatch()
    patch.setenv("CROWDPERF_POWERCAP_DIR", str(fake.root))
    patch.setenv("CROWDPERF_CACHE_DIR", str(base / "cache"))
    try:
        with fake.drawing({"0": 32.0, "0:2": 8.0}):
            _ok("run", "--scenario", "Offline", "--count", "16", "--results-dir", str(base / "results"))
        _ok("submission", "generate", "--results-dir", str(base / "results"), "--submission-dir",
            str(base / "sub"), "--submitter", "Crowd", "--division", "open")  # fmt: skip
        db = str(base / "hub.sqlite")
        assert "1 imported" in _ok("hub", "import", str(base / "sub"), "--db", db)
        logs = run_loadgen(base / "lg", "Offline", sut_delay_s=0.3)
        official = write_tree(base / "inference_results_v6.1", [Entry("dgx", "Offline", logs, watts=412.5)],
                              layout="official", submitter="NVIDIA")  # fmt: skip
        assert "1 imported" in _ok("hub", "import", str(official), "--db", db)
        yield db
    finally:
        patch.undo()
        unregister_workload("tiny")


def _rows(db: str, *args: str) -> list[dict]:
    return json.loads(_ok("hub", "list", "--db", db, "--json", *args))["rows"]


def test_a_run_s_power_json_reaches_the_hub_with_its_meter(hub_db: str) -> None:
    (crowd,) = _rows(hub_db, "--meter", "rapl")
    assert (crowd["power_meter"], crowd["power_scope"], crowd["division"]) == ("rapl", "devices", "open")
    assert crowd["power_w"] == pytest.approx(40.0, rel=0.25)  # 2 shared cores: the feeder runs late
    assert crowd["energy_j_per_sample"] == pytest.approx(crowd["power_w"] / crowd["throughput"], rel=0.25)
    assert crowd["power_note"] == "devices: CPU package-0, CPU package-0/dram"
    assert crowd["energy_usd_per_million"] > 0 and "/kWh" in crowd["energy_price_source"]
    (ptd,) = _rows(hub_db, "--meter", "ptd")
    assert (ptd["power_meter"], ptd["power_scope"], ptd["power_w"]) == ("ptd", "system", pytest.approx(412.5))
    assert len(_rows(hub_db, "--max-watts", "100")) == 1
    assert len(_rows(hub_db, "--max-joules-per-sample", "1e-15")) == 0


def test_the_cli_warns_when_software_and_ptd_figures_meet(hub_db: str) -> None:
    listed = _ok("hub", "list", "--db", hub_db)
    assert "rapl" in listed and "ptd" in listed and "warning: software-meter and PTD power mixed" in listed
    assert "warning:" not in _ok("hub", "list", "--db", hub_db, "--meter", "rapl")
    ids = [str(r["id"]) for r in _rows(hub_db)]
    compared = _ok("hub", "compare", *ids, "--db", hub_db)
    assert "(rapl)" in compared and "(ptd)" in compared and "no delta is given" in compared
    best = json.loads(
        _ok("hub", "best", "--db", hub_db, "--objective", "energy", "--include-invalid", "--json")
    )
    # the crowd run and the official result have different comparison keys: never ranked together,
    # so no ranking mixes meters (and none warns)
    assert sorted((g["power_meters"], g["meter_note"]) for g in best["groups"]) == [
        (["ptd"], ""),
        (["rapl"], ""),
    ]
    front = json.loads(_ok("hub", "pareto", "--db", hub_db, "--axes", "throughput,power", "--json"))
    assert {p["power_meter"] for g in front["groups"] for p in g["points"]} == {"rapl", "ptd"}


def test_power_options_refuse_what_names_no_meter(hub_db: str) -> None:
    out = runner.invoke(app, ["hub", "list", "--db", hub_db, "--meter", "NVML"])
    assert out.exit_code == 2 and "not a meter's name" in out.output, out.output
    out = runner.invoke(app, ["hub", "best", "--db", hub_db, "--max-joules-per-sample", "inf"])
    assert out.exit_code == 2 and "max_joules_per_sample" in out.output, out.output
