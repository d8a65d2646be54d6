"""NVML power on a real GPU run (device tool, nvidia-h200 or -x2): ``crowdperf run --device cuda``
records board energy for every GPU the run used, over LoadGen's window, per LoadGen sample."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

torch = pytest.importorskip("torch")
pytestmark = [pytest.mark.gpu, pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA GPU")]


@pytest.mark.parametrize("scenario", ["Offline", "SingleStream", "Server"])
def test_cuda_run_records_nvml_energy_for_every_gpu_it_used(scenario: str, tmp_path: Path) -> None:
    out = subprocess.run(
        [sys.executable, "-m", "crowdperf", "run", "--backend", "pytorch", "--device", "cuda",
         "--precision", "fp16", "--category", "datacenter", "--scenario", scenario,
         "--mode", "performance", "--results-dir", str(tmp_path), "--json"],
        capture_output=True, text=True, check=True,
    )  # fmt: skip
    (result,) = json.loads(out.stdout)["results"]
    power = result["power"]
    if power.get("unavailable"):
        # a test-mode SingleStream run of the tiny model lasts ~0.1 s: shorter than NVML's 0.1 s
        # steps allow (meters/readings.py); it must say so, never give a number
        assert scenario == "SingleStream" and "too short for nvml" in power["unavailable"], power
        return
    assert power["meter"] == "nvml", power  # the host's RAPL, if readable, is recorded beside it
    assert power["joules"] > 0 and power["joules_per_sample"] > 0
    assert 10 < power["mean_w"] < 1500 * torch.cuda.device_count()  # board power, not a unit slip
    record = json.loads((Path(result["run_dir"]) / "power.json").read_text())
    provenance = json.loads((Path(result["run_dir"]) / "provenance.json").read_text())
    used = [d["uuid"] for d in provenance["devices"]]
    nvml = next(m for m in record["meters"] if m["meter"] == "nvml")
    assert len(nvml["channels"]) == len(used) == torch.cuda.device_count()
    for channel, uuid in zip(nvml["channels"], used, strict=True):
        assert uuid in channel["device"] and channel["joules"] > 0, channel
    assert record["window"]["source"] == "loadgen power_begin/power_end"
    print(f"{scenario}: {json.dumps(power)}; channels {[c['energy_source'] for c in nvml['channels']]}")
