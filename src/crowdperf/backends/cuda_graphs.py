"""CUDA graphs of one module on one device: one captured call per input signature.

Eager PyTorch issues a BERT-Large forward as ~400 kernel launches from Python, a few ms of CPU
per call with the GIL held. That CPU time, not the GPU, bounds small batches: SingleStream
latency and Server batches, where LoadGen's issue thread competes for the same GIL. A replayed
graph is one call that releases the GIL, so a batch costs what the GPU needs.

A graph freezes its input shapes, so a graph answers only inputs of exactly the signature it was
captured with (names, shapes, dtypes); choosing few signatures and padding inputs up to them is
the workload's business (it alone knows which padding leaves the real outputs unchanged). The
graphs of one cache share one memory pool: they replay one at a time on the backend's stream, so
their temporaries can overlap; each graph's own inputs and outputs stay allocated.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

import numpy as np

Signature = tuple[tuple[str, tuple[int, ...], str], ...]  # (name, shape, dtype) per input


def signature(inputs: Mapping[str, np.ndarray]) -> Signature:
    return tuple((name, tuple(a.shape), a.dtype.str) for name, a in sorted(inputs.items()))


@dataclass
class _Graph:
    graph: Any  # torch.cuda.CUDAGraph
    inputs: dict[str, Any]  # static input tensors on the device
    outputs: tuple[Any, ...]  # static output tensors on the device


class GraphCache:
    """Captures ``call(**inputs) -> tuple of tensors`` per signature and replays it."""

    def __init__(
        self,
        torch: Any,
        call: Callable[..., tuple[Any, ...]],
        place: Callable[[Mapping[str, np.ndarray]], dict[str, Any]],
        *,
        device: Any,
        stream: Any,
    ) -> None:
        self._torch, self._call, self._place = torch, call, place  # place: arrays -> device tensors
        self._device, self._stream = device, stream
        self._graphs: dict[Signature, _Graph] = {}
        self._pool = torch.cuda.graph_pool_handle()

    def __len__(self) -> int:
        return len(self._graphs)

    def capture(self, inputs: Mapping[str, np.ndarray]) -> None:
        """Capture a graph for ``inputs``' signature (their values only shape the capture)."""
        key = signature(inputs)
        if key in self._graphs:
            return
        torch = self._torch
        static = self._place(inputs)
        with torch.inference_mode():
            side = torch.cuda.Stream(self._device)
            side.wait_stream(self._stream)
            with torch.cuda.stream(side):  # eager run first: lazy init and library handles
                self._call(**static)
            self._stream.wait_stream(side)
            graph = torch.cuda.CUDAGraph()
            # thread_local: another device's worker may allocate while this one captures
            with torch.cuda.graph(graph, pool=self._pool, stream=side, capture_error_mode="thread_local"):
                outputs = self._call(**static)
            self._stream.wait_stream(side)
        self._graphs[key] = _Graph(graph, static, outputs)

    def replay(self, inputs: Mapping[str, np.ndarray]) -> tuple[Any, ...] | None:
        """The outputs (device tensors, valid until the next replay) or None without a graph.
        Call on the backend's stream."""
        g = self._graphs.get(signature(inputs))
        if g is None:
            return None
        for name, array in inputs.items():
            g.inputs[name].copy_(self._torch.from_numpy(array), non_blocking=False)
        g.graph.replay()
        return g.outputs
