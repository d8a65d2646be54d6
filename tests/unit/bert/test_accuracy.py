from __future__ import annotations

import json
import re

import numpy as np
import pytest

from crowdperf.errors import MissingInputError, ResultsError
from crowdperf.workloads.bert.accuracy import NOT_MLPERF_NOTE, read_accuracy_log, score_accuracy_log
from crowdperf.workloads.bert.answer_spans import SpanParams, best_span_in_feature, final_text
from crowdperf.workloads.bert.dataset import load_features
from crowdperf.workloads.bert.squad_metrics import f1_score, normalize_answer, score_question

# tools/submission/submission_checker/constants.py: the "F1" accuracy pattern.
CHECKER_F1 = re.compile(r"^{[\"\']exact_match[\"\']\:\s*[\d\.]+,\s*[\"\']f1[\"\']\:\s*([\d\.]+)}")


def write_log(path, logits_by_row, dtype=np.float32):
    entries = [
        {"seq_id": i, "qsl_idx": row, "data": np.asarray(lg, dtype=dtype).tobytes().hex()}
        for i, (row, lg) in enumerate(logits_by_row.items())
    ]
    path.write_text(json.dumps(entries))
    return path


def answer_logits(feats, row, start, end, width=None):
    lg = np.zeros((width or 384, 2), dtype=np.float32)
    lg[start, 0] = lg[end, 1] = 10.0
    return lg


def test_gold_spans_score_100_and_checker_reads_accuracy_txt(small_squad, settings, tmp_path):
    feats = load_features(*small_squad, settings)
    raw = feats.raw
    logs = {r: answer_logits(feats, r, raw.start_positions[r], raw.end_positions[r]) for r in range(2)}
    result = score_accuracy_log(write_log(tmp_path / "log.json", logs), feats, tmp_path / "out", "bert-99")
    assert (result.exact_match, result.f1, result.n_questions) == (100.0, 100.0, 2)
    assert result.passed is True and result.target_f1 == pytest.approx(89.96526)
    preds = json.loads((tmp_path / "out" / "predictions.json").read_text())
    assert preds == {"q1": "on the mat", "q2": "The dog"}
    first_line = (tmp_path / "out" / "accuracy.txt").read_text().splitlines()[0]
    assert float(CHECKER_F1.match(first_line).group(1)) == 100.0


def test_wrong_span_scores_partial_f1_and_fails_target(small_squad, settings, tmp_path):
    feats = load_features(*small_squad, settings)
    # q1 predicts "the mat" (positions 12..13): F1 vs "on the mat" = 2*1*0.5/1.5 = 0.667 (articles dropped)
    logs = {0: answer_logits(feats, 0, 12, 13), 1: answer_logits(feats, 1, 13, 13)}
    result = score_accuracy_log(write_log(tmp_path / "l.json", logs), feats, tmp_path, "bert-99.9")
    assert result.exact_match == 0.0 + 50.0  # q2 "dog" matches the second gold answer exactly
    assert result.f1 == pytest.approx(100 * (2 / 3 + 1) / 2)
    assert result.passed is False


def test_subset_scores_only_complete_questions(small_squad, settings, tmp_path):
    feats = load_features(*small_squad, settings)
    raw = feats.raw
    logs = {0: answer_logits(feats, 0, raw.start_positions[0], raw.end_positions[0])}
    result = score_accuracy_log(write_log(tmp_path / "l.json", logs), feats, tmp_path, "tiny")
    assert result.n_questions == 1 and result.f1 == 100.0 and result.n_features_scored == 1
    assert result.passed is None and result.target_f1 is None
    assert "scored 1 of 2" in result.note and NOT_MLPERF_NOTE in result.note


def test_float16_and_short_logits_are_padded(small_squad, settings, tmp_path):
    feats = load_features(*small_squad, settings)
    raw = feats.raw
    width = int(feats.lengths.max())
    logs = {r: answer_logits(feats, r, raw.start_positions[r], raw.end_positions[r], width) for r in range(2)}
    path = write_log(tmp_path / "l.json", logs, dtype=np.float16)
    decoded = read_accuracy_log(path, "float16")
    assert decoded[0].shape == (384, 2) and (decoded[0][width:] == -10000).all()
    assert score_accuracy_log(path, feats, tmp_path, "bert-99", dtype="float16").f1 == 100.0


def test_unusable_logs_raise(small_squad, settings, tmp_path):
    feats = load_features(*small_squad, settings)
    with pytest.raises(MissingInputError):
        score_accuracy_log(tmp_path / "none.json", feats, tmp_path, "bert-99")
    (tmp_path / "bad.json").write_text('[{"qsl_idx": 0, "data": "abc"}]')
    with pytest.raises(ResultsError):
        score_accuracy_log(tmp_path / "bad.json", feats, tmp_path, "bert-99")
    out_of_range = write_log(tmp_path / "r.json", {7: np.zeros((384, 2))})
    with pytest.raises(ResultsError, match="qsl_idx"):
        score_accuracy_log(out_of_range, feats, tmp_path, "bert-99")


