"""FP8 (e4m3) matrix products for PyTorch, with static scales, and the small fused steps around them.

A ``Fp8Linear`` holds its weight in e4m3 with one scale per tensor and takes its input already in
e4m3, quantized with one static scale per tensor that calibration fixed (``scale_for(amax)``):
``y = (x8 * s_x) @ (w8 * s_w)^T + b`` in one ``torch._scaled_mm`` call (cuBLASLt on GPUs with FP8
tensor cores; torch has a CPU kernel too, so the numerics are testable without a GPU), bias fused,
fp16 out. Per-tensor scales are the fastest ``_scaled_mm`` form on Hopper (row-wise scales need
bf16 outputs and ran 5-10 % slower in the issue's measurement); e4m3 keeps 3 mantissa bits at any
magnitude, so one scale per weight matrix loses little.

The quantize step is where speed goes between GEMMs: every e4m3 input is made by the op before it.
``Fp8Kernels`` groups those ops (LayerNorm + quantize, residual + LayerNorm + quantize, GELU +
quantize, quantize) as plain PyTorch; ``fused=True`` hands each to ``torch.compile`` (Inductor
writes one Triton kernel per op, for any token count after its second size), so an activation is
read once and written once in fp16 and once in e4m3. Unfused, the same functions run op by op (CPU,
or a GPU without Triton).

One step goes further, into a GEMM's epilogue (``triton_fp8_gemm.py``, a Triton FP8 GEMM):
``Fp8Linear.gelu_quantized``, GELU + quantize after the first FFN product, whose 4h-wide output
is then written once, in e4m3.
And the LayerNorm steps have a hand-written Triton kernel (``triton_layernorm.py``:
``Fp8Kernels.make(..., triton_layernorm=True)``), the same math as Inductor's kernel, closer to
the memory's bandwidth: 4.16 against 3.64 TB/s on an H200 (bench/layernorm_kernels.py).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import torch
import torch.nn.functional as F
from torch import nn

from crowdperf.backends.gemm_config import TMA_MIN_TOKENS, GemmConfig

E4M3 = torch.float8_e4m3fn
E4M3_MAX = 448.0  # the largest finite e4m3fn value
_MIN_SCALE = 1e-12  # an all-zero tensor still gets a usable (tiny) scale


def scale_for(amax: float) -> torch.Tensor:
    """The per-tensor scale that maps ``[-amax, amax]`` onto e4m3's finite range (fp32, 0-dim)."""
    return torch.tensor(max(float(amax) / E4M3_MAX, _MIN_SCALE), dtype=torch.float32)


def quantize(x: torch.Tensor, inv_scale: torch.Tensor) -> torch.Tensor:
    """``x / scale`` rounded to e4m3, saturating at +-448 (values past the calibrated range clip
    rather than become NaN: e4m3fn has no infinity). Computed in fp32."""
    return (x.float() * inv_scale).clamp(-E4M3_MAX, E4M3_MAX).to(E4M3)


def dequantize(x8: torch.Tensor, scale: torch.Tensor) -> torch.Tensor:
    return x8.float() * scale


