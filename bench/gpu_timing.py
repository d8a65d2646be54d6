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
