"""The backends through BERT's adapters (runners.py), and the backends on their own with a model
that is not BERT: they run named arrays, whatever the model."""

from __future__ import annotations

from collections import Counter
from pathlib import Path

import numpy as np
import onnx
import pytest
from onnx import TensorProto, helper, numpy_helper

from crowdperf.backends.base import BackendConfig, OnnxGraph, TorchProgram
from crowdperf.backends.registry import get_backend
from crowdperf.errors import DeviceError, UsageError
from crowdperf.precision import Precision
from crowdperf.settings import load_settings
from crowdperf.system.devices import DeviceKind, UsedDevice
from crowdperf.workloads.bert.dataset import FeatureBatch
from crowdperf.workloads.bert.model_config import BertModelConfig
from crowdperf.workloads.bert.model_files import generated_model_file
from crowdperf.workloads.bert.onnx_export import GRAPH_LAYOUT
from crowdperf.workloads.bert.runners import BertRunner
from crowdperf.workloads.bert.weights import ensure_weights, load_weights
from crowdperf.workloads.bert.workload import bert_runner

CFG = BertModelConfig.tiny(120)
CPU = UsedDevice(DeviceKind.CPU, None, "cpu")
GPU0 = UsedDevice(DeviceKind.CUDA, 0, "gpu")


def _batch(width: int = 96, real: int = 70, seed: int = 1) -> FeatureBatch:
    rng = np.random.default_rng(seed)
    ids = rng.integers(0, CFG.vocab_size, (3, width))
    mask = np.zeros_like(ids)
    mask[:, :real] = 1
    seg = np.zeros_like(ids)
    seg[:, 20:real] = 1
    return FeatureBatch(ids, mask, seg)


def _runner(name: str, device: UsedDevice = CPU, precision: Precision = Precision.FP32) -> BertRunner:
    path = generated_model_file(name, CFG, load_settings())
    runner, info = bert_runner(name, path, device, precision, None, max_len=384)
    assert info.device == device and info.name == name
    return runner


def test_onnxruntime_and_pytorch_agree_on_the_same_weights() -> None:
    pytest.importorskip("torch")
    batch = _batch()
    ort_logits = _runner("onnxruntime").run(batch)
    torch_logits = _runner("pytorch").run(batch)
    assert ort_logits.shape == (3, 96, 2) and ort_logits.dtype == np.float32
    np.testing.assert_allclose(ort_logits, torch_logits, atol=1e-4)
    real = slice(0, 70)
    assert (ort_logits[:, real].argmax(1) == torch_logits[:, real].argmax(1)).all()


def test_trimming_padding_keeps_the_real_positions() -> None:
    runner = _runner("onnxruntime")
    full = _batch(width=384)
    trimmed = FeatureBatch(
        *(np.ascontiguousarray(a[:, :70]) for a in (full.input_ids, full.input_mask, full.segment_ids))
    )
    np.testing.assert_allclose(runner.run(full)[:, :70], runner.run(trimmed), atol=1e-5)


def test_generated_weights_are_deterministic(tmp_path: Path) -> None:
    a = load_weights(ensure_weights(tmp_path / "a", CFG, seed=3))
    b = load_weights(ensure_weights(tmp_path / "b", CFG, seed=3))
    assert a.keys() == b.keys() and "qa_outputs.weight" in a
    assert all(np.array_equal(a[k], b[k]) for k in a)


def _affine_onnx(path: Path, w: np.ndarray, b: np.ndarray) -> Path:
    """y = x @ w + b: a model with nothing of BERT in it."""
    graph = helper.make_graph(
        [helper.make_node("MatMul", ["x", "w"], ["xw"]), helper.make_node("Add", ["xw", "b"], ["y"])],
        "affine",
        [helper.make_tensor_value_info("x", TensorProto.FLOAT, ["n", w.shape[0]])],
        [helper.make_tensor_value_info("y", TensorProto.FLOAT, ["n", w.shape[1]])],
        [numpy_helper.from_array(w, "w"), numpy_helper.from_array(b, "b")],
    )
    onnx.save(helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)]), path)
    return path


