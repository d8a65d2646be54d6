"""One GPU call: MLPerf's reference style, our fp16 and fp8 paths on the real SQuAD length mix,
each against the physical bound, and F1 of a model trained here in each precision.

1. Peak GEMM rates of this GPU: an 8192^3 fp16 matmul and an 8192^3 FP8 ``torch._scaled_mm``
   (per-tensor scales, fp16 out): the ceilings the bound uses.
2. Speed, BERT-Large-shaped generated weights, all 10,833 SQuAD v1.1 dev features: reference
   style (fp32, batch 1, padded to 384, eager: MLPerf's pytorch_SUT) on ``--reference-samples``;
   each variant (precision, Offline batch size, fused kernels or not) sorted by length, packed
   sequences, CUDA graphs for the small batches. The bound of a variant: the encoder GEMMs' FLOPs
   of all features' real tokens at its precision's peak (attention, LayerNorm, GELU at zero cost).
3. Accuracy: a BERT model (``--train-model``, default Base shape) trained from random init on
   the even paragraphs of SQuAD dev (qa_training.py, dropout 0.1), scored on each half in every
   ``--accuracy-variants`` precision; fp8 scales of each half are calibrated on 100 features of
   the other half, never the scored one. The held-out half says how far the model generalises
   (little: 5,000 questions from scratch); the trained-on half is where its logits are sharp,
   so where a precision that loses accuracy shows it. bert-99 asks fp8 F1 >= 99 % of fp16 F1.

    python bench/gpu.py --dataset-path dev-v1.1.json --vocab-path vocab.txt [--out table.md] \
        [--variants fp16-b512,fp16-b1024,fp8-exactacc-b1024,fp8-b1024] \
        [--accuracy-variants fp16,fp16-padded,fp32,bf16,fp8,fp8-exactacc] \
        [--reference-samples 300] [--train-steps 1500] [--skip-speed] [--skip-accuracy]

A variant of batch 1 (``fp8-b1``) is timed one feature at a time instead (p50 and p90 latency
of the runner, SingleStream's work without LoadGen).

Variant names:
``<precision>[-padded][-unfused][-exactacc][-erf][-gelustep][-fa2][-ildn][-g32][-tp][-tg][-ta][-r16][-serial]-b<batch>``
(Variant below).
"""

from __future__ import annotations

import argparse
import re
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, replace
from functools import partial
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np
import torch

from crowdperf.backends.fp8 import E4M3
from crowdperf.backends.gemm_config import GemmConfig
from crowdperf.precision import Precision
from crowdperf.settings import load_settings
from crowdperf.system import accelerators
from crowdperf.system.devices import DeviceSelection, UsedDevice
from crowdperf.workloads.bert.calibration import calibration_rows, unpadded_batches
from crowdperf.workloads.bert.dataset import SquadFeatures, load_features
from crowdperf.workloads.bert.fp8_model import Fp8Options
from crowdperf.workloads.bert.model_config import BertModelConfig
from crowdperf.workloads.bert.qa_training import (
    TrainConfig,
    kept_fraction,
    runner_logits,
    save_trained,
    split_by_paragraph,
    squad_scores,
    train_qa,
)
from crowdperf.workloads.bert.torch_model import BertForQuestionAnswering
from crowdperf.workloads.bert.weights import ensure_weights, generate_weights

if TYPE_CHECKING:
    from crowdperf.backends.triton_attention import AttentionConfig
from crowdperf.workloads.bert.workload import bert_runner

WIDTHS = range(32, 385, 32)


class Table:
    """Lines printed and appended to ``--out`` as they come (a killed run keeps what it had)."""

    def __init__(self, out: Path | None) -> None:
        self.out = out

    def __call__(self, line: str) -> None:
        print(line, flush=True)
        if self.out is not None:
            with self.out.open("a") as fh:
                fh.write(line + "\n")


