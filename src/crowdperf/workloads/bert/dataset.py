"""The BERT dataset facade the workload uses: features in memory, gathered per batch.

``load_features(dataset, vocab, settings)`` reads the SQuAD examples, builds (or loads cached)
features and returns ``SquadFeatures``: int64 ``(n, 384)`` input arrays, per-feature real
lengths for length-grouped batching, ``gather`` (batch trimmed to its longest real length) and
``pad_logits`` (back to 384 positions, as the reference accuracy script pads).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from crowdperf import jsonio
from crowdperf.errors import MissingInputError
from crowdperf.settings import Settings
from crowdperf.workloads.bert import feature_cache
from crowdperf.workloads.bert.squad import (
    FeatureParams,
    ProgressFn,
    RawFeatures,
    SquadExample,
    convert_examples_to_features,
    read_squad_examples,
)
from crowdperf.workloads.bert.tokenization import BertUncasedTokenizer, WordPieceVocab

# accuracy-squad.py load_loadgen_log: positions past the returned logits are set to -10000.
PAD_LOGIT = -10000.0


@dataclass(frozen=True)
class FeatureBatch:
    """A batch of BERT features, already trimmed to the longest real length in the batch."""

    input_ids: np.ndarray  # (batch, seq) int64
    input_mask: np.ndarray  # (batch, seq) int64, 1 = real token
    segment_ids: np.ndarray  # (batch, seq) int64


@dataclass
class SquadFeatures:
    """Every feature of a SQuAD file, ready to batch. Row i is QSL sample i."""

    examples: list[SquadExample]
    raw: RawFeatures
    vocab: tuple[str, ...]
    params: FeatureParams = field(default_factory=FeatureParams)
    cache_hit: bool = False

    def __post_init__(self) -> None:
        seq = self.params.max_seq_length
        pos = np.arange(seq)[None, :]
        lengths = self.raw.lengths.astype(np.int64)[:, None]
        doc_start = self.raw.query_lengths.astype(np.int64)[:, None] + 2
        self.input_ids = self.raw.input_ids.astype(np.int64)  # (n, seq) int64
        self.input_mask = (pos < lengths).astype(np.int64)  # (n, seq) 1 = real token
        self.segment_ids = ((pos >= doc_start) & (pos < lengths)).astype(np.int64)  # (n, seq)

    @property
    def count(self) -> int:
        return len(self.raw.lengths)

    @property
    def vocab_size(self) -> int:
        """Tokens in the vocab the features were built with (the model's embedding rows must match)."""
        return len(self.vocab)

    @property
    def lengths(self) -> np.ndarray:
        """(n,) int64: real tokens per feature (sum of its input mask)."""
        return self.raw.lengths.astype(np.int64)

    def gather(self, indices: Sequence[int] | np.ndarray, trim: bool = True, align: int = 1) -> FeatureBatch:
        """The features at ``indices``, cut to the longest real length among them, rounded up to a
        multiple of ``align`` (fewer distinct shapes and tensor-core friendly widths on GPUs)."""
        idx = np.asarray(indices, dtype=np.int64)
        seq = self.params.max_seq_length
        width = seq
        if trim and len(idx):
            longest = int(self.raw.lengths[idx].max())
            width = min(seq, -(-longest // align) * align)
        return FeatureBatch(
            input_ids=np.ascontiguousarray(self.input_ids[idx, :width]),
            input_mask=np.ascontiguousarray(self.input_mask[idx, :width]),
            segment_ids=np.ascontiguousarray(self.segment_ids[idx, :width]),
        )

    def pad_logits(self, logits: np.ndarray, seq: int | None = None) -> np.ndarray:
        """(n, width, 2) logits -> (n, seq, 2) float32 with -10000 at the cut-off positions.
        Logits already in that form (a batch whose longest feature fills 384) come back as they are."""
        seq = seq or self.params.max_seq_length
        n, width = logits.shape[0], logits.shape[1]
        if width > seq:
            raise ValueError(f"logits have {width} positions, more than {seq}")
        if width == seq and logits.dtype == np.float32:
            return logits
        out = np.full((n, seq, 2), PAD_LOGIT, dtype=np.float32)
        out[:, :width] = logits
        return out


def load_features(
    dataset_path: Path,
    vocab_path: Path,
    settings: Settings,
    params: FeatureParams = FeatureParams(),
    progress: ProgressFn | None = None,
) -> SquadFeatures:
    """Examples + features of ``dataset_path``; features come from the cache when valid."""
    for path, flag in ((dataset_path, "--dataset-path"), (vocab_path, "--vocab-path")):
        if not path.is_file():
            raise MissingInputError(f"file not found: {path}", hint=f"pass {flag} with an existing file")
    examples = read_squad_examples(dataset_path)
    vocab = WordPieceVocab.read(vocab_path)
    key = feature_cache.cache_key(dataset_path, vocab_path, params)
    path = feature_cache.cache_path(settings.features_dir, key)
    raw = feature_cache.load_cached(path, params)
    hit = raw is not None
    if raw is None:
        raw = convert_examples_to_features(examples, BertUncasedTokenizer(vocab), params, progress)
        feature_cache.save_cached(path, raw)
    if len(raw.example_index) and int(raw.example_index.max()) >= len(examples):
        raise MissingInputError(f"feature cache {path} does not match {dataset_path}", hint="remove it")
    return SquadFeatures(examples=examples, raw=raw, vocab=vocab.tokens, params=params, cache_hit=hit)


@dataclass(frozen=True)
class DatasetStats:
    """What ``crowdperf dataset squad`` reports."""

    dataset_path: Path
    vocab_path: Path
    examples: int
    features: int
    mean_tokens: float  # real tokens per feature
    median_tokens: float
    p90_tokens: float
    max_tokens: int
    padding_fraction: float  # share of a 384-padded batch that is padding
    params: FeatureParams
    cache_hit: bool

    def to_json(self) -> dict[str, object]:
        return {
            "schema": jsonio.schema("dataset.squad", 1),
            "dataset_path": str(self.dataset_path),
            "vocab_path": str(self.vocab_path),
            "examples": self.examples,
            "features": self.features,
            "mean_tokens": round(self.mean_tokens, 3),
            "median_tokens": self.median_tokens,
            "p90_tokens": self.p90_tokens,
            "max_tokens": self.max_tokens,
            "padding_fraction": round(self.padding_fraction, 4),
            "max_seq_length": self.params.max_seq_length,
            "doc_stride": self.params.doc_stride,
            "max_query_length": self.params.max_query_length,
            "cache_hit": self.cache_hit,
        }


def dataset_stats(features: SquadFeatures, dataset_path: Path, vocab_path: Path) -> DatasetStats:
    lengths = features.lengths
    empty = len(lengths) == 0
    mean = 0.0 if empty else float(lengths.mean())
    return DatasetStats(
        dataset_path=dataset_path,
        vocab_path=vocab_path,
        examples=len(features.examples),
        features=features.count,
        mean_tokens=mean,
        median_tokens=0.0 if empty else float(np.median(lengths)),
        p90_tokens=0.0 if empty else float(np.percentile(lengths, 90)),
        max_tokens=0 if empty else int(lengths.max()),
        padding_fraction=1.0 - mean / features.params.max_seq_length,
        params=features.params,
        cache_hit=features.cache_hit,
    )
