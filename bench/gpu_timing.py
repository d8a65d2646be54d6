"""Timing GPU work for the benches: the median of CUDA-event timings, after warm-up calls."""

from __future__ import annotations

import statistics
import time
from collections.abc import Callable

import torch


def timed_ms(fn: Callable[[], object], warmup: int, repeats: int) -> float:
    """Median of ``repeats`` CUDA-event timings (wall clock on the CPU)."""
    for _ in range(warmup):
        fn()
    samples = []
    for _ in range(repeats):
        if torch.cuda.is_available():
            start, end = torch.cuda.Event(enable_timing=True), torch.cuda.Event(enable_timing=True)
            start.record()
            fn()
            end.record()
            end.synchronize()
            samples.append(start.elapsed_time(end))
        else:
            t0 = time.perf_counter()
            fn()
            samples.append((time.perf_counter() - t0) * 1e3)
    return statistics.median(samples)


def graphed_ms(fn: Callable[[], object], warmup: int, repeats: int, calls: int = 20) -> float:
    """Kernel time per call of ``fn`` without the host's launch cost: ``calls`` calls captured in
    one CUDA graph, the median replay (``timed_ms``) divided by ``calls``. For small products
    (a few thousand tokens or less) launch time from Python exceeds the kernels' own; where a
    call cannot be captured, its eager time (``timed_ms``)."""
    if not torch.cuda.is_available():
        return timed_ms(fn, warmup, repeats)
    for _ in range(warmup):  # compiles and autotunes outside the capture
        fn()
    torch.cuda.synchronize()
    graph = torch.cuda.CUDAGraph()
    try:
        with torch.cuda.graph(graph):
            for _ in range(calls):
                fn()
    except Exception:  # a call that syncs or allocates outside the graph's pool
        torch.cuda.synchronize()
        return timed_ms(fn, warmup, repeats)
    return timed_ms(graph.replay, 2, repeats) / calls
