"""CPU throughput: MLPerf reference-style inference vs crowdperf's Offline style, same run.

Reference style (language/bert/onnxruntime_SUT.py, pytorch_SUT.py): fp32, batch 1, every feature
padded to 384. Ours: features sorted by real length, batched, each batch trimmed to its longest
real length, intra-op threads = physical cores. Models are random weights of the tiny, base and
large (MLPerf BERT-Large) shapes; feature lengths are the real SQuAD v1.1 dev distribution
(max_seq_length 384, max_query_length 64, doc_stride 128 as in MLPerf's create_squad_data.py).

    .venv/bin/python bench/cpu_backends.py --sizes tiny,base,large --samples 24

Models go into the crowdperf models cache (CROWDPERF_CACHE), never into the repository.
"""

from __future__ import annotations

import argparse
import json
import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from crowdperf.backends.base import cpu_device
from crowdperf.precision import Precision
from crowdperf.settings import load_settings
from crowdperf.workloads.bert.dataset import FeatureBatch
from crowdperf.workloads.bert.model_config import BertModelConfig
from crowdperf.workloads.bert.model_files import generated_model_file
from crowdperf.workloads.bert.workload import bert_runner

# dev-v1.1.json + vocab.txt beside the checkout; override with --squad
SQUAD = Path(__file__).resolve().parents[2] / "shared" / "data" / "squad"
MAX_SEQ, MAX_QUERY, DOC_STRIDE = 384, 64, 128


def squad_feature_lengths(dev: Path, vocab: Path) -> np.ndarray:
    """Real lengths of [CLS] q [SEP] ctx-window [SEP] features, windows as MLPerf's tokenizer makes."""
    from tokenizers import BertWordPieceTokenizer

    tok = BertWordPieceTokenizer(str(vocab), lowercase=True)
    lengths: list[int] = []
    for article in json.loads(dev.read_text())["data"]:
        for para in article["paragraphs"]:
            ctx = len(tok.encode(para["context"], add_special_tokens=False).ids)
            for qa in para["qas"]:
                q = min(MAX_QUERY, len(tok.encode(qa["question"], add_special_tokens=False).ids))
                room = MAX_SEQ - q - 3
                start = 0
                while True:
                    n = min(room, ctx - start)
                    lengths.append(q + n + 3)
                    if start + n >= ctx:
                        break
                    start += min(n, DOC_STRIDE)
    return np.array(lengths)


def make_features(lengths: np.ndarray, vocab: int, seed: int = 0) -> FeatureBatch:
    rng = np.random.default_rng(seed)
    ids = np.zeros((len(lengths), MAX_SEQ), np.int64)
    mask, seg = np.zeros_like(ids), np.zeros_like(ids)
    for row, n in enumerate(lengths):
        ids[row, :n] = rng.integers(1000, vocab, n)
        mask[row, :n] = 1
        seg[row, n // 4 : n] = 1
    return FeatureBatch(ids, mask, seg)


def _rows(f: FeatureBatch, idx: np.ndarray, seq: int) -> FeatureBatch:
    return FeatureBatch(f.input_ids[idx, :seq], f.input_mask[idx, :seq], f.segment_ids[idx, :seq])


@dataclass(frozen=True)
class Result:
    size: str
    backend: str
    style: str
    samples: int
    seconds: float

    @property
    def rate(self) -> float:
        return self.samples / self.seconds


def run_style(backend, feats: FeatureBatch, lengths: np.ndarray, style: str, batch: int) -> float:
    """Seconds to infer every feature once in the given style (after one warm-up call)."""
    n = len(lengths)
    if style == "reference":
        plan = [(np.array([i]), MAX_SEQ) for i in range(n)]
    else:
        order = np.argsort(lengths, kind="stable")
        plan = [(order[i : i + batch], int(lengths[order[i : i + batch]].max())) for i in range(0, n, batch)]
    backend.run(_rows(feats, plan[0][0], plan[0][1]))  # warm-up (graph optimisation, allocators)
    t0 = time.perf_counter()
    for idx, seq in plan:
        backend.run(_rows(feats, idx, seq))
    return time.perf_counter() - t0


def bench_size(
    size: str, samples: int, batch: int, threads: int | None, all_lengths: np.ndarray
) -> list[Result]:
    cfg = {
        "tiny": BertModelConfig.tiny(30522),
        "base": BertModelConfig.base(),
        "large": BertModelConfig.large(),
    }[size]
    t0 = time.perf_counter()
    settings = load_settings()
    onnx_path = generated_model_file("onnxruntime", cfg, settings)
    int8_path = generated_model_file("onnxruntime", cfg, settings, int8=True)  # quantize_dynamic
    weights_path = generated_model_file("pytorch", cfg, settings)
    print(f"[{size}] model ready in {time.perf_counter() - t0:.1f}s at {onnx_path.parent}", flush=True)
    lengths = np.random.default_rng(1).choice(all_lengths, samples, replace=False)
    feats = make_features(lengths, cfg.vocab_size)
    print(f"[{size}] {samples} features, mean real length {lengths.mean():.0f}", flush=True)
    results = []
    runs = [
        ("onnxruntime", onnx_path, Precision.FP32),
        ("onnxruntime", int8_path, Precision.INT8),
        ("pytorch", weights_path, Precision.FP32),
        ("pytorch", weights_path, Precision.BF16),
    ]
    for name, path, precision in runs:
        backend, _ = bert_runner(name, path, cpu_device(), precision, threads, max_len=384)
        styles = ["reference", "offline"] if precision == Precision.FP32 else ["offline"]
        for style in styles:
            secs = run_style(backend, feats, lengths, style, batch)
            r = Result(size, f"{name}-{precision.value}", style, samples, secs)
            print(f"[{size}] {r.backend:16s} {style:9s} {r.rate:8.2f} samples/s ({secs:.1f}s)", flush=True)
            results.append(r)
        backend.close()
    return results


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--sizes", default="tiny,base,large")
    ap.add_argument(
        "--samples", type=int, default=0, help="features per size (0: tiny 512, base 64, large 24)"
    )
    ap.add_argument("--batch", type=int, default=8)
    ap.add_argument("--threads", type=int, default=None)
    ap.add_argument("--squad", type=Path, default=SQUAD, help="folder with dev-v1.1.json and vocab.txt")
    args = ap.parse_args()
    all_lengths = squad_feature_lengths(args.squad / "dev-v1.1.json", args.squad / "vocab.txt")
    print(
        f"SQuAD dev: {len(all_lengths)} features, mean length {all_lengths.mean():.1f}, "
        f"{(all_lengths == MAX_SEQ).mean():.1%} full 384",
        flush=True,
    )
    default_n = {"tiny": 512, "base": 64, "large": 24}
    results = []
    for size in args.sizes.split(","):
        results += bench_size(size, args.samples or default_n[size], args.batch, args.threads, all_lengths)
    print("\nsize   backend          reference  offline  ratio")
    for r in results:
        if r.style != "offline":
            continue
        ref = next(
            (
                x
                for x in results
                if x.size == r.size
                and x.style == "reference"
                and x.backend.split("-")[0] == r.backend.split("-")[0]
            ),
            None,
        )
        ref_rate = f"{ref.rate:9.2f}" if ref else "        -"
        ratio = f"{r.rate / ref.rate:5.1f}x" if ref else "    -"
        print(f"{r.size:6s} {r.backend:16s} {ref_rate}  {r.rate:7.2f}  {ratio}")


if __name__ == "__main__":
    main()
