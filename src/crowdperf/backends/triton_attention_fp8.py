"""The e4m3 form of triton_attention.py's varlen attention: Q, K, V read in e4m3 from the fused
QKV product, both matrix products on FP8 tensor cores, the context written in e4m3.

    plan = plan_attention(cu_seqlens, max_len, tokens, heads, head_dim)       (triton_attention.py)
    context8 = varlen_attention_fp8(qkv8, plan, qkv_scale, out_inv_scale)     (tokens, hidden) e4m3

``qkv8`` is the (tokens, 3 * hidden) e4m3 product ``quantize(x W_qkv^T + b, 1 / qkv_scale)``
(``Fp8Linear.quantized``), laid out as triton_attention.py's fp16 ``qkv``; ``qkv_scale`` (fp32,
0-dim, on the device) is its one static per-tensor scale. Same plan, same work list, same spare
rows (zeros) as the fp16 kernel; only the "worklist" grid (the fp16 kernel's default and fastest).

Math, per (query block, head), keys ``BLOCK_N`` at a time with the online softmax:

- ``S = (q8 k8^T) * s^2 * log2(e) / sqrt(d)``: an e4m3 dot with fp32 accumulation, the two
  per-tensor scales folded into the softmax's scale (one multiply, as the fp16 kernel has);
- ``p = exp2(S - m)`` in fp32 (``m``: the running row max, so ``p`` is in [0, 1]);
- ``p8 = e4m3(p * 448)``: a fixed scale (``P_SCALE``), no calibration: the row's largest
  probability of the block is the largest e4m3 code, those below 2^-6 / 448 of it are
  subnormal or zero (their share of the sum is as small);
- ``acc = acc * alpha + p8 v8`` (an e4m3 dot, fp32 accumulation) and the row sum
  ``l = l * alpha + sum(p8)`` of the rounded ``p8`` (so the weights that multiply V sum to one
  exactly: the context stays a convex combination of V's rows, it cannot leave V's range);
- ``o = acc / l * s * out_inv_scale`` (V's scale, then the next GEMM's), clamped to +-448, e4m3.

Why one scale for the fused product and not one each for Q, K and V: it is the one tensor the
QKV GEMM writes, so its epilogue multiplies by one scalar, as NVIDIA's int8 "QKV-to-context"
plugin takes one scale for its fused QKV input; e4m3 is a float, so a part whose values are
smaller than the others' loses mantissa only below 2^-6 of the common amax / 448
(subnormals), a ratio BERT's Q, K and V ranges are far from (calibration records the fused
amax: ``Fp8Options.fp8_attention`` in workloads/bert/fp8_model.py).

Compiled for sm_90a on a CPU (Triton 3.6, the GPU image's, and 3.9; 64 x 64 tiles, 4 warps): both
products become ``wgmma ... m64n64k32.f32.e4m3.e4m3`` (V goes through shared memory in the
layout FP8 tensor cores need), loads pipelined, 16 KiB shared memory and ~100 registers against
the fp16 kernel's 40 KiB. Its dots accumulate the way Triton's FP8 dots do on Hopper by default
(``max_num_imprecise_acc`` unset: the tensor cores' own accumulation, as cuBLASLt's fast
accumulation), which Triton's interpreter does not model: the GPU test bounds it. Not timed yet.

Import this module only where Triton is installed.
"""

from __future__ import annotations

import math

import torch
import triton
import triton.language as tl

from crowdperf.backends.fp8 import E4M3, E4M3_MAX
from crowdperf.backends.triton_attention import _LOG2_E, _ZERO_PROGRAMS, AttentionPlan, _work_item, _zero_rows

P_SCALE = E4M3_MAX  # p in [0, 1] -> e4m3 codes p * 448
_SATURATE = tl.constexpr(E4M3_MAX)
_P_CODES = tl.constexpr(P_SCALE)
MIN_BLOCK_N = 32  # FP8 tensor cores take K in steps of 32: P8 V8's K is BLOCK_N


