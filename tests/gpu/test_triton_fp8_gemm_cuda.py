"""The Triton FP8 GEMM on an FP8 GPU (device tool) against cuBLASLt's ``torch._scaled_mm`` at
BERT's shapes, for one token, a SingleStream feature and a batch, and its GELU + quantize epilogue
against GELU + quantize of cuBLASLt's product; in each of its forms (persistent, TMA, epilogue in
halves, split-K: ``GemmConfig``)."""

from __future__ import annotations

import pytest

from gpu_marks import fp8_gpu

torch = pytest.importorskip("torch")
pytest.importorskip("triton")
pytestmark = fp8_gpu(torch)

from crowdperf.backends.fp8 import quantize, scale_for  # noqa: E402
from crowdperf.backends.gemm_config import GemmConfig  # noqa: E402
from crowdperf.backends.triton_fp8_gemm import fp8_gemm  # noqa: E402

# each form of the kernel (GemmConfig's fields) at a tiling an H200 runs; None: default_config
FORMS = [
    None,
    "128x256x128s3w8-p1-sub",
    "128x256x128s3w8-p1-tma-sub",
    "128x128x128s3w8-p2-tma",
    "128x256x128s3w8-tma-sub",
    "128x256x128s3w4-ws",
    "128x256x128s3w4-p1-ws",
    "128x128x128s3w4-p2-ws",
    "64x128x128s4w4-k4",  # split-K: the plain product only
]


@pytest.mark.parametrize("form", FORMS, ids=lambda f: f or "default")
@pytest.mark.parametrize("m", [1, 181, 5003, 20_011])  # 20,011: the TMA default with GELU
@pytest.mark.parametrize(("n", "k"), [(3072, 1024), (1024, 1024), (4096, 1024), (1024, 4096)])
def test_triton_gemm_agrees_with_scaled_mm(form: str | None, m: int, n: int, k: int) -> None:
    cfg = GemmConfig.parse(form) if form else None
    if cfg is not None and cfg.tma and torch.cuda.get_device_capability(0) < (9, 0):
        pytest.skip("TMA descriptors need Hopper (compute capability 9.0)")
    g = torch.Generator(device="cuda").manual_seed(m + n)
    x = torch.randn(m, k, device="cuda", generator=g, dtype=torch.float16)
    w = torch.randn(n, k, device="cuda", generator=g, dtype=torch.float16) / k**0.5
    sx, sw = scale_for(float(x.abs().max())).cuda(), scale_for(float(w.abs().max())).cuda()
    x8, w8 = quantize(x, 1 / sx), quantize(w, 1 / sw)
    bias = torch.randn(n, device="cuda", generator=g, dtype=torch.float16) * 0.1
    # fp32 out (no bias then: cuBLASLt takes a bias only with 16-bit outputs), exact accumulation
    want = torch._scaled_mm(x8, w8.t(), scale_a=sx, scale_b=sw, out_dtype=torch.float32) + bias.float()
    got = fp8_gemm(x8, w8, sx * sw, bias, config=cfg)
    # the Triton GEMM accumulates as cuBLASLt's fast mode does (Hopper's FP8 tensor cores, fewer
    # promotions to fp32): measured 3e-3 of the largest value from the exact product
    assert float((got.float() - want).abs().max()) < 6e-3 * float(want.abs().max()) + 1e-3
    # erf; tanh's by the GPU's tanh.approx (the default on CUDA); tanh's by exp2; tanh's in packed
    # fp16 (more codes differ: in the negative tail, tests/unit/backends/test_gemm_epilogue.py)
    gelus = ((False, None, False), (True, None, False), (True, False, False), (True, None, True))
    for tanh, approx, f16x2 in gelus if cfg is None or cfg.split_k == 1 else ():
        gelu = torch.nn.functional.gelu(want, approximate="tanh" if tanh else "none")
        inv = 1 / scale_for(float(gelu.abs().max())).cuda()
        codes = fp8_gemm(
            x8, w8, sx * sw, bias, gelu_out_inv_scale=inv, gelu_tanh=tanh, tanh_approx=approx,
            tanh_f16x2=f16x2, config=cfg,
        ).float()  # fmt: skip
        _assert_same_codes_but_at_boundaries(codes, quantize(gelu, inv).float(), 0.10 if f16x2 else 0.05)