@dataclass(frozen=True)
class Variant:
    """``<precision>[<flags>]-b<batch>``, flags in this order, ``-padded``, ``-unfused``,
    ``-exactacc``, ``-erf``, ``-gelustep``, ``-fa2``, ``-ildn``, ``-g32``, ``-serial``:
    padded batches instead of packed sequences; fp8's kernels op by op; without cuBLASLt's fast FP8
    accumulation; BERT's erf GELU instead of tanh's; GELU + quantize as a kernel of its own after
    cuBLASLt's first FFN product instead of the Triton GEMM's epilogue; torch's FlashAttention 2
    and a quantize kernel instead of the Triton attention; Inductor's LayerNorm kernels instead
    of the hand-written Triton one (``-ildn``); the GEMM epilogue's GELU in fp32 instead of
    packed fp16 (``-g32``) (each flag turns one of ``Fp8Options``' defaults off); the large
    batches' three plain products on the Triton GEMM with ``--large-plain-gemm``'s tiling
    (``-tp``), their first FFN product with ``--large-gelu-gemm``'s (``-tg``); the Triton
    attention with ``--attention``'s config (``-ta``); the residual stream in 16 bits instead of
    e4m3 (``-r16``, ``Fp8Options.residual_e4m3`` off); one caller
    instead of the backend's ``concurrency`` (``-serial``: the Offline SUT's
    worker threads, one's host work overlapping the other's GPU work)."""

    precision: Precision
    batch: int
    options: Fp8Options
    packed: bool = True
    serial: bool = False

    @classmethod
    def parse(
        cls,
        name: str,
        plain_gemm: GemmConfig | None = None,
        gelu_gemm: GemmConfig | None = None,
        attention: AttentionConfig | None = None,
    ) -> Variant:
        flag = r"-padded|-unfused|-exactacc|-erf|-gelustep|-fa2|-ildn|-g32|-tp|-tg|-ta|-r16|-serial"
        m = re.fullmatch(rf"(fp32|fp16|bf16|fp8)((?:{flag})*)-b(\d+)", name)
        if m is None:
            raise SystemExit(f"unknown variant {name!r}: want e.g. fp16-b512, fp8-b1024, fp8-exactacc-b1024")
        flags = m[2].split("-")
        options = Fp8Options(
            fused="unfused" not in flags,
            fast_accum="exactacc" not in flags,
            gelu_tanh="erf" not in flags,
            gelu_in_gemm="gelustep" not in flags,
            triton_attention="fa2" not in flags,
            triton_layernorm="ildn" not in flags,
            gelu_f16x2="g32" not in flags,
            large_plain_gemm=plain_gemm if "tp" in flags else None,
            large_gelu_gemm=gelu_gemm if "tg" in flags else None,
            attention=attention if "ta" in flags else None,
            residual_e4m3="r16" not in flags,
        )
        return cls(Precision(m[1]), int(m[3]), options, "padded" not in flags, "serial" in flags)


def _sync() -> None:
    if torch.cuda.is_available():
        torch.cuda.synchronize()


def _timed(fn, repeats: int = 20) -> float:
    for _ in range(3):
        fn()
    _sync()
    t0 = time.perf_counter()
    for _ in range(repeats):
        fn()
    _sync()
    return (time.perf_counter() - t0) / repeats


def gemm_peaks(n: int = 8192) -> dict[str, float]:
    """TFLOP/s of one n^3 product: fp16 matmul, FP8 _scaled_mm (per-tensor, fp16 out). Without
    a GPU (a dry run of this script): fp32 on the CPU for both, n = 512."""
    if not torch.cuda.is_available():
        a = torch.randn(512, 512)
        rate = 2 * 512**3 / _timed(lambda: a @ a, repeats=3) / 1e12
        return dict.fromkeys(("fp16", "bf16", "fp32", "fp8"), rate)
    a = torch.randn(n, n, device="cuda", dtype=torch.float16)
    b = torch.randn(n, n, device="cuda", dtype=torch.float16)
    a8, b8 = a.to(E4M3), b.to(E4M3).t().contiguous().t()  # second operand column-major
    one = torch.ones((), device="cuda")
    flops = 2 * n**3
    fp16 = flops / _timed(lambda: a @ b) / 1e12
    fp8 = (
        flops
        / _timed(lambda: torch._scaled_mm(a8, b8, scale_a=one, scale_b=one, out_dtype=torch.float16))
        / 1e12
    )
    return {"fp16": fp16, "bf16": fp16, "fp32": fp16, "fp8": fp8}


def gemm_flops(cfg: BertModelConfig, tokens: int) -> float:
    """The encoder's matrix products over ``tokens`` real tokens (QKV, output, FFN in and out)."""
    return 2.0 * tokens * cfg.layers * (4 * cfg.hidden * cfg.hidden + 2 * cfg.hidden * cfg.intermediate)


