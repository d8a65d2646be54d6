"""An FP8 (e4m3) matrix product in Triton whose epilogue does the element-wise step after it.

    fp8_gemm(x8, weight8, scale, bias)                   -> fp16  (acc * scale + bias)
    fp8_gemm(..., gelu_out_inv_scale=s)                  -> e4m3  (quantize(gelu(...), s))

``torch._scaled_mm`` (cuBLASLt) writes its fp16 result to memory, and the op after it reads it
back: for BERT's first FFN product that is the widest tensor of the layer (tokens x 4h), and the
GELU + quantize kernel between the two FFN GEMMs took 31 of 176 ms of an H200 batch
(docs/performance.md). Here the GELU and the quantize to the next GEMM's static scale run on the
accumulator tile still in registers, and the product's only write is one byte per element.
The epilogue and its GELU forms are gemm_epilogue.py's.

``x8`` (M, K) e4m3 row-major; ``weight8`` (N, K) e4m3 row-major (``Fp8Linear``'s buffer: the
second operand K-major, as FP8 tensor cores want it); ``scale`` fp32 0-dim on the device (the
product of the two per-tensor scales: read by the kernel, so no host sync and CUDA-graph safe).
K and N must be multiples of the block sizes (BERT's 1024/3072/4096 are); any M. Rows past M are
read modulo M (unmasked loads keep the pipeline simple) and never stored.

Triton's interpreter (``TRITON_INTERPRET=1``) runs the same kernel on the CPU: the numerics are
tested there; speed only on a GPU (bench/fp8_gemm.py).
"""

from __future__ import annotations

import functools
import math
from dataclasses import dataclass, replace
from typing import Any

import torch
import triton
import triton.language as tl

from crowdperf.backends.gemm_config import GemmConfig, default_config
from crowdperf.backends.gemm_epilogue import (
    GELU_ERF,
    GELU_TANH_APPROX,
    GELU_TANH_EXP2,
    GELU_TANH_F16X2,
    finish_tile,
)


