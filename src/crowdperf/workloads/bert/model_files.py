"""The tiny model's files, generated for whatever vocab the run uses (offline, deterministic)."""

from __future__ import annotations

from pathlib import Path

from crowdperf.errors import UsageError
from crowdperf.hashing import file_md5
from crowdperf.settings import Settings
from crowdperf.workloads.bert.assets import AssetSource, ResolvedAsset
from crowdperf.workloads.bert.model_config import BertModelConfig
from crowdperf.workloads.bert.onnx_export import export_onnx
from crowdperf.workloads.bert.weights import ensure_weights, load_weights

TINY_SEED = 0


def generated_model_file(backend: str, cfg: BertModelConfig, settings: Settings, seed: int = 0) -> Path:
    """npz weights (PyTorch) or the ONNX graph built from the same weights (onnxruntime)."""
    npz = ensure_weights(settings.models_dir, cfg, seed)
    if backend == "pytorch":
        return npz
    if backend == "onnxruntime":
        onnx_path = npz.with_suffix(".onnx")
        if not onnx_path.is_file():
            export_onnx(cfg, load_weights(npz), onnx_path)
        return onnx_path
    raise UsageError(f"no generated model format for backend {backend!r}", hint="use onnxruntime or pytorch")


def tiny_model_file(backend: str, vocab_size: int, settings: Settings) -> ResolvedAsset:
    path = generated_model_file(backend, BertModelConfig.tiny(vocab_size), settings, TINY_SEED)
    md5 = file_md5(path)
    return ResolvedAsset(f"tiny-{path.name}", path, md5, AssetSource.GENERATED, False)
