"""BERT-for-QA shapes: the MLPerf BERT-Large and smaller models with the same graph."""

from __future__ import annotations

from dataclasses import dataclass, replace

from crowdperf.errors import UsageError


@dataclass(frozen=True)
class BertModelConfig:
    vocab_size: int
    hidden: int
    layers: int
    heads: int
    intermediate: int
    max_position: int = 512
    type_vocab: int = 2
    layer_norm_eps: float = 1e-12

    def __post_init__(self) -> None:
        if self.hidden % self.heads:
            raise UsageError(f"hidden {self.hidden} is not divisible by {self.heads} heads")

    @property
    def head_dim(self) -> int:
        return self.hidden // self.heads

    @property
    def key(self) -> str:
        """Stable identity for cache file names."""
        return (
            f"v{self.vocab_size}-h{self.hidden}-l{self.layers}-a{self.heads}-i{self.intermediate}"
            f"-p{self.max_position}"
        )

    @classmethod
    def tiny(cls, vocab_size: int) -> BertModelConfig:
        """The embedded default: BERT-Large's graph at a size 2 CPU cores run in seconds."""
        return cls(vocab_size=vocab_size, hidden=64, layers=2, heads=2, intermediate=256)

    @classmethod
    def base(cls, vocab_size: int = 30522) -> BertModelConfig:
        return cls(vocab_size=vocab_size, hidden=768, layers=12, heads=12, intermediate=3072)

    @classmethod
    def large(cls, vocab_size: int = 30522) -> BertModelConfig:
        """MLPerf's BERT-Large (language/bert/bert_config.json): 24 x 1024, 16 heads, 4096."""
        return cls(vocab_size=vocab_size, hidden=1024, layers=24, heads=16, intermediate=4096)


@dataclass(frozen=True)
class GeneratedWeights:
    """Deterministic random weights of ``config``'s shapes instead of trained ones: what ``tiny``
    and ``bert-large`` run (generated once per shape and seed, cached under the models dir).

    ``fit_vocab``: the embedding table is sized to the run's vocab (tiny: one small graph per vocab);
    otherwise it keeps ``config.vocab_size`` rows (BERT-Large's 30,522) and the run's vocab must fit.
    """

    config: BertModelConfig
    seed: int = 0
    fit_vocab: bool = False

    def config_for_vocab(self, vocab_size: int) -> BertModelConfig:
        if self.fit_vocab:
            return replace(self.config, vocab_size=vocab_size)
        if vocab_size > self.config.vocab_size:
            raise UsageError(
                f"the vocab has {vocab_size} tokens; these generated weights embed {self.config.vocab_size}",
                hint="use a vocab of at most that many tokens (the official vocab.txt has 30,522)",
            )
        return self.config
