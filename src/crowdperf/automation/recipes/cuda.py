"""``cuda``: the toolkit (nvcc) or only the runtime library (libcudart from the system or from pip
``nvidia-*`` wheels), plus the driver version when a driver is present."""

from __future__ import annotations

import ctypes
import re
from pathlib import Path

from crowdperf.automation.probe import dist_files_matching, dist_version, find_libs, run_tool, which
from crowdperf.automation.recipe import Artifact, Recipe, RecipeContext, RecipeOption, VariationGroup
from crowdperf.errors import DeviceError, RecipeError
from crowdperf.system import nvml

CUDART_DISTS = ("nvidia-cuda-runtime", "nvidia-cuda-runtime-cu13", "nvidia-cuda-runtime-cu12")


def nvcc_candidates() -> list[Path]:
    found = [p for p in (which("nvcc"),) if p]
    found += sorted(Path("/usr/local").glob("cuda*/bin/nvcc"), reverse=True)
    return found


def cuda_home(nvcc: Path, version: str) -> Path:
    """The toolkit folder of ``nvcc``; a wrapper script (/usr/local/bin/nvcc) is traced to the
    /usr/local/cuda-* folder whose nvcc reports the same version."""
    home = nvcc.resolve().parent.parent
    if (home / "include" / "cuda_runtime_api.h").exists():
        return home
    for other in sorted(Path("/usr/local").glob("cuda*/bin/nvcc"), reverse=True):
        if other.resolve() != nvcc.resolve() and nvcc_version(other) == version:
            return other.resolve().parent.parent
    return home


def nvcc_version(nvcc: Path) -> str | None:
    run = run_tool([str(nvcc), "--version"])
    match = re.search(r"release [\d.]+, V([\d.]+)", run.output) if run.ok else None
    return match.group(1) if match else None


def cudart_version(lib: Path) -> str | None:
    """cudaRuntimeGetVersion() needs no GPU: 13000 -> 13.0."""
    try:
        cudart = ctypes.CDLL(str(lib))
        value = ctypes.c_int(0)
        if cudart.cudaRuntimeGetVersion(ctypes.byref(value)) != 0:
            return None
    except (OSError, AttributeError):
        return None
    return f"{value.value // 1000}.{(value.value % 1000) // 10}"


def find_cudart() -> list[tuple[Path, str]]:
    """[(libcudart path, "pip <dist> <ver>" | "system")], pip wheels first."""
    found: list[tuple[Path, str]] = []
    for dist in CUDART_DISTS:
        for lib in dist_files_matching(dist, r"libcudart\.so\.\d+$"):
            found.append((lib, f"pip {dist} {dist_version(dist)[1]}"))  # type: ignore[index]
    found += [(lib, "system") for lib in find_libs("libcudart.so") if re.search(r"\.so\.\d+$", lib.name)]
    return found


def driver_metadata() -> dict[str, object]:
    try:
        info = nvml.driver_info()
    except DeviceError as exc:
        return {"driver": None, "driver_note": exc.message}
    return {"driver": info.version, "driver_cuda": info.cuda_version, "driver_via": info.via}


class CudaRecipe(Recipe):
    name = "cuda"
    tags = frozenset({"get", "cuda", "cuda-compiler", "toolkit", "nvcc", "cudart"})
    summary = "CUDA toolkit (nvcc) or runtime library, and the driver version"
    variation_groups = (VariationGroup("install-type", ("toolkit", "lib-only"), default="toolkit"),)
    options = (RecipeOption("path", "a CUDA home (dir with bin/nvcc) or a libcudart file", is_path=True),)

    def detect(self, ctx: RecipeContext) -> Artifact:
        if "lib-only" in ctx.variations:
            return self._detect_lib(ctx)
        return self._detect_toolkit(ctx)

    def _detect_toolkit(self, ctx: RecipeContext) -> Artifact:
        given = ctx.option("path")
        candidates = [Path(given) / "bin" / "nvcc"] if given else nvcc_candidates()
        tried = []
        for nvcc in candidates:
            version = nvcc_version(nvcc) if nvcc.exists() else None
            tried.append(f"{nvcc} ({version or 'missing'})")
            if version and ctx.constraint.allows(version):
                home = cuda_home(nvcc, version)
                paths = {"nvcc": nvcc.resolve(), "cuda_home": home}
                if (home / "include" / "cuda_runtime_api.h").exists():
                    paths["include"] = home / "include"
                libs = [
                    lib
                    for lib in find_libs("libcudart.so", [home / "lib64", home / "lib"])
                    if str(lib.resolve()).startswith(str(home.resolve()))
                ]
                if libs:
                    paths["libcudart"] = libs[0]
                return Artifact(
                    self.name,
                    version,
                    paths,
                    tuple(sorted(self.tags)),
                    ("toolkit",),
                    driver_metadata(),
                    "system",
                )
        raise RecipeError(
            "no CUDA toolkit (nvcc) found"
            + (f" matching {ctx.constraint.describe()}" if tried else "")
            + (f"; tried {', '.join(tried)}" if tried else ""),
            hint="install the CUDA toolkit, pass --path CUDA_HOME, or use `crowdperf get cuda _lib-only`",
        )

    def _detect_lib(self, ctx: RecipeContext) -> Artifact:
        given = ctx.option("path")
        found = [(Path(given), "given")] if given else find_cudart()
        tried = []
        for lib, origin in found:
            version = cudart_version(lib)
            tried.append(f"{lib} ({version or 'unloadable'})")
            if version and ctx.constraint.allows(version):
                meta = {"origin": origin, **driver_metadata()}
                return Artifact(
                    self.name,
                    version,
                    {"libcudart": lib.resolve()},
                    tuple(sorted(self.tags)),
                    ("lib-only",),
                    meta,
                    "pip" if origin.startswith("pip") else "system",
                )
        raise RecipeError(
            "no CUDA runtime library (libcudart) found" + (f"; tried {', '.join(tried)}" if tried else ""),
            hint="pip install nvidia-cuda-runtime-cu12 (or nvidia-cuda-runtime for CUDA 13), or install CUDA",
        )
