"""PyTorch: any ``nn.Module`` a workload builds, on the CPU or one GPU, in fp32 / bf16 / fp16, and
fp8 on GPUs with FP8 tensor cores (compute capability 8.9+) where the program has an FP8 form.

torch is the optional extra ``crowdperf[torch]``. On CUDA every instance owns its device's stream
and a ``GraphCache``: ``prepare`` captures a CUDA graph per example's input shapes and ``run``
replays the graph whose shapes match, or runs eagerly.

A CUDA ``run`` is two steps: under the instance's lock it enqueues everything on the stream
(inputs copied from pinned host memory, the graph or the kernels, outputs copied into pinned host
memory) and records an event; outside the lock it waits for that event. So a second caller
enqueues its batch while the first one's runs, and the GPU never waits for one caller's host
work (gathering and packing the next batch, answering LoadGen for the last): ``concurrency`` is 2
there, and the harness gives each replica that many worker threads. The stream keeps the order:
a batch's output copy is enqueued before the next batch can overwrite a graph's static outputs.
"""

from __future__ import annotations

import importlib.util
import threading
from collections.abc import Sequence
from typing import Any

import numpy as np

from crowdperf.backends.base import Arrays, Backend, BackendConfig, BackendInfo, TorchProgram
from crowdperf.backends.cuda_graphs import GraphCache
from crowdperf.errors import BackendError, DeviceError, UsageError
from crowdperf.precision import Precision
from crowdperf.system.cpu import physical_cores
from crowdperf.system.devices import DeviceKind


def import_torch() -> Any:
    try:
        import torch
    except ImportError as exc:
        raise BackendError(
            "the pytorch backend needs torch, which is not installed",
            hint="pip install 'crowdperf[torch]' (or use --backend onnxruntime)",
        ) from exc
    return torch


class PyTorchBackend(Backend):
    name = "pytorch"
    artifact = TorchProgram

    def __init__(self) -> None:
        self._module: Any = None
        self._device: Any = None
        self._stream: Any = None
        self._graphs: GraphCache | None = None
        self._dtype: Any = None
        self._outputs: tuple[str, ...] = ()
        self._lock = threading.Lock()

    def preflight(self, device: DeviceKind, precision: Precision) -> None:
        _check_precision(precision, device)
        if importlib.util.find_spec("torch") is None:
            import_torch()  # the BackendError naming the extra to install
        if device is DeviceKind.CUDA:
            torch = import_torch()
            gpu = _cuda_device(torch, 0)  # a CPU build of torch, or no driver: DeviceError now
            if precision is Precision.FP8:
                _check_fp8_device(torch, gpu)

    def load(self, config: BackendConfig) -> BackendInfo:
        torch = import_torch()
        program = config.model
        if not isinstance(program, TorchProgram):
            raise UsageError(
                f"the pytorch backend runs PyTorch modules, not {program.path.name}",
                hint="use --backend onnxruntime for ONNX graphs",
            )
        self._dtype = _dtype(torch, config.precision, config.device.kind)
        if config.device.kind is DeviceKind.CUDA:
            self._device = _cuda_device(torch, config.device.index or 0)
            if config.precision is Precision.FP8:
                _check_fp8_device(torch, self._device)
            torch.backends.cuda.matmul.allow_tf32 = False  # fp32 means fp32 (accuracy is measured)
            torch.backends.cudnn.allow_tf32 = False
        else:
            self._device = torch.device("cpu")
            torch.set_num_threads(config.threads or physical_cores())
        module = program.build().to(device=self._device, dtype=self._dtype).eval()
        if config.precision is Precision.FP8:
            if program.fp8 is None:
                raise UsageError(f"{program.label} has no fp8 form", hint="use --precision fp16 or bf16")
            with torch.inference_mode():
                module = program.fp8(module).eval()
        self._module = module
        self._outputs = program.output_names
        provider = f"torch:{self._device}"
        if self._device.type == "cuda":
            self._stream = torch.cuda.Stream(self._device)
            if config.cuda_graphs:
                self._graphs = GraphCache(
                    torch, self._call, self._tensors, device=self._device, stream=self._stream
                )
                provider += " (CUDA graphs)"
        return BackendInfo(self.name, torch.__version__, config.device, config.precision, provider)

    @property
    def input_names(self) -> tuple[str, ...]:
        return ()  # a module takes the keyword arguments its workload passes

    @property
    def concurrency(self) -> int:
        """2 on a GPU (one call's host work overlaps another's GPU work, see above); 1 on the
        CPU, where a call is the computation and a second one would only contend for cores."""
        return 2 if self._stream is not None else 1

    def prepare(self, examples: Sequence[Arrays]) -> None:
        if self._graphs is None:
            super().prepare(examples)
            return
        import torch

        with self._lock, torch.cuda.device(self._device):
            for example in examples:
                self._graphs.capture(example)

    def run(self, inputs: Arrays) -> dict[str, np.ndarray]:
        if self._module is None:
            raise BackendError("pytorch backend used before load()")
        import torch

        if self._stream is None:
            with self._lock, torch.inference_mode():
                return self._to_numpy(self._call(**self._tensors(inputs)))
        on_stream = torch.cuda.stream(self._stream)
        with self._lock, torch.inference_mode(), torch.cuda.device(self._device), on_stream:
            outputs = self._graphs.replay(inputs) if self._graphs is not None else None
            if outputs is None:
                outputs = self._call(**self._tensors(inputs))
            host = self._download(outputs)
            done = torch.cuda.Event()
            done.record(self._stream)
        done.synchronize()  # outside the lock: the next caller enqueues its batch meanwhile
        return {name: _as_float32(t.numpy()) for name, t in zip(self._outputs, host, strict=True)}

    def _call(self, **tensors: Any) -> tuple[Any, ...]:
        out = self._module(**tensors)
        if isinstance(out, dict):
            return tuple(out[name] for name in self._outputs)
        return tuple(out) if isinstance(out, tuple | list) else (out,)

    def _tensors(self, inputs: Arrays) -> dict[str, Any]:
        import torch

        out = {}
        for name, array in inputs.items():
            t = torch.from_numpy(np.ascontiguousarray(array))
            if self._stream is not None:  # from pinned memory: an asynchronous copy, no stream sync
                t = t.pin_memory().to(self._device, non_blocking=True)
            out[name] = t.to(self._dtype) if t.is_floating_point() else t  # float inputs in the run's dtype
        return out

    def _check_outputs(self, outputs: tuple[Any, ...]) -> None:
        if len(outputs) != len(self._outputs):
            raise BackendError(f"the module returned {len(outputs)} outputs, expected {self._outputs}")

    def _to_numpy(self, outputs: tuple[Any, ...]) -> dict[str, np.ndarray]:
        self._check_outputs(outputs)
        return {
            name: (t.float() if t.is_floating_point() else t).numpy()
            for name, t in zip(self._outputs, outputs, strict=True)
        }

    def _download(self, outputs: tuple[Any, ...]) -> list[Any]:
        """Enqueue each output's copy into pinned host memory (valid once the stream passes it).
        fp16 crosses as fp16 and widens on the host (half the bytes, no kernel); bf16, which
        NumPy lacks, widens on the GPU."""
        import torch

        self._check_outputs(outputs)
        host = []
        for t in outputs:
            src = t.float() if t.dtype == torch.bfloat16 else t
            dst = torch.empty(src.shape, dtype=src.dtype, pin_memory=True)
            dst.copy_(src, non_blocking=True)
            host.append(dst)
        return host

    def close(self) -> None:
        self._module = self._graphs = self._stream = None


