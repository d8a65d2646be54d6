"""Batch buckets of the CUDA graph runner (pure arithmetic: runs without a GPU)."""

from __future__ import annotations

from crowdperf.workloads.bert.runners import MAX_GRAPH_BATCH, batch_buckets


def test_buckets_are_powers_of_two_then_the_batch_size() -> None:
    assert batch_buckets(1) == (1,)
    assert batch_buckets(8) == (1, 2, 4, 8)
    assert batch_buckets(384) == (1, 2, 4, 8, 16, 32, 64, 128, 256, 384)  # a full batch never pads
    assert batch_buckets(0) == (1,)


def test_buckets_stop_at_the_graph_limit() -> None:
    assert batch_buckets(10 * MAX_GRAPH_BATCH)[-1] == MAX_GRAPH_BATCH
