"""The contract between a workload and the MLPerf harness.

The harness (QSL + SUT + LoadGen runner) knows nothing of BERT: a workload hands it a
``SampleSource``. The SUT layer groups sample indices into batches (by ``lengths``) and calls
``infer``; the result rows are sent to LoadGen as the sample responses. A source has one
*replica* per device the run uses (one loaded model each); the SUT feeds each replica from its
own worker threads (``concurrency`` each), and calls may run at the same time.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Protocol

import numpy as np

from crowdperf.mlperf.rounds import Scenario


class SampleSource(Protocol):
    @property
    def total_count(self) -> int:
        """QSL size (10,833 for the full SQuAD dev set)."""

    @property
    def performance_count(self) -> int:
        """Samples LoadGen may keep loaded at once (BERT: the whole set)."""

    @property
    def lengths(self) -> np.ndarray:
        """(total_count,) int: real tokens per sample, for length-grouped batching."""

    @property
    def align(self) -> int:
        """A batch is padded to its longest sample rounded up to a multiple of this."""

    @property
    def call_overhead_tokens(self) -> float:
        """The fixed cost of one ``infer`` call in units of one padded token's compute (estimated
        at warm-up): the SUT splits a Server batch by length only where that saves more than this.
        ``inf`` = never split."""

    def load(self, indices: Sequence[int]) -> None:
        """LoadGen's load_samples_to_ram callback."""

    def unload(self, indices: Sequence[int]) -> None:
        """LoadGen's unload_samples_from_ram callback."""

    @property
    def replicas(self) -> int:
        """How many independent executors (one per device) ``infer`` can be spread over."""

    @property
    def batch_sizes(self) -> Mapping[Scenario, int]:
        """Batch sizes this source runs best at on its device, per scenario, where the user gives
        none (``--batch-size``); a scenario not in it gets the harness's default (sut.py)."""

    @property
    def concurrency(self) -> int:
        """How many ``infer`` calls on one replica are worth having in flight at once (its
        backend's ``concurrency``): the SUT's worker threads per replica."""

    def infer(self, indices: Sequence[int], replica: int = 0) -> np.ndarray:
        """Run the model on these samples on one replica. Returns a (len(indices), response_len)
        C-contiguous array; row i is the response payload for indices[i] (BERT: float32 logits
        (384, 2) flattened). Thread-safe, on one replica and across replicas."""
