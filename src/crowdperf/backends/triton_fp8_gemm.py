"""An FP8 (e4m3) matrix product in Triton whose epilogue does the element-wise step after it.

    fp8_gemm(x8, weight8, scale, bias)                   -> fp16  (acc * scale + bias)
    fp8_gemm(..., gelu_out_inv_scale=s)                  -> e4m3  (quantize(gelu(...), s))

``torch._scaled_mm`` (cuBLASLt) writes its fp16 result to memory, and the op after it reads it
back: for BERT's first FFN product that is the widest tensor of the layer (tokens x 4h), and the
GELU + quantize kernel between the two FFN GEMMs took 31 of 176 ms of an H200 batch
(docs/performance.md). Here the GELU and the quantize to the next GEMM's static scale run on the
accumulator tile still in registers, and the product's only write is one byte per element.

``x8`` (M, K) e4m3 row-major; ``weight8`` (N, K) e4m3 row-major (``Fp8Linear``'s buffer: the
second operand K-major, as FP8 tensor cores want it); ``scale`` fp32 0-dim on the device (the
product of the two per-tensor scales: read by the kernel, so no host sync and CUDA-graph safe).
K and N must be multiples of the block sizes (BERT's 1024/3072/4096 are); any M. Rows past M are
read modulo M (unmasked loads keep the pipeline simple) and never stored.

Triton's interpreter (``TRITON_INTERPRET=1``) runs the same kernel on the CPU: the numerics are
tested there; speed only on a GPU (bench/fp8_gemm.py).
"""

from __future__ import annotations

import math
from dataclasses import dataclass, replace

import torch
import triton
import triton.language as tl

# the largest finite e4m3fn value, as a kernel constant (fp8.py imports this module: no import back)
_SATURATE: tl.constexpr = tl.constexpr(torch.finfo(torch.float8_e4m3fn).max)


@dataclass(frozen=True)
class GemmConfig:
    """One tiling: the block of the output a program computes, the K step, software pipeline
    depth, warps, and how many M-blocks share a band of N (L2 reuse of the weight)."""

    block_m: int = 128
    block_n: int = 256
    block_k: int = 128
    stages: int = 4
    warps: int = 8
    group_m: int = 8

    @property
    def name(self) -> str:
        return f"{self.block_m}x{self.block_n}x{self.block_k}s{self.stages}w{self.warps}"


# Tilings measured on an H200 (bench/fp8_gemm.py, 181,000 x 4096 x 1024, docs/performance.md):
# the plain product is fastest in 128 x 256 tiles (1.50 ms, cuBLASLt 1.23); with the GELU +
# quantize epilogue, 128 x 128 tiles with 3 stages (1.75 ms against 1.88): less shared memory, so
# two programs share an SM and one's epilogue overlaps the other's products. Few tokens
# (SingleStream, small Server batches) want smaller M tiles to keep more SMs busy.
LARGE = GemmConfig(block_m=128, block_n=256, block_k=128, stages=3, warps=8)
LARGE_EPILOGUE = GemmConfig(block_m=128, block_n=128, block_k=128, stages=3, warps=8)
SMALL = GemmConfig(block_m=64, block_n=128, block_k=128, stages=4, warps=4)


def default_config(m: int, n: int, k: int, epilogue: bool = False) -> GemmConfig:
    """The tiling for an (m, k) x (k, n) product (``epilogue``: with GELU + quantize), its N and K
    blocks shrunk to divide ``n`` and ``k`` (the kernel has no masks along them; tiny test models
    have hidden sizes of 64)."""
    cfg = SMALL if m <= 2048 else LARGE_EPILOGUE if epilogue else LARGE
    block_n = next((b for b in (256, 128, 64, 32, 16) if b <= cfg.block_n and n % b == 0), 16)
    block_k = next((b for b in (128, 64, 32, 16) if b <= cfg.block_k and k % b == 0), 16)
    return replace(cfg, block_n=block_n, block_k=block_k)


