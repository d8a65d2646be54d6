"""A QA model trained here, so a fast precision's accuracy can be measured without the official
weights (they cannot be fetched offline, and random weights give near-tied logits, so agreement
on them proves little).

    split_by_paragraph(features)  SQuAD dev's paragraphs alternately to a training and an
                                  evaluation half (no paragraph in both: the model cannot have
                                  read the evaluation contexts), as feature rows and questions
    train_qa(model, features, rows, TrainConfig)   start/end cross-entropy from BERT's random
                                  init, AdamW, linear warm-up and decay, bf16 autocast on GPUs
    squad_scores(features, runner, split)          EM/F1 of a loaded runner on the evaluation
                                  half, through the same n-best post-processing as a real run

This stands in for MLPerf's check (F1 of the official BERT-Large on all of SQuAD dev): a small
model trained from scratch on 5,000 questions reaches a modest F1, but its logits are a trained
model's, so an 8-bit path that loses accuracy shows it. The bert-99 rule is applied relative to
this model's fp16 F1.
"""

from __future__ import annotations

import json
import math
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import numpy as np

from crowdperf.atomic import atomic_path
from crowdperf.workloads.bert.accuracy import predict_answers
from crowdperf.workloads.bert.dataset import SquadFeatures
from crowdperf.workloads.bert.model_config import BertModelConfig
from crowdperf.workloads.bert.runners import BertRunner
from crowdperf.workloads.bert.squad_metrics import score_question
from crowdperf.workloads.bert.weights import CONFIG_KEY


@dataclass(frozen=True)
class SquadSplit:
    train_rows: np.ndarray  # feature rows of the training half
    eval_rows: np.ndarray  # feature rows of the evaluation half
    eval_examples: tuple[int, ...]  # question indices of the evaluation half


def split_by_paragraph(features: SquadFeatures) -> SquadSplit:
    """Even-numbered paragraphs (in file order) train, odd ones evaluate."""
    paragraph = np.zeros(len(features.examples), np.int64)
    current, previous = -1, None
    for i, example in enumerate(features.examples):
        if example.doc_tokens is not previous:  # a paragraph's questions share its word tuple
            current, previous = current + 1, example.doc_tokens
        paragraph[i] = current
    evaluate = paragraph % 2 == 1
    row_eval = evaluate[features.raw.example_index]
    rows = np.arange(features.count)
    eval_examples = tuple(int(i) for i in np.flatnonzero(evaluate))
    return SquadSplit(rows[~row_eval], rows[row_eval], eval_examples)


@dataclass(frozen=True)
class TrainConfig:
    steps: int = 2000
    batch: int = 32
    lr: float = 1e-4
    warmup: int = 200
    dropout: float = 0.1  # BERT's hidden and attention dropout: 5,000 questions are easy to memorise
    weight_decay: float = 0.01
    seed: int = 0
    max_seconds: float | None = None  # stop early (the decay still assumes ``steps``)
    log_every: int = 250


def _lr_factor(step: int, cfg: TrainConfig) -> float:
    if step < cfg.warmup:
        return (step + 1) / cfg.warmup
    return max(0.0, (cfg.steps - step) / max(1, cfg.steps - cfg.warmup))


