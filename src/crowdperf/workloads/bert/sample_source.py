"""SQuAD features as the harness's ``SampleSource`` (the BERT QSL).

Every feature stays in memory (the reference's QSL also keeps all 10,833: BERT's
performance_sample_count is the whole set). ``infer`` gathers the samples trimmed to their
longest real length, runs the model and answers each with its logits padded back to (384, 2)
float32, flattened: the reference response (3,072 bytes per sample) that the accuracy script
decodes.

``load`` (LoadGen's load_samples_to_ram) also stages each loaded sample as a one-sample batch in
its runner's input form (``BatchRunner.inputs``: gathered, packed, padded to a captured graph's
shape), so a one-sample query, all of SingleStream, goes straight to the backend. That is the
QSL's untimed preprocessing: "QSL is responsible for loading the data and includes untimed
preprocessing" (mlcommons/inference loadgen/README.md), and LoadGen loads a test's sample set
before it starts the test's clocks and issues the first query (loadgen/loadgen.cc,
RunPerformanceMode: LoadSamplesToRam, then the start timestamps). A staged batch holds the same
bytes the query would have built, so answers do not change, only when the work is done.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Protocol

import numpy as np

from crowdperf.errors import UsageError
from crowdperf.mlperf.rounds import Scenario
from crowdperf.workloads.bert.dataset import FeatureBatch, SquadFeatures
from crowdperf.workloads.bert.runners import RunnerInputs


class BatchRunner(Protocol):
    """What the source needs of a BERT runner (runners.py): its two steps."""

    def inputs(self, batch: FeatureBatch) -> RunnerInputs:
        """Host work: features -> the backend's inputs (no device state)."""

    def run_inputs(self, inputs: RunnerInputs) -> np.ndarray:
        """(b, w, 2) float32 logits, w >= the batch's width."""


class SquadSampleSource:
    """QSL over ``features``; ``count`` caps it to the first ``count`` samples (``--count``).
    ``runners``: one per device, configured alike (one packing serves them all).
    ``stage_at_load``: stage loaded samples as one-sample batches (module docstring)."""

    def __init__(
        self,
        features: SquadFeatures,
        runners: Sequence[BatchRunner],
        count: int | None = None,
        align: int = 1,
        concurrency: int = 1,
        batch_sizes: Mapping[Scenario, int] | None = None,
        *,
        stage_at_load: bool = True,
    ) -> None:
        if count is not None and not count > 0:
            raise UsageError(f"--count must be positive, got {count}", hint="pass --count N with N >= 1")
        if not runners:
            raise ValueError("a sample source needs at least one replica")
        self.features = features
        self.runners = tuple(runners)  # one per device
        self.align = align
        self.concurrency = concurrency  # infer calls in flight per replica (the backend's)
        self.batch_sizes: Mapping[Scenario, int] = batch_sizes or {}  # where --batch-size is not given
        self.call_overhead_tokens = 0.0  # set by the workload's warm-up from measured timings
        self.stage_at_load = stage_at_load
        self._total = min(count, features.count) if count else features.count
        self._lengths = features.lengths[: self._total].copy()
        self.loaded: set[int] = set()
        self._staged: dict[int, RunnerInputs] = {}  # QSL index -> its one-sample batch

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
        """Untimed (LoadGen's load_samples_to_ram): record and stage the samples."""
        self.loaded.update(indices)
        if not self.stage_at_load:
            return
        stage, gather, staged = self.runners[0].inputs, self.features.gather, self._staged
        for i in indices:
            if i not in staged:  # MultiStream loads a sample more than once
                staged[i] = stage(gather([i], align=self.align))

    def unload(self, indices: Sequence[int]) -> None:
        self.loaded.difference_update(indices)
        for i in indices:
            self._staged.pop(i, None)

    @property
    def replicas(self) -> int:
        return len(self.runners)

    def infer(self, indices: Sequence[int], replica: int = 0) -> np.ndarray:
        """(len(indices), 768) float32 C-contiguous: row i = logits of indices[i], (384, 2) flat."""
        runner = self.runners[replica]
        inputs = self._staged.get(indices[0]) if len(indices) == 1 else None
        if inputs is None:
            inputs = runner.inputs(self.features.gather(indices, align=self.align))
        padded = self.features.pad_logits(np.asarray(runner.run_inputs(inputs)))  # (b, 384, 2) float32
        return padded.reshape(len(padded), -1)