class Fp8Linear(nn.Module):
    """``nn.Linear`` with an e4m3 weight and a static input scale: takes e4m3 input, returns
    ``out_dtype``. ``in_features`` and ``out_features`` must be multiples of 16 (``_scaled_mm``)."""

    weight8: torch.Tensor  # (out, in) e4m3
    weight_scale: torch.Tensor  # fp32, 0-dim
    input_scale: torch.Tensor
    input_inv_scale: torch.Tensor
    out_scale: torch.Tensor  # input_scale * weight_scale
    bias: torch.Tensor | None  # out_dtype
    # products of at least TMA_MIN_TOKENS rows on the Triton GEMM with this tiling (None: forward
    # on cuBLASLt, gelu_quantized on default_config's tiling): Fp8Options' large_*_gemm
    large_config: GemmConfig | None = None

    def __init__(
        self,
        weight: torch.Tensor,
        bias: torch.Tensor | None,
        input_amax: float,
        out_dtype: torch.dtype,
        fast_accum: bool = False,
    ) -> None:
        super().__init__()
        out_features, in_features = weight.shape
        if in_features % 16 or out_features % 16:
            raise ValueError(f"FP8 GEMMs need sizes that are multiples of 16, not {tuple(weight.shape)}")
        device = weight.device
        w_scale = scale_for(float(weight.abs().max())).to(device)
        self.register_buffer("weight8", quantize(weight, 1.0 / w_scale))  # (out, in) e4m3
        self.register_buffer("weight_scale", w_scale)
        x_scale = scale_for(input_amax).to(device)
        self.register_buffer("input_scale", x_scale)
        self.register_buffer("input_inv_scale", 1.0 / x_scale)
        self.register_buffer("out_scale", x_scale * w_scale)  # the Triton GEMM's one scale
        self.register_buffer("bias", None if bias is None else bias.detach().to(out_dtype))
        self.out_dtype = out_dtype
        self.fast_accum = fast_accum  # cuBLASLt's FP8 fast accumulation (fewer promotions to fp32)

    @classmethod
    def of(
        cls, linear: nn.Linear, input_amax: float, out_dtype: torch.dtype, fast_accum: bool = False
    ) -> Fp8Linear:
        return cls(linear.weight.detach(), linear.bias, input_amax, out_dtype, fast_accum)

    def forward(self, x8: torch.Tensor) -> torch.Tensor:
        """(..., in) e4m3 -> (..., out) ``out_dtype``."""
        lead = x8.shape[:-1]
        rows = x8.reshape(-1, x8.shape[-1])
        config = self._large(rows)
        if config is not None:
            from crowdperf.backends.triton_fp8_gemm import fp8_gemm

            out = fp8_gemm(
                rows, self.weight8, self.out_scale, self.bias, out_dtype=self.out_dtype, config=config
            )
        else:
            out = torch._scaled_mm(
                rows,
                self.weight8.t(),  # column-major (in, out), as cuBLASLt wants the second operand
                scale_a=self.input_scale,
                scale_b=self.weight_scale,
                bias=self.bias,
                out_dtype=self.out_dtype,
                use_fast_accum=self.fast_accum,
            )
        return out.view(*lead, out.shape[-1])

    def _large(self, rows: torch.Tensor) -> GemmConfig | None:
        return self.large_config if rows.shape[0] >= TMA_MIN_TOKENS else None

    def gelu_quantized(
        self, x8: torch.Tensor, out_inv_scale: torch.Tensor, gelu_tanh: bool = False, f16x2: bool = False
    ) -> torch.Tensor:
        """``quantize(gelu(self(x8)), out_inv_scale)`` in one Triton GEMM (GELU, erf or tanh's, and
        the quantize in its epilogue; the product never reaches memory in 16 bits): (..., in)
        e4m3 -> (..., out) e4m3. ``f16x2``: tanh's GELU and the quantize in packed fp16 on CUDA
        (gemm_epilogue.py's GELU_TANH_F16X2)."""
        from crowdperf.backends.triton_fp8_gemm import fp8_gemm

        lead = x8.shape[:-1]
        rows = x8.reshape(-1, x8.shape[-1])
        out = fp8_gemm(
            rows, self.weight8, self.out_scale, self.bias, gelu_out_inv_scale=out_inv_scale,
            gelu_tanh=gelu_tanh, tanh_f16x2=f16x2 and gelu_tanh, config=self._large(rows),
        )  # fmt: skip
        return out.view(*lead, out.shape[-1])


def _quantize(x: torch.Tensor, inv_scale: torch.Tensor) -> torch.Tensor:
    return quantize(x, inv_scale)


def _layernorm_quantize(
    x: torch.Tensor, weight: torch.Tensor, bias: torch.Tensor, eps: float, inv_scale: torch.Tensor
) -> tuple[torch.Tensor, torch.Tensor]:
    y = F.layer_norm(x.float(), x.shape[-1:], weight.float(), bias.float(), eps)
    return y.to(x.dtype), quantize(y, inv_scale)


def _add_layernorm_quantize(
    x: torch.Tensor,
    residual: torch.Tensor,
    weight: torch.Tensor,
    bias: torch.Tensor,
    eps: float,
    inv_scale: torch.Tensor,
) -> tuple[torch.Tensor, torch.Tensor]:
    y = F.layer_norm(x.float() + residual.float(), x.shape[-1:], weight.float(), bias.float(), eps)
    return y.to(x.dtype), quantize(y, inv_scale)


def _add_layernorm(
    x: torch.Tensor, residual: torch.Tensor, weight: torch.Tensor, bias: torch.Tensor, eps: float
) -> torch.Tensor:
    y = F.layer_norm(x.float() + residual.float(), x.shape[-1:], weight.float(), bias.float(), eps)
    return y.to(x.dtype)


