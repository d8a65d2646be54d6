"""onnxruntime: any ONNX graph on the CPU execution provider, or on one GPU through the CUDA
execution provider when asked and really available (never a silent CPU fallback)."""

from __future__ import annotations

import contextlib
import io
from pathlib import Path
from typing import Any

import numpy as np

from crowdperf.backends.base import Arrays, Backend, BackendConfig, BackendInfo, OnnxGraph
from crowdperf.errors import BackendError, DeviceError, MissingInputError, UsageError
from crowdperf.precision import Precision
from crowdperf.system.cpu import physical_cores
from crowdperf.system.devices import DeviceKind

CUDA_EP = "CUDAExecutionProvider"
CPU_EP = "CPUExecutionProvider"


class OnnxRuntimeBackend(Backend):
    name = "onnxruntime"
    artifact = OnnxGraph

    def __init__(self) -> None:
        self._session: Any = None
        self._inputs: tuple[str, ...] = ()
        self._outputs: tuple[str, ...] = ()

    def preflight(self, device: DeviceKind, precision: Precision) -> None:
        ort = _import_onnxruntime()
        _check_precision(precision)
        if device is DeviceKind.CUDA:
            _require_cuda_provider(ort)

    def load(self, config: BackendConfig) -> BackendInfo:
        ort = _import_onnxruntime()
        model = config.model
        if not isinstance(model, OnnxGraph):
            raise UsageError(f"onnxruntime runs ONNX graphs, not {model.label}", hint="use --backend pytorch")
        _check_precision(config.precision)
        if not model.path.is_file():
            raise MissingInputError(f"model file not found: {model.path}", hint="pass --model-path")
        if config.precision is Precision.INT8 and not _is_quantized(model.path):
            raise UsageError(
                f"{model.path.name} has no quantized operators: it would run in fp32, not int8",
                hint="pass an int8 ONNX (MLPerf's bert_large_v1_1_fake_quant.onnx, or one made with "
                "onnxruntime.quantization), or use --precision fp32",
            )
        providers = _providers(ort, config)
        opts = ort.SessionOptions()
        opts.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
        opts.execution_mode = ort.ExecutionMode.ORT_SEQUENTIAL
        opts.intra_op_num_threads = config.threads or physical_cores()
        opts.inter_op_num_threads = 1
        opts.log_severity_level = 3
        try:
            session = ort.InferenceSession(str(model.path), sess_options=opts, providers=providers)
        except Exception as exc:  # onnxruntime raises its own exception zoo
            raise BackendError(f"onnxruntime could not load {model.path}: {exc}") from exc
        used = session.get_providers()[0]
        if config.device.kind is DeviceKind.CUDA and used != CUDA_EP:
            raise DeviceError(
                f"onnxruntime fell back to {used}: the CUDA provider failed to initialise",
                hint="install the CUDA/cuDNN libraries onnxruntime-gpu needs (crowdperf get cuda-stack)",
            )
        self._session = session
        self._inputs = tuple(i.name for i in session.get_inputs())
        self._outputs = tuple(o.name for o in session.get_outputs())
        provider = used if config.device.index is None else f"{used}:{config.device.index}"
        return BackendInfo(self.name, ort.__version__, config.device, config.precision, provider)

    @property
    def input_names(self) -> tuple[str, ...]:
        return self._inputs

    def run(self, inputs: Arrays) -> dict[str, np.ndarray]:
        if self._session is None:
            raise BackendError("onnxruntime backend used before load()")
        outputs = self._session.run(None, dict(inputs))
        return {
            name: out.astype(np.float32, copy=False) if np.issubdtype(out.dtype, np.floating) else out
            for name, out in zip(self._outputs, outputs, strict=True)
        }

    def close(self) -> None:
        self._session = None


def _import_onnxruntime() -> Any:
    try:
        import onnxruntime as ort
    except ImportError as exc:
        raise BackendError(
            "the onnxruntime backend needs onnxruntime, which is not installed",
            hint="pip install onnxruntime (onnxruntime-gpu for --device cuda), or use --backend pytorch",
        ) from exc
    return ort


def _check_precision(precision: Precision) -> None:
    if precision not in (Precision.FP32, Precision.INT8):
        raise UsageError(
            f"onnxruntime runs the fp32 (or int8) ONNX model, not {precision.value}",
            hint="use --precision fp32, or --backend pytorch for fp16/bf16/fp8",
        )


def _require_cuda_provider(ort: Any) -> None:
    available = ort.get_available_providers()
    if CUDA_EP not in available:
        raise DeviceError(
            f"onnxruntime {ort.__version__} has no CUDA execution provider "
            f"(has {', '.join(available)}); it would run on the CPU",
            hint="pip install onnxruntime-gpu matching your CUDA (crowdperf get cuda-stack), "
            "or use --backend pytorch --device cuda",
        )


def _providers(ort: Any, config: BackendConfig) -> list[str | tuple[str, dict[str, str]]]:
    if config.device.kind is not DeviceKind.CUDA:
        return [CPU_EP]
    _require_cuda_provider(ort)
    _preload_cuda_libraries(ort)
    # fp32 means fp32 (accuracy is measured): the CUDA EP would use TF32 by default
    return [(CUDA_EP, {"use_tf32": "0", "device_id": str(config.device.index or 0)})]


# operators that only a quantized graph has (QDQ, dynamic and fused quantized forms)
_QUANTIZED_OPS = {
    "QuantizeLinear", "DequantizeLinear", "DynamicQuantizeLinear", "MatMulInteger", "QLinearMatMul",
    "DynamicQuantizeMatMul", "QAttention", "QGemm", "MatMulIntegerToFloat",
}  # fmt: skip


def _is_quantized(path: Path) -> bool:
    import onnx

    graph = onnx.load(str(path), load_external_data=False).graph
    return any(node.op_type in _QUANTIZED_OPS for node in graph.node)


def _preload_cuda_libraries(ort: Any) -> None:
    """onnxruntime-gpu finds CUDA and cuDNN in pip's nvidia-* packages (also torch's) only once
    they are loaded: ``preload_dlls`` (onnxruntime >= 1.21) loads them; older versions rely on
    LD_LIBRARY_PATH. Its console warnings are swallowed: if a library is still missing, the
    session falls back to CPU and ``load`` raises a DeviceError saying so."""
    preload = getattr(ort, "preload_dlls", None)
    if preload is None:
        return
    with contextlib.redirect_stdout(io.StringIO()), contextlib.suppress(OSError):
        preload()
