"""The Triton LayerNorm kernel on a GPU (device tool) against Inductor's kernels for the same
PyTorch (``Fp8Kernels`` fused, the fp8 path's default) at BERT-Large's hidden size, for one
feature and a batch, with every config the micro-bench sweeps, and inside a CUDA graph."""

from __future__ import annotations

import pytest

from gpu_marks import fp8_gpu

torch = pytest.importorskip("torch")
pytest.importorskip("triton")
pytestmark = fp8_gpu(torch)

from crowdperf.backends.fp8 import Fp8Kernels, scale_for  # noqa: E402
from crowdperf.backends.triton_layernorm import LayerNormConfig, layernorm  # noqa: E402

CONFIGS = [None, *(LayerNormConfig(r, w) for r in (1, 2, 4, 8, 16) for w in (4, 8))]


def _ordinal(x8: torch.Tensor) -> torch.Tensor:
    code = x8.view(torch.uint8).int()
    return torch.where(code >= 128, -(code & 0x7F), code & 0x7F)


@pytest.mark.parametrize("rows", [1, 176, 11_523])
def test_triton_layernorm_agrees_with_inductor(rows: int) -> None:
    g = torch.Generator(device="cuda").manual_seed(rows)
    x = (torch.randn(rows, 1024, device="cuda", generator=g) * 3).half()
    r = torch.randn(rows, 1024, device="cuda", generator=g).half()
    w = (torch.rand(1024, device="cuda", generator=g) + 0.5).half()
    b = (torch.randn(1024, device="cuda", generator=g) * 0.1).half()
    inv = (1 / scale_for(3.0)).cuda()
    want, want8 = Fp8Kernels.make(fused=True).add_layernorm_quantize(x, r, w, b, 1e-12, inv)
    for cfg in CONFIGS:
        y, y8 = layernorm(x, w, b, 1e-12, residual=r, out_inv_scale=inv, config=cfg)
        assert y8 is not None
        torch.testing.assert_close(y, want, rtol=2e-3, atol=2e-3)
        steps = (_ordinal(y8) - _ordinal(want8)).abs()
        assert float((steps > 0).float().mean()) <= 1e-3 and int(steps.max()) <= 1


@pytest.mark.parametrize("rows", [1, 176, 11_523])
def test_e4m3_residual_steps_agree_with_inductor(rows: int) -> None:
    """``residual_e4m3``'s two steps against Inductor's kernels for the same PyTorch references."""
    g = torch.Generator(device="cuda").manual_seed(rows)
    x = (torch.randn(rows, 1024, device="cuda", generator=g) * 3).half()
    r_scale = scale_for(4.0).cuda()
    r8 = (
        (torch.randn(rows, 1024, device="cuda", generator=g) / r_scale)
        .clamp(-448, 448)
        .to(torch.float8_e4m3fn)
    )
    w = (torch.rand(1024, device="cuda", generator=g) + 0.5).half()
    b = (torch.randn(1024, device="cuda", generator=g) * 0.1).half()
    inv = (1 / scale_for(3.0)).cuda()
    inductor, triton = Fp8Kernels.make(fused=True), Fp8Kernels.make(fused=False, triton_layernorm=True)
    want8 = inductor.add8_layernorm_quantize(x, r8, r_scale, w, b, 1e-12, inv)
    y8 = triton.add8_layernorm_quantize(x, r8, r_scale, w, b, 1e-12, inv)
    steps = (_ordinal(y8) - _ordinal(want8)).abs()
    assert float((steps > 0).float().mean()) <= 1e-3 and int(steps.max()) <= 1
    want = inductor.add8_layernorm(x, r8, r_scale, w, b, 1e-12)
    torch.testing.assert_close(triton.add8_layernorm(x, r8, r_scale, w, b, 1e-12), want, rtol=2e-3, atol=2e-3)


def test_triton_layernorm_replays_in_a_cuda_graph_with_the_scale_read_on_the_device() -> None:
    x = torch.randn(300, 1024, device="cuda").half()
    w, b = torch.ones(1024, device="cuda").half(), torch.zeros(1024, device="cuda").half()
    inv = torch.ones((), device="cuda")
    layernorm(x, w, b, 1e-12, out_inv_scale=inv)  # compile outside the capture
    graph = torch.cuda.CUDAGraph()
    with torch.cuda.graph(graph):
        y, y8 = layernorm(x, w, b, 1e-12, out_inv_scale=inv)
    assert y8 is not None
    graph.replay()
    at_one = y8.clone()
    inv.fill_(2.0)  # a new scale after capture: the replay reads it
    graph.replay()
    torch.cuda.synchronize()
    # from fp32 y in the kernel, from its fp16 copy here: a double rounding may land one step off
    steps = (_ordinal(y8) - _ordinal((y.float() * 2).to(y8.dtype))).abs()
    assert int(steps.max()) <= 1 and float((steps > 0).float().mean()) < 0.01
    assert bool((y8.float() != at_one.float()).any())
