"""Human names of the devices a backend runs on (recorded in provenance)."""

from __future__ import annotations

import functools
import platform


@functools.cache
def cpu_name() -> str:
    try:
        import cpuinfo

        name = cpuinfo.get_cpu_info().get("brand_raw")
    except Exception:  # py-cpuinfo probes the CPU in odd ways; a name is best effort
        name = None
    return str(name or platform.processor() or platform.machine())


def physical_cores() -> int:
    import psutil

    return psutil.cpu_count(logical=False) or psutil.cpu_count() or 1
