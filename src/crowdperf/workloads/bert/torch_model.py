"""BERT-for-QA in plain PyTorch, parameter names equal to HuggingFace's ``BertForQuestionAnswering``
so the same ``load_state_dict`` reads our generated weights and MLPerf's ``model.pytorch``.

Two ways to run the same weights: ``forward`` on a padded ``(batch, seq)`` batch with BERT's
additive mask, and ``forward_packed`` on the real tokens of all sequences concatenated
``(tokens,)`` with variable-length flash attention (``torch.nn.attention.varlen``, fp16/bf16 on
CUDA): no padding anywhere, and every token-wise layer (Linear, LayerNorm, GELU) is the same code.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol, cast

import torch
import torch.nn.functional as F
from torch import nn

from crowdperf.workloads.bert.model_config import BertModelConfig


class _Embeddings(nn.Module):
    def __init__(self, cfg: BertModelConfig) -> None:
        super().__init__()
        self.word_embeddings = nn.Embedding(cfg.vocab_size, cfg.hidden)
        self.position_embeddings = nn.Embedding(cfg.max_position, cfg.hidden)
        self.token_type_embeddings = nn.Embedding(cfg.type_vocab, cfg.hidden)
        self.LayerNorm = nn.LayerNorm(cfg.hidden, eps=cfg.layer_norm_eps)

    def forward(
        self, input_ids: torch.Tensor, segment_ids: torch.Tensor, positions: torch.Tensor | None = None
    ) -> torch.Tensor:
        if positions is None:  # padded: every row starts at position 0
            positions = torch.arange(input_ids.shape[-1], device=input_ids.device)  # (seq,)
        x = self.word_embeddings(input_ids) + self.position_embeddings(positions)
        return self.LayerNorm(x + self.token_type_embeddings(segment_ids))  # (..., hidden)


@dataclass(frozen=True)
class Packed:
    """Where each sequence of a packed batch starts: ``cu_seqlens`` (n + 1,) int32 on the device,
    and the longest sequence (the kernels' grid size)."""

    cu_seqlens: torch.Tensor
    max_len: int


Context = torch.Tensor | Packed  # the padded batch's additive mask, or the packing


def _dropout(x: torch.Tensor, module: nn.Module) -> torch.Tensor:
    """Training only (qa_training.py sets ``dropout_p``); inference never reaches ``F.dropout``."""
    p = getattr(module, "dropout_p", 0.0)
    return F.dropout(x, p) if module.training and p else x


def attend(
    q: torch.Tensor, k: torch.Tensor, v: torch.Tensor, ctx: Context, heads: int, dropout_p: float = 0.0
) -> torch.Tensor:
    """Multi-head attention of projected (..., hidden) queries, keys and values (views of one
    fused projection are fine: only the last dimension must be contiguous) -> (..., hidden)."""
    h = q.shape[-1]
    head_dim = h // heads
    if isinstance(ctx, Packed):  # (tokens, hidden): variable-length flash attention
        from torch.nn.attention.varlen import varlen_attn

        t = q.shape[0]
        q, k, v = (p.view(t, heads, head_dim) for p in (q, k, v))
        cu, n = ctx.cu_seqlens, ctx.max_len
        out = cast(torch.Tensor, varlen_attn(q, k, v, cu, cu, n, n))  # (t, heads, head_dim): no lse
        return out.reshape(t, h)
    b, s = q.shape[:2]

    def split(p: torch.Tensor) -> torch.Tensor:  # (b, s, h) -> (b, heads, s, head_dim)
        return p.view(b, s, heads, head_dim).transpose(1, 2)

    out = F.scaled_dot_product_attention(split(q), split(k), split(v), ctx, dropout_p)  # ctx: additive mask
    return out.transpose(1, 2).reshape(b, s, h)


class _SelfAttention(nn.Module):
    def __init__(self, cfg: BertModelConfig) -> None:
        super().__init__()
        self.heads = cfg.heads
        self.query = nn.Linear(cfg.hidden, cfg.hidden)
        self.key = nn.Linear(cfg.hidden, cfg.hidden)
        self.value = nn.Linear(cfg.hidden, cfg.hidden)

    def forward(self, x: torch.Tensor, ctx: Context) -> torch.Tensor:
        p = getattr(self, "dropout_p", 0.0) if self.training else 0.0
        return attend(self.query(x), self.key(x), self.value(x), ctx, self.heads, p)


class _AttentionOutput(nn.Module):
    def __init__(self, cfg: BertModelConfig) -> None:
        super().__init__()
        self.dense = nn.Linear(cfg.hidden, cfg.hidden)
        self.LayerNorm = nn.LayerNorm(cfg.hidden, eps=cfg.layer_norm_eps)


class _Attention(nn.Module):
    def __init__(self, cfg: BertModelConfig) -> None:
        super().__init__()
        self.self = _SelfAttention(cfg)
        self.output = _AttentionOutput(cfg)

    def forward(self, x: torch.Tensor, ctx: Context) -> torch.Tensor:
        return self.output.LayerNorm(_dropout(self.output.dense(self.self(x, ctx)), self) + x)


class _Intermediate(nn.Module):
    def __init__(self, cfg: BertModelConfig) -> None:
        super().__init__()
        self.dense = nn.Linear(cfg.hidden, cfg.intermediate)


class _Output(nn.Module):
    def __init__(self, cfg: BertModelConfig) -> None:
        super().__init__()
        self.dense = nn.Linear(cfg.intermediate, cfg.hidden)
        self.LayerNorm = nn.LayerNorm(cfg.hidden, eps=cfg.layer_norm_eps)


class _Layer(nn.Module):
    def __init__(self, cfg: BertModelConfig) -> None:
        super().__init__()
        self.attention = _Attention(cfg)
        self.intermediate = _Intermediate(cfg)
        self.output = _Output(cfg)

    def forward(self, x: torch.Tensor, ctx: Context) -> torch.Tensor:
        x = self.attention(x, ctx)
        inter = F.gelu(self.intermediate.dense(x))  # exact (erf) GELU, BERT's "gelu"
        return self.output.LayerNorm(_dropout(self.output.dense(inter), self) + x)


class _Encoder(nn.Module):
    def __init__(self, cfg: BertModelConfig) -> None:
        super().__init__()
        self.layer = nn.ModuleList(_Layer(cfg) for _ in range(cfg.layers))


class _Bert(nn.Module):
    def __init__(self, cfg: BertModelConfig) -> None:
        super().__init__()
        self.embeddings = _Embeddings(cfg)
        self.encoder = _Encoder(cfg)


class BertForQuestionAnswering(nn.Module):
    def __init__(self, cfg: BertModelConfig) -> None:
        super().__init__()
        self.bert = _Bert(cfg)
        self.qa_outputs = nn.Linear(cfg.hidden, 2)
        self.max_positions = cfg.max_position  # the widest batch the position table covers

    def forward(
        self, input_ids: torch.Tensor, input_mask: torch.Tensor, segment_ids: torch.Tensor
    ) -> torch.Tensor:
        """(batch, seq) int64 x3 -> (batch, seq, 2) logits [start, end]."""
        x = self.bert.embeddings(input_ids, segment_ids)
        # additive mask, as BERT: 0 for real tokens, -10000 for padding    (batch, 1, 1, seq)
        mask = ((1.0 - input_mask[:, None, None, :].to(x.dtype)) * -10000.0).to(x.dtype)
        for layer in self.bert.encoder.layer:
            x = layer(x, mask)
        return self.qa_outputs(x)

    def forward_packed(
        self, input_ids: torch.Tensor, segment_ids: torch.Tensor, positions: torch.Tensor, packed: Packed
    ) -> torch.Tensor:
        """(tokens,) int64 x3, sequences back to back as ``packed`` says -> (tokens, 2) logits."""
        x = self.bert.embeddings(input_ids, segment_ids, positions)
        for layer in self.bert.encoder.layer:
            x = layer(x, packed)
        return self.qa_outputs(x)


class PackedModel(Protocol):
    """What ``PackedBert`` runs: BERT in fp16/bf16 (``BertForQuestionAnswering``) or its FP8 form."""

    max_positions: int

    def forward_packed(
        self, input_ids: torch.Tensor, segment_ids: torch.Tensor, positions: torch.Tensor, packed: Packed
    ) -> torch.Tensor: ...


class PackedBert(nn.Module):
    """``forward_packed`` with named tensor inputs, as the pytorch backend calls a module: the
    real tokens of a batch and where each sequence starts. The longest sequence is bounded by the
    position table (``max_positions``): flash attention only sizes its grid by it, so one static
    bound serves every batch and every captured graph."""

    def __init__(self, model: PackedModel) -> None:
        super().__init__()
        self.model = model

    def forward(
        self,
        input_ids: torch.Tensor,
        segment_ids: torch.Tensor,
        positions: torch.Tensor,
        cu_seqlens: torch.Tensor,
    ) -> torch.Tensor:
        """(tokens,) int64 x3, (sequences + 1,) int32 -> (tokens, 2) logits."""
        packed = Packed(cu_seqlens, self.model.max_positions)
        return self.model.forward_packed(input_ids, segment_ids, positions, packed)


def config_from_state_dict(state: dict[str, torch.Tensor]) -> BertModelConfig:
    """Shapes of a HuggingFace-named state dict -> config (the official model or ours)."""
    vocab, hidden = state["bert.embeddings.word_embeddings.weight"].shape
    layers = 1 + max(int(k.split(".")[3]) for k in state if k.startswith("bert.encoder.layer."))
    inter = state["bert.encoder.layer.0.intermediate.dense.weight"].shape[0]
    max_pos = state["bert.embeddings.position_embeddings.weight"].shape[0]
    heads = max(1, hidden // 64)  # BERT heads are 64 wide (base 12x64, large 16x64)
    return BertModelConfig(vocab_size=vocab, hidden=hidden, layers=layers, heads=heads,
                           intermediate=inter, max_position=max_pos)  # fmt: skip
