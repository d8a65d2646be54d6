from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from crowdperf.mlperf.runs import HarnessContext
from crowdperf.mlperf.workload import register_workload, unregister_workload
from crowdperf.settings import load_settings

SYNTHETIC = "synthetic_workloads:default_workload"


@pytest.fixture
def synthetic_tiny() -> Iterator[str]:
    """``--model tiny`` served by the numpy synthetic workload (no onnxruntime needed)."""
    register_workload("tiny", SYNTHETIC)
    yield "tiny"
    unregister_workload("tiny")


@pytest.fixture
def ctx(_isolated_cache: Path) -> HarnessContext:
    return HarnessContext(load_settings(), host="testhost-2c", argv=["crowdperf", "run"])
