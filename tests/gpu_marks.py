"""Marks of the GPU tests (run through the device tool): CI deselects ``gpu``; on a machine
without the hardware a test asks for, it skips with the reason."""

from __future__ import annotations

from typing import Any

import pytest


def fp8_gpu(torch: Any) -> list[pytest.MarkDecorator]:
    """A CUDA GPU with FP8 tensor cores (compute capability 8.9+: Ada, Hopper and later)."""
    cuda = torch.cuda.is_available()
    return [
        pytest.mark.gpu,
        pytest.mark.skipif(not cuda, reason="no CUDA GPU"),
        pytest.mark.skipif(
            cuda and torch.cuda.get_device_capability(0) < (8, 9), reason="no FP8 tensor cores"
        ),
    ]
