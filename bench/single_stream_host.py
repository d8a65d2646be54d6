"""Host (CPU) microseconds of one SingleStream query, stage by stage, the model's compute left out.

1. Host stages of one query, numpy only, on real SQuAD features drawn at random: what a query did
   before the sample source staged samples at LoadGen's (untimed) load ("built": gather, pack the
   packed runner's inputs into the sample's token bucket) and what it does now ("staged": a dict
   lookup). The steps both share are timed once: the graph cache's host copy (signature, bytes
   into one pinned block: a plain array here), fp16 -> fp32 of the logits, the response rows
   (unpack to the batch's width, pad to 384), QuerySampleResponse.
2. SingleStream through the real LoadGen, ``BatchingSut`` and ``SquadSampleSource`` over every
   feature, with a real runner (``--device cpu``: the pytorch backend on the tiny model, padded;
   ``cuda:N``: the packed runner on ``--model`` in ``--precision``, graphs captured as the
   workload's warm-up does). Per query: LoadGen's latency, the backend call's own time (timed
   around ``backend.run``), and latency minus backend call = the host path (the difference of
   the percentiles, a close estimate). Built per query vs staged at load, in the same run.
3. On a GPU only: the torch host operations one CUDA ``run`` makes, one at a time.

Timings on a shared machine are noisy: compare the ratios of one run, not numbers across runs.

    .venv/bin/python bench/single_stream_host.py --dataset-path dev-v1.1.json --vocab-path vocab.txt
    python bench/single_stream_host.py ... --device cuda:0 --precision fp8 --model large
"""

from __future__ import annotations

import argparse
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import mlperf_loadgen as lg
import numpy as np

from crowdperf.backends.cuda_graphs import signature
from crowdperf.backends.pytorch_backend import PyTorchBackend
from crowdperf.mlperf.logs import parse_detail_log
from crowdperf.mlperf.rounds import Scenario, default_round
from crowdperf.mlperf.sut import BatchingSut
from crowdperf.precision import Precision
from crowdperf.settings import load_settings
from crowdperf.system import accelerators
from crowdperf.system.devices import DeviceKind, DeviceSelection
from crowdperf.workloads.bert.calibration import calibration_rows, unpadded_batches
from crowdperf.workloads.bert.dataset import SquadFeatures, load_features
from crowdperf.workloads.bert.model_config import BertModelConfig
from crowdperf.workloads.bert.packed import PackedTorchRunner, unpack
from crowdperf.workloads.bert.runners import BertRunner, RunnerInputs, warmup_widths
from crowdperf.workloads.bert.sample_source import SquadSampleSource
from crowdperf.workloads.bert.weights import ensure_weights
from crowdperf.workloads.bert.workload import CPU_WIDTH_ALIGN, GPU_WIDTH_ALIGN, bert_runner

Stat = tuple[float, float]  # p50, p90 in microseconds


def stat(ns: list[int] | np.ndarray) -> Stat:
    a = np.asarray(ns, dtype=np.float64) / 1e3
    return float(np.percentile(a, 50)), float(np.percentile(a, 90))


def each(items: list[Any], fn: Callable[[Any], object]) -> Stat:
    """p50/p90 microseconds of ``fn(item)`` over ``items`` (after a warm pass)."""
    for item in items[:50]:
        fn(item)
    times = []
    clock = time.perf_counter_ns
    for item in items:
        t0 = clock()
        fn(item)
        times.append(clock() - t0)
    return stat(times)


def row(stage: str, before: Stat | None, after: Stat | None) -> str:
    def cell(s: Stat | None) -> str:
        return "" if s is None else f"{s[0]:8.1f} / {s[1]:8.1f}"

    ratio = f"{after[0] / before[0]:.2f}x" if before and after and before[0] else ""
    return f"| {stage} | {cell(before)} | {cell(after)} | {ratio} |"


def main_response(logits: np.ndarray, inputs: RunnerInputs, feats: SquadFeatures) -> np.ndarray:
    """The response of one query: unpack to the batch's width, pad to 384, one row per sample."""
    assert inputs.real is not None
    return feats.pad_logits(unpack(logits, inputs.real)).reshape(inputs.rows, -1)


