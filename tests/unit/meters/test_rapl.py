"""The RAPL meter against fake sysfs trees: which zones count, wrap-around, what cannot be read."""

from __future__ import annotations

import os
import shutil
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from crowdperf.meters.base import MeterRole, OpenMeter, Unavailable
from crowdperf.meters.rapl import RaplMeter, find_zones
from crowdperf.meters.readings import summarise
from crowdperf.meters.sampler import PowerSampler
from crowdperf.system.devices import DeviceKind, UsedDevice
from fake_powercap import FakePowercap, server_tree

CPU = (UsedDevice(DeviceKind.CPU, None, "AMD EPYC 9654"),)
GPU = (UsedDevice(DeviceKind.CUDA, 0, "NVIDIA H200", "GPU-1"),)


def _open(root: Path) -> OpenMeter:
    opened = RaplMeter(root).open(CPU, MeterRole.DEVICES)
    assert isinstance(opened, OpenMeter), opened
    return opened


def test_packages_and_dram_are_read_and_nothing_counted_twice(tmp_path: Path) -> None:
    server_tree(tmp_path)
    assert [z.label for z in find_zones(tmp_path)] == ["package-0", "package-0/dram"]
    opened = _open(tmp_path)
    assert [c.label for c in opened.channels] == ["package-0", "package-0/dram"]


def test_role_follows_the_devices_of_the_run() -> None:
    meter = RaplMeter(Path("/nonexistent"))
    assert meter.role_for(CPU) is MeterRole.DEVICES  # a CPU run's devices are the packages
    assert meter.role_for(GPU) is MeterRole.HOST  # beside a GPU run: recorded, not its headline


def test_counter_wrap_around_is_undone_with_max_energy_range(tmp_path: Path) -> None:
    fake = FakePowercap(tmp_path)
    fake.zone("0", "package-0", energy_uj=9_000_000, range_uj=10_000_000)  # 9 J of a 10 J range
    opened = _open(tmp_path)
    fake.set("0", 9_500_000)
    assert opened.read()[0].energy_j == pytest.approx(0.5)
    fake.set("0", 1_000_000)  # wrapped: 0.5 J to the top, then 1 J
    assert opened.read()[0].energy_j == pytest.approx(2.0)
    fake.set("0", 500_000)  # wrapped again between two reads
    assert opened.read()[0].energy_j == pytest.approx(11.5)
    assert opened.read()[0].power_w is None  # RAPL has counters only


def test_sampled_energy_and_power_of_a_drawing_package(tmp_path: Path) -> None:
    """The whole path on a counter that wraps every 0.4 s: 25 W package + 5 W DRAM."""
    fake = FakePowercap(tmp_path)
    fake.zone("0", "package-0", range_uj=10_000_000)
    fake.zone("0:2", "dram", range_uj=10_000_000)
    with fake.drawing({"0": 25.0, "0:2": 5.0}), PowerSampler([_open(tmp_path)], hz=20) as sampler:
        time.sleep(1.0)
    (reading,), summary = summarise(sampler.traces(), None, loadgen_samples=300)
    assert reading.unavailable is None and reading.samples >= 5
    assert reading.mean_w == pytest.approx(30.0, rel=0.15)
    assert reading.joules == pytest.approx(30.0 * reading.seconds, rel=0.15)
    package, dram = reading.channels
    assert package.mean_w == pytest.approx(25.0, rel=0.15) and dram.mean_w == pytest.approx(5.0, rel=0.15)
    assert summary.meter == "rapl" and summary.joules_per_sample == pytest.approx(reading.joules / 300)


def test_no_powercap_directory_is_unavailable_with_the_reason(tmp_path: Path) -> None:
    got = RaplMeter(tmp_path / "powercap").open(CPU, MeterRole.DEVICES)
    assert isinstance(got, Unavailable) and "powercap" in got.reason and got.devices == ("cpu AMD EPYC 9654",)


def test_no_rapl_zone_is_unavailable(tmp_path: Path) -> None:
    (tmp_path / "dtpm").mkdir()  # another powercap control type, no RAPL
    got = RaplMeter(tmp_path).open(CPU, MeterRole.DEVICES)
    assert isinstance(got, Unavailable) and "no RAPL package zone" in got.reason


@pytest.mark.parametrize(
    ("damage", "needle"),
    [
        (lambda z: (z / "energy_uj").unlink(), "No such file"),
        (lambda z: (z / "max_energy_range_uj").unlink(), "max_energy_range_uj"),
        (lambda z: (z / "energy_uj").write_text("not a number\n"), "invalid literal"),
        (lambda z: (z / "max_energy_range_uj").write_text("0\n"), "max_energy_range_uj is 0"),
    ],
)
def test_an_unreadable_zone_is_unavailable_never_zero(tmp_path: Path, damage, needle: str) -> None:
    fake = FakePowercap(tmp_path)
    damage(fake.zone("0", "package-0"))
    got = RaplMeter(tmp_path).open(CPU, MeterRole.DEVICES)
    assert isinstance(got, Unavailable) and needle in got.reason, got


def test_one_unreadable_zone_leaves_the_others_with_a_note(tmp_path: Path) -> None:
    fake = server_tree(tmp_path)
    (fake.root / "intel-rapl:0:2" / "energy_uj").unlink()
    opened = _open(tmp_path)
    assert [c.label for c in opened.channels] == ["package-0"]
    assert opened.notes and opened.notes[0].startswith("package-0/dram: cannot read")


@pytest.fixture
def world_readable_dir() -> Iterator[Path]:
    """A tree an unprivileged user can walk (pytest's tmp_path is private to root)."""
    path = Path(tempfile.mkdtemp(prefix="crowdperf-powercap-", dir="/tmp"))
    path.chmod(0o755)
    yield path
    shutil.rmtree(path, ignore_errors=True)


def test_permission_denied_on_energy_uj_names_the_cause(world_readable_dir: Path) -> None:
    """energy_uj is 0400 root on kernels with the CVE-2020-8694 fix: read as an ordinary user."""
    fake = FakePowercap(world_readable_dir / "powercap")
    for p in (fake.root, fake.zone("0", "package-0")):
        p.chmod(0o755)
    for name in ("name", "max_energy_range_uj"):
        (fake.root / "intel-rapl:0" / name).chmod(0o444)
    (fake.root / "intel-rapl:0" / "energy_uj").chmod(0o400)
    reason = _reason_as_unprivileged(fake.root) if os.geteuid() == 0 else _reason(fake.root)
    assert reason.startswith("package-0: permission denied on ") and reason.count("energy_uj") == 1
    assert "root" in reason


def _reason(root: Path) -> str:
    got = RaplMeter(root).open(CPU, MeterRole.DEVICES)
    return got.reason if isinstance(got, Unavailable) else "readable"


def _reason_as_unprivileged(root: Path) -> str:
    """Root reads anything: ask a forked child running as ``nobody`` (65534)."""
    read_end, write_end = os.pipe()
    pid = os.fork()
    if pid == 0:  # child: drop privileges, open the meter, report, exit without pytest's teardown
        try:
            os.close(read_end)
            os.setgid(65534)
            os.setuid(65534)
            os.write(write_end, _reason(root).encode())
        finally:
            os._exit(0)
    os.close(write_end)
    with os.fdopen(read_end) as pipe:
        reason = pipe.read()
    os.waitpid(pid, 0)
    return reason
