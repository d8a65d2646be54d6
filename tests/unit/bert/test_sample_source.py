from __future__ import annotations

import json

import numpy as np
import pytest

from crowdperf.errors import UsageError
from crowdperf.workloads.bert.accuracy import score_accuracy_log
from crowdperf.workloads.bert.dataset import FeatureBatch, load_features
from crowdperf.workloads.bert.runners import RunnerInputs
from crowdperf.workloads.bert.sample_source import SquadSampleSource
from crowdperf.workloads.bert.tiny_data import ensure_tiny_data


class GoldModel:
    """A 'model' that puts the gold span's logits high: needs the true QSL index of each row,
    recovered from input_ids (each tiny feature's ids are unique). Counts the batches it stages."""

    def __init__(self, feats) -> None:
        self.feats = feats
        self.by_ids = {feats.input_ids[r].tobytes(): r for r in range(feats.count)}
        self.staged = 0

    def inputs(self, batch: FeatureBatch) -> RunnerInputs:
        self.staged += 1
        return RunnerInputs({"input_ids": batch.input_ids}, len(batch.input_ids))

    def run_inputs(self, inputs: RunnerInputs) -> np.ndarray:
        ids = inputs.feeds["input_ids"]
        out = np.zeros((*ids.shape, 2), dtype=np.float32)
        for i, row in enumerate(ids):
            full = np.zeros(384, dtype=np.int64)
            full[: len(row)] = row
            r = self.by_ids[full.tobytes()]
            if self.feats.raw.start_positions[r] > 0:
                out[i, self.feats.raw.start_positions[r], 0] = out[i, self.feats.raw.end_positions[r], 1] = 10
        return out


def gold_model(feats) -> GoldModel:
    return GoldModel(feats)


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
    assert SquadSampleSource(feats, [gold_model(feats)], count=10**6).total_count == feats.count
    with pytest.raises(UsageError):
        SquadSampleSource(feats, [gold_model(feats)], count=0)


def test_loaded_samples_are_staged_once_and_answer_as_unstaged_ones(settings):
    """LoadGen's (untimed) load stages each sample as a one-sample batch: a one-sample query then
    builds nothing, answers byte for byte what an unstaged source answers, and unload forgets it."""
    data = ensure_tiny_data(settings)
    feats = load_features(data.dataset_path, data.vocab_path, settings)
    model = gold_model(feats)
    staged = SquadSampleSource(feats, [model], count=30, align=8)
    plain = SquadSampleSource(feats, [gold_model(feats)], count=30, align=8, stage_at_load=False)
    for source in (staged, plain):
        source.load(range(30))
        source.load([3, 3])  # MultiStream loads a sample more than once
    assert model.staged == 30
    for i in range(30):
        assert staged.infer([i]).tobytes() == plain.infer([i]).tobytes()
    assert model.staged == 30  # no query built a batch
    assert staged.infer([4, 9]).tobytes() == plain.infer([4, 9]).tobytes()  # many: built per query
    assert model.staged == 31
    staged.unload(range(30))
    staged.infer([5])  # not loaded any more: built per query, still answered
    assert model.staged == 32 and not staged.loaded
