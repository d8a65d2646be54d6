"""SQuAD v1.1 examples -> BERT features, exactly as the MLPerf reference.

Reference: mlcommons/inference ``language/bert/create_squad_data.py`` (read_squad_examples,
convert_examples_to_features, _check_is_max_context, _improve_answer_span) driven by
``squad_QSL.py`` with max_seq_length 384, doc_stride 128, max_query_length 64 and an uncased
``BertTokenizer``. Each feature is ``[CLS] query [SEP] doc-span [SEP]`` zero-padded to 384; the
real dev set gives 10,570 examples and 10,833 features.

Speed: every distinct whitespace word and every question is WordPiece-tokenized once, in one
batched call into the Rust tokenizer; the span/max-context logic is numpy per example.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from crowdperf.errors import MissingInputError
from crowdperf.workloads.bert.tokenization import BertUncasedTokenizer

# create_squad_data.read_squad_examples: these characters separate words.
_WHITESPACE = frozenset(" \t\r\n\u202f")


@dataclass(frozen=True)
class FeatureParams:
    """The reference's feature parameters (squad_QSL.py / accuracy-squad.py)."""

    max_seq_length: int = 384
    doc_stride: int = 128
    max_query_length: int = 64


@dataclass(frozen=True)
class SquadExample:
    """One question. ``doc_tokens`` are the paragraph's whitespace words (shared per paragraph)."""

    qas_id: str
    question_text: str
    doc_tokens: tuple[str, ...]
    answers: tuple[str, ...]  # every gold answer text (dev has up to 3+)
    answer_text: str  # the first answer, as in the reference's training path
    start_word: int  # word index of the first answer's start; -1 when it cannot be located
    end_word: int


@dataclass
class RawFeatures:
    """Feature arrays as built (compact dtypes); ``SquadFeatures`` wraps them for use."""

    input_ids: np.ndarray  # (n, seq) int32, 0-padded
    lengths: np.ndarray  # (n,) int32: real tokens ([CLS] .. last [SEP])
    query_lengths: np.ndarray  # (n,) int32: query WordPieces (after truncation)
    example_index: np.ndarray  # (n,) int32
    token_to_orig: np.ndarray  # (n, seq) int32: doc word of each position, -1 outside the span
    token_is_max_context: np.ndarray  # (n, seq) bool
    start_positions: np.ndarray  # (n,) int32: first answer's start position, 0 if not in span
    end_positions: np.ndarray  # (n,) int32


def split_whitespace(text: str) -> tuple[list[str], list[int]]:
    """Words of a paragraph and, per character, the index of the word it belongs to."""
    words: list[str] = []
    char_to_word: list[int] = []
    prev_is_space = True
    for c in text:
        if c in _WHITESPACE:
            prev_is_space = True
        else:
            if prev_is_space:
                words.append(c)
            else:
                words[-1] += c
            prev_is_space = False
        char_to_word.append(len(words) - 1)
    return words, char_to_word


def read_squad_examples(path: Path) -> list[SquadExample]:
    """Parse a SQuAD v1.1 JSON file into examples, in file order."""
    try:
        data = json.loads(path.read_text(encoding="utf-8"))["data"]
    except FileNotFoundError as exc:
        raise MissingInputError(
            f"SQuAD file not found: {path}",
            hint="pass --dataset-path with dev-v1.1.json (or --download to fetch it into the cache)",
        ) from exc
    except (OSError, ValueError, KeyError, TypeError) as exc:
        raise MissingInputError(
            f"{path} is not a readable SQuAD v1.1 JSON file ({type(exc).__name__}: {exc})",
            hint="re-download dev-v1.1.json (MD5 3e85deb501d4e538b6bc56f786231552)",
        ) from exc
    examples: list[SquadExample] = []
    try:
        for article in data:
            for paragraph in article["paragraphs"]:
                words, char_to_word = split_whitespace(paragraph["context"])
                doc_tokens = tuple(words)
                for qa in paragraph["qas"]:
                    examples.append(_example(qa, doc_tokens, char_to_word))
    except (KeyError, TypeError, IndexError) as exc:
        raise MissingInputError(
            f"{path} does not have the SQuAD v1.1 layout (data/paragraphs/qas): {exc!r}",
            hint="pass the official dev-v1.1.json or a file in the same format",
        ) from exc
    return examples


