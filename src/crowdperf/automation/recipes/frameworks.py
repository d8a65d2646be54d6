"""The benchmark's own Python dependencies: ``loadgen``, ``onnxruntime`` (with its providers) and
``torch`` (with CUDA availability), as the running interpreter sees them."""

from __future__ import annotations

import importlib
from pathlib import Path

from crowdperf.automation.probe import dist_version
from crowdperf.automation.recipe import Artifact, Recipe, RecipeContext, VariationGroup
from crowdperf.errors import BackendError, DeviceError

DEVICE = VariationGroup("device", ("cpu", "cuda"), default="cpu")


def _import(module: str, install: str):
    try:
        return importlib.import_module(module)
    except ImportError as exc:
        raise BackendError(f"{module} cannot be imported: {exc}", hint=f"pip install {install}") from exc


class LoadgenRecipe(Recipe):
    name = "loadgen"
    tags = frozenset({"get", "loadgen", "mlperf", "mlperf-inference-loadgen", "mlcommons-loadgen"})
    summary = "MLPerf LoadGen (PyPI mlcommons-loadgen)"

    def detect(self, ctx: RecipeContext) -> Artifact:
        module = _import("mlperf_loadgen", "mlcommons-loadgen")
        found = dist_version("mlcommons-loadgen", "mlcommons_loadgen", "mlperf-loadgen")
        version = found[1] if found else None
        return Artifact(
            self.name,
            version,
            {"module": Path(module.__file__ or "")},
            tuple(sorted(self.tags)),
            (),
            {"distribution": found[0] if found else None},
            "pip",
        )


def onnx_probe_graph() -> bytes:
    """A one-node Add graph, to prove an execution provider really runs (not just listed)."""
    from onnx import TensorProto, helper

    x = helper.make_tensor_value_info("x", TensorProto.FLOAT, [2])
    y = helper.make_tensor_value_info("y", TensorProto.FLOAT, [2])
    graph = helper.make_graph([helper.make_node("Add", ["x", "x"], ["y"])], "probe", [x], [y])
    return helper.make_model(graph, opset_imports=[helper.make_opsetid("", 13)]).SerializeToString()


class OnnxruntimeRecipe(Recipe):
    name = "onnxruntime"
    tags = frozenset({"get", "onnxruntime", "ort", "backend"})
    summary = "onnxruntime and its execution providers (_cuda proves the CUDA EP runs)"
    variation_groups = (DEVICE,)

    def detect(self, ctx: RecipeContext) -> Artifact:
        ort = _import("onnxruntime", "onnxruntime (or onnxruntime-gpu for CUDA)")
        providers = list(ort.get_available_providers())
        meta: dict[str, object] = {
            "providers": providers,
            "distribution": (dist_version("onnxruntime-gpu", "onnxruntime") or ("unknown",))[0],
        }
        if "cuda" in ctx.variations:
            meta["cuda_session_providers"] = self._prove_cuda(ort, providers)
        return Artifact(
            self.name,
            ort.__version__,
            {"module": Path(ort.__file__ or "")},
            tuple(sorted(self.tags)),
            tuple(sorted(ctx.variations)),
            meta,
            "pip",
        )

    @staticmethod
    def _prove_cuda(ort, providers: list[str]) -> list[str]:
        if "CUDAExecutionProvider" not in providers:
            raise DeviceError(
                f"onnxruntime {ort.__version__} has no CUDA execution provider (has {', '.join(providers)})",
                hint="pip install onnxruntime-gpu (and uninstall onnxruntime), or `crowdperf get cuda-stack`",
            )
        try:
            session = ort.InferenceSession(onnx_probe_graph(), providers=["CUDAExecutionProvider"])
            session.run(None, {"x": __import__("numpy").ones(2, dtype="float32")})
        except Exception as exc:
            raise DeviceError(f"the onnxruntime CUDA provider failed to run a graph: {exc}") from exc
        used = list(session.get_providers())
        if used[0] != "CUDAExecutionProvider":
            raise DeviceError(
                f"onnxruntime fell back to {used[0]} instead of CUDA",
                hint="check CUDA/cuDNN libraries: crowdperf get cuda-stack",
            )
        return used


class TorchRecipe(Recipe):
    name = "torch"
    tags = frozenset({"get", "torch", "pytorch", "backend"})
    summary = "PyTorch and whether it sees CUDA (_cuda requires it)"
    variation_groups = (DEVICE,)

    def detect(self, ctx: RecipeContext) -> Artifact:
        torch = _import("torch", "torch")
        cuda_ok = bool(torch.cuda.is_available())
        meta: dict[str, object] = {
            "cuda_available": cuda_ok,
            "cuda_version": torch.version.cuda,
            "device_count": torch.cuda.device_count() if cuda_ok else 0,
        }
        if cuda_ok:
            meta["devices"] = [torch.cuda.get_device_name(i) for i in range(torch.cuda.device_count())]
        if "cuda" in ctx.variations and not cuda_ok:
            build = (
                "a CPU-only build" if torch.version.cuda is None else f"built for CUDA {torch.version.cuda}"
            )
            raise DeviceError(
                f"torch {torch.__version__} cannot use CUDA here ({build})",
                hint="install a CUDA build of torch on a machine with an NVIDIA GPU",
            )
        return Artifact(
            self.name,
            torch.__version__.split("+")[0],
            {"module": Path(torch.__file__ or "")},
            tuple(sorted(self.tags)),
            tuple(sorted(ctx.variations)),
            meta,
            "pip",
        )
