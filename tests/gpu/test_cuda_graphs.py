"""PyTorch on CUDA: replayed CUDA graphs give the eager model's logits (run through the device tool)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from crowdperf.precision import Precision
from crowdperf.system.devices import DeviceKind, UsedDevice
from crowdperf.workloads.bert.dataset import PAD_LOGIT
from crowdperf.workloads.bert.model_config import BertModelConfig
from crowdperf.workloads.bert.weights import ensure_weights
from crowdperf.workloads.bert.workload import bert_runner
from gpu_batches import masked_batch

torch = pytest.importorskip("torch")
pytestmark = [
    pytest.mark.gpu,
    pytest.mark.skipif(not torch.cuda.is_available(), reason="no CUDA GPU"),
]
GPU0 = UsedDevice(DeviceKind.CUDA, 0, "gpu 0")


@pytest.mark.parametrize("precision", [Precision.FP32, Precision.FP16])
def test_graphs_match_eager_on_every_bucket_and_width(tmp_path: Path, precision: Precision) -> None:
    cfg = BertModelConfig.base(30522)
    weights = ensure_weights(tmp_path, cfg, seed=3)
    kw = {"max_len": 384, "pack_sequences": False}
    eager, _ = bert_runner("pytorch", weights, GPU0, precision, None, cuda_graphs=False, **kw)  # type: ignore[arg-type]
    graphs, info = bert_runner("pytorch", weights, GPU0, precision, None, **kw)  # type: ignore[arg-type]
    assert info.execution_provider.endswith("(CUDA graphs)")
    graphs.prepare(16, [64, 96])
    # n not a bucket (5 -> 8), width not aligned (70 -> 96), n = max bucket, n above it (eager path)
    for n, width in [(1, 64), (5, 70), (16, 96), (40, 96)]:
        lengths = [max(3, width - 7 * k) for k in range(n)]
        batch = masked_batch(n, width, lengths, cfg.vocab_size, seed=n * 1000 + width)
        want, got = eager.run(batch), graphs.run(batch)
        assert got.shape == want.shape == (n, width, 2)
        real = batch.input_mask.astype(bool)
        tol = 1e-3 if precision is Precision.FP32 else 3e-2
        np.testing.assert_allclose(got[real], want[real], atol=tol, rtol=tol)


@pytest.mark.parametrize("precision", [Precision.FP16, Precision.BF16])
@pytest.mark.parametrize("cuda_graphs", [True, False])
def test_packed_sequences_match_the_padded_model(
    tmp_path: Path, precision: Precision, cuda_graphs: bool
) -> None:
    cfg = BertModelConfig.base(30522)
    weights = ensure_weights(tmp_path, cfg, seed=3)
    padded, _ = bert_runner(
        "pytorch", weights, GPU0, precision, None, max_len=384, cuda_graphs=False, pack_sequences=False
    )
    packed, _ = bert_runner("pytorch", weights, GPU0, precision, None, max_len=384, cuda_graphs=cuda_graphs)
    assert packed.description == "packed sequences" and not packed.pads_batches
    packed.prepare(16, [64, 96, 384])
    # one row, mixed lengths (graph buckets), more rows than max_batch (eager), > graph token cap
    for n, width in [(1, 64), (7, 96), (16, 384), (20, 96), (64, 384)]:
        lengths = [max(3, width - 13 * k) for k in range(n)]
        batch = masked_batch(n, width, lengths, cfg.vocab_size, seed=n * 1000 + width)
        want, got = padded.run(batch), packed.run(batch)
        assert got.shape == want.shape == (n, width, 2)
        real = batch.input_mask.astype(bool)
        np.testing.assert_allclose(got[real], want[real], atol=5e-2, rtol=5e-2)
        assert (got[~real] == PAD_LOGIT).all()  # padding answers the pad logit, never garbage


@pytest.mark.parametrize("precision", [Precision.FP16, Precision.BF16])
def test_concurrent_callers_each_get_their_own_batchs_logits(tmp_path: Path, precision: Precision) -> None:
    """``run`` enqueues under the backend's lock and waits outside it (concurrency 2): callers on
    four threads, on graph buckets and on the eager path, each get what one caller alone gets."""
    from concurrent.futures import ThreadPoolExecutor

    cfg = BertModelConfig.base(30522)
    weights = ensure_weights(tmp_path, cfg, seed=3)
    runner, _ = bert_runner("pytorch", weights, GPU0, precision, None, max_len=384)
    assert runner.backend.concurrency == 2
    runner.prepare(16, [64, 96, 384])
    shapes = [(1, 64), (3, 96), (16, 384), (20, 96), (64, 384), (2, 384)]
    batches = [
        masked_batch(n, w, [max(3, w - 11 * k) for k in range(n)], cfg.vocab_size, seed=n * 1000 + w)
        for n, w in shapes
    ]
    alone = [runner.run(b) for b in batches]
    with ThreadPoolExecutor(4) as pool:
        order = [k % len(batches) for k in range(48)]
        together = list(pool.map(lambda k: runner.run(batches[k]), order))
    for k, got in zip(order, together, strict=True):
        real = batches[k].input_mask.astype(bool)
        np.testing.assert_allclose(got[real], alone[k][real], atol=1e-3, rtol=1e-3)
