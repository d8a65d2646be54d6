"""Programmatic dependent launch (PDL) for our Triton kernels on Hopper and later.

A kernel launched with PDL may be scheduled before the kernel ahead of it in the stream has
finished; it runs what does not depend on that kernel (constant loads: weights, biases), then
``wait()`` (PTX ``griddepcontrol.wait``) blocks until every grid it depends on has completed and
its writes are visible, so the math is the same as a plain launch; only the launch latency
between neighbours is hidden. Measured on an H200 in one CUDA graph of 200 small dependent
kernels: 1.18 -> 0.89 us per kernel (0.2 M elements), 1.99 -> 1.46 (0.8 M): that is what a
SingleStream query, ~190 small kernels, can gain where our Triton kernels follow each other or
cuBLAS's. Only on CUDA GPUs of compute capability 9.0+ (the instruction does not exist before)
and never in Triton's interpreter (the CPU tests), where ``launch_options`` is empty and the
kernels get ``PDL=False``.

    kernel[grid](..., PDL=pdl, **launch_options(pdl))     pdl = pdl_available(tensor)
    # in the kernel, before the first load of an input another kernel wrote:
    if PDL:
        wait()
"""

from __future__ import annotations

import functools

import torch
import triton

try:  # Triton >= 3.3
    from triton.language.extra.cuda import gdc_wait as _gdc_wait
except ImportError:  # pragma: no cover - older Triton: PDL stays off
    _gdc_wait = None


_enabled = True


def set_enabled(on: bool) -> None:
    """Turn PDL off (or back on) for kernels launched from now on: for A/B benches (bench/gpu.py
    ``-nopdl``); CUDA graphs keep what they captured."""
    global _enabled
    _enabled = on


@functools.cache
def _capable(index: int) -> bool:
    return _gdc_wait is not None and torch.cuda.get_device_capability(index) >= (9, 0)


def pdl_available(t: torch.Tensor) -> bool:
    """Whether a kernel reading ``t`` may be launched with PDL (a Hopper+ GPU, not the interpreter)."""
    return t.is_cuda and _capable(
        t.device.index if t.device.index is not None else torch.cuda.current_device()
    )


def launch_options(pdl: bool) -> dict[str, bool]:
    """The Triton launch keyword for PDL (none at all when off: the interpreter knows no such key)."""
    return {"launch_pdl": True} if pdl else {}


if _gdc_wait is not None:
    wait = _gdc_wait
else:  # pragma: no cover - never reached in a kernel: pdl_available is False

    @triton.jit
    def wait() -> None:
        pass
