"""The one host inventory, and the devices a run uses resolved against it (no NVML faked: a test
host is a real HostInventory value, this one is detected)."""

from __future__ import annotations

import platform
from pathlib import Path

import pytest

from crowdperf.errors import DeviceError
from crowdperf.mlperf.layout import devices_slug, host_slug, system_name
from crowdperf.mlperf.rounds import Scenario
from crowdperf.mlperf.spec import Mode, RunSpec
from crowdperf.precision import Precision
from crowdperf.system import cpu
from crowdperf.system.accelerators import resolve, visible_gpus
from crowdperf.system.devices import DeviceKind, DeviceSelection, UsedDevice, describe_used
from crowdperf.system.inventory import HostInventory, detect_inventory, host_inventory


def test_this_host_is_detected_once_with_cores_named_for_what_they_hold() -> None:
    inv = host_inventory()
    assert host_inventory() is inv  # once per process
    assert inv.cpu_logical_cores >= inv.cpu_physical_cores >= inv.cpu_sockets >= 1
    assert inv.cpu_physical_cores_per_socket * inv.cpu_sockets <= inv.cpu_physical_cores
    assert inv.memory_mib > 0 and inv.python_version == platform.python_version()
    try:
        pretty = platform.freedesktop_os_release().get("PRETTY_NAME")
    except OSError:
        pretty = None
    assert inv.os_name == (pretty or platform.system())
    assert inv.operating_system.endswith(f"(kernel {platform.release()})")
    assert detect_inventory() == inv  # the hardware did not change in between


def test_inventory_round_trips_through_json_and_refuses_other_shapes(two_h200_host: HostInventory) -> None:
    assert HostInventory.from_dict(two_h200_host.to_dict()) == two_h200_host
    assert two_h200_host.gpu(two_h200_host.gpus[1].uuid) is two_h200_host.gpus[1]
    assert two_h200_host.gpu(None) is None
    schema1_summary = {"cpu": "x", "cores": 2, "memory_gib": 1.0, "os": "Linux", "python": "3", "gpus": []}
    with pytest.raises(ValueError, match="not a host inventory"):
        HostInventory.from_dict(schema1_summary)


def test_resolve_follows_the_selection_and_cuda_visible_devices(
    two_h200_host: HostInventory, monkeypatch: pytest.MonkeyPatch
) -> None:
    (cpu_dev,) = resolve(DeviceSelection(), two_h200_host)
    assert (cpu_dev.kind, cpu_dev.index, cpu_dev.name) == (DeviceKind.CPU, None, two_h200_host.cpu_model)
    both = resolve(DeviceSelection.parse("cuda"), two_h200_host)
    assert [(d.index, d.uuid) for d in both] == [(g.index, g.uuid) for g in two_h200_host.gpus]
    (second,) = resolve(DeviceSelection.parse("cuda:1"), two_h200_host)
    assert (second.index, second.uuid, second.memory_mib) == (1, two_h200_host.gpus[1].uuid, 143771)
    with pytest.raises(DeviceError, match="no GPU 2 here"):
        resolve(DeviceSelection.parse("cuda:2"), two_h200_host)
    # CUDA numbers only the visible GPUs: cuda:0 is the host's second one here
    monkeypatch.setenv("CUDA_VISIBLE_DEVICES", "1")
    (only,) = resolve(DeviceSelection.parse("cuda"), two_h200_host)
    assert (only.index, only.uuid) == (0, two_h200_host.gpus[1].uuid)
    assert [g.nvml_index for g in visible_gpus({"CUDA_VISIBLE_DEVICES": "1,0"}, two_h200_host)] == [1, 0]


@pytest.mark.parametrize(
    ("device", "gpus", "name"),
    [
        ("cpu", "", "intel-xeon-platinum-8480-224c-onnxruntime-cpu-fp16"),
        ("cuda:1", "nvidia-h200x1", "intel-xeon-platinum-8480-224c-nvidia-h200x1-onnxruntime-cuda-fp16"),
        ("cuda", "nvidia-h200x2", "intel-xeon-platinum-8480-224c-nvidia-h200x2-onnxruntime-cuda-fp16"),
    ],
)
def test_system_name_follows_the_devices_used_not_the_host(
    device: str, gpus: str, name: str, two_h200_host: HostInventory, tmp_path: Path
) -> None:
    spec = RunSpec(
        "bert-99",
        Scenario.OFFLINE,
        Mode.PERFORMANCE,
        results_dir=tmp_path,
        devices=DeviceSelection.parse(device),
        precision=Precision.FP16,
    )
    assert host_slug(two_h200_host) == "intel-xeon-platinum-8480-224c"  # logical CPUs
    assert devices_slug(resolve(spec.devices, two_h200_host)) == gpus
    assert system_name(spec, inventory=two_h200_host) == name


def test_device_records_round_trip_and_read_for_people(two_h200_host: HostInventory) -> None:
    used = resolve(DeviceSelection.parse("cuda"), two_h200_host)
    assert tuple(UsedDevice.from_dict(d.__dict__ | {"kind": d.kind.value}) for d in used) == used
    assert describe_used(used) == "2 x NVIDIA H200 (cuda:0, cuda:1)"
    assert describe_used(resolve(DeviceSelection(), two_h200_host)) == f"CPU ({two_h200_host.cpu_model})"
    with pytest.raises(ValueError, match="not a device record"):
        UsedDevice.from_dict({"kind": "cuda"})
    with pytest.raises(ValueError):
        UsedDevice.from_dict({"kind": "tpu", "index": 0, "name": "x"})


def test_cpu_caches_are_read_from_sysfs(tmp_path: Path) -> None:
    for i, (level, kind, size) in enumerate(
        [
            ("1", "Data", "48K"),
            ("1", "Instruction", "32K"),
            ("2", "Unified", "2048K"),
            ("3", "Unified", "105M"),
        ]
    ):
        index = tmp_path / f"index{i}"
        index.mkdir()
        for name, value in (("level", level), ("type", kind), ("size", size)):
            (index / name).write_text(value + "\n")
    assert cpu.caches(tmp_path) == "L1d 48 KiB, L1i 32 KiB, L2 2048 KiB, L3 107520 KiB"
    assert cpu.caches(tmp_path / "absent") is None
