"""``nvml``: NVIDIA GPU board power and energy through NVML, for every GPU the run uses.

Energy comes from the board's total-energy counter (``nvmlDeviceGetTotalEnergyConsumption``,
Volta and later) where the GPU has one; the power readings (``nvmlDeviceGetPowerUsage``, at the
sampler's rate) give min and max, and the energy where there is no counter. GPUs are opened by
UUID, so the meter reads the boards the run used whatever ``CUDA_VISIBLE_DEVICES`` renumbered.
"""

from __future__ import annotations

from contextlib import ExitStack

from crowdperf.errors import DeviceError
from crowdperf.meters.base import (
    Channel,
    ChannelValue,
    Meter,
    MeterRole,
    OpenMeter,
    Unavailable,
    device_label,
)
from crowdperf.system import nvml
from crowdperf.system.devices import UsedDevice, accelerators


class OpenNvml(OpenMeter):
    name = "nvml"

    def __init__(self, role: MeterRole, gpus: tuple[UsedDevice, ...], stack: ExitStack) -> None:
        self.role = role
        self._stack = stack
        self._reader: nvml.GpuPowerReader = stack.enter_context(
            nvml.gpu_power_reader([str(g.uuid) for g in gpus])
        )
        self.channels = tuple(Channel(f"{g.kind}:{g.index}", device_label(g)) for g in gpus)
        self.notes = tuple(
            f"{c.label}: no total-energy counter, energy integrated from power readings"
            for c, has in zip(self.channels, self._reader.has_energy_counter, strict=True)
            if not has
        )

    def read(self) -> tuple[ChannelValue, ...]:
        return tuple(ChannelValue(b.power_w, b.energy_j) for b in self._reader.read())

    def close(self) -> None:
        self._stack.close()


class NvmlMeter(Meter):
    name = "nvml"

    def role_for(self, devices: tuple[UsedDevice, ...]) -> MeterRole | None:
        return MeterRole.DEVICES if accelerators(devices) else None

    def open(self, devices: tuple[UsedDevice, ...], role: MeterRole) -> OpenMeter | Unavailable:
        gpus = accelerators(devices)
        labels = tuple(device_label(g) for g in gpus)
        missing = [f"{g.kind}:{g.index}" for g in gpus if not g.uuid]
        if missing:
            return Unavailable(self.name, role, f"no UUID recorded for {', '.join(missing)}", labels)
        stack = ExitStack()
        try:
            opened = OpenNvml(role, gpus, stack)
            first = opened.read()
        except DeviceError as exc:
            stack.close()
            return Unavailable(self.name, role, exc.message, labels)
        pairs = zip(opened.channels, first, strict=True)
        blind = [c.label for c, v in pairs if v.power_w is None and v.energy_j is None]
        if blind:
            opened.close()
            what = f"NVML reports neither power nor energy for {', '.join(blind)}"
            return Unavailable(self.name, role, what, labels)
        return opened
