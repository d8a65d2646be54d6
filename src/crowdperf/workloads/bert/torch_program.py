"""BERT as a ``TorchProgram`` for the generic pytorch backend: which module, from which weights.

    padded   ``BertForQuestionAnswering``: (input_ids, input_mask, segment_ids) -> logits
    packed   ``PackedBert``: the real tokens of a batch (input_ids, segment_ids, positions,
             cu_seqlens) -> logits per token, variable-length flash attention (CUDA, fp16/bf16)
    fp8      either one with its encoder GEMMs in FP8, calibrated on the calibration features
             (fp8_model.py; ``--precision fp8``)

Weights: our generated ``.npz`` (with its config) or a state dict such as MLPerf's
``model.pytorch`` (shapes read from it). torch is imported only when a program is built.
"""

from __future__ import annotations

from collections.abc import Sequence
from functools import partial
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from crowdperf.backends.base import TorchProgram
from crowdperf.backends.pytorch_backend import import_torch
from crowdperf.errors import BackendError, MissingInputError

if TYPE_CHECKING:
    from crowdperf.workloads.bert.fp8_model import Fp8Options

CalibrationBatch = tuple[np.ndarray, ...]  # input_ids, input_mask, segment_ids of one feature

# The official model.pytorch must carry these (the reference loads it with strict=False).
REQUIRED_KEYS = ("bert.embeddings.word_embeddings.weight", "qa_outputs.weight", "qa_outputs.bias")


def bert_program(
    path: Path, *, packed: bool, calibration: Sequence[CalibrationBatch] = (), fp8: Fp8Options | None = None
) -> TorchProgram:
    """The program the pytorch backend builds and places on its device (``label``: the file).
    Its FP8 form calibrates on ``calibration`` (unpadded host batches: calibration.py); without
    any, it has none."""
    if not path.is_file():
        raise MissingInputError(f"model file not found: {path}", hint="pass --model-path")
    form = None
    if calibration:
        batches = tuple(calibration)
        form = partial(_fp8_form, batches=batches, options=fp8)
    return TorchProgram(lambda: _build(path, packed), path.name, ("logits",), fp8=form)


def _fp8_form(module: Any, *, batches: tuple[CalibrationBatch, ...], options: Fp8Options | None) -> Any:
    torch = import_torch()
    from crowdperf.workloads.bert.fp8_model import Fp8Options, fp8_form

    tensors = [tuple(torch.from_numpy(a) for a in batch) for batch in batches]
    return fp8_form(module, tensors, options or Fp8Options())


def varlen_available() -> bool:
    """torch >= 2.9 on a CUDA machine: variable-length flash attention for ``PackedBert``."""
    try:
        import torch
        from torch.nn.attention.varlen import varlen_attn  # noqa: F401
    except ImportError:
        return False
    return bool(torch.cuda.is_available())


def _build(path: Path, packed: bool) -> Any:
    torch = import_torch()
    from crowdperf.workloads.bert.torch_model import (
        BertForQuestionAnswering,
        PackedBert,
        config_from_state_dict,
    )

    state, cfg = _read_state(torch, path)
    model = BertForQuestionAnswering(cfg or config_from_state_dict(state))
    missing, _unexpected = model.load_state_dict(state, strict=False)
    needed = [k for k in missing if k.startswith(("bert.", "qa_outputs."))]
    if needed:
        raise BackendError(
            f"{path} lacks {len(needed)} BERT weights (first: {needed[0]})",
            hint="pass a BertForQuestionAnswering state dict (e.g. MLPerf's model.pytorch)",
        )
    return PackedBert(model) if packed else model


def _read_state(torch: Any, path: Path) -> tuple[dict[str, Any], Any]:
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