@triton.jit
def _gelu(y, TANH: tl.constexpr):
    if TANH:
        # tanh GELU as x * sigmoid(2u), u = sqrt(2/pi) (x + 0.044715 x^3): one exp2 and one
        # division instead of erf's polynomial. In an epilogue that does not overlap the next
        # tile's products, arithmetic is time: within 1e-3 of erf's (an e4m3 step is 6 %)
        u = y * (1.0 + 0.044715 * y * y)
        return y / (1.0 + tl.exp2(u * -2.302208198))  # -2 sqrt(2/pi) log2(e)
    return 0.5 * y * (1.0 + tl.erf(y * 0.7071067811865476))  # exact (erf) GELU, BERT's


@triton.jit
def _fp8_gemm_kernel(
    a_ptr, w_ptr, c_ptr, scale_ptr, bias_ptr, out_inv_scale_ptr,
    M, stride_am, stride_wn, stride_cm,
    N: tl.constexpr, K: tl.constexpr,  # a weight's sizes: fixed per GEMM, the loop count known
    HAS_BIAS: tl.constexpr, GELU_QUANT: tl.constexpr, GELU_TANH: tl.constexpr,
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

    y = acc * tl.load(scale_ptr)
    if HAS_BIAS:
        y += tl.load(bias_ptr + rn).to(tl.float32)[None, :]
    rows = pid_m * BLOCK_M + tl.arange(0, BLOCK_M)
    keep = rows[:, None] < M
    if GELU_QUANT:
        y = _gelu(y, GELU_TANH) * tl.load(out_inv_scale_ptr)
        y = tl.minimum(tl.maximum(y, -_SATURATE), _SATURATE)  # saturate: e4m3fn has no infinity
    c_ptrs = c_ptr + rows[:, None].to(tl.int64) * stride_cm + rn[None, :]
    tl.store(c_ptrs, y.to(c_ptr.dtype.element_ty), mask=keep)


def fp8_gemm(
    x8: torch.Tensor,
    weight8: torch.Tensor,
    scale: torch.Tensor,
    bias: torch.Tensor | None = None,
    *,
    gelu_out_inv_scale: torch.Tensor | None = None,
    gelu_tanh: bool = False,
    out_dtype: torch.dtype = torch.float16,
    config: GemmConfig | None = None,
) -> torch.Tensor:
    """``x8 @ weight8^T * scale (+ bias)``, or its GELU (erf, or tanh's with
    ``gelu_tanh``) quantized to e4m3 with ``gelu_out_inv_scale``; see the module's docstring for
    the layouts."""
    m, k = x8.shape
    n, k_w = weight8.shape
    gelu = gelu_out_inv_scale is not None
    cfg = config or default_config(m, n, k, epilogue=gelu)
    if k != k_w or k % cfg.block_k or n % cfg.block_n:
        sizes = f"{tuple(x8.shape)} x {tuple(weight8.shape)}^T"
        raise ValueError(f"FP8 GEMM: sizes {sizes} do not fit {cfg.name}")
    if x8.stride(1) != 1 or weight8.stride(1) != 1:
        raise ValueError("FP8 GEMM: both operands must be contiguous along K")
    out = torch.empty((m, n), device=x8.device, dtype=torch.float8_e4m3fn if gelu else out_dtype)
    if m == 0:
        return out
    grid = (math.ceil(m / cfg.block_m) * (n // cfg.block_n),)
    _fp8_gemm_kernel[grid](
        x8, weight8, out, scale,
        bias if bias is not None else scale,  # unread placeholders keep the signature fixed
        gelu_out_inv_scale if gelu else scale,
        m, x8.stride(0), weight8.stride(0), out.stride(0), n, k,
        HAS_BIAS=bias is not None, GELU_QUANT=gelu, GELU_TANH=gelu_tanh,
        BLOCK_M=cfg.block_m, BLOCK_N=cfg.block_n, BLOCK_K=cfg.block_k, GROUP_M=cfg.group_m,
        num_stages=cfg.stages, num_warps=cfg.warps,
    )  # fmt: skip
    return out
