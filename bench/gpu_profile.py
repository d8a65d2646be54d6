"""Where a BERT forward spends GPU time, against what the GPU can do (the roofline anchor).

Measures the dense fp16/bf16 GEMM rate of this GPU (a large square matmul), then profiles one
length-grouped batch of BERT-Large-shaped random weights (eager PyTorch, so every kernel is
visible) and groups kernel time: GEMMs, attention, LayerNorm, GELU, other elementwise, copies.
Prints the batch's achieved TFLOP/s as a fraction of the measured GEMM rate.

    python bench/gpu_profile.py [--batch 512] [--width 192] [--precision fp16] [--model large]
"""

from __future__ import annotations

import argparse
import re
import time
from collections import defaultdict

import numpy as np
import torch

from crowdperf.precision import Precision
from crowdperf.settings import load_settings
from crowdperf.system import accelerators
from crowdperf.system.devices import DeviceKind, DeviceSelection
from crowdperf.workloads.bert.dataset import FeatureBatch
from crowdperf.workloads.bert.model_config import BertModelConfig
from crowdperf.workloads.bert.weights import ensure_weights
from crowdperf.workloads.bert.workload import bert_runner

GROUPS = [  # first match wins, on the lower-cased kernel name
    ("attention", re.compile(r"fmha|attention|flash|efficient|softmax")),
    ("gemm", re.compile(r"gemm|cutlass|sm90|matmul|xmma|nvjet|cublas")),
    ("layernorm", re.compile(r"layer_norm|layernorm")),
    ("gelu", re.compile(r"gelu")),
    ("copy", re.compile(r"copy|memcpy|memset|cat|index")),
    ("elementwise", re.compile(r"elementwise|vectorized|reduce|add|mul")),
]


def gemm_tflops(dtype: torch.dtype, n: int = 8192, repeats: int = 20) -> float:
    a = torch.randn(n, n, device="cuda", dtype=dtype)
    b = torch.randn(n, n, device="cuda", dtype=dtype)
    for _ in range(3):
        a @ b
    torch.cuda.synchronize()
    t0 = time.perf_counter()
    for _ in range(repeats):
        a @ b
    torch.cuda.synchronize()
    return 2 * n**3 * repeats / (time.perf_counter() - t0) / 1e12


def bert_flops(cfg: BertModelConfig, batch: int, width: int) -> float:
    tokens = batch * width
    dense = 2 * tokens * (4 * cfg.hidden * cfg.hidden + 2 * cfg.hidden * cfg.intermediate)
    attention = 2 * 2 * batch * width * width * cfg.hidden  # QK^T and PV
    return cfg.layers * (dense + attention)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--batch", type=int, default=512)
    ap.add_argument("--width", type=int, default=192)
    ap.add_argument("--precision", default="fp16")
    ap.add_argument("--model", choices=["base", "large"], default="large")
    args = ap.parse_args()
    precision = Precision(args.precision)
    dtype = {Precision.FP16: torch.float16, Precision.BF16: torch.bfloat16}.get(precision, torch.float32)
    peak = gemm_tflops(dtype)
    print(f"{torch.cuda.get_device_name(0)}: dense {args.precision} GEMM 8192^3 = {peak:.0f} TFLOP/s")

    cfg = getattr(BertModelConfig, args.model)(30522)
    weights = ensure_weights(load_settings().models_dir, cfg)
    rng = np.random.default_rng(0)
    ids = rng.integers(1, cfg.vocab_size, (args.batch, args.width), dtype=np.int64)
    batch = FeatureBatch(ids, np.ones_like(ids), np.zeros_like(ids))
    flops = bert_flops(cfg, args.batch, args.width)
    for graphs in (False, True):
        gpu = accelerators.resolve(DeviceSelection(DeviceKind.CUDA, (0,)))[0]
        backend, _ = bert_runner(
            "pytorch", weights, gpu, precision, None, max_len=384, pack_sequences=False, cuda_graphs=graphs
        )
        backend.prepare(args.batch, [args.width])
        for _ in range(3):
            backend.run(batch)
        torch.cuda.synchronize()
        t0 = time.perf_counter()
        for _ in range(10):
            backend.run(batch)
        seconds = (time.perf_counter() - t0) / 10
        label = "CUDA graphs" if graphs else "eager"
        print(
            f"{label:>12}: batch {args.batch} x {args.width}: {seconds * 1e3:.1f} ms, "
            f"{args.batch / seconds:,.0f} samples/s, {flops / seconds / 1e12:.0f} TFLOP/s "
            f"= {flops / seconds / 1e12 / peak:.0%} of the GEMM rate"
        )
        if not graphs:
            with torch.profiler.profile(activities=[torch.profiler.ProfilerActivity.CUDA]) as prof:
                backend.run(batch)
                torch.cuda.synchronize()
            by_group: dict[str, float] = defaultdict(float)
            for e in prof.key_averages():
                us = getattr(e, "device_time_total", 0.0) or getattr(e, "cuda_time_total", 0.0)
                if us <= 0 or e.key.startswith(("ProfilerStep", "aten::")):
                    continue
                name = e.key.lower()
                group = next((g for g, rx in GROUPS if rx.search(name)), "other")
                by_group[group] += us
            total = sum(by_group.values())
            for group, us in sorted(by_group.items(), key=lambda kv: -kv[1]):
                print(f"    {group:<12} {us / 1e3:8.2f} ms  {us / total:6.1%}")
            top = sorted(
                (e for e in prof.key_averages() if not e.key.startswith("aten::")),
                key=lambda e: -(getattr(e, "device_time_total", 0.0) or 0.0),
            )[:8]
            for e in top:
                print(f"    top: {e.key[:90]:<90} {getattr(e, 'device_time_total', 0.0) / 1e3:8.2f} ms")
        backend.close()


if __name__ == "__main__":
    main()