def _feature(seq=40, length=30, doc_from=5):
    token_to_orig = np.full(seq, -1, dtype=np.int32)
    token_to_orig[doc_from : length - 1] = np.arange(length - 1 - doc_from)
    return token_to_orig, np.ones(seq, dtype=bool)


def test_n_best_rejects_invalid_spans():
    t2o, maxc = _feature()
    params = SpanParams()
    lg = np.full((40, 2), -5.0)
    lg[10, 0], lg[8, 1] = 9, 9  # end before start: rejected
    lg[12, 0], lg[13, 1] = 1, 1
    best = best_span_in_feature(0, lg, 30, t2o, maxc, params)
    assert (best.start, best.end) == (10, 13)  # not (10, 8)
    lg = np.full((40, 2), -5.0)
    lg[2, 0], lg[3, 1] = 9, 9  # inside the query (no paragraph word): rejected
    lg[35, 0], lg[36, 1] = 9, 9  # in the padding past the real length: rejected
    lg[20, 0], lg[21, 1] = 0, 0
    assert (best_span_in_feature(0, lg, 30, t2o, maxc, params).start, 21) == (20, 21)
    maxc_off = maxc.copy()
    maxc_off[20] = False  # start not at its max context: rejected
    assert best_span_in_feature(0, lg, 30, t2o, maxc_off, params).start != 20
    long = np.full((80, 2), -5.0)
    t2o_long, maxc_long = _feature(80, 75)
    long[6, 0], long[50, 1] = 9, 9  # 45 tokens > max_answer_length 30
    long[40, 0], long[41, 1] = 1, 1
    assert (best_span_in_feature(0, long, 75, t2o_long, maxc_long, params).start, 41) == (40, 41)
    assert best_span_in_feature(0, np.zeros((40, 2)), 4, t2o, maxc, params) is None


def test_n_best_ties_keep_the_first_span():
    t2o, maxc = _feature()
    lg = np.zeros((40, 2))
    lg[[8, 15], 0] = 3
    lg[[9, 16], 1] = 3
    best = best_span_in_feature(0, lg, 30, t2o, maxc, SpanParams())
    assert (best.start, best.end) == (8, 9)


def test_final_text_projects_back_to_original_words():
    assert final_text("steve smith", "Steve Smith's") == "Steve Smith"
    assert final_text("1990", "(1990)") == "1990"
    assert final_text("nowhere", "Steve Smith") == "Steve Smith"  # not found: whole text
    assert final_text("cafe", "Café") == "Café"  # accent stripped -> lengths align


def test_official_squad_metrics():
    assert normalize_answer("The  Cat, sat!") == "cat sat"
    assert f1_score("the cat sat", "a cat") == pytest.approx(2 * 0.5 * 1 / 1.5)
    assert score_question("Dog", ["the dog", "cat"]) == (1.0, 1.0)
    assert score_question("x", []) == (0.0, 0.0)


@pytest.mark.slow  # ~5 s: 10,833 logits through hex JSON and post-processing
def test_real_dev_set_gold_logits_score_near_100(real_squad, settings, tmp_path):
    feats = load_features(*real_squad, settings)
    raw = feats.raw
    logs = {}
    for r in range(feats.count):
        lg = np.zeros((384, 2), dtype=np.float32)
        if raw.start_positions[r] > 0:
            lg[raw.start_positions[r], 0] = lg[raw.end_positions[r], 1] = 10.0
        logs[r] = lg
    result = score_accuracy_log(write_log(tmp_path / "l.json", logs), feats, tmp_path, "bert-99")
    assert result.n_questions == 10_570 and result.n_features_scored == 10_833
    assert result.exact_match > 99.5 and result.f1 > 99.5 and result.passed is True


def test_question_on_an_empty_paragraph_gets_the_empty_answer(tmp_path, settings, squad_writer):
    write_squad, write_vocab = squad_writer
    dev = write_squad(tmp_path / "d.json", [
        {"context": "the cat", "qas": [{"id": "a", "question": "who?", "answers": [
            {"text": "cat", "answer_start": 4}]}]},
        {"context": "   ", "qas": [{"id": "b", "question": "who?", "answers": [
            {"text": "x", "answer_start": 0}]}]},
    ])  # fmt: skip
    feats = load_features(dev, write_vocab(tmp_path / "v.txt"), settings)
    assert feats.count == 1 and len(feats.examples) == 2
    logs = {0: answer_logits(feats, 0, feats.raw.start_positions[0], feats.raw.end_positions[0])}
    result = score_accuracy_log(write_log(tmp_path / "l.json", logs), feats, tmp_path, "bert-99")
    assert result.n_questions == 2 and result.f1 == 50.0 and result.passed is False
    assert json.loads((tmp_path / "predictions.json").read_text()) == {"a": "cat", "b": "empty"}
