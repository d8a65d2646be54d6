"""The meters by name, and the choice of those a run gets.

``meter_refs`` is the one table (``name -> "module:attr"``, a ``Meter`` class or factory), resolved
lazily so a meter's dependencies load only when a run uses it. ``open_meters(devices)`` opens,
in table order, every meter that applies to the devices (``Meter.role_for``): what it can read
becomes an ``OpenMeter``, what it cannot an ``Unavailable`` with the reason.
"""

from __future__ import annotations

import importlib
from collections.abc import Iterable

from crowdperf.errors import UsageError
from crowdperf.meters.base import Meter, OpenMeter, Unavailable
from crowdperf.system.devices import UsedDevice

BUILTIN_METERS: dict[str, str] = {
    "nvml": "crowdperf.meters.nvml_meter:NvmlMeter",
    "rapl": "crowdperf.meters.rapl:RaplMeter",
}


def meter_refs() -> dict[str, str]:
    """Every meter's name -> ``module:attr``."""
    return dict(BUILTIN_METERS)


def load_meter(name: str) -> Meter:
    refs = meter_refs()
    if name not in refs:
        raise UsageError(f"meter {name!r} is not a known meter", hint=f"use one of: {', '.join(refs)}")
    module_name, _, attr = refs[name].partition(":")
    obj = getattr(importlib.import_module(module_name), attr)
    return obj() if isinstance(obj, type) or not isinstance(obj, Meter) else obj


def open_meters(
    devices: tuple[UsedDevice, ...], meters: Iterable[Meter] | None = None
) -> list[OpenMeter | Unavailable]:
    """Each meter that applies to ``devices``, opened or with the reason it could not be."""
    chosen = list(meters) if meters is not None else [load_meter(n) for n in meter_refs()]
    devices = tuple(dict.fromkeys(devices))  # a workload lists a device once per replica on it
    opened: list[OpenMeter | Unavailable] = []
    for meter in chosen:
        role = meter.role_for(devices)
        if role is not None:
            opened.append(meter.open(devices, role))
    return opened
