"""The meters by name, and the choice of those a run gets.

Meters are plugins like workloads and backends: the ``crowdperf.meters`` entry-point group
(``crowdperf.plugins``; crowdperf's own ``nvml`` and ``rapl`` are declared in its pyproject.toml),
each a ``Meter`` class or instance. Nobody names a meter on the command line: ``open_meters``
opens, in name order, every installed meter that applies to a run's devices
(``Meter.role_for``); what it can read becomes an ``OpenMeter``, what it cannot an
``Unavailable`` with the reason.
"""

from __future__ import annotations

from collections.abc import Iterable

from crowdperf import plugins
from crowdperf.errors import BackendError
from crowdperf.meters.base import Meter, OpenMeter, Unavailable
from crowdperf.system.devices import UsedDevice


def meter_names() -> tuple[str, ...]:
    """Every installed (or in-process registered) meter's name."""
    return plugins.names(plugins.METERS)


def meter_refs() -> tuple[str, ...]:
    """Every meter's ``module:attr``, in name order: what the harness hands to the child process
    that runs a LoadGen test (so an in-process registration reaches it, as for workloads)."""
    return tuple(plugins.entries(plugins.METERS).values())


def load_meter(ref: str) -> Meter:
    """The meter at ``module:attr`` (a class is instantiated); BackendError when it does not
    import or is not a ``Meter``."""
    obj = plugins.resolve(ref, plugins.METERS)
    meter = obj() if isinstance(obj, type) else obj
    if not isinstance(meter, Meter):
        raise BackendError(f"crowdperf.meters entry {ref!r} is not a Meter: {meter!r}")
    return meter


def open_meters(
    devices: tuple[UsedDevice, ...], refs: Iterable[str] | None = None
) -> list[OpenMeter | Unavailable]:
    """Each meter (``refs``, default ``meter_refs()``) that applies to ``devices``, opened or with
    the reason it could not be."""
    chosen = [load_meter(ref) for ref in (meter_refs() if refs is None else refs)]
    devices = tuple(dict.fromkeys(devices))  # a workload lists a device once per replica on it
    opened: list[OpenMeter | Unavailable] = []
    for meter in chosen:
        role = meter.role_for(devices)
        if role is not None:
            opened.append(meter.open(devices, role))
    return opened
