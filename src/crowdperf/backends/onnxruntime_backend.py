"""onnxruntime: CPU execution provider, or CUDA when asked and really available."""

from __future__ import annotations

import contextlib
import io
from pathlib import Path
from typing import Any

import numpy as np

from crowdperf.backends.base import Backend, BackendConfig, BackendInfo, FeatureBatch
from crowdperf.errors import BackendError, DeviceError, MissingInputError, UsageError
from crowdperf.precision import Precision
from crowdperf.system.cpu import cpu_name, physical_cores
from crowdperf.system.devices import DeviceKind

CUDA_EP = "CUDAExecutionProvider"
CPU_EP = "CPUExecutionProvider"


class OnnxRuntimeBackend(Backend):
    name = "onnxruntime"

    def __init__(self) -> None:
        self._session = None
        self._feeds: tuple[str, str, str] = ("input_ids", "input_mask", "segment_ids")

    def load(self, config: BackendConfig) -> BackendInfo:
        import onnxruntime as ort

        if config.precision not in (Precision.FP32, Precision.INT8):
            raise UsageError(
                f"onnxruntime runs the fp32 (or int8) ONNX model, not {config.precision.value}",
                hint="use --precision fp32, or --backend pytorch for fp16/bf16",
            )
        if not config.model_path.is_file():
            raise MissingInputError(f"model file not found: {config.model_path}", hint="pass --model-path")
        if config.precision is Precision.INT8 and not _is_quantized(config.model_path):
            raise UsageError(
                f"{config.model_path.name} has no quantized operators: it would run in fp32, not int8",
                hint="pass an int8 ONNX (MLPerf's bert_large_v1_1_fake_quant.onnx, or one made with "
                "onnxruntime.quantization), or use --precision fp32",
            )
        providers: list[str | tuple[str, dict[str, str]]] = [CPU_EP]
        if config.device is DeviceKind.CUDA:
            available = ort.get_available_providers()
            if CUDA_EP not in available:
                raise DeviceError(
                    f"onnxruntime {ort.__version__} has no CUDA execution provider "
                    f"(has {', '.join(available)}); it would run on the CPU",
                    hint="pip install onnxruntime-gpu matching your CUDA (crowdperf get cuda-stack), "
                    "or use --backend pytorch --device cuda",
                )
            # fp32 means fp32 (accuracy is measured): the CUDA EP would use TF32 by default
            providers = [(CUDA_EP, {"use_tf32": "0"})]
            _preload_cuda_libraries(ort)
        opts = ort.SessionOptions()
        opts.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
        opts.execution_mode = ort.ExecutionMode.ORT_SEQUENTIAL
        opts.intra_op_num_threads = config.threads or physical_cores()
        opts.inter_op_num_threads = 1
        opts.log_severity_level = 3
        try:
            session = ort.InferenceSession(str(config.model_path), sess_options=opts, providers=providers)
        except Exception as exc:  # onnxruntime raises its own exception zoo
            raise BackendError(f"onnxruntime could not load {config.model_path}: {exc}") from exc
        used = session.get_providers()[0]
        if config.device is DeviceKind.CUDA and used != CUDA_EP:
            raise DeviceError(
                f"onnxruntime fell back to {used}: the CUDA provider failed to initialise",
                hint="install the CUDA/cuDNN libraries onnxruntime-gpu needs (crowdperf get cuda-stack)",
            )
        names = {i.name for i in session.get_inputs()}
        # the int8 fake-quant model names its inputs as HuggingFace does (reference notes §1.3)
        if {"attention_mask", "token_type_ids"} <= names:
            self._feeds = ("input_ids", "attention_mask", "token_type_ids")
        self._session = session
        device_name = cpu_name() if used == CPU_EP else _cuda_device_name()
        return BackendInfo(
            name=self.name,
            version=ort.__version__,
            device=config.device,
            precision=config.precision,
            execution_provider=used,
            device_name=device_name,
        )

    def run(self, batch: FeatureBatch) -> np.ndarray:
        if self._session is None:
            raise BackendError("onnxruntime backend used before load()")
        ids, mask, seg = self._feeds
        start, end = self._session.run(
            None, {ids: batch.input_ids, mask: batch.input_mask, seg: batch.segment_ids}
        )
        return np.stack([start, end], axis=-1).astype(np.float32, copy=False)  # (batch, seq, 2)

    def close(self) -> None:
        self._session = None


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


def _cuda_device_name() -> str:
    try:
        import pynvml

        pynvml.nvmlInit()
        return str(pynvml.nvmlDeviceGetName(pynvml.nvmlDeviceGetHandleByIndex(0)))
    except Exception:  # NVML missing: the provider still ran on CUDA
        return "cuda:0"
