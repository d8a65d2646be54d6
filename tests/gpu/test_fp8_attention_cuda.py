"""``Fp8Options.fp8_attention`` on an FP8 GPU (device tool): the e4m3 attention kernel
(backends/triton_attention_fp8.py, FP8 tensor cores) against the float reference of its own
rounding steps (tests/triton_attention_cases.py's ``reference_e4m3``, which the CPU tests run in
Triton's interpreter), eager and in a CUDA graph; and the packed FP8 model with the option against
the same model without it (fp16 QKV product and attention)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from crowdperf.precision import Precision
from crowdperf.system.devices import DeviceKind, UsedDevice
from crowdperf.workloads.bert.dataset import PAD_LOGIT
from crowdperf.workloads.bert.fp8_model import Fp8Options
from crowdperf.workloads.bert.model_config import BertModelConfig
from crowdperf.workloads.bert.weights import ensure_weights
from crowdperf.workloads.bert.workload import bert_runner
from gpu_batches import calibration_features, cosine, masked_batch
from gpu_marks import fp8_gpu

torch = pytest.importorskip("torch")
pytest.importorskip("triton")
pytestmark = fp8_gpu(torch)
GPU0 = UsedDevice(DeviceKind.CUDA, 0, "gpu 0")


def _ordinal(x8: torch.Tensor) -> torch.Tensor:
    code = x8.view(torch.uint8).int()
    return torch.where(code >= 128, -(code & 0x7F), code & 0x7F)


def test_fp8_attention_kernel_is_its_own_quantized_math_on_the_gpu() -> None:
    """BERT-Large's heads (16 x 64), sequences of 1 to 384 tokens, spare rows: codes within one
    step of the reference (the GPU's exp2 is an approximation: a few more P roundings may flip
    than in the interpreter), a CUDA graph's replay equal to the eager run, and a loose bound
    against the fp16 kernel on the unquantized product."""
    from crowdperf.backends.fp8 import quantize
    from crowdperf.backends.triton_attention import plan_attention, varlen_attention
    from crowdperf.backends.triton_attention_fp8 import varlen_attention_fp8
    from triton_attention_cases import reference_e4m3

    heads, d, spare, lengths = 16, 64, 7, [1, 5, 64, 65, 130, 200, 384]
    cu = [0, *np.cumsum(lengths).tolist()]
    g = torch.Generator(device="cuda").manual_seed(0)
    qkv = (torch.randn(cu[-1] + spare, 3 * heads * d, device="cuda", generator=g) * 1.5).half()
    qkv_scale = float(qkv.float().abs().max()) / 448.0
    qkv8 = quantize(qkv, torch.tensor(1.0 / qkv_scale, device="cuda"))
    cu_t = torch.tensor(cu, dtype=torch.int32, device="cuda")
    plan = plan_attention(cu_t, 384, qkv.shape[0], heads, d)
    s_t = torch.tensor(qkv_scale, dtype=torch.float32, device="cuda")
    own = reference_e4m3(qkv8.cpu(), qkv_scale, cu, heads, plan.config.block_n)[: cu[-1]]
    inv = torch.tensor(448.0 / float(own.abs().max()), dtype=torch.float32, device="cuda")
    out8 = varlen_attention_fp8(qkv8, plan, s_t, inv)
    steps = (_ordinal(out8[: cu[-1]].cpu()) - _ordinal(quantize(own, inv.cpu()))).abs()
    assert int(steps.max()) <= 1 and float((steps > 0).float().mean()) < 5e-3
    assert (out8[cu[-1] :].view(torch.uint8) == 0).all()

    graph_out = torch.empty_like(out8)
    graph = torch.cuda.CUDAGraph()
    with torch.cuda.graph(graph):
        varlen_attention_fp8(qkv8, plan, s_t, inv, out=graph_out)
    graph.replay()
    torch.cuda.synchronize()
    assert torch.equal(graph_out.view(torch.uint8), out8.view(torch.uint8))

    fp16 = varlen_attention(qkv, plan)[: cu[-1]].float()
    got = out8[: cu[-1]].float() / inv
    assert float((got - fp16).abs().mean()) < 0.1 * float(fp16.abs().mean())


def test_qkv_product_in_e4m3_through_cublaslt_and_triton_agree_and_saturate() -> None:
    """BERT-Large's QKV shape (1,024 -> 3,072), 1,000 tokens: the Triton GEMM's quantize epilogue
    and cuBLASLt's e4m3 output (scale folded into the weight's scale and bias: ``Fp8LinearE4m3Out``)
    against the fp16 product through ``quantize``, within one e4m3 step; at half the range,
    the largest products clamp to 448, never NaN (cuBLASLt's saturation is what this checks)."""
    from crowdperf.backends.fp8 import E4M3_MAX, Fp8Linear, Fp8LinearE4m3Out, quantize, scale_for

    g = torch.Generator(device="cuda").manual_seed(1)
    weight = torch.randn(3072, 1024, device="cuda", generator=g) * 0.03
    bias = torch.randn(3072, device="cuda", generator=g) * 0.1
    x = torch.randn(1000, 1024, device="cuda", generator=g)
    fp8 = Fp8Linear(weight, bias, float(x.abs().max()), torch.float16, fast_accum=True)
    x8 = quantize(x, fp8.input_inv_scale)
    product = fp8(x8)
    for amax in (float(product.abs().max()), 0.5 * float(product.abs().max())):
        inv = (1.0 / scale_for(amax)).cuda()
        want = quantize(product, inv).float()
        step = (want.abs() / 8).clamp(min=2**-9)
        for got8 in (fp8.quantized(x8, inv), Fp8LinearE4m3Out(fp8, inv)(x8)):
            got = got8.float()
            assert not bool(got.isnan().any()) and float(got.abs().max()) <= E4M3_MAX
            assert bool(((got - want).abs() <= step * 1.01).all())
            assert float((got != want).float().mean()) < 0.02


@pytest.mark.parametrize("cublaslt", [False, True], ids=["triton-qkv", "cublaslt-qkv"])
def test_packed_fp8_model_with_fp8_attention_answers_as_without(tmp_path: Path, cublaslt: bool) -> None:
    """BERT-Base generated weights, packed sequences with CUDA graphs (and an eager batch past
    the graphs' cap): the option against the default fp8 path. Bounds as test_fp8_cuda.py's
    between fp8 forms (0.1 of the logits' scale, cosine > 0.995): random weights give near-tied
    logits, so these say "no defect", not "same F1" (bench/gpu.py ``--accuracy-variants
    fp8,fp8-attn8`` measures that)."""
    cfg = BertModelConfig.base(30522)
    weights = ensure_weights(tmp_path, cfg, seed=3)
    kw = {"max_len": 384, "calibration": calibration_features(cfg.vocab_size)}
    plain, _ = bert_runner("pytorch", weights, GPU0, Precision.FP8, None, **kw)  # type: ignore[arg-type]
    attn8, _ = bert_runner(
        "pytorch", weights, GPU0, Precision.FP8, None,
        fp8=Fp8Options(fp8_attention=True, qkv_cublaslt=cublaslt), **kw,
    )  # type: ignore[arg-type]  # fmt: skip
    for runner in (plain, attn8):
        runner.prepare(16, [64, 96, 384])
    for n, width in [(1, 64), (7, 96), (16, 384), (64, 384)]:
        batch = masked_batch(n, width, [max(3, width - 13 * k) for k in range(n)], cfg.vocab_size, seed=n)
        real = batch.input_mask.astype(bool)
        want, got = plain.run(batch), attn8.run(batch)
        assert got.shape == want.shape == (n, width, 2) and np.isfinite(got).all()
        scale = float(np.abs(want[real]).max())
        np.testing.assert_allclose(got[real], want[real], atol=0.1 * scale)
        assert cosine(got[real], want[real]) > 0.995
        assert (got[~real] == PAD_LOGIT).all()
