"""The results-directory layout: the contract the submission generator reads. Keep it exact.

    <results-dir>/<system>/<model>/<scenario>/performance/run_1/   LoadGen's files, user.conf,
                                                                   provenance.json
    <results-dir>/<system>/<model>/<scenario>/accuracy/            the same + accuracy.txt + predictions.json
    <results-dir>/<system>/<model>/<scenario>/TEST01/performance/run_1/   compliance (TEST01) run

Every reader builds these paths here (``RunLayout``, ``ScenarioDir``), never by hand.

``<system>`` = ``<host-slug>[-<accelerators>]-<backend>-<device>-<precision>``: the host slug comes
from the hardware (CPU model, logical CPU count), never the container hostname, so it is stable
across runs on one machine; ``<accelerators>`` are the ones the run used (model and count, e.g.
``nvidia-h200x1`` for 1 of 2 GPUs, nothing for a CPU run on a GPU host), and backend/device/precision
in the name mean a result can never be filed under another software stack or other hardware. Each
run is written into a hidden sibling ``.<leaf>.partial-<pid>`` and renamed into place only when
complete; readers must ignore names starting with ``.``.
"""

from __future__ import annotations

import os
import re
import shutil
from collections import Counter
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from crowdperf.errors import InterruptedRun, ResultsError
from crowdperf.locks import process_alive
from crowdperf.mlperf.rounds import Scenario
from crowdperf.mlperf.spec import Mode, RunSpec
from crowdperf.names import checked_name
from crowdperf.system.accelerators import resolve
from crowdperf.system.devices import UsedDevice, accelerators
from crowdperf.system.inventory import HostInventory, host_inventory

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


def host_slug(inventory: HostInventory | None = None) -> str:
    """The machine part of system names: CPU model and logical CPU count (hardware threads), e.g.
    ``intel-xeon-platinum-8480-224c``. Accelerators are not the host's: ``devices_slug`` names
    those a run used."""
    inv = inventory or host_inventory()
    return f"{slugify(inv.cpu_model)}-{inv.cpu_logical_cores}c"[:80]


def devices_slug(used: Sequence[UsedDevice]) -> str:
    """The accelerators a run used, counted per model in order, e.g. ``nvidia-h200x2``; "" for a
    CPU run (the CPU is already in the host slug)."""
    counts = Counter(d.name for d in accelerators(tuple(used)))
    return "-".join(f"{slugify(name)}x{n}" for name, n in counts.items())


def system_name(spec: RunSpec, host: str | None = None, inventory: HostInventory | None = None) -> str:
    """``<host>[-<accelerators used>]-<backend>-<device>-<precision>``: a CPU run on a GPU host has
    no GPU in its name and a run on 1 of 2 GPUs says x1. ``host`` replaces the machine part
    (tests); DeviceError when ``spec.devices`` are not on the host."""
    used = resolve(spec.devices, inventory)
    parts = (host or host_slug(inventory), devices_slug(used), spec.backend)
    return "-".join(p for p in parts if p) + f"-{spec.devices.kind.value}-{spec.precision.value}"


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


def layout_for(spec: RunSpec, host: str | None = None, inventory: HostInventory | None = None) -> RunLayout:
    """Where ``spec``'s runs go. The system and the model become folder names: each is checked to
    be one plain name (names.py), whatever a plugin called its workload or backend."""
    system = checked_name(system_name(spec, host, inventory), "the system name", max_length=200)
    return RunLayout(spec.results_dir, system, checked_name(spec.model, "--model"), spec.scenario)


def remove_abandoned(final: Path) -> list[Path]:
    """Remove the hidden ``.<leaf>.partial-<pid>`` / ``.old-<pid>`` siblings of ``final`` whose
    writer is gone (killed with -9, a machine that lost power): nothing else ever removes them,
    and only a live writer's are kept. Returns what was removed."""
    removed = []
    for p in final.parent.glob(f".{final.name}.*-*"):
        kind, _, pid = p.name.rpartition("-")
        if not kind.endswith((".partial", ".old")) or not pid.isdigit() or process_alive(int(pid)):
            continue
        shutil.rmtree(p, ignore_errors=True)
        removed.append(p)
    return removed


@contextmanager
def atomic_run_dir(final: Path) -> Iterator[Path]:
    """Yield an empty hidden sibling of ``final``; on success it replaces ``final``. On any failure
    or Ctrl-C it is removed and ``final`` (a previous complete result) is left untouched."""
    try:
        final.parent.mkdir(parents=True, exist_ok=True)
        remove_abandoned(final)
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
