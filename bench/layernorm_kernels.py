"""BERT's LayerNorm steps on one GPU: Inductor's kernels (``Fp8Kernels`` fused: what the fp8 path
runs by default) against backends/triton_layernorm.py's hand-written kernel, per config.

The three steps of the FP8 form, on (rows, hidden) fp16 activations: residual + LayerNorm +
quantize to e4m3 (``add_ln_quant``: twice per layer with 16-bit residuals; 7 bytes moved per
element: x and residual read, y fp16 and y8 e4m3 written), the same with the residual in e4m3
and only y8 written (``add8_ln_quant``: twice per layer by default; 4 bytes), LayerNorm +
quantize (``ln_quant``: the embeddings, 5 bytes),
residual + LayerNorm (``add_ln``: the last layer, 6 bytes). Row counts: an Offline batch of 1,024
median-length features (~160,000 tokens), a Server-sized batch (11,520) and one feature (176).
Inductor compiles its kernels with the row count symbolic, as in the model (warmed on two sizes
first). Each timing is ``--calls`` calls captured in one CUDA graph, replayed: the median of
``--repeats`` CUDA-event timings divided by the calls, so small row counts time the kernel, not
the host's launch (a CPU dry run, ``TRITON_INTERPRET=1``, times calls in a loop instead, and its
e4m3 codes differ: the interpreter's own rounding, which tests/triton_interpreter.py mends).

Rows: us per call, GB/s (bytes each step must move / time), speed-up over Inductor's kernel, the
largest |y - y_inductor| and the share of e4m3 codes that differ from Inductor's (rounding ties
of fp32 sums in another order: expect ~1e-6 with none more than one step apart).

    python bench/layernorm_kernels.py [--rows 160000,11520,176] [--hidden 1024] \
        [--configs r1w4,r2w4,r2w8,r4w4,r4w8,r8w8,r16w8] [--calls 20] [--repeats 30]

Runs with torch + triton and crowdperf's src on PYTHONPATH.
"""

from __future__ import annotations

import argparse
import re
from collections.abc import Callable
from dataclasses import dataclass

import torch

from crowdperf.backends.fp8 import Fp8Kernels, scale_for
from crowdperf.backends.triton_layernorm import LayerNormConfig, default_config, layernorm
from gpu_timing import timed_ms

# bytes moved per element, fp16 activations; add8_ln_quant: the residual in e4m3 and only the e4m3
# copy written (Fp8Options.residual_e4m3, the default: twice per layer)
STEPS = {"add_ln_quant": 7, "add8_ln_quant": 4, "ln_quant": 5, "add_ln": 6}
SWEPT = ("add_ln_quant", "add8_ln_quant")  # the steps every config runs on
DEFAULT_CONFIGS = "r1w4,r1w8,r2w4,r2w8,r4w4,r4w8,r8w4,r8w8,r16w8"


def parse_config(name: str) -> LayerNormConfig:
    m = re.fullmatch(r"r(\d+)w(\d+)", name)
    if m is None:
        raise SystemExit(f"config {name!r}: want r<rows per program>w<warps>, e.g. r4w8")
    return LayerNormConfig(rows=int(m[1]), warps=int(m[2]))


@dataclass(frozen=True)
class Operands:
    x: torch.Tensor
    residual: torch.Tensor
    weight: torch.Tensor
    bias: torch.Tensor
    inv_scale: torch.Tensor
    residual8: torch.Tensor  # the residual in e4m3 at residual_scale
    residual_scale: torch.Tensor
    eps: float = 1e-12  # BERT's

    @classmethod
    def make(cls, rows: int, hidden: int, device: torch.device) -> Operands:
        g = torch.Generator(device=device).manual_seed(rows)

        def randn(*shape: int) -> torch.Tensor:
            return torch.randn(*shape, device=device, generator=g)

        x = (randn(rows, hidden) * 3 + randn(rows, 1)).half()  # rows with their own offsets
        inv = (1.0 / scale_for(3.0)).to(device)  # the top of the normalised range saturates
        w, b = (torch.rand(hidden, device=device, generator=g) + 0.5).half(), (randn(hidden) * 0.1).half()
        r = randn(rows, hidden).half()
        r_scale = scale_for(4.0).to(device)
        return cls(x, r, w, b, inv, (r.float() / r_scale).to(torch.float8_e4m3fn), r_scale)


def inductor_step(kernels: Fp8Kernels, step: str, o: Operands) -> Callable[[], tuple]:
    if step == "add_ln_quant":
        return lambda: kernels.add_layernorm_quantize(o.x, o.residual, o.weight, o.bias, o.eps, o.inv_scale)
    if step == "add8_ln_quant":
        r8, rs = o.residual8, o.residual_scale
        w, b = o.weight, o.bias
        return lambda: (None, kernels.add8_layernorm_quantize(o.x, r8, rs, w, b, o.eps, o.inv_scale))
    if step == "ln_quant":
        return lambda: kernels.layernorm_quantize(o.x, o.weight, o.bias, o.eps, o.inv_scale)
    return lambda: (kernels.add_layernorm(o.x, o.residual, o.weight, o.bias, o.eps), None)


