from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from crowdperf.backends.base import BackendConfig, FeatureBatch
from crowdperf.backends.registry import get_backend
from crowdperf.errors import DeviceError, UsageError
from crowdperf.precision import Precision
from crowdperf.settings import load_settings
from crowdperf.system.devices import DeviceKind
from crowdperf.workloads.bert.model_config import BertModelConfig
from crowdperf.workloads.bert.model_files import generated_model_file
from crowdperf.workloads.bert.weights import ensure_weights, load_weights

CFG = BertModelConfig.tiny(120)


def _batch(width: int = 96, real: int = 70, seed: int = 1) -> FeatureBatch:
    rng = np.random.default_rng(seed)
    ids = rng.integers(0, CFG.vocab_size, (3, width))
    mask = np.zeros_like(ids)
    mask[:, :real] = 1
    seg = np.zeros_like(ids)
    seg[:, 20:real] = 1
    return FeatureBatch(ids, mask, seg)


def _loaded(name: str, **kw: object):
    backend = get_backend(name)
    backend.load(BackendConfig(generated_model_file(name, CFG, load_settings()), **kw))  # type: ignore[arg-type]
    return backend


def test_onnxruntime_and_pytorch_agree_on_the_same_weights() -> None:
    pytest.importorskip("torch")
    batch = _batch()
    ort_logits = _loaded("onnxruntime").run(batch)
    torch_logits = _loaded("pytorch").run(batch)
    assert ort_logits.shape == (3, 96, 2) and ort_logits.dtype == np.float32
    np.testing.assert_allclose(ort_logits, torch_logits, atol=1e-4)
    real = slice(0, 70)
    assert (ort_logits[:, real].argmax(1) == torch_logits[:, real].argmax(1)).all()


def test_trimming_padding_keeps_the_real_positions() -> None:
    backend = _loaded("onnxruntime")
    full = _batch(width=384)
    trimmed = FeatureBatch(
        *(np.ascontiguousarray(a[:, :70]) for a in (full.input_ids, full.input_mask, full.segment_ids))
    )
    np.testing.assert_allclose(backend.run(full)[:, :70], backend.run(trimmed), atol=1e-5)


def test_generated_weights_are_deterministic(tmp_path: Path) -> None:
    a = load_weights(ensure_weights(tmp_path / "a", CFG, seed=3))
    b = load_weights(ensure_weights(tmp_path / "b", CFG, seed=3))
    assert a.keys() == b.keys() and "qa_outputs.weight" in a
    assert all(np.array_equal(a[k], b[k]) for k in a)


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
        _loaded(name, device=DeviceKind.CUDA)


def test_unknown_backend_and_unsupported_precision_are_usage_errors() -> None:
    with pytest.raises(UsageError, match="not a known backend"):
        get_backend("tensorflow")
    with pytest.raises(UsageError, match="fp16"):
        _loaded("onnxruntime", precision=Precision.FP16)


def test_int8_is_a_really_quantized_graph_close_to_fp32() -> None:
    settings = load_settings()
    fp32_path = generated_model_file("onnxruntime", CFG, settings)
    int8_path = generated_model_file("onnxruntime", CFG, settings, int8=True)
    assert int8_path != fp32_path and int8_path.name.endswith(".int8.onnx")
    assert generated_model_file("onnxruntime", CFG, settings, int8=True) == int8_path  # made once
    fp32 = get_backend("onnxruntime")
    fp32.load(BackendConfig(fp32_path))
    int8 = get_backend("onnxruntime")
    int8.load(BackendConfig(int8_path, precision=Precision.INT8))
    batch = _batch()
    a, b = fp32.run(batch), int8.run(batch)
    assert a.shape == b.shape and not np.array_equal(a, b)  # really different arithmetic
    np.testing.assert_allclose(b[:, :70], a[:, :70], atol=0.05 * float(np.abs(a).max()))


def test_an_fp32_graph_is_never_run_as_int8() -> None:
    path = generated_model_file("onnxruntime", CFG, load_settings())
    with pytest.raises(UsageError, match="no quantized operators"):
        get_backend("onnxruntime").load(BackendConfig(path, precision=Precision.INT8))
    with pytest.raises(UsageError, match="int8 runs on onnxruntime"):
        generated_model_file("pytorch", CFG, load_settings(), int8=True)
