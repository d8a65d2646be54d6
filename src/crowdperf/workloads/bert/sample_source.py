"""SQuAD features as the harness's ``SampleSource`` (the BERT QSL).

Every feature stays in memory (the reference's QSL also keeps all 10,833: BERT's
performance_sample_count is the whole set), so ``load``/``unload`` only record what LoadGen
asked for. ``infer`` gathers the samples trimmed to their longest real length, runs the model
and answers each with its logits padded back to (384, 2) float32, flattened: the reference
response (3,072 bytes per sample) that the accuracy script decodes.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence

import numpy as np

from crowdperf.errors import UsageError
from crowdperf.mlperf.rounds import Scenario
from crowdperf.workloads.bert.dataset import FeatureBatch, SquadFeatures

RunBatch = Callable[[FeatureBatch], np.ndarray]  # (b, w) features -> (b, w, 2) logits


class SquadSampleSource:
    """QSL over ``features``; ``count`` caps it to the first ``count`` samples (``--count``)."""

    def __init__(
        self,
        features: SquadFeatures,
        run_batch: Sequence[RunBatch],
        count: int | None = None,
        align: int = 1,
        concurrency: int = 1,
        batch_sizes: Mapping[Scenario, int] | None = None,
    ) -> None:
        if count is not None and not count > 0:
            raise UsageError(f"--count must be positive, got {count}", hint="pass --count N with N >= 1")
        if not run_batch:
            raise ValueError("a sample source needs at least one replica")
        self.features = features
        self.run_batch = tuple(run_batch)  # one per device
        self.align = align
        self.concurrency = concurrency  # infer calls in flight per replica (the backend's)
        self.batch_sizes: Mapping[Scenario, int] = batch_sizes or {}  # where --batch-size is not given
        self.call_overhead_tokens = 0.0  # set by the workload's warm-up from measured timings
        self._total = min(count, features.count) if count else features.count
        self._lengths = features.lengths[: self._total].copy()
        self.loaded: set[int] = set()

    @property
    def total_count(self) -> int:
        return self._total

    @property
    def performance_count(self) -> int:
        return self._total

    @property
    def lengths(self) -> np.ndarray:
        return self._lengths

    def load(self, indices: Sequence[int]) -> None:
        self.loaded.update(indices)

    def unload(self, indices: Sequence[int]) -> None:
        self.loaded.difference_update(indices)

    @property
    def replicas(self) -> int:
        return len(self.run_batch)

    def infer(self, indices: Sequence[int], replica: int = 0) -> np.ndarray:
        """(len(indices), 768) float32 C-contiguous: row i = logits of indices[i], (384, 2) flat."""
        batch = self.features.gather(indices, align=self.align)
        logits = np.asarray(self.run_batch[replica](batch))  # (b, w, 2)
        padded = self.features.pad_logits(logits)  # (b, 384, 2) float32
        return padded.reshape(len(padded), -1)
