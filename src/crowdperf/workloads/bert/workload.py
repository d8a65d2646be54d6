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
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

from crowdperf.backends.base import Backend, BackendConfig, BackendInfo, FeatureBatch
from crowdperf.backends.cuda_graphs import WIDTH_ALIGN
from crowdperf.backends.registry import get_backend
from crowdperf.errors import UsageError
from crowdperf.settings import Settings, load_settings
from crowdperf.system.devices import DeviceKind
from crowdperf.workloads.bert.accuracy import AccuracyResult, score_accuracy_log
from crowdperf.workloads.bert.assets import ResolvedAsset, SquadFiles, resolve_asset, resolve_squad_files
from crowdperf.workloads.bert.dataset import SquadFeatures, load_features
from crowdperf.workloads.bert.model_config import GeneratedWeights
from crowdperf.workloads.bert.model_files import generated_model_asset
from crowdperf.workloads.bert.sample_source import SquadSampleSource

if TYPE_CHECKING:
    from crowdperf.mlperf.spec import RunSpec

# The official model file each backend reads (MLPerf's reference: language/bert/*_SUT.py).
OFFICIAL_MODEL_FILE = {"onnxruntime": "model.onnx", "pytorch": "model.pytorch"}
OFFICIAL_INT8_FILE = {"onnxruntime": "bert_large_v1_1_fake_quant.onnx"}
BERT_LARGE_VOCAB_SIZE = 30522
# Batches are trimmed to their longest sample, rounded up to these (fewer shapes to warm up on GPU).
GPU_WIDTH_ALIGN = WIDTH_ALIGN  # 32, the CUDA graphs' width step
CPU_WIDTH_ALIGN = 8


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


@dataclass
class OpenBertWorkload:
    """One opened BERT workload: features in memory, model loaded on its device."""

    model: str
    features: SquadFeatures
    backend: Backend
    backend_info: BackendInfo
    asset_checksums: dict[str, str]
    source: SquadSampleSource = field(init=False)
    loadgen_model: str = "bert"  # mlperf.conf's model key for BERT
    response_dtype: np.dtype = field(default_factory=lambda: np.dtype(np.float32))

    def __post_init__(self) -> None:
        align = GPU_WIDTH_ALIGN if self.backend_info.device is DeviceKind.CUDA else CPU_WIDTH_ALIGN
        self.source = SquadSampleSource(self.features, self.backend.run, align=align)

    def warmup(self, batch_size: int) -> None:
        """Untimed warm-up before LoadGen starts, on random tokens (never the QSL's samples): the
        backend prepares for every padded width a batch can have (CUDA graphs are captured here),
        then runs each width at batch 1 and at ``batch_size``, so no kernel selection, capture or
        allocator growth lands inside a measured query. Timing (1, 384) against (batch_size, 384)
        gives the fixed cost of a call, which decides how the SUT splits Server batches."""
        align, seq = self.source.align, self.features.params.max_seq_length
        widths = range(align, seq + 1, align) if self.backend_info.device is DeviceKind.CUDA else (seq,)
        self.backend.prepare(batch_size, widths)
        rng = np.random.default_rng(0)

        def batch(n: int, width: int) -> FeatureBatch:
            ids = rng.integers(1, self.features.vocab_size, (n, width), dtype=np.int64)
            return FeatureBatch(ids, np.ones_like(ids), np.ones_like(ids))

        for width in widths:
            for n in sorted({1, batch_size}):
                self.backend.run(batch(n, width))
        if not self.backend.pads_batches:  # padding costs nothing: never split a batch
            self.source.call_overhead_tokens = float("inf")
        elif batch_size > 1:
            one, full = batch(1, seq), batch(batch_size, seq)
            self.source.call_overhead_tokens = call_overhead_tokens(
                _best_seconds(lambda: self.backend.run(one)),
                _best_seconds(lambda: self.backend.run(full)),
                batch_size,
                seq,
            )

    def evaluate_accuracy(self, accuracy_log: Path, out_dir: Path) -> AccuracyResult:
        return score_accuracy_log(
            accuracy_log, self.features, out_dir, self.model, dtype=self.response_dtype.name
        )

    def close(self) -> None:
        self.backend.close()


@dataclass(frozen=True)
class BertWorkload:
    """``model`` is the registry key; ``weights`` says it runs generated weights (tiny, bert-large:
    not MLPerf models) rather than the official trained files (bert-99, bert-99.9)."""

    model: str
    weights: GeneratedWeights | None = None

    def _features(self, spec: RunSpec, settings: Settings) -> tuple[SquadFiles, SquadFeatures]:
        # Choosing the official model is the user asking for its real assets.
        files = resolve_squad_files(
            self.model,
            spec.paths.dataset,
            spec.paths.vocab,
            settings,
            self._download(spec),
            embedded=self.weights is not None,
            show_progress=False,
        )
        return files, load_features(files.dataset.path, files.vocab.path, settings)

    def _download(self, spec: RunSpec) -> bool:
        return self.weights is None or spec.allow_download

    def score_log(self, spec: RunSpec, accuracy_log: Path, out_dir: Path) -> AccuracyResult:
        """Score any LoadGen accuracy log of this workload's dataset (TEST01's baseline check)."""
        _files, features = self._features(spec, load_settings())
        return score_accuracy_log(accuracy_log, features, out_dir, self.model)

    def open(self, spec: RunSpec) -> OpenBertWorkload:
        settings = load_settings()
        files, features = self._features(spec, settings)
        download = self._download(spec)
        model_file = self._model_file(spec, settings, features, download)
        backend = get_backend(spec.backend)
        info = backend.load(
            BackendConfig(
                model_path=model_file.path,
                device=spec.devices.kind,
                precision=spec.precision,
                threads=spec.threads,
            )
        )
        checksums = {a.name: a.md5 for a in (files.dataset, files.vocab, model_file)}
        return OpenBertWorkload(self.model, features, backend, info, checksums)

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
        table = OFFICIAL_INT8_FILE if spec.precision.value == "int8" else OFFICIAL_MODEL_FILE
        name = table.get(spec.backend)
        if name is None:
            raise UsageError(
                f"no official {self.model} model file for backend {spec.backend!r} "
                f"at precision {spec.precision.value}",
                hint=f"use --backend {' or '.join(table)}",
            )
        return resolve_asset(name, spec.paths.model, settings, download, show_progress=False)
