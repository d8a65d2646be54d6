"""BERT's FP8 form (``--precision fp8``): every encoder matrix product in e4m3, the rest in fp16.

    calibrate(model, batches)   the largest |input| of each encoder Linear over the calibration
                                features (the fp16 model, one unpadded feature at a time, so no
                                padding token widens a range) -> amax per Linear
    Fp8Bert.of(model, amax)     the same weights as ``Fp8Linear`` (backends/fp8.py): query, key
                                and value fused into one (3h, h) GEMM; attention (fp16 math),
                                softmax, LayerNorm, GELU and the QA head stay 16-bit

Static scales: each GEMM's input scale is fixed at calibration (amax / 448), so the op before it
writes its output straight to e4m3, never a reduction over the batch at run time. The residual
stream is that e4m3 copy too (``Fp8Options.residual_e4m3``; bert-99.9's form keeps it 16-bit,
``Fp8Options.for_accuracy``). On a GPU with
Triton (``Fp8Options``): LayerNorm + quantize and residual + LayerNorm + quantize are one
hand-written Triton kernel each (backends/triton_layernorm.py; Inductor's as an option); the
first FFN product is a Triton GEMM with GELU + quantize in its epilogue (backends/triton_fp8_gemm.py); packed
batches' attention is a Triton kernel that reads the fused QKV product and writes e4m3
(backends/triton_attention.py, one plan per batch for all layers).
Elsewhere (the CPU's tests) the same steps run op by op. What calibrates is the workload's
business: MLPerf's 100 calibration features for ``crowdperf run`` (calibration.py), a training
split in the accuracy check; never the features a score is computed on.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, replace
from typing import TYPE_CHECKING, cast

import torch
from torch import nn

from crowdperf.backends.fp8 import AmaxObserver, Fp8Kernels, Fp8Linear, fusion_available
from crowdperf.backends.gemm_config import GemmConfig
from crowdperf.workloads.bert.torch_model import (
    BertForQuestionAnswering,
    Context,
    Packed,
    PackedBert,
    _Embeddings,
    _Layer,
    attend,
)

if TYPE_CHECKING:  # Triton is imported only where it runs
    from crowdperf.backends.triton_attention import AttentionConfig, AttentionPlan

# the four matrix products of a layer: our name -> the Linear whose input sets its scale
LINEARS = {
    "qkv": "attention.self.query",  # key and value read the same input
    "attn_out": "attention.output.dense",
    "ffn_in": "intermediate.dense",
    "ffn_out": "output.dense",
}
Batch = tuple[torch.Tensor, torch.Tensor, torch.Tensor]  # input_ids, input_mask, segment_ids


@dataclass(frozen=True)
class Fp8Options:
    """How to build the FP8 form (each measured on an H200: docs/performance.md).

    ``fused``: element-wise steps through ``torch.compile`` (GPUs with Triton; ignored elsewhere).
    ``fast_accum``: cuBLASLt's fast FP8 accumulation (cut the GEMMs of a 1,024-feature batch from
    93 to 79 ms, F1 kept). ``gelu_in_gemm``: the first FFN product through the Triton GEMM with
    GELU + quantize in its epilogue (GPUs with Triton), instead of cuBLASLt then a fused GELU +
    quantize kernel: 1.75 against 2.52 ms per layer of a batch. ``gelu_tanh``: tanh GELU instead
    of BERT's erf, within 1e-3 of it (an e4m3 step is 6 %): in the epilogue, where arithmetic is
    time, 1.88 against 2.41 ms; as Inductor's separate kernel, memory-bound, no gain.
    ``triton_attention``: packed batches' attention through backends/triton_attention.py (read
    from the fused QKV product, e4m3 out: the quantize fused), instead of torch's FlashAttention 2
    then a quantize kernel: 0.71 against 1.60 ms per layer of a 1,024-feature batch.
    ``triton_layernorm``: the LayerNorm steps (residual + LayerNorm + quantize, and the two
    without one part) through backends/triton_layernorm.py's kernel instead of Inductor's (GPUs
    with Triton): 276 against 315 us per call on 160,000 rows (bench/layernorm_kernels.py); a
    1,024-feature batch 6,862 -> 7,028 samples/s (bench/gpu.py, ``-ildn`` turns it off).
    ``gelu_f16x2``: with ``gelu_in_gemm`` and ``gelu_tanh``, the epilogue's GELU and quantize in
    packed fp16 (backends/gemm_epilogue.py, GELU_TANH_F16X2) instead of fp32: 1.432 against 1.544
    ms per first FFN product of 181,000 tokens, 89 against 96 us at 11,520 (session 7,
    bench/fp8_gemm.py; ``-g32`` in bench/gpu.py turns it off).
    ``large_plain_gemm``: the three plain products (QKV, attention output, second FFN) of
    batches of at least ``TMA_MIN_TOKENS`` tokens on the Triton GEMM with this tiling instead of
    cuBLASLt; ``large_gelu_gemm``: the first FFN product's tiling there instead of
    ``default_config``'s (GPUs with Triton; bench/gpu.py's ``-tp`` and ``-tg``).
    ``attention``: the Triton attention's tiling and form (None: ``default_config``'s per batch;
    bench/gpu.py's ``-ta``).
    ``residual_e4m3``: the residual stream in e4m3, as NVIDIA's INT8 BERT keeps it in int8: each
    residual + LayerNorm reads the e4m3 copy the next GEMM reads (at that GEMM's input scale)
    instead of the 16-bit one, and writes only its e4m3 output, which is both the next GEMM's
    input and the next residual: 4 bytes moved an element instead of 7 (the last layer's output
    stays 16-bit for the QA head). On by default since session 9 (one H200, bench/gpu.py, one
    call): 7,678 against 7,432 samples/s (+3.3 %), a batch's LayerNorm 10.7 against 14.9 ms; F1
    99.76 % of fp16's on the trained-on half (99.83 % with 16-bit residuals), 99.68 % held out
    (99.11 %). bench/gpu.py's ``-r16`` turns it off; ``for_accuracy`` turns it off for bert-99.9."""

    fused: bool = True
    fast_accum: bool = True
    gelu_in_gemm: bool = True
    gelu_tanh: bool = True
    triton_attention: bool = True
    triton_layernorm: bool = True
    gelu_f16x2: bool = True
    large_plain_gemm: GemmConfig | None = None
    large_gelu_gemm: GemmConfig | None = None
    attention: AttentionConfig | None = None
    residual_e4m3: bool = True

    @classmethod
    def for_accuracy(cls, fraction: float) -> Fp8Options:
        """The form for a benchmark that asks ``fraction`` of the FP32 reference's accuracy: the
        residual stream in e4m3 for 99 % (bert-99; on the model trained here it kept 99.76 % of
        fp16's F1), in 16 bits for a stricter target (bert-99.9: the most accurate FP8 form
        here, 99.83 %; whether that reaches 99.9 % on the official weights, their accuracy run
        says), as NVIDIA's bert-99.9 keeps more of the model in 16 bits than its bert-99."""
        return cls(residual_e4m3=fraction <= 0.99)

    def on(self, device: torch.device) -> Fp8Options:
        """What of this a ``device`` can run: Triton's kernels (Inductor's fused steps, the Triton
        GEMM's epilogue, the Triton attention and LayerNorm) only on GPUs with Triton."""
        triton = fusion_available(device)
        return replace(
            self,
            fused=self.fused and triton,
            gelu_in_gemm=self.gelu_in_gemm and triton,
            triton_attention=self.triton_attention and triton,
            triton_layernorm=self.triton_layernorm and triton,
            large_plain_gemm=self.large_plain_gemm if triton else None,
            large_gelu_gemm=self.large_gelu_gemm if triton else None,
        )


def calibrate(model: BertForQuestionAnswering, batches: Iterable[Batch]) -> dict[str, float]:
    """``"<layer>.<linear>"`` -> the largest |input| seen over ``batches`` (run as they come:
    pass unpadded ones, a padded position's activations would count)."""
    watched = {
        f"{i}.{key}": layer.get_submodule(path)
        for i, layer in enumerate(model.bert.encoder.layer)
        for key, path in LINEARS.items()
    }
    observer = AmaxObserver(watched)
    try:
        with torch.inference_mode():
            for ids, mask, seg in batches:
                model(ids, mask, seg)
    finally:
        observer.close()
    return observer.amax


def _plan_attention(
    cu_seqlens: torch.Tensor,
    max_len: int,
    tokens: int,
    heads: int,
    head_dim: int,
    config: AttentionConfig | None,
) -> AttentionPlan:
    # imported here: Triton runs on GPUs (and in its interpreter for the CPU tests) only
    from crowdperf.backends.triton_attention import plan_attention

    return plan_attention(cu_seqlens, max_len, tokens, heads, head_dim, config)


def _varlen_attention(qkv: torch.Tensor, plan: AttentionPlan, out_inv_scale: torch.Tensor) -> torch.Tensor:
    from crowdperf.backends.triton_attention import varlen_attention

    return varlen_attention(qkv, plan, out_inv_scale)


class _Fp8Layer(nn.Module):
    def __init__(
        self, layer: _Layer, amax: Mapping[str, float], kernels: Fp8Kernels, options: Fp8Options
    ) -> None:
        super().__init__()
        sa = layer.attention.self
        dtype, fast = sa.query.weight.dtype, options.fast_accum
        qkv_weight = torch.cat([sa.query.weight, sa.key.weight, sa.value.weight])
        qkv_bias = torch.cat([sa.query.bias, sa.key.bias, sa.value.bias])
        self.heads = sa.heads
        self.qkv = Fp8Linear(qkv_weight.detach(), qkv_bias.detach(), amax["qkv"], dtype, fast)
        self.attn_out = Fp8Linear.of(layer.attention.output.dense, amax["attn_out"], dtype, fast)
        self.ln1 = layer.attention.output.LayerNorm
        self.ffn_in = Fp8Linear.of(layer.intermediate.dense, amax["ffn_in"], dtype, fast)
        self.ffn_out = Fp8Linear.of(layer.output.dense, amax["ffn_out"], dtype, fast)
        self.ln2 = layer.output.LayerNorm
        for plain in (self.qkv, self.attn_out, self.ffn_out):
            plain.large_config = options.large_plain_gemm
        self.ffn_in.large_config = options.large_gelu_gemm if options.gelu_in_gemm else None
        self.kernels = kernels
        self.gelu_in_gemm, self.gelu_tanh = options.gelu_in_gemm, options.gelu_tanh
        self.gelu_f16x2 = options.gelu_f16x2 and options.gelu_tanh
        self.residual_e4m3 = options.residual_e4m3

    def forward(
        self,
        x: torch.Tensor | None,
        x8: torch.Tensor,
        ctx: Context,
        plan: AttentionPlan | None,
        next_inv_scale: torch.Tensor | None,
    ) -> tuple[torch.Tensor | None, torch.Tensor | None]:
        """x: (..., h) fp16 and x8 its e4m3 copy -> the layer's output, and its e4m3 copy at
        ``next_inv_scale`` (None for the last layer: the QA head reads fp16). With a ``plan``
        (packed batches), attention is the Triton kernel's, its output already e4m3. With
        ``residual_e4m3`` the residuals are the e4m3 copies: ``x`` is unread, and the output is
        (None, its e4m3 copy) but for the last layer's (fp16, None)."""
        k = self.kernels
        qkv = self.qkv(x8)
        if plan is not None:
            context8 = _varlen_attention(qkv, plan, self.attn_out.input_inv_scale)
        else:
            q, key, v = qkv.chunk(3, dim=-1)  # views: attention reads them strided
            context8 = k.quantize(attend(q, key, v, ctx, self.heads), self.attn_out.input_inv_scale)
        ln1, ln2 = self.ln1, self.ln2
        attn = self.attn_out(context8)
        if self.residual_e4m3:
            h = None
            h8 = k.add8_layernorm_quantize(
                attn, x8, self.qkv.input_scale, ln1.weight, ln1.bias, ln1.eps, self.ffn_in.input_inv_scale
            )
        else:
            h, h8 = k.add_layernorm_quantize(
                attn, x, ln1.weight, ln1.bias, ln1.eps, self.ffn_in.input_inv_scale
            )
        if self.gelu_in_gemm:  # one Triton GEMM, GELU + quantize in its epilogue
            inter8 = self.ffn_in.gelu_quantized(
                h8, self.ffn_out.input_inv_scale, self.gelu_tanh, f16x2=self.gelu_f16x2
            )
        else:
            inter8 = k.gelu_quantize(self.ffn_in(h8), self.ffn_out.input_inv_scale)
        out = self.ffn_out(inter8)
        if self.residual_e4m3:
            scale = self.ffn_in.input_scale  # h8's
            if next_inv_scale is None:
                return k.add8_layernorm(out, h8, scale, ln2.weight, ln2.bias, ln2.eps), None
            return None, k.add8_layernorm_quantize(
                out, h8, scale, ln2.weight, ln2.bias, ln2.eps, next_inv_scale
            )
        if next_inv_scale is None:
            return k.add_layernorm(out, h, ln2.weight, ln2.bias, ln2.eps), None
        return k.add_layernorm_quantize(out, h, ln2.weight, ln2.bias, ln2.eps, next_inv_scale)


class Fp8Bert(nn.Module):
    """``BertForQuestionAnswering``'s inputs and outputs, encoder GEMMs in FP8."""

    def __init__(
        self,
        model: BertForQuestionAnswering,
        amax: Mapping[str, float],
        kernels: Fp8Kernels,
        options: Fp8Options = Fp8Options(),
    ) -> None:
        """``options`` as given (``of`` first keeps what the device can run; the CPU tests run
        the Triton GEMM in Triton's interpreter)."""
        super().__init__()
        self.embeddings: _Embeddings = model.bert.embeddings
        self.layers = nn.ModuleList(
            _Fp8Layer(cast(_Layer, layer), {key: amax[f"{i}.{key}"] for key in LINEARS}, kernels, options)
            for i, layer in enumerate(model.bert.encoder.layer)
        )
        self.qa_outputs = model.qa_outputs  # (h -> 2): too narrow for an FP8 GEMM, and cheap
        self.max_positions = model.max_positions
        self.kernels = kernels
        self.triton_attention = options.triton_attention
        self.attention_config = options.attention

    @classmethod
    def of(
        cls, model: BertForQuestionAnswering, amax: Mapping[str, float], options: Fp8Options = Fp8Options()
    ) -> Fp8Bert:
        options = options.on(next(model.parameters()).device)
        kernels = Fp8Kernels.make(options.fused, options.gelu_tanh, options.triton_layernorm)
        return cls(model, amax, kernels, options)

    def _encode(self, x: torch.Tensor, ctx: Context) -> torch.Tensor:
        emb = self.embeddings.LayerNorm
        layers = [cast(_Fp8Layer, layer) for layer in self.layers]
        scales = [layer.qkv.input_inv_scale for layer in layers]
        x, x8 = self.kernels.layernorm_quantize(x, emb.weight, emb.bias, emb.eps, scales[0])
        plan = None
        if self.triton_attention and isinstance(ctx, Packed):  # one plan serves every layer
            heads = layers[0].heads
            d = x.shape[-1] // heads
            plan = _plan_attention(ctx.cu_seqlens, ctx.max_len, x.shape[0], heads, d, self.attention_config)
        h: torch.Tensor | None = x
        h8: torch.Tensor | None = x8
        for i, layer in enumerate(layers):
            assert h8 is not None  # every layer but the last gives its e4m3 copy
            h, h8 = layer(h, h8, ctx, plan, scales[i + 1] if i + 1 < len(layers) else None)
        assert h is not None  # the last layer's output is 16-bit
        return cast(torch.Tensor, self.qa_outputs(h))

    def _embed(
        self, input_ids: torch.Tensor, segment_ids: torch.Tensor, positions: torch.Tensor | None
    ) -> torch.Tensor:
        e = self.embeddings  # its LayerNorm runs fused with the first quantize step
        if positions is None:
            positions = torch.arange(input_ids.shape[-1], device=input_ids.device)
        x = e.word_embeddings(input_ids) + e.position_embeddings(positions)
        return x + e.token_type_embeddings(segment_ids)

    def forward(
        self, input_ids: torch.Tensor, input_mask: torch.Tensor, segment_ids: torch.Tensor
    ) -> torch.Tensor:
        """Padded (batch, seq) -> (batch, seq, 2), BERT's additive mask (the CPU check's path)."""
        x = self._embed(input_ids, segment_ids, None)
        mask = ((1.0 - input_mask[:, None, None, :].to(x.dtype)) * -10000.0).to(x.dtype)
        return self._encode(x, mask)

    def forward_packed(
        self, input_ids: torch.Tensor, segment_ids: torch.Tensor, positions: torch.Tensor, packed: Packed
    ) -> torch.Tensor:
        """(tokens,) -> (tokens, 2), variable-length attention (CUDA, or Triton's interpreter)."""
        return self._encode(self._embed(input_ids, segment_ids, positions), packed)


def fp8_form(module: nn.Module, batches: Iterable[Batch], options: Fp8Options = Fp8Options()) -> nn.Module:
    """The pytorch backend's ``TorchProgram.fp8`` for BERT: calibrate the fp16 module placed on
    its device on ``batches`` (host tensors; moved to the module's device), then its FP8 form,
    packed if the module was."""
    packed = isinstance(module, PackedBert)
    model = module.model if packed else module
    if not isinstance(model, BertForQuestionAnswering):
        raise TypeError(f"not a BERT model: {type(model).__name__}")
    device = next(model.parameters()).device
    placed = [(ids.to(device), mask.to(device), seg.to(device)) for ids, mask, seg in batches]
    fp8 = Fp8Bert.of(model, calibrate(model, placed), options)
    return PackedBert(fp8) if packed else fp8
