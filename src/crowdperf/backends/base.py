"""The one small interface every inference backend implements.

A backend turns a batch of features into logits, nothing more: batching, scheduling and LoadGen
live in ``crowdperf.mlperf.sut``. One module per backend (``onnxruntime_backend.py``,
``pytorch_backend.py``, ...), registered in ``crowdperf.backends.registry``.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from crowdperf.precision import Precision
from crowdperf.system.devices import DeviceKind


@dataclass(frozen=True)
class BackendConfig:
    """What to load and where. Validated by the backend's ``load``; no side effects here."""

    model_path: Path
    device: DeviceKind = DeviceKind.CPU
    precision: Precision = Precision.FP32
    threads: int | None = None  # intra-op threads; None = the backend's tuned default
    cuda_graphs: bool = True  # replay captured CUDA graphs where the backend can (pytorch on cuda)
    pack_sequences: bool = True  # padding-free batches where the backend can (pytorch cuda fp16/bf16)


@dataclass(frozen=True)
class BackendInfo:
    """What really runs, recorded in every run's provenance."""

    name: str  # "onnxruntime"
    version: str  # framework version
    device: DeviceKind
    precision: Precision
    execution_provider: str  # e.g. "CPUExecutionProvider", "CUDAExecutionProvider", "torch:cuda:0"
    device_name: str  # e.g. "NVIDIA H200" or the CPU model


@dataclass(frozen=True)
class FeatureBatch:
    """A batch of BERT features, already trimmed to the longest real length in the batch."""

    input_ids: np.ndarray  # (batch, seq) int64
    input_mask: np.ndarray  # (batch, seq) int64, 1 = real token
    segment_ids: np.ndarray  # (batch, seq) int64


class Backend(ABC):
    """Load once, then ``run`` many batches. Implementations are not thread-safe unless they say so."""

    name: str

    @abstractmethod
    def load(self, config: BackendConfig) -> BackendInfo:
        """Load the model on the device; raise DeviceError if the device cannot really be used."""

    @abstractmethod
    def run(self, batch: FeatureBatch) -> np.ndarray:
        """Return logits ``(batch, seq, 2)`` float32: [..., 0] start, [..., 1] end."""

    @property
    def pads_batches(self) -> bool:
        """True when a batch costs rows x its longest sample (so grouping by length pays); a
        backend that packs sequences without padding says False."""
        return True

    def prepare(self, max_batch: int, widths: Sequence[int]) -> None:  # noqa: B027 - optional hook
        """Untimed, before a test: get ready for batches of up to ``max_batch`` rows at these
        padded widths (capture graphs, select kernels). Default does nothing."""

    def close(self) -> None:  # noqa: B027 - optional hook
        """Free device memory; default does nothing."""
