"""A third-party-style power meter for tests: a "board" beside every run that draws exactly
``WATTS`` (energy from the wall clock). Registered in-process with ``crowdperf.plugins``; the
LoadGen child imports it by its ``module:attr`` (``PYTHONPATH`` must reach this directory)."""

from __future__ import annotations

import time

from crowdperf.meters.base import Channel, ChannelValue, Meter, MeterRole, OpenMeter, Unavailable
from crowdperf.system.devices import UsedDevice

WATTS = 12.5


class _OpenSteady(OpenMeter):
    name = "steady"
    role = MeterRole.HOST

    def __init__(self) -> None:
        self.channels = (Channel("board", "a steady test board"),)
        self._start = time.time()

    def read(self) -> tuple[ChannelValue, ...]:
        return (ChannelValue(WATTS, WATTS * (time.time() - self._start)),)


class SteadyMeter(Meter):
    name = "steady"

    def role_for(self, devices: tuple[UsedDevice, ...]) -> MeterRole | None:
        return MeterRole.HOST

    def open(self, devices: tuple[UsedDevice, ...], role: MeterRole) -> OpenMeter | Unavailable:
        return _OpenSteady()


not_a_meter = object()
