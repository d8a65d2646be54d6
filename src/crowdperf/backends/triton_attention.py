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
  blocks (one load); the grid's bound (from the token and sequence counts) is tight to within one
  block per sequence, the programs past the real count exit at once. Heads vary fastest.
- ``"persistent"``: ``programs_per_sm`` programs per SM walk the same work list round-robin.

``AttentionConfig.warp_specialize`` (Hopper, off by default, an experiment to time): the work
list's kernel with Q, K and V read through TMA descriptors made on the device and a key loop
Triton warp-specialises (a producer warp group loads, two consumer groups of ``block_m / 2``
query rows compute); it needs a Triton allocator for the descriptors' scratch memory, which
``varlen_attention`` sets, and finite values in every row of ``qkv`` (keys past a sequence's end
are read and get probability 0; an infinite value there would still make a NaN).
bench/attention_compile.py shows what it compiles to; triton_attention_kernels.py has the kernels.

``plan_attention`` writes that table in one small kernel; make the plan once per batch and
pass it to every layer (the same plan serves every layer: it depends on the packing only). Triton
compiles a kernel on its first call for each constexpr combination (tile sizes, heads, fp16 or
e4m3 out, the grid's bound cdiv(max_len, BLOCK_M)): call it once before capturing a graph.
Import this module only where Triton is installed.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any, Literal

import torch
import triton

from crowdperf.backends.fp8 import E4M3
from crowdperf.backends.triton_attention_kernels import (
    padded_kernel,
    persistent_kernel,
    plan_kernel,
    worklist_kernel,
    worklist_ws_kernel,
)

_LOG2_E = 1.4426950408889634
_ZERO_PROGRAMS = 8  # extra programs that zero the spare rows (worklist grid)

Grid = Literal["padded", "worklist", "persistent"]
GRIDS: tuple[Grid, ...] = ("padded", "worklist", "persistent")


@dataclass(frozen=True)
class AttentionConfig:
    """Tile sizes and launch shape. ``block_m`` queries x ``block_n`` keys per step; Hopper likes
    64/128 each, 4 or 8 warps, 2-3 pipeline stages (not tuned on a GPU yet: bench/attention_kernels.py
    sweeps them)."""

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
    # Hopper: Q, K and V through device-side TMA descriptors in a key loop that Triton (3.6)
    # warp-specialises: one producer warp group loads, two consumer groups of block_m / 2 query
    # rows each compute (12 warps). Worklist grid, 4 warps and block_m >= 128 only (at 64 both
    # consumer groups would compute the same rows); an experiment, off by default
    warp_specialize: bool = False

    def __post_init__(self) -> None:
        for name in ("block_m", "block_n"):
            size = getattr(self, name)
            if size < 16 or size & (size - 1):
                raise ValueError(f"{name} must be a power of two >= 16, not {size}")
        if self.grid not in GRIDS:
            raise ValueError(f"grid must be one of {GRIDS}, not {self.grid!r}")
        if self.warp_specialize and (
            self.grid != "worklist" or self.num_warps != 4 or self.block_m < 128 or self.qk_fp8
        ):
            raise ValueError("warp_specialize takes the worklist grid, 4 warps, block_m >= 128, no qk_fp8")

    @property
    def name(self) -> str:
        per_sm = f" p{self.programs_per_sm}" if self.grid == "persistent" else ""
        qk = " qk-e4m3" if self.qk_fp8 else ""
        ws = " ws" if self.warp_specialize else ""
        tiles = f"m{self.block_m} n{self.block_n} w{self.num_warps} s{self.num_stages}"
        return f"{self.grid} {tiles}{per_sm}{qk}{ws}"


@dataclass(frozen=True)
class AttentionPlan:
    """Where the work of one packed batch is: the packing, the launch shape and (work-list grids)
    on the device, ``work``: each real query block as ``sequence * m_blocks + block``, and
    ``work_count``: how many there are (the rest of ``work`` is unwritten)."""

    cu_seqlens: torch.Tensor  # (sequences + 1,) int32
    work: torch.Tensor | None  # (bound,) int32, None for the padded grid
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
    config: AttentionConfig = AttentionConfig(),
) -> AttentionPlan:
    """The launch plan of a packed batch of ``tokens`` rows (spare rows included) whose sequences
    are at most ``max_len`` long. Capturable: only host ints shape the grid."""
    if cu_seqlens.dtype != torch.int32 or cu_seqlens.dim() != 1 or cu_seqlens.shape[0] < 2:
        raise ValueError("cu_seqlens must be a (sequences + 1,) int32 tensor")
    if head_dim < 16 or head_dim & (head_dim - 1):
        raise ValueError(f"head_dim must be a power of two >= 16, not {head_dim}")
    n, bm = cu_seqlens.shape[0] - 1, config.block_m
    if config.grid == "padded":
        return AttentionPlan(cu_seqlens, None, None, max_len, tokens, heads, head_dim, config, 0)
    m_blocks = triton.cdiv(max_len, bm)
    # sum_i cdiv(L_i, bm) <= (tokens + n (bm - 1)) / bm, and <= n m_blocks
    bound = max(1, min((tokens + n * (bm - 1)) // bm, n * m_blocks))
    work = torch.empty(bound, dtype=torch.int32, device=cu_seqlens.device)
    count = torch.empty(1, dtype=torch.int32, device=cu_seqlens.device)
    plan_kernel[(1,)](cu_seqlens, work, count, n, BLOCK_M=bm, M_BLOCKS=m_blocks, CHUNK=256)
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
    hidden, cfg = plan.heads * plan.head_dim, plan.config
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
    launch = attention_launch(qkv, plan, out, out_inv_scale)
    if cfg.warp_specialize:  # its TMA descriptors are made on the device, in scratch memory
        triton.set_allocator(_ScratchAllocator(qkv.device))  # a ContextVar: the launching thread's
    launch.kernel[launch.grid](*launch.args, **launch.options)
    return out


@dataclass(frozen=True)
class AttentionLaunch:
    """One prepared launch of the attention kernel: ``kernel[grid](*args, **options)``
    (bench/attention_compile.py compiles it for Hopper without a GPU)."""

    kernel: Any  # a triton.jit function
    grid: tuple[int]
    args: tuple[Any, ...]
    options: dict[str, Any]  # constexpr arguments, num_warps, num_stages


def attention_launch(
    qkv: torch.Tensor, plan: AttentionPlan, out: torch.Tensor, out_inv_scale: torch.Tensor | None
) -> AttentionLaunch:
    """The launch ``varlen_attention`` makes for checked arguments (``out`` of the right dtype)."""
    heads, d, cfg = plan.heads, plan.head_dim, plan.config
    t, n = qkv.shape[0], plan.sequences
    inv_scale = out_inv_scale if out_inv_scale is not None else out  # unread unless FP8_OUT
    options: dict[str, Any] = dict(
        HEADS=heads, HEAD_DIM=d, BLOCK_M=cfg.block_m, BLOCK_N=cfg.block_n, FP8_OUT=out_inv_scale is not None,
        M_BLOCKS=plan.m_blocks, num_warps=cfg.num_warps, num_stages=cfg.num_stages,
    )  # fmt: skip
    scale = _LOG2_E / math.sqrt(d)
    args: tuple[Any, ...]
    if cfg.grid == "padded":
        grid = ((n * heads + 1) * plan.m_blocks,)  # + 1: zeroes spare rows
        args = (qkv, out, plan.cu_seqlens, inv_scale, qkv.stride(0), out.stride(0), t, n, scale)
        return AttentionLaunch(padded_kernel, grid, args, options | {"QK_FP8": cfg.qk_fp8})
    assert plan.work is not None and plan.work_count is not None
    tensors = (qkv, out, plan.cu_seqlens, plan.work, plan.work_count, inv_scale)
    args = (*tensors, qkv.stride(0), out.stride(0), t, n, scale)
    if cfg.warp_specialize:
        _check_tma_operand(qkv)
        kernel = worklist_ws_kernel
        options |= {"ZERO_PROGRAMS": _ZERO_PROGRAMS}
    elif cfg.grid == "worklist":
        kernel = worklist_kernel
        options |= {"ZERO_PROGRAMS": _ZERO_PROGRAMS, "QK_FP8": cfg.qk_fp8}
    else:
        kernel = persistent_kernel
        options |= {"QK_FP8": cfg.qk_fp8}
    return AttentionLaunch(kernel, (plan.programs,), args, options)


def _check_tma_operand(qkv: torch.Tensor) -> None:
    """What a TMA descriptor asks of the tensor it reads: a 16-byte aligned start and row stride."""
    if qkv.data_ptr() % 16 or qkv.stride(0) * qkv.element_size() % 16:
        raise ValueError(
            "warp_specialize reads qkv through TMA: its start and row stride must be 16-byte aligned"
        )


class _ScratchAllocator:
    """Triton's allocator for a kernel's global scratch (device-side TMA descriptors): a torch
    tensor, so it comes from torch's caching allocator (and a graph's pool while capturing)."""

    def __init__(self, device: torch.device) -> None:
        self.device = device

    def __call__(self, size: int, alignment: int, stream: int | None) -> torch.Tensor:
        return torch.empty(size, dtype=torch.int8, device=self.device)  # 256-byte aligned


def attention(
    qkv: torch.Tensor,
    cu_seqlens: torch.Tensor,
    max_len: int,
    heads: int,
    out_inv_scale: torch.Tensor | None = None,
    config: AttentionConfig = AttentionConfig(),
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
