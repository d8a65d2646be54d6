"""The trained-model accuracy check's pieces on the CPU (tiny model, embedded tiny SQuAD set):
the paragraph split keeps every paragraph on one side, training lowers the loss, and a trained
model's saved weights load through the pytorch backend and score through SQuAD's metric."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from crowdperf.backends.base import cpu_device
from crowdperf.precision import Precision
from crowdperf.settings import load_settings
from crowdperf.workloads.bert.dataset import load_features
from crowdperf.workloads.bert.model_config import BertModelConfig
from crowdperf.workloads.bert.qa_training import (
    TrainConfig,
    kept_fraction,
    runner_logits,
    save_trained,
    split_by_paragraph,
    squad_scores,
    train_qa,
)
from crowdperf.workloads.bert.tiny_data import ensure_tiny_data
from crowdperf.workloads.bert.workload import bert_runner

torch = pytest.importorskip("torch")


def _features():  # type: ignore[no-untyped-def]
    settings = load_settings()
    data = ensure_tiny_data(settings)
    return load_features(data.dataset_path, data.vocab_path, settings)


def test_paragraph_split_puts_each_paragraph_and_question_on_one_side() -> None:
    feats = _features()
    split = split_by_paragraph(feats)
    assert len(split.train_rows) and len(split.eval_rows)
    assert len(split.train_rows) + len(split.eval_rows) == feats.count
    train_q = set(feats.raw.example_index[split.train_rows].tolist())
    eval_q = set(feats.raw.example_index[split.eval_rows].tolist())
    assert not train_q & eval_q and eval_q <= set(split.eval_examples)
    train_docs = {id(feats.examples[i].doc_tokens) for i in train_q}
    assert not train_docs & {id(feats.examples[i].doc_tokens) for i in eval_q}


@pytest.mark.slow  # ~10 s of CPU training on a quiet machine
def test_training_lowers_the_loss_and_the_model_scores_through_the_backend(tmp_path: Path) -> None:
    from crowdperf.workloads.bert.torch_model import BertForQuestionAnswering
    from crowdperf.workloads.bert.weights import generate_weights

    torch.manual_seed(0)
    feats = _features()
    split = split_by_paragraph(feats)
    cfg = BertModelConfig.tiny(feats.vocab_size)
    model = BertForQuestionAnswering(cfg)
    model.load_state_dict({k: torch.from_numpy(v) for k, v in generate_weights(cfg, 0).items()})
    cfg_train = TrainConfig(steps=60, batch=8, lr=1e-3, warmup=6, log_every=20)
    losses = train_qa(model, feats, split.train_rows, cfg_train, log=lambda _line: None)
    assert len(losses) == 3 and losses[-1] < losses[0]
    assert not model.training  # left in eval mode: dropout off
    path = save_trained(model, cfg, tmp_path / "qa.npz")
    runner, _ = bert_runner("pytorch", path, cpu_device(), Precision.FP32, 1, max_len=384)
    logits = runner_logits(runner, feats, split.train_rows, batch=16, align=8)
    assert set(logits) == set(split.train_rows.tolist())
    assert all(v.shape == (384, 2) for v in logits.values())
    trained_q = tuple(int(i) for i in np.unique(feats.raw.example_index[split.train_rows]))
    scores = squad_scores(feats, logits, trained_q)
    assert scores.questions == len(trained_q) and 0.0 <= scores.f1 <= 100.0
    assert squad_scores(feats, logits, split.eval_examples).questions == 0  # no logits there
    assert kept_fraction(99.0, 100.0) == pytest.approx(0.99) and np.isnan(kept_fraction(1.0, 0.0))
