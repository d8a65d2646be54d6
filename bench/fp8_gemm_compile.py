"""Compile the Triton FP8 GEMM's launches for Hopper (sm_90a) on a machine without a GPU, and say
per config what the GPU would find out at its first call: whether it compiles, its shared memory
and registers (ptxas; an H200 SM has 227 KiB and 64 Ki registers: so how many programs fit on
one SM), spills, whether its operand loads are software-pipelined (async copies or
TMA in the TTGIR) and whether the tile loop was warp-specialised; with ``--sass``, how many of
each epilogue instruction (MUFU, fp32 and packed fp16 arithmetic, conversions) the SASS has:
the epilogue is unrolled, so these are per thread and per tile (a 128 x 128 tile in 8 warps:
64 elements a thread).

Compile-only: no timing; prunes configs before GPU time is spent (bench/fp8_gemm.py times them).
Uses Triton's compiler entry points (``ASTSource``, the JIT's argument specialisation), which move
between Triton versions; checked with Triton 3.6 and 3.9. Run without ``TRITON_INTERPRET``:

    python bench/fp8_gemm_compile.py --configs 128x128x128s3w8,128x256x128s3w8-p1-tma-sub
    python bench/fp8_gemm_compile.py --configs 128x128x128s3w8-p2-tma --gelu tanh,tanh-f16x2 --sass
"""

from __future__ import annotations

import argparse
import re
import subprocess
import tempfile
from collections import Counter
from pathlib import Path
from typing import Any

import torch
import triton
from triton.backends.compiler import BaseBackend, GPUTarget
from triton.compiler import ASTSource

from crowdperf.backends.gemm_config import GemmConfig
from crowdperf.backends.triton_fp8_gemm import KernelLaunch, gemm_launches
from fp8_gemm import GELUS

try:  # where the JIT's argument specialisation lives moves between versions
    from triton.runtime.jit import native_specialize_impl
except ImportError:  # pragma: no cover
    from triton._C.libtriton import native_specialize_impl

SHAPES = {"qkv": (3072, 1024), "attn_out": (1024, 1024), "ffn_in": (4096, 1024), "ffn_out": (1024, 4096)}
SHARED_PER_SM = 227 * 1024  # H100/H200: the most one program may take
REGISTERS_PER_SM = 65_536
HOPPER = GPUTarget("cuda", 90, 32)
# the epilogue's instructions: special functions, fp32 and packed fp16 arithmetic, conversions
EPILOGUE_OPS = re.compile(r"MUFU\.[A-Z0-9.]+|HFMA2|HMUL2|HADD2|HMNMX2|FFMA|FMUL|FADD|FMNMX|F2FP")


def compile_launch(launch: KernelLaunch, programs: int) -> Any:
    """Compile ``launch`` as the JIT would at its first call on an sm_90 GPU (``programs``: a
    persistent kernel's program count there; on the CPU ``gemm_launches`` counts 3 SMs)."""
    fn = launch.kernel
    options = dict(launch.options)
    build = {"num_warps": options.pop("num_warps"), "num_stages": options.pop("num_stages", 3)}
    if programs and "PROGRAMS" in options:
        options["PROGRAMS"] = programs
    values = dict(zip(fn.arg_names, launch.args, strict=False)) | options
    signature, constexprs, attrs = {}, {}, {}
    for i, (name, param) in enumerate(zip(fn.arg_names, fn.params, strict=True)):
        if param.is_constexpr:
            signature[name], constexprs[name] = "constexpr", values[name]
            continue
        kind, key = native_specialize_impl(BaseBackend, values[name], False, True, True)
        signature[name] = kind
        if isinstance(key, str) and "D" in key:  # divisible by 16: what lets loads vectorise
            attrs[(i,)] = [["tt.divisibility", 16]]
    return triton.compile(ASTSource(fn, signature, constexprs, attrs), target=HOPPER, options=build)


def ptxas_usage(ptx: str) -> tuple[int, int]:
    """Registers and spill bytes per thread, from Triton's own ptxas (-1: unknown)."""
    bin_dir = Path(triton.__file__).parent / "backends" / "nvidia" / "bin"
    for ptxas in (bin_dir / "ptxas", bin_dir / "ptxas-blackwell"):
        run = subprocess.run(
            [str(ptxas), "-arch=sm_90a", "-v", "-", "-o", "/dev/null"],
            input=ptx, capture_output=True, text=True, check=False,
        )  # fmt: skip
        if run.returncode == 0:
            regs = re.search(r"Used (\d+) registers", run.stderr)
            spills = re.search(r"(\d+) bytes spill stores", run.stderr)
            return int(regs.group(1)) if regs else -1, int(spills.group(1)) if spills else -1
    return -1, -1


