"""The Triton attention kernel on a GPU (device tool): the large batches' tiling
(``triton_attention.LARGE``, what ``default_config`` gives a batch of 65,536+ tokens) answers as
the small batches' (``AttentionConfig()``, the one the model's GPU tests run through) on one
SQuAD-like packed batch, both near a float32 reference, spare rows zero; and a capped-register
launch (``max_registers``) is the same kernel."""

from __future__ import annotations

import math

import pytest

from gpu_marks import fp8_gpu

torch = pytest.importorskip("torch")
pytest.importorskip("triton")
pytestmark = fp8_gpu(torch)

from crowdperf.backends.triton_attention import (  # noqa: E402
    LARGE,
    LARGE_MIN_TOKENS,
    AttentionConfig,
    plan_attention,
    varlen_attention,
)

HEADS, D = 16, 64
SPARE = 37  # rows after the last sequence: zeros out


def _batch() -> tuple[torch.Tensor, torch.Tensor, list[int]]:
    """Lengths 1, 384, block sizes +- 1 and ~420 SQuAD-like ones (> LARGE_MIN_TOKENS tokens)."""
    g = torch.Generator().manual_seed(0)
    body = (torch.randn(420, generator=g) * 45 + 160).round().clamp(2, 383).int().tolist()
    lengths = [1, 384, 31, 32, 33, 63, 64, 65, 127, 128, 129, *body]
    cu = torch.tensor([0, *torch.tensor(lengths).cumsum(0).tolist()], dtype=torch.int32, device="cuda")
    qkv = torch.randn(int(cu[-1]) + SPARE, 3 * HEADS * D, device="cuda").half()
    return qkv, cu, lengths


def _reference(qkv: torch.Tensor, cu: torch.Tensor, first: int) -> torch.Tensor:
    """softmax(Q K^T / sqrt(d)) V in float32 for the first ``first`` sequences."""
    h = HEADS * D
    x = qkv.float()
    out = torch.zeros(int(cu[first]), h, device="cuda")
    for i in range(first):
        a, b = int(cu[i]), int(cu[i + 1])
        q, k, v = (x[a:b, p * h : (p + 1) * h].view(b - a, HEADS, D).transpose(0, 1) for p in range(3))
        o = torch.softmax(q @ k.transpose(1, 2) / math.sqrt(D), -1) @ v  # (heads, length, d)
        out[a:b] = o.transpose(0, 1).reshape(b - a, h)
    return out


def _ordinal(x8: torch.Tensor) -> torch.Tensor:
    code = x8.view(torch.uint8).int()
    return torch.where(code >= 128, -(code & 0x7F), code & 0x7F)


@pytest.mark.parametrize("cfg", [LARGE, AttentionConfig(max_registers=96)], ids=lambda c: c.name)
def test_a_tiling_answers_as_the_small_batches_one_and_the_reference(cfg: AttentionConfig) -> None:
    qkv, cu, _ = _batch()
    t, real = qkv.shape[0], int(cu[-1])
    assert t >= LARGE_MIN_TOKENS and plan_attention(cu, 512, t, HEADS, D).config == LARGE
    inv = torch.tensor(448.0 / 4.0, device="cuda")
    base = plan_attention(cu, 512, t, HEADS, D, AttentionConfig())
    plan = plan_attention(cu, 512, t, HEADS, D, cfg)
    want16, want8 = varlen_attention(qkv, base), varlen_attention(qkv, base, inv)
    got16 = varlen_attention(qkv, plan, out=torch.full_like(want16, float("nan")))
    got8 = varlen_attention(qkv, plan, inv, out=torch.full_like(want8, float("nan")))
    torch.testing.assert_close(got16[:real], want16[:real], rtol=0, atol=4e-3)  # other key steps, fp16 P
    assert not bool(got16[real:].any()) and not bool(got8[real:].view(torch.uint8).any())
    # e4m3 of contexts that differ by fp16 steps (another key order): near zero an fp16 step is
    # several e4m3 steps, so codes may be a few apart there; each within one e4m3 step (at most
    # 12.5 % of the value) plus the fp16 tolerance, and rarely apart at all (the bench: 0.9 % of
    # codes, 0.07 % by more than one step)
    steps = (_ordinal(got8) - _ordinal(want8)).abs()[:real]
    assert float((steps > 0).float().mean()) < 0.02 and float((steps > 1).float().mean()) < 0.002
    apart = (got8[:real].float() - want8[:real].float()).abs() / inv
    assert bool((apart <= 0.125 * want8[:real].float().abs() / inv + 4e-3).all())
    ref = _reference(qkv, cu, 12)  # the edge lengths, then one SQuAD-like
    torch.testing.assert_close(got16[: ref.shape[0]].float(), ref, rtol=0, atol=4e-3)


def test_the_large_tiling_replays_in_a_cuda_graph() -> None:
    """Plan and kernel captured; replayed after the inputs change, the output follows them."""
    qkv, cu, _ = _batch()
    inv = torch.tensor(448.0 / 4.0, device="cuda")

    def step() -> torch.Tensor:
        return varlen_attention(qkv, plan_attention(cu, 512, qkv.shape[0], HEADS, D), inv)

    step()  # compile outside the capture
    graph = torch.cuda.CUDAGraph()
    with torch.cuda.graph(graph):
        captured = step()
    qkv.copy_(torch.randn_like(qkv.float()).half())
    graph.replay()
    torch.cuda.synchronize()
    assert torch.equal(captured.view(torch.uint8), step().view(torch.uint8))
