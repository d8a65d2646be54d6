"""``cuda-devices``: each GPU's name, compute capability, memory, SM count, clocks, and the driver and
runtime versions; from NVML and, where nvcc exists, from a compiled device query, compared."""

from __future__ import annotations

from dataclasses import asdict
from pathlib import Path

from crowdperf.automation.probe import find_libs
from crowdperf.automation.recipe import Artifact, Dependency, Recipe, RecipeContext
from crowdperf.automation.recipes import device_query
from crowdperf.automation.recipes.device_query import DeviceQuery, QueriedDevice
from crowdperf.errors import CrowdperfError
from crowdperf.settings import Settings
from crowdperf.system import nvml

COMPARED = (
    "name",
    "compute_capability",
    "memory_total_mib",
    "sm_count",
    "max_sm_clock_mhz",
    "max_mem_clock_mhz",
)
TOLERANCE = {"memory_total_mib": 0.02, "max_sm_clock_mhz": 0.02, "max_mem_clock_mhz": 0.02}


def _agree(field: str, a: object, b: object) -> bool:
    if a is None or b is None:
        return True  # not reported by one side: nothing to contradict
    if field in TOLERANCE:
        return abs(float(a) - float(b)) <= TOLERANCE[field] * max(float(a), float(b), 1.0)  # type: ignore[arg-type]
    return a == b


def compare(nv: list[nvml.NvmlDevice], query: DeviceQuery) -> list[dict[str, object]]:
    """One row per (GPU, field): NVML's value, the device query's value, whether they agree."""
    by_bus = {nvml.normalise_bus_id(d.pci_bus_id): d for d in query.devices}
    rows: list[dict[str, object]] = []
    for device in nv:
        other: QueriedDevice | None = by_bus.get(nvml.normalise_bus_id(device.pci_bus_id))
        for field in COMPARED:
            mine = getattr(device, field)
            theirs = getattr(other, field) if other else None
            rows.append(
                {
                    "gpu": device.index,
                    "field": field,
                    "nvml": mine,
                    "device_query": theirs,
                    "agree": other is not None and _agree(field, mine, theirs),
                }
            )
    return rows


class CudaDevicesRecipe(Recipe):
    name = "cuda-devices"
    tags = frozenset({"get", "cuda-devices", "gpu", "devices", "device-query"})
    summary = "per-GPU properties through NVML and a compiled CUDA device query"
    dependencies = (Dependency(("get", "cuda", "_toolkit"), key="cuda", optional=True),)

    def precheck(self, settings: Settings) -> None:
        nvml.driver_info()  # DeviceError "no NVIDIA driver" on GPU-less machines

    def detect(self, ctx: RecipeContext) -> Artifact:
        driver = nvml.driver_info()  # DeviceError "no NVIDIA driver" on GPU-less machines
        gpus = nvml.devices()
        meta: dict[str, object] = {
            "driver": driver.version,
            "driver_cuda": driver.cuda_version,
            "devices": [asdict(d) for d in gpus],
        }
        paths: dict[str, Path] = {}
        nvml_libs = find_libs("libnvidia-ml.so")
        if nvml_libs:  # a driver upgrade replaces this file, which makes the cache entry stale
            paths["libnvidia_ml"] = nvml_libs[0].resolve()
        cuda = ctx.deps.get("cuda")
        if cuda is not None and "nvcc" in cuda.paths:
            meta.update(self._device_query(ctx, Path(cuda.paths["nvcc"]), gpus, paths))
        else:
            meta["device_query"] = "skipped: no nvcc (get cuda _toolkit found none)"
        return Artifact(self.name, driver.version, paths, tuple(sorted(self.tags)), (), meta, "nvml")

    def _device_query(
        self, ctx: RecipeContext, nvcc: Path, gpus: list[nvml.NvmlDevice], paths: dict[str, Path]
    ) -> dict[str, object]:
        try:
            binary = device_query.build(nvcc, ctx.settings.cache_dir / "tools")
            query = device_query.run_query(binary)
        except CrowdperfError as exc:
            return {"device_query": f"failed: {exc.message}"}
        paths["device_query"] = binary
        rows = compare(gpus, query)
        return {
            "device_query": "ran",
            "runtime_cuda": query.runtime_version,
            "device_query_driver_cuda": query.driver_version,
            "agreement": rows,
            "all_agree": all(bool(r["agree"]) for r in rows),
        }