def reference_style(runner, feats: SquadFeatures, n: int) -> float:
    for i in range(5):
        runner.run(feats.gather([i], trim=False))
    _sync()
    t0 = time.perf_counter()
    for i in range(n):
        runner.run(feats.gather([i], trim=False))
    _sync()
    return n / (time.perf_counter() - t0)


def offline_style(runner, feats: SquadFeatures, rows: np.ndarray, batch: int, callers: int) -> float:
    """``rows`` sorted by length, in batches of ``batch`` (what the Offline SUT issues), from
    ``callers`` threads (its workers) that each gather, run and unpack a batch."""
    order = rows[np.argsort(feats.lengths[rows], kind="stable")]
    batches = [order[i : i + batch] for i in range(0, len(order), batch)]
    runner.run(feats.gather(batches[-1], align=32))  # warm: the longest shape, the shortest
    runner.run(feats.gather(batches[0], align=32))
    _sync()
    t0 = time.perf_counter()
    with ThreadPoolExecutor(callers) as pool:
        list(pool.map(lambda b: runner.run(feats.gather(b, align=32)), batches))
    _sync()
    return len(order) / (time.perf_counter() - t0)


def single_stream(runner, feats: SquadFeatures, rows: np.ndarray, n: int = 300) -> tuple[float, float]:
    """p50 and p90 ms of one feature at a time (what SingleStream asks of the runner, without
    LoadGen), over ``n`` features drawn at random."""
    pick = np.random.default_rng(0).choice(rows, size=min(n, len(rows)), replace=False)
    for r in pick[:20]:
        runner.run(feats.gather([r]))
    times = []
    for r in pick:
        t0 = time.perf_counter()
        runner.run(feats.gather([r]))
        times.append(time.perf_counter() - t0)
    return float(np.percentile(times, 50) * 1e3), float(np.percentile(times, 90) * 1e3)


GROUPS = [  # first match wins, on the lower-cased kernel name (bench/gpu_profile.py's, + Triton)
    ("attention", re.compile(r"fmha|attention|flash|softmax")),
    ("gemm", re.compile(r"gemm|cutlass|sm90|matmul|xmma|nvjet|cublas")),
    ("triton (fused)", re.compile(r"triton")),
    ("layernorm", re.compile(r"layer_norm|layernorm")),
    ("gelu", re.compile(r"gelu")),
    ("copy", re.compile(r"copy|memcpy|memset|cat|index")),
    ("elementwise", re.compile(r"elementwise|vectorized|reduce|add|mul|clamp")),
]


def _first_line(exc: Exception) -> str:
    return f"{type(exc).__name__}: {str(exc).splitlines()[0][:200]}"


def busy_profile(fn, name: str) -> None:
    """Wall time of ``fn`` against the union of its GPU kernels' intervals (printed): how much
    of the wall the GPU sat idle (host work not hidden, syncs), and the largest gaps."""
    _sync()
    with torch.profiler.profile(activities=[torch.profiler.ProfilerActivity.CUDA]) as prof:
        t0 = time.perf_counter()
        fn()
        _sync()
        wall_us = (time.perf_counter() - t0) * 1e6
    spans = sorted(
        (e.time_range.start, e.time_range.end)
        for e in prof.events()
        if e.device_type == torch.autograd.DeviceType.CUDA and e.time_range.end > e.time_range.start
    )
    if not spans:
        print(f"  busy {name}: no kernels seen")
        return
    busy, gaps, (lo, hi) = 0.0, [], spans[0]
    for a, b in spans[1:]:
        if a > hi:
            busy += hi - lo
            gaps.append(a - hi)
            lo, hi = a, b
        else:
            hi = max(hi, b)
    busy += hi - lo
    span = spans[-1][1] - spans[0][0]
    big = sorted(gaps, reverse=True)[:8]
    print(
        f"  busy {name}: wall {wall_us / 1e3:.1f} ms (profiled), first-to-last kernel {span / 1e3:.1f} ms, "
        f"GPU busy {busy / 1e3:.1f} ms ({busy / span:.1%} of that); {len(gaps)} gaps, "
        f"{sum(g for g in gaps if g > 50) / 1e3:.1f} ms in gaps > 50 us; largest (us): "
        + ", ".join(f"{g:.0f}" for g in big)
    )


