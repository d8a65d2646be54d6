"""onnxruntime's CUDA execution provider against PyTorch on CUDA, same weights (device tool; skips
where onnxruntime has no CUDA EP, e.g. the CPU-only wheel)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from crowdperf.precision import Precision
from crowdperf.system.devices import DeviceKind, UsedDevice
from crowdperf.workloads.bert.dataset import FeatureBatch
from crowdperf.workloads.bert.model_config import BertModelConfig
from crowdperf.workloads.bert.onnx_export import export_onnx
from crowdperf.workloads.bert.weights import ensure_weights, load_weights
from crowdperf.workloads.bert.workload import bert_runner

ort = pytest.importorskip("onnxruntime")
torch = pytest.importorskip("torch")
pytestmark = [
    pytest.mark.gpu,
    pytest.mark.skipif(
        "CUDAExecutionProvider" not in ort.get_available_providers() or not torch.cuda.is_available(),
        reason="needs onnxruntime-gpu and a CUDA GPU",
    ),
]


def test_cuda_ep_runs_on_the_gpu_and_matches_pytorch(tmp_path: Path) -> None:
    cfg = BertModelConfig.base(30522)
    npz = ensure_weights(tmp_path, cfg, seed=5)
    onnx_path = tmp_path / "base.onnx"
    export_onnx(cfg, load_weights(npz), onnx_path)
    gpu = UsedDevice(DeviceKind.CUDA, 0, "gpu 0")
    ort_backend, info = bert_runner("onnxruntime", onnx_path, gpu, Precision.FP32, None, max_len=384)
    assert info.execution_provider == "CUDAExecutionProvider:0"
    torch_backend, _ = bert_runner("pytorch", npz, gpu, Precision.FP32, None, max_len=384)
    rng = np.random.default_rng(0)
    ids = rng.integers(1, cfg.vocab_size, (6, 96), dtype=np.int64)
    mask = np.ones_like(ids)
    mask[3:, 60:] = 0
    batch = FeatureBatch(ids * mask, mask, np.zeros_like(ids))
    a, b = ort_backend.run(batch), torch_backend.run(batch)
    real = mask.astype(bool)
    np.testing.assert_allclose(a[real], b[real], atol=2e-3, rtol=2e-3)
    for row in range(6):  # the same best start and end token per feature
        n = int(mask[row].sum())
        assert (a[row, :n].argmax(0) == b[row, :n].argmax(0)).all()
