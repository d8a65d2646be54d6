"""The NVML meter's paths that run without a GPU: when it applies, why it cannot read, and the
units of what it reads (a stand-in for the NVML library answers like a GPU with or without an
energy counter)."""

from __future__ import annotations

import pytest

from crowdperf.errors import DeviceError
from crowdperf.meters.base import MeterRole, Unavailable
from crowdperf.meters.nvml_meter import NvmlMeter
from crowdperf.meters.registry import open_meters
from crowdperf.system import nvml
from crowdperf.system.devices import DeviceKind, UsedDevice

CPU = UsedDevice(DeviceKind.CPU, None, "AMD EPYC 9654")
H200 = UsedDevice(DeviceKind.CUDA, 0, "NVIDIA H200", "GPU-7f3c1a52-0000-4000-8000-000000000000")
needs_no_driver = pytest.mark.skipif(bool(nvml.host_gpus()), reason="a GPU is here: the meter opens")


def test_applies_to_gpu_runs_only() -> None:
    meter = NvmlMeter()
    assert meter.role_for((CPU,)) is None
    assert meter.role_for((H200,)) is MeterRole.DEVICES


@needs_no_driver
def test_without_a_driver_the_meter_is_unavailable_with_nvml_s_reason() -> None:
    got = NvmlMeter().open((H200,), MeterRole.DEVICES)
    assert isinstance(got, Unavailable) and got.meter == "nvml"
    assert got.reason.startswith("no NVIDIA driver found (NVML: ")
    assert got.devices == (f"cuda:0 NVIDIA H200 ({H200.uuid})",)


def test_a_gpu_without_uuid_cannot_be_found_by_nvml() -> None:
    got = NvmlMeter().open((UsedDevice(DeviceKind.CUDA, 1, "NVIDIA H200"),), MeterRole.DEVICES)
    assert isinstance(got, Unavailable) and got.reason == "no UUID recorded for cuda:1"


@needs_no_driver
def test_registry_opens_what_applies_cpu_run_gets_rapl_only_gpu_run_both() -> None:
    assert [m.meter for m in open_meters((CPU,)) if isinstance(m, Unavailable)] in (["rapl"], [])
    gpu = open_meters((H200, H200))  # a device listed once per replica is metered once
    assert [(m.meter, m.role) for m in gpu] == [("nvml", MeterRole.DEVICES), ("rapl", MeterRole.HOST)]


class _NvmlError(Exception):
    pass


class _Board:
    """Answers NVML's power calls as a driver would: mW, mJ; ``counter=False`` as pre-Volta."""

    NVMLError = _NvmlError

    def __init__(self, *, counter: bool, power_mw: int = 412_345, energy_mj: int = 1_234_567) -> None:
        self.counter, self.power_mw, self.energy_mj = counter, power_mw, energy_mj
        self.lost = False

    def nvmlDeviceGetTotalEnergyConsumption(self, handle: object) -> int:
        if not self.counter:
            raise _NvmlError("Not Supported")
        if self.lost:
            raise _NvmlError("GPU is lost")
        return self.energy_mj

    def nvmlDeviceGetPowerUsage(self, handle: object) -> int:
        return self.power_mw


def test_reader_converts_milliwatts_and_millijoules() -> None:
    reader = nvml.GpuPowerReader(_Board(counter=True), ["h0"])
    assert reader.has_energy_counter == (True,)
    assert reader.read() == (nvml.BoardPower(power_w=412.345, energy_j=1234.567),)


def test_a_gpu_without_energy_counter_reads_power_only() -> None:
    reader = nvml.GpuPowerReader(_Board(counter=False), ["h0"])
    assert reader.has_energy_counter == (False,)
    assert reader.read() == (nvml.BoardPower(power_w=412.345, energy_j=None),)


def test_a_gpu_lost_mid_run_is_a_device_error() -> None:
    board = _Board(counter=True)
    reader = nvml.GpuPowerReader(board, ["h0"])
    board.lost = True
    with pytest.raises(DeviceError, match="NVML stopped answering: GPU is lost"):
        reader.read()
