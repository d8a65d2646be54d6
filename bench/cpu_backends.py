"""CPU throughput: MLPerf reference-style inference vs crowdperf's Offline style, same run.

Reference style (language/bert/onnxruntime_SUT.py, pytorch_SUT.py): fp32, batch 1, every feature
padded to 384. Ours: batches as ``crowdperf run``'s Offline SUT makes them (all features sorted by
real length, cut into batches, each padded to its longest real length rounded up to 8),
intra-op threads = physical cores. Models are random weights of the tiny, base and large (MLPerf
BERT-Large) shapes; feature lengths are the real SQuAD v1.1 dev distribution (max_seq_length 384,
max_query_length 64, doc_stride 128 as in MLPerf's create_squad_data.py).

A few features stand for the whole run: ``samples / batch`` of the real run's batches, taken at
evenly spaced places of its length order, so their mean length and padding are the full run's
(24 random features sorted and cut into batches of 8 would pad 27 % more tokens than the run does).

    .venv/bin/python bench/cpu_backends.py --sizes tiny,base,large --samples 24

Models go into the crowdperf models cache (CROWDPERF_CACHE), never into the repository.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
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
from crowdperf.workloads.bert.workload import CPU_WIDTH_ALIGN, bert_runner

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


def run_batches_sample(all_lengths: np.ndarray, samples: int, batch: int) -> np.ndarray:
    """Lengths of ``samples // batch`` whole batches of the real Offline run (every feature sorted
    by length, cut into batches of ``batch``), the batches evenly spaced over that order; sorted."""
    ordered = np.sort(all_lengths, kind="stable")
    count = max(1, samples // batch)
    starts = [min(len(ordered) - batch, max(0, int((i + 0.5) * len(ordered) / count) - batch // 2))
              for i in range(count)]  # fmt: skip
    return np.concatenate([ordered[s : s + batch] for s in starts])


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
    round: int
    samples: int
    seconds: float

    @property
    def rate(self) -> float:
        return self.samples / self.seconds


def _width(lengths: np.ndarray) -> int:
    """A batch's padded width as the workload's sample source makes it on the CPU."""
    return int(-(-lengths.max() // CPU_WIDTH_ALIGN) * CPU_WIDTH_ALIGN)


def run_style(backend, feats: FeatureBatch, lengths: np.ndarray, style: str, batch: int) -> float:
    """Seconds to infer every feature once in the given style (after one warm-up call)."""
    n = len(lengths)
    if style == "reference":
        plan = [(np.array([i]), MAX_SEQ) for i in range(n)]
    else:
        order = np.argsort(lengths, kind="stable")
        plan = [(order[i : i + batch], _width(lengths[order[i : i + batch]])) for i in range(0, n, batch)]
    backend.run(_rows(feats, plan[0][0], plan[0][1]))  # warm-up (graph optimisation, allocators)
    t0 = time.perf_counter()
    for idx, seq in plan:
        backend.run(_rows(feats, idx, seq))
    return time.perf_counter() - t0


@dataclass(frozen=True)
class SizeRun:
    size: str
    samples: int
    reference_samples: int
    batch: int
    rounds: int
    threads: int | None


def bench_size(run: SizeRun, all_lengths: np.ndarray) -> list[Result]:
    """Every path, ``rounds`` times in turn (reference style first in each round): on a shared,
    noisy machine a path's ratio compares it with the reference measured next to it."""
    size, batch = run.size, run.batch
    cfg = {
        "tiny": BertModelConfig.tiny(30522),
        "base": BertModelConfig.base(),
        "large": BertModelConfig.large(),
    }[size]
    t0 = time.perf_counter()
    settings = load_settings()
    onnx_path = generated_model_file("onnxruntime", cfg, settings)
    int8_path = generated_model_file("onnxruntime", cfg, settings, int8=True)  # --precision int8's graph
    weights_path = generated_model_file("pytorch", cfg, settings)
    print(f"[{size}] model ready in {time.perf_counter() - t0:.1f}s at {onnx_path.parent}", flush=True)
    lengths = run_batches_sample(all_lengths, run.samples, batch)
    feats = make_features(lengths, cfg.vocab_size)
    chunks = [lengths[i : i + batch] for i in range(0, len(lengths), batch)]
    padding = sum(_width(c) * len(c) for c in chunks) / lengths.sum() - 1
    print(
        f"[{size}] {len(lengths)} features ({len(chunks)} batches of {batch} from the full run's length "
        f"order), mean real length {lengths.mean():.0f}, {padding:.1%} padding; reference style on "
        f"{run.reference_samples} of them",
        flush=True,
    )
    paths = [
        ("onnxruntime", onnx_path, Precision.FP32),
        ("onnxruntime", int8_path, Precision.INT8),
        ("pytorch", weights_path, Precision.FP32),
        ("pytorch", weights_path, Precision.BF16),
    ]
    loaded = [
        (f"{name}-{precision.value}", precision, bert_runner(name, path, cpu_device(), precision,
                                                             run.threads, max_len=MAX_SEQ)[0])
        for name, path, precision in paths
    ]  # fmt: skip
    results = []
    for rnd in range(run.rounds):
        for label, precision, backend in loaded:
            styles = ["reference", "offline"] if precision == Precision.FP32 else ["offline"]
            for style in styles:
                n = run.reference_samples if style == "reference" else len(lengths)
                secs = run_style(backend, feats, lengths[:n], style, batch)
                r = Result(size, label, style, rnd, n, secs)
                print(
                    f"[{size}] round {rnd} load {os.getloadavg()[0]:.2f} {label:16s} {style:9s} "
                    f"{r.rate:8.2f} samples/s ({secs:.1f}s)",
                    flush=True,
                )
                results.append(r)
    for _, _, backend in loaded:
        backend.close()
    return results


def ratio_table(results: list[Result]) -> list[str]:
    """One line per size and path: median rates, and the median over rounds of the path's rate
    over its backend's fp32 reference style in the same round."""
    lines = ["size   backend          reference  offline  ratio (median; each round)"]
    for size, label in dict.fromkeys((r.size, r.backend) for r in results if r.style == "offline"):
        ours = {r.round: r.rate for r in results if (r.size, r.backend, r.style) == (size, label, "offline")}
        family = label.split("-")[0]
        refs = {
            r.round: r.rate
            for r in results
            if r.size == size and r.style == "reference" and r.backend.split("-")[0] == family
        }
        ratios = [ours[k] / refs[k] for k in sorted(ours) if k in refs]
        each = ", ".join(f"{x:.1f}" for x in ratios)
        lines.append(
            f"{size:6s} {label:16s} {statistics.median(refs.values()):9.2f}  "
            f"{statistics.median(ours.values()):7.2f}  {statistics.median(ratios):5.1f}x ({each})"
        )
    return lines


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--sizes", default="tiny,base,large")
    ap.add_argument(
        "--samples", type=int, default=0, help="features per size (0: tiny 512, base 64, large 24)"
    )
    ap.add_argument(
        "--reference-samples", type=int, default=0, help="features the reference style runs (0: a third)"
    )
    ap.add_argument("--batch", type=int, default=4, help="Offline batch size (4: docs/bert-model.md)")
    ap.add_argument("--rounds", type=int, default=3, help="times each path runs, in turn with the others")
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
        samples = args.samples or default_n[size]
        reference = min(samples, args.reference_samples or max(1, samples // 3))
        results += bench_size(
            SizeRun(size, samples, reference, args.batch, args.rounds, args.threads), all_lengths
        )
    print()
    print("\n".join(ratio_table(results)))


if __name__ == "__main__":
    main()
