"""The Triton FP8 GEMM and its epilogue against a fake-quant reference (Triton's interpreter on
the CPU, mended where it disagrees with a GPU: tests/conftest.py, tests/triton_interpreter.py),
in each of its forms (``GemmConfig``: persistent, TMA descriptors, epilogue in halves, split-K).
The interpreter runs TMA descriptors too (zeros past M on load, rows past M dropped on store);
speed, and whether a form compiles for Hopper, only a GPU shows (bench/fp8_gemm.py)."""

from __future__ import annotations

from dataclasses import replace

import pytest

torch = pytest.importorskip("torch")
pytest.importorskip("triton")

import crowdperf.backends.gemm_config as tilings  # noqa: E402
from crowdperf.backends.fp8 import E4M3, quantize, scale_for  # noqa: E402
from crowdperf.backends.gemm_config import GemmConfig, default_config  # noqa: E402
from crowdperf.backends.gemm_epilogue import GELU_TANH_APPROX, GELU_TANH_EXP2, GELU_TANH_F16X2  # noqa: E402
from crowdperf.backends.triton_fp8_gemm import fp8_gemm, gemm_launches  # noqa: E402

TINY = GemmConfig(block_m=16, block_n=32, block_k=32, stages=1, warps=4, group_m=2)
TINY_WS = replace(TINY, warp_specialize=True)
# every form on TINY tiles; in the interpreter a persistent kernel runs 3 programs per "SM", so
# with p1 each program walks several tiles of the 37 x 64 products below (3 x 2 tiles)
FORMS = [
    TINY,
    replace(TINY, persistent=1),
    replace(TINY, persistent=1, epilogue_subtile=True),
    replace(TINY, tma=True),
    replace(TINY, persistent=1, tma=True),
    replace(TINY, persistent=2, tma=True, epilogue_subtile=True),
    TINY_WS,  # device-side descriptors, one tile a program
    replace(TINY_WS, persistent=1),
]
SPLIT_K = [replace(TINY, split_k=2), replace(TINY, split_k=3)]  # plain products only


def _operands(m: int, n: int, k: int, seed: int = 0) -> tuple[torch.Tensor, ...]:
    g = torch.Generator().manual_seed(seed)
    x = torch.randn(m, k, generator=g) * 3
    w = torch.randn(n, k, generator=g) / k**0.5
    sx, sw = scale_for(float(x.abs().max())), scale_for(float(w.abs().max()))
    x8, w8 = quantize(x, 1 / sx), quantize(w, 1 / sw)
    bias = (torch.randn(n, generator=g) * 0.1).half()
    return x8, w8, sx * sw, bias


def _reference(x8: torch.Tensor, w8: torch.Tensor, scale: torch.Tensor, bias: torch.Tensor) -> torch.Tensor:
    return (x8.float() @ w8.float().t()) * scale + bias.float()


@pytest.mark.parametrize("m", [1, 13, 16, 37])
def test_product_with_bias_equals_the_fake_quant_reference_for_any_row_count(m: int) -> None:
    x8, w8, scale, bias = _operands(m, 64, 96)
    out = fp8_gemm(x8, w8, scale, bias, config=TINY)
    assert out.dtype == torch.float16 and out.shape == (m, 64)
    torch.testing.assert_close(out.float(), _reference(x8, w8, scale, bias), rtol=2e-3, atol=2e-3)


@pytest.mark.parametrize("cfg", FORMS[1:] + SPLIT_K, ids=lambda c: c.name)
@pytest.mark.parametrize("m", [1, 13, 37])  # one row, less than a block, not a multiple of one
def test_every_form_gives_the_product_with_and_without_bias(cfg: GemmConfig, m: int) -> None:
    x8, w8, scale, bias = _operands(m, 64, 192, seed=m)
    for b in (bias, None):
        out = fp8_gemm(x8, w8, scale, b, config=cfg)
        assert out.dtype == torch.float16 and out.shape == (m, 64)
        want = _reference(x8, w8, scale, b if b is not None else torch.zeros_like(bias))
        torch.testing.assert_close(out.float(), want, rtol=2e-3, atol=2e-3)