def _example(qa: dict, doc_tokens: tuple[str, ...], char_to_word: list[int]) -> SquadExample:
    answers = tuple(a["text"] for a in qa["answers"])
    start = end = -1
    text = ""
    if qa["answers"]:
        first = qa["answers"][0]
        text, offset = first["text"], int(first["answer_start"])
        if text and offset >= 0 and offset + len(text) - 1 < len(char_to_word):
            start, end = char_to_word[offset], char_to_word[offset + len(text) - 1]
            # The reference drops training examples whose span text does not match; we keep the
            # example (evaluation uses all of them) and only forget the position.
            if " ".join(doc_tokens[start : end + 1]).find(" ".join(text.split())) == -1:
                start = end = -1
    return SquadExample(qa["id"], qa["question"], doc_tokens, answers, text, start, end)


ProgressFn = Callable[[int, int], None]


def convert_examples_to_features(
    examples: list[SquadExample],
    tokenizer: BertUncasedTokenizer,
    params: FeatureParams = FeatureParams(),
    progress: ProgressFn | None = None,
) -> RawFeatures:
    """All features of all examples, in the reference's order (example, then doc span)."""
    words = {w for ex in examples for w in ex.doc_tokens}
    word_list = sorted(words)
    word_ids = dict(zip(word_list, tokenizer.encode_many(word_list), strict=True))
    queries = tokenizer.encode_many([ex.question_text for ex in examples])
    answers = tokenizer.encode_many([ex.answer_text for ex in examples])

    builder = _FeatureBuilder(params, tokenizer.cls_id, tokenizer.sep_id)
    doc_cache: tuple[tuple[str, ...], np.ndarray, np.ndarray, np.ndarray] | None = None
    for index, ex in enumerate(examples):
        if doc_cache is None or doc_cache[0] is not ex.doc_tokens:
            doc_cache = (ex.doc_tokens, *_doc_wordpieces(ex.doc_tokens, word_ids))
        _, doc_ids, tok_to_orig, orig_to_tok = doc_cache
        query = queries[index][: params.max_query_length]
        tok_span = _answer_token_span(ex, doc_ids, tok_to_orig, orig_to_tok, answers[index])
        builder.add_example(index, query, doc_ids, tok_to_orig, tok_span)
        if progress is not None and (index % 500 == 0 or index == len(examples) - 1):
            progress(index + 1, len(examples))
    return builder.finish()


