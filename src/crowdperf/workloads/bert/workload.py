"""The BERT workload: what the MLPerf harness opens for ``--model tiny|bert-large|bert-99|bert-99.9``
(the registered definitions, with their rules, are in definitions.py).

``open(spec)`` runs inside the child process of one LoadGen test (see ``mlperf/isolated.py``):

    dataset + vocab   generated weights (tiny, bert-large): the generated tiny set (or
                      --dataset-path/--vocab-path); bert-99*: official files
    features          SQuAD -> features (cached on disk), the QSL rows
    model             generated weights: made once for their shapes (tiny: sized to the vocab in
                      use), ONNX or npz for PyTorch; bert-99*: the official model.onnx /
                      model.pytorch (--model-path, cache, download)
    backend           loaded on the requested device; it raises DeviceError rather than fall back
    accuracy          decode LoadGen's accuracy log, n-best spans, SQuAD EM/F1, accuracy.txt
"""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

from crowdperf.backends.base import BackendConfig, BackendInfo, ModelArtifact, OnnxGraph
from crowdperf.backends.registry import get_backend
from crowdperf.errors import UsageError
from crowdperf.mlperf.rounds import Scenario
from crowdperf.mlperf.workload import AccuracyResult, RuntimeInfo
from crowdperf.precision import Precision
from crowdperf.settings import Settings, load_settings
from crowdperf.system import accelerators
from crowdperf.system.devices import DeviceKind, UsedDevice
from crowdperf.workloads.bert.accuracy import SquadAccuracy, score_accuracy_log
from crowdperf.workloads.bert.assets import (
    ResolvedAsset,
    SquadFiles,
    official_model_file,
    resolve_asset,
    resolve_squad_files,
)
from crowdperf.workloads.bert.calibration import calibration_rows, unpadded_batches
from crowdperf.workloads.bert.dataset import FeatureBatch, SquadFeatures, load_features
from crowdperf.workloads.bert.model_config import GeneratedWeights
from crowdperf.workloads.bert.model_files import generated_model_asset
from crowdperf.workloads.bert.rules import RULES
from crowdperf.workloads.bert.runners import BertRunner, OnnxBertRunner, PaddedTorchRunner, warmup_widths
from crowdperf.workloads.bert.sample_source import SquadSampleSource

if TYPE_CHECKING:
    from crowdperf.mlperf.spec import RunSpec
    from crowdperf.workloads.bert.fp8_model import Fp8Options
    from crowdperf.workloads.bert.torch_program import CalibrationBatch

BERT_LARGE_VOCAB_SIZE = 30522
# Batches are trimmed to their longest sample, rounded up to these (fewer shapes to capture on GPU).
GPU_WIDTH_ALIGN = 32
CPU_WIDTH_ALIGN = 8
# Batch sizes without --batch-size for packed sequences on a GPU (a CPU keeps the harness's 32 / 8).
# Offline: 1,024 features (NVIDIA's harness uses 1,024-1,280): fp8 on an H200 6,638 samples/s
# against 6,166 in batches of 64 (docs/performance.md, session 6). Server: 256, the most a batch
# takes when queries queue up (quiet times still run batches of a few): the sustained-QPS search
# on an H200, fp8, found 7,273 and 7,300 QPS at p99 89-95 ms against 6,785 at 64 (p99 62 ms) and
# 7,374 at 384 (p99 109 ms, closer to the 130 ms bound) (session 10).
GPU_PACKED_BATCH_SIZES = {Scenario.OFFLINE: 1024, Scenario.SERVER: 256}


def warmup_rows(batch_size: int, *, cuda: bool) -> list[int]:
    """The batch rows warm-up runs at each width: 1 and ``batch_size``, and on a GPU also the
    largest multiple of 16 and the largest count that is neither that nor 1, up to it. Triton
    compiles a kernel once per class of each integer argument it specialises on (== 1,
    divisible by 16, other): warmed with 1 and 256 rows only, the first measured batch of, say,
    37 rows compiled the attention kernels inside the run (an H200's Server search at batch 256
    on fresh caches found 2,196 QPS, on warm ones 7,300: docs/performance.md, session 10). Those
    kernels no longer specialise on per-batch integers (triton_attention.py, session 11); the
    extra counts stay as the second line, and tests/gpu/test_warmup_compiles.py checks that
    nothing compiles after the warm-up."""
    rows = {1, batch_size}
    if cuda:
        if batch_size >= 16:
            rows.add(batch_size // 16 * 16)  # the largest multiple of 16
        if batch_size > 2:  # the largest count neither 1 nor a multiple of 16
            rows.add(batch_size if batch_size % 16 else batch_size - 1)
    return sorted(rows)


def call_overhead_tokens(one_row_s: float, full_s: float, rows: int, width: int) -> float:
    """From a (1, width) and a (rows, width) batch's times: the fixed cost of one call, in units
    of one token's compute (the SUT's split threshold). ``inf`` when extra rows were free."""
    per_token = (full_s - one_row_s) / ((rows - 1) * width)
    if per_token <= 0:
        return float("inf")
    return max(0.0, one_row_s / per_token - width)


def _best_seconds(fn: Callable[[], object], repeats: int = 2) -> float:
    times = []
    for _ in range(repeats):
        t0 = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t0)
    return min(times)


