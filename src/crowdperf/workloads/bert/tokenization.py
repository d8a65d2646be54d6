"""Uncased BERT WordPiece tokenization with the `tokenizers` library (no transformers at runtime).

The MLPerf reference builds features with ``transformers.BertTokenizer(vocab_file)`` (uncased):
BasicTokenizer (clean control chars, split CJK chars, lowercase + strip accents, split on
whitespace and punctuation) then greedy longest-match WordPiece with ``##`` continuation pieces
and ``[UNK]`` for words longer than 100 characters. ``BertNormalizer`` + ``BertPreTokenizer`` +
``WordPiece`` in `tokenizers` is the same pipeline in Rust; tests check the real dev set gives the
reference's 10,833 features (and, where transformers is installed, token-for-token agreement).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from tokenizers import Tokenizer, normalizers, pre_tokenizers
from tokenizers.models import WordPiece

from crowdperf.errors import MissingInputError

UNK, CLS, SEP, PAD, MASK = "[UNK]", "[CLS]", "[SEP]", "[PAD]", "[MASK]"


@dataclass(frozen=True)
class WordPieceVocab:
    """A BERT vocab file: token per line, id = line number."""

    tokens: tuple[str, ...]

    @classmethod
    def read(cls, path: Path) -> WordPieceVocab:
        try:
            text = path.read_text(encoding="utf-8")
        except (OSError, UnicodeDecodeError) as exc:
            raise MissingInputError(
                f"cannot read vocab file {path}: {exc}",
                hint="pass --vocab-path with the model's vocab.txt (one WordPiece token per line)",
            ) from exc
        tokens = tuple(line.rstrip("\r") for line in text.split("\n"))
        if tokens and tokens[-1] == "":
            tokens = tokens[:-1]
        missing = [t for t in (UNK, CLS, SEP) if t not in tokens]
        if missing:
            raise MissingInputError(
                f"{path} is not a BERT vocab: no {', '.join(missing)} token",
                hint="pass --vocab-path with the model's vocab.txt",
            )
        return cls(tokens)

    def token_to_id(self) -> dict[str, int]:
        # transformers' load_vocab: a repeated token keeps its last line number.
        return {tok: i for i, tok in enumerate(self.tokens)}


class BertUncasedTokenizer:
    """Uncased BasicTokenizer + WordpieceTokenizer, batch-capable."""

    def __init__(self, vocab: WordPieceVocab) -> None:
        self.vocab = vocab
        self.ids = vocab.token_to_id()
        self.cls_id, self.sep_id = self.ids[CLS], self.ids[SEP]
        tok = Tokenizer(WordPiece(self.ids, unk_token=UNK, max_input_chars_per_word=100))
        tok.normalizer = normalizers.BertNormalizer(
            clean_text=True, handle_chinese_chars=True, strip_accents=None, lowercase=True
        )
        tok.pre_tokenizer = pre_tokenizers.BertPreTokenizer()
        self._tok = tok

    def encode_many(self, texts: Sequence[str]) -> list[list[int]]:
        """WordPiece ids of each text (no special tokens), tokenized in parallel."""
        encodings = self._tok.encode_batch(list(texts), add_special_tokens=False)
        return [e.ids for e in encodings]

    def tokenize(self, text: str) -> list[str]:
        """WordPiece tokens of one text, like ``BertTokenizer.tokenize``."""
        return self._tok.encode(text, add_special_tokens=False).tokens


_BASIC_NORMALIZER = normalizers.BertNormalizer(
    clean_text=True, handle_chinese_chars=True, strip_accents=None, lowercase=True
)
_BASIC_SPLIT = pre_tokenizers.BertPreTokenizer()


def basic_tokenize(text: str) -> list[str]:
    """Uncased BasicTokenizer only (lowercased words and punctuation), for answer alignment."""
    return [word for word, _ in _BASIC_SPLIT.pre_tokenize_str(_BASIC_NORMALIZER.normalize_str(text))]
