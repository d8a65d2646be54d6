"""The embedded default data: a small SQuAD v1.1-format dev set and a WordPiece vocab for it.

Generated deterministically (fixed seed, fixed word lists; nothing downloaded): factual passages
about made-up towns (region, founding year, founder, river, population, trade, mayor) with
questions whose answers are spans of the passage. Paragraphs hold 1, 2 or 6 towns, so the
6-town ones are longer than 384 WordPieces and exercise the doc_stride windows. Town and person
names are built from syllables that the vocab holds as word starts and ``##`` pieces, so names
split into several WordPieces, as rare words do in the real set.

``ensure_tiny_data(settings)`` writes ``dev-v1.1.json`` and ``vocab.txt`` once under
``<cache>/datasets/tiny-squad-v<TINY_DATA_VERSION>/`` (built in a temporary directory, renamed).
"""

from __future__ import annotations

import json
import os
import random
import shutil
import string
import tempfile
from dataclasses import dataclass
from pathlib import Path

from crowdperf.settings import Settings

TINY_DATA_VERSION = 1
_SEED = 20_261_128
_PARAGRAPH_SIZES = (1, 2, 1, 6)  # towns per paragraph, cycled; 6 towns > 384 WordPieces
_N_TOWNS = 60
SPECIAL_TOKENS = ("[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]")  # [PAD] = 0

_SYLLABLES = [
    "ka",
    "lo",
    "vin",
    "dra",
    "mer",
    "sol",
    "tu",
    "ren",
    "bax",
    "qui",
    "zel",
    "por",
    "nim",
    "fa",
    "gor",
    "lis",
    "tem",
    "ul",
    "bri",
    "cas",
    "dor",
    "eth",
    "fen",
    "hal",
    "ix",
    "jor",
    "kel",
    "mun",
    "ost",
    "pel",
    "rav",
    "sin",
    "tor",
    "vel",
    "wyn",
    "yar",
]
_TRADES = [
    "copper",
    "glass",
    "wool",
    "silk",
    "cheese",
    "clocks",
    "paper",
    "salt",
    "wine",
    "pottery",
    "rope",
    "honey",
    "timber",
    "lace",
]
_PROFESSIONS = ["merchant", "sailor", "weaver", "miner", "scholar", "farmer", "builder", "priest"]

# (sentence, question, answer field); {T} is the town, fields are filled per town.
_FACTS = (
    ("{T} is a town in the region of {region}.", "In which region is {T}?", "region"),
    ("It was founded in {year} by the {profession} {founder}.", "When was {T} founded?", "year"),
    ("", "Who founded {T}?", "founder"),
    ("The {river} river flows through {T}.", "Which river flows through {T}?", "river"),
    ("{T} has a population of {population} people.", "How many people live in {T}?", "population"),
    ("The town is known for its {trade}.", "What is {T} known for?", "trade"),
    ("The mayor of {T} is {mayor}.", "Who is the mayor of {T}?", "mayor"),
)
_FILLER = (
    "Travellers often stop there on the way to the coast.",
    "Its old market square is paved with grey stone.",
    "Winters there are long and the summers are short.",
)


@dataclass(frozen=True)
class TinyData:
    dataset_path: Path
    vocab_path: Path


def _name(rng: random.Random, syllables: int) -> str:
    return "".join(rng.choice(_SYLLABLES) for _ in range(syllables)).capitalize()


def _town(rng: random.Random, name: str) -> dict[str, str]:
    return {
        "T": name,
        "region": _name(rng, 3),
        "year": str(rng.randint(1100, 1950)),
        "profession": rng.choice(_PROFESSIONS),
        "founder": f"{_name(rng, 2)} {_name(rng, 3)}",
        "river": _name(rng, 2),
        "population": str(rng.randint(800, 95_000)),
        "trade": rng.choice(_TRADES),
        "mayor": f"{_name(rng, 2)} {_name(rng, 2)}",
    }


