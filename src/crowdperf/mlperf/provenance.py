"""provenance.json: what produced a run directory. Versioned schema (``schema``), written beside
LoadGen's files in every run directory (docs/harness.md lists the fields)."""

from __future__ import annotations

import json
import os
import platform
import subprocess
import sys
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from functools import cache
from pathlib import Path
from typing import Any

from crowdperf import __version__
from crowdperf.mlperf.layout import gpu_names
from crowdperf.mlperf.spec import RunSpec
from crowdperf.mlperf.user_conf import ResolvedTargets
from crowdperf.mlperf.workload import RuntimeInfo
from crowdperf.system.cpu import cpu_name

PROVENANCE_SCHEMA = "crowdperf.provenance/1"
NOT_SUBMITTABLE = "test-mode run, not submittable"


@dataclass(frozen=True)
class SystemSummary:
    cpu: str
    cores: int
    memory_gib: float
    os: str
    python: str
    gpus: tuple[str, ...]


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
    system: SystemSummary
    started_utc: str
    finished_utc: str
    schema: str = PROVENANCE_SCHEMA
    extra: dict[str, Any] = field(default_factory=dict)

    def write(self, directory: Path) -> Path:
        path = directory / "provenance.json"
        path.write_text(json.dumps(asdict(self), indent=2, sort_keys=True) + "\n")
        return path


def read_provenance(directory: Path) -> dict[str, Any]:
    return json.loads((directory / "provenance.json").read_text())


@cache
def system_summary() -> SystemSummary:
    try:
        import psutil

        mem = psutil.virtual_memory().total / 2**30
    except Exception:  # psutil is a dependency; this only guards odd platforms
        mem = 0.0
    return SystemSummary(
        cpu=cpu_name(),
        cores=os.cpu_count() or 1,
        memory_gib=round(mem, 1),
        os=f"{platform.system()} {platform.release()}",
        python=platform.python_version(),
        gpus=tuple(gpu_names()),
    )


@cache
def git_commit() -> str | None:
    """The commit of the crowdperf source tree when it runs from a git checkout."""
    src = Path(__file__).resolve().parent
    try:
        out = subprocess.run(
            ["git", "-C", str(src), "rev-parse", "HEAD"], capture_output=True, text=True, timeout=5
        )
    except (OSError, subprocess.SubprocessError):
        return None
    return out.stdout.strip() or None if out.returncode == 0 else None


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
    argv: list[str] | None = None,
) -> Provenance:
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
        system=system_summary(),
        started_utc=started_utc,
        finished_utc=now_utc(),
    )
