"""Padding-free batches for PyTorch on CUDA (fp16/bf16): the real tokens of every sequence in a
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
import threading
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

import numpy as np

from crowdperf.backends.base import FeatureBatch

GRAPH_MAX_TOKENS = 16_384
_BUCKET_STEPS = ((512, 32), (2048, 64), (GRAPH_MAX_TOKENS, 256))  # (up to, step)


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


def varlen_available(torch: Any) -> bool:
    """torch >= 2.9 ships variable-length flash attention (CUDA, fp16/bf16)."""
    try:
        from torch.nn.attention.varlen import varlen_attn  # noqa: F401
    except ImportError:
        return False
    return bool(torch.cuda.is_available())


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
        """(tokens, 2) -> (rows, width, 2) float32, zeros where the batch was padding."""
        out = np.zeros((*self.real.shape, 2), np.float32)
        out[self.real] = logits
        return out


@dataclass
class _Graph:
    graph: Any
    ids: Any  # static (bucket,) int64 inputs on the device
    seg: Any
    pos: Any
    cu: Any  # static (max_seqs + 1,) int32
    out: Any  # static (bucket, 2) logits


class PackedRunner:
    """Runs packed batches; thread-safe (one batch on the GPU at a time)."""

    def __init__(self, torch: Any, model: Any, device: Any, max_len: int) -> None:
        self._torch, self._model, self._device, self._max_len = torch, model, device, max_len
        self._max_seqs = 0  # graphs are captured by prepare(); before it every batch runs eagerly
        self._graphs: dict[int, _Graph] = {}
        self._buckets: tuple[int, ...] = ()
        self._pool = torch.cuda.graph_pool_handle()
        self.lock = threading.Lock()

    def prepare(self, max_batch: int, widths: Iterable[int]) -> None:
        """Capture a graph per token bucket a batch of up to ``max_batch`` rows can fill."""
        widest = max(widths, default=self._max_len)
        self._max_len = min(self._max_len, widest)
        self._max_seqs, self._graphs = max_batch, {}
        self._buckets = token_buckets(min(GRAPH_MAX_TOKENS, max_batch * self._max_len))
        with self.lock:
            for bucket in self._buckets:
                self._graph(bucket)

    def run(self, batch: FeatureBatch) -> np.ndarray:
        packed = PackedBatch.of(batch)
        rows = len(packed.cu_seqlens) - 1
        k = bisect.bisect_left(self._buckets, packed.tokens)
        bucket = self._buckets[k] if k < len(self._buckets) else 0
        with self.lock:
            if bucket in self._graphs and rows <= self._max_seqs:
                logits = self._replay(self._graphs[bucket], packed)
            else:
                logits = self._eager(packed)
        return packed.unpack(logits)

    def _eager(self, packed: PackedBatch) -> np.ndarray:
        from crowdperf.workloads.bert.torch_model import Packed

        torch, dev = self._torch, self._device
        ids, seg, pos, cu = (
            torch.from_numpy(a).to(dev) for a in (packed.ids, packed.seg, packed.pos, packed.cu_seqlens)
        )
        longest = int(np.diff(packed.cu_seqlens).max(initial=1))
        with torch.inference_mode():
            return self._model.forward_packed(ids, seg, pos, Packed(cu, longest)).float().cpu().numpy()

    def _replay(self, g: _Graph, packed: PackedBatch) -> np.ndarray:
        torch, n = self._torch, packed.tokens
        cu = np.full(self._max_seqs + 1, n, np.int32)  # unused sequences are empty
        cu[: len(packed.cu_seqlens)] = packed.cu_seqlens
        g.ids[:n].copy_(torch.from_numpy(packed.ids))
        g.seg[:n].copy_(torch.from_numpy(packed.seg))
        g.pos[:n].copy_(torch.from_numpy(packed.pos))
        g.cu.copy_(torch.from_numpy(cu))
        g.graph.replay()
        return g.out[:n].float().cpu().numpy()

    def _graph(self, bucket: int) -> _Graph:
        from crowdperf.workloads.bert.torch_model import Packed

        torch, dev = self._torch, self._device
        ids = torch.zeros(bucket, dtype=torch.int64, device=dev)
        seg, pos = torch.zeros_like(ids), torch.zeros_like(ids)
        # while capturing: sequences of max_len back to back; every replay rewrites the table
        table = np.minimum(np.arange(self._max_seqs + 1, dtype=np.int64) * self._max_len, bucket)
        cu = torch.from_numpy(table.astype(np.int32)).to(dev)
        packed = Packed(cu, self._max_len)
        with torch.inference_mode():
            side = torch.cuda.Stream(dev)
            side.wait_stream(torch.cuda.current_stream(dev))
            with torch.cuda.stream(side):
                self._model.forward_packed(ids, seg, pos, packed)
            torch.cuda.current_stream(dev).wait_stream(side)
            graph = torch.cuda.CUDAGraph()
            with torch.cuda.graph(graph, pool=self._pool):
                out = self._model.forward_packed(ids, seg, pos, packed)
        self._graphs[bucket] = g = _Graph(graph, ids, seg, pos, cu, out)
        return g
