from __future__ import annotations

import json

import numpy as np
import pytest

from crowdperf.errors import UsageError
from crowdperf.workloads.bert.accuracy import score_accuracy_log
from crowdperf.workloads.bert.dataset import load_features
from crowdperf.workloads.bert.sample_source import SquadSampleSource
from crowdperf.workloads.bert.tiny_data import ensure_tiny_data


def gold_model(feats):
    """A 'model' that puts the gold span's logits high: needs the true QSL index of each row,
    recovered from input_ids (each tiny feature's ids are unique)."""
    by_ids = {feats.input_ids[r].tobytes(): r for r in range(feats.count)}

    def run(batch):
        out = np.zeros((*batch.input_ids.shape, 2), dtype=np.float32)
        for i, ids in enumerate(batch.input_ids):
            full = np.zeros(384, dtype=np.int64)
            full[: len(ids)] = ids
            r = by_ids[full.tobytes()]
            if feats.raw.start_positions[r] > 0:
                out[i, feats.raw.start_positions[r], 0] = out[i, feats.raw.end_positions[r], 1] = 10
        return out

    return run


def test_responses_are_padded_logits_that_score(settings, tmp_path):
    data = ensure_tiny_data(settings)
    feats = load_features(data.dataset_path, data.vocab_path, settings)
    source = SquadSampleSource(feats, [gold_model(feats)], count=40)
    assert source.total_count == source.performance_count == 40 and len(source.lengths) == 40
    order = np.argsort(source.lengths)  # length-grouped, as the SUT batches
    entries = []
    for start in range(0, 40, 8):
        idx = order[start : start + 8]
        rows = source.infer(idx)
        assert rows.shape == (len(idx), 768) and rows.dtype == np.float32 and rows.flags.c_contiguous
        entries += [
            {"seq_id": 0, "qsl_idx": int(q), "data": row.tobytes().hex()}
            for q, row in zip(idx, rows, strict=True)
        ]
    (tmp_path / "log.json").write_text(json.dumps(entries))
    result = score_accuracy_log(tmp_path / "log.json", feats, tmp_path, "tiny")
    assert result.f1 == 100.0 and result.n_features_scored == 40
    assert 0 < result.n_questions < len(feats.examples) and "subset" in result.note


def test_count_is_validated(settings):
    data = ensure_tiny_data(settings)
    feats = load_features(data.dataset_path, data.vocab_path, settings)
    assert SquadSampleSource(feats, [lambda b: b], count=10**6).total_count == feats.count
    with pytest.raises(UsageError):
        SquadSampleSource(feats, [lambda b: b], count=0)
