"""NVIDIA GPUs of a host (its ``HostInventory``, read through NVML), as the CUDA runtime numbers
them, and the resolution of a ``DeviceSelection`` into the devices a run will use.

NVML numbers every GPU of the host and ignores ``CUDA_VISIBLE_DEVICES``; CUDA (torch,
onnxruntime) numbers only the visible ones, in the order that variable lists them. A run records
CUDA's ordinals with NVML's names and UUIDs, so ``visible_gpus`` maps one onto the other.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass

from crowdperf.errors import DeviceError
from crowdperf.system.devices import DeviceKind, DeviceSelection, UsedDevice
from crowdperf.system.inventory import HostInventory, host_inventory

NO_GPU_HINT = "run on a machine with an NVIDIA GPU and its driver (nvidia-smi must work), or use --device cpu"


@dataclass(frozen=True)
class Gpu:
    ordinal: int  # CUDA's index (after CUDA_VISIBLE_DEVICES)
    nvml_index: int  # NVML's index (every GPU of the host)
    name: str
    uuid: str
    memory_mib: int


def host_gpus(inventory: HostInventory | None = None) -> list[Gpu]:
    """Every NVIDIA GPU of the host in NVML's order (ordinal = NVML index); [] without a driver."""
    inv = inventory or host_inventory()
    return [Gpu(g.index, g.index, g.name, g.uuid, g.memory_total_mib) for g in inv.gpus]


def visible_gpus(
    environ: Mapping[str, str] | None = None, inventory: HostInventory | None = None
) -> list[Gpu]:
    """The GPUs CUDA will see, numbered as CUDA numbers them (``CUDA_VISIBLE_DEVICES`` applied:
    NVML indices or UUID prefixes, the list ending at the first entry that matches none, as the
    CUDA runtime does)."""
    env = os.environ if environ is None else environ
    gpus = host_gpus(inventory)
    spec = env.get("CUDA_VISIBLE_DEVICES")
    if spec is None:
        return gpus
    chosen: list[Gpu] = []
    for entry in (e.strip() for e in spec.split(",")):
        match = _match(entry, gpus)
        if match is None or match in chosen:
            break
        chosen.append(match)
    return [Gpu(k, g.nvml_index, g.name, g.uuid, g.memory_mib) for k, g in enumerate(chosen)]


def _match(entry: str, gpus: list[Gpu]) -> Gpu | None:
    if entry.isdigit():
        return next((g for g in gpus if g.nvml_index == int(entry)), None)
    if entry.startswith("GPU-"):
        found = [g for g in gpus if g.uuid.startswith(entry)]
        return found[0] if len(found) == 1 else None
    return None


def resolve(
    selection: DeviceSelection,
    inventory: HostInventory | None = None,
    environ: Mapping[str, str] | None = None,
) -> tuple[UsedDevice, ...]:
    """The devices a run with ``selection`` will use on the host ``inventory`` describes (this
    one by default), or a DeviceError naming what is missing. Cheap (the inventory is read once
    per process): callers check it before any download or model load."""
    inv = inventory or host_inventory()
    if selection.kind is DeviceKind.CPU:
        return (UsedDevice(DeviceKind.CPU, None, inv.cpu_model),)
    gpus = visible_gpus(environ, inv)
    if not gpus:
        raise DeviceError("--device cuda: this machine has no NVIDIA GPU that CUDA can see", hint=NO_GPU_HINT)
    wanted = selection.indices if selection.indices is not None else tuple(g.ordinal for g in gpus)
    missing = [i for i in wanted if i >= len(gpus)]
    if missing:
        raise DeviceError(
            f"--device {selection}: no GPU {', '.join(map(str, missing))} here "
            f"(visible: {', '.join(str(g.ordinal) for g in gpus)})",
            hint=f"pick among cuda:0..{len(gpus) - 1}, or --device cuda for all of them",
        )
    return tuple(
        UsedDevice(DeviceKind.CUDA, g.ordinal, g.name, g.uuid, g.memory_mib)
        for g in (gpus[i] for i in wanted)
    )
