"""``cuda-stack --venv NAME``: the CUDA runtime, cuDNN, TensorRT, onnxruntime-gpu and a CUDA torch
from NVIDIA's and PyTorch's wheels into a named venv, matched to the driver's CUDA major; then
proof that they load (onnxruntime runs a tiny graph on the CUDA provider, torch sees the GPU).
No hand-fetched tarballs (the complaint CM users raise most: mlcommons/inference#1858)."""

from __future__ import annotations

import json
import shutil
from dataclasses import dataclass
from pathlib import Path

from crowdperf.automation.probe import run_tool
from crowdperf.automation.recipe import Artifact, Recipe, RecipeContext, RecipeOption
from crowdperf.automation.recipes.frameworks import onnx_probe_graph
from crowdperf.automation.recipes.python_venv import find_interpreters
from crowdperf.automation.versions import parse_version
from crowdperf.errors import DeviceError, RecipeError, UsageError
from crowdperf.names import child_path
from crowdperf.system import nvml

# Wheel names per CUDA major (PyPI, 2026): CUDA 13 dropped the -cu13 suffix for the runtime
# ("nvidia-cuda-runtime-cu13 ... DEPRECATED: use nvidia-cuda-runtime"); cuDNN and TensorRT keep it.
WHEELS = {
    12: ("nvidia-cuda-runtime-cu12>=12.0,<13", "nvidia-cudnn-cu12>=9,<10", "tensorrt-cu12"),
    13: ("nvidia-cuda-runtime>=13.0,<14", "nvidia-cudnn-cu13>=9,<10", "tensorrt-cu13"),
}
# onnxruntime-gpu's [cuda,cudnn] extras pull the CUDA libraries it was built against, so its
# provider loads whatever the venv's other wheels are; a newer driver runs older CUDA majors.
ONNXRUNTIME = "onnxruntime-gpu[cuda,cudnn]>=1.19"
TORCH_INDEX = {12: "https://download.pytorch.org/whl/cu126", 13: "https://download.pytorch.org/whl/cu130"}
SUPPORTED = sorted(WHEELS)


@dataclass(frozen=True)
class WheelPlan:
    cuda_major: int
    requirements: tuple[str, ...]
    torch_requirement: str | None
    torch_index_url: str | None
    notes: tuple[str, ...]


def plan_wheels(driver_cuda: str, *, torch: bool = True, tensorrt: bool = True) -> WheelPlan:
    """Which wheels to install for a driver that supports CUDA ``driver_cuda`` (e.g. "13.0")."""
    version = parse_version(driver_cuda)
    if version is None:
        raise UsageError(f"driver CUDA version {driver_cuda!r} is not a version")
    major, notes = version.major, []
    if major < SUPPORTED[0]:
        raise RecipeError(
            f"the NVIDIA driver supports CUDA {driver_cuda}; NVIDIA's PyPI wheels need CUDA {SUPPORTED[0]}+",
            hint="update the NVIDIA driver (R525 or newer for CUDA 12)",
        )
    if major > SUPPORTED[-1]:
        notes.append(f"driver supports CUDA {major}; using the newest known wheels, CUDA {SUPPORTED[-1]}")
        major = SUPPORTED[-1]
    runtime, cudnn, trt = WHEELS[major]
    requirements = (runtime, cudnn, *((trt,) if tensorrt else ()), ONNXRUNTIME)
    return WheelPlan(
        major, requirements, "torch" if torch else None, TORCH_INDEX[major] if torch else None, tuple(notes)
    )


PROOF = r"""
import json, sys
from importlib import metadata
out = {"versions": {}}
for dist in sys.argv[2:]:
    try:
        out["versions"][dist] = metadata.version(dist)
    except metadata.PackageNotFoundError:
        out["versions"][dist] = None
import numpy as np, onnxruntime as ort
if hasattr(ort, "preload_dlls"):
    ort.preload_dlls()
out["providers"] = ort.get_available_providers()
s = ort.InferenceSession(sys.argv[1], providers=["CUDAExecutionProvider"])
y = s.run(None, {"x": np.ones(2, dtype="float32")})[0]
out["session_providers"] = s.get_providers()
out["graph_ok"] = bool((y == 2).all())
try:
    import torch
    out["torch"] = torch.__version__
    out["torch_cuda"] = torch.cuda.is_available()
except ImportError:
    out["torch"] = None
print("PROOF " + json.dumps(out))
"""
CHECKED_DISTS = (
    "nvidia-cuda-runtime",
    "nvidia-cuda-runtime-cu12",
    "nvidia-cudnn-cu12",
    "nvidia-cudnn-cu13",
    "tensorrt-cu12",
    "tensorrt-cu13",
    "onnxruntime-gpu",
    "torch",
)