def host_stages(feats: SquadFeatures, picks: np.ndarray) -> None:
    """Part 1 (module docstring)."""
    align = GPU_WIDTH_ALIGN
    packer = PackedTorchRunner(PyTorchBackend(), max_len=384)  # inputs() never calls the backend
    staged = {int(i): packer.inputs(feats.gather([i], align=align)) for i in picks}
    items = [int(i) for i in picks]
    outs = {i: np.zeros((len(staged[i].feeds["input_ids"]), 2), np.float16) for i in items}
    logits = {i: outs[i][: int(staged[i].feeds["cu_seqlens"][1])].astype(np.float32) for i in items}
    pinned = np.empty(384 * 8 * 3 + 64, np.uint8)  # the graph's staging block, unpinned here

    def copy_to_staging(i: int) -> None:  # GraphCache.replay's host copy, minus torch
        feeds, start = staged[i].feeds, 0
        signature(feeds)
        for array in feeds.values():
            view = pinned[start : start + array.nbytes].view(array.dtype).reshape(array.shape)
            np.copyto(view, array)
            start += -(-array.nbytes // 16) * 16

    response = np.zeros((1, 768), np.float32)
    gather = each(items, lambda i: feats.gather([i], align=align))
    pack = each(items, lambda i: packer.inputs(feats.gather([i], align=align)))
    lookup = each(items, lambda i: staged.get(i))
    response_build = each(items, lambda i: main_response(logits[i], staged[i], feats))
    shared = {
        "response rows: unpack + pad to 384": response_build,
        "signature + copy into the pinned block (graph cache)": each(items, copy_to_staging),
        "fp16 -> fp32 logits": each(items, lambda i: outs[i].astype(np.float32)),
        "QuerySampleResponse list": each(
            items, lambda i: [lg.QuerySampleResponse(i, response.ctypes.data, response.nbytes)]
        ),
    }
    print(f"\n## 1. Host stages of one query, numpy, {len(items)} random SQuAD features (µs p50 / p90)")
    print("| stage | built per query (main) | staged at load (now) | now / main |\n|---|---|---|---|")
    print(row("gather the feature (trimmed, aligned to 32)", gather, None))
    print(row("gather + pack into its token bucket (runner.inputs)", pack, lookup))
    for name, s in shared.items():
        print(row(name + " (unchanged)", s, s))
    before = pack[0] + sum(s[0] for s in shared.values())
    after = lookup[0] + sum(s[0] for s in shared.values())
    print(f"| **sum of p50s** | {before:8.1f} | {after:8.1f} | {after / before:.2f}x |")


class TimedCalls:
    """Wraps a bound method: the real call, its duration recorded (ns)."""

    def __init__(self, fn: Callable[..., Any]) -> None:
        self.fn, self.ns = fn, list[int]()

    def __call__(self, *args: Any) -> Any:
        t0 = time.perf_counter_ns()
        try:
            return self.fn(*args)
        finally:
            self.ns.append(time.perf_counter_ns() - t0)


def loadgen_single_stream(source: SquadSampleSource, out: Path, queries: int) -> Stat:
    """LoadGen latency p50/p90 (µs) of a SingleStream test of ``queries`` queries."""
    s = lg.TestSettings()
    s.scenario, s.mode = lg.TestScenario.SingleStream, lg.TestMode.PerformanceOnly
    seeds = default_round().seeds
    s.qsl_rng_seed, s.sample_index_rng_seed = seeds.qsl_rng_seed, seeds.sample_index_rng_seed
    s.schedule_rng_seed = seeds.schedule_rng_seed
    s.min_query_count = s.max_query_count = queries
    s.min_duration_ms = 0
    out.mkdir(parents=True, exist_ok=True)
    log = lg.LogSettings()
    log.log_output.outdir = str(out)
    log.log_output.copy_summary_to_stdout = False
    qsl = lg.ConstructQSL(source.total_count, source.performance_count, source.load, source.unload)
    try:
        with BatchingSut(source, Scenario.SINGLE_STREAM, batch_size=1) as sut:
            lg.StartTestWithLogSettings(sut.handle, qsl, s, log, str(out / "no-audit.config"))
    finally:
        lg.DestroyQSL(qsl)
    if sut.errors:
        raise RuntimeError(f"inference failed: {sut.errors[0]}")
    v = parse_detail_log(out / "mlperf_log_detail.txt").values
    # what a SingleStream result reports: LoadGen's early-stopping p90 estimate (results.cc
    # ``early_stopping_latency_ss``), above the plain p90 the fewer the queries
    early = v.get("early_stopping_latency_ss")
    if early is not None:
        print(f"  ({queries} queries: early-stopping p90 estimate {float(early) / 1e3:.1f} us, "
              f"{v.get('result_validity', '?')})")  # fmt: skip
    return v["result_50.00_percentile_latency_ns"] / 1e3, v["result_90.00_percentile_latency_ns"] / 1e3


def end_to_end(feats: SquadFeatures, runner: BertRunner, align: int, queries: int, rounds: int) -> None:
    """Part 2 (module docstring): built vs staged, alternating (ABAB) so drift hits both."""
    backend = TimedCalls(runner.backend.run)
    runner.backend.run = backend  # type: ignore[method-assign,assignment]  # the real call, timed
    work = Path(tempfile.mkdtemp(prefix="crowdperf-ss-host-"))
    runs: dict[bool, list[dict[str, Stat]]] = {False: [], True: []}
    for r in range(rounds):
        for staged in (False, True):
            source = SquadSampleSource(feats, [runner], align=align, stage_at_load=staged)
            infer = TimedCalls(source.infer)
            source.infer = infer  # type: ignore[method-assign,assignment]  # the real call, timed
            backend.ns.clear()
            latency = loadgen_single_stream(source, work / f"{r}-{staged}", queries)
            inner = np.asarray(infer.ns[-queries:]) - np.asarray(backend.ns[-queries:])  # paired
            runs[staged].append({
                "latency": latency, "backend": stat(backend.ns[-queries:]),
                "infer": stat(infer.ns[-queries:]), "host": stat(inner),
            })  # fmt: skip
    print(f"\n## 2. SingleStream through LoadGen, {queries} queries x {rounds} rounds (µs p50 / p90, "
          "median over rounds)")  # fmt: skip
    print("| per query | built per query (main) | staged at load (now) | now / main |\n|---|---|---|---|")

    def median(staged: bool, key: str) -> Stat:
        values = [run[key] for run in runs[staged]]
        return float(np.median([v[0] for v in values])), float(np.median([v[1] for v in values]))

    labels = {
        "latency": "LoadGen latency (issue to QuerySamplesComplete)",
        "infer": "source.infer (the sample source's whole call)",
        "backend": "backend.run (the model, with the backend's own host work)",
        "host": "source.infer - backend.run, per query: the workload's host work",
    }
    for key, label in labels.items():
        print(row(label, median(False, key), median(True, key)))
    lat, inf = median(True, "latency"), median(True, "infer")
    outside = f"{lat[0] - inf[0]:.1f} / {lat[1] - inf[1]:.1f}"
    print(f"(LoadGen latency - source.infer, now: {outside} µs: LoadGen's issue, the SUT, the response")
    print(" and QuerySamplesComplete; a difference of percentiles)")


def torch_host_ops(device: str, staging_bytes: int = 384 * 8 * 3 + 64) -> None:
    """Part 3 (module docstring): one CUDA run's torch calls on the host, one at a time."""
    import torch

    dev = torch.device(device)
    stream = torch.cuda.Stream(dev)
    dst = torch.empty(staging_bytes, dtype=torch.uint8, device=dev)
    out = torch.empty((384, 2), dtype=torch.float16, device=dev)
    keep = torch.empty(staging_bytes, dtype=torch.uint8, pin_memory=True)
    items = list(range(2000))

    def ctx(make: Callable[[], Any]) -> Callable[[int], None]:
        def enter_exit(_: int) -> None:
            with make():
                pass

        return enter_exit

    def event_wait(_: int) -> None:
        e = torch.cuda.Event()
        e.record(stream)
        e.synchronize()

    def h2d(_: int) -> None:
        with torch.cuda.stream(stream):
            dst.copy_(keep, non_blocking=True)
        stream.synchronize()

    def d2h(_: int) -> None:
        with torch.cuda.stream(stream):
            torch.empty(out.shape, dtype=out.dtype, pin_memory=True).copy_(out, non_blocking=True)
        stream.synchronize()

    ops = {
        "torch.empty(pin_memory=True), staging block": lambda _: torch.empty(
            staging_bytes, dtype=torch.uint8, pin_memory=True
        ),
        "with torch.cuda.stream(s)": ctx(lambda: torch.cuda.stream(stream)),
        "with torch.cuda.device(d)": ctx(lambda: torch.cuda.device(dev)),
        "with torch.inference_mode()": ctx(torch.inference_mode),
        "Event(), record, synchronize (idle stream)": event_wait,
        "H2D copy_ from pinned + stream sync": h2d,
        "pinned empty + D2H copy_ + stream sync": d2h,
    }
    print(f"\n## 3. torch host operations on {torch.cuda.get_device_name(dev)} (µs p50 / p90)")
    print("| operation | µs |\n|---|---|")
    for name, fn in ops.items():
        p50, p90 = each(items, fn)
        print(f"| {name} | {p50:.1f} / {p90:.1f} |")


def make_runner(args: argparse.Namespace, feats: SquadFeatures) -> tuple[BertRunner, int]:
    """The real runner the workload would build on ``--device``, warmed up as its warm-up does."""
    device = accelerators.resolve(DeviceSelection.parse(args.device))[0]
    cuda = device.kind is DeviceKind.CUDA
    cfg = getattr(BertModelConfig, args.model if cuda else "tiny")(feats.vocab_size)
    weights = ensure_weights(load_settings().models_dir, cfg, seed=0)
    precision = Precision(args.precision if cuda else "fp32")
    calibration = list(unpadded_batches(feats, calibration_rows(feats))) if precision is Precision.FP8 else []
    threads = None if cuda else 1  # CPU: one thread, less noise from a shared machine
    runner, info = bert_runner(
        "pytorch", weights, device, precision, threads, max_len=384, calibration=calibration
    )  # fmt: skip
    align = GPU_WIDTH_ALIGN if cuda else CPU_WIDTH_ALIGN
    widths = warmup_widths(align, 384, every_width=cuda)
    runner.prepare(1, widths)
    for w in widths:
        runner.run(feats.gather(np.flatnonzero(feats.lengths <= w)[:1], align=align))
    shape = f"{cfg.layers} layers x {cfg.hidden}"
    print(f"\nrunner: {info.execution_provider}, {runner.description}, {precision.value}, BERT {shape}")
    return runner, align


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--dataset-path", type=Path, required=True)
    ap.add_argument("--vocab-path", type=Path, required=True)
    ap.add_argument("--device", default="cpu")
    ap.add_argument("--precision", default="fp8", help="on a GPU (cpu: fp32)")
    ap.add_argument(
        "--model", choices=["tiny", "base", "large"], default="large", help="on a GPU (cpu: tiny)"
    )
    ap.add_argument("--samples", type=int, default=3000, help="part 1: features timed")
    ap.add_argument("--queries", type=int, default=1500, help="part 2: queries per LoadGen test")
    ap.add_argument("--rounds", type=int, default=2, help="part 2: tests per path")
    args = ap.parse_args()
    feats = load_features(args.dataset_path, args.vocab_path, load_settings())
    picks = np.random.default_rng(0).choice(feats.count, size=min(args.samples, feats.count), replace=False)
    host_stages(feats, picks)
    runner, align = make_runner(args, feats)
    end_to_end(feats, runner, align, args.queries, args.rounds)
    if args.device.startswith("cuda"):
        torch_host_ops(args.device)
    runner.close()


if __name__ == "__main__":
    main()
