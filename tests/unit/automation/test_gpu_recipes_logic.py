"""GPU-side logic that runs anywhere: device-query parsing and comparison, wheel resolution."""

from __future__ import annotations

import pytest

from crowdperf.automation.recipes.cuda_devices import compare
from crowdperf.automation.recipes.cuda_stack import plan_wheels
from crowdperf.automation.recipes.device_query import parse
from crowdperf.errors import DeviceError, RecipeError
from crowdperf.system.nvml import NvmlDevice, normalise_bus_id

QUERY_OUTPUT = (
    "versions\t13000\t13000\ndevice\t0\tNVIDIA H200\t0000:1B:00.0\t9.0\t150754820096\t132\t1980000\t3201000\n"
)


def _nvml_h200(**changes) -> NvmlDevice:
    values = dict(
        index=0,
        name="NVIDIA H200",
        uuid="GPU-00000000-0000-0000-0000-000000000000",
        pci_bus_id="00000000:1B:00.0",
        compute_capability="9.0",
        memory_total_mib=143771,
        sm_count=132,
        max_sm_clock_mhz=1980,
        max_mem_clock_mhz=3201,
    )
    values.update(changes)
    return NvmlDevice(**values)


def test_device_query_output_is_parsed() -> None:
    query = parse(QUERY_OUTPUT)
    assert (query.driver_version, query.runtime_version) == ("13.0", "13.0")
    (gpu,) = query.devices
    assert (gpu.name, gpu.compute_capability, gpu.sm_count, gpu.max_sm_clock_mhz) == (
        "NVIDIA H200",
        "9.0",
        132,
        1980,
    )
    assert gpu.memory_total_mib == 150754820096 // (1 << 20)


def test_device_query_without_devices_is_a_device_error() -> None:
    with pytest.raises(DeviceError, match="no CUDA-capable device"):
        parse("versions\t0\t13000\nerror\t100\tno CUDA-capable device is detected\n")


def test_nvml_and_device_query_agree_and_disagree() -> None:
    query = parse(QUERY_OUTPUT)
    assert all(row["agree"] for row in compare([_nvml_h200()], query))
    rows = compare([_nvml_h200(compute_capability="8.0", sm_count=None)], query)
    assert [r["field"] for r in rows if not r["agree"]] == ["compute_capability"]
    assert normalise_bus_id("00000000:1B:00.0") == normalise_bus_id("0000:1b:00.0")


@pytest.mark.parametrize(
    ("driver", "major", "runtime"),
    [("12.4", 12, "nvidia-cuda-runtime-cu12>=12.0,<13"), ("13.0", 13, "nvidia-cuda-runtime>=13.0,<14")],
)
def test_wheels_follow_the_driver_cuda_major(driver: str, major: int, runtime: str) -> None:
    plan = plan_wheels(driver)
    assert plan.cuda_major == major and plan.requirements[0] == runtime
    assert (
        f"nvidia-cudnn-cu{major}>=9,<10" in plan.requirements and f"tensorrt-cu{major}" in plan.requirements
    )
    assert any(r.startswith("onnxruntime-gpu") for r in plan.requirements)
    assert plan.torch_index_url and plan.torch_index_url.endswith(f"cu{major}6" if major == 12 else "cu130")


def test_newer_driver_uses_newest_known_wheels_and_says_so() -> None:
    plan = plan_wheels("14.1", torch=False, tensorrt=False)
    assert plan.cuda_major == 13 and plan.torch_requirement is None
    assert not any(r.startswith("tensorrt") for r in plan.requirements) and "newest known" in plan.notes[0]


def test_old_driver_is_a_clear_error() -> None:
    with pytest.raises(RecipeError, match="need CUDA 12"):
        plan_wheels("11.8")
