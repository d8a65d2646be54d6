"""FlashAttention-4 as an optional attention (backends/fa4_attention.py): what can be said without
a GPU. Its numerics against the Triton kernels are tests/gpu/test_fa4_attention_cuda.py's."""

from __future__ import annotations

import importlib.util

import pytest

torch = pytest.importorskip("torch")

from crowdperf.backends.fa4_attention import Fa4Tile, fa4_available  # noqa: E402


def test_a_tile_says_its_warpgroups_and_refuses_sizes_fa4_has_no_kernel_for() -> None:
    assert Fa4Tile().threads == 3 * 128  # two MMA warpgroups and the producer
    assert Fa4Tile(64, 64).threads == 2 * 128
    for bad in ((32, 64), (128, 32), (256, 128)):
        with pytest.raises(ValueError, match="FA4 tile"):
            Fa4Tile(*bad)


def test_a_tile_parses_from_the_benches_names() -> None:
    assert Fa4Tile.parse("m64-n128") == Fa4Tile(64, 128)
    for bad in ("128x64", "m128", "m32-n64"):
        with pytest.raises(ValueError, match="FA4 tile"):
            Fa4Tile.parse(bad)


def test_fa4_is_unavailable_on_gpus_it_has_no_kernel_for_or_where_not_installed() -> None:
    assert not fa4_available(8)  # Ampere: no FA4 forward
    installed = importlib.util.find_spec("flash_attn") is not None
    if not installed:
        assert not fa4_available(9)


def test_the_fp8_options_drop_fa4_where_it_cannot_run() -> None:
    from crowdperf.workloads.bert.fp8_model import Fp8Options

    options = Fp8Options(fa4_attention=True).on(torch.device("cpu"))
    assert not options.fa4_attention
