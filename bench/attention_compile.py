"""Compile backends/triton_attention.py's attention kernel for Hopper (sm_90a) on a machine without
a GPU, and say per variant what the GPU would find out at its first call: whether it compiles,
whether its key loop was warp-specialised (``ttg.warp_specialize`` in the TTGIR, and the
registers each warp group asks for), its warps, shared memory, registers and spills (Triton's
own ptxas). Variant names as bench/attention_kernels.py's (``-ws``: ``warp_specialize``).

Compile-only: no timing; bench/attention_kernels.py times the variants on a GPU. Run without
``TRITON_INTERPRET``:

    python bench/attention_compile.py --variants worklist-m64-n64-w4-s2,worklist-m128-n64-w4-s2-ws
"""

from __future__ import annotations

import argparse
import re

import torch
import triton

from attention_kernels import parse_variant
from crowdperf.backends.triton_attention import AttentionConfig, AttentionPlan, attention_launch
from fp8_gemm_compile import compile_launch, ptxas_usage

DEFAULT_VARIANTS = (
    "worklist-m64-n64-w4-s2,worklist-m128-n64-w4-s2-ws,worklist-m128-n64-w4-s3-ws,"
    "worklist-m128-n128-w4-s2-ws,worklist-m128-n128-w4-s3-ws"
)
_REQUESTED = re.compile(r"ttg\.warp_specialize\(.*requestedRegisters = array<i32: ([0-9, ]+)>")


def cpu_plan(cfg: AttentionConfig, tokens: int, sequences: int, max_len: int) -> AttentionPlan:
    """A plan of the right shapes whose tables are never read (no kernel runs here)."""
    cu = torch.zeros(sequences + 1, dtype=torch.int32)
    work, count = torch.zeros(tokens, dtype=torch.int32), torch.zeros(1, dtype=torch.int32)
    return AttentionPlan(cu, work, count, max_len, tokens, 16, 64, cfg, 1024)


def describe(cfg: AttentionConfig, fp8_out: bool, tokens: int, max_len: int) -> str:
    """One variant's kernel compiled for sm_90a: a line of what it became."""
    plan = cpu_plan(cfg, tokens, tokens // 180, max_len)
    qkv = torch.zeros(tokens, 3 * 1024, dtype=torch.float16)
    out = torch.zeros(tokens, 1024, dtype=torch.float8_e4m3fn if fp8_out else torch.float16)
    inv = torch.ones((), dtype=torch.float32) if fp8_out else None
    kernel = compile_launch(attention_launch(qkv, plan, out, inv), 0)
    ttgir = kernel.asm["ttgir"]
    regs, spilled = ptxas_usage(kernel.asm["ptx"])
    requested = _REQUESTED.search(ttgir)
    ws = f"warp-specialised (registers asked {requested.group(1)})" if requested else "not warp-specialised"
    tma = "TMA loads" if "async_tma_copy_global_to_local" in ttgir else "pointer loads"
    shared = f"{kernel.metadata.shared / 1024:.0f} KiB shared"
    return f"{ws}, {tma}, {kernel.metadata.num_warps} warps, {shared}, {regs} regs, {spilled} B spilled"


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--variants", default=DEFAULT_VARIANTS, help="comma-separated variant names")
    ap.add_argument("--tokens", type=int, default=184_000, help="rows of the packed batch")
    ap.add_argument("--max-len", type=int, default=512)
    args = ap.parse_args()
    print(f"# Triton {triton.__version__}, target sm_90a, heads 16 x 64")
    for name in args.variants.split(","):
        cfg = parse_variant(name)
        for fp8_out in (False, True):
            label = f"{name} {'e4m3' if fp8_out else 'fp16'} out"
            try:
                print(f"{label}: {describe(cfg, fp8_out, args.tokens, args.max_len)}", flush=True)
            except Exception as exc:  # one that does not compile is a line, not the end
                print(f"{label}: FAILS {type(exc).__name__}: {str(exc)[-300:]}", flush=True)


if __name__ == "__main__":
    main()
