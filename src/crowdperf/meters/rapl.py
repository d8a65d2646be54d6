"""``rapl``: CPU package and DRAM energy from the kernel's powercap interface (RAPL).

    /sys/class/powercap/intel-rapl:<p>           name "package-<p>"   energy_uj  max_energy_range_uj
    /sys/class/powercap/intel-rapl:<p>:<d>       name "dram" (also "core", "uncore": inside the
                                                 package figure, so not read twice)

Linux's ``intel_rapl`` driver exposes AMD Zen packages under the same names (kernel 5.8+, no DRAM
domain there). ``psys`` (the whole platform on some laptops) and the ``intel-rapl-mmio`` copy of
the package domain are not read: both overlap the package and would count it twice.

``energy_uj`` is a counter in microjoules that wraps to 0 after ``max_energy_range_uj`` (tens of
seconds to minutes at full load: sampling at 20 Hz sees every wrap). Since the 2020 fix for
CVE-2020-8694 ("Platypus"), ``energy_uj`` is readable by root only on most kernels: an unreadable
zone is unavailable with that reason, never read as zero.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from crowdperf.meters.base import Channel, ChannelValue, Meter, MeterRole, OpenMeter, Unavailable
from crowdperf.settings import load_settings
from crowdperf.system.devices import UsedDevice

ZONE_PREFIX = "intel-rapl:"
PERMISSION_HINT = "readable by root only since the CVE-2020-8694 fix: run as root to measure CPU energy"


@dataclass(frozen=True)
class RaplZone:
    path: Path
    label: str  # "package-0", "package-0/dram"


def find_zones(root: Path) -> list[RaplZone]:
    """The package and DRAM zones under ``root``, packages first, in a stable order."""
    zones = []
    for path in sorted(root.glob(f"{ZONE_PREFIX}*")):
        name = _name(path)
        parts = path.name[len(ZONE_PREFIX) :].split(":")
        if len(parts) == 1 and name.startswith("package"):
            zones.append(RaplZone(path, name))
        elif name == "dram":  # a package's subzone (intel-rapl:0:2), or a top-level zone on some parts
            parent = root / f"{ZONE_PREFIX}{parts[0]}"
            zones.append(RaplZone(path, f"{_name(parent)}/dram" if len(parts) > 1 else "dram"))
    return zones


def _name(zone: Path) -> str:
    try:
        return (zone / "name").read_text().strip()
    except OSError:
        return ""


class _Counter:
    """One zone's ``energy_uj``, wrap-around undone: cumulative joules since it was opened. The
    file is reopened for every read (~10 us at 20 Hz), as sysfs attributes are meant to be read."""

    def __init__(self, zone: RaplZone) -> None:
        self.zone = zone
        self.path = zone.path / "energy_uj"
        self.range_uj = _read_int(zone.path / "max_energy_range_uj")
        if self.range_uj <= 0:
            raise ValueError(f"{zone.path / 'max_energy_range_uj'} is {self.range_uj}")
        self._last = _read_int(self.path)
        self._total_uj = 0

    def joules(self) -> float:
        raw = _read_int(self.path)
        delta = raw - self._last
        if delta < 0:  # wrapped past max_energy_range_uj back to 0 since the last read
            delta += self.range_uj
        self._last = raw
        self._total_uj += delta
        return self._total_uj / 1e6


def _read_int(path: Path) -> int:
    return int(path.read_text().strip())


def unreadable_reason(path: Path, exc: Exception) -> str:
    """One line for a zone file that cannot be read (``exc.filename`` when the OSError names one)."""
    path = Path(exc.filename) if isinstance(exc, OSError) and exc.filename else path
    if isinstance(exc, PermissionError):
        return f"permission denied on {path} ({PERMISSION_HINT})"
    if isinstance(exc, OSError):
        return f"cannot read {path}: {exc.strerror or exc}"
    return f"cannot read {path}: {exc}"


class OpenRapl(OpenMeter):
    name = "rapl"

    def __init__(self, role: MeterRole, counters: list[_Counter], notes: tuple[str, ...]) -> None:
        self.role = role
        self._counters = counters
        self.channels = tuple(Channel(c.zone.label, f"CPU {c.zone.label}") for c in counters)
        self.notes = notes

    def read(self) -> tuple[ChannelValue, ...]:
        return tuple(ChannelValue(None, c.joules()) for c in self._counters)


class RaplMeter(Meter):
    """The host's CPU packages and DRAM: the devices of a CPU run, the host beside a GPU run."""

    name = "rapl"

    def __init__(self, root: Path | None = None) -> None:
        self.root = root if root is not None else load_settings().powercap_dir  # CROWDPERF_POWERCAP_DIR

    def role_for(self, devices: tuple[UsedDevice, ...]) -> MeterRole | None:
        # RAPL measures whole packages: every core, whoever runs on it (a CPU run's device).
        return MeterRole.HOST if any(d.is_accelerator for d in devices) else MeterRole.DEVICES

    def open(self, devices: tuple[UsedDevice, ...], role: MeterRole) -> OpenMeter | Unavailable:
        cpu = tuple(f"cpu {d.name}" for d in devices if not d.is_accelerator)[:1] or ("cpu of the host",)
        if not self.root.is_dir():
            why = "a kernel without powercap, or a VM or container that hides it"
            return Unavailable(self.name, role, f"no {self.root} ({why})", cpu)
        zones = find_zones(self.root)
        if not zones:
            why = "the intel_rapl driver is not loaded"
            return Unavailable(self.name, role, f"no RAPL package zone under {self.root} ({why})", cpu)
        counters, notes = [], []
        for zone in zones:
            try:
                counters.append(_Counter(zone))
            except (OSError, ValueError) as exc:
                notes.append(f"{zone.label}: " + unreadable_reason(zone.path / "energy_uj", exc))
        if not counters:
            more = f" (and the {len(notes) - 1} other zones)" if len(notes) > 1 else ""
            return Unavailable(self.name, role, notes[0] + more, cpu)
        return OpenRapl(role, counters, tuple(notes))
