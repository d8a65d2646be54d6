"""The Triton attention kernel's ``warp_specialize`` option on a Hopper GPU (device tool) against
today's default (``AttentionConfig()``, the work list with pointer loads) on a SQuAD-like packed
batch: the same context (fp16 within a few fp16 steps, e4m3 within one code), spare rows zero,
warp-specialised in fact (12 warps), and the same output replayed from a CUDA graph."""

from __future__ import annotations

import pytest

from gpu_marks import fp8_gpu

torch = pytest.importorskip("torch")
pytest.importorskip("triton")
pytestmark = [
    *fp8_gpu(torch),
    pytest.mark.skipif(
        torch.cuda.is_available() and torch.cuda.get_device_capability(0)[0] != 9,
        reason="warp_specialize is Hopper's (TMA, Triton's sm_90 pass)",
    ),
]

from crowdperf.backends.triton_attention import (  # noqa: E402
    AttentionConfig,
    attention_launch,
    plan_attention,
    varlen_attention,
)

WARP_SPECIALISED = [
    AttentionConfig(128, n, num_stages=s, warp_specialize=True) for n, s in ((64, 2), (64, 3), (128, 2))
]
SPARE = 37  # rows after the last sequence: zeros out


def _batch() -> tuple[torch.Tensor, torch.Tensor]:
    """Lengths 1, 384, block sizes +- 1 and SQuAD-like ones; qkv (tokens, 3 * 1024) fp16."""
    g = torch.Generator().manual_seed(0)
    body = (torch.randn(300, generator=g) * 45 + 160).round().clamp(2, 383).int().tolist()
    lengths = [1, 384, 63, 64, 65, 127, 128, 129, 255, 256, 257, *body]
    cu = torch.tensor([0, *torch.tensor(lengths).cumsum(0).tolist()], dtype=torch.int32, device="cuda")
    qkv = torch.randn(int(cu[-1]) + SPARE, 3 * 1024, device="cuda").half()
    return qkv, cu


def _ordinal(x8: torch.Tensor) -> torch.Tensor:
    code = x8.view(torch.uint8).int()
    return torch.where(code >= 128, -(code & 0x7F), code & 0x7F)


@pytest.mark.parametrize("cfg", WARP_SPECIALISED, ids=lambda c: c.name)
def test_warp_specialised_attention_matches_the_default_kernel(cfg: AttentionConfig) -> None:
    qkv, cu = _batch()
    t, real = qkv.shape[0], int(cu[-1])
    inv = torch.tensor(448.0 / 4.0, device="cuda")
    base = plan_attention(cu, 512, t, 16, 64)
    plan = plan_attention(cu, 512, t, 16, 64, cfg)
    want16, want8 = varlen_attention(qkv, base), varlen_attention(qkv, base, inv)
    got16 = varlen_attention(qkv, plan, out=torch.full_like(want16, float("nan")))
    got8 = varlen_attention(qkv, plan, inv, out=torch.full_like(want8, float("nan")))
    torch.testing.assert_close(got16[:real], want16[:real], rtol=0, atol=4e-3)  # another key order, fp16 P
    assert not bool(got16[real:].any()) and not bool(got8[real:].view(torch.uint8).any())
    steps = (_ordinal(got8) - _ordinal(want8)).abs()
    assert int(steps.max()) <= 1 and float((steps > 0).float().mean()) < 0.01


def test_the_warp_specialize_kernel_runs_in_twelve_warps() -> None:
    """The producer group and two consumer groups Triton's Hopper pass makes of 4 warps."""
    qkv, cu = _batch()
    plan = plan_attention(cu, 512, qkv.shape[0], 16, 64, WARP_SPECIALISED[0])
    out = varlen_attention(qkv, plan)  # sets the allocator in this thread
    launch = attention_launch(qkv, plan, out, None)
    compiled = launch.kernel[launch.grid](*launch.args, **launch.options)
    assert compiled.metadata.num_warps == 12


def test_warp_specialised_attention_replays_in_a_cuda_graph() -> None:
    """Plan and kernel captured (the descriptors' scratch from the graph's pool); replayed after
    the inputs change, the output follows them."""
    qkv, cu = _batch()
    inv = torch.tensor(448.0 / 4.0, device="cuda")

    def step() -> torch.Tensor:
        return varlen_attention(qkv, plan_attention(cu, 512, qkv.shape[0], 16, 64, WARP_SPECIALISED[0]), inv)

    step()  # compile outside the capture
    graph = torch.cuda.CUDAGraph()
    with torch.cuda.graph(graph):
        captured = step()
    qkv.copy_(torch.randn_like(qkv))
    graph.replay()
    torch.cuda.synchronize()
    assert torch.equal(captured.view(torch.uint8), step().view(torch.uint8))


def test_a_misaligned_qkv_is_refused_before_tma_reads_it() -> None:
    qkv, cu = _batch()
    odd = torch.empty(qkv.numel() + 1, dtype=torch.float16, device="cuda")[1:].view(qkv.shape)  # 2 bytes in
    plan = plan_attention(cu, 512, odd.shape[0], 16, 64, WARP_SPECIALISED[0])
    with pytest.raises(ValueError, match="16-byte aligned"):
        varlen_attention(odd, plan)
