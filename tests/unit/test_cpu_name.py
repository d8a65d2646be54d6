"""One CPU model name for provenance, the results' system name and the submission's system
description: system.cpu.cpu_name, read into the one HostInventory that every consumer takes."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from crowdperf.mlperf import layout
from crowdperf.submission.system_description import detect
from crowdperf.system import cpu as device_names
from crowdperf.system.inventory import host_inventory

XEON = "Intel(R) Xeon(R) Platinum 8480+"


@pytest.fixture
def cpuinfo_file(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    path = tmp_path / "cpuinfo"
    monkeypatch.setattr(device_names, "PROC_CPUINFO", path)
    caches = (device_names.cpu_name, host_inventory)
    for cached in caches:
        cached.cache_clear()
    yield path
    for cached in caches:
        cached.cache_clear()


def test_every_consumer_reports_the_same_cpu_model(cpuinfo_file: Path) -> None:
    cpuinfo_file.write_text(
        f"processor\t: 0\nvendor_id\t: GenuineIntel\nmodel name\t: {XEON}\n\nprocessor\t: 1\n"
    )
    assert device_names.cpu_name() == XEON
    assert host_inventory().cpu_model == XEON  # what provenance.json records
    assert layout.host_slug().startswith("intel-xeon-platinum-8480-")
    assert detect()["host_processor_model_name"] == XEON


def test_without_a_model_name_line_py_cpuinfo_names_the_cpu(cpuinfo_file: Path) -> None:
    # ARM Linux's /proc/cpuinfo has no "model name"; macOS and Windows have no file at all
    cpuinfo_file.write_text("processor\t: 0\nBogoMIPS\t: 50.00\nCPU implementer\t: 0x41\n")
    brand = device_names._cpuinfo_brand()
    if brand is None:
        pytest.skip("py-cpuinfo cannot name this CPU")
    assert device_names.cpu_name() == brand
