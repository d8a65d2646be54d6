"""FlashAttention-4 as the fp8 path's attention (device tool; skipped where ``fa4`` is not
installed): its varlen forward agrees with torch's FlashAttention 2 read from the same fused QKV,
and the packed FP8 model with it answers as the model with the Triton attention does, eager and
from CUDA graphs."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import pytest

from crowdperf.backends.fa4_attention import Fa4Tile, fa4_available, fa4_varlen_attention
from crowdperf.precision import Precision
from crowdperf.system.devices import DeviceKind, UsedDevice
from crowdperf.workloads.bert.fp8_model import Fp8Options
from crowdperf.workloads.bert.model_config import BertModelConfig
from crowdperf.workloads.bert.weights import ensure_weights
from crowdperf.workloads.bert.workload import bert_runner
from gpu_batches import calibration_features, cosine, masked_batch
from gpu_marks import fp8_gpu

torch = pytest.importorskip("torch")
pytestmark = [
    *fp8_gpu(torch),
    pytest.mark.skipif(
        not torch.cuda.is_available() or not fa4_available(torch.cuda.get_device_capability(0)[0]),
        reason="fa4 is not installed, or has no kernel for this GPU",
    ),
]
GPU0 = UsedDevice(DeviceKind.CUDA, 0, "gpu 0")


@pytest.mark.parametrize("tile", [Fa4Tile(128, 128), Fa4Tile(128, 64), Fa4Tile(64, 64)], ids=str)
def test_fa4_matches_flash_attention_2_on_a_packed_batch(tile: Fa4Tile) -> None:
    from torch.nn.attention.varlen import varlen_attn

    heads, d = 16, 64
    lengths = [1, 17, 64, 65, 180, 384, 250, 33]
    cu = torch.tensor(np.concatenate([[0], np.cumsum(lengths)]), dtype=torch.int32, device="cuda")
    t = int(cu[-1])
    qkv = torch.randn(t, 3 * heads * d, device="cuda", dtype=torch.float16)
    q, k, v = (p.view(t, heads, d) for p in qkv.split(heads * d, dim=1))
    want = varlen_attn(q, k, v, cu, cu, max(lengths), max(lengths))
    got = fa4_varlen_attention(q, k, v, cu, 512, tile)
    torch.testing.assert_close(got, want, atol=2e-3, rtol=2e-3)


def test_the_fp8_model_with_fa4_answers_as_with_the_triton_attention(tmp_path: Path) -> None:
    cfg = BertModelConfig.base(30522)
    weights = ensure_weights(tmp_path, cfg, seed=3)
    kw = {"max_len": 384, "calibration": calibration_features(cfg.vocab_size)}

    def fp8(options: Fp8Options) -> Any:
        return bert_runner("pytorch", weights, GPU0, Precision.FP8, None, fp8=options, **kw)[0]  # type: ignore[arg-type]

    triton, fa4 = fp8(Fp8Options()), fp8(Fp8Options(fa4_attention=True))
    for runner in (triton, fa4):
        runner.prepare(16, [64, 96, 384])
    # one row and mixed lengths (graph buckets), more rows than max_batch (eager), > graph token cap
    for n, width in [(1, 64), (7, 96), (20, 96), (64, 384)]:
        batch = masked_batch(n, width, [max(3, width - 13 * k) for k in range(n)], cfg.vocab_size, seed=n)
        real = batch.input_mask.astype(bool)
        want, got = triton.run(batch), fa4.run(batch)
        assert cosine(got[real], want[real]) > 0.98  # e4m3 residuals: see test_fp8_cuda's TOLERANCES
