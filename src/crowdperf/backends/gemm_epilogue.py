"""The epilogue of the Triton FP8 GEMM (``triton_fp8_gemm.py``): the accumulator tile scaled, plus
the bias, then (GELU_QUANT) the GELU and the quantize to the next product's e4m3 scale.

The GELU forms (the kernels' GELU_FORM): BERT's exact erf form, or tanh's, computed as
x * sigmoid(2u) with one exp2 and one division (any backend, Triton's interpreter too), or with
the GPU's one-instruction ``tanh.approx.f32`` (PTX: CUDA only), or all of it in packed half
precision (GELU_TANH_F16X2: ``fma.rn.f16x2``, ``tanh.approx.f16x2``,
``cvt.rn.satfinite.e4m3x2.f16x2``, on pairs of elements; sm_89 and later; Hopper still runs two
``MUFU.TANH.F16`` a pair). In an epilogue that does not overlap the next tile's products, these
instructions are time: 741 M elements per BERT-Large FFN product of an Offline batch. tanh's
GELU is within 1e-3 of erf's, tanh.approx's relative error ~2^-11, fp16's rounding 2^-11: far
below an e4m3 step (6 to 12 %), but for the packed form's tiny values in GELU's negative tail
(tests/unit/backends/test_gemm_epilogue.py).
"""

from __future__ import annotations

import struct

import torch
import triton
import triton.language as tl

GELU_ERF, GELU_TANH_EXP2, GELU_TANH_APPROX, GELU_TANH_F16X2 = 0, 1, 2, 3

# the largest finite e4m3fn value, as a kernel constant (fp8.py imports the GEMM: no import back)
_SATURATE: tl.constexpr = tl.constexpr(torch.finfo(torch.float8_e4m3fn).max)
_FP16_MAX: tl.constexpr = tl.constexpr(torch.finfo(torch.float16).max)
_FP16_MIN_NORMAL: tl.constexpr = tl.constexpr(torch.finfo(torch.float16).tiny)

# GELU_TANH_F16X2: gelu(y) = y (1 + tanh(u)) / 2, u = sqrt(2/pi) (y + 0.044715 y^3) = y (C1 + C3 y^2).
# The cubic's input is clamped to |y| <= Y_CLAMP, where u = 24.6 and tanh is 1 in fp16 (it is from
# u ~ 4.5 on), so y^3 never overflows fp16; y itself is not clamped (the GELU of a large y is y).
F16X2_C1 = 0.7978845608028654  # sqrt(2/pi)
F16X2_C3 = 0.044715 * 0.7978845608028654
F16X2_Y_CLAMP = 8.0


def _f16x2(value: float) -> str:
    """``value`` rounded to fp16, in both halves of a PTX 32-bit immediate."""
    (bits,) = struct.unpack("<H", struct.pack("<e", value))
    return f"0x{bits:04x}{bits:04x}"


# Four fp32 values ($1..$4: y) and half the output's inverse scale as fp16 ($5, $6: the same value
# twice, packed) in; four e4m3 codes packed in $0 out (element i in byte i, as Triton unpacks it).
# Per pair of elements: one fp32 -> f16x2 conversion, one clamp (the min of |y| and 8, with y's
# sign), two multiplies and one FMA for u, one tanh, one FMA for y (1 + t), one multiply by the
# scale / 2, one conversion to two e4m3 codes (satfinite: past the calibrated range they clip to
# +-448, never NaN). y (1 + t) = 2 GELU(y) is held in fp16: exact for GELUs up to 32,752; past
# that it is inf, and converts to 448 (a calibrated amax that large is past what fp16 activations
# carry). fp32 past fp16's range converts to +-65504; y (1 + t) is then 0 or inf (tanh gives -1
# or 1 exactly): never inf - inf, as scaling y before the FMA could give.
_HALF_PAIR = """
    cvt.rn.satfinite.f16x2.f32 y{p}, {hi}, {lo};
    min.xorsign.abs.f16x2 c{p}, y{p}, ymax;
    mul.rn.f16x2 u{p}, c{p}, c{p};
    fma.rn.f16x2 u{p}, u{p}, k3, k1;
    mul.rn.f16x2 u{p}, u{p}, c{p};
    tanh.approx.f16x2 u{p}, u{p};
    fma.rn.f16x2 g{p}, y{p}, u{p}, y{p};
    mul.rn.f16x2 g{p}, g{p}, $5;
    cvt.rn.satfinite.e4m3x2.f16x2 e{p}, g{p};"""