def _paragraph(rng: random.Random, towns: list[dict[str, str]], first_id: int) -> dict:
    """Context text and 3-4 questions per town; answers located by character offset."""
    context = ""
    qas: list[dict[str, object]] = []
    for town in towns:
        offsets: dict[str, int] = {}
        for sentence, _, _ in _FACTS:
            if not sentence:
                continue
            text = sentence.format(**town)
            # Character offset of every field value inside this sentence, placed in the context.
            base = len(context) + (1 if context else 0)
            for key in ("region", "year", "founder", "river", "population", "trade", "mayor"):
                if "{" + key + "}" in sentence:
                    offsets[key] = base + text.index(town[key])
            context = f"{context} {text}" if context else text
        context = f"{context} {rng.choice(_FILLER)}"
        for _, question, field in rng.sample(_FACTS, k=rng.choice((3, 4))):
            qas.append(
                {
                    "id": f"tiny-{first_id + len(qas):04d}",
                    "question": question.format(**town),
                    "answers": [{"text": town[field], "answer_start": offsets[field]}],
                }
            )
    return {"context": context, "qas": qas}


def generate_tiny_squad() -> dict:
    """The tiny dev set as a SQuAD v1.1 JSON object (same output on every call)."""
    rng = random.Random(_SEED)
    names: list[str] = []
    while len(names) < _N_TOWNS:
        name = _name(rng, rng.choice((2, 3)))
        if name not in names:
            names.append(name)
    towns = [_town(rng, n) for n in names]
    paragraphs, start, k, n_questions = [], 0, 0, 0
    while start < len(towns):
        size = _PARAGRAPH_SIZES[k % len(_PARAGRAPH_SIZES)]
        paragraph = _paragraph(rng, towns[start : start + size], n_questions)
        paragraphs.append(paragraph)
        n_questions += len(paragraph["qas"])
        start, k = start + size, k + 1
    return {"version": "1.1", "data": [{"title": "Made-up towns", "paragraphs": paragraphs}]}


def build_tiny_vocab() -> list[str]:
    """Specials, characters and their ## forms, template words, syllables and ## syllables."""
    template_text = " ".join(
        [s for s, q, _ in _FACTS] + [q for _, q, _ in _FACTS] + list(_FILLER) + _TRADES + _PROFESSIONS
    )
    words = []
    for raw in template_text.replace("{", " ").replace("}", " ").split():
        word = raw.strip(string.punctuation).lower()
        if word and word not in words and word.isalpha() and len(word) > 1:
            words.append(word)
    chars = list(string.ascii_lowercase + string.digits + string.punctuation)
    vocab = list(SPECIAL_TOKENS) + chars + [f"##{c}" for c in string.ascii_lowercase + string.digits]
    vocab += sorted(set(words) | set(_SYLLABLES)) + [f"##{s}" for s in _SYLLABLES]
    return list(dict.fromkeys(vocab))


def ensure_tiny_data(settings: Settings) -> TinyData:
    """Write the tiny dev set and vocab into the cache once; return their paths."""
    target = settings.datasets_dir / f"tiny-squad-v{TINY_DATA_VERSION}"
    data = TinyData(target / "dev-v1.1.json", target / "vocab.txt")
    if data.dataset_path.is_file() and data.vocab_path.is_file():
        return data
    settings.datasets_dir.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=target.name + ".", dir=settings.datasets_dir))
    try:
        (tmp / "dev-v1.1.json").write_text(json.dumps(generate_tiny_squad(), indent=1) + "\n")
        (tmp / "vocab.txt").write_text("\n".join(build_tiny_vocab()) + "\n")
        if target.exists():  # a leftover without both files: replace it
            shutil.rmtree(target)
        os.replace(tmp, target)
    except OSError:
        shutil.rmtree(tmp, ignore_errors=True)
        if not (data.dataset_path.is_file() and data.vocab_path.is_file()):
            raise
    return data