def train_qa(
    model: Any,
    features: SquadFeatures,
    rows: np.ndarray,
    cfg: TrainConfig,
    log: Callable[[str], None] = print,
) -> list[float]:
    """Train ``model`` (a ``BertForQuestionAnswering`` on its device, fp32) in place on the
    feature ``rows``; returns the mean loss of each logging interval."""
    import torch
    import torch.nn.functional as F

    device = next(model.parameters()).device
    rng = np.random.default_rng(cfg.seed)
    optimizer = torch.optim.AdamW(model.parameters(), lr=cfg.lr, weight_decay=cfg.weight_decay)
    schedule = torch.optim.lr_scheduler.LambdaLR(optimizer, lambda s: _lr_factor(s, cfg))
    starts = torch.from_numpy(features.raw.start_positions.astype(np.int64))
    ends = torch.from_numpy(features.raw.end_positions.astype(np.int64))
    for module in model.modules():  # torch_model.py reads dropout_p only while training
        module.dropout_p = cfg.dropout
    model.train()
    losses: list[float] = []
    running: list[float] = []
    t0 = time.perf_counter()
    for step in range(cfg.steps):
        picked = rng.choice(rows, size=min(cfg.batch, len(rows)), replace=False)
        batch = features.gather(picked, align=8)
        ids, mask, seg = (
            torch.from_numpy(a).to(device) for a in (batch.input_ids, batch.input_mask, batch.segment_ids)
        )
        with torch.autocast(device.type, dtype=torch.bfloat16, enabled=device.type == "cuda"):
            logits = model(ids, mask, seg).float()  # (b, s, 2)
        logits = logits + (mask[..., None].float() - 1.0) * 10000.0  # no answer in the padding
        idx = torch.from_numpy(picked)
        loss = (
            F.cross_entropy(logits[..., 0], starts[idx].to(device))
            + F.cross_entropy(logits[..., 1], ends[idx].to(device))
        ) / 2
        optimizer.zero_grad(set_to_none=True)
        loss.backward()
        torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
        optimizer.step()
        schedule.step()
        running.append(float(loss.detach()))
        if (step + 1) % cfg.log_every == 0 or step + 1 == cfg.steps:
            losses.append(float(np.mean(running)))
            running = []
            log(f"  step {step + 1}: loss {losses[-1]:.3f} ({time.perf_counter() - t0:.0f} s)")
        if cfg.max_seconds is not None and time.perf_counter() - t0 > cfg.max_seconds:
            log(f"  stopped at step {step + 1} after {cfg.max_seconds:.0f} s")
            break
    model.eval()
    return losses


def save_trained(model: Any, cfg: BertModelConfig, path: Path) -> Path:
    """The trained weights as an npz the pytorch backend loads (config stored beside them)."""
    arrays: dict[str, Any] = {k: v.detach().float().cpu().numpy() for k, v in model.state_dict().items()}
    arrays[CONFIG_KEY] = np.array(json.dumps(asdict(cfg)))
    with atomic_path(path) as tmp, tmp.open("wb") as fh:
        np.savez(fh, **arrays)
    return path


@dataclass(frozen=True)
class SquadScores:
    exact_match: float  # percent
    f1: float  # percent
    questions: int


def runner_logits(
    runner: BertRunner, features: SquadFeatures, rows: np.ndarray, batch: int, align: int = 32
) -> dict[int, np.ndarray]:
    """row -> (384, 2) float64 logits of ``rows`` through ``runner``, batched by length."""
    order = np.asarray(rows)[np.argsort(features.lengths[rows], kind="stable")]
    out: dict[int, np.ndarray] = {}
    for i in range(0, len(order), batch):
        chunk = order[i : i + batch]
        padded = features.pad_logits(runner.run(features.gather(chunk, align=align)))
        out.update(zip((int(r) for r in chunk), padded.astype(np.float64), strict=True))
    return out


def squad_scores(
    features: SquadFeatures, logits: dict[int, np.ndarray], examples: tuple[int, ...]
) -> SquadScores:
    """SQuAD EM/F1 over ``examples`` (each must have logits for all its features)."""
    predictions, complete = predict_answers(features, logits)
    wanted = set(examples)
    scored = [i for i in complete if i in wanted]
    if not scored:
        return SquadScores(0.0, 0.0, 0)
    em = f1 = 0.0
    for index in scored:
        example = features.examples[index]
        q_em, q_f1 = score_question(predictions[example.qas_id], example.answers)
        em, f1 = em + q_em, f1 + q_f1
    n = len(scored)
    return SquadScores(100.0 * em / n, 100.0 * f1 / n, n)


def kept_fraction(fast_f1: float, base_f1: float) -> float:
    """``fast_f1 / base_f1`` (the bert-99 rule asks >= 0.99); nan when the base scored nothing."""
    return fast_f1 / base_f1 if base_f1 > 0 else math.nan