def triton_step(step: str, o: Operands, cfg: LayerNormConfig) -> Callable[[], tuple]:
    if step == "add8_ln_quant":
        return lambda: layernorm(
            o.x, o.weight, o.bias, o.eps, residual=o.residual8, residual_scale=o.residual_scale,
            out_inv_scale=o.inv_scale, write_y=False, config=cfg,
        )  # fmt: skip
    residual = None if step == "ln_quant" else o.residual
    inv = None if step == "add_ln" else o.inv_scale
    return lambda: layernorm(o.x, o.weight, o.bias, o.eps, residual=residual, out_inv_scale=inv, config=cfg)


def per_call_ms(fn: Callable[[], object], calls: int, repeats: int) -> tuple[float, str]:
    """``calls`` calls in one CUDA graph, replayed (the model runs these kernels in graphs too,
    and a graph leaves no launch gaps to time); calls in a loop where there is no GPU."""
    if not torch.cuda.is_available():
        return timed_ms(lambda: [fn() for _ in range(calls)], 1, repeats) / calls, "loop"
    for _ in range(3):  # compile and warm outside the capture
        fn()
    torch.cuda.synchronize()
    try:
        graph = torch.cuda.CUDAGraph()
        with torch.cuda.graph(graph):
            for _ in range(calls):
                fn()
        return timed_ms(graph.replay, 3, repeats) / calls, "graph"
    except Exception as exc:  # a capture that fails still gets a time, and says so
        print(f"(no CUDA graph: {str(exc).splitlines()[0]})")
        return timed_ms(lambda: [fn() for _ in range(calls)], 3, repeats) / calls, "loop"


def ordinal(x8: torch.Tensor) -> torch.Tensor:
    """e4m3 codes in value order (+0 and -0 both 0): codes one step apart differ by 1."""
    code = x8.view(torch.uint8).int()
    return torch.where(code >= 128, -(code & 0x7F), code & 0x7F)


def differences(got: tuple, want: tuple) -> str:
    y = got[0]
    dy = float((y.float() - want[0].float()).abs().max()) if y is not None and y.numel() else 0.0
    if got[1] is None:
        return f"{dy:.1e} | |"
    steps = (ordinal(got[1]) - ordinal(want[1])).abs()
    off = float((steps > 0).float().mean()) if steps.numel() else 0.0
    return f"{dy:.1e} | {off:.1e} (max {int(steps.max()) if steps.numel() else 0} step) |"


class StepTable:
    """Rows of one step at one row count, each against Inductor's time for it."""

    def __init__(self, step: str, rows: int, hidden: int, base_ms: float) -> None:
        self.step, self.rows, self.base_ms = step, rows, base_ms
        self.bytes = STEPS[step] * rows * hidden

    def row(self, name: str, ms: float, diff: str = " | |") -> None:
        gbs = self.bytes / (ms * 1e-3) / 1e9
        x = self.base_ms / ms
        print(f"| {self.step} | {self.rows:,} | {name} | {ms * 1e3:.1f} | {gbs:,.0f} | {x:.2f}x | {diff}")


def bench_rows(args: argparse.Namespace, kernels: Fp8Kernels, rows: int, device: torch.device) -> None:
    o = Operands.make(rows, args.hidden, device)
    configs = [parse_config(c) for c in args.configs.split(",") if c]
    for step in STEPS:
        default = default_config(rows, args.hidden, light=step == "add8_ln_quant")
        base_fn = inductor_step(kernels, step, o)
        want = base_fn()
        base_ms, how = per_call_ms(base_fn, args.calls, args.repeats)
        table = StepTable(step, rows, args.hidden, base_ms)
        table.row(f"Inductor ({how})", base_ms)
        # every config on the steps that run twice per layer, the default one on the others
        tried = configs if step in SWEPT else []
        for cfg in tried + ([default] if default not in tried else []):
            fn = triton_step(step, o, cfg)
            ms, how = per_call_ms(fn, args.calls, args.repeats)
            mark = " (default)" if cfg == default else ""
            table.row(f"triton {cfg.name}{mark} ({how})", ms, differences(fn(), want))
    del o
    if torch.cuda.is_available():
        torch.cuda.empty_cache()


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--rows", default="160000,11520,176", help="row counts (tokens), comma-separated")
    p.add_argument("--hidden", type=int, default=1024)
    p.add_argument("--configs", default=DEFAULT_CONFIGS, help="r<rows per program>w<warps>, ...")
    p.add_argument("--calls", type=int, default=20, help="calls per CUDA graph")
    p.add_argument("--repeats", type=int, default=30)
    args = p.parse_args()
    device = torch.device("cuda" if torch.cuda.is_available() else "cpu")
    kernels = Fp8Kernels.make(fused=device.type == "cuda")
    row_counts = [int(r) for r in args.rows.split(",")]
    for rows in (1000, 2000):  # Inductor: the second size compiles the kernel for any row count
        o = Operands.make(rows, args.hidden, device)
        for step in STEPS:
            inductor_step(kernels, step, o)()
    name = torch.cuda.get_device_name() if device.type == "cuda" else "cpu (interpreter: no speed)"
    print(f"{name}; hidden {args.hidden}, fp16 activations; us per call, {args.calls} calls a graph\n")
    print("| step | rows | kernel | us | GB/s | x Inductor | max abs dy | e4m3 codes off |")
    print("|---|---|---|---|---|---|---|---|")
    for rows in row_counts:
        bench_rows(args, kernels, rows, device)


if __name__ == "__main__":
    main()
