"""Packing a padded batch into its real tokens and back (numpy only: runs without a GPU)."""

from __future__ import annotations

from typing import Any

import numpy as np

from crowdperf.backends.base import Backend
from crowdperf.workloads.bert.dataset import PAD_LOGIT, FeatureBatch
from crowdperf.workloads.bert.packed import PackedBatch


def test_pack_keeps_real_tokens_positions_and_sequence_starts() -> None:
    ids = np.array([[101, 5, 6, 102, 0], [101, 7, 102, 0, 0], [101, 8, 9, 10, 102]])
    mask = (ids != 0).astype(np.int64)
    seg = np.array([[0, 0, 1, 1, 0], [0, 1, 1, 0, 0], [0, 0, 0, 1, 1]]) * mask
    packed = PackedBatch.of(FeatureBatch(ids, mask, seg))
    assert packed.ids.tolist() == [101, 5, 6, 102, 101, 7, 102, 101, 8, 9, 10, 102]
    assert packed.seg.tolist() == [0, 0, 1, 1, 0, 1, 1, 0, 0, 0, 1, 1]
    assert packed.pos.tolist() == [0, 1, 2, 3, 0, 1, 2, 0, 1, 2, 3, 4]
    assert packed.cu_seqlens.tolist() == [0, 4, 7, 12] and packed.cu_seqlens.dtype == np.int32
    assert packed.tokens == 12


def test_unpack_puts_each_token_back_and_pads_with_the_pad_logit() -> None:
    mask = np.array([[1, 1, 0], [1, 1, 1]])
    packed = PackedBatch.of(FeatureBatch(mask * 9, mask, mask * 0))
    logits = np.arange(10, dtype=np.float32).reshape(5, 2)
    out = packed.unpack(logits)
    assert out.shape == (2, 3, 2) and out.dtype == np.float32
    assert out[0, :2].tolist() == [[0, 1], [2, 3]] and out[0, 2].tolist() == [PAD_LOGIT, PAD_LOGIT]
    assert out[1].tolist() == [[4, 5], [6, 7], [8, 9]]


def test_token_buckets_are_fine_for_one_sequence_and_cover_the_limit() -> None:
    from crowdperf.workloads.bert.packed import GRAPH_MAX_TOKENS, token_buckets

    assert token_buckets(384) == tuple(range(32, 385, 32))  # a SingleStream sample pads < 32 tokens
    assert token_buckets(600)[-2:] == (576, 640)  # the last bucket holds the limit
    full = token_buckets(10**6)
    assert full[-1] == GRAPH_MAX_TOKENS and list(full) == sorted(set(full))


def test_padding_never_crowds_real_candidates_out_of_the_n_best() -> None:
    """A trained model's logits are negative almost everywhere: a short row in a wide batch must
    still get its own best span (answer_spans takes the 20 best positions of all, then filters)."""
    from crowdperf.workloads.bert.answer_spans import best_indexes

    rows, width, real_len = 2, 64, 10
    mask = np.zeros((rows, width), np.int64)
    mask[0, :real_len] = 1
    mask[1, :] = 1
    packed = PackedBatch.of(FeatureBatch(mask * 5, mask, mask * 0))
    logits = np.full((packed.tokens, 2), -8.0, np.float32)
    logits[3] = (-1.0, -1.0)  # row 0's answer: position 3
    out = packed.unpack(logits)
    assert 3 in best_indexes(out[0, :, 0], 20)[:1]
    assert set(best_indexes(out[0, :, 0], 20)[:real_len]) == set(range(real_len))


class _TokenEcho(Backend):
    """A backend whose 'model' answers each token's (id, position): what the runner sends shows."""

    name = "echo"
    artifact = object

    def __init__(self) -> None:
        self.sent: list[dict[str, np.ndarray]] = []

    def load(self, config: Any) -> Any:
        raise NotImplementedError

    @property
    def input_names(self) -> tuple[str, ...]:
        return ()

    def run(self, inputs: Any) -> dict[str, np.ndarray]:
        self.sent.append(dict(inputs))
        return {"logits": np.stack([inputs["input_ids"], inputs["positions"]], -1).astype(np.float32)}


def test_eager_packed_batches_are_rounded_to_32_tokens_that_belong_to_no_sequence() -> None:
    from crowdperf.workloads.bert.packed import EAGER_ALIGN, PackedTorchRunner

    backend = _TokenEcho()
    runner = PackedTorchRunner(backend, max_len=384)  # nothing prepared: every batch runs eagerly
    mask = np.zeros((3, 50), np.int64)
    for row, length in enumerate((50, 17, 33)):
        mask[row, :length] = 1
    ids = (np.arange(150).reshape(3, 50) + 1000) * mask
    out = runner.run(FeatureBatch(ids, mask, mask * 0))
    sent = backend.sent[-1]
    assert len(sent["input_ids"]) == 128 and 128 % EAGER_ALIGN == 0  # 100 real tokens, 28 spare
    assert sent["cu_seqlens"].tolist() == [0, 50, 67, 100]  # the spare ones are in no sequence
    real = mask.astype(bool)
    assert (out[..., 0][real] == ids[real]).all() and (out[~real] == PAD_LOGIT).all()
    assert (out[..., 1][real] == np.nonzero(real)[1]).all()  # each token's own position


def test_one_sample_is_padded_to_its_token_bucket_and_its_inputs_can_be_reused() -> None:
    """What the sample source stages at load for SingleStream: a one-sample batch in its graph's
    bucket; running those inputs twice answers what ``run`` answers."""
    from crowdperf.workloads.bert.packed import PackedTorchRunner

    backend = _TokenEcho()
    runner = PackedTorchRunner(backend, max_len=384)
    runner.prepare(1, [384])
    mask = np.zeros((1, 96), np.int64)
    mask[0, :70] = 1
    batch = FeatureBatch((np.arange(96) + 7)[None] * mask, mask, mask * 0)
    staged = runner.inputs(batch)
    assert len(staged.feeds["input_ids"]) == 96 and staged.feeds["cu_seqlens"].tolist() == [0, 70]
    first, again, direct = runner.run_inputs(staged), runner.run_inputs(staged), runner.run(batch)
    assert first.shape == (1, 96, 2) and first.tobytes() == again.tobytes() == direct.tobytes()
    assert first[0, :70, 0].tolist() == list(range(7, 77)) and (first[0, 70:] == PAD_LOGIT).all()