@pytest.mark.parametrize("cfg", FORMS, ids=lambda c: c.name)
@pytest.mark.parametrize("tanh", [False, True])
@pytest.mark.filterwarnings("ignore:overflow encountered in exp2")  # exp2 -> inf: GELU(-big) = -0
def test_gelu_quantize_epilogue_gives_the_codes_of_gelu_then_quantize(cfg: GemmConfig, tanh: bool) -> None:
    x8, w8, scale, bias = _operands(40, 64, 64, seed=2)
    y = _reference(x8, w8, scale, bias)
    gelu = torch.nn.functional.gelu(y, approximate="tanh" if tanh else "none")
    inv = 1 / scale_for(float(gelu.abs().max()) * 0.5)  # half the range: the top values saturate
    out = fp8_gemm(x8, w8, scale, bias, gelu_out_inv_scale=inv, gelu_tanh=tanh, config=cfg)
    assert out.dtype == E4M3
    assert float(out.float().abs().max()) == 448.0  # saturated, not NaN
    got, want = out.float(), quantize(gelu, inv).float()
    differ = got != want  # only where fp32 sums in another order land on a rounding boundary
    assert differ.float().mean() < 0.01
    step = (want.abs() / 8).clamp(min=2**-9)  # one e4m3 step (3 mantissa bits)
    assert bool(((got - want).abs() <= step * 1.01)[differ].all())


@pytest.mark.filterwarnings("ignore:overflow encountered in exp2")
def test_the_f16x2_form_falls_back_to_exp2_where_there_is_no_ptx() -> None:
    """Triton's interpreter has no PTX: ``tanh_f16x2`` there computes what ``gelu_tanh`` alone
    does (the exp2 form), as ``tanh_approx`` does; a GPU's kernel gets GELU_FORM 4."""
    x8, w8, scale, bias = _operands(40, 64, 64, seed=4)
    inv = 1 / scale_for(4.0)
    tanh = {"gelu_out_inv_scale": inv, "gelu_tanh": True, "config": TINY}
    plain = fp8_gemm(x8, w8, scale, bias, **tanh)
    packed = fp8_gemm(x8, w8, scale, bias, tanh_f16x2=True, **tanh)
    assert torch.equal(plain.view(torch.uint8), packed.view(torch.uint8))

    def form(**kwargs: bool) -> int:
        _, (launch,) = gemm_launches(x8, w8, scale, bias, gelu_out_inv_scale=inv, config=TINY, **kwargs)
        return int(launch.options["GELU_FORM"])

    assert form(gelu_tanh=True, tanh_f16x2=True) == GELU_TANH_EXP2  # CPU tensors: no tanh.approx
    assert form(gelu_tanh=True, tanh_approx=True) == GELU_TANH_APPROX
    assert form(gelu_tanh=True, tanh_approx=True, tanh_f16x2=True) == GELU_TANH_F16X2
    with pytest.raises(ValueError, match="tanh_f16x2 is a form of tanh's GELU"):
        fp8_gemm(x8, w8, scale, bias, gelu_out_inv_scale=inv, tanh_f16x2=True, config=TINY)


def test_default_tiling_divides_the_sizes_of_every_bert_shape() -> None:
    shapes = [(3 * 1024, 1024), (1024, 1024), (4096, 1024), (1024, 4096), (768, 3072), (256, 64), (64, 256)]
    for n, k in shapes:
        for m in (1, 180, 190_000):
            cfg = default_config(m, n, k)
            assert n % cfg.block_n == 0 and k % cfg.block_k == 0


