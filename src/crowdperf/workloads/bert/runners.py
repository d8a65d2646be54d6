"""BERT's model adapters: how a batch of SQuAD features becomes a backend's named inputs, and its
outputs the (batch, seq, 2) start/end logits the accuracy script reads. One runner per device.

    OnnxBertRunner     an ONNX graph of BERT (ours, MLPerf's model.onnx, the int8 fake-quant model
                       whose inputs carry HuggingFace's names): feeds by the graph's input names
    PaddedTorchRunner  ``BertForQuestionAnswering.forward`` on a padded batch; on CUDA the batch
                       is padded up to a (rows, width) bucket so a captured graph replays it
    PackedTorchRunner  (packed.py) real tokens only, variable-length attention (CUDA, fp16/bf16/fp8)

Padding rows and columns carry ``input_mask = 0``: BERT's additive mask (-10000 before softmax)
gives them zero attention weight, so the real tokens' logits equal the unpadded batch's up to
kernel rounding, and padded outputs are sliced away.

A run is two steps: ``inputs(batch)`` is the host work that turns features into the backend's
named arrays (padding to a captured shape, packing real tokens), ``run_inputs`` the backend call
and reading its outputs back. ``run`` does both; the sample source does the first step ahead of
time for one-sample queries (at LoadGen's untimed sample load, sample_source.py), so a
SingleStream query pays only the second.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Protocol

import numpy as np

from crowdperf.backends.base import Backend
from crowdperf.workloads.bert.dataset import FeatureBatch

MAX_GRAPH_BATCH = 1024  # larger batches run eagerly (launch cost is amortised there anyway)
# the official int8 model names its inputs as HuggingFace does (reference notes §1.3)
HF_FEEDS = ("input_ids", "attention_mask", "token_type_ids")
MLPERF_FEEDS = ("input_ids", "input_mask", "segment_ids")


@dataclass(frozen=True)
class RunnerInputs:
    """A batch as its runner's backend takes it: host arrays only, no device state, so it can be
    built ahead of time and run any number of times, on any replica of the same runner."""

    feeds: Mapping[str, np.ndarray]  # the backend's named inputs
    rows: int  # samples in the batch (the feeds may hold more: padding up to a captured shape)
    real: np.ndarray | None = None  # packed runners: (rows, width) bool, where each token goes back


class BertRunner(Protocol):
    backend: Backend  # the one it runs on (its ``concurrency`` sets the SUT's worker threads)

    @property
    def pads_batches(self) -> bool:
        """True when a batch costs rows x its longest sample (so grouping by length pays)."""

    @property
    def description(self) -> str:
        """How it runs, for provenance ("padded", "packed sequences")."""

    def prepare(self, max_batch: int, widths: Iterable[int]) -> None:
        """Untimed: get ready for batches of up to ``max_batch`` rows at these padded widths."""

    def run(self, batch: FeatureBatch) -> np.ndarray:
        """(batch, seq, 2) float32 logits: [..., 0] start, [..., 1] end (``seq`` >= the batch's
        width; positions past it hold PAD_LOGIT)."""

    def inputs(self, batch: FeatureBatch) -> RunnerInputs:
        """``run``'s host work before the backend call (thread-safe, no device work)."""

    def run_inputs(self, inputs: RunnerInputs) -> np.ndarray:
        """``run`` of the batch ``inputs`` was built from."""

    def close(self) -> None: ...