def kernel_profile(runner, feats: SquadFeatures, rows: np.ndarray, batch: int, name: str) -> None:
    """GPU kernel time of one batch of median-length features, grouped (printed, not tabled)."""
    order = rows[np.argsort(feats.lengths[rows], kind="stable")]
    mid = len(order) // 2
    chunk = feats.gather(order[mid : mid + batch], align=32)
    runner.run(chunk)
    with torch.profiler.profile(activities=[torch.profiler.ProfilerActivity.CUDA]) as prof:
        runner.run(chunk)
        _sync()
    by_group: dict[str, float] = {}
    for e in prof.key_averages():
        us = getattr(e, "device_time_total", 0.0) or 0.0
        if us <= 0 or e.key.startswith(("ProfilerStep", "aten::")):
            continue
        group = next((g for g, rx in GROUPS if rx.search(e.key.lower())), "other")
        by_group[group] = by_group.get(group, 0.0) + us
    total = sum(by_group.values())
    print(f"  kernel time of one {name} batch ({total / 1e3:.1f} ms):")
    for group, us in sorted(by_group.items(), key=lambda kv: -kv[1]):
        print(f"    {group:<16} {us / 1e3:8.2f} ms  {us / total:6.1%}")
    if batch > 1:
        _print_mean_batch(feats, rows, order[mid : mid + batch], by_group, batch)
    top = sorted(prof.key_averages(), key=lambda e: -(getattr(e, "device_time_total", 0.0) or 0.0))
    for e in [e for e in top if not e.key.startswith("aten::")][:10]:
        print(f"    top: {e.key[:100]:<100} {e.device_time_total / 1e3:8.2f} ms")


def _print_mean_batch(feats: SquadFeatures, rows: np.ndarray, picked_rows: np.ndarray,
                      by_group: dict[str, float], batch: int) -> None:  # fmt: skip
    """The profiled batch's kernel time scaled to a batch of the run's mean lengths (printed)."""
    # The median batch is not the run's average one: attention grows with sum(L^2), the rest with
    # the tokens, and SQuAD's lengths are skewed (mean L^2 36,554 against 29,373 in the median
    # batch of 1,024): scaled to a batch of mean lengths, what a whole run costs a batch.
    lengths = feats.lengths[rows].astype(np.float64)
    picked = feats.lengths[picked_rows].astype(np.float64)
    by_tokens = lengths.mean() / picked.mean()
    by_squares = (lengths**2).mean() / (picked**2).mean()
    mean_us = sum(us * (by_squares if g == "attention" else by_tokens) for g, us in by_group.items())
    attention_ms = by_group.get("attention", 0.0) * by_squares / 1e3
    print(
        f"    scaled to a batch of the run's mean lengths (tokens x{by_tokens:.3f}, attention "
        f"x{by_squares:.3f}): {mean_us / 1e3:.1f} ms, attention {attention_ms:.2f} ms; "
        f"{batch / (mean_us / 1e6):,.0f} samples/s if the GPU never idled"
    )


