from __future__ import annotations

import hashlib
import json

import numpy as np

from crowdperf.workloads.bert.accuracy import score_accuracy_log
from crowdperf.workloads.bert.dataset import load_features
from crowdperf.workloads.bert.tiny_data import (
    TINY_DATA_VERSION,
    build_tiny_vocab,
    ensure_tiny_data,
    generate_tiny_squad,
)

# Pinned so that any change to the generated data is deliberate: change it together with
# TINY_DATA_VERSION (the cache key of the generated files).
DATA_SHA256 = "8f13ac6e5522a80ef220e6ca26cbc22c63a32faa4e41c8f0065846bf5a80f326"
VOCAB_SHA256 = "a7603a91fc4e3c57c054a22197a1cb6e2628467408628f3a3bdd3a0b1613bf40"


def test_generation_is_deterministic_and_pinned():
    data = json.dumps(generate_tiny_squad(), sort_keys=True).encode()
    vocab = "\n".join(build_tiny_vocab()).encode()
    assert hashlib.sha256(data).hexdigest() == DATA_SHA256, f"bump TINY_DATA_VERSION ({TINY_DATA_VERSION})"
    assert hashlib.sha256(vocab).hexdigest() == VOCAB_SHA256, f"bump TINY_DATA_VERSION ({TINY_DATA_VERSION})"


def test_answers_are_spans_of_their_passages():
    paragraphs = generate_tiny_squad()["data"][0]["paragraphs"]
    questions = [qa for p in paragraphs for qa in p["qas"]]
    assert 150 <= len(questions) <= 250
    assert len({qa["id"] for qa in questions}) == len(questions)
    for p in paragraphs:
        for qa in p["qas"]:
            (answer,) = qa["answers"]
            start = answer["answer_start"]
            assert p["context"][start : start + len(answer["text"])] == answer["text"]


def test_vocab_is_bert_shaped():
    vocab = build_tiny_vocab()
    assert vocab[:5] == ["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]"]
    assert len(vocab) == len(set(vocab)) and "##a" in vocab and "##9" in vocab


def test_ensure_writes_once_and_features_cover_long_passages(settings):
    data = ensure_tiny_data(settings)
    assert data.dataset_path.parent.name == f"tiny-squad-v{TINY_DATA_VERSION}"
    mtime = data.dataset_path.stat().st_mtime_ns
    assert ensure_tiny_data(settings) == data and data.dataset_path.stat().st_mtime_ns == mtime
    assert not [p for p in settings.datasets_dir.iterdir() if p != data.dataset_path.parent]
    feats = load_features(data.dataset_path, data.vocab_path, settings)
    assert (feats.input_ids == 1).sum() == 0  # no [UNK]
    assert feats.count > len(feats.examples)  # some passages need several doc_stride windows
    assert np.bincount(feats.raw.example_index).max() >= 2


def test_gold_spans_on_tiny_data_score_100(settings, tmp_path):
    data = ensure_tiny_data(settings)
    feats = load_features(data.dataset_path, data.vocab_path, settings)
    raw, entries = feats.raw, []
    for r in range(feats.count):
        lg = np.zeros((384, 2), dtype=np.float32)
        if raw.start_positions[r] > 0:
            lg[raw.start_positions[r], 0] = lg[raw.end_positions[r], 1] = 10.0
        entries.append({"seq_id": r, "qsl_idx": r, "data": lg.tobytes().hex()})
    (tmp_path / "log.json").write_text(json.dumps(entries))
    result = score_accuracy_log(tmp_path / "log.json", feats, tmp_path, "tiny")
    assert result.exact_match == 100.0 and result.f1 == 100.0
    assert result.target_f1 is None and result.passed is None
    assert result.note == "not an MLPerf model: accuracy target not applicable"
