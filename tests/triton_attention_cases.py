"""Runs backends/triton_attention.py under Triton's interpreter (CPU) and measures its errors per
case (``run_cases``); tests/unit/backends/test_triton_attention.py asserts on them. By hand, the
interpreter mended first (tests/triton_interpreter.py), one JSON object:

    TRITON_INTERPRET=1 python tests/triton_attention_cases.py
"""

from __future__ import annotations

import itertools
import json
import math
import os
from dataclasses import dataclass
from typing import Any

from triton_interpreter import fix_interpreter


def e4m3_rows(x: Any) -> Any:
    """Each row through e4m3 at its own scale (amax / 448), as the kernel's ``qk_fp8`` does."""
    import torch

    amax = x.abs().amax(1, keepdim=True).clamp(min=1e-6)
    x8 = (x * (1.0 / amax * 448.0)).clamp(-448.0, 448.0).to(torch.float8_e4m3fn)
    return x8.float() * (amax * (1.0 / 448.0))


def reference(qkv: Any, cu: list[int], heads: int, qk_e4m3: bool = False) -> Any:
    """softmax(Q K^T / sqrt(d)) V per sequence and head, fp32; zeros past the last sequence.
    ``qk_e4m3``: Q and K rounded per token to e4m3 first."""
    import torch

    h = qkv.shape[1] // 3
    d = h // heads
    x = qkv.float()
    out = torch.zeros(qkv.shape[0], h)
    for a, b in itertools.pairwise(cu):
        for j in range(heads):
            q, k, v = (x[a:b, part * h + j * d : part * h + (j + 1) * d] for part in range(3))
            if qk_e4m3:
                q, k = e4m3_rows(q), e4m3_rows(k)
            out[a:b, j * d : (j + 1) * d] = torch.softmax(q @ k.T / math.sqrt(d), -1) @ v
    return out


def ordinal(x8: Any) -> Any:
    """e4m3 codes -> integers in value order (+0 and -0 both 0): one step apart = 1 apart."""
    import torch

    code = x8.view(torch.uint8).int()
    magnitude = code & 0x7F
    return torch.where(code >= 128, -magnitude, magnitude)


@dataclass(frozen=True)
class Inputs:
    """Sequences of 1 to 200 tokens, one empty in the middle and two at the end (a graph's unused
    ones), 9 spare tokens; qkv read strided from a wider buffer."""

    lengths: tuple[int, ...]
    cu: tuple[int, ...]
    qkv: Any  # (tokens, 3 * heads * d) fp16
    cu_t: Any  # int32
    ref: Any  # (tokens, heads * d) fp32
    heads: int = 2
    d: int = 64

    @classmethod
    def make(cls) -> Inputs:
        import torch

        torch.manual_seed(0)
        heads, d, spare, lengths = 2, 64, 9, (1, 7, 64, 0, 130, 200)
        cu = [0]
        for n in lengths:
            cu.append(cu[-1] + n)
        cu += [cu[-1]] * 2
        wide = torch.randn(cu[-1] + spare, 3 * heads * d + 32) * 1.5
        qkv = wide.half()[:, : 3 * heads * d]
        cu_t = torch.tensor(cu, dtype=torch.int32)
        return cls(lengths, tuple(cu), qkv, cu_t, reference(qkv, cu, heads), heads, d)

    @property
    def tokens(self) -> int:
        return int(self.qkv.shape[0])

    @property
    def real(self) -> int:
        return self.cu[-1]


Results = dict[str, dict[str, float]]


def fp16_cases(x: Inputs, results: Results) -> dict[str, Any]:
    """Every grid at a few tile sizes into a NaN-filled output (spare rows included)."""
    import torch

    from crowdperf.backends.triton_attention import GRIDS, AttentionConfig, plan_attention, varlen_attention

    tiles = [(64, 64), (16, 32)]  # 16 x 32: many blocks per sequence, both loops' tails
    outputs = {}
    for grid in GRIDS:
        configs = [AttentionConfig(bm, bn, grid=grid, programs_per_sm=2) for bm, bn in tiles]
        if grid == "worklist":  # a wider tile, and a cap on registers (a launch option)
            configs += [AttentionConfig(128, 64, grid=grid)]
            configs += [AttentionConfig(64, 64, grid=grid, max_registers=96)]
        for cfg in configs:
            out = torch.full((x.tokens, x.heads * x.d), float("nan"), dtype=torch.float16)
            varlen_attention(x.qkv, plan_attention(x.cu_t, 512, x.tokens, x.heads, x.d, cfg), out=out)
            results[f"fp16 {cfg.name}"] = {
                "max_abs_error": float((out[: x.real].float() - x.ref[: x.real]).abs().max()),
                "spare_max_abs": float(out[x.real :].float().abs().max()),
                "nans": float(out.isnan().sum()),
            }
            outputs[cfg.name] = out
    return outputs