def test_backends_run_named_arrays_of_any_model(tmp_path: Path) -> None:
    torch = pytest.importorskip("torch")
    rng = np.random.default_rng(0)
    w, b = rng.standard_normal((4, 3), dtype=np.float32), rng.standard_normal(3, dtype=np.float32)
    x = rng.standard_normal((5, 4), dtype=np.float32)
    ort = get_backend("onnxruntime")
    info = ort.load(BackendConfig(OnnxGraph(_affine_onnx(tmp_path / "affine.onnx", w, b))))
    assert info.device.kind is DeviceKind.CPU and ort.input_names == ("x",)

    class Affine(torch.nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.w, self.b = torch.nn.Parameter(torch.from_numpy(w)), torch.nn.Parameter(torch.from_numpy(b))

        def forward(self, x: torch.Tensor) -> torch.Tensor:
            return x @ self.w + self.b

    pt = get_backend("pytorch")
    pt.load(BackendConfig(TorchProgram(Affine, "affine", ("y",))))
    want = x @ w + b
    for backend in (ort, pt):
        out = backend.run({"x": x})
        assert list(out) == ["y"] and out["y"].dtype == np.float32
        np.testing.assert_allclose(out["y"], want, rtol=1e-5, atol=1e-5)
        assert backend.concurrency == 1  # on the CPU a call is the computation: one at a time


@pytest.mark.parametrize("name", ["onnxruntime", "pytorch"])
def test_cuda_without_a_gpu_is_a_device_error_not_a_cpu_fallback(name: str) -> None:
    if name == "pytorch":
        torch = pytest.importorskip("torch")
        if torch.cuda.is_available():
            pytest.skip("this machine has a GPU")
    else:
        import onnxruntime as ort

        if "CUDAExecutionProvider" in ort.get_available_providers():
            pytest.skip("onnxruntime has CUDA here")
    with pytest.raises(DeviceError):
        _runner(name, GPU0)


def test_unknown_backend_and_unsupported_precision_are_usage_errors() -> None:
    with pytest.raises(UsageError, match="not a known backend"):
        get_backend("tensorflow")
    with pytest.raises(UsageError, match="fp16"):
        _runner("onnxruntime", precision=Precision.FP16)


def test_a_backend_refuses_the_other_backends_artifact(tmp_path: Path) -> None:
    with pytest.raises(UsageError, match="ONNX graphs"):
        get_backend("onnxruntime").load(BackendConfig(TorchProgram(lambda: None, "m.pytorch", ("y",))))
    with pytest.raises(UsageError, match="PyTorch modules"):
        get_backend("pytorch").load(BackendConfig(OnnxGraph(tmp_path / "m.onnx")))


def test_int8_is_a_really_quantized_graph_close_to_fp32() -> None:
    settings = load_settings()
    fp32_path = generated_model_file("onnxruntime", CFG, settings)
    int8_path = generated_model_file("onnxruntime", CFG, settings, int8=True)
    assert int8_path != fp32_path and int8_path.name.endswith("-onnx2.fused.int8.onnx")
    assert generated_model_file("onnxruntime", CFG, settings, int8=True) == int8_path  # made once
    fp32, _ = bert_runner("onnxruntime", fp32_path, CPU, Precision.FP32, None, max_len=384)
    int8, _ = bert_runner("onnxruntime", int8_path, CPU, Precision.INT8, None, max_len=384)
    batch = _batch()
    a, b = fp32.run(batch), int8.run(batch)
    assert a.shape == b.shape and not np.array_equal(a, b)  # really different arithmetic
    np.testing.assert_allclose(b[:, :70], a[:, :70], atol=0.05 * float(np.abs(a).max()))


def test_int8_graph_has_every_layer_fused_and_quantized() -> None:
    """onnxruntime's transformer fusions matched our exported graph (attention, residual +
    LayerNorm, bias + GELU, embeddings) before quantization: what makes int8 fast on CPUs."""
    path = generated_model_file("onnxruntime", CFG, load_settings(), int8=True)
    ops = Counter(node.op_type for node in onnx.load(str(path)).graph.node)
    assert ops["QAttention"] == CFG.layers and ops["BiasGelu"] == CFG.layers
    assert ops["SkipLayerNormalization"] == 2 * CFG.layers and ops["EmbedLayerNormalization"] == 1
    assert ops["MatMulInteger"] == 3 * CFG.layers + 1  # attention output, FFN in and out, QA head
    assert "Softmax" not in ops and "Erf" not in ops  # inside the fused operators


def test_a_graph_of_an_older_layout_in_the_cache_is_never_reused() -> None:
    settings = load_settings()
    npz = ensure_weights(settings.models_dir, CFG)
    stale = npz.with_suffix(".onnx")  # where the layout-1 graph was cached
    stale.write_bytes(b"layout 1")
    path = generated_model_file("onnxruntime", CFG, settings)
    assert path != stale and path.name.endswith(f"-onnx{GRAPH_LAYOUT}.onnx")
    assert onnx.load(str(path)).graph.node  # a real graph, exported afresh


def test_an_fp32_graph_is_never_run_as_int8() -> None:
    path = generated_model_file("onnxruntime", CFG, load_settings())
    with pytest.raises(UsageError, match="no quantized operators"):
        get_backend("onnxruntime").load(BackendConfig(OnnxGraph(path), precision=Precision.INT8))
    with pytest.raises(UsageError, match="int8 runs on onnxruntime"):
        generated_model_file("pytorch", CFG, load_settings(), int8=True)


@pytest.mark.parametrize("name", ["onnxruntime", "pytorch"])
def test_staged_one_sample_queries_answer_as_built_ones_on_a_real_backend(name: str) -> None:
    """The sample source stages loaded samples for one-sample queries (SingleStream): through a
    real runner and backend they answer exactly what a source that builds each query answers."""
    if name == "pytorch":
        pytest.importorskip("torch")
    from crowdperf.workloads.bert.dataset import load_features
    from crowdperf.workloads.bert.sample_source import SquadSampleSource
    from crowdperf.workloads.bert.tiny_data import ensure_tiny_data

    settings = load_settings()
    data = ensure_tiny_data(settings)
    feats = load_features(data.dataset_path, data.vocab_path, settings)
    cfg = BertModelConfig.tiny(feats.vocab_size)
    model = generated_model_file(name, cfg, settings)
    runner, _ = bert_runner(name, model, CPU, Precision.FP32, 1, max_len=384)
    staged = SquadSampleSource(feats, [runner], count=12, align=8)
    built = SquadSampleSource(feats, [runner], count=12, align=8, stage_at_load=False)
    for source in (staged, built):
        source.load(range(12))
    for i in range(12):
        np.testing.assert_array_equal(staged.infer([i]), built.infer([i]))
    assert staged.infer([2]).shape == (1, 768)
