"""Model files made from generated weights (offline, deterministic, cached): what ``tiny`` and
``bert-large`` run (workloads/bert/definitions.py)."""

from __future__ import annotations

import os
from pathlib import Path

from crowdperf.errors import BackendError, UsageError
from crowdperf.settings import Settings
from crowdperf.workloads.bert.assets import AssetSource, ResolvedAsset, recorded_md5
from crowdperf.workloads.bert.model_config import BertModelConfig, GeneratedWeights
from crowdperf.workloads.bert.onnx_export import GRAPH_LAYOUT, export_onnx
from crowdperf.workloads.bert.weights import ensure_weights, load_weights


def generated_model_file(
    backend: str, cfg: BertModelConfig, settings: Settings, seed: int = 0, *, int8: bool = False
) -> Path:
    """npz weights (PyTorch) or the ONNX graph built from the same weights (onnxruntime); with
    ``int8`` that graph fused and quantized (onnxruntime only)."""
    npz = ensure_weights(settings.models_dir, cfg, seed)
    if backend == "pytorch" and not int8:
        return npz
    if backend == "onnxruntime":
        # the graph's layout version is in the name: a file exported by an older layout (which
        # onnxruntime's fusions do not match) is never taken for the current one
        onnx_path = npz.with_name(f"{npz.stem}-onnx{GRAPH_LAYOUT}.onnx")
        if not onnx_path.is_file():
            export_onnx(cfg, load_weights(npz), onnx_path)
        return quantized_onnx(onnx_path, cfg) if int8 else onnx_path
    raise UsageError(
        f"no generated {'int8 ' if int8 else ''}model for backend {backend!r}",
        hint="int8 runs on onnxruntime; pytorch runs fp32, bf16 and fp16"
        if int8
        else "use onnxruntime or pytorch",
    )


def quantized_onnx(fp32_path: Path, cfg: BertModelConfig) -> Path:
    """``<name>.fused.int8.onnx`` beside the fp32 graph, made once (temp name, then renamed):
    onnxruntime's transformer optimizer fuses each layer's attention (Attention), residual +
    LayerNorm (SkipLayerNormalization), bias + GELU (BiasGelu) and the embeddings
    (EmbedLayerNormalization); then dynamic quantization makes the QKV projection QAttention and
    the other dense layers MatMulInteger (int8 weights, one scale per tensor; activations quantized
    per batch at run time: VNNI on x86). The embedding tables stay fp32. One scale per tensor,
    not per channel: ~10 % faster on BERT-Large, and the same agreement with fp32 on real SQuAD
    features with random weights (docs/bert-model.md, "int8")."""
    out = fp32_path.with_suffix(".fused.int8.onnx")
    if out.is_file():
        return out
    from onnx import TensorProto
    from onnxruntime.quantization import QuantType, quantize_dynamic
    from onnxruntime.transformers.optimizer import optimize_model

    fused = out.with_name(f".{fp32_path.stem}.fused.{os.getpid()}.tmp.onnx")
    tmp = out.with_name(f".{out.name}.{os.getpid()}.tmp")
    try:
        # opt_level 0: only the transformer fusions; the session applies its own optimizations
        model = optimize_model(
            str(fp32_path), model_type="bert", num_heads=cfg.heads, hidden_size=cfg.hidden, opt_level=0
        )
        _require_fusions(model.get_fused_operator_statistics(), cfg, fp32_path)
        model.save_model_to_file(str(fused))
        quantize_dynamic(
            fused, tmp, weight_type=QuantType.QInt8, per_channel=False,
            op_types_to_quantize=["MatMul", "Attention"],
            # the fused contrib ops have no ONNX type inference: their outputs are float
            extra_options={"DefaultTensorType": TensorProto.FLOAT},
        )  # fmt: skip
        tmp.replace(out)
    finally:
        tmp.unlink(missing_ok=True)
        fused.unlink(missing_ok=True)
    return out


def _require_fusions(counts: dict[str, int], cfg: BertModelConfig, path: Path) -> None:
    """Every layer fused, or a BackendError: a silently unfused graph would be slow, not wrong,
    and nobody would notice."""
    wanted = {"Attention": cfg.layers, "BiasGelu": cfg.layers, "SkipLayerNormalization": 2 * cfg.layers,
              "EmbedLayerNormalization": 1}  # fmt: skip
    missing = {op: n for op, n in wanted.items() if counts.get(op, 0) != n}
    if missing:
        raise BackendError(
            f"onnxruntime's transformer optimizer fused {counts} in {path.name}, expected {wanted}",
            hint="the onnxruntime version may match other graph shapes; use --precision fp32",
        )


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
