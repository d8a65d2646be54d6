"""The Triton LayerNorm kernel's three variants against backends/fp8.py's PyTorch references
(Triton's interpreter on the CPU, mended where it disagrees with a GPU: tests/conftest.py,
tests/triton_interpreter.py)."""

from __future__ import annotations

from typing import cast

import pytest

torch = pytest.importorskip("torch")
pytest.importorskip("triton")

from crowdperf.backends.fp8 import (  # noqa: E402
    E4M3,
    Fp8Kernels,
    _add8_layernorm,
    _add8_layernorm_quantize,
    _add_layernorm,
    _add_layernorm_quantize,
    _layernorm_quantize,
    quantize,
    scale_for,
)
from crowdperf.backends.triton_layernorm import (  # noqa: E402
    LIGHT,
    LIGHT_MIN_ROWS,
    LayerNormConfig,
    add8_layernorm,
    add8_layernorm_quantize,
    add_layernorm,
    add_layernorm_quantize,
    default_config,
    layernorm,
    layernorm_quantize,
)


def _operands(rows: int, hidden: int, seed: int = 0) -> tuple[torch.Tensor, ...]:
    """fp16 activations whose rows have their own offsets and spreads (a real LayerNorm input
    is not zero-mean), a residual, LayerNorm parameters near BERT's, and a scale that saturates
    the top of the normalised range (values past it must clip to 448, not become NaN)."""
    g = torch.Generator().manual_seed(seed)
    offset, spread = torch.randn(rows, 1, generator=g), torch.rand(rows, 1, generator=g) * 4 + 0.5
    x = (torch.randn(rows, hidden, generator=g) * spread + offset).half()
    residual = (torch.randn(rows, hidden, generator=g) * 2).half()
    weight = (torch.rand(hidden, generator=g) + 0.5).half()
    bias = (torch.randn(hidden, generator=g) * 0.1).half()
    return x, residual, weight, bias, 1.0 / scale_for(2.5)


def _ordinal(x8: torch.Tensor) -> torch.Tensor:
    """e4m3 codes in value order (+0 and -0 both 0): codes one step apart differ by 1."""
    code = x8.view(torch.uint8).int()
    return torch.where(code >= 128, -(code & 0x7F), code & 0x7F)


def _assert_same_codes(got: torch.Tensor, want: torch.Tensor) -> None:
    """e4m3 codes equal but where fp32 sums in another order land on a rounding boundary: then
    one step apart."""
    assert got.dtype == want.dtype == E4M3 and got.shape == want.shape
    g, w = _ordinal(got), _ordinal(want)
    differ = g != w
    assert int(differ.sum()) <= 0.001 * differ.numel()
    assert bool(((g - w).abs() <= 1)[differ].all())


def _assert_same_fp16(got: torch.Tensor, want: torch.Tensor) -> None:
    """Within one fp16 rounding of the reference (fp32 statistics in another order)."""
    assert got.dtype == want.dtype and got.shape == want.shape
    torch.testing.assert_close(got.float(), want.float(), rtol=2e-3, atol=2e-3)


ROWS = [0, 1, 3, 37]  # none, one, a partial program, a count that is no power of two


@pytest.mark.parametrize("rows", ROWS)
def test_add_layernorm_quantize_equals_the_pytorch_reference(rows: int) -> None:
    x, r, w, b, inv = _operands(rows, 128)
    y, y8 = add_layernorm_quantize(x, r, w, b, 1e-12, inv)
    want, want8 = _add_layernorm_quantize(x, r, w, b, 1e-12, inv)
    _assert_same_fp16(y, want)
    _assert_same_codes(y8, want8)


@pytest.mark.parametrize("rows", ROWS)
def test_layernorm_quantize_equals_the_pytorch_reference(rows: int) -> None:
    x, _, w, b, inv = _operands(rows, 128, seed=1)
    y, y8 = layernorm_quantize(x, w, b, 1e-12, inv)
    want, want8 = _layernorm_quantize(x, w, b, 1e-12, inv)
    _assert_same_fp16(y, want)
    _assert_same_codes(y8, want8)


@pytest.mark.parametrize("rows", ROWS)
def test_add_layernorm_equals_the_pytorch_reference(rows: int) -> None:
    x, r, w, b, _ = _operands(rows, 128, seed=2)
    _assert_same_fp16(add_layernorm(x, r, w, b, 1e-12), _add_layernorm(x, r, w, b, 1e-12))