class OnnxBertRunner:
    """Any ONNX graph of BERT for QA: three int64 (batch, seq) inputs, start and end logits out
    (in that order, whatever the graph names them)."""

    pads_batches = True
    description = "padded"

    def __init__(self, backend: Backend) -> None:
        self.backend = backend
        names = set(backend.input_names)
        self._feeds = HF_FEEDS if {"attention_mask", "token_type_ids"} <= names else MLPERF_FEEDS

    def prepare(self, max_batch: int, widths: Iterable[int]) -> None:
        """onnxruntime has nothing to capture; the workload's warm-up runs the shapes."""

    def run(self, batch: FeatureBatch) -> np.ndarray:
        return self.run_inputs(self.inputs(batch))

    def inputs(self, batch: FeatureBatch) -> RunnerInputs:
        ids, mask, seg = self._feeds
        feeds = {ids: batch.input_ids, mask: batch.input_mask, seg: batch.segment_ids}
        return RunnerInputs(feeds, len(batch.input_ids))

    def run_inputs(self, inputs: RunnerInputs) -> np.ndarray:
        out = self.backend.run(inputs.feeds)
        start, end = list(out.values())[:2]
        return np.stack([start, end], axis=-1).astype(np.float32, copy=False)  # (batch, seq, 2)

    def close(self) -> None:
        self.backend.close()


def batch_buckets(max_batch: int) -> tuple[int, ...]:
    """Powers of two below ``max_batch``, then ``max_batch``: (1, 2, 4, ..., max_batch)."""
    top = max(1, min(max_batch, MAX_GRAPH_BATCH))
    buckets = [1 << k for k in range(top.bit_length()) if (1 << k) < top]
    return (*buckets, top)


class PaddedTorchRunner:
    """``forward(input_ids, input_mask, segment_ids)`` on padded batches. With ``graphs`` (CUDA)
    every batch is padded up to a (bucket, width) shape that ``prepare`` captured: buckets are
    the powers of two below the largest batch plus that batch size (a full Offline batch never
    pads); widths come aligned from the dataset (``gather(align=)``)."""

    pads_batches = True
    description = "padded"

    def __init__(self, backend: Backend, *, graphs: bool, max_width: int) -> None:
        self.backend, self._graphs, self._max_width = backend, graphs, max_width
        self._buckets: tuple[int, ...] = ()
        self._widths: frozenset[int] = frozenset()

    def prepare(self, max_batch: int, widths: Iterable[int]) -> None:
        if not self._graphs:
            return
        self._buckets = batch_buckets(max_batch)
        self._widths = frozenset(w for w in widths if w <= self._max_width)
        self.backend.prepare(
            [_padded(FeatureBatch(*_ones(b, w)), b, w) for w in self._widths for b in self._buckets]
        )

    def run(self, batch: FeatureBatch) -> np.ndarray:
        return self.run_inputs(self.inputs(batch))

    def inputs(self, batch: FeatureBatch) -> RunnerInputs:
        n, w = batch.input_ids.shape
        bucket = next((b for b in self._buckets if b >= n), None)
        if bucket is None or w not in self._widths:  # eager: no graph of this shape
            return RunnerInputs(_feeds(batch), n)
        return RunnerInputs(_padded(batch, bucket, w), n)

    def run_inputs(self, inputs: RunnerInputs) -> np.ndarray:
        return self.backend.run(inputs.feeds)["logits"][: inputs.rows]

    def close(self) -> None:
        self.backend.close()


def _ones(n: int, width: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    ids = np.ones((n, width), np.int64)
    return ids, ids.copy(), np.zeros_like(ids)


def _feeds(batch: FeatureBatch) -> dict[str, np.ndarray]:
    return {"input_ids": batch.input_ids, "input_mask": batch.input_mask, "segment_ids": batch.segment_ids}


def _padded(batch: FeatureBatch, rows: int, width: int) -> dict[str, np.ndarray]:
    n, w = batch.input_ids.shape
    if (n, w) == (rows, width):
        return _feeds(batch)
    out = {}
    for name, array in _feeds(batch).items():
        padded = np.zeros((rows, width), np.int64)  # mask 0: padding takes no attention
        padded[:n, :w] = array
        out[name] = padded
    return out


def warmup_widths(align: int, max_seq: int, *, every_width: bool) -> Sequence[int]:
    """The padded widths a test can send: every multiple of ``align`` on GPUs (graphs per width),
    only the widest on CPUs (one run there is enough to warm the allocator up)."""
    return range(align, max_seq + 1, align) if every_width else (max_seq,)
