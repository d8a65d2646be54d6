"""Automation recipes on a real NVIDIA GPU (run through the device tool), and the device query build."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from crowdperf.automation.recipes import device_query
from crowdperf.automation.registry import load_registry
from crowdperf.automation.resolve import GetRequest, get_artifact
from crowdperf.errors import DeviceError
from crowdperf.settings import load_settings


@pytest.mark.slow
@pytest.mark.skipif(shutil.which("nvcc") is None, reason="no nvcc")
def test_device_query_builds_and_runs(tmp_path: Path) -> None:
    binary = device_query.build(Path(shutil.which("nvcc") or ""), tmp_path)
    assert binary.exists() and device_query.build(Path(shutil.which("nvcc") or ""), tmp_path) == binary
    try:
        query = device_query.run_query(binary)
    except DeviceError as exc:  # a machine without a GPU: the program itself says so
        assert "no usable GPU" in exc.message
    else:
        assert query.devices and query.runtime_version


@pytest.mark.gpu
def test_cuda_devices_nvml_and_device_query_agree() -> None:
    result = get_artifact(load_registry(), GetRequest(name="cuda-devices"), load_settings())
    meta = result.artifact.metadata
    assert meta["devices"] and meta["driver"]
    if shutil.which("nvcc"):
        assert meta["device_query"] == "ran" and meta["all_agree"], meta.get("agreement")
