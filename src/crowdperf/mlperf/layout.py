"""The results-directory layout: the contract the submission generator reads. Keep it exact.

    <results-dir>/<system>/<model>/<scenario>/performance/run_1/   LoadGen's files, user.conf,
                                                                   provenance.json
    <results-dir>/<system>/<model>/<scenario>/accuracy/            the same + accuracy.txt + predictions.json
    <results-dir>/<system>/<model>/<scenario>/TEST01/performance/run_1/   compliance (TEST01) run

Every reader builds these paths here (``RunLayout``, ``ScenarioDir``), never by hand.

``<system>`` = ``<host-slug>-<backend>-<device>-<precision>``: the host slug comes from the hardware
(CPU model, core count, GPU model and count), never the container hostname, so it is stable across
runs on one machine, and backend/device/precision in the name mean a result can never be filed under
another software stack. Each run is written into a hidden sibling ``.<leaf>.partial-<pid>`` and
renamed into place only when complete; readers must ignore names starting with ``.``.
"""

from __future__ import annotations

import os
import re
import shutil
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from functools import cache
from pathlib import Path

from crowdperf.errors import InterruptedRun, ResultsError
from crowdperf.mlperf.rounds import Scenario
from crowdperf.mlperf.spec import Mode, RunSpec
from crowdperf.system.cpu import cpu_name

USER_CONF = "user.conf"
PROVENANCE = "provenance.json"
ACCURACY_TXT = "accuracy.txt"
PREDICTIONS = "predictions.json"
SUMMARY = "mlperf_log_summary.txt"
DETAIL = "mlperf_log_detail.txt"
ACCURACY_LOG = "mlperf_log_accuracy.json"


def slugify(text: str) -> str:
    text = re.sub(r"\((r|tm|c)\)|cpu @ [0-9.]+ ?ghz|processor", " ", text.lower())
    return re.sub(r"[^a-z0-9]+", "-", text).strip("-")


def gpu_names() -> list[str]:
    """NVIDIA GPU names through NVML; empty when there is no driver/GPU."""
    try:
        import pynvml

        pynvml.nvmlInit()
    except Exception:  # no NVML library or no driver: no GPU
        return []
    try:
        names = []
        for i in range(pynvml.nvmlDeviceGetCount()):
            name = pynvml.nvmlDeviceGetName(pynvml.nvmlDeviceGetHandleByIndex(i))
            names.append(name.decode() if isinstance(name, bytes) else str(name))
        return names
    finally:
        pynvml.nvmlShutdown()


@cache
def host_slug() -> str:
    """e.g. ``intel-xeon-platinum-8480-2c`` or ``amd-epyc-9654-64c-nvidia-h200x8``."""
    slug = f"{slugify(cpu_name())}-{os.cpu_count() or 1}c"
    gpus = gpu_names()
    if gpus:
        slug += f"-{slugify(gpus[0])}x{len(gpus)}"
    return slug[:80]


def system_name(spec: RunSpec, host: str | None = None) -> str:
    return f"{host or host_slug()}-{spec.backend}-{spec.devices.kind.value}-{spec.precision.value}"


@dataclass(frozen=True)
class ScenarioDir:
    """The run directories under one ``<model>/<scenario>`` directory. The same leaves appear in a
    results directory and in a submission tree's ``results/<system>/<benchmark>/<scenario>/`` (and
    v5's ``compliance/.../<scenario>/`` for TEST01): tools/submission/submission_structure.md."""

    path: Path

    @property
    def performance(self) -> Path:
        return self.path / "performance" / "run_1"

    @property
    def accuracy(self) -> Path:
        return self.path / "accuracy"

    @property
    def test01(self) -> Path:
        """TEST01's directory: its run, verify_*.txt and the accuracy/ the verification writes."""
        return self.path / "TEST01"

    @property
    def test01_performance(self) -> Path:
        return self.test01 / "performance" / "run_1"

    @property
    def test01_accuracy(self) -> Path:
        return self.test01 / "accuracy"

    def run_dir(self, mode: Mode) -> Path:
        if mode is Mode.ACCURACY:
            return self.accuracy
        if mode is Mode.PERFORMANCE:
            return self.performance
        if mode is Mode.COMPLIANCE:
            return self.test01_performance
        raise ValueError(f"{mode} has no run directory")  # find-performance stores targets only


@dataclass(frozen=True)
class RunLayout:
    results_dir: Path
    system: str
    model: str
    scenario: Scenario

    @property
    def scenario_dir(self) -> Path:
        return self.results_dir / self.system / self.model / self.scenario.value

    @property
    def dirs(self) -> ScenarioDir:
        return ScenarioDir(self.scenario_dir)

    def run_dir(self, mode: Mode) -> Path:
        return self.dirs.run_dir(mode)


def layout_for(spec: RunSpec, host: str | None = None) -> RunLayout:
    return RunLayout(spec.results_dir, system_name(spec, host), spec.model, spec.scenario)


@contextmanager
def atomic_run_dir(final: Path) -> Iterator[Path]:
    """Yield an empty hidden sibling of ``final``; on success it replaces ``final``. On any failure
    or Ctrl-C it is removed and ``final`` (a previous complete result) is left untouched."""
    try:
        final.parent.mkdir(parents=True, exist_ok=True)
        tmp = final.parent / f".{final.name}.partial-{os.getpid()}"
        shutil.rmtree(tmp, ignore_errors=True)
        tmp.mkdir()
    except OSError as exc:
        raise ResultsError(
            f"cannot write results under {final.parent} ({exc.strerror})",
            hint="pass a writable --results-dir",
        ) from exc
    try:
        yield tmp
    except KeyboardInterrupt:
        shutil.rmtree(tmp, ignore_errors=True)
        raise InterruptedRun(f"interrupted; the partial run {final} was removed") from None
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    old = final.parent / f".{final.name}.old-{os.getpid()}"
    if final.exists():
        final.rename(old)
    tmp.rename(final)
    shutil.rmtree(old, ignore_errors=True)
