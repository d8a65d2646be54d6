"""The BERT models crowdperf registers (pyproject.toml, group ``crowdperf.workloads``):

    tiny        generated weights, BERT-Large's graph at 2 x 64 (seconds on 2 CPU cores), sized to
                the vocab in use; the embedded tiny SQuAD set. Not an MLPerf model: open, as bert-99.
    bert-large  generated weights of MLPerf's BERT-Large shapes (24 x 1024, 16 heads, 4096, vocab
                30,522; 1.3 GB, made once and cached): BERT-Large's speed without the official
                download. The embedded tiny set, or real SQuAD with --dataset-path/--vocab-path.
                Not an MLPerf model (untrained weights, F1 ~0): open, as bert-99.
    bert-99     the official model (99 % of the FP32 F1), official SQuAD files
    bert-99.9   the same model against the 99.9 % target

A definition is cheap to import (its rules are plain data): the parent process reads the rules;
``open(spec)`` imports the heavy parts (features, backends) only in the child that runs a test.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from crowdperf.mlperf.workload_rules import WorkloadRules
from crowdperf.workloads.bert.model_config import BertModelConfig, GeneratedWeights
from crowdperf.workloads.bert.rules import RULES

if TYPE_CHECKING:
    from crowdperf.mlperf.spec import RunSpec
    from crowdperf.mlperf.workload import AccuracyResult
    from crowdperf.settings import Settings
    from crowdperf.workloads.bert.workload import OpenBertWorkload

TINY_WEIGHTS = GeneratedWeights(BertModelConfig.tiny(vocab_size=1), seed=0, fit_vocab=True)
BERT_LARGE_WEIGHTS = GeneratedWeights(BertModelConfig.large(), seed=0)


@dataclass(frozen=True)
class BertDefinition:
    """One registered BERT model: its name, the rules it runs under, and where its weights come
    from (``None``: the official trained files)."""

    name: str
    rules: WorkloadRules
    weights: GeneratedWeights | None = None

    def preflight(self, spec: RunSpec, settings: Settings) -> None:
        """The cheap preconditions, in the parent, before anything is fetched (preflight.py)."""
        from crowdperf.workloads.bert.preflight import check_run

        check_run(self.name, self.weights is not None, spec, settings)

    def open(self, spec: RunSpec) -> OpenBertWorkload:
        from crowdperf.workloads.bert.workload import BertWorkload

        return BertWorkload(self.name, self.weights).open(spec)

    def score_log(self, spec: RunSpec, accuracy_log: Path, out_dir: Path) -> AccuracyResult:
        """Score any LoadGen accuracy log of this model's dataset (TEST01's baseline check)."""
        from crowdperf.workloads.bert.workload import BertWorkload

        return BertWorkload(self.name, self.weights).score_log(spec, accuracy_log, out_dir)


tiny = BertDefinition("tiny", RULES["tiny"], TINY_WEIGHTS)
bert_large = BertDefinition("bert-large", RULES["bert-large"], BERT_LARGE_WEIGHTS)
bert_99 = BertDefinition("bert-99", RULES["bert-99"])
bert_99_9 = BertDefinition("bert-99.9", RULES["bert-99.9"])