def speed(args, feats: SquadFeatures, device: UsedDevice, peaks: dict[str, float], log: Table) -> None:
    settings = load_settings()
    cfg = getattr(BertModelConfig, args.model)(feats.vocab_size)
    weights = ensure_weights(settings.models_dir, cfg, seed=0)
    rows = np.arange(args.limit or feats.count)
    tokens = int(feats.lengths[rows].sum())
    calibration = list(unpadded_batches(feats, calibration_rows(feats)))
    ref, _ = bert_runner("pytorch", weights, device, Precision.FP32, None, max_len=384, cuda_graphs=False)
    ref_sps = reference_style(ref, feats, args.reference_samples)
    ref.close()
    log(
        f"\n## Speed: BERT-{args.model} shape (generated weights), {len(rows)} features, "
        f"{tokens:,} real tokens"
    )
    log("| path | samples/s | x reference | bound (samples/s) | of bound | setup s |")
    log("|---|---|---|---|---|---|")
    log(f"| reference style: fp32, batch 1, padded 384, eager ({args.reference_samples} samples) "
        f"| {ref_sps:,.1f} | 1.0x | | | |")  # fmt: skip
    for name in args.variants.split(","):
        v = Variant.parse(name, args.large_plain_gemm, args.large_gelu_gemm, args.attention_config)
        bound = len(rows) / (gemm_flops(cfg, tokens) / (peaks[v.precision.value] * 1e12))
        try:
            t0 = time.perf_counter()
            runner, info = bert_runner(
                "pytorch", weights, device, v.precision, None, max_len=384,
                calibration=calibration, fp8=v.options, pack_sequences=v.packed,
            )  # fmt: skip
            runner.prepare(v.batch, WIDTHS)
            setup = time.perf_counter() - t0
            if v.batch == 1:  # SingleStream style: latency, not throughput
                p50, p90 = single_stream(runner, feats, rows)
                if name in args.profile.split(","):
                    kernel_profile(runner, feats, rows, 1, name)
                    busy_profile(partial(single_stream, runner, feats, rows, n=50), name)
                runner.close()
                log(f"| {name} ({runner.description}), one feature at a time | p50 {p50:.3f} ms, "
                    f"p90 {p90:.3f} ms | | | | {setup:.0f} |")  # fmt: skip
                continue
            callers = 1 if v.serial else runner.backend.concurrency
            sps = max(offline_style(runner, feats, rows, v.batch, callers) for _ in range(2))
            if name in args.profile.split(","):
                kernel_profile(runner, feats, rows, v.batch, name)
                busy_profile(partial(offline_style, runner, feats, rows, v.batch, callers), name)
            runner.close()
        except Exception as exc:  # one variant's failure must not cost the others
            log(f"| {name} | FAILED: {_first_line(exc)} | | | | |")
            continue
        log(f"| {name} ({runner.description}) | {sps:,.0f} | {sps / ref_sps:,.1f}x | {bound:,.0f} "
            f"| {sps / bound:.0%} | {setup:.0f} |")  # fmt: skip
        del info
        torch.cuda.empty_cache()


