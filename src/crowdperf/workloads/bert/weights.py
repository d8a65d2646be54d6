"""Deterministic random weights for a BERT-for-QA config, named as HuggingFace's state dict.

The names are those of ``transformers.BertForQuestionAnswering`` (what MLPerf's pytorch_SUT loads
``model.pytorch`` into), so one loader serves our generated weights and the official file.
Linear weights are stored (out, in) as torch stores them.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import asdict
from pathlib import Path
from typing import Any

import numpy as np

from crowdperf.atomic import atomic_path
from crowdperf.workloads.bert.model_config import BertModelConfig

GENERATOR_VERSION = 1
INIT_STD = 0.02  # BERT's initializer_range
CONFIG_KEY = "__config__"


def weight_shapes(cfg: BertModelConfig) -> Iterator[tuple[str, tuple[int, ...]]]:
    """Every parameter name and shape, in a fixed order (the generation order)."""
    h, i = cfg.hidden, cfg.intermediate
    e = "bert.embeddings."
    yield e + "word_embeddings.weight", (cfg.vocab_size, h)
    yield e + "position_embeddings.weight", (cfg.max_position, h)
    yield e + "token_type_embeddings.weight", (cfg.type_vocab, h)
    yield e + "LayerNorm.weight", (h,)
    yield e + "LayerNorm.bias", (h,)
    for n in range(cfg.layers):
        p = f"bert.encoder.layer.{n}."
        for proj in ("query", "key", "value"):
            yield p + f"attention.self.{proj}.weight", (h, h)
            yield p + f"attention.self.{proj}.bias", (h,)
        yield p + "attention.output.dense.weight", (h, h)
        yield p + "attention.output.dense.bias", (h,)
        yield p + "attention.output.LayerNorm.weight", (h,)
        yield p + "attention.output.LayerNorm.bias", (h,)
        yield p + "intermediate.dense.weight", (i, h)
        yield p + "intermediate.dense.bias", (i,)
        yield p + "output.dense.weight", (h, i)
        yield p + "output.dense.bias", (h,)
        yield p + "output.LayerNorm.weight", (h,)
        yield p + "output.LayerNorm.bias", (h,)
    yield "qa_outputs.weight", (2, h)
    yield "qa_outputs.bias", (2,)


def generate_weights(cfg: BertModelConfig, seed: int = 0) -> dict[str, np.ndarray]:
    """Normal(0, 0.02) matrices, LayerNorm gamma 1 / beta 0, biases 0: BERT's own init."""
    rng = np.random.default_rng(seed)
    out: dict[str, np.ndarray] = {}
    for name, shape in weight_shapes(cfg):
        if name.endswith("LayerNorm.weight"):
            out[name] = np.ones(shape, np.float32)
        elif name.endswith(".bias"):
            out[name] = np.zeros(shape, np.float32)
        else:
            out[name] = (rng.standard_normal(shape, dtype=np.float32) * INIT_STD).astype(np.float32)
    return out


def weights_path(models_dir: Path, cfg: BertModelConfig, seed: int) -> Path:
    return models_dir / "generated" / f"bert-qa-{cfg.key}-s{seed}-g{GENERATOR_VERSION}.npz"


def ensure_weights(models_dir: Path, cfg: BertModelConfig, seed: int = 0) -> Path:
    """The npz for (cfg, seed), generated once into the cache; written to a temp name, renamed."""
    path = weights_path(models_dir, cfg, seed)
    if path.is_file():
        return path
    arrays: dict[str, Any] = {**generate_weights(cfg, seed), CONFIG_KEY: np.array(json.dumps(asdict(cfg)))}
    with atomic_path(path) as tmp, tmp.open("wb") as fh:
        np.savez(fh, **arrays)
    return path


def load_weights(path: Path) -> dict[str, np.ndarray]:
    """The parameters of an npz written by ``ensure_weights`` (without its config entry)."""
    with np.load(path) as npz:
        return {k: npz[k] for k in npz.files if k != CONFIG_KEY}


def load_config(path: Path) -> BertModelConfig | None:
    """The config stored beside the weights (None for npz files from elsewhere)."""
    with np.load(path) as npz:
        if CONFIG_KEY not in npz.files:
            return None
        return BertModelConfig(**json.loads(str(npz[CONFIG_KEY])))