def _doc_wordpieces(
    doc_tokens: tuple[str, ...], word_ids: dict[str, list[int]]
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Paragraph WordPiece ids, the word of each piece, and the first piece of each word."""
    pieces = [word_ids[w] for w in doc_tokens]
    counts = np.fromiter((len(p) for p in pieces), dtype=np.int64, count=len(pieces))
    doc_ids = np.fromiter((i for p in pieces for i in p), dtype=np.int32, count=int(counts.sum()))
    tok_to_orig = np.repeat(np.arange(len(pieces), dtype=np.int32), counts)
    orig_to_tok = np.concatenate(([0], np.cumsum(counts)[:-1])).astype(np.int64)
    return doc_ids, tok_to_orig, orig_to_tok


def _answer_token_span(
    ex: SquadExample,
    doc_ids: np.ndarray,
    tok_to_orig: np.ndarray,
    orig_to_tok: np.ndarray,
    answer_ids: list[int],
) -> tuple[int, int] | None:
    """The first answer in WordPiece positions (reference training path), or None."""
    if ex.start_word < 0:
        return None
    start = int(orig_to_tok[ex.start_word])
    end = int(orig_to_tok[ex.end_word + 1]) - 1 if ex.end_word < len(ex.doc_tokens) - 1 else len(doc_ids) - 1
    # _improve_answer_span: the tightest sub-span whose pieces equal the answer's pieces.
    target = np.asarray(answer_ids, dtype=np.int32)
    n = len(target)
    for new_start in range(start, end + 1):
        new_end = new_start + n - 1
        if n and new_end <= end and np.array_equal(doc_ids[new_start : new_end + 1], target):
            return new_start, new_end
    return start, end


class _FeatureBuilder:
    """Accumulates doc spans into preallocated-per-feature rows."""

    def __init__(self, params: FeatureParams, cls_id: int, sep_id: int) -> None:
        self.p, self.cls_id, self.sep_id = params, cls_id, sep_id
        self.rows: list[tuple] = []

    def add_example(
        self,
        index: int,
        query: list[int],
        doc_ids: np.ndarray,
        tok_to_orig: np.ndarray,
        tok_span: tuple[int, int] | None,
    ) -> None:
        max_doc = self.p.max_seq_length - len(query) - 3
        spans = _doc_spans(len(doc_ids), max_doc, self.p.doc_stride)
        best = _max_context_span(spans, len(doc_ids))
        for span_index, (start, length) in enumerate(spans):
            stop = start + length
            offset = len(query) + 2  # [CLS] query [SEP]
            ids = np.concatenate(([self.cls_id], query, [self.sep_id], doc_ids[start:stop], [self.sep_id]))
            start_pos = end_pos = 0
            if tok_span is not None and start <= tok_span[0] and tok_span[1] < stop:
                start_pos, end_pos = tok_span[0] - start + offset, tok_span[1] - start + offset
            self.rows.append(
                (ids, len(query), index, tok_to_orig[start:stop], best[start:stop] == span_index,
                 start_pos, end_pos)
            )  # fmt: skip

    def finish(self) -> RawFeatures:
        n, seq = len(self.rows), self.p.max_seq_length
        input_ids = np.zeros((n, seq), dtype=np.int32)
        token_to_orig = np.full((n, seq), -1, dtype=np.int32)
        max_context = np.zeros((n, seq), dtype=bool)
        for i, (ids, qlen, _, orig, is_max, _, _) in enumerate(self.rows):
            input_ids[i, : len(ids)] = ids
            token_to_orig[i, qlen + 2 : qlen + 2 + len(orig)] = orig
            max_context[i, qlen + 2 : qlen + 2 + len(orig)] = is_max
        col = lambda k: np.array([r[k] for r in self.rows], dtype=np.int32)  # noqa: E731
        return RawFeatures(
            input_ids=input_ids,
            lengths=np.array([len(r[0]) for r in self.rows], dtype=np.int32),
            query_lengths=col(1),
            example_index=col(2),
            token_to_orig=token_to_orig,
            token_is_max_context=max_context,
            start_positions=col(5),
            end_positions=col(6),
        )


def _doc_spans(n_tokens: int, max_doc: int, stride: int) -> list[tuple[int, int]]:
    """Sliding windows (start, length): the reference's loop, including its stride rule."""
    spans: list[tuple[int, int]] = []
    start = 0
    while start < n_tokens:
        length = min(n_tokens - start, max_doc)
        spans.append((start, length))
        if start + length == n_tokens:
            break
        start += min(length, stride)
    return spans


def _max_context_span(spans: list[tuple[int, int]], n_tokens: int) -> np.ndarray:
    """For each doc piece, the span where it has the most context (_check_is_max_context):
    score = min(left, right context) + 0.01 * span length; the first span wins ties."""
    if len(spans) <= 1:  # one window (or an empty paragraph: no windows)
        return np.zeros(n_tokens, dtype=np.int32)
    pos = np.arange(n_tokens)
    scores = np.full((len(spans), n_tokens), -np.inf)
    for k, (start, length) in enumerate(spans):
        end = start + length - 1
        inside = (pos >= start) & (pos <= end)
        score = np.minimum(pos - start, end - pos) + 0.01 * length
        scores[k, inside] = score[inside]
    return np.argmax(scores, axis=0).astype(np.int32)
