"""The find-performance store: measured targets per (system, model, scenario) in
``<cache>/targets.json`` (atomic write, file-locked). ``system`` already names backend, device and
precision; each entry repeats them and ``lookup`` refuses an entry that disagrees, so a target is
never reused for another software stack."""

from __future__ import annotations

import json
from contextlib import AbstractContextManager
from dataclasses import asdict, dataclass
from pathlib import Path

from crowdperf.atomic import atomic_write_json
from crowdperf.errors import ResultsError
from crowdperf.locks import exclusive, file_lock
from crowdperf.mlperf.rounds import Scenario
from crowdperf.mlperf.spec import RunSpec

TARGETS_SCHEMA = "crowdperf.targets/1"


@dataclass(frozen=True)
class StoredTarget:
    system: str
    model: str
    backend: str
    device: str
    precision: str
    scenario: str
    value: float  # Offline/Server: samples/s; SingleStream/MultiStream: latency ms
    unit: str
    execution_mode: str
    measured_utc: str
    # other processes' share of the CPUs while it was measured (system/load.py); None: not recorded
    machine_busy_percent: float | None = None


def target_key(system: str, model: str, scenario: Scenario | str) -> str:
    return f"{system}|{model}|{Scenario(scenario).value}"


class TargetStore:
    def __init__(self, path: Path) -> None:
        self.path = path

    def _lock(self) -> AbstractContextManager[None]:
        """Read-modify-write of the file is one process at a time (a few ms each)."""
        return exclusive(file_lock(self.path), f"the targets store {self.path}", wait_s=30.0)

    def _read(self) -> dict[str, dict]:
        if not self.path.is_file():
            return {}
        try:
            data = json.loads(self.path.read_text())
        except json.JSONDecodeError as exc:
            raise ResultsError(
                f"{self.path} is corrupt ({exc.msg})", hint="delete it and rerun find-performance"
            ) from exc
        return dict(data.get("entries", {}))

    def lookup(self, spec: RunSpec, system: str, scenario: Scenario | None = None) -> StoredTarget | None:
        scenario = scenario or spec.scenario
        with self._lock():
            raw = self._read().get(target_key(system, spec.model, scenario))
        if raw is None:
            return None
        entry = StoredTarget(**raw)
        stack = (entry.backend, entry.device, entry.precision)
        if stack != (spec.backend, spec.devices.kind.value, spec.precision.value):
            raise ResultsError(
                f"stored target for {system} was measured with {'/'.join(stack)}, not "
                f"{spec.backend}/{spec.devices.kind.value}/{spec.precision.value}",
                hint=f"delete {self.path} and rerun --mode find-performance",
            )
        return entry

    def save(self, entry: StoredTarget) -> None:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        with self._lock():
            entries = self._read()
            entries[target_key(entry.system, entry.model, entry.scenario)] = asdict(entry)
            atomic_write_json(self.path, {"schema": TARGETS_SCHEMA, "entries": entries})
