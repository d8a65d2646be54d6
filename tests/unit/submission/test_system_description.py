from __future__ import annotations

from pathlib import Path

import pytest

from crowdperf.errors import UsageError
from crowdperf.mlperf.layout import host_slug
from crowdperf.submission.system_description import (
    MEANINGFUL_FIELDS,
    REQUIRED_FIELDS,
    describe_system,
    with_notes,
)
from crowdperf.system.accelerators import resolve
from crowdperf.system.devices import DeviceSelection
from crowdperf.system.inventory import HostInventory


def test_every_required_field_is_present_and_meaningful_ones_non_empty() -> None:
    data = describe_system().to_mlperf_json(division="closed", submitter="Org", system_type="edge")
    assert set(REQUIRED_FIELDS) <= set(data)
    assert all(data[k] for k in MEANINGFUL_FIELDS), {k: data[k] for k in MEANINGFUL_FIELDS if not data[k]}
    assert data["host_processor_core_count"] not in (None, "")


def test_host_slug_is_stable_and_path_safe() -> None:
    slug = host_slug()
    assert slug == host_slug() and slug == slug.lower()
    assert all(c.isalnum() or c == "-" for c in slug)


def test_overrides_win_and_accept_either_spelling(tmp_path: Path) -> None:
    f = tmp_path / "o.yaml"
    f.write_text(
        "cooling: air\naccelerator_on-chip_memories: 50 MB L2\nhost_memory_configuration: 8x 32GB DDR5\n"
    )
    desc = describe_system(f)
    assert desc.cooling == "air" and desc.host_memory_configuration == "8x 32GB DDR5"
    data = desc.to_mlperf_json(division="open", submitter="O", system_type="edge")
    assert data["accelerator_on-chip_memories"] == "50 MB L2" and "cooling" not in desc.unknown_fields()


def test_bad_overrides_are_usage_errors(tmp_path: Path) -> None:
    f = tmp_path / "o.yaml"
    f.write_text("colour: blue\n")
    with pytest.raises(UsageError, match="unknown system field"):
        describe_system(f)
    f.write_text("status: secret\n")
    with pytest.raises(UsageError, match="status"):
        describe_system(f)


def test_hw_notes_extra_goes_to_hw_notes_only() -> None:
    desc = with_notes(describe_system(), hw_extra="liquid cooled", sw_extra="")
    assert desc.hw_notes.endswith("liquid cooled") and "liquid" not in desc.sw_notes


@pytest.mark.parametrize("device", ["cpu", "cuda:0", "cuda"])
def test_a_gpu_host_is_described_for_the_devices_of_a_run(device: str, two_h200_host: HostInventory) -> None:
    used = resolve(DeviceSelection.parse(device), two_h200_host)
    desc = describe_system(inventory=two_h200_host, devices=used)
    gpus = sum(d.is_accelerator for d in used)
    assert desc.accelerators_per_node == gpus
    assert desc.host_slug == "intel-xeon-platinum-8480-224c" + (f"-nvidia-h200x{gpus}" if gpus else "")
    assert (desc.host_processors_per_node, desc.host_processor_core_count) == (2, 56)  # cores per socket
    assert desc.host_processor_frequency == "3800 MHz" and desc.host_processor_caches.startswith("L1d 48 KiB")
    assert desc.operating_system == "Ubuntu 24.04.1 LTS (kernel 6.8.0-51-generic)"
    assert desc.host_memory_capacity == "2016 GB"
    data = desc.to_mlperf_json(division="closed", submitter="Org", system_type="datacenter")
    assert all(data[k] for k in MEANINGFUL_FIELDS), {k: data[k] for k in MEANINGFUL_FIELDS if not data[k]}
    if gpus:
        assert (desc.accelerator_frequency, desc.accelerator_memory_configuration) == ("1980 MHz", "HBM")
        assert desc.accelerator_interconnect_topology == ("unknown" if gpus > 1 else "N/A")
