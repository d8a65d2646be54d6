"""FP8 numerics on the CPU (torch has a CPU ``_scaled_mm``): the scale and quantize math, the
FP8 Linear against a fake-quant reference, BERT's FP8 form against the same model with every
GEMM input and weight rounded through e4m3, calibration, and the backend's refusals."""

from __future__ import annotations

from dataclasses import replace
from types import SimpleNamespace

import numpy as np
import pytest

from crowdperf.backends.registry import get_backend
from crowdperf.errors import DeviceError, UsageError
from crowdperf.precision import Precision
from crowdperf.system.devices import DeviceKind

torch = pytest.importorskip("torch")

from crowdperf.backends.fp8 import (  # noqa: E402 - after the torch skip
    E4M3_MAX,
    Fp8Kernels,
    Fp8Linear,
    dequantize,
    quantize,
    scale_for,
)
from crowdperf.workloads.bert.calibration import MLPERF_CALIBRATION_FEATURES  # noqa: E402
from crowdperf.workloads.bert.fp8_model import LINEARS, Fp8Bert, Fp8Options, calibrate, fp8_form  # noqa: E402
from crowdperf.workloads.bert.model_config import BertModelConfig  # noqa: E402
from crowdperf.workloads.bert.torch_model import BertForQuestionAnswering  # noqa: E402

CFG = BertModelConfig(vocab_size=120, hidden=64, layers=2, heads=2, intermediate=128)


def _model(seed: int = 0) -> BertForQuestionAnswering:
    torch.manual_seed(seed)
    model = BertForQuestionAnswering(CFG).eval()
    with torch.no_grad():
        for name, p in model.named_parameters():
            if p.dim() > 1:
                p.normal_(0.0, 0.08)
            elif name.endswith("bias"):
                p.normal_(0.0, 0.02)
    return model


