"""PyTorch: CPU or CUDA, fp32 / bf16 / fp16. torch is the optional extra ``crowdperf[torch]``."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

from crowdperf.backends.base import Backend, BackendConfig, BackendInfo, FeatureBatch
from crowdperf.backends.cuda_graphs import CudaGraphRunner
from crowdperf.backends.packed_runner import PackedRunner, varlen_available
from crowdperf.errors import BackendError, DeviceError, MissingInputError, UsageError
from crowdperf.precision import Precision
from crowdperf.system.cpu import cpu_name, physical_cores
from crowdperf.system.devices import DeviceKind

# The official model.pytorch must carry these (the reference loads it with strict=False).
REQUIRED_KEYS = ("bert.embeddings.word_embeddings.weight", "qa_outputs.weight", "qa_outputs.bias")


def _import_torch() -> Any:
    try:
        import torch
    except ImportError as exc:
        raise BackendError(
            "the pytorch backend needs torch, which is not installed",
            hint="pip install 'crowdperf[torch]' (or use --backend onnxruntime)",
        ) from exc
    return torch


class PyTorchBackend(Backend):
    name = "pytorch"

    def __init__(self) -> None:
        self._model: Any = None
        self._device: Any = None
        self._graphs: CudaGraphRunner | None = None
        self._packed: PackedRunner | None = None
        self._cuda_graphs = False

    def load(self, config: BackendConfig) -> BackendInfo:
        torch = _import_torch()
        from crowdperf.workloads.bert.torch_model import BertForQuestionAnswering, config_from_state_dict

        dtype = _dtype(torch, config.precision, config.device)
        if config.device is DeviceKind.CUDA:
            if not torch.cuda.is_available():
                raise DeviceError(
                    f"torch {torch.__version__} cannot use CUDA here (no GPU, no driver, or a CPU build)",
                    hint="install a CUDA build of torch on a machine with an NVIDIA GPU, or use --device cpu",
                )
            device = torch.device("cuda:0")
            device_name = torch.cuda.get_device_name(0)
            torch.backends.cuda.matmul.allow_tf32 = False  # fp32 means fp32 (accuracy is measured)
        else:
            device = torch.device("cpu")
            device_name = cpu_name()
            torch.set_num_threads(config.threads or physical_cores())
        state, cfg = _read_state(torch, config.model_path)
        model = BertForQuestionAnswering(cfg or config_from_state_dict(state))
        missing, _unexpected = model.load_state_dict(state, strict=False)
        needed = [k for k in missing if k.startswith(("bert.", "qa_outputs."))]
        if needed:
            raise BackendError(
                f"{config.model_path} lacks {len(needed)} BERT weights (first: {needed[0]})",
                hint="pass a BertForQuestionAnswering state dict (e.g. MLPerf's model.pytorch)",
            )
        self._model = model.to(device=device, dtype=dtype).eval()
        self._device = device
        provider = f"torch:{device}"
        self._cuda_graphs = config.cuda_graphs
        if config.device is DeviceKind.CUDA:
            half = config.precision in (Precision.FP16, Precision.BF16)  # flash attention's dtypes
            if config.pack_sequences and half and varlen_available(torch):
                self._packed = PackedRunner(torch, self._model, device, max_len=model.max_positions)
                provider += " (packed sequences" + (", CUDA graphs)" if config.cuda_graphs else ")")
            elif config.cuda_graphs:
                self._graphs = CudaGraphRunner(torch, self._model, device, max_width=model.max_positions)
                provider += " (CUDA graphs)"
        return BackendInfo(
            name=self.name,
            version=torch.__version__,
            device=config.device,
            precision=config.precision,
            execution_provider=provider,
            device_name=device_name,
        )

    @property
    def pads_batches(self) -> bool:
        return self._packed is None

    def prepare(self, max_batch: int, widths: Sequence[int]) -> None:
        if self._packed is not None and self._cuda_graphs:
            self._packed.prepare(max_batch, widths)
        elif self._graphs is not None:
            self._graphs.prepare(max_batch, widths)

    def run(self, batch: FeatureBatch) -> np.ndarray:
        if self._model is None:
            raise BackendError("pytorch backend used before load()")
        if self._packed is not None:
            return self._packed.run(batch)
        if self._graphs is not None:
            logits = self._graphs.run(batch)
            if logits is not None:
                return logits
        import torch

        with torch.inference_mode():
            ids = torch.from_numpy(batch.input_ids).to(self._device, non_blocking=True)
            mask = torch.from_numpy(batch.input_mask).to(self._device, non_blocking=True)
            seg = torch.from_numpy(batch.segment_ids).to(self._device, non_blocking=True)
            logits = self._model(ids, mask, seg)  # (batch, seq, 2)
            return logits.float().cpu().numpy()

    def close(self) -> None:
        self._model = None
        self._graphs = self._packed = None


def _dtype(torch: Any, precision: Precision, device: DeviceKind) -> Any:
    if precision is Precision.FP32:
        return torch.float32
    if precision is Precision.BF16:
        return torch.bfloat16
    if precision is Precision.FP16 and device is DeviceKind.CUDA:
        return torch.float16
    supported = "fp32, bf16, fp16 (cuda)" if device is DeviceKind.CUDA else "fp32, bf16"
    raise UsageError(
        f"the pytorch backend does not run {precision.value} on {device.value}",
        hint=f"use --precision one of: {supported}",
    )


def _read_state(torch: Any, path: Path) -> tuple[dict[str, Any], Any]:
    if not path.is_file():
        raise MissingInputError(f"model file not found: {path}", hint="pass --model-path")
    if path.suffix == ".npz":
        from crowdperf.workloads.bert.weights import load_config, load_weights

        return {k: torch.from_numpy(v) for k, v in load_weights(path).items()}, load_config(path)
    try:
        state = torch.load(path, map_location="cpu", weights_only=True)
    except Exception as exc:  # pickle / zip errors of a corrupt or foreign file
        raise BackendError(
            f"torch could not read {path}: {exc}", hint="pass a PyTorch state dict file"
        ) from exc
    if isinstance(state, dict) and "model" in state and isinstance(state["model"], dict):
        state = state["model"]
    if not isinstance(state, dict) or not all(k in state for k in REQUIRED_KEYS):
        raise BackendError(f"{path} is not a BertForQuestionAnswering state dict", hint="pass model.pytorch")
    return state, None