@pytest.mark.parametrize("form", [None, "128x128x128s3w8-p2-tma"], ids=lambda f: f or "default")
@pytest.mark.parametrize("scale", [0.01, 1.0, 300.0])  # 300: products past fp16's range
def test_f16x2_epilogue_on_chosen_values(scale: float, form: str | None) -> None:
    """The packed-fp16 epilogue (GELU_TANH_F16X2's inline PTX) on products it is given exactly:
    an identity weight, so y = x * scale (+ bias) for each e4m3 x; the element order within its
    groups of four (a swap would move most codes), no NaN past fp16's range, and the codes of
    GELU + quantize in fp32 but at rounding boundaries and in GELU's negative tail (y < -2)."""
    cfg = GemmConfig.parse(form) if form else None
    if cfg is not None and cfg.tma and torch.cuda.get_device_capability(0) < (9, 0):
        pytest.skip("TMA descriptors need Hopper (compute capability 9.0)")
    n = 256
    g = torch.Generator(device="cuda").manual_seed(7)
    x8 = (torch.randn(1000, n, device="cuda", generator=g) * 40).clamp(-448, 448).to(torch.float8_e4m3fn)
    w8 = torch.eye(n, device="cuda").to(torch.float8_e4m3fn)
    bias = torch.randn(n, device="cuda", generator=g, dtype=torch.float16)
    y = x8.float() * scale + bias.float()
    gelu = torch.nn.functional.gelu(y, approximate="tanh")
    # GELU_TANH_F16X2 holds y (1 + tanh) = 2 GELU in fp16: exact for GELUs up to 32,752 (past it,
    # 448); so a calibrated range of at most 30,000 (BERT's is tens)
    inv = 1 / scale_for(min(float(gelu.abs().max()), 30_000.0)).cuda()
    codes = fp8_gemm(
        x8, w8, torch.tensor(scale, device="cuda"), bias, gelu_out_inv_scale=inv, gelu_tanh=True,
        tanh_f16x2=True, config=cfg,
    ).float()  # fmt: skip
    want = quantize(gelu, inv).float()
    assert not bool(codes.isnan().any())
    differ = codes != want
    assert float(differ[y >= -2].float().mean()) < 0.02
    step = (want.abs() / 8).clamp(min=2**-9)
    assert float(((codes - want).abs() - 1.01 * step).max()) <= 2**-9 * float(inv)


def _assert_same_codes_but_at_boundaries(
    codes: torch.Tensor, expected: torch.Tensor, most: float = 0.05
) -> None:
    differ = codes != expected  # only where sums in another order land on a rounding boundary
    assert float(differ.float().mean()) < most  # 2.8 % measured (tanh GELU, fast accumulation)
    # one e4m3 step; near zero, the product's own error (fast accumulation against the exact
    # reference: ~1e-3 of the largest value, bench/fp8_gemm.py) spans several small steps
    step = torch.maximum((expected.abs() / 8).clamp(min=2**-9), 4e-3 * expected.abs().max())
    assert bool(((codes - expected).abs() <= step * 1.01)[differ].all())


def test_warp_specialised_form_refuses_short_k_steps_on_a_gpu() -> None:
    """K steps of 64 gave NaNs in the warp-specialised kernel's fp16 products on an H200 (Triton
    3.6): refused on a GPU (Triton's interpreter computes them right, tests/unit)."""
    x8 = torch.zeros(256, 1024, device="cuda").to(torch.float8_e4m3fn)
    w8 = torch.zeros(1024, 1024, device="cuda").to(torch.float8_e4m3fn)
    one = torch.ones((), device="cuda")
    with pytest.raises(ValueError, match="K steps of 128"):
        fp8_gemm(x8, w8, one, config=GemmConfig.parse("128x256x64s5w4-p1-ws"))