def prove(python: Path, work_dir: Path) -> dict[str, object]:
    """Run the proof in the venv; DeviceError unless onnxruntime really ran on CUDA."""
    work_dir.mkdir(parents=True, exist_ok=True)
    graph = work_dir / "probe.onnx"
    graph.write_bytes(onnx_probe_graph())
    run = run_tool([str(python), "-c", PROOF, str(graph), *CHECKED_DISTS], timeout=300)
    line = next((ln for ln in run.output.splitlines() if ln.startswith("PROOF ")), None)
    if not run.ok or line is None:
        raise DeviceError(
            f"the CUDA stack in {python.parent.parent} does not load: {run.output.strip()[-400:]}"
        )
    proof = json.loads(line[len("PROOF ") :])
    if proof["session_providers"][0] != "CUDAExecutionProvider" or not proof["graph_ok"]:
        raise DeviceError(f"onnxruntime fell back to {proof['session_providers'][0]} in {python}")
    return proof


class CudaStackRecipe(Recipe):
    name = "cuda-stack"
    tags = frozenset({"get", "install", "cuda-stack", "nvidia-wheels", "cudnn-wheels", "tensorrt-wheels"})
    summary = "CUDA runtime, cuDNN, TensorRT, onnxruntime-gpu and torch wheels in a named venv"
    options = (
        RecipeOption("venv", "name of the venv to install into (created when missing)"),
        RecipeOption("no_torch", "leave torch out", is_flag=True),
        RecipeOption("no_tensorrt", "leave TensorRT out", is_flag=True),
    )

    def _venv(self, ctx: RecipeContext) -> Path:
        return child_path(ctx.settings.cache_dir / "venvs", ctx.option("venv") or "crowdperf-cuda", "--venv")

    def detect(self, ctx: RecipeContext) -> Artifact:
        python = self._venv(ctx) / "bin" / "python"
        if not python.exists():
            raise RecipeError(f"no venv at {python.parent.parent}")
        return self._artifact(ctx, python, prove(python, ctx.settings.cache_dir / "tools"), None)

    def can_install(self, ctx: RecipeContext) -> bool:
        return True

    def install(self, ctx: RecipeContext) -> Artifact:
        driver = nvml.driver_info()  # DeviceError without a driver: nothing to match the wheels to
        if driver.cuda_version is None:
            raise DeviceError("could not read the driver's CUDA version through NVML")
        plan = plan_wheels(
            driver.cuda_version, torch=not ctx.flag("no_torch"), tensorrt=not ctx.flag("no_tensorrt")
        )
        venv = self._venv(ctx)
        created = not venv.exists()
        try:
            if created:
                _create_venv(venv)
            python = venv / "bin" / "python"
            _pip(python, [*plan.requirements])
            if plan.torch_requirement:
                _pip(python, [plan.torch_requirement, "--index-url", str(plan.torch_index_url)])
            proof = prove(python, ctx.work_dir)
        except BaseException:
            if created:
                shutil.rmtree(venv, ignore_errors=True)
            raise
        return self._artifact(ctx, python, proof, plan)

    def _artifact(self, ctx: RecipeContext, python: Path, proof: dict, plan: WheelPlan | None) -> Artifact:
        versions = {k: v for k, v in proof["versions"].items() if v}
        runtime = versions.get("nvidia-cuda-runtime") or versions.get("nvidia-cuda-runtime-cu12")
        meta = {"proof": proof, "plan": plan.__dict__ if plan else None}
        return Artifact(
            self.name,
            runtime,
            {"venv": python.parent.parent, "python": python},
            tuple(sorted(self.tags)),
            (),
            meta,
            "cache-install",
        )


def _create_venv(venv: Path) -> None:
    interpreters = find_interpreters()
    if not interpreters:
        raise RecipeError("no Python interpreter found to create the venv")
    run = run_tool([str(interpreters[0].path), "-m", "venv", str(venv)], timeout=600)
    if not run.ok:
        raise RecipeError(f"creating {venv} failed: {run.output.strip()[-300:]}")


def _pip(python: Path, args: list[str]) -> None:
    run = run_tool([str(python), "-m", "pip", "install", "--disable-pip-version-check", *args], timeout=3600)
    if not run.ok:
        raise RecipeError(
            f"pip install {' '.join(args)} failed: {run.output.strip()[-400:]}",
            hint="check network access to PyPI (and download.pytorch.org for torch)",
        )
