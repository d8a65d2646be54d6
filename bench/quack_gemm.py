"""FP8 GEMMs of BERT-Large's four shapes: cuBLASLt (``torch._scaled_mm``, what the fp8 path runs for
QKV, the attention output and the second FFN product) against QuACK's CuTe-DSL Hopper GEMM
(``quack-kernels`` on PyPI, when installed): does a pip-installable GEMM beat cuBLASLt's rate here?
docs/performance.md ("What a run's average batch costs") says 9,500 samples/s needs exactly that.

Each row: e4m3 A (tokens, K) x e4m3 weight (N, K) transposed, per-tensor scales, fp16 bias, fp16
out; median of ``--repeats`` CUDA-event timings after warm-up, TFLOP/s, ratio to ``_scaled_mm``
and the largest difference from it (relative to its largest value). QuACK runs its default
heuristic and each ``--configs`` entry, ``m<tile_m>-n<tile_n>-c<cluster_m>x<cluster_n>[-coop]``
(-coop: cooperative instead of ping-pong consumers).

    python bench/quack_gemm.py [--tokens 182784,46080] [--configs m128-n192-c2x1,...]
"""

from __future__ import annotations

import argparse
import re

import torch

from gpu_timing import timed_ms

SHAPES = {  # name: (N, K) of the weight
    "qkv": (3072, 1024),
    "attention_out": (1024, 1024),
    "ffn_in": (4096, 1024),
    "ffn_out": (1024, 4096),
}
CONFIGS = "m128-n192-c2x1,m128-n256-c2x1,m128-n256-c1x2,m256-n128-c2x1-coop,m128-n128-c2x1"
_CONFIG = re.compile(r"m(\d+)-n(\d+)-c(\d+)x(\d+)(-coop)?$")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument(
        "--tokens", default="182784,46080", help="GEMM rows: a run's mean Offline batch, a Server one"
    )
    ap.add_argument("--shapes", default=",".join(SHAPES))
    ap.add_argument("--configs", default=CONFIGS)
    ap.add_argument("--warmup", type=int, default=5)
    ap.add_argument("--repeats", type=int, default=20)
    args = ap.parse_args()
    if not torch.cuda.is_available():
        raise SystemExit("needs a CUDA GPU with FP8 (Hopper or later)")
    try:
        from quack.gemm_config import GemmConfig
        from quack.gemm_interface import gemm_tuned
    except Exception as exc:
        raise SystemExit(f"quack-kernels is not available: {type(exc).__name__}: {exc}") from exc
    print(f"# {torch.cuda.get_device_name(0)}, torch {torch.__version__}")
    print("| tokens | shape | kernel | ms | TFLOP/s | x _scaled_mm | max diff |")
    print("|---|---|---|---|---|---|---|")
    configs = [("quack default", None)] + [
        (f"quack {c}", parse_config(c, GemmConfig)) for c in args.configs.split(",") if c
    ]
    for m in (int(t) for t in args.tokens.split(",")):
        for shape in args.shapes.split(","):
            bench_shape(m, shape, configs, gemm_tuned, args.warmup, args.repeats)


def parse_config(name: str, config_cls: type) -> object:
    p = _CONFIG.match(name)
    if p is None:
        raise SystemExit(f"config {name!r}: want m<tile_m>-n<tile_n>-c<cm>x<cn>[-coop]")
    tm, tn, cm, cn, coop = p.groups()
    return config_cls(
        tile_m=int(tm), tile_n=int(tn), cluster_m=int(cm), cluster_n=int(cn), pingpong=not coop,
        is_dynamic_persistent=False,
    )  # fmt: skip


def bench_shape(
    m: int, shape: str, configs: list[tuple[str, object]], gemm_tuned: object, warmup: int, repeats: int
) -> None:
    """One shape at ``m`` rows: cuBLASLt, then each QuACK config (printed rows)."""
    dev, e4m3 = torch.device("cuda"), torch.float8_e4m3fn
    n, k = SHAPES[shape]
    g = torch.Generator(device=dev).manual_seed(0)
    a = (torch.randn(m, k, device=dev, generator=g) * 2).to(e4m3)
    w = (torch.randn(n, k, device=dev, generator=g) * 2).to(e4m3)
    bias = torch.randn(n, device=dev, generator=g).half()
    sa, sw = torch.tensor(0.02, device=dev), torch.tensor(0.03, device=dev)
    alpha, flops = float(sa * sw), 2.0 * m * n * k

    def cublas() -> torch.Tensor:
        return torch._scaled_mm(a, w.t(), sa, sw, bias=bias, out_dtype=torch.float16)

    ref = cublas()
    scale = float(ref.abs().max())
    base = timed_ms(cublas, warmup, repeats)
    tflops = flops / base / 1e9
    print(f"| {m:,} | {shape} {n}x{k} | _scaled_mm (cuBLASLt) | {base:.3f} | {tflops:,.0f} | 1.00x | |")
    for name, cfg in configs:
        out = torch.empty(m, n, device=dev, dtype=torch.float16)

        def run(cfg: object = cfg, out: torch.Tensor = out) -> torch.Tensor:
            gemm_tuned.fn(a, w.t(), out, bias=bias, alpha=alpha, config=cfg)  # type: ignore[attr-defined]
            return out

        try:
            diff = float((run().float() - ref.float()).abs().max()) / scale
            ms = timed_ms(run, warmup, repeats)
            tflops = flops / ms / 1e9
            print(f"| {m:,} | {shape} | {name} | {ms:.3f} | {tflops:,.0f} | {base / ms:.2f}x | {diff:.1e} |")
        except Exception as exc:  # one config's failure must not cost the others
            why = str(exc).splitlines()[0][:140] if str(exc) else ""
            print(f"| {m:,} | {shape} | {name} | FAILED: {type(exc).__name__}: {why} | | | |", flush=True)


if __name__ == "__main__":
    main()
