"""CUDA graphs for the PyTorch backend: one captured forward per (batch bucket, width).

Eager PyTorch issues a BERT-Large forward as ~400 kernel launches from Python, a few ms of CPU
per batch with the GIL held. That CPU time, not the GPU, bounds small batches: SingleStream
latency and Server batches, where LoadGen's issue thread competes for the same GIL. A replayed
graph is one call that releases the GIL, so a batch costs what the GPU needs.

Shapes are frozen at capture, so batches are padded up to a bucket: powers of two below the
largest batch the harness will send, plus that batch size itself (a full Offline batch never
pads). Widths come aligned from the sample source (multiples of ``WIDTH_ALIGN``); a batch wider
than asked is padded too. Padded rows and columns carry ``input_mask = 0``: BERT's additive mask
(-10000 before softmax) gives them zero attention weight, so real tokens' logits are those of
the unpadded batch up to kernel rounding, and padded outputs are sliced away.

All graphs share one memory pool: they replay one at a time on one stream (``lock``), so their
temporaries can overlap; each graph's own inputs and outputs stay allocated.
"""

from __future__ import annotations

import threading
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

import numpy as np

from crowdperf.backends.base import FeatureBatch

WIDTH_ALIGN = 32
MAX_GRAPH_BATCH = 1024  # larger batches run eagerly (launch cost is amortised there anyway)


def batch_buckets(max_batch: int) -> tuple[int, ...]:
    """Powers of two below ``max_batch``, then ``max_batch``: (1, 2, 4, ..., max_batch)."""
    top = max(1, min(max_batch, MAX_GRAPH_BATCH))
    buckets = [1 << k for k in range(top.bit_length()) if (1 << k) < top]
    return (*buckets, top)


@dataclass
class _Graph:
    graph: Any  # torch.cuda.CUDAGraph
    ids: Any  # static (bucket, width) int64 inputs on the device
    mask: Any
    seg: Any
    out: Any  # static (bucket, width, 2) logits on the device


class CudaGraphRunner:
    """Runs ``model(ids, mask, seg)`` through captured graphs; thread-safe (one replay at a time)."""

    def __init__(self, torch: Any, model: Any, device: Any, max_width: int) -> None:
        self._torch, self._model, self._device = torch, model, device
        self._max_width = max_width
        self._buckets = batch_buckets(MAX_GRAPH_BATCH)
        self._graphs: dict[tuple[int, int], _Graph] = {}
        self._pool = torch.cuda.graph_pool_handle()
        self.lock = threading.Lock()

    def prepare(self, max_batch: int, widths: Iterable[int]) -> None:
        """Capture every (bucket, width) a batch of up to ``max_batch`` rows can need (untimed)."""
        self._buckets = batch_buckets(max_batch)
        with self.lock:
            for width in sorted({self._width(w) for w in widths}):
                for bucket in self._buckets:
                    self._graph(bucket, width)

    def run(self, batch: FeatureBatch) -> np.ndarray | None:
        """Logits (n, w, 2) as float32, or None when the batch is too large for any bucket."""
        n, w = batch.input_ids.shape
        bucket = next((b for b in self._buckets if b >= n), None)
        if bucket is None or w > self._max_width:
            return None
        width = self._width(w)
        ids = np.zeros((bucket, width), np.int64)
        mask, seg = np.zeros_like(ids), np.zeros_like(ids)
        ids[:n, :w], mask[:n, :w], seg[:n, :w] = batch.input_ids, batch.input_mask, batch.segment_ids
        torch = self._torch
        with self.lock:
            g = self._graph(bucket, width)
            g.ids.copy_(torch.from_numpy(ids))
            g.mask.copy_(torch.from_numpy(mask))
            g.seg.copy_(torch.from_numpy(seg))
            g.graph.replay()
            return g.out[:n, :w].float().cpu().numpy()

    def _width(self, w: int) -> int:
        return min(self._max_width, -(-w // WIDTH_ALIGN) * WIDTH_ALIGN)

    def _graph(self, bucket: int, width: int) -> _Graph:
        key = (bucket, width)
        if key in self._graphs:
            return self._graphs[key]
        torch = self._torch
        ids = torch.zeros((bucket, width), dtype=torch.int64, device=self._device)
        mask = torch.ones_like(ids)
        seg = torch.zeros_like(ids)
        with torch.inference_mode():
            side = torch.cuda.Stream(self._device)
            side.wait_stream(torch.cuda.current_stream(self._device))
            with torch.cuda.stream(side):  # eager run first: lazy init and library handles
                self._model(ids, mask, seg)
            torch.cuda.current_stream(self._device).wait_stream(side)
            graph = torch.cuda.CUDAGraph()
            with torch.cuda.graph(graph, pool=self._pool):
                out = self._model(ids, mask, seg)
        self._graphs[key] = g = _Graph(graph, ids, mask, seg, out)
        return g
