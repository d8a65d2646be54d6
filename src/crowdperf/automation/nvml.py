"""NVIDIA driver and GPUs through NVML (``nvidia-ml-py``), with ``nvidia-smi`` as a fallback for the
driver version. Failures map to DeviceError with a one-line reason."""

from __future__ import annotations

from dataclasses import dataclass

from crowdperf.automation.probe import run_tool, which
from crowdperf.errors import DeviceError

NO_DRIVER_HINT = "run on a machine with an NVIDIA GPU and its driver (nvidia-smi must work)"


@dataclass(frozen=True)
class DriverInfo:
    version: str  # e.g. 580.159.03
    cuda_version: str | None  # highest CUDA the driver supports, e.g. 13.0
    via: str  # "nvml" | "nvidia-smi"


@dataclass(frozen=True)
class NvmlDevice:
    index: int
    name: str
    pci_bus_id: str
    compute_capability: str
    memory_total_mib: int
    sm_count: int | None
    max_sm_clock_mhz: int | None
    max_mem_clock_mhz: int | None


def _nvml():  # -> module pynvml, initialised
    try:
        import pynvml
    except ImportError as exc:
        raise DeviceError("nvidia-ml-py is not installed", hint="pip install nvidia-ml-py") from exc
    try:
        pynvml.nvmlInit()
    except pynvml.NVMLError as exc:
        raise DeviceError(f"no NVIDIA driver found (NVML: {exc})", hint=NO_DRIVER_HINT) from exc
    return pynvml


def _text(value: object) -> str:
    return value.decode() if isinstance(value, bytes) else str(value)


def driver_info() -> DriverInfo:
    try:
        nv = _nvml()
    except DeviceError:
        return _driver_from_smi()
    try:
        version = _text(nv.nvmlSystemGetDriverVersion())
        cuda = nv.nvmlSystemGetCudaDriverVersion_v2()
        return DriverInfo(version, f"{cuda // 1000}.{(cuda % 1000) // 10}", "nvml")
    finally:
        nv.nvmlShutdown()


def _driver_from_smi() -> DriverInfo:
    smi = which("nvidia-smi")
    run = run_tool([str(smi), "--query-gpu=driver_version", "--format=csv,noheader"]) if smi else None
    if run is None or not run.ok or not run.output.strip():
        raise DeviceError(
            "no NVIDIA driver found (NVML could not load and nvidia-smi is absent or failed)",
            hint=NO_DRIVER_HINT,
        )
    return DriverInfo(run.output.strip().splitlines()[0].strip(), None, "nvidia-smi")


def devices() -> list[NvmlDevice]:
    nv = _nvml()
    try:
        count = nv.nvmlDeviceGetCount()
        if count == 0:
            raise DeviceError("the NVIDIA driver is loaded but reports no GPU", hint=NO_DRIVER_HINT)
        return [_device(nv, i) for i in range(count)]
    finally:
        nv.nvmlShutdown()


def _optional(nv, name: str, *args):  # NVML calls some GPUs, drivers or bindings lack
    try:
        return getattr(nv, name)(*args)
    except Exception:
        return None


def _device(nv, index: int) -> NvmlDevice:
    handle = nv.nvmlDeviceGetHandleByIndex(index)
    major, minor = nv.nvmlDeviceGetCudaComputeCapability(handle)
    attrs = _optional(nv, "nvmlDeviceGetAttributes", handle)
    return NvmlDevice(
        index=index,
        name=_text(nv.nvmlDeviceGetName(handle)),
        pci_bus_id=_text(nv.nvmlDeviceGetPciInfo(handle).busId),
        compute_capability=f"{major}.{minor}",
        memory_total_mib=int(nv.nvmlDeviceGetMemoryInfo(handle).total) // (1 << 20),
        sm_count=getattr(attrs, "multiprocessorCount", None),
        max_sm_clock_mhz=_optional(nv, "nvmlDeviceGetMaxClockInfo", handle, nv.NVML_CLOCK_SM),
        max_mem_clock_mhz=_optional(nv, "nvmlDeviceGetMaxClockInfo", handle, nv.NVML_CLOCK_MEM),
    )


def normalise_bus_id(bus_id: str) -> str:
    """NVML says 00000000:01:00.0, CUDA says 0000:01:00.0: compare bus:device.function."""
    return ":".join(bus_id.lower().split(":")[-2:])
