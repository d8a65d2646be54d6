"""The one inventory of this host: CPU, memory, OS, Python and NVIDIA GPUs, detected once per process.

Every consumer takes a ``HostInventory`` (``host_inventory()`` by default): provenance records it,
``system describe`` shows it, and the results' system name and the submission's system
description are built from it *and the devices a run used* (``system.accelerators.resolve``), so a
CPU run on a GPU host is filed without GPUs. A test passes an inventory of another host (a
2 x H200 one, say) instead of faking NVML.
"""

from __future__ import annotations

import functools
import platform
from collections.abc import Mapping
from dataclasses import asdict, dataclass, fields
from typing import Any

from crowdperf.errors import DeviceError
from crowdperf.system import cpu, nvml
from crowdperf.system.nvml import NvmlDevice


@dataclass(frozen=True)
class HostInventory:
    cpu_model: str
    cpu_sockets: int
    cpu_physical_cores: int  # every socket together
    cpu_logical_cores: int  # hardware threads of every socket together (os.cpu_count)
    cpu_max_frequency_mhz: int | None  # None where the kernel reports no cpufreq (many VMs)
    cpu_caches: str | None  # one core's caches, e.g. "L1d 48 KiB, L1i 32 KiB, L2 2048 KiB, ..."
    memory_mib: int
    os_name: str  # os-release PRETTY_NAME, e.g. "Ubuntu 24.04.1 LTS"; else platform.system()
    kernel: str  # platform.release()
    python_version: str
    gpus: tuple[NvmlDevice, ...] = ()  # every NVIDIA GPU of the host, in NVML's order
    gpu_driver_version: str | None = None
    gpu_driver_cuda_version: str | None = None  # the highest CUDA the driver supports

    @property
    def cpu_physical_cores_per_socket(self) -> int:
        return max(1, self.cpu_physical_cores // max(1, self.cpu_sockets))

    @property
    def operating_system(self) -> str:
        return f"{self.os_name} (kernel {self.kernel})" if self.kernel else self.os_name

    def gpu(self, uuid: str | None) -> NvmlDevice | None:
        """The host GPU with this NVML UUID, or None."""
        return next((g for g in self.gpus if uuid and g.uuid == uuid), None)

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> HostInventory:
        """The inverse of ``to_dict`` (e.g. from provenance.json); ValueError when it is not one."""
        try:
            values = {f.name: data[f.name] for f in fields(cls) if f.name in data}
            known = {f.name for f in fields(NvmlDevice)}  # a newer record may say more: skip it
            gpus = tuple(
                NvmlDevice(**{k: v for k, v in g.items() if k in known}) for g in values.pop("gpus", ())
            )
            return cls(**values, gpus=gpus)
        except (TypeError, KeyError, AttributeError) as exc:
            raise ValueError(f"not a host inventory: {exc}") from None


def detect_inventory() -> HostInventory:
    """Read this host now (about 10 ms without GPUs; NVML adds its start-up on a GPU host)."""
    gpus = nvml.host_gpus()
    driver = _driver() if gpus else None
    return HostInventory(
        cpu_model=cpu.cpu_name(),
        cpu_sockets=cpu.sockets(),
        cpu_physical_cores=cpu.physical_cores(),
        cpu_logical_cores=cpu.logical_cores(),
        cpu_max_frequency_mhz=cpu.max_frequency_mhz(),
        cpu_caches=cpu.caches(),
        memory_mib=_memory_mib(),
        os_name=_os_name(),
        kernel=platform.release(),
        python_version=platform.python_version(),
        gpus=gpus,
        gpu_driver_version=driver.version if driver else None,
        gpu_driver_cuda_version=driver.cuda_version if driver else None,
    )


@functools.cache
def host_inventory() -> HostInventory:
    """This host's inventory, detected once per process (hardware does not change under a run)."""
    return detect_inventory()


def _driver() -> nvml.DriverInfo | None:
    try:
        return nvml.driver_info()
    except DeviceError:
        return None


def _memory_mib() -> int:
    import psutil

    return int(psutil.virtual_memory().total) // (1 << 20)


def _os_name() -> str:
    try:
        release = platform.freedesktop_os_release()  # /etc/os-release or /usr/lib/os-release
    except OSError:  # not a freedesktop system (macOS, Windows, a bare container)
        return platform.system() or "unknown"
    return release.get("PRETTY_NAME") or release.get("NAME") or platform.system() or "unknown"
