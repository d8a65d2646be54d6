"""The CPU of this host: its model name (the one place it is read), sockets, core counts, clock.

Core counts are named for what they hold: ``physical_cores`` (all sockets), ``logical_cores``
(hardware threads, what ``os.cpu_count`` says).
"""

from __future__ import annotations

import functools
import os
import platform
import re
from pathlib import Path

PROC_CPUINFO = Path("/proc/cpuinfo")
SYS_CPU0_CACHE = Path("/sys/devices/system/cpu/cpu0/cache")
_CACHE_NAMES = {"Data": "d", "Instruction": "i", "Unified": ""}


@functools.cache
def cpu_name() -> str:
    """The CPU model, e.g. "AMD EPYC 7763 64-Core Processor".

    Linux x86: /proc/cpuinfo's ``model name`` (instant). Elsewhere (macOS, Windows, ARM Linux,
    which has no ``model name``): py-cpuinfo's ``brand_raw``, which takes about a second (it
    starts a subprocess), so it is only the fallback. Last resort: ``platform``.
    """
    return (
        _proc_model_name(PROC_CPUINFO)
        or _cpuinfo_brand()
        or platform.processor()
        or platform.machine()
        or "cpu"
    )


def _proc_model_name(path: Path) -> str | None:
    try:
        text = path.read_text()
    except OSError:
        return None
    for line in text.splitlines():
        key, _, value = line.partition(":")
        if key.strip().lower() == "model name" and value.strip():
            return value.strip()
    return None


def _cpuinfo_brand() -> str | None:
    try:
        import cpuinfo

        name = cpuinfo.get_cpu_info().get("brand_raw")
    except Exception:  # py-cpuinfo probes the CPU in odd ways; a name is best effort
        return None
    return str(name) if name else None


def physical_cores() -> int:
    """Physical cores of every socket together."""
    import psutil

    return psutil.cpu_count(logical=False) or psutil.cpu_count() or 1


def logical_cores() -> int:
    """Hardware threads of every socket together (``os.cpu_count``)."""
    return os.cpu_count() or 1


def sockets() -> int:
    """Distinct ``physical id`` values in /proc/cpuinfo; 1 where the file has none (ARM, macOS)."""
    try:
        text = PROC_CPUINFO.read_text()
    except OSError:
        return 1
    return len(set(re.findall(r"^physical id\s*:\s*(\d+)", text, re.M))) or 1


def max_frequency_mhz() -> int | None:
    """The CPU's maximum clock as the kernel reports it (cpufreq); None when it reports none
    (many VMs and containers)."""
    import psutil

    try:
        freq = psutil.cpu_freq()
    except (OSError, NotImplementedError):  # psutil raises these where cpufreq is absent
        return None
    mhz = (freq.max or freq.current) if freq else 0.0
    return round(mhz) if mhz else None


def caches(root: Path | None = None) -> str | None:
    """The caches of one core as Linux lists them, e.g. "L1d 48 KiB, L1i 32 KiB, L2 2048 KiB,
    L3 107520 KiB" (sizes per cache instance); None where sysfs has no cache entries."""
    found = []
    for index in sorted((root or SYS_CPU0_CACHE).glob("index*")):
        try:
            level, kind, size = ((index / n).read_text().strip() for n in ("level", "type", "size"))
        except OSError:
            continue
        kib = int(size[:-1]) * (1024 if size.endswith("M") else 1) if size[:-1].isdigit() else None
        if kib:
            found.append(f"L{level}{_CACHE_NAMES.get(kind, '')} {kib} KiB")
    return ", ".join(found) or None