def varlen_attention_fp8(
    qkv8: torch.Tensor,
    plan: AttentionPlan,
    qkv_scale: torch.Tensor,
    out_inv_scale: torch.Tensor,
    out: torch.Tensor | None = None,
) -> torch.Tensor:
    """(tokens, 3 * hidden) e4m3 at ``qkv_scale`` -> (tokens, hidden) e4m3 context at
    ``out_inv_scale`` (both fp32 0-dim on the device). ``out``: write there (contiguous rows
    of that shape, e4m3) instead of a new tensor."""
    heads, d, cfg = plan.heads, plan.head_dim, plan.config
    hidden = heads * d
    t = qkv8.shape[0]
    if qkv8.dtype != E4M3 or qkv8.dim() != 2 or qkv8.shape[1] != 3 * hidden or qkv8.stride(1) != 1:
        got = f"{tuple(qkv8.shape)} {qkv8.dtype}"
        raise ValueError(f"qkv8 must be (tokens, {3 * hidden}) e4m3 with contiguous rows, not {got}")
    if t != plan.tokens:
        raise ValueError(f"the plan is for {plan.tokens} tokens, qkv8 has {t}")
    if cfg.grid != "worklist" or cfg.block_n < MIN_BLOCK_N:
        want = f"the worklist grid with block_n >= {MIN_BLOCK_N}"
        raise ValueError(f"the e4m3 attention runs {want}, not {cfg.name}")
    if out is None:
        out = torch.empty((t, hidden), device=qkv8.device, dtype=E4M3)
    elif out.shape != (t, hidden) or out.dtype != E4M3 or out.stride(1) != 1:
        raise ValueError(f"out must be ({t}, {hidden}) e4m3 with contiguous rows")
    if t == 0:
        return out
    assert plan.work is not None and plan.work_count is not None
    _worklist_kernel8[(plan.programs,)](
        qkv8, out, plan.cu_seqlens, plan.work, plan.work_count, qkv_scale, out_inv_scale,
        qkv8.stride(0), out.stride(0), t, plan.sequences, _LOG2_E / math.sqrt(d),
        HEADS=heads, HEAD_DIM=d, BLOCK_M=cfg.block_m, BLOCK_N=cfg.block_n, M_BLOCKS=plan.m_blocks,
        ZERO_PROGRAMS=_ZERO_PROGRAMS, num_warps=cfg.num_warps, num_stages=cfg.num_stages,
    )  # fmt: skip
    return out


@triton.jit
def _kv_step8(q8, acc, m_i, l_i, k_ptrs, v_ptrs, n_start, length, s_scale,
              BLOCK_N: tl.constexpr, MASKED: tl.constexpr):  # fmt: skip
    """One block of e4m3 keys and values into the running (acc, max, sum); masked past ``length``.
    ``acc`` and ``l_i`` are in P's codes (p * P_SCALE): the scale cancels in acc / l."""
    if MASKED:
        live = n_start + tl.arange(0, BLOCK_N) < length
        k8 = tl.load(k_ptrs, mask=live[:, None], other=0.0)  # (BLOCK_N, HEAD_DIM)
        v8 = tl.load(v_ptrs, mask=live[:, None], other=0.0)
    else:
        k8 = tl.load(k_ptrs)
        v8 = tl.load(v_ptrs)
    s = tl.dot(q8, tl.trans(k8)) * s_scale  # (BLOCK_M, BLOCK_N) fp32, log2 units
    if MASKED:
        s = tl.where(live[None, :], s, float("-inf"))
    m_new = tl.maximum(m_i, tl.max(s, 1))
    alpha = tl.math.exp2(m_i - m_new)
    p8 = (tl.math.exp2(s - m_new[:, None]) * _P_CODES).to(tl.float8e4nv)  # in [0, 448]: no clamp
    l_i = l_i * alpha + tl.sum(p8.to(tl.float32), 1)
    acc = tl.dot(p8, v8, acc * alpha[:, None])
    return acc, m_new, l_i


