"""Build MLPerf submission trees for hub tests around real LoadGen logs (see hub_lgrun.py).

Three layouts: ours v5.x (separate measurements/ and compliance/ trees), ours v6.x (measurements.json,
user.conf, README.md and TEST01/ inside the result directory) and the official MLCommons results
repositories (``inference_results_vX.Y``: closed|open|network/<submitter>/..., power logs where present).
"""

from __future__ import annotations

import json
import shutil
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path

POWER_TIME = "%m-%d-%Y %H:%M:%S.%f"


@dataclass(frozen=True)
class Entry:
    """One result to place in a tree."""

    system: str
    scenario: str
    logs: Path  # a directory holding real mlperf_log_detail.txt + mlperf_log_summary.txt
    model: str = "bert-99"
    f1: float | None = 90.2
    accelerator: str = "NVIDIA L4"
    accelerators: int = 1
    framework: str = "onnxruntime 1.18.0"
    precision: str = "fp32"
    watts: float | None = None  # write spl.txt with this power inside the log's power window
    power_json: str | None = None  # write this text as performance/run_1/power.json
    provenance: str | None = None  # write this text as performance/run_1/provenance.json


def system_json(e: Entry, division: str, submitter: str) -> dict[str, object]:
    return {
        "division": division,
        "submitter": submitter,
        "status": "available",
        "system_name": e.system,
        "system_type": "edge",
        "number_of_nodes": "1",
        "host_processor_model_name": "AMD EPYC 7R13",
        "host_processors_per_node": "2",
        "host_processor_core_count": "48",
        "host_memory_capacity": "256 GB",
        "host_storage_capacity": "1 TB",
        "host_storage_type": "NVMe",
        "accelerators_per_node": str(e.accelerators),
        "accelerator_model_name": e.accelerator or "N/A",
        "accelerator_memory_capacity": "24 GB",
        "framework": e.framework,
        "operating_system": "Debian 12",
    }


def _spl(detail: Path, watts: float) -> str:
    values = {}
    for line in detail.read_text().splitlines():
        if '"power_begin"' in line or '"power_end"' in line:
            rec = json.loads(line.split(":::MLLOG", 1)[1])
            values[rec["key"]] = datetime.strptime(rec["value"], POWER_TIME)
    begin, end = values["power_begin"], values["power_end"]
    lines, t = [], begin - timedelta(milliseconds=50)
    while t < end + timedelta(milliseconds=50):
        inside = begin < t < end
        lines.append(
            f"Time,{t.strftime(POWER_TIME)[:-3]},Watts,{watts if inside else 9999.0},Volts,230.0,Amps,1.0"
        )
        t += timedelta(milliseconds=20)
    return "\n".join(lines) + "\n"


def write_tree(
    root: Path,
    entries: list[Entry],
    *,
    layout: str = "v5",
    division: str = "closed",
    submitter: str = "crowdperf-org",
) -> Path:
    """Write ``entries`` as a submission tree under ``root``; returns ``root``."""
    org = root / division / submitter
    for e in entries:
        (org / "systems").mkdir(parents=True, exist_ok=True)
        (org / "systems" / f"{e.system}.json").write_text(
            json.dumps(system_json(e, division, submitter), indent=2)
        )
        res = org / "results" / e.system / e.model / e.scenario
        perf = res / "performance" / "run_1"
        perf.mkdir(parents=True, exist_ok=True)
        for name in ("mlperf_log_detail.txt", "mlperf_log_summary.txt"):
            shutil.copy(e.logs / name, perf / name)
        if e.watts is not None:
            (perf / "spl.txt").write_text(_spl(e.logs / "mlperf_log_detail.txt", e.watts))
        if e.power_json is not None:
            (perf / "power.json").write_text(e.power_json)
        if e.provenance is not None:
            (perf / "provenance.json").write_text(e.provenance)
        if e.f1 is not None:
            (res / "accuracy").mkdir(exist_ok=True)
            (res / "accuracy" / "accuracy.txt").write_text(
                f'{{"exact_match": 83.1, "f1": {e.f1}}}\nhash=00\n'
            )
        measurement = {
            "input_data_types": "int64",
            "retraining": "no",
            "starting_weights_filename": "model.onnx",
            "weight_data_types": e.precision,
            "weight_transformations": "none",
        }
        command = f"crowdperf run --model {e.model} --backend onnxruntime --scenario {e.scenario}"
        readme = f"# {e.system}\n\n## Reproduce\n\n```bash\npip install crowdperf==0.1.0\n{command}\n```\n"
        if layout == "v6":
            (res / "measurements.json").write_text(json.dumps(measurement))
            (res / "README.md").write_text(readme)
            (res / "user.conf").write_text("")
            (res / "TEST01").mkdir(exist_ok=True)
        else:
            meas = org / "measurements" / e.system / e.model / e.scenario
            meas.mkdir(parents=True, exist_ok=True)
            (meas / f"{e.system}_crowdperf_{e.scenario}.json").write_text(json.dumps(measurement))
            if layout == "v5":
                (meas / "README.md").write_text(readme)
            (org / "compliance" / e.system / e.model / e.scenario / "TEST01").mkdir(
                parents=True, exist_ok=True
            )
    return root


def logged_throughput(logs: Path) -> float:
    """The Offline samples/s of a log directory (what the hub stores as throughput)."""
    for line in (logs / "mlperf_log_detail.txt").read_text().splitlines():
        if '"result_samples_per_second"' in line:
            return float(json.loads(line.split(":::MLLOG", 1)[1])["value"])
    raise ValueError(f"no result_samples_per_second in {logs}")


def power_json(
    logs: Path, watts: float = 650.0, *, meter: str = "nvml", role: str = "devices", **summary: object
) -> str:
    """A crowdperf.power/1 record written by crowdperf's own writer (meters/record.py), its joules
    per sample consistent with the log's throughput; ``summary`` overrides fields of the headline."""
    from crowdperf.meters.base import MeterRole
    from crowdperf.meters.readings import MeterReading, PowerSummary
    from crowdperf.meters.record import PowerRecord

    per_sample = watts / logged_throughput(logs)
    devices = ("cuda:0 NVIDIA H200 (GPU-5c1e)",) if meter == "nvml" else ("cpu AMD EPYC 7R13",)
    reading = MeterReading(meter, MeterRole(role), devices, 40, 20.0, 2.0, watts * 2, watts, watts * 0.9,
                           watts * 1.1, per_sample)  # fmt: skip
    headline = PowerSummary(meter, watts, watts * 0.9, watts * 1.1, watts * 2, per_sample)
    data = PowerRecord(headline, (reading,), None, int(2 * watts / per_sample), None).to_json()
    data["summary"].update(summary)
    return json.dumps(data)
