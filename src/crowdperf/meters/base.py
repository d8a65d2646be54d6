"""The meter interface: a ``Meter`` opens for the devices of a run, an ``OpenMeter`` is read.

A meter has channels (one per GPU board, one per CPU package or DRAM domain). Each read gives
every channel's power (W, when the hardware reports it) and cumulative energy (J since the meter
opened, counter wrap-around already undone, when it has a counter). ``readings.py`` turns a series
of reads into joules and watts; a meter only reads.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from dataclasses import dataclass
from enum import StrEnum

from crowdperf.system.devices import UsedDevice


class MeterRole(StrEnum):
    DEVICES = "devices"  # measures the devices the run computes on: the run's headline figure
    HOST = "host"  # measures the rest of the host (RAPL beside a GPU run): recorded, not headline


@dataclass(frozen=True)
class Channel:
    label: str  # unique within its meter: "cuda:0", "package-0", "package-0/dram"
    device: str  # what it measures, for people: "NVIDIA H200 (GPU-5c1e...)", "CPU package-0"


@dataclass(frozen=True)
class ChannelValue:
    power_w: float | None  # the hardware's power reading, None when it has none
    energy_j: float | None  # cumulative since the meter opened, None without an energy counter


@dataclass(frozen=True)
class Unavailable:
    """A meter that applies to the run but cannot read: ``reason`` is the one line people see."""

    meter: str
    role: MeterRole
    reason: str
    devices: tuple[str, ...] = ()  # what it would have measured (device_label of each)


def device_label(device: UsedDevice) -> str:
    """``cuda:0 NVIDIA H200 (GPU-5c1e...)`` or ``cpu AMD EPYC 9654``: a device for people."""
    where = f"{device.kind}:{device.index}" if device.index is not None else str(device.kind)
    return f"{where} {device.name}" + (f" ({device.uuid})" if device.uuid else "")


class OpenMeter(ABC):
    """A meter ready to read. ``read`` is called from the sampler's thread, ``close`` once."""

    name: str
    role: MeterRole
    channels: tuple[Channel, ...]
    notes: tuple[str, ...] = ()  # channels it could not open and why, e.g. an unreadable DRAM zone

    @abstractmethod
    def read(self) -> tuple[ChannelValue, ...]:
        """One value per channel, in ``channels`` order; a CrowdperfError or OSError when the
        hardware stops answering (the sampler records it and stops reading this meter)."""

    def close(self) -> None:  # noqa: B027 (most meters hold nothing to release)
        """Release what ``open`` took (an NVML session, file descriptors)."""


class Meter(ABC):
    """A kind of meter, registered by ``name`` (registry.py)."""

    name: str

    @abstractmethod
    def role_for(self, devices: tuple[UsedDevice, ...]) -> MeterRole | None:
        """How this meter relates to a run on ``devices``; None when it does not apply."""

    @abstractmethod
    def open(self, devices: tuple[UsedDevice, ...], role: MeterRole) -> OpenMeter | Unavailable:
        """Ready to read, or why not (no driver, no sysfs zone, permission denied). Never raises
        for an unreadable meter: unavailability is a result."""