@triton.jit
def _attend_block8(qkv, out, qkv_scale, inv_scale, stride_qkv, stride_out, start, length, head, m_block,
                   qk_scale, HEADS: tl.constexpr, HEAD_DIM: tl.constexpr, BLOCK_M: tl.constexpr,
                   BLOCK_N: tl.constexpr):  # fmt: skip
    """Queries ``m_block * BLOCK_M`` onward of the sequence at rows [start, start + length), one head."""
    hidden = HEADS * HEAD_DIM
    offs_m = m_block * BLOCK_M + tl.arange(0, BLOCK_M)
    offs_n = tl.arange(0, BLOCK_N)
    offs_d = tl.arange(0, HEAD_DIM)
    rows_m = (start + offs_m).to(tl.int64)
    rows_n = (start + offs_n).to(tl.int64)
    col = head * HEAD_DIM
    q8 = tl.load(
        qkv + rows_m[:, None] * stride_qkv + col + offs_d[None, :], mask=(offs_m < length)[:, None], other=0.0
    )
    s = tl.load(qkv_scale)
    s_scale = s * s * qk_scale  # q's and k's scale, then log2(e) / sqrt(d)
    kv_ptrs = qkv + rows_n[:, None] * stride_qkv + col + offs_d[None, :]  # (BLOCK_N, HEAD_DIM)
    k_ptrs = kv_ptrs + hidden
    v_ptrs = kv_ptrs + 2 * hidden
    m_i = tl.full((BLOCK_M,), float("-inf"), tl.float32)
    l_i = tl.zeros((BLOCK_M,), tl.float32)
    acc = tl.zeros((BLOCK_M, HEAD_DIM), tl.float32)
    full = length // BLOCK_N * BLOCK_N
    for n_start in range(0, full, BLOCK_N):
        step = n_start * stride_qkv  # < max_len * 3 * hidden: int32 is enough
        acc, m_i, l_i = _kv_step8(
            q8, acc, m_i, l_i, k_ptrs + step, v_ptrs + step, n_start, length, s_scale, BLOCK_N, False
        )
    if full < length:
        step = full * stride_qkv
        acc, m_i, l_i = _kv_step8(
            q8, acc, m_i, l_i, k_ptrs + step, v_ptrs + step, full, length, s_scale, BLOCK_N, True
        )
    o = acc * ((s * tl.load(inv_scale)) / l_i)[:, None]  # v's scale, then the next GEMM's
    o = tl.clamp(o, -_SATURATE, _SATURATE)
    o_ptrs = out + rows_m[:, None] * stride_out + col + offs_d[None, :]
    tl.store(o_ptrs, o.to(out.dtype.element_ty), mask=(offs_m < length)[:, None])


@triton.jit
def _worklist_kernel8(qkv, out, cu, work, count, qkv_scale, inv_scale, stride_qkv, stride_out, tokens,
                      n_seqs, qk_scale, HEADS: tl.constexpr, HEAD_DIM: tl.constexpr,
                      BLOCK_M: tl.constexpr, BLOCK_N: tl.constexpr, M_BLOCKS: tl.constexpr,
                      ZERO_PROGRAMS: tl.constexpr):  # fmt: skip
    """Grid (bound * HEADS + ZERO_PROGRAMS,), as triton_attention.py's worklist kernel: items
    past the real count exit, the last programs zero the spare rows."""
    item = tl.program_id(0)
    zero_first = tl.num_programs(0) - ZERO_PROGRAMS
    if item >= zero_first:
        first_row = tl.load(cu + n_seqs)
        _zero_rows(
            out, stride_out, first_row, tokens, item - zero_first, ZERO_PROGRAMS, HEADS, HEAD_DIM, BLOCK_M
        )
        return
    if item >= tl.load(count) * HEADS:
        return
    start, length, head, m_block = _work_item(cu, work, item, HEADS, M_BLOCKS)
    _attend_block8(qkv, out, qkv_scale, inv_scale, stride_qkv, stride_out, start, length, head, m_block,
                   qk_scale, HEADS, HEAD_DIM, BLOCK_M, BLOCK_N)  # fmt: skip
