"""The packed-fp16 GELU + quantize epilogue (gemm_epilogue.GELU_TANH_F16X2) on the CPU: its PTX
cannot run in Triton's interpreter, so its arithmetic is emulated here step by step in torch's fp16
(each PTX instruction rounds to fp16 once; the same constants), against GELU + quantize in fp32.
That it compiles for sm_90a, and what it compiles to, is the slow test at the end; the PTX itself
against cuBLASLt's product is tests/gpu/test_triton_fp8_gemm_cuda.py's."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

torch = pytest.importorskip("torch")
pytest.importorskip("triton")

from crowdperf.backends import gemm_epilogue as ep  # noqa: E402
from crowdperf.backends.fp8 import E4M3, quantize, scale_for  # noqa: E402

REPO = Path(__file__).resolve().parents[3]


def _f16(x: torch.Tensor | float) -> torch.Tensor:
    return torch.as_tensor(x, dtype=torch.float32).half().float()


def _emulated_f16x2(y: torch.Tensor, inv: float, tanh_error: float = 0.0) -> torch.Tensor:
    """GELU_QUANTIZE_F16X2_ASM's e4m3 codes of fp32 ``y``, instruction by instruction (an fp16
    product of fp16 values is exact in fp32, so fp32 then one rounding is the FMA's rounding);
    ``tanh_error``: added to tanh where it is not saturated (tanh.approx's own error)."""
    y16 = _f16(y.clamp(-65504, 65504))  # cvt.rn.satfinite.f16x2.f32
    c = y16.clamp(-ep.F16X2_Y_CLAMP, ep.F16X2_Y_CLAMP)  # min.xorsign.abs
    u = _f16(_f16(_f16(c * c) * _f16(ep.F16X2_C3) + _f16(ep.F16X2_C1)) * c)
    exact = torch.tanh(u)
    t = _f16((exact + tanh_error * (exact.abs() < 0.9995)).clamp(-1, 1))
    g = _f16(y16 * t + y16)  # fma: y (1 + t)
    half_inv = _f16(min(max(inv * 0.5, 2.0**-14), 65504.0))
    return _f16(g * half_inv).clamp(-448, 448).to(E4M3)  # satfinite: inf -> 448


def _pre_activations() -> torch.Tensor:
    g = torch.Generator().manual_seed(0)
    return torch.cat([torch.randn(200_000, generator=g) * 2, torch.linspace(-12, 12, 200_001)])


@pytest.mark.parametrize("amax", [8.0, 40.0])
@pytest.mark.parametrize("tanh_error", [0.0, 2.0**-11, -(2.0**-11)])
def test_f16x2_codes_are_the_fp32_codes_but_at_boundaries_and_in_the_negative_tail(
    amax: float, tanh_error: float
) -> None:
    """Where y >= -2 fp16's rounding (2^-11) moves only codes at a rounding boundary; below, GELU
    is y (1 + tanh(u)) / 2 with tanh near -1, where fp16 resolves tanh only to 2^-11: codes there
    (|GELU| < 0.05, subnormal e4m3 at these scales) differ by a few small steps, never by more
    than 2^-9 of the GELU's units past one step."""
    y = _pre_activations()
    inv = 1 / float(scale_for(amax))
    want = quantize(torch.nn.functional.gelu(y, approximate="tanh"), torch.tensor(inv)).float()
    got = _emulated_f16x2(y, inv, tanh_error).float()
    differ = got != want
    assert float(differ[y >= -2].float().mean()) < 0.02  # 0.4 % measured, 1.3 % with tanh's error
    assert float(differ.float().mean()) < 0.12  # 6 % measured, 11 % with tanh's error
    step = (want.abs() / 8).clamp(min=2**-9)  # one e4m3 step (3 mantissa bits)
    assert float(((got - want).abs() - 1.01 * step).max()) <= 2**-9 * inv


@pytest.mark.parametrize("inv", [1e-9, 1.0, 56.0, 1e9])  # past fp16's range at both ends
def test_f16x2_never_gives_nan_and_saturates_past_fp16s_range(inv: float) -> None:
    big = [3e4, 65504.0, 7e4, 1e30]  # the last two past fp16's range
    y = torch.tensor([0.0, -0.0, 1e-8, -1e-8, 8.0, -8.0, *big, *[-v for v in big]])
    got = _emulated_f16x2(y, inv).float()
    assert not bool(got.isnan().any())
    assert float(got[0]) == 0.0
    assert bool((got[-len(big) :] == 0).all())  # GELU(-large) = -0: tanh is -1 exactly
    if inv >= 1:  # (a tiny inverse scale is clipped to fp16's smallest normal: small codes)
        assert bool((got[6 : 6 + len(big)] == 448).all())  # y (1 + 1) overflows to inf: 448


def test_the_ptx_carries_the_emulated_constants() -> None:
    asm = ep.GELU_QUANTIZE_F16X2_ASM
    for value in (ep.F16X2_C1, ep.F16X2_C3, ep.F16X2_Y_CLAMP):
        assert ep._f16x2(value) in asm
    assert asm.count("tanh.approx.f16x2") == 2  # one per pair of the four elements
    assert asm.count("cvt.rn.satfinite.e4m3x2.f16x2") == 2


@pytest.mark.slow
def test_the_f16x2_epilogue_compiles_for_hopper_to_packed_fp16_arithmetic() -> None:
    """bench/fp8_gemm_compile.py (no GPU, Triton's own ptxas and nvdisasm): the packed form's
    epilogue has no fp32 FMUL left (one, for the scale) and HFMA2/HMUL2 in their place, and as
    many tanh instructions as the fp32 form (Hopper runs tanh.approx.f16x2 as two MUFU.TANH.F16)."""
    env = {k: v for k, v in os.environ.items() if k != "TRITON_INTERPRET"}
    run = subprocess.run(
        [sys.executable, "bench/fp8_gemm_compile.py", "--configs", "128x128x128s3w8-p2-tma",
         "--gelu", "tanh,tanh-f16x2", "--sass"],
        cwd=REPO, env=env, capture_output=True, text=True, check=True, timeout=600,
    )  # fmt: skip
    lines = {line.split(":")[0]: line for line in run.stdout.splitlines() if "ffn_in" in line}
    fp32 = lines["128x128x128s3w8-p2-tma ffn_in + tanh GELU epilogue"]
    f16 = lines["128x128x128s3w8-p2-tma ffn_in + tanh-f16x2 GELU epilogue"]
    assert "FAILS" not in run.stdout and "0 B spilled" in f16
    assert "MUFU.TANH 64" in fp32 and "MUFU.TANH.F16 64" in f16  # 64 elements a thread
    assert "HFMA2 64" in f16 and "HMUL2 96" in f16 and "FMUL 1 " in f16
    assert "FMUL 384" in fp32
