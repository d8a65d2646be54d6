"""One GPU call: BERT-Large's four FP8 GEMMs, cuBLASLt (``torch._scaled_mm``) against the Triton
GEMM (backends/triton_fp8_gemm.py), alone and with the element-wise step after each product.

For each token count (an Offline batch of 1,024 real-length features, a Server batch, one
SingleStream feature) and each GEMM shape, prints ms per call (CUDA events, median of
``--repeats``; below ``--graph-below`` tokens, 20 calls in one CUDA graph, so that the kernel's
time and not Python's launch is measured), TFLOP/s and the ratio to cuBLASLt measured in the
same run:

- ``cublas``: ``_scaled_mm``, per-tensor scales, bias, fast accumulation, fp16 out;
- ``cublas + step``: that, then the step (GELU + quantize after the first FFN GEMM; residual +
  LayerNorm + quantize after the others) as Inductor's fused Triton kernel: today's ``--precision
  fp8`` path;
- ``triton <config>``: the Triton GEMM, fp16 out, for each config in ``--configs``
  (``GemmConfig.name``: a tiling ``128x256x128s3w8``, then its form: ``-p1`` persistent with one
  program per SM, ``-tma`` TMA descriptors, ``-sub`` the epilogue in two halves, ``-ws`` warp
  specialisation, ``-k4`` split-K in 4 slices), and its error against cuBLASLt;
- ``triton + GELU epilogue <config>`` (the first FFN product; not for split-K): the Triton GEMM
  with GELU (``--gelu``: erf, tanh's by tanh.approx, tanh's by exp2, tanh's and the quantize in
  packed fp16: ``GELUS``) + quantize in its epilogue, e4m3 out, and the share of its codes that
  differ from GELU + quantize of cuBLASLt's product (a few % at rounding boundaries is
  expected; far more is a wrong kernel).

A config that fails (does not compile, too much shared memory, wrong sizes) prints a row with
its error and the run goes on.

    python bench/fp8_gemm.py [--tokens 181000,11520,180] [--configs 128x256x128s4w8,...]
    python bench/fp8_gemm.py --shapes ffn_in --configs 128x128x128s3w8-p2-tma --gelu tanh,tanh-f16x2
"""

from __future__ import annotations

import argparse
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from functools import partial

import torch

from crowdperf.backends.fp8 import Fp8Kernels, quantize, scale_for
from crowdperf.backends.gemm_config import GemmConfig, default_config
from crowdperf.backends.triton_fp8_gemm import fp8_gemm
from gpu_timing import graphed_ms, timed_ms

SHAPES = {"qkv": (3072, 1024), "attn_out": (1024, 1024), "ffn_in": (4096, 1024), "ffn_out": (1024, 4096)}
CONFIGS = ",".join([
    "128x256x128s4w8", "128x256x128s3w8", "128x128x128s4w8", "128x128x128s4w4", "256x128x128s3w8",
    "64x128x128s4w4", "64x256x128s4w4",
])  # fmt: skip


@dataclass(frozen=True)
class GeluEpilogue:
    """``fp8_gemm``'s GELU arguments for one ``--gelu`` name (``tanh_approx`` on: the CUDA
    default for tanh's GELU; the bench names it so that ``tanh-exp2`` can turn it off)."""

    tanh: bool
    approx: bool = True
    f16x2: bool = False

    def kwargs(self) -> dict[str, bool]:
        return {"gelu_tanh": self.tanh, "tanh_approx": self.approx, "tanh_f16x2": self.f16x2}


GELUS = {
    "erf": GeluEpilogue(tanh=False),
    "tanh": GeluEpilogue(tanh=True),  # tanh.approx.f32 (GELU_TANH_APPROX)
    "tanh-exp2": GeluEpilogue(tanh=True, approx=False),
    "tanh-f16x2": GeluEpilogue(tanh=True, f16x2=True),  # packed fp16 (GELU_TANH_F16X2)
}


def parse_config(name: str) -> GemmConfig:
    return GemmConfig.parse(name)


