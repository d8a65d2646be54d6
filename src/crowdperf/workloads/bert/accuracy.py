"""Score a LoadGen accuracy log on SQuAD: the reference ``accuracy-squad.py`` + ``evaluate_v1.1.py``.

``mlperf_log_accuracy.json`` is a list of ``{"seq_id", "qsl_idx", "data"}`` where ``data`` is the
hex of the sample's response: logits ``(seq, 2)`` (start, end) of ``dtype`` (float32 by default;
NVIDIA ships float16). Logits shorter than 384 positions are padded with -10000, a repeated
``qsl_idx`` keeps its last response (both as the reference). Writes ``predictions.json`` and
``accuracy.txt`` whose first line is ``{"exact_match": EM, "f1": F1}``, the form the submission
checker's regex reads (tools/submission/submission_checker/constants.py, ``"F1"`` pattern).
"""

from __future__ import annotations

import json
from collections import defaultdict
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from crowdperf.atomic import atomic_write_text
from crowdperf.errors import MissingInputError, ResultsError, UsageError
from crowdperf.workloads.bert.answer_spans import SpanParams, best_span_in_feature, span_text
from crowdperf.workloads.bert.dataset import PAD_LOGIT, SquadFeatures
from crowdperf.workloads.bert.rules import f1_target
from crowdperf.workloads.bert.squad_metrics import score_question

LOG_DTYPES = ("float16", "float32", "float64", "int8", "int16", "int32", "int64")
NOT_MLPERF_NOTE = "not an MLPerf model: accuracy target not applicable"


@dataclass(frozen=True)
class SquadAccuracy:
    exact_match: float  # percent
    f1: float  # percent
    n_questions: int  # questions scored
    n_features_scored: int  # distinct QSL samples read from the log
    target_f1: float | None  # the model's MLPerf F1 target; None when not an MLPerf model
    passed: bool | None  # f1 >= target_f1; None when no target or only a subset was scored
    note: str
    predictions_path: Path | None = None
    accuracy_txt_path: Path | None = None


def read_accuracy_log(path: Path, dtype: str = "float32", seq: int = 384) -> dict[int, np.ndarray]:
    """qsl_idx -> logits (seq, 2) float64, padded with -10000 like the reference."""
    if dtype not in LOG_DTYPES:
        raise UsageError(f"unknown logits dtype {dtype!r}", hint=f"use one of {', '.join(LOG_DTYPES)}")
    try:
        entries = json.loads(path.read_text())
    except FileNotFoundError as exc:
        raise MissingInputError(f"accuracy log not found: {path}", hint="run with --mode accuracy") from exc
    except (OSError, ValueError) as exc:
        raise ResultsError(
            f"{path} is not a LoadGen accuracy log: {exc}", hint="re-run the accuracy run"
        ) from exc
    logits: dict[int, np.ndarray] = {}
    try:
        for entry in entries:
            values = np.frombuffer(bytes.fromhex(entry["data"]), dtype=dtype).reshape(-1, 2)
            padded = np.full((seq, 2), PAD_LOGIT, dtype=np.float64)
            padded[: len(values)] = values
            logits[int(entry["qsl_idx"])] = padded
    except (KeyError, TypeError, ValueError) as exc:
        raise ResultsError(
            f"{path}: entry is not a {dtype} (<= {seq}, 2) logits response: {exc}",
            hint="check --dtype matches what the backend returned",
        ) from exc
    return logits


def predict_answers(
    features: SquadFeatures, logits: dict[int, np.ndarray], params: SpanParams = SpanParams()
) -> tuple[dict[str, str], list[int]]:
    """Predicted text per question whose every feature has logits, and those example indices."""
    rows_of: dict[int, list[int]] = defaultdict(list)
    for row, example in enumerate(features.raw.example_index):
        rows_of[int(example)].append(row)
    raw, vocab = features.raw, features.vocab
    predictions: dict[str, str] = {}
    complete: list[int] = []
    for index, example in enumerate(features.examples):
        rows = rows_of.get(index, [])
        if any(r not in logits for r in rows):
            continue
        complete.append(index)  # an example without features (empty paragraph) scores "empty"
        candidates = [
            best_span_in_feature(
                r, logits[r], int(raw.lengths[r]), raw.token_to_orig[r], raw.token_is_max_context[r], params
            )
            for r in rows
        ]
        found = [c for c in candidates if c is not None]
        if not found:
            predictions[example.qas_id] = "empty"  # the reference's placeholder
            continue
        best = max(found, key=lambda c: c.score)  # max() keeps the first of equal scores
        tokens = [vocab[i] for i in raw.input_ids[best.row, best.start : best.end + 1]]
        orig = raw.token_to_orig[best.row]
        predictions[example.qas_id] = span_text(
            tokens, example.doc_tokens, int(orig[best.start]), int(orig[best.end])
        )
    return predictions, complete


def score_accuracy_log(
    log_path: Path,
    features: SquadFeatures,
    out_dir: Path,
    model: str,
    dtype: str = "float32",
) -> SquadAccuracy:
    """Decode, post-process and score an accuracy log; write predictions.json and accuracy.txt."""
    logits = read_accuracy_log(log_path, dtype, features.params.max_seq_length)
    if any(not 0 <= idx < features.count for idx in logits):
        raise ResultsError(
            f"{log_path} has qsl_idx outside 0..{features.count - 1}",
            hint="score it against the dataset the run used",
        )
    predictions, complete = predict_answers(features, logits)
    em = f1 = 0.0
    for index in complete:
        example = features.examples[index]
        q_em, q_f1 = score_question(predictions[example.qas_id], example.answers)
        em, f1 = em + q_em, f1 + q_f1
    n = len(complete)
    em, f1 = (100.0 * em / n, 100.0 * f1 / n) if n else (0.0, 0.0)
    target = f1_target(model)
    subset = n < len(features.examples)
    notes = []
    if subset:
        notes.append(
            f"subset: scored {n} of {len(features.examples)} questions (those whose every "
            "feature is in the log); the MLPerf target applies to the full set only"
        )
    if target is None:
        notes.append(NOT_MLPERF_NOTE)
    passed = None if (target is None or subset) else f1 >= target
    if passed is not None:
        notes.append(f"F1 {f1:.3f} {'>=' if passed else '<'} target {target:.5f} for {model}")
    out_dir.mkdir(parents=True, exist_ok=True)
    pred_path, acc_path = out_dir / "predictions.json", out_dir / "accuracy.txt"
    atomic_write_text(pred_path, json.dumps(predictions, indent=4) + "\n")
    atomic_write_text(acc_path, json.dumps({"exact_match": em, "f1": f1}) + "\n")
    return SquadAccuracy(em, f1, n, len(logits), target, passed, "; ".join(notes), pred_path, acc_path)
