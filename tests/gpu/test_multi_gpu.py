"""Every GPU of the host in one run (device tool, nvidia-h200-x2): ``--device cuda`` loads one
backend per GPU, feeds each from its own worker, answers exactly what one GPU answers, and files
the run with the devices it used."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

torch = pytest.importorskip("torch")
pytestmark = [
    pytest.mark.gpu,
    pytest.mark.skipif(torch.cuda.device_count() < 2, reason="needs 2 CUDA GPUs"),
]


def _run(tmp_path: Path, device: str, mode: str) -> dict:
    out = subprocess.run(
        [sys.executable, "-m", "crowdperf", "run", "--backend", "pytorch", "--device", device,
         "--precision", "fp16", "--scenario", "Offline", "--mode", mode, "--batch-size", "16",
         "--results-dir", str(tmp_path / device.replace(":", "_")), "--json"],
        capture_output=True, text=True, check=True,
    )  # fmt: skip
    return json.loads(out.stdout)["results"][-1]


def test_two_gpus_answer_what_one_gpu_answers_and_are_both_recorded(tmp_path: Path) -> None:
    one, two = _run(tmp_path, "cuda:0", "accuracy"), _run(tmp_path, "cuda", "accuracy")
    assert two["accuracy"]["scores"]["f1"] == pytest.approx(one["accuracy"]["scores"]["f1"], abs=0.5)
    assert two["accuracy"]["n_samples"] == one["accuracy"]["n_samples"]
    prov = json.loads((Path(two["run_dir"]) / "provenance.json").read_text())
    assert prov["backend"]["device_count"] == str(torch.cuda.device_count())
    perf = _run(tmp_path, "cuda", "performance")
    assert perf["valid"] is True, perf["invalid_reason"]
