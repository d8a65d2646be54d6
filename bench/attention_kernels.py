"""Attention of one packed BERT-Large batch on one GPU: torch's ``varlen_attn`` (FlashAttention 2)
against backends/triton_attention.py's grids and tile sizes, fp16 out and e4m3 out.

The batch: ``--batch`` sequences (default 1,024, an Offline batch of the fp8 path) whose lengths
are SQuAD v1.1 dev's (``--dataset-path`` and ``--vocab-path``: the features as bench/gpu.py
loads them; ``--mix random`` draws them at random, ``--mix median`` takes the middle of the sorted
order, what bench/gpu.py profiles) or, without the dataset, drawn like them (8 % at 384 tokens,
the rest around 160: mean ~180, SQuAD dev's is 178.5). Q, K and V are one (tokens, 3 * hidden)
fp16 tensor, as the fused QKV GEMM writes it; the grid's bound is ``--max-len`` (512: what the
model passes, the position table).

Rows: ``varlen_attn`` (fp16 context), ``varlen_attn`` + the separate quantize the fp8 path runs
(``Fp8Kernels`` fused, an Inductor kernel), then each Triton variant with fp16 out and with e4m3
out (quantize fused). Each row: median of ``--repeats`` CUDA-event timings after warm-up, ms per
layer and for ``--layers`` layers, TFLOP/s (4 * sum(L_i^2) * hidden per layer), speed-up over
the baseline of the same output (fp16: varlen_attn; e4m3: varlen_attn + quantize), and the
largest error against that baseline (e4m3: dequantized, and the share of codes that differ).
Then a CUDA-graph check of each grid (captured with 8 spare sequences and 96 spare tokens).
(FlashAttention-4's Hopper forward, ``fa4`` 4.0.0b3, was timed here in session 12: 3.4 ms a layer
at its best tile against the Triton kernels' 0.65, and removed; docs/performance.md.)

    python bench/attention_kernels.py [--dataset-path dev-v1.1.json --vocab-path vocab.txt] \
        [--mix random|median] [--batch 1024] [--variants worklist-m64-n64-w4-s2,...] [--repeats 30]

Variant names: ``<grid>-m<BLOCK_M>-n<BLOCK_N>-w<warps>-s<stages>[-p<programs per SM>][-qk8][-r<regs>]``,
grid one of padded, worklist, persistent (-p: persistent only; -qk8: Q K^T in e4m3 with per-token
scales, ``AttentionConfig.qk_fp8``, an accuracy risk: its error column says how much; -r: at most
that many registers per thread, ``AttentionConfig.max_registers``). Runs with
torch + triton and crowdperf's src on PYTHONPATH (the dataset adds crowdperf's own dependencies).
"""

from __future__ import annotations

import argparse
import itertools
import math
import re
from dataclasses import dataclass
from pathlib import Path
from typing import cast

import torch

from crowdperf.backends.fp8 import Fp8Kernels
from crowdperf.backends.triton_attention import AttentionConfig, Grid, plan_attention, varlen_attention
from gpu_timing import timed_ms

TILES = (
    "m64-n64-w4-s2",
    "m64-n64-w4-s3",
    "m64-n128-w4-s2",
    "m128-n64-w8-s2",
    "m128-n64-w4-s2",
    "m128-n128-w8-s2",
)
EXTRA = ("persistent-m64-n64-w4-s2-p2", "persistent-m64-n64-w4-s2-p8", "worklist-m64-n64-w4-s2-qk8",
         "worklist-m128-n64-w8-s2-qk8")  # fmt: skip
DEFAULT_VARIANTS = ",".join(
    [f"{g}-{t}" for g in ("padded", "worklist", "persistent") for t in TILES] + list(EXTRA)
)
_NAME = re.compile(
    r"(padded|worklist|persistent)-m(\d+)-n(\d+)-w(\d+)-s(\d+)(?:-p(\d+))?(-qk8)?(?:-r(\d+))?$"
)


def parse_variant(name: str) -> AttentionConfig:
    m = _NAME.match(name)
    if m is None:
        raise SystemExit(
            f"variant {name!r}: want <grid>-m<BLOCK_M>-n<BLOCK_N>-w<warps>-s<stages>[-p<n>][-qk8][-r<regs>]"
        )
    grid, bm, bn, warps, stages, per_sm, qk8, regs = m.groups()
    sizes = (int(bm), int(bn), int(warps), int(stages))
    return AttentionConfig(
        *sizes, grid=cast(Grid, grid), programs_per_sm=int(per_sm or 4), qk_fp8=bool(qk8),
        max_registers=int(regs) if regs else None,
    )  # fmt: skip