@pytest.mark.parametrize("rows", ROWS)
def test_e4m3_residual_steps_equal_the_pytorch_references(rows: int) -> None:
    """The residual stream in e4m3 (``Fp8Options.residual_e4m3``): the residual read as codes
    times their scale; e4m3 out only, or fp16 out only (the last layer)."""
    x, r, w, b, inv = _operands(rows, 128, seed=5)
    r_scale = scale_for(float(r.abs().max()) if rows else 1.0)
    r8 = quantize(r, 1 / r_scale)
    _assert_same_codes(
        add8_layernorm_quantize(x, r8, r_scale, w, b, 1e-12, inv),
        _add8_layernorm_quantize(x, r8, r_scale, w, b, 1e-12, inv),
    )
    _assert_same_fp16(
        add8_layernorm(x, r8, r_scale, w, b, 1e-12), _add8_layernorm(x, r8, r_scale, w, b, 1e-12)
    )
    y, y8 = layernorm(x, w, b, 1e-12, residual=r8, residual_scale=r_scale, out_inv_scale=inv, write_y=False)
    assert y is None and y8 is not None and y8.shape == x.shape
    # the large batches' config for this step (4 rows a program), a partial last program here
    _, light8 = layernorm(
        x, w, b, 1e-12, residual=r8, residual_scale=r_scale, out_inv_scale=inv, write_y=False, config=LIGHT
    )
    _assert_same_codes(cast(torch.Tensor, light8), y8)


def test_saturates_and_codes_agree_over_many_rows_in_multi_row_programs() -> None:
    """Rows per program > 1 with a partial last program, a hidden size that is no power of two
    (masked columns), batched leading dimensions, and values past the scale: clipped to 448."""
    x, r, w, b, inv = _operands(2 * 45, 96, seed=3)
    x, r = x.view(2, 45, 96), r.view(2, 45, 96)
    y, y8 = layernorm(x, w, b, 1e-5, residual=r, out_inv_scale=inv, config=LayerNormConfig(rows=8, warps=2))
    want, want8 = _add_layernorm_quantize(x, r, w, b, 1e-5, inv)
    assert y8 is not None and y.shape == y8.shape == (2, 45, 96)
    assert float(y8.float().abs().max()) == 448.0
    _assert_same_fp16(y, want)
    _assert_same_codes(y8, want8)


def test_fp32_inputs_give_fp32_outputs_as_the_reference_does() -> None:
    """The CPU's FP8 model runs in fp32: ``y`` keeps x's dtype."""
    x, r, w, b, inv = _operands(5, 64, seed=4)
    y, y8 = add_layernorm_quantize(x.float(), r.float(), w.float(), b.float(), 1e-12, inv)
    want, want8 = _add_layernorm_quantize(x.float(), r.float(), w.float(), b.float(), 1e-12, inv)
    assert y.dtype == torch.float32
    torch.testing.assert_close(y, want, rtol=1e-5, atol=1e-5)
    _assert_same_codes(y8, want8)


def test_mismatched_shapes_are_refused() -> None:
    x, r, w, b, _ = _operands(4, 64)
    with pytest.raises(ValueError, match="residual"):
        add_layernorm(x, r[:3], w, b, 1e-12)
    with pytest.raises(ValueError, match="weight and bias"):
        add_layernorm(x, r, w[:32], b, 1e-12)
    one, r8 = torch.ones(()), quantize(r, torch.ones(()))
    with pytest.raises(ValueError, match="needs its residual_scale"):  # e4m3 codes read as values
        layernorm(x, w, b, 1e-12, residual=r8)
    with pytest.raises(ValueError, match="needs its residual_scale"):  # a 16-bit residual scaled
        layernorm(x, w, b, 1e-12, residual=r, residual_scale=one)
    with pytest.raises(ValueError, match="give out_inv_scale"):  # nothing would be written
        layernorm(x, w, b, 1e-12, residual=r, write_y=False)


def test_default_config_is_one_row_per_program_but_for_large_light_steps() -> None:
    assert default_config(176, 1024).rows == 1
    large = default_config(160_000, 1024)
    assert large.rows == 1 and large.warps == 4  # measured fastest at every size (H200)
    assert default_config(160_000, 64).warps == 1  # a narrow row: fewer warps
    assert all(default_config(m, n).warps >= 1 for m in (1, 5000) for n in (16, 64, 768, 4096))
    # e4m3 residual in, e4m3 only out (4 bytes an element): more rows a program, large batches only
    assert default_config(160_000, 1024, light=True) == LIGHT
    assert default_config(LIGHT_MIN_ROWS - 1, 1024, light=True).rows == 1


def test_fp8_kernels_take_the_triton_layernorm_when_asked() -> None:
    kernels = Fp8Kernels.make(fused=False, triton_layernorm=True)
    assert kernels.triton_layernorm
    assert kernels.add_layernorm_quantize is add_layernorm_quantize
    assert kernels.layernorm_quantize is layernorm_quantize
    assert kernels.add_layernorm is add_layernorm
    assert not Fp8Kernels.make(fused=False).triton_layernorm
