"""Numeric precisions a run can ask a backend for (the ``--precision`` vocabulary).

Shared by the harness (what was asked, what the results say) and the backends (what they run);
neither imports the other, so the word lives here, below both.
"""

from __future__ import annotations

from enum import StrEnum


class Precision(StrEnum):
    FP32 = "fp32"
    FP16 = "fp16"
    BF16 = "bf16"
    INT8 = "int8"
    FP8 = "fp8"  # e4m3 matrix products with static scales, the rest in fp16 (pytorch on cuda)
