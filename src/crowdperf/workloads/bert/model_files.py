"""Model files made from generated weights (offline, deterministic, cached): what ``tiny`` and
``bert-large`` run (workloads/bert/definitions.py)."""

from __future__ import annotations

import os
from pathlib import Path

from crowdperf.errors import UsageError
from crowdperf.settings import Settings
from crowdperf.workloads.bert.assets import AssetSource, ResolvedAsset, recorded_md5
from crowdperf.workloads.bert.model_config import BertModelConfig, GeneratedWeights
from crowdperf.workloads.bert.onnx_export import export_onnx
from crowdperf.workloads.bert.weights import ensure_weights, load_weights


def generated_model_file(
    backend: str, cfg: BertModelConfig, settings: Settings, seed: int = 0, *, int8: bool = False
) -> Path:
    """npz weights (PyTorch) or the ONNX graph built from the same weights (onnxruntime); with
    ``int8`` that graph quantized (onnxruntime only)."""
    npz = ensure_weights(settings.models_dir, cfg, seed)
    if backend == "pytorch" and not int8:
        return npz
    if backend == "onnxruntime":
        onnx_path = npz.with_suffix(".onnx")
        if not onnx_path.is_file():
            export_onnx(cfg, load_weights(npz), onnx_path)
        return quantized_onnx(onnx_path) if int8 else onnx_path
    raise UsageError(
        f"no generated {'int8 ' if int8 else ''}model for backend {backend!r}",
        hint="int8 runs on onnxruntime; pytorch runs fp32, bf16 and fp16"
        if int8
        else "use onnxruntime or pytorch",
    )


def quantized_onnx(fp32_path: Path) -> Path:
    """``<name>.int8.onnx`` beside the fp32 graph: onnxruntime's dynamic quantization (int8
    weights per output channel, activations quantized per batch at run time: MatMulInteger,
    VNNI on x86), made once, written under a temp name and renamed."""
    out = fp32_path.with_suffix(".int8.onnx")
    if out.is_file():
        return out
    from onnxruntime.quantization import QuantType, quantize_dynamic

    tmp = out.with_name(f".{out.name}.{os.getpid()}.tmp")
    try:
        quantize_dynamic(fp32_path, tmp, weight_type=QuantType.QInt8, per_channel=True)
        tmp.replace(out)
    finally:
        tmp.unlink(missing_ok=True)
    return out


def generated_model_asset(
    name: str,
    backend: str,
    weights: GeneratedWeights,
    vocab_size: int,
    settings: Settings,
    *,
    int8: bool = False,
) -> ResolvedAsset:
    """The file ``backend`` loads for model ``name``'s generated weights at this vocab, recorded as
    ``<name>-<file>`` with its MD5 (provenance, the submission's starting_weights_filename; the sum
    is remembered while the file is unchanged: BERT-Large's weights are 1.3 GB)."""
    cfg = weights.config_for_vocab(vocab_size)
    path = generated_model_file(backend, cfg, settings, weights.seed, int8=int8)
    return ResolvedAsset(
        f"{name}-{path.name}", path, recorded_md5(path, settings), AssetSource.GENERATED, False
    )
