"""Feature batches the GPU tests feed BERT: random token ids, real rows of the given lengths
(mask 1), the rest padding, segment 1 from a third of the width on."""

from __future__ import annotations

import numpy as np

from crowdperf.workloads.bert.dataset import FeatureBatch


def masked_batch(n: int, width: int, lengths: list[int], vocab: int, seed: int) -> FeatureBatch:
    rng = np.random.default_rng(seed)
    ids = rng.integers(1, vocab, (n, width), dtype=np.int64)
    mask = np.zeros_like(ids)
    for row, length in enumerate(lengths):
        mask[row, :length] = 1
    seg = (np.arange(width) >= width // 3).astype(np.int64)[None].repeat(n, 0) * mask
    return FeatureBatch(ids * mask, mask, seg)


def calibration_features(vocab: int) -> list[tuple[np.ndarray, ...]]:
    """Eight single unpadded features (40-250 tokens) for fp8 calibration: ids, mask, segments."""
    out = []
    for k in range(8):
        b = masked_batch(1, 40 + 30 * k, [40 + 30 * k], vocab, seed=100 + k)
        out.append((b.input_ids, b.input_mask, b.segment_ids))
    return out


def cosine(a: np.ndarray, b: np.ndarray) -> float:
    return float((a * b).sum() / np.sqrt((a * a).sum() * (b * b).sum()))
