"""Variable-length attention through FlashAttention-4's Hopper/Blackwell forward (the ``fa4``
package: Tri Dao's CuTe-DSL kernels, FA3-style warp-specialised; an optional extra, never needed
by the default path). Q, K and V are read in place from the fused QKV projection (strided views:
only the head dimension must be contiguous); the output is 16-bit, so an e4m3 consumer quantizes
it after (unlike triton_attention.py, whose kernels write e4m3 themselves).

Experimental (session 11): measured against the Triton kernels by ``bench/attention_kernels.py
--fa4`` and ``bench/gpu.py``'s ``-fa4`` variants before it becomes anyone's default."""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import cache

import torch


@dataclass(frozen=True)
class Fa4Tile:
    """FA4's Hopper tile: ``tile_m`` queries (tile_m / 64 MMA warpgroups, plus one producer
    warpgroup) by ``tile_n`` keys a step. FA4's own default is 128 x 128."""

    tile_m: int = 128
    tile_n: int = 64

    def __post_init__(self) -> None:
        if self.tile_m not in (64, 128, 192) or self.tile_n not in (64, 96, 128, 176, 192):
            raise ValueError(f"FA4 tile {self.tile_m} x {self.tile_n}: tile_m 64/128/192, tile_n 64-192")

    @classmethod
    def parse(cls, name: str) -> Fa4Tile:
        """``m<tile_m>-n<tile_n>``, e.g. ``m128-n64`` (the benches' names)."""
        m = re.fullmatch(r"m(\d+)-n(\d+)", name)
        if m is None:
            raise ValueError(f"FA4 tile {name!r}: want m<queries>-n<keys>, e.g. m128-n64")
        return cls(int(m[1]), int(m[2]))

    @property
    def threads(self) -> int:
        return (self.tile_m // 64 + 1) * 128


@cache
def fa4_available(capability_major: int) -> bool:
    """The ``fa4`` package imports and its forward runs on GPUs of this compute capability (FA4
    supports 9.x Hopper and 10.x/11.x Blackwell)."""
    if capability_major not in (9, 10, 11):
        return False
    try:
        from flash_attn.cute import interface  # noqa: F401
    except Exception:  # not installed, or its CUTLASS DSL runtime is missing for this machine
        return False
    return True


def fa4_varlen_attention(
    q: torch.Tensor,
    k: torch.Tensor,
    v: torch.Tensor,
    cu_seqlens: torch.Tensor,
    max_len: int,
    tile: Fa4Tile = Fa4Tile(),
) -> torch.Tensor:
    """(tokens, heads, head_dim) q, k, v (fp16/bf16, the last dimension contiguous) of the
    sequences ``cu_seqlens`` delimits -> (tokens, heads, head_dim), softmax scale
    1 / sqrt(head_dim), no mask: BERT's self-attention of each sequence. ``max_len`` bounds the
    longest sequence (it sizes the grid; a host int, so the call can be captured in a graph)."""
    from flash_attn.cute import interface

    out, _ = interface._flash_attn_fwd(
        q, k, v, cu_seqlens, cu_seqlens, max_seqlen_q=max_len, max_seqlen_k=max_len,
        m_block_size=tile.tile_m, n_block_size=tile.tile_n, num_threads=tile.threads,
    )  # fmt: skip
    return out
