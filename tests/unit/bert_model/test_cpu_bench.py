"""bench/cpu_backends.py's miniature of a full Offline run and its same-round ratios (no model runs)."""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path

import numpy as np

BENCH = Path(__file__).resolve().parents[3] / "bench" / "cpu_backends.py"


def _bench():
    spec = importlib.util.spec_from_file_location("cpu_backends_bench", BENCH)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # dataclasses look their module up
    spec.loader.exec_module(module)
    return module


def test_sampled_batches_are_whole_batches_of_the_sorted_run_spread_over_it() -> None:
    bench = _bench()
    rng = np.random.default_rng(0)
    all_lengths = rng.integers(20, 385, 5000)
    ordered = np.sort(all_lengths)
    picked = bench.run_batches_sample(all_lengths, 24, 4)
    assert len(picked) == 24 and np.all(np.diff(picked) >= 0)
    for i in range(6):  # each batch is a contiguous slice of the run's order
        batch = picked[i * 4 : (i + 1) * 4]
        start = int(np.searchsorted(ordered, batch[0]))
        assert np.all(np.isin(batch, ordered[start : start + 200]))
    # spread over the order: the miniature's mean length is the run's, within a few tokens
    assert abs(picked.mean() - all_lengths.mean()) < 15
    # padding as the run's (batches of near-equal lengths), not a random sample's
    padded = sum(bench._width(picked[i : i + 4]) * 4 for i in range(0, 24, 4))
    assert padded / picked.sum() < 1.05


def test_ratio_is_the_median_of_same_round_ratios() -> None:
    bench = _bench()
    r = bench.Result
    results = [
        r("large", "onnxruntime-fp32", "reference", 0, 8, 8.0),  # 1.0/s
        r("large", "onnxruntime-int8", "offline", 0, 24, 4.0),  # 6.0/s: 6x
        r("large", "onnxruntime-fp32", "reference", 1, 8, 16.0),  # 0.5/s (a busy round)
        r("large", "onnxruntime-int8", "offline", 1, 24, 8.0),  # 3.0/s: 6x
        r("large", "onnxruntime-fp32", "reference", 2, 8, 4.0),  # 2.0/s
        r("large", "onnxruntime-int8", "offline", 2, 24, 2.0),  # 12.0/s: 6x
    ]
    lines = bench.ratio_table(results)
    assert len(lines) == 2 and "onnxruntime-int8" in lines[1]
    assert "6.0x (6.0, 6.0, 6.0)" in lines[1]
