"""Variable-length (packed) multi-head self-attention in Triton, non-causal, read straight from a
fused QKV projection, fp16 or e4m3 out.

    plan = plan_attention(cu_seqlens, max_len, tokens, heads, head_dim)    once per batch
    context = varlen_attention(qkv, plan)                                  (tokens, hidden) fp16
    context8 = varlen_attention(qkv, plan, out_inv_scale)                  (tokens, hidden) e4m3

``qkv`` is a (tokens, 3 * hidden) fp16 tensor (query columns [0, h), key [h, 2h), value [2h, 3h);
head ``j`` is columns ``j * head_dim`` onward of each), read strided in place. Sequence ``i`` is
rows ``cu_seqlens[i]:cu_seqlens[i + 1]``; rows past ``cu_seqlens[-1]`` (a padded bucket's spare
tokens) belong to no sequence and get zeros. The output is laid out like
``varlen_attn(q, k, v, ...).reshape(tokens, hidden)``. With ``out_inv_scale`` (fp32, 0-dim, on the
device) the kernel writes ``clamp(o * inv_scale, -448, 448)`` as e4m3, the ``quantize`` of fp8.py
fused into the epilogue: the fp16 context never goes to memory.

Math: one program owns ``BLOCK_M`` queries of one (sequence, head) and walks that sequence's keys
``BLOCK_N`` at a time with the online softmax (FlashAttention): ``S = Q K^T`` and ``P V`` in fp16 on
tensor cores with fp32 accumulation; the running max, sum and rescaling in fp32, ``exp2`` with
``log2(e) / sqrt(head_dim)`` folded into one scale. Only the last key block of a sequence is
masked. ``AttentionConfig.qk_fp8`` (off by default, an experiment) computes ``Q K^T`` in e4m3 with
one scale per token instead.

Work distribution (``grid``), all CUDA-graph capturable (the grid comes from host ints only, every
per-batch quantity is read on the device):

- ``"padded"``: cdiv(max_len, BLOCK_M) programs per (sequence, head) (one grid axis), those past
  their sequence's end exit at once. Simple; with graphs captured at max_len 512 and BERT's
  median of ~170 tokens most programs exit.
- ``"worklist"``: one program per real (query block, head), read from the plan's table of query
  blocks (one round trip to memory: each entry holds the sequence's first row, its length and the
  block, so no program waits on a second, dependent load before its first query and key loads);
  the grid's bound (from the token and sequence counts) is tight to within one block per
  sequence, the table's entries past the real count are empty and their programs exit at once.
  Heads vary fastest.
- ``"persistent"``: ``programs_per_sm`` programs per SM walk the same work list round-robin.

``plan_attention`` writes that table in one small kernel; make the plan once per batch and
pass it to every layer (the same plan serves every layer: it depends on the packing only). Triton
compiles a kernel on its first call for each constexpr combination (tile sizes, heads, fp16 or
e4m3 out, the grid's bound cdiv(max_len, BLOCK_M)): call it once before capturing a graph.
Import this module only where Triton is installed.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Literal

import torch
import triton
import triton.language as tl

from crowdperf.backends.fp8 import E4M3, E4M3_MAX

_SATURATE = tl.constexpr(E4M3_MAX)  # e4m3fn has no infinity: clip, as fp8.quantize does
_LOG2_E = 1.4426950408889634
_ZERO_PROGRAMS = 8  # extra programs that zero the spare rows (worklist grid)
_BLOCK_FIELD = 256  # a work entry's second word: length * _BLOCK_FIELD + query block

Grid = Literal["padded", "worklist", "persistent"]
GRIDS: tuple[Grid, ...] = ("padded", "worklist", "persistent")


@dataclass(frozen=True)
class AttentionConfig:
    """Tile sizes and launch shape. ``block_m`` queries x ``block_n`` keys per step, warps, pipeline
    stages (bench/attention_kernels.py sweeps them; ``default_config`` picks by batch size)."""

    block_m: int = 64
    block_n: int = 64
    num_warps: int = 4
    num_stages: int = 2
    grid: Grid = "worklist"
    programs_per_sm: int = 4  # "persistent" only
    # Q K^T in e4m3 with one scale per token (its amax over the head), P V stays fp16: twice the
    # tensor-core rate for half the FLOPs, at e4m3's 3-bit mantissa in the softmax's logits
    # (errors there scale the probabilities by exp(error)): an experiment, off by default
    qk_fp8: bool = False
    # a cap on registers per thread (ptxas' maxnreg; None: the compiler's choice): more programs
    # an SM can hold. 64 x 64 tiles take 106 registers, 4 programs of 4 warps a SM; capped at 96
    # (5 programs, no spills) 0.670 against 0.694 ms a layer of a median 1,024-feature batch on an
    # H200 (session 9); at 88 they spill: 2.15 ms
    max_registers: int | None = None

    def __post_init__(self) -> None:
        for name in ("block_m", "block_n"):
            size = getattr(self, name)
            if size < 16 or size & (size - 1):
                raise ValueError(f"{name} must be a power of two >= 16, not {size}")
        if self.grid not in GRIDS:
            raise ValueError(f"grid must be one of {GRIDS}, not {self.grid!r}")
        if self.max_registers is not None and not 24 <= self.max_registers <= 255:
            raise ValueError(f"max_registers must be 24-255 per thread, not {self.max_registers}")

    @property
    def name(self) -> str:
        per_sm = f" p{self.programs_per_sm}" if self.grid == "persistent" else ""
        extra = per_sm + (" qk-e4m3" if self.qk_fp8 else "")
        extra += f" r{self.max_registers}" if self.max_registers else ""
        return f"{self.grid} m{self.block_m} n{self.block_n} w{self.num_warps} s{self.num_stages}{extra}"


# Large batches (session 9, one H200, bench/attention_kernels.py --mix median, e4m3 out): 64
# queries x 32 keys in 3 stages took 0.634 ms a layer of a median 1,024-feature batch (168,094
# tokens) against 0.694 for 64 x 64 in 2 stages; in the model 17.5 against 18.4 ms a batch
# (bench/gpu.py -ta). At 85 registers a thread 6 programs fit an SM instead of 4, and the short
# key steps pipeline. Small batches (Server's, SingleStream's one feature: a few programs per SM,
# each one's serial key loop is the latency) keep 64 x 64 in 2 stages, what their measurements
# used; twice the key steps there were not measured.
LARGE = AttentionConfig(block_m=64, block_n=32, num_warps=4, num_stages=3)
LARGE_MIN_TOKENS = 65_536


def default_config(tokens: int) -> AttentionConfig:
    """The config for a packed batch of ``tokens`` rows: ``LARGE`` from ``LARGE_MIN_TOKENS`` up."""
    return LARGE if tokens >= LARGE_MIN_TOKENS else AttentionConfig()


@dataclass(frozen=True)
class AttentionPlan:
    """Where the work of one packed batch is: the packing, the launch shape and (work-list grids)
    on the device, ``work``: each real query block as (its sequence's first row, the sequence's
    length * 256 + the block), the rest of the table (0, 0); ``work_count``: how many are real."""

    cu_seqlens: torch.Tensor  # (sequences + 1,) int32
    work: torch.Tensor | None  # (bound, 2) int32, None for the padded grid
    work_count: torch.Tensor | None  # (1,) int32
    max_len: int
    tokens: int
    heads: int
    head_dim: int
    config: AttentionConfig
    programs: int  # worklist: programs over work items (more exit); persistent: programs

    @property
    def sequences(self) -> int:
        return self.cu_seqlens.shape[0] - 1

    @property
    def m_blocks(self) -> int:
        """Query blocks of the longest sequence the grid covers."""
        return triton.cdiv(self.max_len, self.config.block_m)


def plan_attention(
    cu_seqlens: torch.Tensor,
    max_len: int,
    tokens: int,
    heads: int,
    head_dim: int,
    config: AttentionConfig | None = None,
) -> AttentionPlan:
    """The launch plan of a packed batch of ``tokens`` rows (spare rows included) whose sequences
    are at most ``max_len`` long (``config``: None, ``default_config(tokens)``). Capturable: only
    host ints shape the grid."""
    config = config or default_config(tokens)
    if cu_seqlens.dtype != torch.int32 or cu_seqlens.dim() != 1 or cu_seqlens.shape[0] < 2:
        raise ValueError("cu_seqlens must be a (sequences + 1,) int32 tensor")
    if head_dim < 16 or head_dim & (head_dim - 1):
        raise ValueError(f"head_dim must be a power of two >= 16, not {head_dim}")
    n, bm = cu_seqlens.shape[0] - 1, config.block_m
    if config.grid == "padded":
        return AttentionPlan(cu_seqlens, None, None, max_len, tokens, heads, head_dim, config, 0)
    m_blocks = triton.cdiv(max_len, bm)
    if m_blocks > _BLOCK_FIELD:
        raise ValueError(f"max_len {max_len} needs {m_blocks} query blocks of {bm}: at most {_BLOCK_FIELD}")
    # sum_i cdiv(L_i, bm) <= (tokens + n (bm - 1)) / bm, and <= n m_blocks
    bound = max(1, min((tokens + n * (bm - 1)) // bm, n * m_blocks))
    work = torch.empty((bound, 2), dtype=torch.int32, device=cu_seqlens.device)
    count = torch.empty(1, dtype=torch.int32, device=cu_seqlens.device)
    _plan_kernel[(1,)](
        cu_seqlens, work, count, n, bound, BLOCK_M=bm, M_BLOCKS=m_blocks, FIELD=_BLOCK_FIELD, CHUNK=256
    )
    if config.grid == "worklist":
        programs = bound * heads + _ZERO_PROGRAMS
    else:
        programs = _sm_count(cu_seqlens.device) * config.programs_per_sm
    return AttentionPlan(cu_seqlens, work, count, max_len, tokens, heads, head_dim, config, programs)


def varlen_attention(
    qkv: torch.Tensor,
    plan: AttentionPlan,
    out_inv_scale: torch.Tensor | None = None,
    out: torch.Tensor | None = None,
) -> torch.Tensor:
    """(tokens, 3 * hidden) fp16 -> (tokens, hidden) context: fp16 (``qkv``'s dtype), or e4m3
    at ``out_inv_scale`` (fp32 0-dim: ``clamp(o * inv_scale, -448, 448)``). ``out``: write there
    (contiguous rows of that shape and dtype) instead of a new tensor."""
    heads, d, cfg = plan.heads, plan.head_dim, plan.config
    hidden = heads * d
    t = qkv.shape[0]
    if qkv.dim() != 2 or qkv.shape[1] != 3 * hidden or qkv.stride(1) != 1:
        raise ValueError(f"qkv must be (tokens, {3 * hidden}) with contiguous rows, not {tuple(qkv.shape)}")
    if t != plan.tokens:
        raise ValueError(f"the plan is for {plan.tokens} tokens, qkv has {t}")
    fp8_out = out_inv_scale is not None
    dtype = E4M3 if fp8_out else qkv.dtype
    if out is None:
        out = torch.empty((t, hidden), device=qkv.device, dtype=dtype)
    elif out.shape != (t, hidden) or out.dtype != dtype or out.stride(1) != 1:
        raise ValueError(f"out must be ({t}, {hidden}) {dtype} with contiguous rows")
    if t == 0:
        return out
    inv_scale = out_inv_scale if out_inv_scale is not None else out  # unread unless FP8_OUT
    n = plan.sequences
    common = dict(
        HEADS=heads, HEAD_DIM=d, BLOCK_M=cfg.block_m, BLOCK_N=cfg.block_n, FP8_OUT=fp8_out, QK_FP8=cfg.qk_fp8,
        num_warps=cfg.num_warps, num_stages=cfg.num_stages,
    )  # fmt: skip
    if cfg.max_registers is not None:
        common["maxnreg"] = cfg.max_registers
    scale = _LOG2_E / math.sqrt(d)
    if cfg.grid == "padded":
        grid = ((n * heads + 1) * plan.m_blocks,)  # + 1: zeroes spare rows
        _padded_kernel[grid](
            qkv, out, plan.cu_seqlens, inv_scale, qkv.stride(0), out.stride(0), t, n, scale,
            M_BLOCKS=plan.m_blocks, **common,
        )  # fmt: skip
        return out
    assert plan.work is not None and plan.work_count is not None
    rest = (inv_scale, qkv.stride(0), out.stride(0), t, n, scale)
    if cfg.grid == "worklist":  # empty entries end the real ones: no count to read
        _worklist_kernel[(plan.programs,)](
            qkv, out, plan.cu_seqlens, plan.work, *rest, FIELD=_BLOCK_FIELD, ZERO_PROGRAMS=_ZERO_PROGRAMS,
            **common,
        )  # fmt: skip
    else:
        _persistent_kernel[(plan.programs,)](
            qkv, out, plan.cu_seqlens, plan.work, plan.work_count, *rest, FIELD=_BLOCK_FIELD, **common
        )
    return out


def attention(
    qkv: torch.Tensor,
    cu_seqlens: torch.Tensor,
    max_len: int,
    heads: int,
    out_inv_scale: torch.Tensor | None = None,
    config: AttentionConfig | None = None,
) -> torch.Tensor:
    """``varlen_attention`` with a plan made for this call alone."""
    head_dim = qkv.shape[1] // (3 * heads)
    plan = plan_attention(cu_seqlens, max_len, qkv.shape[0], heads, head_dim, config)
    return varlen_attention(qkv, plan, out_inv_scale)


_SM_COUNTS: dict[int, int] = {}


def _sm_count(device: torch.device) -> int:
    if device.type != "cuda":
        return 4  # the interpreter (CPU tensors): a few programs still walk the list
    index = device.index if device.index is not None else torch.cuda.current_device()
    if index not in _SM_COUNTS:
        _SM_COUNTS[index] = torch.cuda.get_device_properties(index).multi_processor_count
    return _SM_COUNTS[index]


# ---------------------------------------------------------------------------------------------
# kernels
#
# Integer arguments that change from batch to batch (sequence counts, token counts, the work
# list's bound) are ``do_not_specialize``: Triton otherwise compiles a kernel once per class of
# each one (== 1, divisible by 16, other), so a Server batch whose counts fell in a class warm-up
# had not met compiled inside a measured query. Seen on an H200 with fresh caches: a 0.36 s
# compile of ``_plan_kernel`` in a Server probe (n odd, bound divisible by 16) failed its p99,
# and the search found 4,075-6,175 QPS against 7,300 warm (docs/performance.md, session 11).
# Only loop bounds and masks read them: the compiled code loses nothing.


@triton.jit(do_not_specialize=["n", "bound"])
def _plan_kernel(cu, work, count, n, bound, BLOCK_M: tl.constexpr, M_BLOCKS: tl.constexpr,
                 FIELD: tl.constexpr, CHUNK: tl.constexpr):  # fmt: skip
    """One program: sequence i's query blocks j < min(cdiv(L_i, BLOCK_M), M_BLOCKS) go to
    work[before_i + j] = (start_i, L_i * FIELD + j) in sequence order, the entries after them up to
    ``bound`` to (0, 0); count = the real ones. (A sequence longer than the grid's bound keeps its
    first M_BLOCKS blocks: never an entry past the table.)"""
    carry = tl.load(cu) * 0  # int32 zero
    for c in range(0, n, CHUNK):
        i = c + tl.arange(0, CHUNK)
        live = i < n
        starts = tl.load(cu + i, mask=live, other=0)
        lengths = tl.load(cu + i + 1, mask=live, other=0) - starts
        blocks = tl.minimum((lengths + BLOCK_M - 1) // BLOCK_M, M_BLOCKS)
        before = carry + tl.cumsum(blocks, 0) - blocks
        for j in tl.static_range(M_BLOCKS):
            entry = work + 2 * (before + j)
            keep = live & (j < blocks)
            tl.store(entry, starts, mask=keep)
            tl.store(entry + 1, lengths * FIELD + j, mask=keep)
        carry += tl.sum(blocks, 0)
    tl.store(count, carry)
    for c in range(0, bound, CHUNK):
        k = c + tl.arange(0, CHUNK)
        empty = (k >= carry) & (k < bound)
        tl.store(work + 2 * k, k * 0, mask=empty)
        tl.store(work + 2 * k + 1, k * 0, mask=empty)


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
    if QK_FP8:  # S = diag(s_q) (Q8 K8^T) diag(s_k): per-token scales fold into S exactly
        k8, k_scale = _e4m3_rows(k)
        s = tl.dot(q, tl.trans(k8)) * (s_scale[:, None] * k_scale[None, :])
    else:
        s = tl.dot(q, tl.trans(k)) * s_scale  # (BLOCK_M, BLOCK_N) fp32, log2 units
    if MASKED:
        s = tl.where(live[None, :], s, float("-inf"))
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
    o = acc / l_i[:, None]
    o_ptrs = out + rows_m[:, None] * stride_out + col + offs_d[None, :]
    o_mask = (offs_m < length)[:, None]
    if FP8_OUT:
        o = tl.clamp(o * tl.load(inv_scale), -_SATURATE, _SATURATE)
    tl.store(o_ptrs, o.to(out.dtype.element_ty), mask=o_mask)


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


@triton.jit(do_not_specialize=["tokens", "n_seqs"])
def _padded_kernel(qkv, out, cu, inv_scale, stride_qkv, stride_out, tokens, n_seqs, qk_scale,
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
def _work_item(work, item, HEADS: tl.constexpr, FIELD: tl.constexpr):
    """Work item -> (start, length, head, query block): two independent loads of one entry, so one
    round trip. Heads vary fastest: neighbouring programs read the same rows of ``qkv`` (other
    columns) and share each sequence's K and V in L2."""
    entry = work + 2 * (item // HEADS)
    start = tl.load(entry)
    packed = tl.load(entry + 1)
    return start, packed // FIELD, item % HEADS, packed % FIELD


@triton.jit(do_not_specialize=["tokens", "n_seqs"])
def _worklist_kernel(qkv, out, cu, work, inv_scale, stride_qkv, stride_out, tokens, n_seqs,
                     qk_scale, HEADS: tl.constexpr, HEAD_DIM: tl.constexpr, BLOCK_M: tl.constexpr,
                     BLOCK_N: tl.constexpr, FP8_OUT: tl.constexpr, QK_FP8: tl.constexpr,
                     FIELD: tl.constexpr, ZERO_PROGRAMS: tl.constexpr):  # fmt: skip
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
    start, length, head, m_block = _work_item(work, item, HEADS, FIELD)
    if length == 0:  # past the real entries (no real sequence is empty: it has no entry)
        return
    _attend_block(qkv, out, inv_scale, stride_qkv, stride_out, start, length, head, m_block, qk_scale,
                  HEADS, HEAD_DIM, BLOCK_M, BLOCK_N, FP8_OUT, QK_FP8)  # fmt: skip


@triton.jit(do_not_specialize=["tokens", "n_seqs"])
def _persistent_kernel(qkv, out, cu, work, count, inv_scale, stride_qkv, stride_out, tokens, n_seqs,
                       qk_scale, HEADS: tl.constexpr, HEAD_DIM: tl.constexpr, BLOCK_M: tl.constexpr,
                       BLOCK_N: tl.constexpr, FP8_OUT: tl.constexpr, QK_FP8: tl.constexpr,
                       FIELD: tl.constexpr):  # fmt: skip
    """Grid (programs,): each walks items pid, pid + programs, ..., then zeroes its share of the
    spare rows."""
    pid = tl.program_id(0)
    programs = tl.num_programs(0)
    for item in range(pid, tl.load(count) * HEADS, programs):
        start, length, head, m_block = _work_item(work, item, HEADS, FIELD)
        _attend_block(qkv, out, inv_scale, stride_qkv, stride_out, start, length, head, m_block, qk_scale,
                      HEADS, HEAD_DIM, BLOCK_M, BLOCK_N, FP8_OUT, QK_FP8)  # fmt: skip
    _zero_rows(out, stride_out, tl.load(cu + n_seqs), tokens, pid, programs, HEADS, HEAD_DIM, BLOCK_M)