def sass_op_counts(cubin: bytes) -> str:
    """How many of each EPILOGUE_OPS instruction the kernel's SASS has (Triton's own nvdisasm)."""
    nvdisasm = Path(triton.__file__).parent / "backends" / "nvidia" / "bin" / "nvdisasm"
    with tempfile.NamedTemporaryFile(suffix=".cubin") as f:
        f.write(cubin)
        f.flush()
        sass = subprocess.run([str(nvdisasm), "-c", f.name], capture_output=True, text=True, check=True)
    counts = Counter(m.group(0) for line in sass.stdout.splitlines() if (m := EPILOGUE_OPS.search(line)))
    return " ".join(f"{op} {n}" for op, n in sorted(counts.items()))


def describe(cfg: GemmConfig, shape: str, m: int, gelu: str | None, sms: int, sass: bool = False) -> str:
    n, k = SHAPES[shape]
    x8 = torch.zeros(m, k, dtype=torch.float8_e4m3fn)
    w8 = torch.zeros(n, k, dtype=torch.float8_e4m3fn)
    one, bias = torch.ones(()), torch.zeros(n, dtype=torch.float16)
    epilogue = {"gelu_out_inv_scale": one, **GELUS[gelu].kwargs()} if gelu else {}
    _, launches = gemm_launches(x8, w8, one, bias, config=cfg, **epilogue)
    parts = []
    for launch in launches:
        kernel = compile_launch(launch, cfg.persistent * sms)
        ttgir = kernel.asm["ttgir"]
        shared, (regs, spilled) = int(kernel.metadata.shared), ptxas_usage(kernel.asm["ptx"])
        threads = 32 * int(kernel.metadata.num_warps)  # a warp-specialised kernel's groups counted
        per_sm = min(SHARED_PER_SM // max(shared, 1), REGISTERS_PER_SM // (max(regs, 1) * threads))
        notes = [
            f"{shared / 1024:.0f} KiB shared, {regs} regs, {spilled} B spilled",
            f"{per_sm} program(s) per SM" if per_sm else "DOES NOT FIT",
        ]
        if "dot" in ttgir:  # a product's loop (the split-K sum has none)
            pipelined = "async_copy_global_to_local" in ttgir or "async_tma_copy_global_to_local" in ttgir
            notes.append("loads pipelined" if pipelined else "loads NOT pipelined")
        notes += ["warp-specialised"] if "ttg.warp_specialize" in ttgir else []
        notes += [f"SASS: {sass_op_counts(kernel.asm['cubin'])}"] if sass else []
        parts.append(f"{launch.kernel.__name__}: {', '.join(notes)}")
    return "; ".join(parts)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--configs", required=True, help="GemmConfig names, comma-separated")
    ap.add_argument("--shapes", default="ffn_in", help="which of " + ",".join(SHAPES))
    ap.add_argument("--tokens", type=int, default=181_000)
    ap.add_argument("--sms", type=int, default=132, help="the GPU's SMs (H200: 132)")
    ap.add_argument("--gelu", default="tanh", help="ffn_in's GELU epilogues, of " + ",".join(GELUS))
    ap.add_argument("--sass", action="store_true", help="count the epilogue's SASS instructions")
    args = ap.parse_args()
    gelus = args.gelu.split(",")
    if unknown := [g for g in gelus if g not in GELUS]:
        raise SystemExit(f"unknown --gelu {unknown[0]!r}: want some of {', '.join(GELUS)}")
    print(f"# Triton {triton.__version__}, target sm_90a, {args.tokens} tokens")
    for name in args.configs.split(","):
        cfg = GemmConfig.parse(name)
        for shape in args.shapes.split(","):
            for gelu in [None, *gelus] if shape == "ffn_in" and cfg.split_k == 1 else [None]:
                label = f"{name} {shape}{f' + {gelu} GELU epilogue' if gelu else ''}"
                try:
                    found = describe(cfg, shape, args.tokens, gelu, args.sms, args.sass)
                    print(f"{label}: {found}", flush=True)
                except Exception as exc:  # one that does not compile is a line, not the end
                    print(f"{label}: FAILS {type(exc).__name__}: {str(exc)[-300:]}", flush=True)


if __name__ == "__main__":
    main()