def test_default_forms_follow_the_token_count_and_the_gpu() -> None:
    """TMA's persistent form only where it was measured faster: the GELU epilogue of Offline's
    large batches, on GPUs with TMA; the classic kernel everywhere else (and on the CPU)."""
    n, k = 4096, 1024
    assert default_config(200_000, n, k, epilogue=True, tma=True) == tilings.LARGE_EPILOGUE_TMA
    assert default_config(200_000, n, k, epilogue=True, tma=False) == tilings.LARGE_EPILOGUE
    assert default_config(11_520, n, k, epilogue=True, tma=True) == tilings.LARGE_EPILOGUE
    assert default_config(200_000, n, k, tma=True) == tilings.LARGE  # plain products: classic
    assert default_config(384, n, k, epilogue=True, tma=True) == tilings.SMALL


def test_sizes_the_kernel_cannot_tile_are_refused() -> None:
    x8, w8, scale, bias = _operands(8, 64, 64)
    with pytest.raises(ValueError, match="do not fit"):
        fp8_gemm(x8, w8[:, :48].contiguous(), scale, bias, config=TINY)
    with pytest.raises(ValueError, match="contiguous"):
        fp8_gemm(x8.t().contiguous().t(), w8, scale, bias, config=TINY)


@pytest.mark.parametrize("cfg", FORMS + SPLIT_K, ids=lambda c: c.name)
def test_no_rows_give_an_empty_product(cfg: GemmConfig) -> None:
    x8, w8, scale, bias = _operands(1, 64, 192)
    assert fp8_gemm(x8[:0], w8, scale, bias, config=cfg).shape == (0, 64)


def test_forms_a_kernel_cannot_take_are_refused() -> None:
    x8, w8, scale, bias = _operands(8, 64, 64)
    with pytest.raises(ValueError, match="split-K is a plain product"):
        fp8_gemm(x8, w8, scale, bias, gelu_out_inv_scale=scale, config=replace(TINY, split_k=2))
    with pytest.raises(ValueError, match="split-K is a plain product"):
        fp8_gemm(x8, w8, scale, bias, config=replace(TINY, split_k=2, persistent=1))
    with pytest.raises(ValueError, match="split-K is a plain product"):
        fp8_gemm(x8, w8, scale, bias, config=replace(TINY, split_k=2, warp_specialize=True))
    with pytest.raises(ValueError, match="do not fit"):  # K = 64 is not 3 slices of 32
        fp8_gemm(x8, w8, scale, bias, config=replace(TINY, split_k=3))
    ws = TINY_WS  # (K steps of 32: refused on a GPU only, tests/gpu/test_triton_fp8_gemm_cuda.py)
    for bad in (replace(ws, tma=True), replace(ws, epilogue_subtile=True), replace(ws, warps=8)):
        with pytest.raises(ValueError, match="its own TMA form, whole tiles, 4 warps"):
            fp8_gemm(x8, w8, scale, bias, config=bad)
    wide = torch.zeros(8, 72, dtype=x8.dtype)  # rows 72 bytes apart: not 16-byte aligned
    with pytest.raises(ValueError, match="TMA needs"):
        fp8_gemm(wide[:, :64], w8, scale, bias, config=replace(TINY, tma=True))
    with pytest.raises(ValueError, match="TMA needs"):  # the warp-specialised form loads through TMA
        fp8_gemm(wide[:, :64], w8, scale, bias, config=TINY_WS)


@pytest.mark.parametrize("cfg", [*FORMS, *SPLIT_K, GemmConfig()], ids=lambda c: c.name)
def test_a_config_name_parses_back_to_the_config(cfg: GemmConfig) -> None:
    assert GemmConfig.parse(cfg.name) == replace(cfg, group_m=GemmConfig().group_m)


def test_config_names_spell_each_form() -> None:
    assert TINY.name == "16x32x32s1w4"  # the classic kernel: the names benches printed before
    assert GemmConfig.parse("128x256x128s3w8-p1-tma-sub") == GemmConfig(
        128, 256, 128, 3, 8, persistent=1, tma=True, epilogue_subtile=True
    )
    assert GemmConfig.parse("64x128x128s4w4-k4").split_k == 4
    with pytest.raises(ValueError, match="unknown form 'fast'"):
        GemmConfig.parse("128x256x128s3w8-fast")
