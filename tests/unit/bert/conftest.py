"""Small hand-made SQuAD files for fast BERT data tests."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from crowdperf.settings import load_settings

WORDS = [
    "the",
    "cat",
    "sat",
    "on",
    "mat",
    "who",
    "where",
    "what",
    "did",
    "dog",
    "run",
    "park",
    "a",
    "in",
    ",",
    ".",
    "?",
    "##s",
    "##ed",
    "runs",
]


def write_vocab(path: Path, extra: list[str] = ()) -> Path:
    specials = ["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]"]
    path.write_text("\n".join(specials + WORDS + list(extra)) + "\n", encoding="utf-8")
    return path


def write_squad(path: Path, paragraphs: list[dict]) -> Path:
    path.write_text(json.dumps({"version": "1.1", "data": [{"title": "t", "paragraphs": paragraphs}]}))
    return path


@pytest.fixture
def small_squad(tmp_path: Path) -> tuple[Path, Path]:
    context = "The cat sat on the mat. The dog runs in the park."
    paragraphs = [
        {
            "context": context,
            "qas": [
                {"id": "q1", "question": "Where did the cat sat?", "answers": [
                    {"text": "on the mat", "answer_start": context.index("on the mat")}]},
                {"id": "q2", "question": "Who runs?", "answers": [
                    {"text": "The dog", "answer_start": context.index("The dog")},
                    {"text": "dog", "answer_start": context.index("dog")}]},
            ],
        }
    ]  # fmt: skip
    return write_squad(tmp_path / "dev.json", paragraphs), write_vocab(tmp_path / "vocab.txt")


@pytest.fixture
def squad_writer():
    """(write_squad, write_vocab) helpers."""
    return write_squad, write_vocab


@pytest.fixture
def settings():
    return load_settings()
