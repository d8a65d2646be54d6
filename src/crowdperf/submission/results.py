"""Read a ``crowdperf run`` results directory (the harness contract).

Layout: ``<results>/<system>/<model>/<scenario>/{performance/run_1/, accuracy/, TEST01/performance/run_1/}``
each with LoadGen's files, ``user.conf`` and ``provenance.json``; ``accuracy/`` also has
``accuracy.txt`` and ``predictions.json``. ``<system>`` =
``<host-slug>[-<accelerators used>]-<backend>-<device>-<precision>`` (``mlperf/layout.py``).
Provenance fields may be missing (older or partial runs): they come back as ``None`` and are listed
in ``Provenance.missing`` so callers can say so.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from crowdperf.errors import MissingInputError, ResultsError
from crowdperf.mlperf.layout import ScenarioDir
from crowdperf.mlperf.provenance import recorded_devices, recorded_inventory
from crowdperf.mlperf.rounds import Scenario
from crowdperf.system.devices import UsedDevice
from crowdperf.system.inventory import HostInventory

PROVENANCE_FIELDS = (
    "command",
    "crowdperf_version",
    "git_commit",
    "backend",
    "loadgen_version",
    "round",
    "execution_mode",
    "submittable",
    "model",
    "scenario",
    "mode",
    "asset_checksums",
    "system",
)

# File names of model weights, for records that predate ``weights_file``.
MODEL_SUFFIXES = (".onnx", ".pytorch", ".pt", ".pth", ".npz", ".safetensors", ".bin", ".plan")


@dataclass(frozen=True)
class Provenance:
    raw: dict[str, Any]
    missing: tuple[str, ...]

    def get(self, key: str, default: Any = None) -> Any:
        value = self.raw.get(key)
        return default if value is None else value

    @property
    def backend(self) -> dict[str, Any]:
        value = self.raw.get("backend")
        return value if isinstance(value, dict) else {}

    @property
    def is_test_mode(self) -> bool:
        return self.raw.get("execution_mode") == "test"

    @property
    def weights_file(self) -> str | None:
        """The model file the run loaded (measurements.json's ``starting_weights_filename``):
        the recorded ``weights_file``; in an older record, the one checksummed asset whose name is
        a model file's (never the data set or vocab); None when the record does not say."""
        recorded = self.raw.get("weights_file")
        if isinstance(recorded, str) and recorded:
            return recorded
        checksums = self.raw.get("asset_checksums")
        names = (
            [n for n in checksums if n.lower().endswith(MODEL_SUFFIXES)]
            if isinstance(checksums, dict)
            else []
        )
        return names[0] if len(names) == 1 else None

    @property
    def inventory(self) -> HostInventory | None:
        """The run's host, when the record has its inventory (schema 2)."""
        return recorded_inventory(self.raw)

    @property
    def devices(self) -> tuple[UsedDevice, ...] | None:
        """The devices the run used (schema 1: inferred from its backend); None when unknown."""
        return recorded_devices(self.raw)


def read_provenance(run_dir: Path) -> Provenance:
    path = run_dir / "provenance.json"
    if not path.is_file():
        return Provenance({}, PROVENANCE_FIELDS)
    try:
        raw = json.loads(path.read_text(encoding="utf-8"))
    except json.JSONDecodeError as exc:
        raise ResultsError(f"{path}: not valid JSON ({exc.msg})", hint="re-run the benchmark") from exc
    if not isinstance(raw, dict):
        raise ResultsError(f"{path}: expected a JSON object", hint="re-run the benchmark")
    return Provenance(raw, tuple(k for k in PROVENANCE_FIELDS if raw.get(k) is None))


@dataclass(frozen=True)
class ScenarioResult:
    """One ``<system>/<model>/<scenario>`` directory of a results tree."""

    system: str
    model: str
    scenario: Scenario
    path: Path
    performance: Provenance
    accuracy: Provenance
    notes: tuple[str, ...] = field(default_factory=tuple)

    @property
    def dirs(self) -> ScenarioDir:
        return ScenarioDir(self.path)

    @property
    def perf_dir(self) -> Path:
        return self.dirs.performance

    @property
    def acc_dir(self) -> Path:
        return self.dirs.accuracy

    @property
    def test01_dir(self) -> Path:
        return self.dirs.test01

    @property
    def has_accuracy(self) -> bool:
        return (self.acc_dir / "mlperf_log_detail.txt").is_file()

    @property
    def has_performance(self) -> bool:
        return (self.perf_dir / "mlperf_log_detail.txt").is_file()

    @property
    def has_test01(self) -> bool:
        return (self.dirs.test01_performance / "mlperf_log_detail.txt").is_file()

    @property
    def is_test_mode(self) -> bool:
        return self.performance.is_test_mode or self.accuracy.is_test_mode


def _scenario(name: str) -> Scenario | None:
    for s in Scenario:
        if s.value.lower() == name.lower():
            return s
    return None


def _provenance_or_none(run_dir: Path) -> Provenance:
    """An unreadable record reads as an empty one here: ``submission generate`` lists it with
    every other problem of the runs (run_audit.py) rather than stopping at the first."""
    try:
        return read_provenance(run_dir)
    except ResultsError:
        return Provenance({}, PROVENANCE_FIELDS)


def scan_results(results_dir: Path) -> list[ScenarioResult]:
    """Every scenario directory under ``results_dir``, sorted; unknown folders are skipped."""
    if not results_dir.is_dir():
        raise MissingInputError(f"no results directory at {results_dir}", hint="run `crowdperf run` first")
    found = []
    for scen_dir in sorted(results_dir.glob("*/*/*")):
        scenario = _scenario(scen_dir.name)
        if not scen_dir.is_dir() or scenario is None:
            continue
        dirs = ScenarioDir(scen_dir)
        perf, acc = _provenance_or_none(dirs.performance), _provenance_or_none(dirs.accuracy)
        notes = []
        if perf.missing:
            notes.append(f"performance provenance lacks: {', '.join(perf.missing)}")
        if acc.missing:
            notes.append(f"accuracy provenance lacks: {', '.join(acc.missing)}")
        found.append(
            ScenarioResult(
                scen_dir.parent.parent.name, scen_dir.parent.name, scenario, scen_dir, perf, acc, tuple(notes)
            )
        )
    if not found:
        raise ResultsError(
            f"no <system>/<model>/<scenario> results under {results_dir}",
            hint="point --results-dir at the directory `crowdperf run` wrote",
        )
    return found


def read_accuracy_metrics(acc_dir: Path) -> dict[str, float] | None:
    """``{"exact_match": EM, "f1": F1}`` from the first line of accuracy.txt, or None."""
    path = acc_dir / "accuracy.txt"
    if not path.is_file():
        return None
    first = path.read_text(encoding="utf-8").splitlines()[:1]
    try:
        data = json.loads(first[0]) if first else None
    except json.JSONDecodeError:
        return None
    return {k: float(v) for k, v in data.items()} if isinstance(data, dict) else None