def squad_lengths(args: argparse.Namespace) -> list[int]:
    """Real lengths of SQuAD dev features, loaded as bench/gpu.py loads them."""
    import numpy as np

    from crowdperf.settings import load_settings
    from crowdperf.workloads.bert.dataset import load_features

    lengths = load_features(args.dataset_path, args.vocab_path, load_settings()).lengths
    if args.mix == "median":
        order = np.sort(lengths)
        mid = max(0, len(order) // 2 - args.batch // 2)
        return [int(x) for x in order[mid : mid + args.batch]]
    pick = np.random.default_rng(args.seed).choice(len(lengths), size=args.batch, replace=False)
    return [int(x) for x in lengths[pick]]


def synthetic_lengths(n: int, seed: int) -> list[int]:
    """SQuAD-like without the dataset: 8 % of features are full 384-token windows of long
    paragraphs, the rest spread around 160 tokens."""
    g = torch.Generator().manual_seed(seed)
    body = (torch.randn(n, generator=g) * 45 + 160).round().clamp(40, 383)
    full = torch.rand(n, generator=g) < 0.08
    return [int(x) for x in torch.where(full, torch.full_like(body, 384), body)]


@dataclass(frozen=True)
class Batch:
    qkv: torch.Tensor  # (tokens, 3 * hidden) fp16
    cu_seqlens: torch.Tensor  # (n + 1,) int32
    lengths: tuple[int, ...]
    heads: int
    head_dim: int
    max_len: int

    @property
    def tokens(self) -> int:
        return self.qkv.shape[0]

    @property
    def flops(self) -> float:
        """QK^T and PV of every head of every sequence (one layer)."""
        return 4.0 * sum(n * n for n in self.lengths) * self.heads * self.head_dim


def make_batch(lengths: list[int], heads: int, head_dim: int, max_len: int, device: torch.device) -> Batch:
    cu = [0]
    for n in lengths:
        cu.append(cu[-1] + n)
    g = torch.Generator(device=device).manual_seed(0)
    # activations of a projection: O(1) values, so softmax is neither flat nor one-hot
    qkv = torch.randn(cu[-1], 3 * heads * head_dim, device=device, generator=g).half()
    cu_t = torch.tensor(cu, dtype=torch.int32, device=device)
    return Batch(qkv, cu_t, tuple(lengths), heads, head_dim, max_len)


def baseline_attention(b: Batch) -> torch.Tensor:
    """torch's FlashAttention 2 (what torch_model.attend runs) -> (tokens, hidden) fp16."""
    t, h = b.tokens, b.heads * b.head_dim
    q, k, v = (p.view(t, b.heads, b.head_dim) for p in b.qkv.split(h, dim=1))
    if b.qkv.is_cuda:
        from torch.nn.attention.varlen import varlen_attn

        out = varlen_attn(q, k, v, b.cu_seqlens, b.cu_seqlens, b.max_len, b.max_len)
        return out.reshape(t, h)
    out = torch.zeros(t, h, dtype=b.qkv.dtype)  # a CPU dry run: per sequence
    cu = b.cu_seqlens.tolist()
    for a, z in itertools.pairwise(cu):
        per = [x[a:z].transpose(0, 1).float() for x in (q, k, v)]
        out[a:z] = (
            torch.nn.functional.scaled_dot_product_attention(*per).transpose(0, 1).reshape(z - a, h).half()
        )
    return out


def ordinal(x8: torch.Tensor) -> torch.Tensor:
    """e4m3 codes in value order (+0 and -0 both 0): codes one step apart differ by 1."""
    code = x8.view(torch.uint8).int()
    return torch.where(code >= 128, -(code & 0x7F), code & 0x7F)


def codes_off(out8: torch.Tensor, ref8: torch.Tensor) -> str:
    """The share of e4m3 codes that differ from the baseline's, and by more than one step (a
    step is tiny near zero, subnormals: fp16's own error spans several there)."""
    steps = (ordinal(out8) - ordinal(ref8)).abs()
    return f"{float((steps > 0).float().mean()):.2%} (> 1 step: {float((steps > 1).float().mean()):.3%})"


class Report:
    def __init__(self, b: Batch, layers: int) -> None:
        self.b, self.layers = b, layers
        self.best: dict[str, tuple[float, str]] = {}  # out -> (ms, variant)
        print(f"| variant | out | ms/layer | ms x{layers} | TFLOP/s | x baseline | max abs err | codes off |")
        print("|---|---|---|---|---|---|---|---|")

    def row(self, name: str, out: str, ms: float, base_ms: float, err: str = "", off: str = "") -> None:
        tflops = self.b.flops / (ms * 1e-3) / 1e12
        if ms < self.best.get(out, (math.inf, ""))[0]:
            self.best[out] = (ms, name)
        print(f"| {name} | {out} | {ms:.3f} | {ms * self.layers:.2f} | {tflops:.0f} | "
              f"{base_ms / ms:.2f}x | {err} | {off} |", flush=True)  # fmt: skip


def run_variants(
    args: argparse.Namespace, variants: list[tuple[str, AttentionConfig]], b: Batch, report: Report
) -> None:
    w, r = args.warmup, args.repeats
    ref16 = baseline_attention(b)
    amax = float(ref16.abs().max())
    inv = torch.tensor(448.0 / amax, dtype=torch.float32, device=b.qkv.device)
    quantize = Fp8Kernels.make(fused=b.qkv.is_cuda).quantize
    ref8 = quantize(ref16, inv)
    base16 = timed_ms(lambda: baseline_attention(b), w, r)
    base8 = timed_ms(lambda: quantize(baseline_attention(b), inv), w, r)
    report.row("varlen_attn (FA2)", "fp16", base16, base16)
    report.row("varlen_attn + quantize", "e4m3", base8, base8)
    for name, cfg in variants:
        try:
            plan = plan_attention(b.cu_seqlens, b.max_len, b.tokens, b.heads, b.head_dim, cfg)
            out16 = varlen_attention(b.qkv, plan)
            err16 = float((out16.float() - ref16.float()).abs().max())
            ms16 = timed_ms(lambda plan=plan: varlen_attention(b.qkv, plan), w, r)
            report.row(name, "fp16", ms16, base16, f"{err16:.2e}")
            out8 = varlen_attention(b.qkv, plan, inv)
            err8 = float((out8.float() - ref8.float()).abs().max() / inv)
            ms8 = timed_ms(lambda plan=plan: varlen_attention(b.qkv, plan, inv), w, r)
            off = codes_off(out8, ref8)
            report.row(name, "e4m3", ms8, base8, f"{err8:.2e}", off)
            timed_plan = timed_ms(
                lambda cfg=cfg: plan_attention(b.cu_seqlens, b.max_len, b.tokens, b.heads, b.head_dim, cfg),
                w,
                r,
            )
            if cfg.grid != "padded":
                print(f"|   (its plan: {timed_plan * 1e3:.0f} us, once per batch) | | | | | | | |")
        except Exception as exc:  # one variant's failure must not cost the others
            print(f"| {name} | FAILED: {type(exc).__name__}: {str(exc).splitlines()[0][:160]} | | | | | | |")


def graph_check(b: Batch, variants: list[tuple[str, AttentionConfig]]) -> None:
    """Each variant captured in a CUDA graph (plan included) with 8 empty sequences and 96
    spare tokens after the batch, as a token bucket's graph; replayed with the same inputs it
    must give eager's output and zeros in the spare rows."""
    if not b.qkv.is_cuda:
        return
    spare = 96
    qkv = torch.cat([b.qkv, torch.randn(spare, b.qkv.shape[1], device=b.qkv.device).half()])
    cu = torch.cat([b.cu_seqlens, b.cu_seqlens[-1:].expand(8)])
    inv = torch.tensor(448.0 / 8.0, device=b.qkv.device)
    for name, cfg in variants:
        try:

            def step(cfg: AttentionConfig = cfg) -> torch.Tensor:
                plan = plan_attention(cu, b.max_len, qkv.shape[0], b.heads, b.head_dim, cfg)
                return varlen_attention(qkv, plan, inv)

            eager = step()
            graph = torch.cuda.CUDAGraph()
            with torch.cuda.graph(graph):
                captured = step()
            captured.view(torch.uint8).fill_(0x7F)  # NaN codes: the replay must overwrite them
            graph.replay()
            torch.cuda.synchronize()
            same = bool(torch.equal(captured.view(torch.uint8), eager.view(torch.uint8)))
            zeros = not bool(captured[-spare:].view(torch.uint8).any())
            print(f"graph {name}: replay == eager {same}, spare rows zero {zeros}")
        except Exception as exc:
            print(f"graph {name}: FAILED: {type(exc).__name__}: {str(exc).splitlines()[0][:160]}")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--dataset-path", type=Path, default=None)
    ap.add_argument("--vocab-path", type=Path, default=None)
    ap.add_argument("--mix", choices=["random", "median"], default="random", help="which SQuAD features")
    ap.add_argument("--batch", type=int, default=1024, help="sequences in the packed batch")
    ap.add_argument("--heads", type=int, default=16)
    ap.add_argument("--head-dim", type=int, default=64)
    ap.add_argument("--layers", type=int, default=24)
    ap.add_argument("--max-len", type=int, default=512, help="the grid's bound (the model passes 512)")
    ap.add_argument("--variants", default=DEFAULT_VARIANTS)
    ap.add_argument(
        "--graph-variants", default="padded-m64-n64-w4-s2,worklist-m64-n64-w4-s2,persistent-m64-n64-w4-s2"
    )


if __name__ == "__main__":
    main()
