"""Padding-free batches for PyTorch on CUDA (fp16/bf16/fp8): the real tokens of every sequence in a
batch, back to back, through ``BertForQuestionAnswering.forward_packed`` (variable-length flash
attention; every other layer is token-wise, so no padded token is ever computed).

A padded batch costs rows x its longest sequence; a packed one costs its real tokens. That
matters most where batches mix lengths: Server's dynamic batches, which arrive in random order.
Small batches replay a CUDA graph captured per token bucket (``token_buckets``: steps of 32
tokens up to 512, so one SingleStream sample pads little, then 64 up to 2,048, then 256 up to
``GRAPH_MAX_TOKENS``); its sequence table has room for ``max_batch`` sequences, the unused ones
empty, and the bucket's spare tokens belong to no sequence (their rows are computed and dropped).
Larger batches run eagerly: there the GPU, not Python's kernel launches, is the bottleneck.
"""

from __future__ import annotations

import bisect
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

import numpy as np

from crowdperf.backends.base import Backend
from crowdperf.workloads.bert.dataset import PAD_LOGIT, FeatureBatch
from crowdperf.workloads.bert.runners import RunnerInputs

GRAPH_MAX_TOKENS = 16_384
EAGER_ALIGN = 32
_BUCKET_STEPS = ((512, 32), (2048, 64), (GRAPH_MAX_TOKENS, 256))  # (up to, step)
OUTPUT_NAMES = ("logits",)


def token_buckets(limit: int) -> tuple[int, ...]:
    """Graph sizes in tokens up to ``limit`` (capped at GRAPH_MAX_TOKENS): fine steps where one
    sequence's padding would matter, coarse ones where a batch is large."""
    out: list[int] = []
    low = 0
    for top, step in _BUCKET_STEPS:
        out += range(low + step, min(top, limit + step - 1) + 1, step)
        low = top
        if top >= limit:
            break
    return tuple(b for b in out if b <= GRAPH_MAX_TOKENS)


@dataclass(frozen=True)
class PackedBatch:
    """A padded batch's real tokens, concatenated row by row, and where each row starts."""

    ids: np.ndarray  # (tokens,) int64
    seg: np.ndarray
    pos: np.ndarray  # each token's column in its row: its position embedding
    cu_seqlens: np.ndarray  # (rows + 1,) int32
    real: np.ndarray  # (rows, width) bool: where the tokens go back

    @classmethod
    def of(cls, batch: FeatureBatch) -> PackedBatch:
        """The real tokens of ``batch`` (``input_mask`` = 1), row after row."""
        real = batch.input_mask.astype(bool)
        rows, width = real.shape
        cu = np.zeros(rows + 1, np.int32)
        np.cumsum(real.sum(axis=1), out=cu[1:])
        pos = np.broadcast_to(np.arange(width, dtype=np.int64), (rows, width))[real]
        return cls(batch.input_ids[real], batch.segment_ids[real], pos, cu, real)

    @property
    def tokens(self) -> int:
        return int(self.cu_seqlens[-1])

    def unpack(self, logits: np.ndarray) -> np.ndarray:
        """(tokens, 2) -> (rows, width, 2) float32, PAD_LOGIT (-10000) where the batch was padding.

        Not zeros: the SQuAD post-processing takes the 20 highest start and end logits over every
        position before it drops those outside the feature (accuracy-squad.py
        ``_get_best_indexes``); a trained model's logits are mostly negative, so zeros at padding
        would crowd real candidates out of those 20 and cost F1. -10000 is what the reference's
        accuracy script gives positions past the returned logits, and what ``pad_logits`` uses."""
        return unpack(logits, self.real)


def unpack(logits: np.ndarray, real: np.ndarray) -> np.ndarray:
    """(tokens, 2) -> (rows, width, 2) float32: each token's logits where ``real`` (rows, width)
    is true, in row-major order; PAD_LOGIT elsewhere (PackedBatch.unpack says why)."""
    out = np.full((*real.shape, 2), PAD_LOGIT, np.float32)
    out[real] = logits
    return out


class PackedTorchRunner:
    """Packed batches through ``PackedBert`` (torch_program.py) on one GPU. ``prepare`` captures a
    graph per token bucket whose sequence table has room for ``max_batch`` sequences; a batch
    that fits a bucket is padded to it (spare tokens belong to no sequence, unused sequences are
    empty), a larger one runs eagerly with its exact sizes."""

    pads_batches = False  # a packed batch costs its real tokens: splitting by length never pays
    description = "packed sequences"

    def __init__(self, backend: Backend, *, max_len: int) -> None:
        self.backend, self._max_len = backend, max_len
        self._max_seqs = 0  # before prepare() every batch runs eagerly
        self._buckets: tuple[int, ...] = ()

    def prepare(self, max_batch: int, widths: Iterable[int]) -> None:
        """A graph per token bucket a batch of up to ``max_batch`` rows can fill."""
        widest = min(self._max_len, max(widths, default=self._max_len))
        self._max_seqs = max_batch
        self._buckets = token_buckets(min(GRAPH_MAX_TOKENS, max_batch * widest))
        # while capturing: sequences of ``widest`` back to back; every replay rewrites the table
        examples = []
        for bucket in self._buckets:
            table = np.minimum(np.arange(max_batch + 1, dtype=np.int64) * widest, bucket).astype(np.int32)
            zeros = np.zeros(bucket, np.int64)
            examples.append(_inputs(zeros, zeros, zeros, table))
        self.backend.prepare(examples)

    def run(self, batch: FeatureBatch) -> np.ndarray:
        return self.run_inputs(self.inputs(batch))

    def inputs(self, batch: FeatureBatch) -> RunnerInputs:
        """The packed tokens padded up to their bucket (a graph's size), or to EAGER_ALIGN tokens
        for an eager run, and where each token goes back."""
        packed = PackedBatch.of(batch)
        rows, n = len(packed.cu_seqlens) - 1, packed.tokens
        k = bisect.bisect_left(self._buckets, n)
        if k == len(self._buckets) or rows > self._max_seqs:  # eager, exact sequences
            # tokens rounded up to EAGER_ALIGN (spare ones belong to no sequence): FP8 GEMMs
            # want multiples of 16, and aligned sizes pick the faster GEMM kernels anyway
            size, cu = -(-n // EAGER_ALIGN) * EAGER_ALIGN, packed.cu_seqlens
        else:
            size, cu = self._buckets[k], np.full(self._max_seqs + 1, n, np.int32)
            cu[: rows + 1] = packed.cu_seqlens  # unused sequences are empty
        ids, seg, pos = (np.zeros(size, np.int64) for _ in range(3))  # (size,) int64 each
        ids[:n], seg[:n], pos[:n] = packed.ids, packed.seg, packed.pos
        return RunnerInputs(_inputs(ids, seg, pos, cu), rows, packed.real)

    def run_inputs(self, inputs: RunnerInputs) -> np.ndarray:
        """(rows, width, 2) float32 logits, PAD_LOGIT where the batch was padding."""
        if inputs.real is None:
            raise ValueError("packed inputs carry where their tokens go back (RunnerInputs.real)")
        n = int(inputs.feeds["cu_seqlens"][inputs.rows])
        return unpack(self.backend.run(inputs.feeds)["logits"][:n], inputs.real)

    def close(self) -> None:
        self.backend.close()


def _inputs(ids: np.ndarray, seg: np.ndarray, pos: np.ndarray, cu: np.ndarray) -> dict[str, Any]:
    return {"input_ids": ids, "segment_ids": seg, "positions": pos, "cu_seqlens": cu}
