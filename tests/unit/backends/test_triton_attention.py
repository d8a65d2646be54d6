"""backends/triton_attention.py on the CPU, in Triton's interpreter (tests/conftest.py turns it on
and mends it where no GPU is): tests/triton_attention_cases.py runs every grid and a few tile
sizes on sequences of 1 to 200 tokens (one empty, spare tokens after the last) and reports errors
against a float32 softmax(Q K^T / sqrt(d)) V per sequence; fp16 out and e4m3 out (in range and
saturating)."""

from __future__ import annotations

import os
from typing import Any

import pytest

pytest.importorskip("torch")
pytest.importorskip("triton")


@pytest.fixture(scope="module")
def results() -> dict[str, dict[str, float]]:
    if os.environ.get("TRITON_INTERPRET") != "1":  # a GPU host: tests/gpu cover the kernel there
        pytest.skip("the CPU cases run in Triton's interpreter")
    from triton_attention_cases import run_cases

    return run_cases()


def _cases(results: dict[str, dict[str, float]], prefix: str) -> dict[str, dict[str, float]]:
    found = {name: r for name, r in results.items() if name.startswith(prefix)}
    assert found, f"no {prefix!r} cases ran"
    return found


def test_fp16_output_matches_the_float32_reference_for_every_grid_and_tile(results: Any) -> None:
    for name, r in _cases(results, "fp16 ").items():
        # fp16 P and an fp16 output (values up to ~5 here): a few fp16 steps
        assert r["max_abs_error"] < 4e-3, name


def test_spare_rows_are_zero_and_nothing_is_nan(results: Any) -> None:
    for name, r in _cases(results, "fp16 ").items():
        assert r["nans"] == 0 and r["spare_max_abs"] == 0, name  # out was NaN-filled
    for name, r in _cases(results, "e4m3 ").items():
        assert r["spare_nonzero"] == 0, name


def test_e4m3_output_is_the_fp16_output_quantized_within_one_step(results: Any) -> None:
    for name, r in _cases(results, "e4m3 ").items():
        assert r["dtype_is_e4m3"] == 1, name
        # fused: o * inv_scale rounded once from fp32; the unfused path rounds to fp16 first
        assert r["max_steps_vs_quantized_fp16"] <= 1, name
        assert r["share_off_by_one_step"] < 0.01, name
        assert r["over_tolerance_vs_reference"] == 0, name


def test_e4m3_output_saturates_at_448_instead_of_nan(results: Any) -> None:
    saturating = _cases(results, "e4m3 saturating")
    for name, r in saturating.items():
        assert r["max_abs_code"] == 126, name  # 0x7E = 448, the largest finite e4m3fn


def test_qk_in_e4m3_is_attention_of_per_token_rounded_queries_and_keys(results: Any) -> None:
    for name, r in _cases(results, "qk-e4m3 ").items():
        assert r["max_abs_error_vs_rounded_reference"] < 4e-3, name
        # and e4m3's logits cost accuracy (why it is off by default): several % here
        assert 0 < r["mean_abs_error_vs_exact"] < 0.15 * r["mean_abs_reference"], name


def test_the_plan_lists_every_real_query_block_once(results: Any) -> None:
    assert all(ok == 1 for ok in results["plan"].values()), results["plan"]


def test_a_config_refuses_what_no_launch_could_take() -> None:
    from crowdperf.backends.triton_attention import AttentionConfig

    for bad in ({"block_m": 48}, {"block_n": 8}, {"grid": "diagonal"}, {"max_registers": 300}):
        with pytest.raises(ValueError):
            AttentionConfig(**bad)  # type: ignore[arg-type]
    assert AttentionConfig(max_registers=96).name == "worklist m64 n64 w4 s2 r96"


def test_large_batches_get_the_large_tiling_and_small_ones_keep_the_plain_one() -> None:
    from crowdperf.backends.triton_attention import LARGE, LARGE_MIN_TOKENS, AttentionConfig, default_config

    assert default_config(180_000) == default_config(LARGE_MIN_TOKENS) == LARGE
    assert default_config(LARGE_MIN_TOKENS - 1) == default_config(176) == AttentionConfig()
    assert AttentionConfig() != LARGE