@triton.jit
def _fp8_gemm_kernel(
    a_ptr, w_ptr, c_ptr, scale_ptr, bias_ptr, out_inv_scale_ptr,
    M, stride_am, stride_wn, stride_cm,
    N: tl.constexpr, K: tl.constexpr,  # a weight's sizes: fixed per GEMM, the loop count known
    HAS_BIAS: tl.constexpr, GELU_QUANT: tl.constexpr, GELU_FORM: tl.constexpr,
    BLOCK_M: tl.constexpr, BLOCK_N: tl.constexpr, BLOCK_K: tl.constexpr, GROUP_M: tl.constexpr,
):  # fmt: skip
    pid = tl.program_id(0)
    grid_m = tl.cdiv(M, BLOCK_M)
    grid_n = N // BLOCK_N
    # grouped order: GROUP_M row-blocks walk one band of weight columns together (L2 reuse)
    width = GROUP_M * grid_n
    first_m = (pid // width) * GROUP_M
    group = tl.minimum(grid_m - first_m, GROUP_M)
    pid_m = first_m + (pid % width) % group
    pid_n = (pid % width) // group

    rm = (pid_m * BLOCK_M + tl.arange(0, BLOCK_M)) % M  # rows past M re-read real ones
    rn = pid_n * BLOCK_N + tl.arange(0, BLOCK_N)
    rk = tl.arange(0, BLOCK_K)
    a_ptrs = a_ptr + rm[:, None].to(tl.int64) * stride_am + rk[None, :]
    w_ptrs = w_ptr + rn[None, :].to(tl.int64) * stride_wn + rk[:, None]  # (BLOCK_K, BLOCK_N), K-major
    acc = tl.zeros((BLOCK_M, BLOCK_N), dtype=tl.float32)
    for _ in range(0, K // BLOCK_K):  # K is a multiple of BLOCK_K (fp8_gemm checks)
        acc = tl.dot(tl.load(a_ptrs), tl.load(w_ptrs), acc)
        a_ptrs += BLOCK_K
        w_ptrs += BLOCK_K

    bias = tl.load(bias_ptr + rn).to(tl.float32)[None, :] if HAS_BIAS else None
    y = finish_tile(
        acc, tl.load(scale_ptr), bias, tl.load(out_inv_scale_ptr), HAS_BIAS, GELU_QUANT, GELU_FORM
    )  # fmt: skip
    rows = pid_m * BLOCK_M + tl.arange(0, BLOCK_M)
    keep = rows[:, None] < M
    c_ptrs = c_ptr + rows[:, None].to(tl.int64) * stride_cm + rn[None, :]
    tl.store(c_ptrs, y.to(c_ptr.dtype.element_ty), mask=keep)


@triton.jit
def _tile_coords(tile, grid_m, grid_n, GROUP_M: tl.constexpr):
    """The (row block, column block) of tile number ``tile`` in grouped order: GROUP_M row blocks
    walk one band of weight columns together (L2 reuse)."""
    width = GROUP_M * grid_n
    first_m = (tile // width) * GROUP_M
    group = tl.minimum(grid_m - first_m, GROUP_M)
    return first_m + (tile % width) % group, (tile % width) // group


@triton.jit
def _finish_store(
    c, y, row0, col0, M, stride_cm, scale, bias_ptr, out_inv_scale,
    HAS_BIAS: tl.constexpr, GELU_QUANT: tl.constexpr, GELU_FORM: tl.constexpr, TMA: tl.constexpr,
    BLOCK_M: tl.constexpr, WIDTH: tl.constexpr,
):  # fmt: skip
    """The epilogue of one (BLOCK_M, WIDTH) piece of a tile whose first element is (row0, col0):
    scale, bias, then GELU + quantize or not, and the store (rows past M dropped)."""
    cols = col0 + tl.arange(0, WIDTH)
    bias = tl.load(bias_ptr + cols).to(tl.float32)[None, :] if HAS_BIAS else None
    y = finish_tile(y, scale, bias, out_inv_scale, HAS_BIAS, GELU_QUANT, GELU_FORM)
    if TMA:
        c.store([row0, col0], y.to(c.dtype))  # TMA drops the rows past M
    else:
        rows = row0 + tl.arange(0, BLOCK_M)
        ptrs = c + rows[:, None].to(tl.int64) * stride_cm + cols[None, :]
        tl.store(ptrs, y.to(c.dtype.element_ty), mask=rows[:, None] < M)


@triton.jit
def _fp8_gemm_persistent_kernel(
    a, w, c, scale_ptr, bias_ptr, out_inv_scale_ptr,  # a, w, c: TMA descriptors, or pointers
    M, stride_am, stride_wn, stride_cm,
    N: tl.constexpr, K: tl.constexpr,
    HAS_BIAS: tl.constexpr, GELU_QUANT: tl.constexpr, GELU_FORM: tl.constexpr,
    BLOCK_M: tl.constexpr, BLOCK_N: tl.constexpr, BLOCK_K: tl.constexpr, GROUP_M: tl.constexpr,
    PROGRAMS: tl.constexpr, TMA: tl.constexpr, SUBTILE: tl.constexpr,
):  # fmt: skip
    """Each of PROGRAMS programs walks tiles start, start + PROGRAMS, ... (Triton's tutorial 09
    recipe: ``flatten`` lets the compiler pipeline the next tile's loads under this tile's
    epilogue). PROGRAMS past the number of tiles gives one program per tile."""
    start = tl.program_id(0)
    grid_m = tl.cdiv(M, BLOCK_M)
    grid_n = N // BLOCK_N
    scale = tl.load(scale_ptr)
    out_inv_scale = tl.load(out_inv_scale_ptr)  # a placeholder's value when not GELU_QUANT
    tile_c = start - PROGRAMS  # the epilogue's own tile counter (the tutorial's: pipelining)
    for tile in tl.range(start, grid_m * grid_n, PROGRAMS, flatten=True):
        pid_m, pid_n = _tile_coords(tile, grid_m, grid_n, GROUP_M)
        acc = tl.zeros((BLOCK_M, BLOCK_N), dtype=tl.float32)
        if TMA:
            for kk in range(0, K // BLOCK_K):
                x = a.load([pid_m * BLOCK_M, kk * BLOCK_K])
                acc = tl.dot(x, w.load([pid_n * BLOCK_N, kk * BLOCK_K]).T, acc)
        else:
            rm = (pid_m * BLOCK_M + tl.arange(0, BLOCK_M)) % M  # rows past M re-read real ones
            rn = pid_n * BLOCK_N + tl.arange(0, BLOCK_N)
            rk = tl.arange(0, BLOCK_K)
            a_ptrs = a + rm[:, None].to(tl.int64) * stride_am + rk[None, :]
            w_ptrs = w + rn[None, :].to(tl.int64) * stride_wn + rk[:, None]
            for kk in range(0, K // BLOCK_K):
                acc = tl.dot(tl.load(a_ptrs + kk * BLOCK_K), tl.load(w_ptrs + kk * BLOCK_K), acc)
        tile_c += PROGRAMS
        pid_m, pid_n = _tile_coords(tile_c, grid_m, grid_n, GROUP_M)
        _finish_tile_store(
            c, acc, pid_m * BLOCK_M, pid_n * BLOCK_N, M, stride_cm, scale, bias_ptr, out_inv_scale,
            HAS_BIAS, GELU_QUANT, GELU_FORM, TMA, SUBTILE, BLOCK_M, BLOCK_N,
        )  # fmt: skip


@triton.jit
def _fp8_gemm_ws_kernel(
    a_ptr, w_ptr, c_ptr, scale_ptr, bias_ptr, out_inv_scale_ptr,
    M, stride_am, stride_wn, stride_cm,
    N: tl.constexpr, K: tl.constexpr,
    HAS_BIAS: tl.constexpr, GELU_QUANT: tl.constexpr, GELU_FORM: tl.constexpr,
    BLOCK_M: tl.constexpr, BLOCK_N: tl.constexpr, BLOCK_K: tl.constexpr, GROUP_M: tl.constexpr,
    PROGRAMS: tl.constexpr,
):  # fmt: skip
    """Operands loaded and the result stored through device-side TMA descriptors, the tile loop
    warp-specialised (PROGRAMS as in the persistent kernel: past the tile count, one tile a
    program). Triton 3.6 gives Hopper a producer warp group that issues the loads, running ahead
    into the next tile while two consumer groups (num_warps=4 each, ``setmaxnreg`` up to 232
    registers) multiply half of the tile's rows each and run the epilogue. Host-side descriptors,
    8 warps or a ``flatten``ed loop get no specialisation on sm_90 (bench/fp8_gemm_compile.py
    reads it in the TTGIR)."""
    grid_m = tl.cdiv(M, BLOCK_M)
    grid_n = N // BLOCK_N
    a = tl.make_tensor_descriptor(a_ptr, shape=[M, K], strides=[stride_am, 1], block_shape=[BLOCK_M, BLOCK_K])
    w = tl.make_tensor_descriptor(w_ptr, shape=[N, K], strides=[stride_wn, 1], block_shape=[BLOCK_N, BLOCK_K])
    c = tl.make_tensor_descriptor(c_ptr, shape=[M, N], strides=[stride_cm, 1], block_shape=[BLOCK_M, BLOCK_N])
    scale = tl.load(scale_ptr)
    out_inv_scale = tl.load(out_inv_scale_ptr)  # a placeholder's value when not GELU_QUANT
    for tile in tl.range(tl.program_id(0), grid_m * grid_n, PROGRAMS, warp_specialize=True):
        pid_m, pid_n = _tile_coords(tile, grid_m, grid_n, GROUP_M)
        acc = tl.zeros((BLOCK_M, BLOCK_N), dtype=tl.float32)
        for kk in range(0, K // BLOCK_K):
            x = a.load([pid_m * BLOCK_M, kk * BLOCK_K])
            acc = tl.dot(x, w.load([pid_n * BLOCK_N, kk * BLOCK_K]).T, acc)
        _finish_store(
            c, acc, pid_m * BLOCK_M, pid_n * BLOCK_N, M, stride_cm, scale, bias_ptr, out_inv_scale,
            HAS_BIAS, GELU_QUANT, GELU_FORM, True, BLOCK_M, BLOCK_N,
        )  # fmt: skip


@triton.jit
def _finish_tile_store(
    c, acc, row0, col0, M, stride_cm, scale, bias_ptr, out_inv_scale,
    HAS_BIAS: tl.constexpr, GELU_QUANT: tl.constexpr, GELU_FORM: tl.constexpr, TMA: tl.constexpr,
    SUBTILE: tl.constexpr, BLOCK_M: tl.constexpr, BLOCK_N: tl.constexpr,
):  # fmt: skip
    """The epilogue of a (BLOCK_M, BLOCK_N) tile at (row0, col0): whole, or (SUBTILE) in two
    (BLOCK_M, BLOCK_N / 2) halves, columns [0, N/2) and [N/2, N) (half the temporaries)."""
    if SUBTILE:
        left, right = tl.split(tl.permute(tl.reshape(acc, (BLOCK_M, 2, BLOCK_N // 2)), (0, 2, 1)))
        _finish_store(
            c, left, row0, col0, M, stride_cm, scale, bias_ptr, out_inv_scale,
            HAS_BIAS, GELU_QUANT, GELU_FORM, TMA, BLOCK_M, BLOCK_N // 2,
        )  # fmt: skip
        _finish_store(
            c, right, row0, col0 + BLOCK_N // 2, M, stride_cm, scale, bias_ptr, out_inv_scale,
            HAS_BIAS, GELU_QUANT, GELU_FORM, TMA, BLOCK_M, BLOCK_N // 2,
        )  # fmt: skip
    else:
        _finish_store(
            c, acc, row0, col0, M, stride_cm, scale, bias_ptr, out_inv_scale,
            HAS_BIAS, GELU_QUANT, GELU_FORM, TMA, BLOCK_M, BLOCK_N,
        )  # fmt: skip


@triton.jit
def _fp8_gemm_split_k_kernel(
    a_ptr, w_ptr, part_ptr, M, stride_am, stride_wn,
    N: tl.constexpr, K: tl.constexpr, SPLIT_K: tl.constexpr,
    BLOCK_M: tl.constexpr, BLOCK_N: tl.constexpr, BLOCK_K: tl.constexpr, GROUP_M: tl.constexpr,
):  # fmt: skip
    """Program (tile, s) sums slice s of K for its tile into partial sums ``part[s]`` (fp32)."""
    pid_m, pid_n = _tile_coords(tl.program_id(0), tl.cdiv(M, BLOCK_M), N // BLOCK_N, GROUP_M)
    split = tl.program_id(1)
    rm = (pid_m * BLOCK_M + tl.arange(0, BLOCK_M)) % M
    rn = pid_n * BLOCK_N + tl.arange(0, BLOCK_N)
    rk = split * (K // SPLIT_K) + tl.arange(0, BLOCK_K)
    a_ptrs = a_ptr + rm[:, None].to(tl.int64) * stride_am + rk[None, :]
    w_ptrs = w_ptr + rn[None, :].to(tl.int64) * stride_wn + rk[:, None]
    acc = tl.zeros((BLOCK_M, BLOCK_N), dtype=tl.float32)
    for _ in range(0, K // SPLIT_K // BLOCK_K):
        acc = tl.dot(tl.load(a_ptrs), tl.load(w_ptrs), acc)
        a_ptrs += BLOCK_K
        w_ptrs += BLOCK_K
    rows = pid_m * BLOCK_M + tl.arange(0, BLOCK_M)
    part = part_ptr + split.to(tl.int64) * M * N + rows[:, None].to(tl.int64) * N + rn[None, :]
    tl.store(part, acc, mask=rows[:, None] < M)


@triton.jit
def _split_k_reduce_kernel(
    part_ptr, c_ptr, scale_ptr, bias_ptr, M, stride_cm,
    N: tl.constexpr, SPLIT_K: tl.constexpr, HAS_BIAS: tl.constexpr,
    BLOCK_M: tl.constexpr, BLOCK_N: tl.constexpr,
):  # fmt: skip
    """``c = sum_s part[s] * scale (+ bias)``, one (BLOCK_M, BLOCK_N) block per program."""
    rows = tl.program_id(0) * BLOCK_M + tl.arange(0, BLOCK_M)
    cols = tl.program_id(1) * BLOCK_N + tl.arange(0, BLOCK_N)
    keep = rows[:, None] < M
    offs = rows[:, None].to(tl.int64) * N + cols[None, :]
    acc = tl.zeros((BLOCK_M, BLOCK_N), dtype=tl.float32)
    for s in tl.static_range(SPLIT_K):
        acc += tl.load(part_ptr + s * M * N + offs, mask=keep, other=0.0)
    y = acc * tl.load(scale_ptr)
    if HAS_BIAS:
        y += tl.load(bias_ptr + cols).to(tl.float32)[None, :]
    c_ptrs = c_ptr + rows[:, None].to(tl.int64) * stride_cm + cols[None, :]
    tl.store(c_ptrs, y.to(c_ptr.dtype.element_ty), mask=keep)


def fp8_gemm(
    x8: torch.Tensor,
    weight8: torch.Tensor,
    scale: torch.Tensor,
    bias: torch.Tensor | None = None,
    *,
    gelu_out_inv_scale: torch.Tensor | None = None,
    gelu_tanh: bool = False,
    tanh_approx: bool | None = None,
    tanh_f16x2: bool = False,
    out_dtype: torch.dtype = torch.float16,
    config: GemmConfig | None = None,
) -> torch.Tensor:
    """``x8 @ weight8^T * scale (+ bias)``, or its GELU (erf, or tanh's with
    ``gelu_tanh``) quantized to e4m3 with ``gelu_out_inv_scale``; see the module's docstring for
    the layouts.
    ``tanh_approx``: tanh's GELU through the GPU's ``tanh.approx`` instruction (None: on CUDA
    tensors, where it exists; Triton's interpreter computes it with exp2); ``tanh_f16x2``: that
    GELU and the quantize in packed half precision (``GELU_TANH_F16X2``: sm_89+), where
    ``tanh.approx`` is used (elsewhere the exp2 form, as without it)."""
    out, launches = gemm_launches(
        x8, weight8, scale, bias, gelu_out_inv_scale=gelu_out_inv_scale, gelu_tanh=gelu_tanh,
        tanh_approx=tanh_approx, tanh_f16x2=tanh_f16x2, out_dtype=out_dtype, config=config,
    )  # fmt: skip
    for launch in launches:
        launch()
    return out


@dataclass(frozen=True)
class KernelLaunch:
    """One Triton kernel launch, prepared: ``kernel[grid](*args, **options)``."""

    kernel: Any  # a triton.jit function
    grid: tuple[int, ...]
    args: tuple[Any, ...]
    options: dict[str, Any]  # constexpr arguments, num_warps, num_stages
    scratch: torch.device | None = None  # device-side TMA descriptors: their memory's device

    def __call__(self) -> None:
        if self.scratch is not None:  # a ContextVar: set in the launching thread (SUT workers' own)
            triton.set_allocator(_Scratch(self.scratch))
        self.kernel[self.grid](*self.args, **self.options)


@dataclass(frozen=True)
class _Scratch:
    """Triton's allocator for the global memory of the descriptors a kernel builds on the device:
    PyTorch's caching allocator (stream-ordered on the current stream, 512-byte aligned blocks,
    capturable in a CUDA graph) on the operands' device."""

    device: torch.device

    def __call__(self, size: int, alignment: int, stream: int | None) -> torch.Tensor:
        return torch.empty(size, dtype=torch.int8, device=self.device)


def gemm_launches(
    x8: torch.Tensor,
    weight8: torch.Tensor,
    scale: torch.Tensor,
    bias: torch.Tensor | None = None,
    *,
    gelu_out_inv_scale: torch.Tensor | None = None,
    gelu_tanh: bool = False,
    tanh_approx: bool | None = None,
    tanh_f16x2: bool = False,
    out_dtype: torch.dtype = torch.float16,
    config: GemmConfig | None = None,
) -> tuple[torch.Tensor, list[KernelLaunch]]:
    """``fp8_gemm``'s output (allocated, not written) and the launches that write it, not run
    (bench/fp8_gemm_compile.py compiles them for Hopper on a machine without a GPU)."""
    (m, k), n = x8.shape, weight8.shape[0]
    gelu = gelu_out_inv_scale is not None
    if tanh_f16x2 and not gelu_tanh:
        raise ValueError("FP8 GEMM: tanh_f16x2 is a form of tanh's GELU (gelu_tanh=True)")
    tma = x8.is_cuda and _tma_refusal(x8, weight8) is None  # the default's TMA form: GPUs only
    cfg = config or default_config(m, n, k, epilogue=gelu, tma=tma)
    _check(x8, weight8, cfg, gelu)
    out = torch.empty((m, n), device=x8.device, dtype=torch.float8_e4m3fn if gelu else out_dtype)
    if m == 0:
        return out, []
    form = _gelu_form(x8, gelu_tanh, tanh_approx, tanh_f16x2)
    epilogue = _Epilogue(scale, bias, gelu_out_inv_scale, form)
    if cfg.split_k > 1:
        return out, _split_k_launches(x8, weight8, out, epilogue, cfg)
    if cfg.warp_specialize:
        return out, [_ws_launch(x8, weight8, out, epilogue, cfg)]
    if cfg.persistent or cfg.tma or cfg.epilogue_subtile:
        return out, [_persistent_launch(x8, weight8, out, epilogue, cfg)]
    return out, [_classic_launch(x8, weight8, out, epilogue, cfg)]


def _gelu_form(x8: torch.Tensor, tanh: bool, approx: bool | None, f16x2: bool) -> int:
    """The epilogue's GELU_FORM (read only with a GELU): tanh.approx (in fp32, or packed fp16)
    only on CUDA by default: Triton's interpreter has no PTX, and computes tanh's GELU with exp2."""
    if not tanh:
        return GELU_ERF
    if not (x8.is_cuda if approx is None else approx):
        return GELU_TANH_EXP2
    return GELU_TANH_F16X2 if f16x2 else GELU_TANH_APPROX


def _tma_refusal(x8: torch.Tensor, weight8: torch.Tensor) -> str | None:
    """Why TMA descriptors cannot serve these operands, or None: rows must be 16-byte aligned,
    and a GPU must have TMA (Hopper, 9.0, and later; Triton's interpreter runs them on the CPU)."""
    if x8.stride(0) % 16 or weight8.stride(0) % 16 or weight8.shape[0] % 16:
        return "TMA needs rows 16-byte aligned"
    if x8.is_cuda and torch.cuda.get_device_capability(x8.device) < (9, 0):
        return "TMA needs a Hopper or later GPU (compute capability 9.0)"
    return None


def _check(x8: torch.Tensor, weight8: torch.Tensor, cfg: GemmConfig, quantized: bool) -> None:
    """Refuse what ``cfg``'s kernel cannot do, with the reason."""
    (k, (n, k_w)) = x8.shape[1], weight8.shape
    if k != k_w or k % (cfg.block_k * cfg.split_k) or n % cfg.block_n:
        sizes = f"{tuple(x8.shape)} x {tuple(weight8.shape)}^T"
        raise ValueError(f"FP8 GEMM: sizes {sizes} do not fit {cfg.name}")
    if x8.stride(1) != 1 or weight8.stride(1) != 1:
        raise ValueError("FP8 GEMM: both operands must be contiguous along K")
    classic = cfg == replace(cfg, persistent=0, tma=False, epilogue_subtile=False, warp_specialize=False)
    if cfg.split_k > 1 and (quantized or not classic):
        raise ValueError(f"FP8 GEMM {cfg.name}: split-K is a plain product (fp16 out) of the classic form")
    # K steps under 128 gave NaNs in fp16 products on an H200 (Triton 3.6, bench/fp8_gemm.py;
    # Triton's interpreter is right with any)
    short_k = x8.is_cuda and cfg.block_k < 128
    if cfg.warp_specialize and (cfg.tma or cfg.epilogue_subtile or cfg.warps != 4 or short_k):
        form = "its own TMA form, whole tiles, 4 warps (w4), on a GPU K steps of 128"
        raise ValueError(f"FP8 GEMM {cfg.name}: warp specialisation is {form}")
    refusal = _tma_refusal(x8, weight8) if cfg.tma or cfg.warp_specialize else None
    if refusal:
        raise ValueError(f"FP8 GEMM {cfg.name}: {refusal}")


@dataclass(frozen=True)
class _Epilogue:
    """What the epilogue reads: the product's scale, the bias, the GELU's output scale."""

    scale: torch.Tensor
    bias: torch.Tensor | None
    out_inv_scale: torch.Tensor | None  # GELU + quantize's
    gelu_form: int  # gemm_epilogue's GELU_ERF, _TANH_EXP2, _TANH_APPROX or _TANH_F16X2

    def tensors(self) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        """scale, bias, out scale; unread placeholders (``scale``) keep the kernels' signatures."""
        bias = self.bias if self.bias is not None else self.scale
        inv = self.out_inv_scale if self.out_inv_scale is not None else self.scale
        return self.scale, bias, inv

    def flags(self) -> dict[str, bool | int]:
        quant = self.out_inv_scale is not None  # the kernels' GELU_QUANT: (GELU_FORM's GELU, then) quantize
        return {"HAS_BIAS": self.bias is not None, "GELU_QUANT": quant, "GELU_FORM": self.gelu_form}


def _classic_launch(
    x8: torch.Tensor, w8: torch.Tensor, out: torch.Tensor, ep: _Epilogue, cfg: GemmConfig
) -> KernelLaunch:
    (m, k), n = x8.shape, w8.shape[0]
    grid = (math.ceil(m / cfg.block_m) * (n // cfg.block_n),)
    args = (x8, w8, out, *ep.tensors(), m, x8.stride(0), w8.stride(0), out.stride(0), n, k)
    return KernelLaunch(_fp8_gemm_kernel, grid, args, {**ep.flags(), **_tiling(cfg)})


def _persistent_launch(
    x8: torch.Tensor, w8: torch.Tensor, out: torch.Tensor, ep: _Epilogue, cfg: GemmConfig
) -> KernelLaunch:
    (m, k), n = x8.shape, w8.shape[0]
    tiles, step = _tiles_and_step(m, n, cfg, x8.device)
    a: object = x8
    w: object = w8
    c: object = out
    if cfg.tma:
        from triton.tools.tensor_descriptor import TensorDescriptor  # triton >= 3.4

        store_n = cfg.block_n // 2 if cfg.epilogue_subtile else cfg.block_n
        a = TensorDescriptor(x8, [m, k], [x8.stride(0), 1], [cfg.block_m, cfg.block_k])
        w = TensorDescriptor(w8, [n, k], [w8.stride(0), 1], [cfg.block_n, cfg.block_k])
        c = TensorDescriptor(out, [m, n], [out.stride(0), 1], [cfg.block_m, store_n])
    args = (a, w, c, *ep.tensors(), m, x8.stride(0), w8.stride(0), out.stride(0), n, k)
    form = {"PROGRAMS": step, "TMA": cfg.tma, "SUBTILE": cfg.epilogue_subtile}
    return KernelLaunch(
        _fp8_gemm_persistent_kernel, (min(tiles, step),), args, {**ep.flags(), **_tiling(cfg), **form}
    )


def _ws_launch(
    x8: torch.Tensor, w8: torch.Tensor, out: torch.Tensor, ep: _Epilogue, cfg: GemmConfig
) -> KernelLaunch:
    (m, k), n = x8.shape, w8.shape[0]
    tiles, step = _tiles_and_step(m, n, cfg, x8.device)
    args = (x8, w8, out, *ep.tensors(), m, x8.stride(0), w8.stride(0), out.stride(0), n, k)
    options = {**ep.flags(), **_tiling(cfg), "PROGRAMS": step}
    return KernelLaunch(_fp8_gemm_ws_kernel, (min(tiles, step),), args, options, scratch=x8.device)


def _tiles_and_step(m: int, n: int, cfg: GemmConfig, device: torch.device) -> tuple[int, int]:
    """A tile-walking kernel's tile count and loop step (PROGRAMS). The step is a constant per
    device (no recompile per M), and fewer tiles launch fewer programs; not persistent: a step
    past any tile count, so each program takes one tile."""
    tiles = math.ceil(m / cfg.block_m) * (n // cfg.block_n)
    return tiles, cfg.persistent * _sm_count(device) if cfg.persistent else 1 << 30


def _split_k_launches(
    x8: torch.Tensor, w8: torch.Tensor, out: torch.Tensor, ep: _Epilogue, cfg: GemmConfig
) -> list[KernelLaunch]:
    """The slices' products into fp32 partial sums, then their sum, scaled, plus bias."""
    (m, k), n = x8.shape, w8.shape[0]
    parts = torch.empty((cfg.split_k, m, n), device=x8.device, dtype=torch.float32)
    tiles = math.ceil(m / cfg.block_m) * (n // cfg.block_n)
    slices = KernelLaunch(
        _fp8_gemm_split_k_kernel, (tiles, cfg.split_k),
        (x8, w8, parts, m, x8.stride(0), w8.stride(0), n, k, cfg.split_k), _tiling(cfg),
    )  # fmt: skip
    scale, bias, _ = ep.tensors()
    reduce_m = 32
    total = KernelLaunch(
        _split_k_reduce_kernel, (math.ceil(m / reduce_m), n // cfg.block_n),
        (parts, out, scale, bias, m, out.stride(0), n, cfg.split_k, ep.bias is not None),
        {"BLOCK_M": reduce_m, "BLOCK_N": cfg.block_n, "num_warps": 4},
    )  # fmt: skip
    return [slices, total]


def _tiling(cfg: GemmConfig) -> dict[str, int]:
    return {
        "BLOCK_M": cfg.block_m, "BLOCK_N": cfg.block_n, "BLOCK_K": cfg.block_k, "GROUP_M": cfg.group_m,
        "num_stages": cfg.stages, "num_warps": cfg.warps,
    }  # fmt: skip


@functools.cache
def _sm_count(device: torch.device) -> int:
    """Streaming multiprocessors of ``device``; on the CPU (Triton's interpreter) a few programs,
    so that each walks several tiles as on a GPU."""
    if device.type != "cuda":
        return 3
    return int(torch.cuda.get_device_properties(device).multi_processor_count)
