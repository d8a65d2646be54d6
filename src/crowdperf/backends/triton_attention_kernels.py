"""The Triton kernels of backends/triton_attention.py (its docstring has the math and the grids):
the plan's table, the attention of one query block (pointer loads; or TMA loads in a key loop
Triton warp-specialises on Hopper), and the three grids' entry points plus the warp-specialised
work list's."""

from __future__ import annotations

import triton
import triton.language as tl

from crowdperf.backends.fp8 import E4M3_MAX

_SATURATE = tl.constexpr(E4M3_MAX)  # e4m3fn has no infinity: clip, as fp8.quantize does


@triton.jit
def plan_kernel(cu, work, count, n, BLOCK_M: tl.constexpr, M_BLOCKS: tl.constexpr, CHUNK: tl.constexpr):
    """One program: sequence i's query blocks j < min(cdiv(L_i, BLOCK_M), M_BLOCKS) go to
    work[before_i + j] = i * M_BLOCKS + j in sequence order; count = their number. (A sequence
    longer than the grid's bound keeps its first M_BLOCKS blocks: never an entry past the table.)"""
    carry = tl.load(cu) * 0  # int32 zero
    for c in range(0, n, CHUNK):
        i = c + tl.arange(0, CHUNK)
        live = i < n
        lengths = tl.load(cu + i + 1, mask=live, other=0) - tl.load(cu + i, mask=live, other=0)
        blocks = tl.minimum((lengths + BLOCK_M - 1) // BLOCK_M, M_BLOCKS)
        before = carry + tl.cumsum(blocks, 0) - blocks
        for j in tl.static_range(M_BLOCKS):
            tl.store(work + before + j, i * M_BLOCKS + j, mask=live & (j < blocks))
        carry += tl.sum(blocks, 0)
    tl.store(count, carry)


@triton.jit
def _e4m3_rows(x):
    """(rows, d) -> e4m3 with one scale per row (its amax / 448), and those scales (fp32)."""
    amax = tl.maximum(tl.max(tl.abs(x.to(tl.float32)), 1), 1e-6)  # masked rows are all zero
    x8 = tl.clamp(x.to(tl.float32) * (1.0 / amax * _SATURATE)[:, None], -_SATURATE, _SATURATE)
    return x8.to(tl.float8e4nv), amax * (1.0 / _SATURATE)


@triton.jit
def _kv_step(q, acc, m_i, l_i, k_ptrs, v_ptrs, n_start, length, s_scale,
             BLOCK_N: tl.constexpr, MASKED: tl.constexpr, QK_FP8: tl.constexpr):  # fmt: skip
    """One block of keys and values into the running (acc, max, sum); masked past ``length``.
    ``s_scale``: log2(e) / sqrt(d), times each query row's e4m3 scale with QK_FP8."""
    if MASKED:
        live = n_start + tl.arange(0, BLOCK_N) < length
        k = tl.load(k_ptrs, mask=live[:, None], other=0.0)  # (BLOCK_N, HEAD_DIM)
        v = tl.load(v_ptrs, mask=live[:, None], other=0.0)
    else:
        k = tl.load(k_ptrs)
        v = tl.load(v_ptrs)
    return _softmax_step(q, k, v, acc, m_i, l_i, n_start, length, s_scale, BLOCK_N, MASKED, QK_FP8)


@triton.jit
def _softmax_step(q, k, v, acc, m_i, l_i, n_start, length, s_scale,
                  BLOCK_N: tl.constexpr, MASKED: tl.constexpr, QK_FP8: tl.constexpr):  # fmt: skip
    """The online softmax's step over loaded keys and values; keys from ``length`` on masked out
    of S (probability 0) with MASKED."""
    if QK_FP8:  # S = diag(s_q) (Q8 K8^T) diag(s_k): per-token scales fold into S exactly
        k8, k_scale = _e4m3_rows(k)
        s = tl.dot(q, tl.trans(k8)) * (s_scale[:, None] * k_scale[None, :])
    else:
        s = tl.dot(q, tl.trans(k)) * s_scale  # (BLOCK_M, BLOCK_N) fp32, log2 units
    if MASKED:
        s = tl.where((n_start + tl.arange(0, BLOCK_N) < length)[None, :], s, float("-inf"))
    m_new = tl.maximum(m_i, tl.max(s, 1))
    p = tl.math.exp2(s - m_new[:, None])
    alpha = tl.math.exp2(m_i - m_new)
    l_i = l_i * alpha + tl.sum(p, 1)
    acc = tl.dot(p.to(v.dtype), v, acc * alpha[:, None])
    return acc, m_new, l_i


@triton.jit
def _attend_block(qkv, out, inv_scale, stride_qkv, stride_out, start, length, head, m_block, qk_scale,
                  HEADS: tl.constexpr, HEAD_DIM: tl.constexpr, BLOCK_M: tl.constexpr,
                  BLOCK_N: tl.constexpr, FP8_OUT: tl.constexpr, QK_FP8: tl.constexpr):  # fmt: skip
    """Queries ``m_block * BLOCK_M`` onward of the sequence at rows [start, start + length), one head."""
    hidden = HEADS * HEAD_DIM
    offs_m = m_block * BLOCK_M + tl.arange(0, BLOCK_M)
    offs_n = tl.arange(0, BLOCK_N)
    offs_d = tl.arange(0, HEAD_DIM)
    rows_m = (start + offs_m).to(tl.int64)
    rows_n = (start + offs_n).to(tl.int64)
    col = head * HEAD_DIM
    q = tl.load(
        qkv + rows_m[:, None] * stride_qkv + col + offs_d[None, :], mask=(offs_m < length)[:, None], other=0.0
    )
    s_scale = qk_scale
    if QK_FP8:
        q, q_scale = _e4m3_rows(q)
        s_scale = q_scale * qk_scale
    kv_ptrs = qkv + rows_n[:, None] * stride_qkv + col + offs_d[None, :]  # (BLOCK_N, HEAD_DIM)
    k_ptrs = kv_ptrs + hidden
    v_ptrs = kv_ptrs + 2 * hidden
    m_i = tl.full((BLOCK_M,), float("-inf"), tl.float32)
    l_i = tl.zeros((BLOCK_M,), tl.float32)
    acc = tl.zeros((BLOCK_M, HEAD_DIM), tl.float32)
    full = length // BLOCK_N * BLOCK_N
    for n_start in range(0, full, BLOCK_N):
        step = n_start * stride_qkv  # < max_len * 3 * hidden: int32 is enough
        acc, m_i, l_i = _kv_step(
            q, acc, m_i, l_i, k_ptrs + step, v_ptrs + step, n_start, length, s_scale, BLOCK_N, False, QK_FP8
        )
    if full < length:
        step = full * stride_qkv
        acc, m_i, l_i = _kv_step(
            q, acc, m_i, l_i, k_ptrs + step, v_ptrs + step, full, length, s_scale, BLOCK_N, True, QK_FP8
        )
    _store_block(out, inv_scale, stride_out, start, length, col, m_block, acc / l_i[:, None],
                 HEAD_DIM, BLOCK_M, FP8_OUT)  # fmt: skip


@triton.jit
def _store_block(out, inv_scale, stride_out, start, length, col, m_block, o,
                 HEAD_DIM: tl.constexpr, BLOCK_M: tl.constexpr, FP8_OUT: tl.constexpr):  # fmt: skip
    """Context rows ``m_block * BLOCK_M`` onward of the sequence (those before ``length``), one
    head's columns: fp16, or e4m3 at ``inv_scale``."""
    offs_m = m_block * BLOCK_M + tl.arange(0, BLOCK_M)
    offs_d = tl.arange(0, HEAD_DIM)
    o_ptrs = out + (start + offs_m).to(tl.int64)[:, None] * stride_out + col + offs_d[None, :]
    if FP8_OUT:
        o = tl.clamp(o * tl.load(inv_scale), -_SATURATE, _SATURATE)
    tl.store(o_ptrs, o.to(out.dtype.element_ty), mask=(offs_m < length)[:, None])


@triton.jit
def _attend_block_ws(qkv, out, inv_scale, stride_qkv, stride_out, tokens, start, length, head, m_block,
                     qk_scale, HEADS: tl.constexpr, HEAD_DIM: tl.constexpr, BLOCK_M: tl.constexpr,
                     BLOCK_N: tl.constexpr, FP8_OUT: tl.constexpr):  # fmt: skip
    """``_attend_block`` with Q, K and V through TMA descriptors made here, over all of ``qkv``,
    and one key loop that Triton warp-specialises on Hopper. Every key block is masked in S:
    a separate masked last block after the loop stops the specialisation (Triton 3.6). A block's
    rows past the sequence are the next sequence's (or zeros past the tensor's end, TMA's
    fill): their keys get probability 0, so their values (finite) add nothing."""
    hidden = HEADS * HEAD_DIM
    col = head * HEAD_DIM
    q_desc = tl.make_tensor_descriptor(qkv, [tokens, 3 * hidden], [stride_qkv, 1], [BLOCK_M, HEAD_DIM])
    kv_desc = tl.make_tensor_descriptor(qkv, [tokens, 3 * hidden], [stride_qkv, 1], [BLOCK_N, HEAD_DIM])
    q = q_desc.load([start + m_block * BLOCK_M, col])
    m_i = tl.full((BLOCK_M,), float("-inf"), tl.float32)
    l_i = tl.zeros((BLOCK_M,), tl.float32)
    acc = tl.zeros((BLOCK_M, HEAD_DIM), tl.float32)
    for j in tl.range(0, tl.cdiv(length, BLOCK_N), warp_specialize=True):
        k = kv_desc.load([start + j * BLOCK_N, hidden + col])
        v = kv_desc.load([start + j * BLOCK_N, 2 * hidden + col])
        acc, m_i, l_i = _softmax_step(
            q, k, v, acc, m_i, l_i, j * BLOCK_N, length, qk_scale, BLOCK_N, True, False
        )
    # l >= 1 after any key (the largest term is exp2(0)); l = 0 without keys (an item past the real
    # count, its stores masked): 0 / 1 there, not 0 / 0
    o = acc / tl.maximum(l_i, 1.0)[:, None]
    _store_block(out, inv_scale, stride_out, start, length, col, m_block, o, HEAD_DIM, BLOCK_M, FP8_OUT)


@triton.jit
def _zero_rows(out, stride_out, first_row, tokens, first, step,
               HEADS: tl.constexpr, HEAD_DIM: tl.constexpr, BLOCK_M: tl.constexpr):  # fmt: skip
    """Zeros in rows [first_row, tokens) (the spare tokens), blocks first, first + step, ..."""
    offs_d = tl.arange(0, HEAD_DIM)
    zeros = tl.zeros((BLOCK_M, HEAD_DIM), tl.float32).to(out.dtype.element_ty)
    for r in range(first_row + first * BLOCK_M, tokens, step * BLOCK_M):
        rows = r + tl.arange(0, BLOCK_M)
        ptrs = out + rows.to(tl.int64)[:, None] * stride_out + offs_d[None, :]
        for h in range(HEADS):
            tl.store(ptrs + h * HEAD_DIM, zeros, mask=(rows < tokens)[:, None])


@triton.jit
def padded_kernel(qkv, out, cu, inv_scale, stride_qkv, stride_out, tokens, n_seqs, qk_scale,
                   HEADS: tl.constexpr, HEAD_DIM: tl.constexpr, BLOCK_M: tl.constexpr,
                   BLOCK_N: tl.constexpr, FP8_OUT: tl.constexpr, QK_FP8: tl.constexpr,
                   M_BLOCKS: tl.constexpr):  # fmt: skip
    """Grid ((n_seqs * HEADS + 1) * M_BLOCKS,), one axis (CUDA's second and third are capped at
    65,535); M_BLOCKS = cdiv(max_len, BLOCK_M) programs per (sequence, head), the last
    M_BLOCKS zero the spare rows."""
    pid = tl.program_id(0)
    pair = pid // M_BLOCKS
    m_block = pid % M_BLOCKS
    if pair == n_seqs * HEADS:
        first_row = tl.load(cu + n_seqs)
        _zero_rows(out, stride_out, first_row, tokens, m_block, M_BLOCKS, HEADS, HEAD_DIM, BLOCK_M)
        return
    seq = pair // HEADS
    start = tl.load(cu + seq)
    length = tl.load(cu + seq + 1) - start
    if m_block * BLOCK_M >= length:
        return
    _attend_block(qkv, out, inv_scale, stride_qkv, stride_out, start, length, pair % HEADS, m_block, qk_scale,
                  HEADS, HEAD_DIM, BLOCK_M, BLOCK_N, FP8_OUT, QK_FP8)  # fmt: skip


@triton.jit
def _work_item(cu, work, item, HEADS: tl.constexpr, M_BLOCKS: tl.constexpr):
    """Work item -> (start, length, head, query block). Heads vary fastest: neighbouring programs
    read the same rows of ``qkv`` (other columns) and share each sequence's K and V in L2."""
    entry = tl.load(work + item // HEADS)
    seq = entry // M_BLOCKS
    start = tl.load(cu + seq)
    return start, tl.load(cu + seq + 1) - start, item % HEADS, entry % M_BLOCKS


@triton.jit
def worklist_kernel(qkv, out, cu, work, count, inv_scale, stride_qkv, stride_out, tokens, n_seqs,
                     qk_scale, HEADS: tl.constexpr, HEAD_DIM: tl.constexpr, BLOCK_M: tl.constexpr,
                     BLOCK_N: tl.constexpr, FP8_OUT: tl.constexpr, QK_FP8: tl.constexpr,
                     M_BLOCKS: tl.constexpr, ZERO_PROGRAMS: tl.constexpr):  # fmt: skip
    """Grid (bound * HEADS + ZERO_PROGRAMS,): items past the real count exit, the last programs
    zero the spare rows."""
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
    _attend_block(qkv, out, inv_scale, stride_qkv, stride_out, start, length, head, m_block, qk_scale,
                  HEADS, HEAD_DIM, BLOCK_M, BLOCK_N, FP8_OUT, QK_FP8)  # fmt: skip


@triton.jit
def persistent_kernel(qkv, out, cu, work, count, inv_scale, stride_qkv, stride_out, tokens, n_seqs,
                       qk_scale, HEADS: tl.constexpr, HEAD_DIM: tl.constexpr, BLOCK_M: tl.constexpr,
                       BLOCK_N: tl.constexpr, FP8_OUT: tl.constexpr, QK_FP8: tl.constexpr,
                       M_BLOCKS: tl.constexpr):  # fmt: skip
    """Grid (programs,): each walks items pid, pid + programs, ..., then zeroes its share of the
    spare rows."""
    pid = tl.program_id(0)
    programs = tl.num_programs(0)
    for item in range(pid, tl.load(count) * HEADS, programs):
        start, length, head, m_block = _work_item(cu, work, item, HEADS, M_BLOCKS)
        _attend_block(qkv, out, inv_scale, stride_qkv, stride_out, start, length, head, m_block, qk_scale,
                      HEADS, HEAD_DIM, BLOCK_M, BLOCK_N, FP8_OUT, QK_FP8)  # fmt: skip
    _zero_rows(out, stride_out, tl.load(cu + n_seqs), tokens, pid, programs, HEADS, HEAD_DIM, BLOCK_M)


@triton.jit
def worklist_ws_kernel(qkv, out, cu, work, count, inv_scale, stride_qkv, stride_out, tokens, n_seqs,
                        qk_scale, HEADS: tl.constexpr, HEAD_DIM: tl.constexpr, BLOCK_M: tl.constexpr,
                        BLOCK_N: tl.constexpr, FP8_OUT: tl.constexpr, M_BLOCKS: tl.constexpr,
                        ZERO_PROGRAMS: tl.constexpr):  # fmt: skip
    """``worklist_kernel`` warp-specialised (``AttentionConfig.warp_specialize``). Straight-line:
    Triton 3.6's Hopper pass fails on an early ``return`` before the key loop and leaves a loop
    inside if/else unspecialised, so items past the real count attend over no keys (every store
    masked) and the last ZERO_PROGRAMS zero the spare rows after that."""
    item = tl.program_id(0)
    live = item < tl.load(count) * HEADS
    entry = tl.load(work + item // HEADS, mask=live, other=0)
    start = tl.load(cu + entry // M_BLOCKS)
    length = tl.where(live, tl.load(cu + entry // M_BLOCKS + 1) - start, 0)
    _attend_block_ws(qkv, out, inv_scale, stride_qkv, stride_out, tokens, start, length, item % HEADS,
                     entry % M_BLOCKS, qk_scale, HEADS, HEAD_DIM, BLOCK_M, BLOCK_N, FP8_OUT)  # fmt: skip
    zero_first = tl.num_programs(0) - ZERO_PROGRAMS
    if item >= zero_first:
        _zero_rows(out, stride_out, tl.load(cu + n_seqs), tokens, item - zero_first, ZERO_PROGRAMS,
                   HEADS, HEAD_DIM, BLOCK_M)  # fmt: skip
