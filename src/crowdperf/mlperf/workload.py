"""The seam between the MLPerf harness and a workload (BERT today, others later).

A ``Workload`` is registered under a model name (``tiny``, ``bert-large``, ``bert-99``, ...). The harness
calls ``open(spec)`` once per LoadGen test, inside the child process that runs that test (LoadGen
allows one ``FromConfig`` per process, see ``loadgen_runner``), and gets an ``OpenWorkload``:

    source            SampleSource: QSL size, real lengths, load/unload, replicas (one per device),
                      infer(indices, replica) -> rows
    runtime           RuntimeInfo: what really runs, on which devices (provenance.json)
    asset_checksums   {"model.onnx": "<md5>", ...} of the files actually used
    weights_file      the key of asset_checksums that is the model's weights (optional;
                      measurements.json's starting_weights_filename)
    loadgen_model     LoadGen's model key for mlperf.conf lookups ("bert")
    response_dtype    numpy dtype of the response rows (accuracy log decoding)
    evaluate_accuracy(accuracy_log, out_dir) -> AccuracyResult  (writes accuracy.txt, predictions.json)
    close()

A definition may also have ``preflight(spec, settings)``: cheap checks the parent process runs
for every run of a plan before any child starts or any file is fetched (backend installed,
precision supported on the device, files present or ``--download`` given, disk space), raising
the CrowdperfError the run would otherwise meet minutes later.

Registration: an entry point in the group ``crowdperf.workloads`` (crowdperf's own models are
registered in its pyproject.toml exactly like a plugin's; see ``crowdperf.plugins``) names a
``Workload`` definition: cheap to import, it exposes the ``rules`` it runs under (read in the parent
process: plan, find-performance, checker, TEST01) and ``open(spec)``, which does the heavy imports.
``attr`` may also be a zero-argument class/factory of one. The harness hands the ``module:attr``
string, never the object, to the child process of each test. Tests register in-process with
``register_workload(name, "module:attr")``, e.g.
``register_workload("tiny", "crowdperf.mlperf.synthetic_workload:default_workload")``.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Protocol

import numpy as np

from crowdperf import plugins
from crowdperf.errors import BackendError, UsageError
from crowdperf.mlperf.sample_source import SampleSource
from crowdperf.mlperf.workload_rules import BenchmarkRules, WorkloadRules
from crowdperf.precision import Precision
from crowdperf.system.devices import UsedDevice

if TYPE_CHECKING:
    from crowdperf.mlperf.spec import RunSpec


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
    """A workload's score of one accuracy run, whatever the workload: its benchmark's metric (the
    one targets and TEST01 compare, ``BenchmarkRules.accuracy_metric``) and every score it
    computed, as ``accuracy.txt``'s first line holds them."""

    metric: str  # "f1" (BERT), "accuracy" (a classifier), ...
    value: float  # the metric's score (percent where the benchmark scores in percent)
    scores: Mapping[str, float]  # every score, the metric's included: {"f1": 90.1, "exact_match": 83.2}
    n_samples: int  # what was scored (BERT: questions)
    target: float | None  # None: not an MLPerf model, no target applies
    passed: bool | None  # None when there is no target
    note: str = ""  # e.g. "not an MLPerf model: accuracy target not applicable"


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

    def evaluate_accuracy(self, accuracy_log: Path, out_dir: Path) -> AccuracyResult:
        """Decode LoadGen's accuracy log, write ``accuracy.txt`` and ``predictions.json`` into
        ``out_dir``, return the scores. Must cope with a QSL capped by ``--count`` (score only the
        samples present in the log)."""

    def close(self) -> None: ...


class Workload(Protocol):
    """What a ``crowdperf.workloads`` entry point names (a definition, cheap to import)."""

    @property
    def rules(self) -> WorkloadRules:
        """The MLPerf rules this model runs under (workload_rules.py)."""

    def open(self, spec: RunSpec) -> OpenWorkload:
        """Load assets and the backend for ``spec`` (raise CrowdperfError subclasses on failure)."""


def register_workload(model: str, ref: str) -> None:
    """Register (or replace) the workload for ``model`` in this process, as ``"module:attr"``."""
    plugins.register(plugins.WORKLOADS, model, ref)


def unregister_workload(model: str) -> None:
    plugins.unregister(plugins.WORKLOADS, model)


def workload_names() -> tuple[str, ...]:
    """Every model name a run accepts (installed entry points and in-process registrations)."""
    return plugins.names(plugins.WORKLOADS)


def workload_ref(model: str) -> str:
    """The ``module:attr`` string for ``model`` (what the child process imports); a UsageError
    naming the known models when there is none."""
    return plugins.ref_of(plugins.WORKLOADS, model)


def load_workload(ref: str) -> Workload:
    """Import ``module:attr``; instantiate it when it is a class or factory."""
    obj = plugins.resolve(ref, plugins.WORKLOADS)
    if isinstance(obj, type) or (callable(obj) and not hasattr(obj, "open")):
        obj = obj()
    if not (hasattr(obj, "open") and isinstance(getattr(obj, "rules", None), WorkloadRules)):
        raise BackendError(
            f"workload {ref!r} is not a workload definition",
            hint="a crowdperf.workloads entry point names an object with `rules` and `open(spec)`",
        )
    return obj  # type: ignore[return-value]


def get_workload(model: str) -> Workload:
    return load_workload(workload_ref(model))


def workload_rules(model: str) -> WorkloadRules:
    """The rules ``model`` runs under, read without loading the model."""
    return get_workload(model).rules


def benchmarks() -> dict[str, BenchmarkRules]:
    """Every MLPerf benchmark some registered workload runs (or stands in for), by name."""
    found: dict[str, BenchmarkRules] = {}
    for model in workload_names():
        benchmark = workload_rules(model).benchmark
        found.setdefault(benchmark.name, benchmark)
    return found


def benchmark_rules(name: str) -> BenchmarkRules:
    """The rules of the MLPerf benchmark ``name`` (``bert-99``), or a UsageError naming the known."""
    known = benchmarks()
    if name not in known:
        raise UsageError(
            f"{name!r} is not an MLPerf benchmark of any installed workload",
            hint=f"known benchmarks: {', '.join(sorted(known))}",
        )
    return known[name]
