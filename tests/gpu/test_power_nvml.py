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


# Test-mode runs last LoadGen's min_duration (0.1 s): too short for NVML's 0.1 s power steps
# (meters/readings.py refuses windows under ~2 s). Offline's length follows its target QPS
# (user_conf.offline_test_samples: 2 x target samples), so an explicit target far above the tiny
# model's rate gives a window of seconds; Server and SingleStream are scheduled over min_duration
# whatever the target, so there the run must refuse the figure and say why.
LONG_OFFLINE = ["--target-qps", "400000"]


@pytest.mark.parametrize("scenario", ["Offline", "SingleStream", "Server"])
def test_cuda_run_records_nvml_energy_for_every_gpu_it_used(scenario: str, tmp_path: Path) -> None:
    out = subprocess.run(
        [sys.executable, "-m", "crowdperf", "run", "--backend", "pytorch", "--device", "cuda",
         "--precision", "fp16", "--category", "datacenter", "--scenario", scenario,
         "--mode", "performance", "--results-dir", str(tmp_path), "--json",
         *(LONG_OFFLINE if scenario == "Offline" else [])],
        capture_output=True, text=True, check=True,
    )  # fmt: skip
    (result,) = json.loads(out.stdout)["results"]
    power = result["power"]
    if scenario != "Offline" and power.get("unavailable"):
        assert "too short for nvml" in power["unavailable"], power  # said, never a number
        return
    assert not power.get("unavailable"), power
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
