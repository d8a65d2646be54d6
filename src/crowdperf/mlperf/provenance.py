"""provenance.json: what produced a run directory. Versioned schema (``schema``), written beside
LoadGen's files in every run directory (docs/harness.md lists the fields).

Schema 2 records the host's whole inventory (``system``) and, apart from it, the devices the run
used (``devices``, ``accelerator_count``): the results' system name, the submission's
``systems/<name>.json`` and the hub's per-accelerator figures follow the devices, never every GPU
of the host. ``recorded_devices`` also reads schema 1 (a host summary, no devices).
"""

from __future__ import annotations

import json
import sys
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from functools import cache
from pathlib import Path
from typing import Any

from crowdperf import __version__
from crowdperf.gitcmd import git_or_none
from crowdperf.mlperf.spec import RunSpec
from crowdperf.mlperf.user_conf import ResolvedTargets
from crowdperf.mlperf.workload import RuntimeInfo
from crowdperf.system.devices import DeviceKind, UsedDevice, accelerators
from crowdperf.system.inventory import HostInventory, host_inventory

PROVENANCE_SCHEMA = "crowdperf.provenance/2"
NOT_SUBMITTABLE = "test-mode run, not submittable"


@dataclass(frozen=True)
class Provenance:
    command: tuple[str, ...]
    crowdperf_version: str
    git_commit: str | None
    model: str
    scenario: str
    mode: str
    backend: dict[str, str]  # BackendInfo fields: name, version, device, execution_provider, ...
    precision: str
    loadgen_version: str
    round: str
    execution_mode: str
    submittable: bool
    not_submittable_reason: str | None
    asset_checksums: dict[str, str]
    targets: dict[str, Any]
    system: HostInventory  # the whole host, every GPU of it
    devices: tuple[UsedDevice, ...]  # what this run used: the CPU, or the accelerators
    accelerator_count: int  # len(accelerators among devices): 0 for a CPU run
    started_utc: str
    finished_utc: str
    schema: str = PROVENANCE_SCHEMA
    extra: dict[str, Any] = field(default_factory=dict)
    weights_file: str | None = None  # the key of asset_checksums that is the model's weights
    # how the SUT fed LoadGen: the batch size queries were cut into and the worker threads per
    # device (0: inline); None in records older than session 6
    batch_size: int | None = None
    sut_workers_per_device: int | None = None

    def write(self, directory: Path) -> Path:
        path = directory / "provenance.json"
        path.write_text(json.dumps(asdict(self), indent=2, sort_keys=True) + "\n")
        return path


def read_provenance(directory: Path) -> dict[str, Any]:
    return json.loads((directory / "provenance.json").read_text())


@cache
def git_commit() -> str | None:
    """The commit of the crowdperf source tree when it runs from a git checkout."""
    return git_or_none("-C", str(Path(__file__).resolve().parent), "rev-parse", "HEAD")


def runtime_fields(runtime: RuntimeInfo) -> dict[str, str]:
    """provenance.json's ``backend``: what ran, and on what (device kind and the devices' names)."""
    names = [d.name for d in runtime.devices]
    kind = runtime.devices[0].kind.value if runtime.devices else "cpu"
    return {
        "name": runtime.name,
        "version": runtime.version,
        "precision": runtime.precision.value,
        "execution_provider": runtime.execution_provider,
        "device": kind,
        "device_name": names[0] if len(set(names)) == 1 else ", ".join(names),
        "device_count": str(len(names)),
    }


def now_utc() -> str:
    return datetime.now(UTC).isoformat(timespec="seconds")


def build_provenance(
    spec: RunSpec,
    *,
    backend: RuntimeInfo,
    asset_checksums: dict[str, str],
    loadgen_version: str,
    targets: ResolvedTargets,
    started_utc: str,
    devices: tuple[UsedDevice, ...],
    inventory: HostInventory | None = None,
    argv: list[str] | None = None,
    weights_file: str | None = None,
    batch_size: int | None = None,
    sut_workers_per_device: int | None = None,
) -> Provenance:
    """``devices``: what ``system.accelerators.resolve(spec.devices, inventory)`` gave the run."""
    return Provenance(
        command=tuple(argv if argv is not None else sys.argv),
        crowdperf_version=__version__,
        git_commit=git_commit(),
        model=spec.model,
        scenario=spec.scenario.value,
        mode=spec.mode.value,
        backend=runtime_fields(backend),
        precision=spec.precision.value,
        loadgen_version=loadgen_version,
        round=spec.round,
        execution_mode=spec.execution_mode.value,
        submittable=spec.submittable,
        not_submittable_reason=None if spec.submittable else NOT_SUBMITTABLE,
        asset_checksums=dict(asset_checksums),
        targets=asdict(targets),
        system=inventory or host_inventory(),
        devices=devices,
        accelerator_count=len(accelerators(devices)),
        started_utc=started_utc,
        finished_utc=now_utc(),
        weights_file=weights_file,
        batch_size=batch_size,
        sut_workers_per_device=sut_workers_per_device,
    )


def recorded_inventory(raw: dict[str, Any]) -> HostInventory | None:
    """The host inventory a provenance.json records; None for schema 1 (a summary) or a malformed
    one, whose readers fall back to what they can detect."""
    system = raw.get("system")
    if raw.get("schema") == "crowdperf.provenance/1" or not isinstance(system, dict):
        return None
    try:
        return HostInventory.from_dict(system)
    except ValueError:
        return None


def recorded_devices(raw: dict[str, Any]) -> tuple[UsedDevice, ...] | None:
    """The devices a recorded run used. Schema 2 lists them; schema 1 did not: its ``backend``
    says the kind and (late schema 1) ``device_count`` and ``device_name``; without a count a CUDA
    run used CUDA's device 0 (every backend was fixed at ``cuda:0`` then), named by the first GPU of
    its host summary. Indices past 0 are a guess (counts and names are what attribution needs).
    None when the record says neither (not ours)."""
    listed = raw.get("devices")
    if isinstance(listed, list):
        try:
            return tuple(UsedDevice.from_dict(d) for d in listed)
        except ValueError:
            return None
    backend: dict[str, Any] = raw["backend"] if isinstance(raw.get("backend"), dict) else {}
    summary: dict[str, Any] = raw["system"] if isinstance(raw.get("system"), dict) else {}
    device = str(backend.get("device", ""))
    if device == DeviceKind.CPU.value:
        return (UsedDevice(DeviceKind.CPU, None, str(summary.get("cpu") or "cpu")),)
    if device == DeviceKind.CUDA.value:
        count = int(backend["device_count"]) if str(backend.get("device_count", "")).isdigit() else 1
        names = str(backend.get("device_name") or "").split(", ")
        if len(names) != count:  # one name for all of them, or none: the summary's first GPU
            names = [str(backend.get("device_name") or (summary.get("gpus") or ["cuda"])[0])] * count
        return tuple(UsedDevice(DeviceKind.CUDA, i, name) for i, name in enumerate(names))
    return None