class Case:
    """One GEMM shape at one token count: its operands and each way to run it."""

    def __init__(self, name: str, m: int, n: int, k: int, graphed: bool = False) -> None:
        dev = torch.device("cuda")
        self.name, self.m, self.n, self.k = name, m, n, k
        self.graphed = graphed  # time calls in a CUDA graph (kernel time, not launch time)
        x = torch.randn(m, k, device=dev, dtype=torch.float16)
        w = torch.randn(n, k, device=dev, dtype=torch.float16) / k**0.5
        self.sx, self.sw = scale_for(float(x.abs().max())).to(dev), scale_for(float(w.abs().max())).to(dev)
        self.x8, self.w8 = quantize(x, 1 / self.sx), quantize(w, 1 / self.sw)
        self.scale, self.bias = self.sx * self.sw, torch.randn(n, device=dev, dtype=torch.float16) * 0.1
        self.residual = torch.randn(m, n, device=dev, dtype=torch.float16)  # today's step after a product
        self.ln_w, self.ln_b = torch.ones_like(self.bias), torch.zeros_like(self.bias)
        self.inv = 1 / scale_for(4.0).to(dev)
        self.steps = Fp8Kernels.make(fused=True)

    def cublas(self) -> torch.Tensor:
        return torch._scaled_mm(
            self.x8, self.w8.t(), scale_a=self.sx, scale_b=self.sw, bias=self.bias,
            out_dtype=torch.float16, use_fast_accum=True,
        )  # fmt: skip

    def cublas_and_step(self) -> torch.Tensor:
        """Today's path: the product, then the step after it as Inductor's fused kernel."""
        k = self.steps
        if self.name == "ffn_in":
            return k.gelu_quantize(self.cublas(), self.inv)
        return k.add_layernorm_quantize(self.cublas(), self.residual, self.ln_w, self.ln_b, 1e-12, self.inv)[
            1
        ]

    def triton(self, cfg: GemmConfig) -> torch.Tensor:
        return fp8_gemm(self.x8, self.w8, self.scale, self.bias, config=cfg)

    def triton_epilogue(self, cfg: GemmConfig, gelu: str = "erf") -> torch.Tensor:
        """GELU + quantize in the GEMM's epilogue (the first FFN product): ``gelu`` one of
        ``GELUS``."""
        inv, form = self.inv, GELUS[gelu].kwargs()
        return fp8_gemm(self.x8, self.w8, self.scale, self.bias, gelu_out_inv_scale=inv, config=cfg, **form)

    def epilogue_codes_differ(self, cfg: GemmConfig, gelu: str) -> float:
        """The share of the epilogue's e4m3 codes that differ from GELU + quantize of cuBLASLt's."""
        form = "tanh" if GELUS[gelu].tanh else "none"
        want = quantize(torch.nn.functional.gelu(self.cublas().float(), approximate=form), self.inv).float()
        return float((self.triton_epilogue(cfg, gelu).float() != want).float().mean())

    def ms(self, fn: Callable[[], object], repeats: int) -> float:
        return graphed_ms(fn, 3, repeats) if self.graphed else timed_ms(fn, 3, repeats)

    def rows(self, configs: list[GemmConfig], gelus: list[str], repeats: int) -> Iterator[tuple[str, float]]:
        """Each variant's row as soon as it is timed (cuBLASLt's first: the base of the ratios)."""
        yield ("cublas", self.ms(self.cublas, repeats))
        yield ("cublas + step", self.ms(self.cublas_and_step, repeats))
        default = default_config(self.m, self.n, self.k)
        for cfg in [default, *[c for c in configs if c != default]]:
            label = cfg.name + (" (default)" if cfg == default else "")
            try:
                yield from self._config_rows(cfg, label, gelus, repeats)
            except Exception as exc:  # a config that does not compile (shared memory) is a row
                yield (f"triton {label}: {type(exc).__name__} {str(exc)[:100]}", float("nan"))

    def _config_rows(
        self, cfg: GemmConfig, label: str, gelus: list[str], repeats: int
    ) -> Iterator[tuple[str, float]]:
        want = self.cublas().float()
        err = float((self.triton(cfg).float() - want).abs().max() / want.abs().max())
        yield (f"triton {label} (rel err {err:.1e})", self.ms(partial(self.triton, cfg), repeats))
        if self.name == "ffn_in" and cfg.split_k == 1:
            for gelu in gelus:
                differ = self.epilogue_codes_differ(cfg, gelu)
                run = partial(self.triton_epilogue, cfg, gelu)
                name = f"triton + {gelu} GELU epilogue {label} ({differ:.1%} codes differ)"
                yield (name, self.ms(run, repeats))


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--tokens", default="181000,11520,180", help="token counts (GEMM M)")
    ap.add_argument("--shapes", default=",".join(SHAPES), help="which of " + ",".join(SHAPES))
    forms = "[-p<n>][-tma][-sub][-ws][-k<n>]"
    ap.add_argument("--configs", default=CONFIGS, help=f"Triton configs: MxNxKs<stages>w<warps>{forms}")
    ap.add_argument(
        "--gelu",
        default="erf,tanh,tanh-exp2,tanh-f16x2",
        help="GELU epilogues to time on ffn_in: erf, tanh (tanh.approx), tanh-exp2, tanh-f16x2",
    )
    ap.add_argument("--repeats", type=int, default=20)
    ap.add_argument(
        "--graph-below", type=int, default=20_000, help="CUDA-graph timing below this many tokens"
    )
    args = ap.parse_args()
    torch.manual_seed(0)
    configs = [parse_config(c) for c in args.configs.split(",")]
    gelus = args.gelu.split(",")
    if unknown := [g for g in gelus if g not in GELUS]:
        raise SystemExit(f"unknown --gelu {unknown[0]!r}: want some of {', '.join(GELUS)}")
    print(f"# {torch.cuda.get_device_name(0)}, torch {torch.__version__}")
    print("| tokens | GEMM | variant | ms | TFLOP/s | x cublas |")
    print("|---|---|---|---|---|---|")
    for m in (int(t) for t in args.tokens.split(",")):
        for name in args.shapes.split(","):
            n, k = SHAPES[name]
            case = Case(name, m, n, k, graphed=m < args.graph_below)
            base, flops, shape = float("nan"), 2 * m * n * k, f"{name} {n}x{k}"
            for variant, ms in case.rows(configs, gelus, args.repeats):
                base = ms if variant == "cublas" else base
                tflops = flops / ms / 1e9  # nan for a config that failed
                print(
                    f"| {m} | {shape} | {variant} | {ms:.4f} | {tflops:,.0f} | {base / ms:.2f} |", flush=True
                )
            del case


if __name__ == "__main__":
    main()
