"""After the harness's warm-up, no batch a run can send compiles a Triton kernel or recompiles a
``torch.compile`` graph (run through the device tool). A compile inside a measured query costs
0.2-1.3 s: enough to fail a Server probe's p99 and make the sustained-QPS search find a fraction
of what the GPU sustains."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from crowdperf.precision import Precision
from crowdperf.settings import load_settings
from crowdperf.system.devices import DeviceKind, UsedDevice
from crowdperf.workloads.bert.dataset import load_features
from crowdperf.workloads.bert.model_config import BertModelConfig
from crowdperf.workloads.bert.tiny_data import ensure_tiny_data
from crowdperf.workloads.bert.weights import ensure_weights
from crowdperf.workloads.bert.workload import GPU_WIDTH_ALIGN, OpenBertWorkload, bert_runner
from gpu_batches import calibration_features, masked_batch

torch = pytest.importorskip("torch")
triton = pytest.importorskip("triton")
pytestmark = [
    pytest.mark.gpu,
    pytest.mark.skipif(not torch.cuda.is_available(), reason="no CUDA GPU"),
]
GPU0 = UsedDevice(DeviceKind.CUDA, 0, "gpu 0")


def _count_compiles(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """Names of the kernels Triton compiles from now on (its JIT imports ``compile`` from
    ``triton.compiler`` at each miss of its in-memory cache, disk cache hits included)."""
    import triton.compiler

    compiled: list[str] = []
    real: Callable[..., Any] = triton.compiler.compile

    def counting(src: Any, *args: Any, **kwargs: Any) -> Any:
        compiled.append(getattr(getattr(src, "fn", None), "__name__", repr(src)))
        return real(src, *args, **kwargs)

    monkeypatch.setattr(triton.compiler, "compile", counting)
    return compiled


@pytest.mark.parametrize("batch_size", [100, 256, 1024])  # a --batch-size; Server's and Offline's defaults
def test_no_kernel_compiles_after_warmup(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, batch_size: int
) -> None:
    settings = load_settings()
    data = ensure_tiny_data(settings)
    features = load_features(data.dataset_path, data.vocab_path, settings)
    cfg = BertModelConfig.base(features.vocab_size)
    weights = ensure_weights(tmp_path, cfg, seed=3)
    runner, info = bert_runner(
        "pytorch", weights, GPU0, Precision.FP8, None, max_len=384,
        calibration=calibration_features(cfg.vocab_size),
    )  # fmt: skip
    workload = OpenBertWorkload("bert-large", features, [runner], [info], {}, "model")
    workload.warmup(batch_size)
    compiled = _count_compiles(monkeypatch)
    graphs_before = _dynamo_graphs()
    rng = np.random.default_rng(batch_size)
    # every row count class (1, multiples of 16, others), sequence lengths of every kind: the
    # graph buckets, the eager path past GRAPH_MAX_TOKENS, odd and even work-list bounds
    counts = [1, 2, 15, 16, 17, 31, 33, 37, 48, 63, 64, 65, 97, 100, 128, 129, 200, batch_size - 1]
    counts += [batch_size, *(int(n) for n in rng.integers(1, batch_size + 1, 40))]
    for k, n in enumerate(counts):
        lengths = [int(x) for x in rng.integers(20, 385, n)] if k % 3 else [int(rng.integers(20, 385))] * n
        width = -(-max(lengths) // GPU_WIDTH_ALIGN) * GPU_WIDTH_ALIGN
        runner.run(masked_batch(n, width, lengths, cfg.vocab_size, seed=k))
    torch.cuda.synchronize()
    assert compiled == [], f"compiled after warm-up: {sorted(set(compiled))}"
    assert _dynamo_graphs() == graphs_before  # no torch.compile (fused FP8 steps) recompile either


def _dynamo_graphs() -> int:
    """Graphs torch.compile has compiled in this process (a recompile for new sizes adds one)."""
    from torch._dynamo.utils import counters

    return int(counters["stats"]["unique_graphs"])
