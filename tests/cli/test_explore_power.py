"""Power in ``crowdperf explore``: every point records power where a meter is readable, with its
meter, and cost from the price table (issue 12, item 7). A fake RAPL tree drawing a known power
(this machine has no /sys/class/powercap) stands in for the CPU packages; the toy classifier runs
through the real onnxruntime backend, LoadGen and the hub's importer. ``explore report`` passes
the hub's power-aware constraints (--meter, --max-watts, --max-joules-per-sample, the energy
objective) through to ``hub best``."""

from __future__ import annotations

import json
import os
from collections.abc import Iterator
from pathlib import Path

import pytest
from typer.testing import CliRunner

from crowdperf.cli.main import app
from crowdperf.explore.journal import PointMeasured, read_journal
from crowdperf.hub.prices import energy_cost_per_million, load_price_table
from crowdperf.hub.queries import list_results
from crowdperf.hub.query_types import ResultFilter
from crowdperf.hub.store import open_store
from fake_powercap import FakePowercap

PLUGINS = Path(__file__).resolve().parents[1] / "plugins"
runner = CliRunner()
PACKAGE_W = 30.0


@pytest.fixture(scope="module")
def explored(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Path, Path]]:
    """One exploration of the toy workload (2 points) on a package drawing 30 W, shared by the
    tests of this module (they only read it)."""
    tmp_path = tmp_path_factory.mktemp("explore-power")
    with pytest.MonkeyPatch.context() as mp:
        mp.syspath_prepend(str(PLUGINS))
        mp.setenv("PYTHONPATH", os.pathsep.join(p for p in (str(PLUGINS), os.environ.get("PYTHONPATH")) if p))
        mp.setenv("CROWDPERF_CACHE", str(tmp_path / "cache"))
        fake = FakePowercap(tmp_path / "powercap")
        fake.zone("0", "package-0", range_uj=60_000_000)
        mp.setenv("CROWDPERF_POWERCAP_DIR", str(fake.root))
        d, db = tmp_path / "exp", tmp_path / "hub.sqlite"
        args = ["explore", "--model", "toyclass", "--backends", "onnxruntime", "--precisions", "fp32"]
        args += ["--threads", "1", "--batch-sizes", "1,8", "--budget", "3m", "--screen-count", "32"]
        args += ["--noise", "9.9", "--dir", str(d), "--db", str(db), "--json"]  # every point promoted
        with fake.drawing({"0": PACKAGE_W}):
            out = runner.invoke(app, args)
        assert out.exit_code == 0, out.output
        yield d, db


def test_every_point_records_its_power_with_the_meter_and_the_hub_keeps_the_meter(
    explored: tuple[Path, Path],
) -> None:
    d, db = explored
    measured = [e.record for e in read_journal(d / "journal.jsonl") if isinstance(e.record, PointMeasured)]
    assert {m.measured.rung for m in measured} == {"screen", "final"}
    for m in measured:  # screening's last probe and the final performance run, each metered
        assert m.measured.power_meter == "rapl", m
        assert m.measured.power_w == pytest.approx(PACKAGE_W, rel=0.35)  # 2 shared cores: the feeder lags
        assert m.measured.joules_per_sample and m.measured.joules_per_sample > 0

    status = json.loads(runner.invoke(app, ["explore", "status", str(d), "--json"]).stdout)
    energy_price = load_price_table().energy
    assert energy_price is not None
    for row in status["points"]:
        assert row["power_meter"] == "rapl"
        # a CPU has no instance price; its metered energy does have one
        assert row["usd_per_million"] is None
        assert row["energy_usd_per_million"] == pytest.approx(
            energy_cost_per_million(row["joules_per_sample"], energy_price.usd_per_kwh)
        )
    assert status["meter_note"] == ""  # one meter: nothing to warn about

    source = status["source"]
    rows = list_results(open_store(db), ResultFilter(source=source, include_hidden=True), limit=None).rows
    assert len(rows) == 2 and all(r.power_meter == "rapl" and r.power_scope == "devices" for r in rows)
    assert all(r.energy_j_per_sample and r.energy_usd_per_million for r in rows)

    table = runner.invoke(app, ["explore", "status", str(d)], env={"COLUMNS": "200"})
    assert "(rapl)" in table.stdout  # J/sample with its meter


def test_report_passes_the_hubs_power_constraints_through(explored: tuple[Path, Path]) -> None:
    d, db = explored
    base = ["explore", "report", str(d), "--db", str(db), "--json"]

    energy = json.loads(runner.invoke(app, [*base, "--objective", "energy", "--meter", "rapl"]).stdout)
    assert energy["hub"]["front"]["axes"] == ["throughput", "accuracy", "energy"]  # one meter: energy
    (group,) = energy["hub"]["best"]["groups"]
    assert "has the lowest energy" in group["explanation"][0] and "(rapl)" in group["explanation"][0]
    assert energy["hub"]["best"]["constraints"]["meter"] == "rapl"

    other_meter = json.loads(runner.invoke(app, [*base, "--meter", "nvml"]).stdout)
    assert not other_meter["hub"]["results"]  # no point of this exploration was measured by nvml
    assert all(not g["ranking"] for g in other_meter["hub"]["best"]["groups"])

    too_little = runner.invoke(app, [*base, "--max-joules-per-sample", "1e-12"])
    (group,) = json.loads(too_little.stdout)["hub"]["best"]["groups"]
    assert not group["ranking"]  # nothing meets it: no winner, and the explanation says what removed them

    watts = runner.invoke(app, ["explore", "report", str(d), "--db", str(db), "--max-watts", "1000"])
    assert watts.exit_code == 0 and "W (rapl)" in " ".join(watts.stdout.split())

    for bad in (["--meter", "Not A Meter"], ["--objective", "speed"], ["--max-joules-per-sample", "-1"]):
        refused = runner.invoke(app, ["explore", "report", str(d), "--db", str(db), *bad])
        assert refused.exit_code == 2, (bad, refused.output)
