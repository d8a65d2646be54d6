"""The CPU of this host: its model name (the one place it is read) and its core counts."""

from __future__ import annotations

import functools
import platform
from pathlib import Path

PROC_CPUINFO = Path("/proc/cpuinfo")


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
    import psutil

    return psutil.cpu_count(logical=False) or psutil.cpu_count() or 1
