from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from crowdperf.errors import MissingInputError
from crowdperf.workloads.bert import feature_cache
from crowdperf.workloads.bert.dataset import PAD_LOGIT, load_features
from crowdperf.workloads.bert.squad import FeatureParams, _doc_spans, _max_context_span, split_whitespace
from crowdperf.workloads.bert.tokenization import BertUncasedTokenizer, WordPieceVocab


def test_layout_of_a_feature(small_squad, settings):
    dev, vocab = small_squad
    feats = load_features(dev, vocab, settings)
    assert len(feats.examples) == 2 and feats.count == 2
    words = feats.vocab
    row = [words[i] for i in feats.input_ids[0, : feats.lengths[0]]]
    # [CLS] query [SEP] paragraph [SEP]; "sat" stays whole, "cat" too, "mat." -> mat .
    assert row[:8] == ["[CLS]", "where", "did", "the", "cat", "sat", "?", "[SEP]"]
    assert row[8:15] == ["the", "cat", "sat", "on", "the", "mat", "."]
    assert row[-1] == "[SEP]"
    assert feats.input_ids.dtype == np.int64 and feats.input_ids.shape == (2, 384)
    assert feats.input_mask[0].sum() == feats.lengths[0]
    assert feats.segment_ids[0, :8].sum() == 0 and feats.segment_ids[0, 8 : feats.lengths[0]].all()
    assert (
        feats.segment_ids[0, feats.lengths[0] :].sum() == 0
        and feats.input_ids[0, feats.lengths[0] :].sum() == 0
    )
    # token_to_orig: "mat" and "." both map to whitespace word "mat." (index 5)
    assert feats.raw.token_to_orig[0, 13] == 5 and feats.raw.token_to_orig[0, 14] == 5
    assert feats.raw.token_to_orig[0, 7] == -1
    # the first gold answer "on the mat" sits at positions 11..13
    assert (feats.raw.start_positions[0], feats.raw.end_positions[0]) == (11, 13)


def test_unknown_words_become_unk(tmp_path, settings, squad_writer):
    write_squad, write_vocab = squad_writer
    dev = write_squad(tmp_path / "d.json", [{"context": "zebra cats", "qas": [
        {"id": "a", "question": "what?", "answers": [{"text": "cats", "answer_start": 6}]}]}])  # fmt: skip
    feats = load_features(dev, write_vocab(tmp_path / "v.txt"), settings)
    row = [feats.vocab[i] for i in feats.input_ids[0, : feats.lengths[0]]]
    assert row == ["[CLS]", "what", "?", "[SEP]", "[UNK]", "cat", "##s", "[SEP]"]


def test_doc_stride_windows_and_max_context():
    spans = _doc_spans(300, 100, 128)
    assert spans == [(0, 100), (100, 100), (200, 100)]  # stride capped by the span length
    assert _doc_spans(300, 200, 128) == [(0, 200), (128, 172)]
    best = _max_context_span([(0, 200), (128, 172)], 300)
    assert best[0] == 0 and best[299] == 1
    # position 150: span0 min(150,49)=49+2; span1 min(22,149)=22+1.72 -> span 0
    assert best[150] == 0 and best[180] == 1


def test_whitespace_split_maps_characters_to_words():
    words, char_to_word = split_whitespace(" a\u202fbc  d")
    assert words == ["a", "bc", "d"]
    assert char_to_word == [-1, 0, 0, 1, 1, 1, 1, 2]


def test_long_paragraph_is_split_with_stride(tmp_path, settings, squad_writer):
    write_squad, write_vocab = squad_writer
    context = " ".join(["cat"] * 500)
    dev = write_squad(tmp_path / "d.json", [{"context": context, "qas": [
        {"id": "a", "question": "who?", "answers": [{"text": "cat", "answer_start": 0}]}]}])  # fmt: skip
    feats = load_features(dev, write_vocab(tmp_path / "v.txt"), settings)
    # 384 - 2 query pieces - 3 = 379 doc pieces per window; stride 128 -> starts 0, 128
    assert feats.count == 2
    assert list(feats.lengths) == [384, 2 + 3 + 500 - 128]
    # each doc piece is max-context in exactly one feature
    owners = feats.raw.token_is_max_context.sum()
    assert owners == 500


