"""Tilings and kernel forms of the Triton FP8 GEMM (``triton_fp8_gemm.py``), and which one a
product of a given size gets: plain data, importable without Triton (bench/fp8_gemm.py parses
the names, the tests and the compile tool pick them)."""

from __future__ import annotations

import re
from dataclasses import dataclass, replace


@dataclass(frozen=True)
class GemmConfig:
    """One tiling: the block of the output a program computes, the K step, software pipeline
    depth, warps, and how many M-blocks share a band of N (L2 reuse of the weight); then the
    kernel's form (all off: the classic kernel, one program per tile, pointer loads):

    - ``persistent``: programs per SM of a persistent kernel that walks the tiles (0: one program
      per tile); the next tile's loads are issued while this tile's epilogue runs;
    - ``tma``: operands loaded and the result stored through TMA tensor descriptors (Hopper's
      bulk copies; rows past M are zeros on load and dropped on store);
    - ``epilogue_subtile``: the epilogue in two halves along N (half the temporaries in
      registers, so 128 x 256 tiles fit with the GELU epilogue);
    - ``warp_specialize``: its own kernel: operands loaded and the result stored through
      device-side TMA descriptors, the tile loop warp-specialised by Triton (on Hopper: a producer
      warp group loads, two consumer groups of ``warps`` = 4 multiply half the rows each, with up
      to 232 registers); one tile a program, or ``persistent``; not with ``tma`` or
      ``epilogue_subtile``;
    - ``split_k``: K cut into this many slices, each a program, their fp32 partial sums added by
      a second kernel (few tokens: more programs than tiles; plain product only).
    """

    block_m: int = 128
    block_n: int = 256
    block_k: int = 128
    stages: int = 4
    warps: int = 8
    group_m: int = 8
    persistent: int = 0
    tma: bool = False
    epilogue_subtile: bool = False
    warp_specialize: bool = False
    split_k: int = 1

    @property
    def name(self) -> str:
        """``128x256x128s3w8`` for the classic kernel, then one suffix per form: ``-p<programs
        per SM>``, ``-tma``, ``-sub``, ``-ws``, ``-k<slices>`` (bench/fp8_gemm.py parses it)."""
        forms = [f"p{self.persistent}"] if self.persistent else []
        flags = (("tma", self.tma), ("sub", self.epilogue_subtile), ("ws", self.warp_specialize))
        forms += [form for form, on in flags if on]
        forms += [f"k{self.split_k}"] if self.split_k > 1 else []
        tiling = f"{self.block_m}x{self.block_n}x{self.block_k}s{self.stages}w{self.warps}"
        return "-".join([tiling, *forms])

    @classmethod
    def parse(cls, name: str) -> GemmConfig:
        """The config ``name`` gives (``128x256x128s3w8-p1-tma-sub``)."""
        tiling, *forms = name.split("-")
        mnk, rest = tiling.split("s")
        m, n, k = (int(v) for v in mnk.split("x"))
        stages, warps = (int(v) for v in rest.split("w"))
        unknown = [f for f in forms if f not in ("tma", "sub", "ws") and not re.fullmatch(r"[pk]\d+", f)]
        if unknown:
            raise ValueError(f"GEMM config {name!r}: unknown form {unknown[0]!r} (p<n>, tma, sub, ws, k<n>)")
        counts = {f[0]: int(f[1:]) for f in forms if re.fullmatch(r"[pk]\d+", f)}
        return cls(
            block_m=m, block_n=n, block_k=k, stages=stages, warps=warps,
            persistent=counts.get("p", 0), split_k=counts.get("k", 1),
            tma="tma" in forms, epilogue_subtile="sub" in forms, warp_specialize="ws" in forms,
        )  # fmt: skip


# Tilings measured on an H200 (bench/fp8_gemm.py, 181,000 x 4096 x 1024, docs/performance.md):
# the plain product is fastest in 128 x 256 tiles (1.50 ms, cuBLASLt 1.23); with the GELU +
# quantize epilogue, 128 x 128 tiles with 3 stages (1.75 ms against 1.88): less shared memory, so
# two programs share an SM and one's epilogue overlaps the other's products. Few tokens
# (SingleStream, small Server batches) want smaller M tiles to keep more SMs busy.
# Session 6 (same shape, GELU epilogue): the same 128 x 128 tiles in a persistent kernel of two
# programs per SM with TMA loads and store, 1.62 against 1.75 ms. Session 8: the warp-specialised
# form (device-side descriptors; a producer group, two consumer groups) in 128 x 256 tiles, one
# persistent program per SM, 1.373 against that kernel's 1.429 ms (packed-fp16 GELU; 7,512
# against 7,385 samples/s in bench/gpu.py). Both measured on Offline's large batches only, so
# used from TMA_MIN_TOKENS up, on GPUs with TMA (Hopper and later).
LARGE = GemmConfig(block_m=128, block_n=256, block_k=128, stages=3, warps=8)
LARGE_EPILOGUE = GemmConfig(block_m=128, block_n=128, block_k=128, stages=3, warps=8)
LARGE_EPILOGUE_TMA = replace(LARGE, warps=4, persistent=1, warp_specialize=True)
SMALL = GemmConfig(block_m=64, block_n=128, block_k=128, stages=4, warps=4)
TMA_MIN_TOKENS = 16_384


def default_config(m: int, n: int, k: int, epilogue: bool = False, tma: bool = False) -> GemmConfig:
    """The tiling for an (m, k) x (k, n) product (``epilogue``: with GELU + quantize; ``tma``: the
    GPU has TMA), its N and K blocks shrunk to divide ``n`` and ``k`` (the kernel has no masks
    along them; tiny test models have hidden sizes of 64)."""
    if m <= 2048:
        cfg = SMALL
    elif epilogue:
        cfg = LARGE_EPILOGUE_TMA if tma and m >= TMA_MIN_TOKENS else LARGE_EPILOGUE
    else:
        cfg = LARGE
    block_n = next((b for b in (256, 128, 64, 32, 16) if b <= cfg.block_n and n % b == 0), 16)
    block_k = next((b for b in (128, 64, 32, 16) if b <= cfg.block_k and k % b == 0), 16)
    return replace(cfg, block_n=block_n, block_k=block_k)
