"""The toy classifier's data, model, backend adapter, sample source and accuracy metric.

data      4 class prototypes in 16 dimensions, 512 points = prototype + N(0, 1) noise (seeded)
model     logits = x @ P.T - |P|^2 / 2 (the nearest prototype wins): an ONNX graph for
          onnxruntime, an ``nn.Linear`` for pytorch, the same numbers
response  the predicted class, int32, one per sample
metric    top-1 accuracy in percent; accuracy.txt's first line is ``{"accuracy": ...}``
"""

from __future__ import annotations

import json
import os
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from crowdperf.atomic import atomic_path
from crowdperf.backends.base import (
    Backend,
    BackendConfig,
    BackendInfo,
    ModelArtifact,
    OnnxGraph,
    TorchProgram,
)
from crowdperf.backends.registry import get_backend
from crowdperf.mlperf.rounds import Scenario
from crowdperf.mlperf.spec import RunSpec
from crowdperf.mlperf.workload import AccuracyResult, RuntimeInfo
from crowdperf.mlperf.workload_rules import WorkloadRules
from crowdperf.settings import load_settings
from crowdperf.system import accelerators

DIM, CLASSES = 16, 4


def dataset(samples: int, seed: int = 7) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(x (n, DIM) float32, labels (n,) int32, prototypes (CLASSES, DIM) float32)."""
    rng = np.random.default_rng(seed)
    prototypes = (rng.standard_normal((CLASSES, DIM)) * 1.2).astype(np.float32)
    labels = (np.arange(samples) % CLASSES).astype(np.int32)
    x = prototypes[labels] + rng.standard_normal((samples, DIM)).astype(np.float32)
    return x.astype(np.float32), labels, prototypes


def _weights(prototypes: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    return prototypes.T.copy(), (-0.5 * (prototypes**2).sum(axis=1)).astype(np.float32)


def _onnx_file(prototypes: np.ndarray) -> Path:
    import onnx
    from onnx import TensorProto, helper, numpy_helper

    path = load_settings().models_dir / "toyclass" / "toyclass.onnx"
    if path.is_file():
        return path
    w, b = _weights(prototypes)
    graph = helper.make_graph(
        [helper.make_node("MatMul", ["x", "w"], ["xw"]), helper.make_node("Add", ["xw", "b"], ["logits"])],
        "toyclass",
        [helper.make_tensor_value_info("x", TensorProto.FLOAT, ["n", DIM])],
        [helper.make_tensor_value_info("logits", TensorProto.FLOAT, ["n", CLASSES])],
        [numpy_helper.from_array(w, "w"), numpy_helper.from_array(b, "b")],
    )
    with atomic_path(path) as tmp:
        onnx.save(helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)]), tmp)
    return path


def _torch_module(prototypes: np.ndarray) -> Any:
    import torch

    class Classifier(torch.nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.linear = torch.nn.Linear(DIM, CLASSES)

        def forward(self, x: torch.Tensor) -> torch.Tensor:  # the backend passes inputs by name
            return self.linear(x)

    model = Classifier()
    w, b = _weights(prototypes)
    with torch.no_grad():
        model.linear.weight.copy_(torch.from_numpy(w.T.copy()))
        model.linear.bias.copy_(torch.from_numpy(b))
    return model


def artifact(backend: Backend, prototypes: np.ndarray) -> ModelArtifact:
    """This workload's adapter to whichever backend runs it."""
    if backend.artifact is OnnxGraph:
        return OnnxGraph(_onnx_file(prototypes))
    return TorchProgram(lambda: _torch_module(prototypes), "toyclass (generated)", ("logits",))


