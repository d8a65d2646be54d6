"""PyTorch --precision fp8 on an FP8 GPU (device tool): the packed path with CUDA graphs answers
as the padded FP8 model does, fused kernels as unfused ones, close to fp16; and on a QA model
trained here, fp8 keeps >= 99 % of fp16's F1 (the bert-99 rule), calibrated off the scored half."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from crowdperf.precision import Precision
from crowdperf.settings import load_settings
from crowdperf.system.devices import DeviceKind, UsedDevice
from crowdperf.workloads.bert.calibration import unpadded_batches
from crowdperf.workloads.bert.dataset import PAD_LOGIT, load_features
from crowdperf.workloads.bert.fp8_model import Fp8Options
from crowdperf.workloads.bert.model_config import BertModelConfig
from crowdperf.workloads.bert.weights import ensure_weights
from crowdperf.workloads.bert.workload import bert_runner
from gpu_batches import calibration_features, cosine, masked_batch
from gpu_marks import fp8_gpu

torch = pytest.importorskip("torch")
pytestmark = fp8_gpu(torch)
GPU0 = UsedDevice(DeviceKind.CUDA, 0, "gpu 0")


# (atol as a share of the fp16 logits' largest, least cosine) between two fp8 forms, and against
# fp16. e4m3 keeps 3 mantissa bits (a rounding step is 6-12 %): packed and padded runs differ in
# fp16 attention by a few ulps, which flips some FP8 roundings, and 12 layers carry that forward.
# Measured on an H200 with these random weights (session 9): with 16-bit residuals up to 8.5 % of
# the scale apart, cosines >= 0.998 (>= 0.996 against fp16); with e4m3 residuals, where each
# flipped rounding also lands in the residual stream, up to 21 % apart, cosines >= 0.987 (the same
# against fp16). The trained model's F1 is what decides (bench/gpu.py, the slow test below).
TOLERANCES = {False: (0.1, 0.995, 0.99), True: (0.3, 0.98, 0.98)}


@pytest.mark.parametrize("residual_e4m3", [False, True], ids=["residual-fp16", "residual-e4m3"])
def test_fp8_packed_graphs_match_padded_fp8_unfused_kernels_and_fp16(
    tmp_path: Path, residual_e4m3: bool
) -> None:
    cfg = BertModelConfig.base(30522)
    weights = ensure_weights(tmp_path, cfg, seed=3)
    calib = calibration_features(cfg.vocab_size)
    kw = {"max_len": 384, "calibration": calib}
    base = Fp8Options(residual_e4m3=residual_e4m3)

    def fp8(options: Fp8Options, **extra: bool) -> Any:
        return bert_runner("pytorch", weights, GPU0, Precision.FP8, None, fp8=options, **kw, **extra)  # type: ignore[arg-type]

    fp16, _ = bert_runner("pytorch", weights, GPU0, Precision.FP16, None, max_len=384, pack_sequences=False)
    padded, _ = fp8(base, pack_sequences=False, cuda_graphs=False)
    packed, info = fp8(base)
    unfused, _ = fp8(replace(base, fused=False))
    steps, _ = fp8(replace(base, gelu_in_gemm=False))
    assert info.precision is Precision.FP8 and packed.description == "packed sequences"
    packed.prepare(16, [64, 96, 384])
    steps.prepare(16, [64, 96, 384])
    atol, least, least_fp16 = TOLERANCES[residual_e4m3]
    # one row, mixed lengths (graph buckets), more rows than max_batch (eager), > graph token cap
    for n, width in [(1, 64), (7, 96), (16, 384), (20, 96), (64, 384)]:
        batch = masked_batch(n, width, [max(3, width - 13 * k) for k in range(n)], cfg.vocab_size, seed=n)
        real = batch.input_mask.astype(bool)
        want, got, plain = padded.run(batch), packed.run(batch), unfused.run(batch)
        apart = steps.run(batch)  # GELU + quantize after cuBLASLt, not in the Triton GEMM's epilogue
        half = fp16.run(batch)
        assert got.shape == want.shape == (n, width, 2)
        scale = float(np.abs(half[real]).max())
        np.testing.assert_allclose(got[real], plain[real], atol=0.01 * scale)  # the same kernels' math
        np.testing.assert_allclose(got[real], want[real], atol=atol * scale)
        np.testing.assert_allclose(apart[real], got[real], atol=atol * scale)
        assert cosine(got[real], want[real]) > least and cosine(apart[real], got[real]) > least
        assert cosine(got[real], half[real]) > least_fp16
        assert (got[~real] == PAD_LOGIT).all() and (apart[~real] == PAD_LOGIT).all()


@pytest.mark.slow
def test_fp8_keeps_99_percent_of_fp16_f1_on_a_model_trained_here(
    tmp_path: Path, real_squad: tuple[Path, Path]
) -> None:
    """bench/gpu.py's accuracy check as a test: BERT-Base trained from random init on the even
    paragraphs; each half scored with fp8 scales calibrated on the other half. On the trained-on
    half (F1 ~84 on an H200) the bert-99 rule applies as is; the held-out half (F1 ~9: the model
    barely generalises) moves a few tenths of a point with any rounding, so it gets a looser bound."""
    from crowdperf.workloads.bert.qa_training import (
        TrainConfig,
        kept_fraction,
        runner_logits,
        save_trained,
        split_by_paragraph,
        squad_scores,
        train_qa,
    )
    from crowdperf.workloads.bert.torch_model import BertForQuestionAnswering
    from crowdperf.workloads.bert.weights import generate_weights

    dev, vocab = real_squad
    feats = load_features(dev, vocab, load_settings())
    split = split_by_paragraph(feats)
    cfg = BertModelConfig.base(feats.vocab_size)
    model = BertForQuestionAnswering(cfg)
    model.load_state_dict({k: torch.from_numpy(v) for k, v in generate_weights(cfg, seed=0).items()})
    model = model.cuda()
    train_qa(model, feats, split.train_rows, TrainConfig(steps=1500, warmup=150))
    path = save_trained(model, cfg, tmp_path / "qa.npz")
    del model
    trained_examples = tuple(int(i) for i in np.unique(feats.raw.example_index[split.train_rows]))
    halves = {  # scored rows, their questions, the rows calibration may use
        "trained": (split.train_rows, trained_examples, split.eval_rows),
        "held out": (split.eval_rows, split.eval_examples, split.train_rows),
    }
    f1: dict[tuple[str, Precision], float] = {}
    for half, (rows, examples, calibrate_on) in halves.items():
        calib_rows = np.random.default_rng(0).choice(calibrate_on, size=100, replace=False)
        assert not set(calib_rows) & set(rows)  # calibration never sees the scored half
        calibration = list(unpadded_batches(feats, calib_rows))
        for precision in (Precision.FP16, Precision.FP8):
            runner, _ = bert_runner(
                "pytorch", path, GPU0, precision, None, max_len=384, calibration=calibration
            )
            logits = runner_logits(runner, feats, rows, 256)
            f1[half, precision] = squad_scores(feats, logits, examples).f1
            runner.close()
    assert f1["trained", Precision.FP16] > 50.0, f1  # a trained model (random weights score ~5)
    assert kept_fraction(f1["trained", Precision.FP8], f1["trained", Precision.FP16]) >= 0.99, f1
    assert kept_fraction(f1["held out", Precision.FP8], f1["held out", Precision.FP16]) >= 0.97, f1
