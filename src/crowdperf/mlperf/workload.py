"""The seam between the MLPerf harness and a workload (BERT today, others later).

A ``Workload`` is registered under a model name (``tiny``, ``bert-99``, ``bert-99.9``). The harness
calls ``open(spec)`` once per LoadGen test, inside the child process that runs that test (LoadGen
allows one ``FromConfig`` per process, see ``loadgen_runner``), and gets an ``OpenWorkload``:

    source            SampleSource: QSL size, real lengths, load/unload, replicas (one per device),
                      infer(indices, replica) -> rows
    runtime           RuntimeInfo: what really runs, on which devices (provenance.json)
    asset_checksums   {"model.onnx": "<md5>", ...} of the files actually used
    loadgen_model     LoadGen's model key for mlperf.conf lookups ("bert")
    response_dtype    numpy dtype of the response rows (accuracy log decoding)
    evaluate_accuracy(accuracy_log, out_dir) -> AccuracyResult  (writes accuracy.txt, predictions.json)
    close()

Registration: a built-in table of ``"module:attr"`` strings (resolved lazily so ``mlperf/`` never
imports a workload at import time), extended by the ``crowdperf.workloads`` entry-point group and by
``register_workload`` (tests). ``attr`` is a ``Workload`` object or a zero-argument class/factory.
"""

from __future__ import annotations

import importlib
import importlib.util
from dataclasses import dataclass
from importlib.metadata import entry_points
from pathlib import Path
from typing import TYPE_CHECKING, Protocol, runtime_checkable

import numpy as np

from crowdperf.errors import BackendError, UsageError
from crowdperf.mlperf.sample_source import SampleSource
from crowdperf.precision import Precision
from crowdperf.system.devices import UsedDevice

if TYPE_CHECKING:
    from crowdperf.mlperf.spec import RunSpec

ENTRY_POINT_GROUP = "crowdperf.workloads"

# model name -> "module:attr". The lead points these at the BERT workload.
BUILTIN_WORKLOADS: dict[str, str] = {
    "tiny": "crowdperf.workloads.bert.workload:tiny_workload",
    "bert-99": "crowdperf.workloads.bert.workload:bert_99_workload",
    "bert-99.9": "crowdperf.workloads.bert.workload:bert_999_workload",
}
_overrides: dict[str, str] = {}


@dataclass(frozen=True)
class RuntimeInfo:
    """What really ran a test, as provenance.json records it: the framework and its version, the
    precision, the path it took (execution provider, graphs, packing) and every device it ran on."""

    name: str  # "onnxruntime", "pytorch", "synthetic"
    version: str
    precision: Precision
    execution_provider: str
    devices: tuple[UsedDevice, ...]


@dataclass(frozen=True)
class AccuracyResult:
    """Field names match the BERT accuracy module (bert-data branch)."""

    exact_match: float
    f1: float
    n_questions: int
    target_f1: float | None  # None: not an MLPerf model, no target applies
    passed: bool | None  # None when there is no target
    note: str = ""  # e.g. "not an MLPerf model: accuracy target not applicable"


@runtime_checkable
class AccuracyLike(Protocol):
    """What the harness reads from a workload's accuracy result (any dataclass with these fields)."""

    exact_match: float
    f1: float
    target_f1: float | None
    passed: bool | None
    note: str


class OpenWorkload(Protocol):
    @property
    def source(self) -> SampleSource: ...

    @property
    def runtime(self) -> RuntimeInfo: ...

    @property
    def asset_checksums(self) -> dict[str, str]: ...

    @property
    def loadgen_model(self) -> str: ...

    @property
    def response_dtype(self) -> np.dtype: ...

    def evaluate_accuracy(self, accuracy_log: Path, out_dir: Path) -> AccuracyLike:
        """Decode LoadGen's accuracy log, write ``accuracy.txt`` and ``predictions.json`` into
        ``out_dir``, return the scores. Must cope with a QSL capped by ``--count`` (score only the
        samples present in the log)."""

    def close(self) -> None: ...


class Workload(Protocol):
    def open(self, spec: RunSpec) -> OpenWorkload:
        """Load assets and the backend for ``spec`` (raise CrowdperfError subclasses on failure)."""


def register_workload(model: str, ref: str) -> None:
    """Register (or replace) the workload for ``model`` as a ``"module:attr"`` string."""
    if ":" not in ref:
        raise UsageError(f"workload reference {ref!r} is not 'module:attr'")
    _overrides[model] = ref


def unregister_workload(model: str) -> None:
    _overrides.pop(model, None)


def workload_ref(model: str) -> str:
    """The ``module:attr`` string for ``model`` (what the child process imports)."""
    if model in _overrides:
        return _overrides[model]
    for ep in entry_points(group=ENTRY_POINT_GROUP):
        if ep.name == model:
            return ep.value
    if model in BUILTIN_WORKLOADS:
        return BUILTIN_WORKLOADS[model]
    known = sorted({*BUILTIN_WORKLOADS, *_overrides})
    raise UsageError(f"no workload registered for model {model!r}", hint=f"use one of {', '.join(known)}")


def check_available(ref: str) -> None:
    """Fail early (in the parent, before any directory is made) when the module is missing."""
    module_name = ref.partition(":")[0]
    try:
        found = importlib.util.find_spec(module_name) is not None
    except (ImportError, ValueError):
        found = False
    if not found:
        raise BackendError(
            f"workload {ref!r} is not available (no module {module_name!r})",
            hint="this model's workload is not installed in this build of crowdperf",
        )


def load_workload(ref: str) -> Workload:
    """Import ``module:attr``; instantiate it when it is a class or factory."""
    module_name, _, attr = ref.partition(":")
    try:
        obj = getattr(importlib.import_module(module_name), attr)
    except (ImportError, AttributeError) as exc:
        raise BackendError(
            f"workload {ref!r} is not available ({exc})",
            hint="this model's workload is not installed in this build of crowdperf",
        ) from exc
    if isinstance(obj, type) or (callable(obj) and not hasattr(obj, "open")):
        obj = obj()
    return obj


def get_workload(model: str) -> Workload:
    return load_workload(workload_ref(model))