@dataclass
class ToySource:
    """The QSL: every point in memory; one backend per device (the replicas)."""

    x: np.ndarray
    backends: Sequence[Backend]
    align: int = 1
    call_overhead_tokens: float = float("inf")  # every sample costs the same: never split batches
    loaded: set[int] = field(default_factory=set)

    @property
    def total_count(self) -> int:
        return len(self.x)

    @property
    def performance_count(self) -> int:
        return len(self.x)

    @property
    def lengths(self) -> np.ndarray:
        return np.zeros(len(self.x), np.int64)

    @property
    def replicas(self) -> int:
        return len(self.backends)

    @property
    def concurrency(self) -> int:
        return min(b.concurrency for b in self.backends)

    @property
    def batch_sizes(self) -> dict[Scenario, int]:
        return {}  # the harness's defaults

    def load(self, indices: Sequence[int]) -> None:
        self.loaded.update(indices)

    def unload(self, indices: Sequence[int]) -> None:
        self.loaded.difference_update(indices)

    def infer(self, indices: Sequence[int], replica: int = 0) -> np.ndarray:
        logits = self.backends[replica].run({"x": self.x[np.asarray(indices, dtype=np.int64)]})["logits"]
        return logits.argmax(axis=1).astype(np.int32)[:, None]  # (n, 1) int32: the predicted class


@dataclass
class OpenToy:
    source: ToySource
    infos: Sequence[BackendInfo]
    rules: WorkloadRules
    round: str
    asset_checksums: dict[str, str]
    response_dtype: np.dtype = field(default_factory=lambda: np.dtype(np.int32))
    weights_file: str = "toyclass-model"  # which checksum is the model (measurements.json names it)

    @property
    def loadgen_model(self) -> str:
        return self.rules.benchmark.loadgen_model

    @property
    def runtime(self) -> RuntimeInfo:
        first = self.infos[0]
        devices = tuple(i.device for i in self.infos)
        return RuntimeInfo(first.name, first.version, first.precision, first.execution_provider, devices)

    def evaluate_accuracy(self, accuracy_log: Path, out_dir: Path) -> AccuracyResult:
        return score(accuracy_log, out_dir, self.rules, self.round)

    def close(self) -> None:
        for backend in self.source.backends:
            backend.close()


# tests of a child that dies (a crash, not a refusal): opening a configuration with this many
# threads ends the process at once, as a segfault in native code would
CRASH_AT_THREADS = "TOYCLASS_CRASH_AT_THREADS"


def open_toy(spec: RunSpec, rules: WorkloadRules) -> OpenToy:
    if spec.threads is not None and os.environ.get(CRASH_AT_THREADS) == str(spec.threads):
        os._exit(3)
    x, _labels, prototypes = dataset(rules.benchmark.dataset_size)
    if spec.count:
        x = x[: spec.count]
    backends, infos = [], []
    for device in accelerators.resolve(spec.devices):
        backend = get_backend(spec.backend)
        config = BackendConfig(artifact(backend, prototypes), device, spec.precision, spec.threads)
        infos.append(backend.load(config))
        backends.append(backend)
    checksums = {"toyclass-model": f"generated-{DIM}x{CLASSES}", "toyclass-data": f"seed7-{len(x)}"}
    return OpenToy(ToySource(x, backends), infos, rules, spec.round, checksums, np.dtype(np.int32))


def score(accuracy_log: Path, out_dir: Path, rules: WorkloadRules, round_name: str) -> AccuracyResult:
    """Top-1 accuracy of the predictions LoadGen logged (every sample once, or a subset)."""
    _x, labels, _p = dataset(rules.benchmark.dataset_size)
    predicted = {
        int(e["qsl_idx"]): int(np.frombuffer(bytes.fromhex(e["data"]), dtype=np.int32)[0])
        for e in json.loads(accuracy_log.read_text())
    }
    correct = int(sum(labels[i] == p for i, p in predicted.items()))
    value = 100.0 * correct / max(1, len(predicted))
    whole = len(predicted) == rules.benchmark.dataset_size
    target = rules.closed_accuracy_target(round_name)
    threshold = target.value if target and whole else None
    passed = None if threshold is None else value >= threshold
    note = "" if whole else f"subset: {len(predicted)} of {rules.benchmark.dataset_size} samples, no target"
    (out_dir / "accuracy.txt").write_text(json.dumps({"accuracy": value}) + "\n")
    (out_dir / "predictions.json").write_text(json.dumps({str(k): v for k, v in sorted(predicted.items())}))
    return AccuracyResult("accuracy", value, {"accuracy": value}, len(predicted), threshold, passed, note)