def _add8_layernorm_quantize(
    x: torch.Tensor,
    residual8: torch.Tensor,
    residual_scale: torch.Tensor,
    weight: torch.Tensor,
    bias: torch.Tensor,
    eps: float,
    inv_scale: torch.Tensor,
) -> torch.Tensor:
    """The residual in e4m3 at ``residual_scale``; only the e4m3 copy out (``residual_e4m3``)."""
    residual = dequantize(residual8, residual_scale)
    return _add_layernorm_quantize(x, residual, weight, bias, eps, inv_scale)[1]


def _add8_layernorm(
    x: torch.Tensor,
    residual8: torch.Tensor,
    residual_scale: torch.Tensor,
    weight: torch.Tensor,
    bias: torch.Tensor,
    eps: float,
) -> torch.Tensor:
    return _add_layernorm(x, dequantize(residual8, residual_scale), weight, bias, eps)


def _gelu_quantize(x: torch.Tensor, inv_scale: torch.Tensor) -> torch.Tensor:
    return quantize(F.gelu(x.float()), inv_scale)  # exact (erf) GELU, BERT's "gelu"


def _gelu_tanh_quantize(x: torch.Tensor, inv_scale: torch.Tensor) -> torch.Tensor:
    # tanh GELU is within 1e-3 of erf's, far below an e4m3 step (6 %): cheaper, same codes
    return quantize(F.gelu(x.float(), approximate="tanh"), inv_scale)


@dataclass(frozen=True)
class Fp8Kernels:
    """The element-wise steps between FP8 GEMMs, op by op or fused by ``torch.compile``."""

    quantize: Callable[..., Any]
    layernorm_quantize: Callable[..., Any]
    add_layernorm_quantize: Callable[..., Any]
    add_layernorm: Callable[..., Any]
    gelu_quantize: Callable[..., Any]
    add8_layernorm_quantize: Callable[..., Any]  # the residual in e4m3 (Fp8Options.residual_e4m3)
    add8_layernorm: Callable[..., Any]
    fused: bool
    triton_layernorm: bool = False

    @classmethod
    def make(cls, fused: bool, gelu_tanh: bool = False, triton_layernorm: bool = False) -> Fp8Kernels:
        """``triton_layernorm``: the three LayerNorm steps through the hand-written Triton kernel
        (triton_layernorm.py) instead of these functions (compiled or not); same math."""
        gelu = _gelu_tanh_quantize if gelu_tanh else _gelu_quantize
        fns: list[Callable[..., Any]] = [
            _quantize, _layernorm_quantize, _add_layernorm_quantize, _add_layernorm, gelu,
            _add8_layernorm_quantize, _add8_layernorm,
        ]  # fmt: skip
        if fused:
            # automatic dynamic shapes: the first call compiles for its sizes, the second (another
            # token count) once more with only that dimension symbolic; hidden sizes stay static
            fns = [torch.compile(fn, fullgraph=True) for fn in fns]
        if triton_layernorm:  # imported here: Triton runs on GPUs (and in its interpreter) only
            from crowdperf.backends import triton_layernorm as tln

            fns[1:4] = [tln.layernorm_quantize, tln.add_layernorm_quantize, tln.add_layernorm]
            fns[5:7] = [tln.add8_layernorm_quantize, tln.add8_layernorm]
        quant, ln_quant, add_ln_quant, add_ln, gelu_quant, add8_ln_quant, add8_ln = fns
        return cls(
            quant, ln_quant, add_ln_quant, add_ln, gelu_quant, add8_ln_quant, add8_ln, fused, triton_layernorm
        )


def fusion_available(device: torch.device) -> bool:
    """``torch.compile`` writes Triton kernels for CUDA tensors when Triton is installed."""
    if device.type != "cuda":
        return False
    try:
        import triton  # noqa: F401
    except ImportError:
        return False
    return True


class AmaxObserver:
    """Largest |input| seen by each watched module (forward pre-hooks), for static scales."""

    def __init__(self, modules: dict[str, nn.Module]) -> None:
        self.amax: dict[str, float] = dict.fromkeys(modules, 0.0)
        self._hooks = [m.register_forward_pre_hook(self._hook(name)) for name, m in modules.items()]

    def _hook(self, name: str) -> Callable[[nn.Module, tuple[Any, ...]], None]:
        def record(_module: nn.Module, args: tuple[Any, ...]) -> None:
            self.amax[name] = max(self.amax[name], float(args[0].detach().abs().max()))

        return record

    def close(self) -> None:
        for hook in self._hooks:
            hook.remove()
