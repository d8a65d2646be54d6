"""What ``explore status`` says about power: each point's figures with their meter, the energy
cost from the price table, a warning when the points' figures come from different meters (as the
hub warns), and a journal written before points recorded meters still reads."""

from __future__ import annotations

import json
from pathlib import Path

from crowdperf.explore.journal import Entry, Measured, PointMeasured, read_journal
from crowdperf.explore.session import status_of
from crowdperf.explore.space import build_space
from crowdperf.explore.state import replay
from crowdperf.hub.prices import load_price_table
from crowdperf.mlperf.rounds import Scenario


def _space():  # type: ignore[no-untyped-def]
    given = {"backend": ["pytorch"], "precision": ["fp32"], "devices": ["cpu", "cuda"], "threads": ["1"]}
    return build_space("tiny", Scenario.OFFLINE, given)


def test_points_of_different_meters_are_flagged_and_priced() -> None:
    space = _space()
    cpu, gpu = space.points()
    rapl = Measured("screen", 100.0, "samples/s", power_w=1.0, joules_per_sample=0.01, power_meter="rapl")
    nvml = Measured(
        "screen", 3000.0, "samples/s", power_w=300.0, joules_per_sample=0.1, power_meter="nvml",
        accelerator="NVIDIA H200", accelerator_count=1,
    )  # fmt: skip
    entries = [Entry(1.0, PointMeasured(cpu.key, rapl)), Entry(2.0, PointMeasured(gpu.key, nvml))]
    state = replay(entries, tuple(p.key for p in space.points()))
    report = status_of(state, space, load_price_table(), directory=Path("x"), writer_alive=False)
    rows = {r.key: r for r in report.points}
    assert rows[cpu.key].power_meter == "rapl" and rows[gpu.key].power_meter == "nvml"
    assert rows[cpu.key].usd_per_million is None and rows[gpu.key].usd_per_million  # a GPU has a price
    assert rows[cpu.key].energy_usd_per_million and rows[gpu.key].energy_usd_per_million
    assert "2 meters" in report.meter_note and "not comparable" in report.meter_note
    # rapl's 0.01 J/sample does not keep the slower CPU point on the front against nvml's 0.1
    assert [r.key for r in report.points if r.on_front] == [gpu.key]


def test_a_journal_from_before_meters_reads_with_no_meter(tmp_path: Path) -> None:
    record = {
        "v": 1, "t": 1.0, "event": "measured", "point": "a", "run_dir": "",
        "measured": {"rung": "screen", "performance": 1.0, "unit": "samples/s", "joules_per_sample": 0.5},
    }  # fmt: skip
    path = tmp_path / "journal.jsonl"
    path.write_text(json.dumps(record) + "\n")
    (entry,) = read_journal(path)
    assert isinstance(entry.record, PointMeasured) and entry.record.measured.power_meter is None


def test_the_table_names_each_figures_meter_and_leaves_out_empty_columns() -> None:
    from rich.console import Console
    from rich.table import Table

    from crowdperf.cli.explore_view import live_view, status_rows

    space = _space()
    cpu, _gpu = space.points()
    rapl = Measured("screen", 100.0, "samples/s", power_w=1.0, joules_per_sample=0.01, power_meter="rapl")
    entries = [Entry(1.0, PointMeasured(cpu.key, rapl))]
    state = replay(entries, tuple(p.key for p in space.points()))
    report = status_of(state, space, load_price_table(), directory=Path("x"), writer_alive=False)
    rows = status_rows(report)
    assert "$/1M" not in rows.headers and "accuracy" not in rows.headers  # no point has one
    assert rows.rows[0][rows.headers.index("J/sample")] == "0.01 (rapl)"
    wide = live_view(Console(width=200), report, budget_s=60.0)
    assert any(isinstance(part, Table) for part in wide.renderables)
    narrow = live_view(Console(width=30), report, budget_s=60.0)  # the counts alone, never wrapped cells
    assert not any(isinstance(part, Table) for part in narrow.renderables)
