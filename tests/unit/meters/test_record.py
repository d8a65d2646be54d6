"""power.json and power_samples.csv: what is written, and what a reader accepts."""

from __future__ import annotations

import csv
import json
from pathlib import Path

import numpy as np
import pytest

from crowdperf.errors import ResultsError
from crowdperf.meters.base import Channel, MeterRole
from crowdperf.meters.readings import PowerSummary, Window, summarise
from crowdperf.meters.record import (
    POWER_JSON,
    POWER_SAMPLES,
    POWER_SCHEMA,
    PowerRecord,
    read_power_summary,
    write_samples,
)
from crowdperf.meters.sampler import MeterTrace

T0 = 1_796_000_000.0


def _gpu_trace() -> MeterTrace:
    return MeterTrace(
        "nvml",
        MeterRole.DEVICES,
        ("cuda:0 NVIDIA H200 (GPU-1)",),
        (Channel("cuda:0", "cuda:0 NVIDIA H200 (GPU-1)"),),
        T0 + np.array([0.0, 0.05, 0.1]),
        np.array([[650.0], [660.0], [640.0]]),
        np.array([[0.0], [33.0], [65.0]]),
    )


def _record(tmp_path: Path) -> PowerRecord:
    traces = [_gpu_trace(), MeterTrace("rapl", MeterRole.HOST, ("cpu Xeon",), unavailable="no powercap")]
    window = Window(T0, T0 + 0.1, "loadgen power_begin/power_end")
    readings, summary = summarise(traces, window, 650)
    return PowerRecord(summary, readings, window, 650, write_samples(tmp_path, traces))


def test_power_json_names_meters_devices_window_and_per_sample_energy(tmp_path: Path) -> None:
    _record(tmp_path).write(tmp_path)
    data = json.loads((tmp_path / POWER_JSON).read_text())
    assert next(iter(data)) == "schema" and data["schema"] == POWER_SCHEMA
    assert "not MLPerf power" in data["note"] and "spl.txt" in data["note"]
    assert data["summary"]["meter"] == "nvml" and data["summary"]["joules"] == pytest.approx(65.0)
    assert data["summary"]["joules_per_sample"] == pytest.approx(0.1)
    assert data["window"]["seconds"] == pytest.approx(0.1) and data["window"]["begin_utc"].endswith("+00:00")
    gpu, host = data["meters"]
    assert gpu["devices"] == ["cuda:0 NVIDIA H200 (GPU-1)"] and gpu["samples"] == 3
    assert (gpu["min_w"], gpu["max_w"]) == (640.0, 660.0)
    assert host == {**host, "meter": "rapl", "role": "host", "unavailable": "no powercap", "joules": None}
    assert data["loadgen_samples"] == 650 and data["samples_file"] == POWER_SAMPLES
    assert read_power_summary(tmp_path) == PowerSummary("nvml", *_figures(data["summary"]))


def _figures(s: dict) -> tuple:
    return s["mean_w"], s["min_w"], s["max_w"], s["joules"], s["joules_per_sample"]


def test_samples_file_has_one_row_per_tick_with_watts_and_joules(tmp_path: Path) -> None:
    write_samples(tmp_path, [_gpu_trace()])
    rows = list(csv.reader((tmp_path / POWER_SAMPLES).open()))
    assert rows[0] == ["utc_s", "nvml:cuda:0:W", "nvml:cuda:0:J"]
    assert rows[2] == [f"{T0 + 0.05:.6f}", "660", "33"] and len(rows) == 4


def test_nothing_sampled_writes_no_samples_file(tmp_path: Path) -> None:
    assert write_samples(tmp_path, [MeterTrace("rapl", MeterRole.DEVICES, (), unavailable="x")]) is None
    assert not (tmp_path / POWER_SAMPLES).exists()


def test_a_run_without_power_json_has_no_power(tmp_path: Path) -> None:
    assert read_power_summary(tmp_path) is None


GOOD = {
    "meter": "nvml",
    "mean_w": 650.0,
    "min_w": 640.0,
    "max_w": 660.0,
    "joules": 65.0,
    "joules_per_sample": 0.1,
}


@pytest.mark.parametrize(
    "summary",
    [
        {**GOOD, "mean_w": float("nan")},
        {**GOOD, "joules": float("inf")},
        {**GOOD, "joules_per_sample": -0.1},
        {**GOOD, "mean_w": True},
        {**GOOD, "max_w": "660"},
        {**GOOD, "mean_w": None},  # a meter named without its figure
        {**GOOD, "meter": None},  # figures without a meter
        {**GOOD, "unavailable": "also a reason"},  # both
        {"meter": None, "unavailable": None},  # neither
        {**GOOD, "meter": 3},
        "nvml",
    ],
)
def test_reader_rejects_the_numbers_family_and_missing_attribution(tmp_path: Path, summary: object) -> None:
    text = json.dumps({"schema": POWER_SCHEMA, "summary": summary})
    (tmp_path / POWER_JSON).write_text(text)
    with pytest.raises(ResultsError, match="power summary"):
        read_power_summary(tmp_path)


@pytest.mark.parametrize("text", ["{not json", json.dumps({"schema": "crowdperf.power/0"}), "[]"])
def test_reader_rejects_what_is_not_ours(tmp_path: Path, text: str) -> None:
    (tmp_path / POWER_JSON).write_text(text)
    with pytest.raises(ResultsError):
        read_power_summary(tmp_path)


def test_unavailable_summary_round_trips(tmp_path: Path) -> None:
    summary = PowerSummary(None, unavailable="rapl: no /sys/class/powercap")
    PowerRecord(summary, (), None, 100, None).write(tmp_path)
    assert read_power_summary(tmp_path) == summary
