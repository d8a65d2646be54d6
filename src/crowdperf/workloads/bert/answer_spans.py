"""From start/end logits to an answer text: the reference's n-best post-processing.

Reference: ``language/bert/accuracy-squad.py`` ``write_predictions`` with n_best_size 20,
max_answer_length 30, do_lower_case True. For each feature, the 20 best start and 20 best end
positions form candidate spans; a span is kept when both ends are paragraph tokens of that
feature, the start has its max context there, end >= start and it is at most 30 tokens long.
The best candidate over the question's features (by start + end logit, first wins ties) is
turned back into paragraph text by ``final_text`` (the reference's ``get_final_text``).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from crowdperf.workloads.bert.tokenization import basic_tokenize


@dataclass(frozen=True)
class SpanParams:
    n_best_size: int = 20
    max_answer_length: int = 30


@dataclass(frozen=True)
class SpanCandidate:
    row: int  # feature (QSL) index
    start: int  # token position in the feature
    end: int
    score: float  # start logit + end logit


def best_indexes(logits: np.ndarray, n: int) -> np.ndarray:
    """Indices of the n largest values, larger first; equal values keep position order."""
    return np.argsort(-logits, kind="stable")[:n]


def best_span_in_feature(
    row: int,
    logits: np.ndarray,  # (seq, 2) float64 after padding to max_seq_length
    length: int,  # real tokens of the feature
    token_to_orig: np.ndarray,  # (seq,) int32, -1 where not a paragraph token
    is_max_context: np.ndarray,  # (seq,) bool
    params: SpanParams,
) -> SpanCandidate | None:
    """The feature's best valid span, or None; iteration order = the reference's loop order."""
    starts = best_indexes(logits[:, 0], params.n_best_size)
    ends = best_indexes(logits[:, 1], params.n_best_size)
    s, e = np.meshgrid(starts, ends, indexing="ij")  # (n_best, n_best): start-major like the loop
    valid = (s < length) & (e < length) & (e >= s) & (e - s + 1 <= params.max_answer_length)
    valid &= (token_to_orig[s] >= 0) & (token_to_orig[e] >= 0) & is_max_context[s]
    if not valid.any():
        return None
    scores = np.where(valid, logits[s, 0] + logits[e, 1], -np.inf)
    k = int(np.argmax(scores))  # first maximum = what a stable descending sort puts first
    i, j = divmod(k, scores.shape[1])
    return SpanCandidate(row, int(s[i, j]), int(e[i, j]), float(scores[i, j]))


def span_text(tokens: list[str], orig_words: tuple[str, ...], orig_start: int, orig_end: int) -> str:
    """Answer text for WordPiece ``tokens`` spanning paragraph words orig_start..orig_end."""
    tok_text = " ".join(tokens).replace(" ##", "").replace("##", "")
    tok_text = " ".join(tok_text.strip().split())
    orig_text = " ".join(orig_words[orig_start : orig_end + 1])
    return final_text(tok_text, orig_text)


def _strip_spaces(text: str) -> tuple[str, dict[int, int]]:
    kept = [(i, c) for i, c in enumerate(text) if c != " "]
    return "".join(c for _, c in kept), {n: i for n, (i, _) in enumerate(kept)}


def final_text(pred_text: str, orig_text: str) -> str:
    """Map the normalized prediction back onto the original words (get_final_text): the span
    of ``orig_text`` whose basic-tokenized form contains ``pred_text``; ``orig_text`` whole when
    the two cannot be aligned character for character."""
    tok_text = " ".join(basic_tokenize(orig_text))
    start = tok_text.find(pred_text)
    if start == -1:
        return orig_text
    end = start + len(pred_text) - 1
    orig_ns, orig_ns_to_s = _strip_spaces(orig_text)
    tok_ns, tok_ns_to_s = _strip_spaces(tok_text)
    if len(orig_ns) != len(tok_ns):
        return orig_text
    tok_s_to_ns = {s: ns for ns, s in tok_ns_to_s.items()}
    ns_start, ns_end = tok_s_to_ns.get(start), tok_s_to_ns.get(end)
    if ns_start is None or ns_end is None:
        return orig_text
    orig_start, orig_end = orig_ns_to_s.get(ns_start), orig_ns_to_s.get(ns_end)
    if orig_start is None or orig_end is None:
        return orig_text
    return orig_text[orig_start : orig_end + 1]