def _batches(n: int, seed: int = 1) -> list[tuple[torch.Tensor, torch.Tensor, torch.Tensor]]:
    g = torch.Generator().manual_seed(seed)
    out = []
    for k in range(n):
        length = 20 + 7 * k
        ids = torch.randint(1, CFG.vocab_size, (1, length), generator=g)
        seg = (torch.arange(length) > length // 3).long()[None]
        out.append((ids, torch.ones_like(ids), seg))
    return out


def test_scale_maps_amax_onto_e4m3s_range_and_quantize_saturates() -> None:
    scale = scale_for(3.5)
    assert float(scale) == pytest.approx(3.5 / E4M3_MAX)
    x = torch.tensor([0.0, 1.0, -3.5, 3.5, 7.0, -1e9])
    x8 = quantize(x, 1.0 / scale)
    back = dequantize(x8, scale)
    assert back[3] == pytest.approx(3.5) and back[2] == pytest.approx(-3.5)
    assert back[4] == pytest.approx(3.5) and back[5] == pytest.approx(-3.5)  # clipped, never NaN
    assert torch.isfinite(back).all()
    assert float(scale_for(0.0)) > 0  # an all-zero tensor still divides


def test_e4m3_round_trip_keeps_three_mantissa_bits() -> None:
    x = torch.linspace(-5.0, 5.0, 1001)
    scale = scale_for(5.0)
    back = dequantize(quantize(x, 1.0 / scale), scale)
    big = x.abs() > 5.0 * 2.0**-6  # e4m3's normal range at this scale (subnormals below)
    rel = ((back - x).abs() / x.abs())[big]
    assert float(rel.max()) <= 2.0**-4 + 1e-6  # half an ulp of a 3-bit mantissa


def test_fp8_linear_equals_its_fake_quant_reference() -> None:
    torch.manual_seed(0)
    linear = torch.nn.Linear(64, 48)
    x = torch.randn(37, 64) * 2.0  # 37 rows: no multiple of 16 needed for M
    amax = float(x.abs().max())
    fp8 = Fp8Linear.of(linear, amax, torch.float32)
    got = fp8(quantize(x, fp8.input_inv_scale))
    w = dequantize(fp8.weight8, fp8.weight_scale)
    xq = dequantize(quantize(x, fp8.input_inv_scale), fp8.input_scale)
    want = xq @ w.t() + linear.bias
    torch.testing.assert_close(got, want.detach(), atol=1e-4, rtol=1e-4)
    plain = linear(x).detach()  # and close to the unquantized product
    assert float((got - plain).abs().max()) < 0.1 * float(plain.abs().max())
    with pytest.raises(ValueError, match="multiples of 16"):
        Fp8Linear.of(torch.nn.Linear(64, 2), 1.0, torch.float32)


def test_calibration_records_the_largest_input_of_every_gemm() -> None:
    model = _model()
    batches = _batches(3)
    amax = calibrate(model, batches)
    assert set(amax) == {f"{i}.{k}" for i in range(CFG.layers) for k in LINEARS}
    seen: list[float] = []
    hook = model.bert.encoder.layer[1].intermediate.dense.register_forward_pre_hook(
        lambda _m, args: seen.append(float(args[0].abs().max()))
    )
    with torch.inference_mode():
        for b in batches:
            model(*b)
    hook.remove()
    assert amax["1.ffn_in"] == pytest.approx(max(seen))
    assert all(v > 0 for v in amax.values())


def _fake_quant_reference(model: BertForQuestionAnswering, fp8: Fp8Bert) -> BertForQuestionAnswering:
    """The fp32 model whose GEMM weights and inputs go through e4m3 at the FP8 form's scales."""
    for layer, q in zip(model.bert.encoder.layer, fp8.layers, strict=True):
        sa = layer.attention.self
        h = CFG.hidden
        w = dequantize(q.qkv.weight8, q.qkv.weight_scale)
        with torch.no_grad():
            sa.query.weight.copy_(w[:h]), sa.key.weight.copy_(w[h : 2 * h]), sa.value.weight.copy_(w[2 * h :])
        pairs = [
            (layer.attention.output.dense, q.attn_out),
            (layer.intermediate.dense, q.ffn_in),
            (layer.output.dense, q.ffn_out),
        ]
        for lin, qlin in pairs:
            with torch.no_grad():
                lin.weight.copy_(dequantize(qlin.weight8, qlin.weight_scale))
        pairs += [(sa.query, q.qkv), (sa.key, q.qkv), (sa.value, q.qkv)]
        for lin, qlin in pairs:
            lin.register_forward_pre_hook(
                lambda _m, args, s=qlin.input_scale, inv=qlin.input_inv_scale: (
                    dequantize(quantize(args[0], inv), s),
                )
            )
    return model


def test_fp8_bert_equals_the_fake_quant_model_and_stays_near_fp32() -> None:
    model = _model()
    amax = calibrate(model, _batches(4))
    # the reference's erf GELU and 16-bit residuals
    fp8 = Fp8Bert.of(model, amax, Fp8Options(fused=False, gelu_tanh=False, residual_e4m3=False))
    assert not fp8.kernels.fused  # no GPU here: op by op
    ids = torch.randint(1, CFG.vocab_size, (3, 40), generator=torch.Generator().manual_seed(5))
    mask = torch.ones_like(ids)
    mask[1, 30:] = 0
    seg = (torch.arange(40) > 12).long()[None].repeat(3, 1)
    with torch.inference_mode():
        plain = model(ids, mask, seg)
        got = fp8(ids, mask, seg)
    reference = _fake_quant_reference(_model(), fp8)
    with torch.inference_mode():
        want = reference(ids, mask, seg)
    real = mask.bool()
    torch.testing.assert_close(got[real], want[real], atol=2e-3, rtol=2e-3)
    err = float((got[real] - plain[real]).abs().max())
    assert 0 < err < 0.1 * float(plain[real].abs().max())  # really quantized, still close


def test_e4m3_residual_stream_stays_near_the_16_bit_one_through_either_layernorm() -> None:
    """``residual_e4m3``: every residual rounded to the e4m3 copy its next GEMM reads. Really a
    different model (the residuals are rounded), still near the 16-bit-residual one; the
    Triton LayerNorm (Triton's interpreter here) gives what the PyTorch steps give."""
    model = _model()
    amax = calibrate(model, _batches(4))
    options = Fp8Options(fused=False, gelu_in_gemm=False, residual_e4m3=False)
    base = Fp8Bert.of(model, amax, options)
    e4m3 = Fp8Bert.of(model, amax, replace(options, residual_e4m3=True))
    ids = torch.randint(1, CFG.vocab_size, (3, 40), generator=torch.Generator().manual_seed(9))
    mask, seg = torch.ones_like(ids), (torch.arange(40) > 12).long()[None].repeat(3, 1)
    with torch.inference_mode():
        want, got = base(ids, mask, seg), e4m3(ids, mask, seg)
    assert not torch.equal(got, want)
    cosine = torch.nn.functional.cosine_similarity(got.flatten(), want.flatten(), dim=0)
    assert float(cosine) > 0.99
    pytest.importorskip("triton")
    kernels = Fp8Kernels.make(fused=False, triton_layernorm=True)
    triton = Fp8Bert(model, amax, kernels, replace(options, residual_e4m3=True, triton_layernorm=True))
    with torch.inference_mode():
        same_math = triton(ids, mask, seg)
    # e4m3 rounding ties that the two break differently reach the output through the residuals
    # (1.6 % of the largest logit at most here; the 16-bit-residual models differ by 1.3 %)
    cosine = torch.nn.functional.cosine_similarity(same_math.flatten(), got.flatten(), dim=0)
    assert float(cosine) > 0.9995
    assert float((same_math - got).abs().max()) < 0.03 * float(got.abs().max())


def test_fp8_form_keeps_the_module_kind_and_calibrates_on_host_batches() -> None:
    model = _model()
    batches = [tuple(t for t in b) for b in _batches(2)]
    form = fp8_form(model, batches, Fp8Options(fused=False))
    assert isinstance(form, Fp8Bert) and len(form.layers) == CFG.layers
    assert {type(m).__name__ for m in form.modules()} >= {"Fp8Linear"}
    with pytest.raises(TypeError, match="not a BERT model"):
        fp8_form(torch.nn.Linear(4, 4), batches)


def test_unfused_kernels_match_the_plain_ops() -> None:
    k = Fp8Kernels.make(fused=False)
    x, r = torch.randn(5, 64), torch.randn(5, 64)
    w, b = torch.rand(64) + 0.5, torch.randn(64) * 0.1
    inv = 1.0 / scale_for(8.0)
    y, y8 = k.add_layernorm_quantize(x, r, w, b, 1e-12, inv)
    torch.testing.assert_close(y, torch.nn.functional.layer_norm(x + r, (64,), w, b, 1e-12))
    torch.testing.assert_close(y8.float(), quantize(y, inv).float())
    torch.testing.assert_close(
        k.gelu_quantize(x, inv).float(), quantize(torch.nn.functional.gelu(x), inv).float()
    )


def test_mlperf_calibration_set_is_100_distinct_dev_features() -> None:
    ids = MLPERF_CALIBRATION_FEATURES
    assert len(ids) == len(set(ids)) == 100
    assert min(ids) >= 0 and max(ids) < 10_833  # SQuAD v1.1 dev has 10,833 features
    assert np.all(np.asarray(ids[:3]) == [4547, 9556, 2033])  # the file's first lines


def test_pytorch_refuses_fp8_on_the_cpu_with_a_hint() -> None:
    with pytest.raises(UsageError, match="fp8 on cpu") as info:
        get_backend("pytorch").preflight(DeviceKind.CPU, Precision.FP8)
    assert "fp8 on FP8 GPUs" in (info.value.hint or "")


def test_pytorch_refuses_fp8_on_a_gpu_without_fp8_tensor_cores() -> None:
    from crowdperf.backends.pytorch_backend import _check_fp8_device

    def gpu(capability: tuple[int, int]) -> SimpleNamespace:
        cuda = SimpleNamespace(
            get_device_capability=lambda _d: capability, get_device_name=lambda _d: "Some GPU"
        )
        return SimpleNamespace(cuda=cuda, _scaled_mm=object(), __version__="2.11")

    with pytest.raises(DeviceError, match="no FP8") as info:
        _check_fp8_device(gpu((8, 0)), "cuda:0")  # an A100
    assert "fp16" in (info.value.hint or "")
    _check_fp8_device(gpu((8, 9)), "cuda:0")  # Ada
    _check_fp8_device(gpu((9, 0)), "cuda:0")  # Hopper


def test_triton_gemm_epilogue_answers_as_the_separate_step_does() -> None:
    """GELU + quantize in the Triton GEMM's epilogue (Triton's interpreter here) against the same
    model with them as a separate step after a cuBLAS-style product."""
    pytest.importorskip("triton")
    model = _model()
    amax = calibrate(model, _batches(4))
    kernels = Fp8Kernels.make(fused=False)
    apart = Fp8Bert(model, amax, kernels, Fp8Options(fused=False, gelu_in_gemm=False))
    fused = Fp8Bert(model, amax, kernels, Fp8Options(fused=False, gelu_in_gemm=True))
    ids = torch.randint(1, CFG.vocab_size, (2, 24), generator=torch.Generator().manual_seed(6))
    mask, seg = torch.ones_like(ids), (torch.arange(24) > 9).long()[None].repeat(2, 1)
    with torch.inference_mode():
        want, got = apart(ids, mask, seg), fused(ids, mask, seg)
    cosine = torch.nn.functional.cosine_similarity(got.flatten(), want.flatten(), dim=0)
    assert float(cosine) > 0.995
    assert float((got - want).abs().max()) < 0.1 * float(want.abs().max())


def test_triton_layernorm_answers_as_the_pytorch_steps_do() -> None:
    """The LayerNorm steps through the Triton kernel (Triton's interpreter here) against the same
    FP8 model with backends/fp8.py's PyTorch functions: the same math, so the same logits but
    where an e4m3 rounding tie went the other way."""
    pytest.importorskip("triton")
    model = _model()
    amax = calibrate(model, _batches(4))
    options = Fp8Options(fused=False, gelu_in_gemm=False)
    plain = Fp8Bert(model, amax, Fp8Kernels.make(fused=False), options)
    kernels = Fp8Kernels.make(fused=False, triton_layernorm=True)
    triton = Fp8Bert(model, amax, kernels, replace(options, triton_layernorm=True))
    ids = torch.randint(1, CFG.vocab_size, (2, 24), generator=torch.Generator().manual_seed(8))
    mask, seg = torch.ones_like(ids), (torch.arange(24) > 9).long()[None].repeat(2, 1)
    with torch.inference_mode():
        want, got = plain(ids, mask, seg), triton(ids, mask, seg)
    torch.testing.assert_close(got, want, atol=1e-3 * float(want.abs().max()), rtol=0)


def test_large_products_go_to_the_triton_gemm_and_answer_as_cublas_does() -> None:
    """``large_config``: products of TMA_MIN_TOKENS rows or more on the Triton GEMM (Triton's
    interpreter here, the warp-specialised form), smaller ones still on ``_scaled_mm``; both the
    fake-quant product."""
    pytest.importorskip("triton")
    from crowdperf.backends.gemm_config import TMA_MIN_TOKENS, GemmConfig

    torch.manual_seed(0)
    linear = torch.nn.Linear(32, 32)
    x = torch.randn(TMA_MIN_TOKENS, 32)
    fp8 = Fp8Linear.of(linear, float(x.abs().max()), torch.float16)
    x8 = quantize(x, fp8.input_inv_scale)
    want = fp8(x8).float()
    fp8.large_config = GemmConfig.parse("512x32x32s1w4-ws")
    got = fp8(x8).float()
    torch.testing.assert_close(got, want, atol=2e-2 * float(want.abs().max()), rtol=0)
    few = x8[:100]  # under the threshold: cuBLASLt's path, bit for bit the same as before
    assert torch.equal(fp8(few), Fp8Linear.of(linear, float(x.abs().max()), torch.float16)(few))


def test_options_keep_only_what_the_device_runs() -> None:
    from crowdperf.backends.gemm_config import GemmConfig

    ws = GemmConfig.parse("128x256x128s3w4-p1-ws")
    wanted = Fp8Options(
        fused=True, gelu_in_gemm=True, triton_layernorm=True, large_plain_gemm=ws, large_gelu_gemm=ws
    )
    on_cpu = wanted.on(torch.device("cpu"))
    assert not (on_cpu.fused or on_cpu.gelu_in_gemm or on_cpu.triton_layernorm)
    assert on_cpu.large_plain_gemm is None and on_cpu.large_gelu_gemm is None
    assert (on_cpu.fast_accum, on_cpu.gelu_tanh) == (wanted.fast_accum, wanted.gelu_tanh)


@pytest.mark.parametrize("chosen", [False, True], ids=["default", "chosen-config"])
def test_packed_batches_through_triton_attention_answer_as_padded_ones(chosen: bool) -> None:
    """Packed sequences (spare tokens after them) through the Triton attention, e4m3 out (Triton's
    interpreter here), in its default config and one ``Fp8Options.attention`` picks, against
    the same FP8 model on a padded batch with torch's attention."""
    pytest.importorskip("triton")
    from crowdperf.backends.triton_attention import AttentionConfig
    from crowdperf.workloads.bert.torch_model import Packed

    model = _model()
    amax = calibrate(model, _batches(4))
    attention = AttentionConfig(block_m=16, block_n=16, grid="persistent") if chosen else None
    options = Fp8Options(fused=False, gelu_in_gemm=False, attention=attention)
    fp8 = Fp8Bert(model, amax, Fp8Kernels.make(fused=False), options)
    lengths, width, spare = [5, 17, 30], 30, 4
    g = torch.Generator().manual_seed(7)
    ids = torch.randint(1, CFG.vocab_size, (len(lengths), width), generator=g)
    seg = (torch.arange(width) > 3).long()[None].repeat(len(lengths), 1)
    mask = (torch.arange(width)[None] < torch.tensor(lengths)[:, None]).long()
    real = mask.bool()
    cu = torch.tensor([0, *torch.tensor(lengths).cumsum(0).tolist()], dtype=torch.int32)
    pad = torch.zeros(spare, dtype=torch.long)
    positions = torch.cat([torch.arange(n) for n in lengths] + [pad])
    with torch.inference_mode():
        padded = fp8(ids, mask, seg)[real]
        packed = fp8.forward_packed(
            torch.cat([ids[real], pad]), torch.cat([seg[real], pad]), positions, Packed(cu, fp8.max_positions)
        )
    assert packed.shape == (sum(lengths) + spare, 2) and bool(torch.isfinite(packed).all())
    got = packed[: sum(lengths)]
    cosine = torch.nn.functional.cosine_similarity(got.flatten(), padded.flatten(), dim=0)
    assert float(cosine) > 0.995
    assert float((got - padded).abs().max()) < 0.1 * float(padded.abs().max())


@pytest.mark.parametrize("round_name", ["v4.1", "v6.1"])
def test_each_benchmark_gets_the_fp8_form_its_accuracy_target_allows(round_name: str) -> None:
    """bert-99 (and the stand-ins for it) keep the residual stream in e4m3; bert-99.9, whose
    target is ten times tighter, keeps it in 16 bits."""
    from crowdperf.workloads.bert.workload import fp8_options

    assert all(fp8_options(m, round_name).residual_e4m3 for m in ("bert-99", "tiny", "bert-large"))
    assert not fp8_options("bert-99.9", round_name).residual_e4m3
    assert fp8_options("bert-99", round_name) == Fp8Options()  # bert-99's form is the default
