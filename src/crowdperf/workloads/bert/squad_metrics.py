"""Official SQuAD v1.1 exact match and F1 (``language/bert/evaluate_v1.1.py`` semantics).

Answers are normalized (lowercase, punctuation removed, articles a/an/the removed, whitespace
collapsed); a prediction scores the best value over the question's gold answers; EM and F1 are
percentages averaged over questions.
"""

from __future__ import annotations

import re
import string
from collections import Counter
from collections.abc import Iterable

_PUNCTUATION = frozenset(string.punctuation)
_ARTICLES = re.compile(r"\b(a|an|the)\b")


def normalize_answer(text: str) -> str:
    text = "".join(ch for ch in text.lower() if ch not in _PUNCTUATION)
    return " ".join(_ARTICLES.sub(" ", text).split())


def f1_score(prediction: str, truth: str) -> float:
    pred_tokens = normalize_answer(prediction).split()
    true_tokens = normalize_answer(truth).split()
    same = sum((Counter(pred_tokens) & Counter(true_tokens)).values())
    if same == 0:
        return 0.0
    precision, recall = same / len(pred_tokens), same / len(true_tokens)
    return 2 * precision * recall / (precision + recall)


def exact_match_score(prediction: str, truth: str) -> float:
    return float(normalize_answer(prediction) == normalize_answer(truth))


def score_question(prediction: str, truths: Iterable[str]) -> tuple[float, float]:
    """(exact match, F1) of one prediction: the best over the gold answers; 0 when none."""
    truths = list(truths)
    if not truths:
        return 0.0, 0.0
    return (
        max(exact_match_score(prediction, t) for t in truths),
        max(f1_score(prediction, t) for t in truths),
    )
