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

A graph's static inputs are views into one device buffer, so a replay moves its inputs in one
asynchronous copy from pinned host memory (for BERT's one feature, SingleStream's work: one copy
instead of four synchronous ones, each of which waited for the stream).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

import numpy as np

Signature = tuple[tuple[str, tuple[int, ...], str], ...]  # (name, shape, dtype) per input


def signature(inputs: Mapping[str, np.ndarray]) -> Signature:
    return tuple((name, tuple(a.shape), a.dtype.str) for name, a in sorted(inputs.items()))


_ALIGN = 16  # bytes: each input's place in the graph's input buffer (any dtype's alignment)


@dataclass
class _Graph:
    graph: Any  # torch.cuda.CUDAGraph
    inputs: dict[str, Any]  # static input tensors on the device: views into ``buffer``
    outputs: tuple[Any, ...]  # static output tensors on the device
    buffer: Any  # (bytes,) uint8 on the device
    offsets: dict[str, int]  # each input's first byte in ``buffer``
    host_dtypes: dict[str, np.dtype | None]  # NumPy's form of each input's dtype (None: bf16)


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
        with torch.cuda.stream(self._stream):  # the copies in: ordered before the side stream's run
            buffer, offsets, static = self._static_inputs(self._place(inputs))
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
        host = {name: _numpy_dtype(torch, t.dtype) for name, t in static.items()}
        self._graphs[key] = _Graph(graph, static, outputs, buffer, offsets, host)

    def _static_inputs(self, placed: dict[str, Any]) -> tuple[Any, dict[str, int], dict[str, Any]]:
        """One device buffer holding copies of ``placed``, and views of it by name."""
        torch = self._torch
        offsets, end = {}, 0
        for name, t in placed.items():
            offsets[name] = end
            end += -(-t.numel() * t.element_size() // _ALIGN) * _ALIGN
        buffer = torch.empty(end, dtype=torch.uint8, device=self._device)
        static = {name: _view(buffer, offsets[name], t) for name, t in placed.items()}
        for name, t in placed.items():
            static[name].copy_(t)
        return buffer, offsets, static

    def replay(self, inputs: Mapping[str, np.ndarray]) -> tuple[Any, ...] | None:
        """The outputs (device tensors, valid until the next replay) or None without a graph.
        Call on the backend's stream."""
        g = self._graphs.get(signature(inputs))
        if g is None:
            return None
        torch = self._torch
        staging = torch.empty(g.buffer.shape, dtype=torch.uint8, pin_memory=True)
        raw = staging.numpy()
        for name, array in inputs.items():
            static, host = g.inputs[name], g.host_dtypes[name]
            if host == array.dtype:  # NumPy copies straight into the pinned bytes
                start = g.offsets[name]
                view = raw[start : start + array.nbytes].view(array.dtype).reshape(array.shape)
                np.copyto(view, array)
            else:  # a conversion (float inputs to the run's dtype): torch does it on the host
                _view(staging, g.offsets[name], static).copy_(torch.from_numpy(np.ascontiguousarray(array)))
        # asynchronous: the pinned block is not reused before the copy ran (torch records it)
        g.buffer.copy_(staging, non_blocking=True)
        g.graph.replay()
        return g.outputs


def _view(buffer: Any, offset: int, like: Any) -> Any:
    """``like``'s shape and dtype over ``buffer``'s bytes from ``offset``."""
    nbytes = like.numel() * like.element_size()
    return buffer[offset : offset + nbytes].view(like.dtype).view(like.shape)


def _numpy_dtype(torch: Any, dtype: Any) -> np.dtype | None:
    try:
        return np.dtype(torch.empty(0, dtype=dtype).numpy().dtype)
    except TypeError:  # bfloat16: NumPy has no such type
        return None
