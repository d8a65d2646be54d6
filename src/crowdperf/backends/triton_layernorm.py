"""Residual add + LayerNorm + quantize to e4m3 in one hand-written Triton kernel.

    layernorm(x, weight, bias, eps, residual=r, out_inv_scale=s)  -> (y, y8)   add + LN + quantize
    layernorm(x, weight, bias, eps, out_inv_scale=s)              -> (y, y8)   LN + quantize
    layernorm(x, weight, bias, eps, residual=r)                   -> (y, None) add + LN
    layernorm(x, ..., residual=r8, residual_scale=s8, out_inv_scale=s, write_y=False)
                                                                  -> (None, y8) e4m3 residual

The same math as backends/fp8.py's reference functions (``_add_layernorm_quantize`` and its
siblings): ``y = layer_norm(x + residual)`` in fp32 (mean, biased variance, ``rstd``), ``y`` out
in ``x``'s dtype, and ``y8 = clamp(y * inv_scale, -448, 448)`` to e4m3 from the fp32 ``y``, not
from its 16-bit copy. BERT's FP8 form runs it twice per layer; it is memory-bound (7 bytes moved
per element with a residual and e4m3 out), so speed is bandwidth: each program normalises
``rows`` whole rows held in registers (one read of each input, one write of each output); one
row per program measured fastest. On an H200 it moves 4.16 TB/s where Inductor's kernel for the
same PyTorch (``Fp8Kernels`` fused) moves 3.64 (bench/layernorm_kernels.py).

With ``residual_scale`` the residual is e4m3 at that scale (read as ``r8 * s8``) and with
``write_y=False`` only the e4m3 copy is written: the residual stream held in e4m3, 4 bytes moved
per element instead of 7 (``Fp8Options.residual_e4m3``).

Rows are the leading dimensions flattened; the last one (the hidden size) is normalised and must
be contiguous, of any size (a block of the next power of two, masked). ``inv_scale`` is an fp32
0-dim tensor on the device, read by the kernel: no host sync, so CUDA graphs can capture it.
Triton's interpreter (``TRITON_INTERPRET=1``) runs the same kernel on the CPU for the tests;
speed only on a GPU (bench/layernorm_kernels.py).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import cast

import torch
import triton
import triton.language as tl

# the largest finite e4m3fn value, as a kernel constant (fp8.py imports this module: no import back)
_SATURATE: tl.constexpr = tl.constexpr(torch.finfo(torch.float8_e4m3fn).max)


@dataclass(frozen=True)
class LayerNormConfig:
    """Rows normalised by one program and the warps that share them."""

    rows: int = 1
    warps: int = 4

    @property
    def name(self) -> str:
        return f"r{self.rows}w{self.warps}"


# Measured on an H200 (bench/layernorm_kernels.py, residual + LayerNorm + quantize, 1,024 wide):
# one row of 4 warps per program is the fastest at every size swept, 160,000 rows 276 us (4.16
# TB/s; Inductor's kernel 315 us), 11,520 rows 21.5 us (Inductor 25.1); 2, 4, 8, 16 rows per
# program and 8 warps all lost. Narrow rows (tiny test models) get fewer warps.
ONE_ROW = LayerNormConfig(rows=1, warps=4)
# The e4m3-residual step that writes only e4m3 (4 bytes an element) moves too little per program
# at one row: session 9's sweep (same bench, add8_ln_quant) gave 4 rows of 4 warps 183.4 us
# against one row's 200.4 at 182,000 rows, 13.6 against 14.0 us at 11,520 (the best of 9 configs
# within 2 % at both); below LIGHT_MIN_ROWS (not measured there) it keeps one row per program.
LIGHT = LayerNormConfig(rows=4, warps=4)
LIGHT_MIN_ROWS = 8192


def default_config(m: int, n: int, light: bool = False) -> LayerNormConfig:
    """The config for ``m`` rows of ``n``: one row per program, 4 warps (fewer for rows narrower
    than 1,024: a warp per 256 elements at least); ``light`` (an e4m3 residual in, only e4m3
    out): ``LIGHT``'s rows per program from ``LIGHT_MIN_ROWS`` rows up."""
    block = triton.next_power_of_2(n)
    warps = max(1, min(ONE_ROW.warps, block // 256))
    rows = LIGHT.rows if light and m >= LIGHT_MIN_ROWS else ONE_ROW.rows
    return LayerNormConfig(rows=rows, warps=warps)


@triton.jit
def _layernorm_kernel(
    x_ptr, res_ptr, res_scale_ptr, w_ptr, b_ptr, inv_scale_ptr, y_ptr, y8_ptr,
    M, stride_x, stride_res, eps,
    N: tl.constexpr, BLOCK_N: tl.constexpr, ROWS: tl.constexpr,
    HAS_RESIDUAL: tl.constexpr, RESIDUAL_E4M3: tl.constexpr, QUANTIZE: tl.constexpr, WRITE_Y: tl.constexpr,
):  # fmt: skip
    rows = tl.program_id(0) * ROWS + tl.arange(0, ROWS)
    cols = tl.arange(0, BLOCK_N)
    mask = (rows < M)[:, None]  # constant along a row: loads stay 16-byte vectors
    if BLOCK_N != N:
        mask = mask & (cols < N)[None, :]
    rows64 = rows.to(tl.int64)[:, None]
    # inputs are read once: let them leave L2 first; the weight and bias serve every program
    x_ptrs = x_ptr + rows64 * stride_x + cols[None, :]
    x = tl.load(x_ptrs, mask=mask, other=0.0, eviction_policy="evict_first").to(tl.float32)
    if HAS_RESIDUAL:
        r_ptrs = res_ptr + rows64 * stride_res + cols[None, :]
        r = tl.load(r_ptrs, mask=mask, other=0.0, eviction_policy="evict_first").to(tl.float32)
        x += r * tl.load(res_scale_ptr) if RESIDUAL_E4M3 else r
    mean = tl.sum(x, axis=1) / N
    d = x - mean[:, None]
    if BLOCK_N != N:  # masked columns are 0 in x but not in x - mean
        d = tl.where(mask, d, 0.0)
    rstd = 1.0 / tl.sqrt(tl.sum(d * d, axis=1) / N + eps)
    w = tl.load(w_ptr + cols, mask=cols < N, other=0.0, eviction_policy="evict_last").to(tl.float32)
    b = tl.load(b_ptr + cols, mask=cols < N, other=0.0, eviction_policy="evict_last").to(tl.float32)
    y = d * rstd[:, None] * w[None, :] + b[None, :]
    out = rows64 * N + cols[None, :]  # outputs are allocated contiguous
    if WRITE_Y:
        tl.store(y_ptr + out, y.to(y_ptr.dtype.element_ty), mask=mask)
    if QUANTIZE:  # from the fp32 y, as fp8.quantize; saturate: e4m3fn has no infinity
        q = tl.minimum(tl.maximum(y * tl.load(inv_scale_ptr), -_SATURATE), _SATURATE)
        tl.store(y8_ptr + out, q.to(y8_ptr.dtype.element_ty), mask=mask)


def _rows(t: torch.Tensor, n: int) -> torch.Tensor:
    """``t`` as (rows, n) with unit stride along n (a copy only where it is not so already)."""
    t2 = t.reshape(-1, n)
    return t2 if t2.stride(1) == 1 else t2.contiguous()


def layernorm(
    x: torch.Tensor,
    weight: torch.Tensor,
    bias: torch.Tensor,
    eps: float,
    *,
    residual: torch.Tensor | None = None,
    residual_scale: torch.Tensor | None = None,
    out_inv_scale: torch.Tensor | None = None,
    write_y: bool = True,
    config: LayerNormConfig | None = None,
) -> tuple[torch.Tensor | None, torch.Tensor | None]:
    """``layer_norm(x (+ residual))`` over the last dimension in ``x``'s dtype (None with
    ``write_y=False``), and with ``out_inv_scale`` its e4m3 copy (else None); ``residual_scale``:
    the residual is e4m3 at that scale. See the module's docstring."""
    n = x.shape[-1]
    if residual is not None and residual.shape != x.shape:
        raise ValueError(f"LayerNorm: residual {tuple(residual.shape)} is not x's {tuple(x.shape)}")
    if (residual_scale is not None) != (residual is not None and residual.dtype == torch.float8_e4m3fn):
        raise ValueError("LayerNorm: an e4m3 residual needs its residual_scale, and only it takes one")
    if weight.shape != (n,) or bias.shape != (n,):
        raise ValueError(f"LayerNorm: weight and bias must be ({n},)")
    quantize = out_inv_scale is not None
    if not (write_y or quantize):
        raise ValueError("LayerNorm: with write_y=False only the e4m3 copy is written: give out_inv_scale")
    x2 = _rows(x, n)
    r2 = _rows(residual, n) if residual is not None else x2  # unread placeholder
    m = x2.shape[0]
    y = torch.empty(x.shape, device=x.device, dtype=x.dtype) if write_y else None
    y8 = torch.empty(x.shape, device=x.device, dtype=torch.float8_e4m3fn) if quantize else None
    if m == 0:
        return y, y8
    cfg = config or default_config(m, n, light=residual_scale is not None and not write_y)
    some_out = cast(torch.Tensor, y if y is not None else y8)
    _layernorm_kernel[(math.ceil(m / cfg.rows),)](
        x2, r2, residual_scale if residual_scale is not None else weight, weight, bias,
        out_inv_scale if quantize else weight,  # placeholders keep the signature fixed
        some_out, y8 if y8 is not None else some_out,
        m, x2.stride(0), r2.stride(0), eps,
        N=n, BLOCK_N=triton.next_power_of_2(n), ROWS=cfg.rows,
        HAS_RESIDUAL=residual is not None, RESIDUAL_E4M3=residual_scale is not None,
        QUANTIZE=quantize, WRITE_Y=write_y, num_warps=cfg.warps,
    )  # fmt: skip
    return y, y8


# Fp8Kernels' signatures (backends/fp8.py), so the two implementations are interchangeable


def add_layernorm_quantize(
    x: torch.Tensor,
    residual: torch.Tensor,
    weight: torch.Tensor,
    bias: torch.Tensor,
    eps: float,
    inv_scale: torch.Tensor,
) -> tuple[torch.Tensor, torch.Tensor]:
    y, y8 = layernorm(x, weight, bias, eps, residual=residual, out_inv_scale=inv_scale)
    return cast(torch.Tensor, y), cast(torch.Tensor, y8)


def layernorm_quantize(
    x: torch.Tensor, weight: torch.Tensor, bias: torch.Tensor, eps: float, inv_scale: torch.Tensor
) -> tuple[torch.Tensor, torch.Tensor]:
    y, y8 = layernorm(x, weight, bias, eps, out_inv_scale=inv_scale)
    return cast(torch.Tensor, y), cast(torch.Tensor, y8)


def add_layernorm(
    x: torch.Tensor, residual: torch.Tensor, weight: torch.Tensor, bias: torch.Tensor, eps: float
) -> torch.Tensor:
    return cast(torch.Tensor, layernorm(x, weight, bias, eps, residual=residual)[0])


def add8_layernorm_quantize(
    x: torch.Tensor,
    residual8: torch.Tensor,
    residual_scale: torch.Tensor,
    weight: torch.Tensor,
    bias: torch.Tensor,
    eps: float,
    inv_scale: torch.Tensor,
) -> torch.Tensor:
    _, y8 = layernorm(
        x, weight, bias, eps, residual=residual8, residual_scale=residual_scale, out_inv_scale=inv_scale,
        write_y=False,
    )  # fmt: skip
    return cast(torch.Tensor, y8)


def add8_layernorm(
    x: torch.Tensor,
    residual8: torch.Tensor,
    residual_scale: torch.Tensor,
    weight: torch.Tensor,
    bias: torch.Tensor,
    eps: float,
) -> torch.Tensor:
    y, _ = layernorm(x, weight, bias, eps, residual=residual8, residual_scale=residual_scale)
    return cast(torch.Tensor, y)