def _as_float32(array: np.ndarray) -> np.ndarray:
    """Floating outputs as float32 (the harness's contract); integers as they are."""
    return array.astype(np.float32) if array.dtype.kind == "f" and array.dtype != np.float32 else array


def _cuda_device(torch: Any, index: int) -> Any:
    if not torch.cuda.is_available():
        raise DeviceError(
            f"torch {torch.__version__} cannot use CUDA here (no GPU, no driver, or a CPU build)",
            hint="install a CUDA build of torch on a machine with an NVIDIA GPU, or use --device cpu",
        )
    count = torch.cuda.device_count()
    if index >= count:
        raise DeviceError(
            f"torch sees {count} GPU(s); there is no cuda:{index}", hint=f"use cuda:0..{count - 1}"
        )
    return torch.device(f"cuda:{index}")


FP8_CAPABILITY = (8, 9)  # FP8 tensor cores: Ada (8.9), Hopper (9.0) and later


def _check_fp8_device(torch: Any, device: Any) -> None:
    """FP8 matrix products need FP8 tensor cores and a torch that has ``_scaled_mm``."""
    capability = tuple(torch.cuda.get_device_capability(device))
    name = torch.cuda.get_device_name(device)
    if capability < FP8_CAPABILITY or not hasattr(torch, "_scaled_mm"):
        raise DeviceError(
            f"{device} ({name}, compute capability {capability[0]}.{capability[1]}) has no FP8 "
            f"tensor cores (8.9+: Ada, Hopper) or torch {torch.__version__} lacks _scaled_mm",
            hint="use --precision fp16 or bf16 on this GPU",
        )


def _check_precision(precision: Precision, device: DeviceKind) -> None:
    cuda = device is DeviceKind.CUDA
    supported = (Precision.FP32, Precision.BF16, *((Precision.FP16, Precision.FP8) if cuda else ()))
    if precision not in supported:
        raise UsageError(
            f"the pytorch backend does not run {precision.value} on {device.value}",
            hint=f"use --precision one of: {', '.join(p.value for p in supported)}"
            + (" (fp16, and fp8 on FP8 GPUs, on cuda)" if not cuda else ""),
        )


def _dtype(torch: Any, precision: Precision, device: DeviceKind) -> Any:
    """The module's dtype: fp8 runs its matrix products in e4m3 and everything else in fp16."""
    _check_precision(precision, device)
    return {
        Precision.FP32: torch.float32,
        Precision.BF16: torch.bfloat16,
        Precision.FP16: torch.float16,
        Precision.FP8: torch.float16,
    }[precision]