def test_gather_trims_and_pad_logits_restores(small_squad, settings):
    feats = load_features(*small_squad, settings)
    batch = feats.gather([1, 0])
    width = int(feats.lengths.max())
    assert batch.input_ids.shape == (2, width) and batch.input_ids.flags.c_contiguous
    assert np.array_equal(batch.input_ids[0], feats.input_ids[1, :width])
    assert feats.gather([0], trim=False).input_ids.shape == (1, 384)
    logits = np.ones((2, width, 2), dtype=np.float32)
    padded = feats.pad_logits(logits)
    assert padded.shape == (2, 384, 2) and padded.dtype == np.float32
    assert (padded[:, width:] == PAD_LOGIT).all() and (padded[:, :width] == 1).all()


def test_cache_is_reused_and_rebuilt_when_corrupt(small_squad, settings):
    dev, vocab = small_squad
    first = load_features(dev, vocab, settings)
    assert not first.cache_hit
    second = load_features(dev, vocab, settings)
    assert second.cache_hit and np.array_equal(first.input_ids, second.input_ids)
    (cached,) = settings.features_dir.glob("*.npz")
    cached.write_bytes(b"not a zip")
    third = load_features(dev, vocab, settings)
    assert not third.cache_hit and np.array_equal(first.input_ids, third.input_ids)
    # other parameters -> another key
    key_a = feature_cache.cache_key(dev, vocab, FeatureParams())
    assert key_a != feature_cache.cache_key(dev, vocab, FeatureParams(doc_stride=64))
    assert not list(settings.features_dir.glob("*.tmp"))


def test_missing_and_corrupt_inputs_raise_clear_errors(tmp_path, small_squad, settings):
    dev, vocab = small_squad
    with pytest.raises(MissingInputError, match="--dataset-path"):
        load_features(tmp_path / "nope.json", vocab, settings)
    bad = tmp_path / "bad.json"
    bad.write_text("{not json")
    with pytest.raises(MissingInputError, match="not a readable SQuAD"):
        load_features(bad, vocab, settings)
    bad_vocab = tmp_path / "v.txt"
    bad_vocab.write_text("a\nb\n")
    with pytest.raises(MissingInputError, match="not a BERT vocab"):
        load_features(dev, bad_vocab, settings)


def test_real_dev_set_gives_reference_feature_count(real_squad, settings):
    dev, vocab = real_squad
    feats = load_features(dev, vocab, settings)
    assert len(feats.examples) == 10_570 and feats.vocab_size == 30_522
    assert feats.count == 10_833
    lengths = feats.lengths
    assert round(float(lengths.mean()), 2) == 178.49
    assert np.median(lengths) == 164 and np.percentile(lengths, 90) == 272 and lengths.max() == 384
    assert (feats.input_mask.sum(axis=1) == lengths).all()


def test_tokenizer_matches_transformers_on_real_words(real_squad):
    # The reference ran the pure-Python BertTokenizer (BasicTokenizer + WordpieceTokenizer).
    # transformers >= 5 made BertTokenizer the Rust backend; the Python one is BertTokenizerLegacy.
    transformers = pytest.importorskip("transformers")
    try:
        from transformers.models.bert.tokenization_bert_legacy import BertTokenizerLegacy as PyBert
    except ImportError:
        PyBert = transformers.BertTokenizer  # 4.x: the slow (Python) tokenizer
    dev, vocab_path = real_squad
    hf = PyBert(str(vocab_path))
    ours = BertUncasedTokenizer(WordPieceVocab.read(vocab_path))
    from crowdperf.workloads.bert.squad import read_squad_examples

    examples = read_squad_examples(Path(dev))[::20]
    texts = [e.question_text for e in examples] + sorted({w for e in examples[:60] for w in e.doc_tokens})
    for text, ids in zip(texts, ours.encode_many(texts), strict=True):
        assert ids == hf.convert_tokens_to_ids(hf.tokenize(text)), text
