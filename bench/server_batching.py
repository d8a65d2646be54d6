"""Server dynamic batching on a real model: one padded batch vs length-split batches vs two SUT
workers vs packed sequences (no padding), same run, same model, same QPS sweep.

For each variant, the highest target QPS (from ``--qps``) whose LoadGen Server test keeps p99 <=
130 ms (BERT's bound, mlperf.conf) and completes >= 95 % of the scheduled rate; printed with the
ratio to the first variant. Real SQuAD features, BERT-Large-shaped random weights, pytorch.

    python bench/server_batching.py --dataset-path dev-v1.1.json --vocab-path vocab.txt \\
        [--device cuda:0] [--precision fp16] [--batch-size 64] [--qps 1500,1800,2100,2400] [--seconds 8]
"""

from __future__ import annotations

import argparse
import tempfile
from pathlib import Path

from crowdperf.mlperf.rounds import Scenario
from crowdperf.precision import Precision
from crowdperf.settings import load_settings
from crowdperf.system import accelerators
from crowdperf.system.devices import DeviceSelection
from crowdperf.workloads.bert.dataset import load_features
from crowdperf.workloads.bert.model_config import BertModelConfig
from crowdperf.workloads.bert.rules import SERVER_LATENCY_NS
from crowdperf.workloads.bert.weights import ensure_weights
from crowdperf.workloads.bert.workload import OpenBertWorkload, bert_runner
from lg_bench import run_test

VARIANTS = {  # name: (packed sequences, split by length, SUT workers)
    "one padded batch": (False, False, 1),
    "split by length": (False, True, 1),
    "split, 2 workers": (False, True, 2),
    "packed sequences": (True, False, 1),
}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--dataset-path", type=Path, required=True)
    ap.add_argument("--vocab-path", type=Path, required=True)
    ap.add_argument("--model", choices=["tiny", "base", "large"], default="large")
    ap.add_argument("--device", default="cuda:0", help="cpu or cuda:N (one device)")
    ap.add_argument("--precision", default="fp16")
    ap.add_argument("--batch-size", type=int, default=64)
    ap.add_argument("--qps", default="1500,1800,2100,2400,2700")
    ap.add_argument("--seconds", type=float, default=8.0)
    ap.add_argument("--variants", default=",".join(VARIANTS), help="comma-separated names from VARIANTS")
    args = ap.parse_args()
    settings = load_settings()
    feats = load_features(args.dataset_path, args.vocab_path, settings)
    cfg = getattr(BertModelConfig, args.model)(feats.vocab_size)
    weights = ensure_weights(settings.models_dir, cfg)
    work = Path(tempfile.mkdtemp(prefix="crowdperf-server-"))
    best: dict[str, float] = {}
    for name in args.variants.split(","):
        packed, split, workers = VARIANTS[name]
        if packed and args.precision not in ("fp16", "bf16"):
            continue
        device = accelerators.resolve(DeviceSelection.parse(args.device))[0]
        runner, info = bert_runner(
            "pytorch", weights, device, Precision(args.precision), None, max_len=384, pack_sequences=packed
        )
        opened = OpenBertWorkload("bench", feats, [runner], [info], {})
        opened.warmup(args.batch_size)
        if not split:
            opened.source.call_overhead_tokens = float("inf")
        print(f"{name}: {info.execution_provider} on {info.device.name}, batch {args.batch_size}, "
              f"split threshold {opened.source.call_overhead_tokens:,.0f} tokens")  # fmt: skip
        best[name] = 0.0
        for qps in (float(q) for q in args.qps.split(",")):
            log = run_test(
                Scenario.SERVER, opened.source, work / f"{name}-{qps:.0f}".replace(" ", "_").replace(",", ""),
                batch=args.batch_size, seconds=args.seconds, workers=workers,
                server_target_qps=qps, server_target_latency_ns=SERVER_LATENCY_NS,
            )  # fmt: skip
            p99 = float(log["result_99.00_percentile_latency_ns"]) / 1e6
            done = float(log["result_completed_samples_per_sec"])
            ok = p99 <= SERVER_LATENCY_NS / 1e6 and done >= 0.95 * qps
            print(f"  {name:<18} target {qps:>7,.0f}: completed {done:>7,.0f}/s  p99 {p99:8.1f} ms  "
                  f"{'ok' if ok else 'FAIL'}")  # fmt: skip
            if not ok:
                break
            best[name] = qps
        opened.close()
    base = next(iter(best.values())) or 1.0
    for name, qps in best.items():
        print(f"{name:<18} {qps:>7,.0f} QPS with p99 <= 130 ms   {qps / base:5.2f}x")


if __name__ == "__main__":
    main()
