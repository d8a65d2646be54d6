"""A small CUDA device-query program (as the seed's ``get cuda-devices`` compiles), built with nvcc
into the cache and run; its per-GPU lines are parsed into :class:`QueriedDevice`."""

from __future__ import annotations

import hashlib
import os
from dataclasses import dataclass
from pathlib import Path

from crowdperf.automation.probe import run_tool
from crowdperf.errors import DeviceError, RecipeError

# Attributes via cudaDeviceGetAttribute: CUDA 13 removed clockRate/memoryClockRate from cudaDeviceProp.
SOURCE = r"""
#include <cstdio>
#include <cuda_runtime.h>
static int attr(cudaDeviceAttr a, int dev) { int v = -1; cudaDeviceGetAttribute(&v, a, dev); return v; }
int main() {
  int driver = 0, runtime = 0, count = 0;
  cudaDriverGetVersion(&driver);
  cudaRuntimeGetVersion(&runtime);
  cudaError_t err = cudaGetDeviceCount(&count);
  printf("versions\t%d\t%d\n", driver, runtime);
  if (err != cudaSuccess) { printf("error\t%d\t%s\n", (int)err, cudaGetErrorString(err)); return 2; }
  for (int d = 0; d < count; ++d) {
    cudaDeviceProp p; cudaGetDeviceProperties(&p, d);
    char bus[32] = {0}; cudaDeviceGetPCIBusId(bus, sizeof bus, d);
    printf("device\t%d\t%s\t%s\t%d.%d\t%zu\t%d\t%d\t%d\n", d, p.name, bus, p.major, p.minor,
           p.totalGlobalMem, p.multiProcessorCount, attr(cudaDevAttrClockRate, d),
           attr(cudaDevAttrMemoryClockRate, d));
  }
  return 0;
}
"""


@dataclass(frozen=True)
class QueriedDevice:
    index: int
    name: str
    pci_bus_id: str
    compute_capability: str
    memory_total_mib: int
    sm_count: int
    max_sm_clock_mhz: int
    max_mem_clock_mhz: int


@dataclass(frozen=True)
class DeviceQuery:
    driver_version: str  # CUDA version the driver supports, e.g. 13.0
    runtime_version: str
    devices: tuple[QueriedDevice, ...]


def build(nvcc: Path, tools_dir: Path) -> Path:
    """Compile once per (nvcc, source); the binary is written under a temp name and renamed."""
    digest = hashlib.sha256((str(nvcc.resolve()) + SOURCE).encode()).hexdigest()[:12]
    binary = tools_dir / f"device-query-{digest}"
    if binary.exists():
        return binary
    tools_dir.mkdir(parents=True, exist_ok=True)
    source = tools_dir / f"device-query-{digest}.cu"
    source.write_text(SOURCE)
    partial = tools_dir / f".device-query-{digest}.{os.getpid()}"
    run = run_tool([str(nvcc), "-O2", "-o", str(partial), str(source)], timeout=300)
    if not run.ok:
        partial.unlink(missing_ok=True)
        raise RecipeError(f"nvcc could not build the device query: {run.output.strip()[-300:]}")
    partial.rename(binary)
    return binary


def _cuda_version(value: str) -> str:
    number = int(value)
    return f"{number // 1000}.{(number % 1000) // 10}"


def parse(output: str) -> DeviceQuery:
    versions, devices, error = ("0", "0"), [], None
    for line in output.splitlines():
        fields = line.split("\t")
        if fields[0] == "versions":
            versions = (fields[1], fields[2])
        elif fields[0] == "error":
            error = fields[2] if len(fields) > 2 else "unknown error"
        elif fields[0] == "device":
            devices.append(
                QueriedDevice(
                    index=int(fields[1]),
                    name=fields[2],
                    pci_bus_id=fields[3],
                    compute_capability=fields[4],
                    memory_total_mib=int(fields[5]) // (1 << 20),
                    sm_count=int(fields[6]),
                    max_sm_clock_mhz=int(fields[7]) // 1000,
                    max_mem_clock_mhz=int(fields[8]) // 1000,
                )
            )
    if error is not None or not devices:
        raise DeviceError(
            f"the CUDA device query found no usable GPU ({error or 'no devices'})",
            hint="run on a machine with an NVIDIA GPU and its driver",
        )
    return DeviceQuery(_cuda_version(versions[0]), _cuda_version(versions[1]), tuple(devices))


def run_query(binary: Path) -> DeviceQuery:
    result = run_tool([str(binary)], timeout=120)
    return parse(result.output)