def e4m3_cases(x: Inputs, own16: dict[str, Any], results: Results) -> None:
    """e4m3 out against the same kernel's fp16 out through fp8.quantize, and the reference."""
    import torch

    from crowdperf.backends.fp8 import E4M3, quantize
    from crowdperf.backends.triton_attention import GRIDS, AttentionConfig, attention

    real, ref = x.real, x.ref[: x.real]
    for grid in GRIDS:
        cfg = AttentionConfig(64, 64, grid=grid, programs_per_sm=2)
        scales = [("in range", float(ref.abs().max()))] + [("saturating", 0.5)] * (grid == "worklist")
        for label, amax in scales:
            inv = torch.tensor(448.0 / amax, dtype=torch.float32)
            out8 = attention(x.qkv, x.cu_t, 512, x.heads, inv, cfg)
            steps = (ordinal(out8) - ordinal(quantize(own16[cfg.name], inv)))[:real].abs()
            off = (out8[:real].float() / inv - ref.clamp(-amax, amax)).abs()
            tolerance = ref.abs().clamp(max=amax) * 0.0625 + 4.0 * amax / 448 * 2**-6 + 2e-3
            results[f"e4m3 {label} {cfg.name}"] = {
                "dtype_is_e4m3": float(out8.dtype == E4M3),
                "max_steps_vs_quantized_fp16": float(steps.max()),
                "share_off_by_one_step": float((steps > 0).float().mean()),
                "over_tolerance_vs_reference": float(off.gt(tolerance).sum()),
                "max_abs_code": float(ordinal(out8).abs().max()),
                "spare_nonzero": float((out8[real:].view(torch.uint8) != 0).sum()),
            }


def plan_case(x: Inputs, results: Results) -> None:
    import torch

    from crowdperf.backends.triton_attention import AttentionConfig, plan_attention

    plan = plan_attention(x.cu_t, 512, x.tokens, x.heads, x.d, AttentionConfig(64, 64))
    # (the sequence's first row, its length * 256 + the block) for every query block of 64
    blocks = [[x.cu[i], n * 256 + j] for i, n in enumerate(x.lengths) for j in range(-(-n // 64))]
    count = int(plan.work_count[0]) if plan.work_count is not None else -1
    table = plan.work.tolist() if plan.work is not None else []
    past = torch.tensor([0, 600], dtype=torch.int32)  # 600 tokens, a grid bound of 256
    long = plan_attention(past, 256, 600, x.heads, x.d, AttentionConfig(64, 64))
    long_count = int(long.work_count[0]) if long.work_count is not None else -1
    long_table = long.work.tolist() if long.work is not None else []
    results["plan"] = {
        "work_is_every_query_block_in_order": float(count == len(blocks) and table[:count] == blocks),
        "the_rest_of_the_table_is_empty": float(
            len(table) > count and all(entry == [0, 0] for entry in table[count:])
        ),
        "work_of_a_sequence_past_max_len_stops_at_it": float(
            long_count == 4 and long_table[:4] == [[0, 600 * 256 + j] for j in range(4)]
        ),
    }


def qk_e4m3_case(x: Inputs, results: Results) -> None:
    from crowdperf.backends.triton_attention import AttentionConfig, attention

    real, ref = x.real, x.ref[: x.real]
    ref_qk8 = reference(x.qkv, list(x.cu), x.heads, qk_e4m3=True)[:real]
    cfg = AttentionConfig(64, 64, grid="worklist", qk_fp8=True)
    out = attention(x.qkv, x.cu_t, 512, x.heads, config=cfg)[:real].float()
    results[f"qk-e4m3 {cfg.name}"] = {
        "max_abs_error_vs_rounded_reference": float((out - ref_qk8).abs().max()),
        "mean_abs_error_vs_exact": float((out - ref).abs().mean()),
        "mean_abs_reference": float(ref.abs().mean()),
    }


def run_cases() -> Results:
    x = Inputs.make()
    results: Results = {}
    own16 = fp16_cases(x, results)
    e4m3_cases(x, own16, results)
    plan_case(x, results)
    qk_e4m3_case(x, results)
    return results


if __name__ == "__main__":
    assert os.environ.get("TRITON_INTERPRET") == "1", "run with TRITON_INTERPRET=1"
    fix_interpreter()
    print(json.dumps(run_cases()))
