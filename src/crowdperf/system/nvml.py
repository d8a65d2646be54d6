"""NVIDIA driver and GPUs through NVML (``nvidia-ml-py``): the one module that calls NVML.

Facts (``driver_info``, ``devices``) and, for the power meter (``crowdperf.meters.nvml_meter``),
board power and energy of some GPUs while a session stays open (``gpu_power_reader``).
``nvidia-smi`` is the fallback for the driver version when NVML cannot load. Failures map to
DeviceError with a one-line reason; ``host_gpus`` is the quiet form (no driver: no GPU). NVML
numbers every GPU of the host and ignores ``CUDA_VISIBLE_DEVICES`` (``system.accelerators`` maps
its indices onto CUDA's ordinals).
"""

from __future__ import annotations

import shutil
import subprocess
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

from crowdperf.errors import DeviceError

NO_DRIVER_HINT = "run on a machine with an NVIDIA GPU and its driver (nvidia-smi must work)"
MAX_NVLINKS = 18  # NVML_NVLINK_MAX_LINKS of nvml.h (Hopper); older parts report fewer


@dataclass(frozen=True)
class DriverInfo:
    version: str  # e.g. 580.159.03
    cuda_version: str | None  # highest CUDA the driver supports, e.g. 13.0
    via: str  # "nvml" | "nvidia-smi"


@dataclass(frozen=True)
class NvmlDevice:
    """One GPU of the host as NVML reports it (``index`` is NVML's, not CUDA's)."""

    index: int
    name: str
    uuid: str
    pci_bus_id: str
    compute_capability: str
    memory_total_mib: int
    sm_count: int | None = None
    max_sm_clock_mhz: int | None = None
    max_mem_clock_mhz: int | None = None
    pcie_generation: int | None = None  # the link's maximum, not its current (idle) state
    pcie_width: int | None = None
    nvlinks_active: int = 0


@contextmanager
def _session() -> Iterator[Any]:  # yields module pynvml, initialised; shut down afterwards
    try:
        import pynvml
    except ImportError as exc:
        raise DeviceError("nvidia-ml-py is not installed", hint="pip install nvidia-ml-py") from exc
    try:
        pynvml.nvmlInit()
    except pynvml.NVMLError as exc:
        raise DeviceError(f"no NVIDIA driver found (NVML: {exc})", hint=NO_DRIVER_HINT) from exc
    try:
        yield pynvml
    finally:
        pynvml.nvmlShutdown()


def _text(value: object) -> str:
    return value.decode() if isinstance(value, bytes) else str(value)


def driver_info() -> DriverInfo:
    try:
        with _session() as nv:
            version = _text(nv.nvmlSystemGetDriverVersion())
            cuda = nv.nvmlSystemGetCudaDriverVersion_v2()
            return DriverInfo(version, f"{cuda // 1000}.{(cuda % 1000) // 10}", "nvml")
    except DeviceError:
        return _driver_from_smi()


def _driver_from_smi() -> DriverInfo:
    smi = shutil.which("nvidia-smi")
    lines: list[str] = []
    if smi is not None:
        try:
            run = subprocess.run(
                [smi, "--query-gpu=driver_version", "--format=csv,noheader"],
                capture_output=True,
                text=True,
                timeout=30,
                check=False,
            )
            lines = run.stdout.strip().splitlines() if run.returncode == 0 else []
        except (OSError, subprocess.SubprocessError):
            lines = []
    if not lines:
        raise DeviceError(
            "no NVIDIA driver found (NVML could not load and nvidia-smi is absent or failed)",
            hint=NO_DRIVER_HINT,
        )
    return DriverInfo(lines[0].strip(), None, "nvidia-smi")


def devices() -> list[NvmlDevice]:
    """Every GPU of the host in NVML's order; DeviceError without a driver or without a GPU."""
    with _session() as nv:
        count = nv.nvmlDeviceGetCount()
        if count == 0:
            raise DeviceError("the NVIDIA driver is loaded but reports no GPU", hint=NO_DRIVER_HINT)
        try:
            return [_device(nv, i) for i in range(count)]
        except nv.NVMLError as exc:  # e.g. a GPU fallen off the bus: NVML_ERROR_GPU_IS_LOST
            raise DeviceError(f"NVML could not read the GPUs: {exc}", hint=NO_DRIVER_HINT) from exc


def host_gpus() -> tuple[NvmlDevice, ...]:
    """Every GPU of the host, or () when there is no NVML library, driver or readable GPU (then
    ``--device cuda`` fails with DeviceError, and ``crowdperf get cuda-devices`` says why)."""
    try:
        return tuple(devices())
    except DeviceError:
        return ()