def accuracy(args, feats: SquadFeatures, device: UsedDevice, log: Table) -> None:
    split = split_by_paragraph(feats)
    if args.limit:  # a dry run: the first questions of the evaluation half
        keep = set(split.eval_examples[: args.limit // 2])
        eval_rows = split.eval_rows[np.isin(feats.raw.example_index[split.eval_rows], list(keep))]
        split = replace(split, eval_rows=eval_rows, eval_examples=tuple(sorted(keep)))
    cfg = getattr(BertModelConfig, args.train_model)(feats.vocab_size)
    log(f"\n## Accuracy: BERT-{args.train_model} shape trained here on {len(split.train_rows)} features "
        f"(even paragraphs), scored on {len(split.eval_examples)} questions (odd paragraphs)")  # fmt: skip
    torch.manual_seed(0)
    model = BertForQuestionAnswering(cfg)
    model.load_state_dict({k: torch.from_numpy(v) for k, v in generate_weights(cfg, seed=0).items()})
    model = model.to("cpu" if device.index is None else f"cuda:{device.index}")
    t0 = time.perf_counter()
    steps = args.train_steps
    tc = TrainConfig(
        steps=steps, batch=32, lr=args.train_lr, warmup=steps // 10, max_seconds=args.train_seconds
    )
    losses = train_qa(model, feats, split.train_rows, tc, log=print)
    log(
        f"trained {steps} steps x 32 in {time.perf_counter() - t0:.0f} s; "
        f"loss {losses[0]:.2f} -> {losses[-1]:.2f}"
    )
    path = save_trained(model, cfg, load_settings().models_dir / f"qa-trained-{cfg.key}.npz")
    del model
    # each half is scored with scales calibrated on 100 features of the other half
    trained_rows = split.train_rows[: args.limit or None]  # a dry run: the first ones
    trained_rows = (
        trained_rows[
            np.isin(
                feats.raw.example_index[trained_rows], feats.raw.example_index[trained_rows[-1]], invert=True
            )
        ]
        if args.limit
        else trained_rows
    )
    halves = (
        ("held out (odd)", split.eval_rows, split.eval_examples, split.train_rows),
        ("trained on (even)", trained_rows, _examples_of(feats, trained_rows), split.eval_rows),
    )
    log("| precision | scored half | EM | F1 | F1 / fp16 F1 | same best start as fp16 |")
    log("|---|---|---|---|---|---|")
    for half, rows, examples, calibrate_on in halves:
        calib_rows = np.random.default_rng(0).choice(
            calibrate_on, size=min(100, len(calibrate_on)), replace=False
        )
        calibration = list(unpadded_batches(feats, calib_rows))
        base_f1, base_starts = None, None
        for name in args.accuracy_variants.split(","):
            gemms = (args.large_plain_gemm, args.large_gelu_gemm)
            v = Variant.parse(name + "-b256", *gemms, args.attention_config)
            try:
                runner, _ = bert_runner(
                    "pytorch", path, device, v.precision, None, max_len=384,
                    calibration=calibration, fp8=v.options, pack_sequences=v.packed,
                )  # fmt: skip
                logits = runner_logits(runner, feats, rows, batch=256)
                runner.close()
            except Exception as exc:
                log(f"| {name} | {half} | FAILED: {_first_line(exc)} | | | |")
                continue
            scores = squad_scores(feats, logits, examples)
            starts = np.array([logits[int(r)][:, 0].argmax() for r in rows])
            if base_f1 is None:
                base_f1, base_starts = scores.f1, starts
            same = float((starts == base_starts).mean())
            kept = kept_fraction(scores.f1, base_f1)
            log(
                f"| {name} ({runner.description}) | {half} | {scores.exact_match:.2f} | {scores.f1:.2f} "
                f"| {kept:.2%} | {same:.1%} |"
            )


def _examples_of(feats: SquadFeatures, rows: np.ndarray) -> tuple[int, ...]:
    return tuple(int(i) for i in np.unique(feats.raw.example_index[rows]))


def _attention(args: argparse.Namespace) -> AttentionConfig | None:
    """``--attention``'s config where a variant asks for it (``-ta``), else None: Triton's
    kernels are imported only then."""
    wanted = f"{args.variants},{args.accuracy_variants}".split(",")
    if not any("ta" in name.split("-") for name in wanted):
        return None
    from attention_kernels import parse_variant

    return parse_variant(args.attention)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--dataset-path", type=Path, required=True)
    ap.add_argument("--vocab-path", type=Path, required=True)
    ap.add_argument("--device", default="cuda:0")
    ap.add_argument("--model", choices=["tiny", "base", "large"], default="large", help="shape for speed")
    ap.add_argument("--variants", default="fp16-b512,fp16-b1024,fp8-exactacc-b1024,fp8-b1024")
    ap.add_argument("--reference-samples", type=int, default=300)
    ap.add_argument("--train-model", choices=["tiny", "base", "large"], default="base")
    ap.add_argument("--train-steps", type=int, default=1500)
    ap.add_argument("--accuracy-variants", default="fp16,fp16-padded,fp32,bf16,fp8,fp8-exactacc")
    ap.add_argument("--train-lr", type=float, default=1e-4)
    ap.add_argument("--train-seconds", type=float, default=None, help="stop training early")
    ap.add_argument("--profile", default="fp8-b1024", help="variants to profile one batch of")
    ws = "128x256x128s3w4-p1-ws"
    ap.add_argument("--large-plain-gemm", type=GemmConfig.parse, default=ws, help="-tp's tiling")
    ap.add_argument("--large-gelu-gemm", type=GemmConfig.parse, default=ws, help="-tg's tiling")
    ap.add_argument(
        "--attention", default="worklist-m128-n64-w4-s2", help="-ta's (attention_kernels.py's names)"
    )
    ap.add_argument("--limit", type=int, default=0, help="dry run: only this many features")
    ap.add_argument("--skip-speed", action="store_true")
    ap.add_argument("--skip-accuracy", action="store_true")
    ap.add_argument("--out", type=Path, default=None, help="also append the tables here")
    args = ap.parse_args()
    args.attention_config = _attention(args)  # parsed once
    log = Table(args.out)
    feats = load_features(args.dataset_path, args.vocab_path, load_settings())
    device = accelerators.resolve(DeviceSelection.parse(args.device))[0]
    peaks = gemm_peaks()
    name = torch.cuda.get_device_name(0) if torch.cuda.is_available() else "cpu (dry run)"
    log(f"# {name}, torch {torch.__version__}: GEMM 8192^3 fp16 "
        f"{peaks['fp16']:.0f} TFLOP/s, FP8 _scaled_mm {peaks['fp8']:.0f} TFLOP/s")  # fmt: skip
    if not args.skip_speed:
        speed(args, feats, device, peaks, log)
    if not args.skip_accuracy:
        accuracy(args, feats, device, log)


if __name__ == "__main__":
    main()
