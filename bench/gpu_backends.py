"""GPU throughput of the PyTorch backend on BERT-Large-shaped random weights and real SQuAD features.

Reference style (MLPerf's pytorch_SUT: fp32, batch 1, every sample padded to 384) against our
Offline path (samples sorted by real length, batched, each batch trimmed to its longest sample,
fp16/bf16, CUDA graphs), measured in the same run on the same features. Prints samples/s and the
ratio. ``--latency-precision`` adds a table of one batch's latency, eager against CUDA graphs, at
small batch sizes (what SingleStream and Server batches are) on real features of median length.

    python bench/gpu_backends.py --dataset-path dev-v1.1.json --vocab-path vocab.txt \
        [--model large|base|tiny] [--reference-samples 300] [--batch-size 256] \
        [--latency-precision fp16]
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path

import numpy as np

from crowdperf.precision import Precision
from crowdperf.settings import load_settings
from crowdperf.system import accelerators
from crowdperf.system.devices import DeviceSelection, UsedDevice
from crowdperf.workloads.bert.dataset import load_features
from crowdperf.workloads.bert.model_config import BertModelConfig
from crowdperf.workloads.bert.weights import ensure_weights
from crowdperf.workloads.bert.workload import bert_runner


def _sync() -> None:
    import torch

    if torch.cuda.is_available():
        torch.cuda.synchronize()


def reference_style(backend, feats, n: int) -> float:
    """Batch 1, padded to 384, one sample at a time (the reference SUT's loop)."""
    for i in range(5):
        backend.run(feats.gather([i], trim=False))
    _sync()
    t0 = time.perf_counter()
    for i in range(n):
        backend.run(feats.gather([i], trim=False))
    _sync()
    return n / (time.perf_counter() - t0)


def offline_style(backend, feats, batch_size: int, n: int) -> float:
    """All n samples sorted by real length, batched, trimmed: what our Offline SUT does."""
    order = np.argsort(feats.lengths[:n], kind="stable")
    batches = [order[i : i + batch_size] for i in range(0, n, batch_size)]
    backend.run(feats.gather(batches[-1]))  # warm-up at the longest shape
    backend.run(feats.gather(batches[0]))
    _sync()
    t0 = time.perf_counter()
    for b in batches:
        backend.run(feats.gather(b))
    _sync()
    return n / (time.perf_counter() - t0)


def batch_latency_ms(backend, feats, n: int, repeats: int = 30) -> float:
    """Median wall time of one batch of the n features around the median length, end to end
    (host arrays in, host logits out: what the SUT waits for)."""
    order = np.argsort(feats.lengths, kind="stable")
    mid = len(order) // 2
    batch = feats.gather(order[mid : mid + n], align=32)
    for _ in range(3):
        backend.run(batch)
    times = []
    for _ in range(repeats):
        t0 = time.perf_counter()
        backend.run(batch)
        times.append(time.perf_counter() - t0)
    return float(np.median(times)) * 1e3


LATENCY_VARIANTS = {  # name: (CUDA graphs, packed sequences)
    "eager": (False, False),
    "graphs": (True, False),
    "packed": (True, True),
}


def latency_table(weights: Path, feats, device: UsedDevice, precision: Precision, max_batch: int) -> None:
    sizes = [n for n in (1, 2, 4, 8, 16, 32, 64) if n <= max_batch]
    runs = {}
    for name, (graphs, packed) in LATENCY_VARIANTS.items():
        backend, _ = bert_runner(
            "pytorch",
            weights,
            device,
            precision,
            None,
            max_len=384,
            pack_sequences=packed,
            cuda_graphs=graphs,
        )
        backend.prepare(max(sizes), range(32, 385, 32))
        runs[name] = [batch_latency_ms(backend, feats, n) for n in sizes]
        backend.close()
    print(f"one batch at the median length, {precision.value} (ms, median): "
          "eager padded / CUDA graphs padded / packed sequences")  # fmt: skip
    for k, n in enumerate(sizes):
        eager, graph, packed = (runs[name][k] for name in LATENCY_VARIANTS)
        print(f"  batch {n:>3}: eager {eager:8.2f}  graphs {graph:8.2f}  packed {packed:8.2f}"
              f"  {eager / min(graph, packed):5.2f}x")  # fmt: skip


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--dataset-path", type=Path, required=True)
    ap.add_argument("--vocab-path", type=Path, required=True)
    ap.add_argument("--model", choices=["tiny", "base", "large"], default="large")
    ap.add_argument("--device", default="cuda:0", help="cpu or cuda:N (one device)")
    ap.add_argument("--reference-samples", type=int, default=300)
    ap.add_argument("--samples", type=int, default=0, help="0 = all 10,833 features")
    ap.add_argument("--batch-size", type=int, default=256)
    ap.add_argument("--precisions", default="fp32,bf16,fp16")
    ap.add_argument("--latency-precision", default="", help="e.g. fp16: add the batch latency table")
    args = ap.parse_args()
    settings = load_settings()
    feats = load_features(args.dataset_path, args.vocab_path, settings)
    cfg = getattr(BertModelConfig, args.model)(feats.vocab_size)
    weights = ensure_weights(settings.models_dir, cfg, seed=0)
    device = accelerators.resolve(DeviceSelection.parse(args.device))[0]
    n = args.samples or feats.count

    # the reference runs eagerly (no CUDA graphs), as MLPerf's pytorch_SUT does
    ref, _ = bert_runner("pytorch", weights, device, Precision.FP32, None, max_len=384, cuda_graphs=False)
    ref_sps = reference_style(ref, feats, args.reference_samples)
    ref.close()
    print(f"model {args.model} ({cfg.key}) on {device.name}, {n} real SQuAD features")
    print(f"{'reference fp32 batch 1 padded 384':<44} {ref_sps:10.1f} samples/s   1.00x")
    for prec in args.precisions.split(","):
        half = prec in ("fp16", "bf16")  # packed sequences need flash attention's dtypes
        for packed in (False, True) if half else (False,):
            backend, info = bert_runner(
                "pytorch", weights, device, Precision(prec), None, max_len=384, pack_sequences=packed
            )
            backend.prepare(args.batch_size, range(32, 385, 32))
            sps = offline_style(backend, feats, args.batch_size, n)
            label = f"ours {prec} batch {args.batch_size} " + ("packed" if packed else "length-grouped")
            print(f"{label:<44} {sps:10.1f} samples/s {sps / ref_sps:6.2f}x   ({info.device.name})")
            backend.close()
    if args.latency_precision:
        latency_table(weights, feats, device, Precision(args.latency_precision), args.batch_size)


if __name__ == "__main__":
    main()