GELU_QUANTIZE_F16X2_ASM: str = (
    "{\n    .reg .b32 ymax, k1, k3, y<2>, c<2>, u<2>, g<2>;\n    .reg .b16 e<2>;\n"
    f"    mov.b32 ymax, {_f16x2(F16X2_Y_CLAMP)};\n"
    f"    mov.b32 k1, {_f16x2(F16X2_C1)};\n"
    f"    mov.b32 k3, {_f16x2(F16X2_C3)};"
    + _HALF_PAIR.format(p=0, lo="$1", hi="$2")
    + _HALF_PAIR.format(p=1, lo="$3", hi="$4")
    + "\n    mov.b32 $0, {e0, e1};\n}"
)
_ASM: tl.constexpr = tl.constexpr(GELU_QUANTIZE_F16X2_ASM)  # what a kernel may read


@triton.jit
def _gelu(y, FORM: tl.constexpr):
    if FORM == 2:
        u = 0.7978845608028654 * y * (1.0 + 0.044715 * y * y)  # sqrt(2/pi) (x + 0.044715 x^3)
        t = tl.inline_asm_elementwise(
            "tanh.approx.f32 $0, $1;", "=f,f", [u], dtype=tl.float32, is_pure=True, pack=1
        )
        return 0.5 * y * (1.0 + t)
    if FORM == 1:
        u = y * (1.0 + 0.044715 * y * y)
        return y / (1.0 + tl.exp2(u * -2.302208198))  # -2 sqrt(2/pi) log2(e)
    return 0.5 * y * (1.0 + tl.erf(y * 0.7071067811865476))  # exact (erf) GELU, BERT's


@triton.jit
def finish_tile(
    acc, scale, bias, out_inv_scale,
    HAS_BIAS: tl.constexpr, GELU_QUANT: tl.constexpr, GELU_FORM: tl.constexpr,
):  # fmt: skip
    """``acc * scale (+ bias)`` (``bias``: the tile's columns, fp32, (1, width)), then, with
    GELU_QUANT, GELU_FORM's GELU and the quantize with ``out_inv_scale``: fp32 (saturated at
    +-448, the store converts it) or, for GELU_TANH_F16X2, e4m3 already."""
    if GELU_QUANT and GELU_FORM == 3:  # GELU_TANH_F16X2; static: one branch compiled, so each its own type
        out = _gelu_quantize_f16x2(acc, scale, bias, out_inv_scale, HAS_BIAS)
    else:
        out = acc * scale
        if HAS_BIAS:
            out += bias
        if GELU_QUANT:
            out = _gelu(out, GELU_FORM) * out_inv_scale
            out = tl.minimum(tl.maximum(out, -_SATURATE), _SATURATE)  # e4m3fn has no infinity
    return out


@triton.jit
def _gelu_quantize_f16x2(acc, scale, bias, out_inv_scale, HAS_BIAS: tl.constexpr):
    """GELU_TANH_F16X2: e4m3 codes of tanh's GELU of ``acc * scale (+ bias)`` times
    ``out_inv_scale``, in packed fp16 (GELU_QUANTIZE_F16X2_ASM)."""
    y = acc * scale
    if HAS_BIAS:
        y += bias
    # the inverse scale / 2 in fp16's normal range: clipped only for a calibrated amax under
    # 448 / 131008 or over 448 / 2^-13 (3.7 M); one value per program
    half_inv = tl.minimum(tl.maximum(out_inv_scale * 0.5, _FP16_MIN_NORMAL), _FP16_MAX).to(tl.float16)
    return tl.inline_asm_elementwise(
        _ASM, "=r,f,f,f,f,r,r", [y, tl.full(y.shape, 0.0, tl.float16) + half_inv],
        dtype=tl.float8e4nv, is_pure=True, pack=4,
    )  # fmt: skip