def bert_runner(
    backend_name: str, model_file: Path, device: UsedDevice, precision: Precision, threads: int | None, *,
    max_len: int, pack_sequences: bool = True, cuda_graphs: bool = True,
    calibration: Sequence[CalibrationBatch] = (), fp8: Fp8Options | None = None,
) -> tuple[BertRunner, BackendInfo]:  # fmt: skip
    """Load ``model_file`` on one device through the named backend, behind BERT's adapter for it:
    ONNX graphs as they are; PyTorch padded, or packed (real tokens only) on CUDA in fp16/bf16/fp8.
    ``calibration``: the unpadded features FP8 scales come from (calibration.py)."""
    backend = get_backend(backend_name)
    cuda = device.kind is DeviceKind.CUDA
    packed = False
    artifact: ModelArtifact
    if backend.artifact is OnnxGraph:
        artifact = OnnxGraph(model_file)
    else:
        from crowdperf.workloads.bert.torch_program import bert_program, varlen_available

        # flash attention's dtypes (fp8 runs attention in fp16)
        half = precision in (Precision.FP16, Precision.BF16, Precision.FP8)
        packed = cuda and half and pack_sequences and varlen_available()
        artifact = bert_program(model_file, packed=packed, calibration=calibration, fp8=fp8)
    info = backend.load(BackendConfig(artifact, device, precision, threads, cuda_graphs=cuda_graphs))
    runner: BertRunner
    if backend.artifact is OnnxGraph:
        runner = OnnxBertRunner(backend)
    elif packed:
        from crowdperf.workloads.bert.packed import PackedTorchRunner

        runner = PackedTorchRunner(backend, max_len=max_len)
    else:
        runner = PaddedTorchRunner(backend, graphs=cuda and cuda_graphs, max_width=max_len)
    return runner, info


def fp8_options(model: str, round_name: str) -> Fp8Options:
    """The FP8 form ``model``'s benchmark asks for in ``round_name``: by its accuracy target
    (``Fp8Options.for_accuracy``; a stand-in model, tiny or bert-large, by its benchmark's)."""
    from crowdperf.workloads.bert.fp8_model import Fp8Options

    return Fp8Options.for_accuracy(RULES[model].benchmark.accuracy_target(round_name).fraction)


def as_harness_result(acc: SquadAccuracy) -> AccuracyResult:
    """SQuAD's scores as the harness records them: F1 is BERT's metric (rules.py), EM beside it."""
    scores = {"f1": acc.f1, "exact_match": acc.exact_match}
    return AccuracyResult("f1", acc.f1, scores, acc.n_questions, acc.target_f1, acc.passed, acc.note)