def _optional(nv: Any, name: str, *args: Any) -> Any:  # NVML calls some GPUs, drivers or bindings lack
    try:
        return getattr(nv, name)(*args)
    except Exception:
        return None


def _nvlinks_active(nv: Any, handle: Any) -> int:
    active = 0
    for link in range(MAX_NVLINKS):
        state = _optional(nv, "nvmlDeviceGetNvLinkState", handle, link)
        if state is None:  # NVML_ERROR_INVALID_ARGUMENT past the part's last link, or no NVLink
            break
        active += state == nv.NVML_FEATURE_ENABLED
    return active


def _device(nv: Any, index: int) -> NvmlDevice:
    handle = nv.nvmlDeviceGetHandleByIndex(index)
    major, minor = nv.nvmlDeviceGetCudaComputeCapability(handle)
    attrs = _optional(nv, "nvmlDeviceGetAttributes", handle)
    return NvmlDevice(
        index=index,
        name=_text(nv.nvmlDeviceGetName(handle)),
        uuid=_text(nv.nvmlDeviceGetUUID(handle)),
        pci_bus_id=_text(nv.nvmlDeviceGetPciInfo(handle).busId),
        compute_capability=f"{major}.{minor}",
        memory_total_mib=int(nv.nvmlDeviceGetMemoryInfo(handle).total) // (1 << 20),
        sm_count=getattr(attrs, "multiprocessorCount", None),
        max_sm_clock_mhz=_optional(nv, "nvmlDeviceGetMaxClockInfo", handle, nv.NVML_CLOCK_SM),
        max_mem_clock_mhz=_optional(nv, "nvmlDeviceGetMaxClockInfo", handle, nv.NVML_CLOCK_MEM),
        pcie_generation=_optional(nv, "nvmlDeviceGetMaxPcieLinkGeneration", handle),
        pcie_width=_optional(nv, "nvmlDeviceGetMaxPcieLinkWidth", handle),
        nvlinks_active=_nvlinks_active(nv, handle),
    )


def normalise_bus_id(bus_id: str) -> str:
    """NVML says 00000000:01:00.0, CUDA says 0000:01:00.0: compare bus:device.function."""
    return ":".join(bus_id.lower().split(":")[-2:])


@dataclass(frozen=True)
class BoardPower:
    """One reading of one GPU board. ``power_w``: ``nvmlDeviceGetPowerUsage`` (mW; on Ampere and
    later the driver's average over its last second, not an instant value); ``energy_j``:
    ``nvmlDeviceGetTotalEnergyConsumption`` (mJ since the driver loaded; Volta and later), None
    where the GPU lacks it."""

    power_w: float | None
    energy_j: float | None


class GpuPowerReader:
    """Reads board power and energy of some GPUs; valid only inside ``gpu_power_reader``."""

    def __init__(self, nv: Any, handles: Sequence[Any]) -> None:
        self._nv = nv
        self._handles = tuple(handles)
        self.has_energy_counter = tuple(
            _optional(nv, "nvmlDeviceGetTotalEnergyConsumption", h) is not None for h in self._handles
        )

    def read(self) -> tuple[BoardPower, ...]:
        """One reading per GPU, in the order they were named; an NVML failure (a GPU lost
        mid-run) raises DeviceError."""
        try:
            pairs = zip(self._handles, self.has_energy_counter, strict=True)
            return tuple(self._read(handle, counter) for handle, counter in pairs)
        except self._nv.NVMLError as exc:
            raise DeviceError(f"NVML stopped answering: {exc}", hint=NO_DRIVER_HINT) from exc

    def _read(self, handle: Any, counter: bool) -> BoardPower:
        nv = self._nv
        energy = nv.nvmlDeviceGetTotalEnergyConsumption(handle) / 1000.0 if counter else None
        power = _optional(nv, "nvmlDeviceGetPowerUsage", handle)
        return BoardPower(None if power is None else power / 1000.0, energy)


@contextmanager
def gpu_power_reader(uuids: Sequence[str]) -> Iterator[GpuPowerReader]:
    """NVML open for the GPUs with ``uuids`` (NVML's handles by UUID: immune to
    ``CUDA_VISIBLE_DEVICES`` renumbering); DeviceError when NVML or a GPU is not there."""
    with _session() as nv:
        try:
            handles = [nv.nvmlDeviceGetHandleByUUID(u) for u in uuids]
        except nv.NVMLError as exc:
            raise DeviceError(f"NVML has no GPU with UUID among {', '.join(uuids)}: {exc}") from exc
        yield GpuPowerReader(nv, handles)
