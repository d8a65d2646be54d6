"""The one small interface every inference backend implements, and nothing of any model.

A backend loads a model artifact on one device and turns named input arrays into named output
arrays. What the arrays mean (BERT's token ids, an image's pixels), how samples become them, how
batches are padded and what the outputs are is the workload's business (``workloads/<w>/``);
batching, scheduling and LoadGen are the harness's (``mlperf/``). One instance serves one device:
a run on several GPUs loads one instance per GPU, each with its own stream, graphs and memory.

    artifact      OnnxGraph (a .onnx file) | TorchProgram (a builder of an ``nn.Module``)
    preflight(device, precision)   cheap, before anything is fetched or loaded: the framework is
                  installed, runs that precision on that device, and can use the device
    load(config)  -> BackendInfo: what really runs (framework, provider, the device)
    run(inputs)   {name: ndarray} -> {name: ndarray}; floating outputs come back as float32
    concurrency   how many ``run`` calls are worth having in flight at once (worker threads)
    prepare(examples)   untimed, before a test: get ready for inputs shaped like each example
                        (CUDA graphs captured per input shape where the backend can)

Backends register through the ``crowdperf.backends`` entry-point group (``registry.py``).
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, ClassVar

import numpy as np

from crowdperf.precision import Precision
from crowdperf.system.devices import DeviceKind, UsedDevice

Arrays = Mapping[str, np.ndarray]


@dataclass(frozen=True)
class OnnxGraph:
    """An ONNX file; its graph names the inputs and outputs."""

    path: Path


@dataclass(frozen=True)
class TorchProgram:
    """A PyTorch model as the workload builds it: ``build()`` returns the ``nn.Module`` on the CPU
    in fp32 with its weights loaded; the backend places it on the device in the run's precision
    and calls ``module(**inputs)``. A module returning a tuple names its outputs ``output_names``.
    Only the workload knows which layers an FP8 form quantizes and on what data it calibrates
    them, so ``--precision fp8`` runs ``fp8`` (the backend checks the GPU can)."""

    build: Callable[[], Any]
    label: str  # what it is, for messages and provenance: "model.pytorch", "bert-large (generated)"
    output_names: tuple[str, ...]
    # fp8: turns the module, placed on its GPU in fp16, into its FP8 form (calibrated on the
    # workload's calibration data); None: the program has no FP8 form
    fp8: Callable[[Any], Any] | None = None


ModelArtifact = OnnxGraph | TorchProgram


def cpu_device() -> UsedDevice:
    from crowdperf.system.cpu import cpu_name

    return UsedDevice(DeviceKind.CPU, None, cpu_name())


@dataclass(frozen=True)
class BackendConfig:
    """What to load and where. Validated by the backend's ``load``; no side effects here."""

    model: ModelArtifact
    device: UsedDevice = field(default_factory=cpu_device)
    precision: Precision = Precision.FP32
    threads: int | None = None  # intra-op threads on the CPU; None = the backend's tuned default
    cuda_graphs: bool = True  # replay captured CUDA graphs where the backend can (pytorch on cuda)


@dataclass(frozen=True)
class BackendInfo:
    """What really runs, recorded in every run's provenance."""

    name: str  # "onnxruntime"
    version: str  # framework version
    device: UsedDevice
    precision: Precision
    execution_provider: str  # e.g. "CPUExecutionProvider", "CUDAExecutionProvider", "torch:cuda:0"


class Backend(ABC):
    """Load once, then ``run`` many times. One instance per device; ``run`` is thread-safe (calls
    on one instance are serialised), but the harness gives each instance its own worker."""

    name: ClassVar[str]
    artifact: ClassVar[type]  # the ModelArtifact kind ``load`` takes

    def preflight(self, device: DeviceKind, precision: Precision) -> None:  # noqa: B027 - optional hook
        """Raise now what ``load`` would raise later for this device and precision (framework
        missing: BackendError; precision unsupported: UsageError; device unusable: DeviceError),
        without a model: the run calls it before any download. The default checks nothing."""

    @abstractmethod
    def load(self, config: BackendConfig) -> BackendInfo:
        """Load the model on the device; raise DeviceError if the device cannot really be used."""

    @abstractmethod
    def run(self, inputs: Arrays) -> dict[str, np.ndarray]:
        """One batch: the model's inputs by name -> its outputs by name."""

    @property
    @abstractmethod
    def input_names(self) -> tuple[str, ...]:
        """The loaded model's input names (an ONNX graph says them; a torch module takes what its
        workload passes)."""

    @property
    def concurrency(self) -> int:
        """How many ``run`` calls on this instance are worth having in flight at once: 1 where a
        call holds the device from start to end; more where ``run`` enqueues under its lock and
        waits outside it (pytorch on CUDA), so one caller's host work hides behind another's
        device work. The harness gives each replica this many worker threads."""
        return 1

    def prepare(self, examples: Sequence[Arrays]) -> None:
        """Untimed: get ready for inputs shaped like each example (capture graphs, select
        kernels). The default runs each once."""
        for example in examples:
            self.run(example)

    def close(self) -> None:  # noqa: B027 - optional hook
        """Free device memory; default does nothing."""