@dataclass
class OpenBertWorkload:
    """One opened BERT workload: features in memory, the model loaded on each device (a runner per
    device, the sample source's replicas)."""

    model: str
    features: SquadFeatures
    runners: Sequence[BertRunner]
    infos: Sequence[BackendInfo]
    asset_checksums: dict[str, str]
    weights_file: str  # the key of asset_checksums that is the model (measurements.json names it)
    source: SquadSampleSource = field(init=False)
    loadgen_model: str = "bert"  # mlperf.conf's model key for BERT
    response_dtype: np.dtype = field(default_factory=lambda: np.dtype(np.float32))

    def __post_init__(self) -> None:
        align = GPU_WIDTH_ALIGN if self._cuda else CPU_WIDTH_ALIGN
        concurrency = min(r.backend.concurrency for r in self.runners)
        packed_gpu = self._cuda and not any(r.pads_batches for r in self.runners)
        self.source = SquadSampleSource(
            self.features,
            self.runners,
            align=align,
            concurrency=concurrency,
            batch_sizes=GPU_PACKED_BATCH_SIZES if packed_gpu else {},
        )

    @property
    def _cuda(self) -> bool:
        return self.infos[0].device.kind is DeviceKind.CUDA

    @property
    def runtime(self) -> RuntimeInfo:
        first = self.infos[0]
        provider = f"{first.execution_provider}, {self.runners[0].description}"
        return RuntimeInfo(
            first.name, first.version, first.precision, provider, tuple(i.device for i in self.infos)
        )

    def warmup(self, batch_size: int) -> None:
        """Untimed warm-up before LoadGen starts, on random tokens (never the QSL's samples), every
        device at once: each runner prepares for every padded width a batch can have (CUDA graphs
        are captured here), then runs each width at each of ``warmup_rows`` (1, ``batch_size``,
        and on a GPU two more), so no kernel selection, compile, capture or allocator growth lands
        inside a measured query. Timing (1, 384)
        against (batch_size, 384) gives the fixed cost of a call, which decides how the SUT splits
        Server batches."""
        with ThreadPoolExecutor(len(self.runners)) as pool:
            overheads = list(pool.map(lambda r: self._warm(r, batch_size), self.runners))
        self.source.call_overhead_tokens = min(overheads)

    def _warm(self, runner: BertRunner, batch_size: int) -> float:
        seq = self.features.params.max_seq_length
        widths = warmup_widths(self.source.align, seq, every_width=self._cuda)
        runner.prepare(batch_size, widths)
        rng = np.random.default_rng(0)

        def batch(n: int, width: int) -> FeatureBatch:
            ids = rng.integers(1, self.features.vocab_size, (n, width), dtype=np.int64)
            return FeatureBatch(ids, np.ones_like(ids), np.ones_like(ids))

        for width in widths:
            for n in warmup_rows(batch_size, cuda=self._cuda):
                runner.run(batch(n, width))
        if not runner.pads_batches:  # padding costs nothing: never split a batch
            return float("inf")
        if batch_size <= 1:
            return 0.0
        one, full = batch(1, seq), batch(batch_size, seq)
        return call_overhead_tokens(
            _best_seconds(lambda: runner.run(one)), _best_seconds(lambda: runner.run(full)), batch_size, seq
        )

    def evaluate_accuracy(self, accuracy_log: Path, out_dir: Path) -> AccuracyResult:
        dtype = self.response_dtype.name
        return as_harness_result(
            score_accuracy_log(accuracy_log, self.features, out_dir, self.model, dtype=dtype)
        )

    def close(self) -> None:
        for runner in self.runners:
            runner.close()


@dataclass(frozen=True)
class BertWorkload:
    """``model`` is the registry key; ``weights`` says it runs generated weights (tiny, bert-large:
    not MLPerf models) rather than the official trained files (bert-99, bert-99.9)."""

    model: str
    weights: GeneratedWeights | None = None

    def _features(self, spec: RunSpec, settings: Settings) -> tuple[SquadFiles, SquadFeatures]:
        # Files are fetched only with --download (the parent's preflight refused a run that lacks
        # one without it, before any child started: preflight.py).
        files = resolve_squad_files(
            self.model,
            spec.paths.dataset,
            spec.paths.vocab,
            settings,
            spec.allow_download,
            embedded=self.weights is not None,
            show_progress=False,
        )
        return files, load_features(files.dataset.path, files.vocab.path, settings)

    def score_log(self, spec: RunSpec, accuracy_log: Path, out_dir: Path) -> AccuracyResult:
        """Score any LoadGen accuracy log of this workload's dataset (TEST01's baseline check)."""
        _files, features = self._features(spec, load_settings())
        return as_harness_result(score_accuracy_log(accuracy_log, features, out_dir, self.model))

    def open(self, spec: RunSpec) -> OpenBertWorkload:
        settings = load_settings()
        files, features = self._features(spec, settings)
        model_file = self._model_file(spec, settings, features, spec.allow_download)
        devices = accelerators.resolve(spec.devices)
        max_len = features.params.max_seq_length
        calibration, fp8 = [], None
        if spec.precision is Precision.FP8:
            calibration = list(unpadded_batches(features, calibration_rows(features)))
            fp8 = fp8_options(self.model, spec.round)
        loaded = [
            bert_runner(
                spec.backend, model_file.path, d, spec.precision, spec.threads, max_len=max_len,
                calibration=calibration, fp8=fp8,
            )
            for d in devices
        ]  # fmt: skip
        checksums = {a.name: a.md5 for a in (files.dataset, files.vocab, model_file)}
        return OpenBertWorkload(
            self.model, features, [r for r, _ in loaded], [i for _, i in loaded], checksums, model_file.name
        )

    def _model_file(
        self, spec: RunSpec, settings: Settings, features: SquadFeatures, download: bool
    ) -> ResolvedAsset:
        if self.weights is not None and spec.paths.model is None:
            int8 = spec.precision.value == "int8"
            return generated_model_asset(
                self.model, spec.backend, self.weights, features.vocab_size, settings, int8=int8
            )
        if self.weights is None and features.vocab_size != BERT_LARGE_VOCAB_SIZE:
            raise UsageError(
                f"vocab has {features.vocab_size} tokens; {self.model} (BERT-large) needs the "
                f"{BERT_LARGE_VOCAB_SIZE}-token uncased vocab",
                hint="pass the official vocab.txt with --vocab-path (or omit it to use the cached one)",
            )
        name = official_model_file(self.model, spec.backend, spec.precision)
        return resolve_asset(name, spec.paths.model, settings, download, show_progress=False)
