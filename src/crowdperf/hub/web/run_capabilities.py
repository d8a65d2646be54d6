"""What this machine can run, asked of the installed plugins themselves: the Run page of
``crowdperf ui`` offers nothing else.

    devices    the CPU, and every GPU CUDA can see (all of them as ``cuda``, each as ``cuda:N``)
    support    for every installed model x backend x device kind x precision, one of
               ready        the backend runs that precision on that device and every file is here
               download     it would run, after fetching official files the cache lacks
               unavailable  with the plugin's own reason (``Backend.preflight``: the framework
                            is missing, the precision is unsupported on the device, no CUDA build;
                            or the workload's preflight)

Nothing is hard-coded: the backends answer through ``Backend.preflight`` and the workloads
through their ``preflight`` (the checks ``crowdperf run`` makes before anything runs). Detection
imports the frameworks (onnxruntime, torch, CUDA), so ``probe`` runs it in a child process
(``python -m crowdperf.hub.web.run_capabilities`` prints the JSON): the server process never
loads a framework or opens a GPU context.
"""

from __future__ import annotations

import json
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

from crowdperf import jsonio
from crowdperf.backends.registry import backend_names, get_backend
from crowdperf.errors import CrowdperfError, HubError, MissingInputError
from crowdperf.mlperf.rounds import Scenario
from crowdperf.mlperf.spec import Mode, RunSpec
from crowdperf.mlperf.workload import load_workload, workload_names, workload_ref
from crowdperf.precision import Precision
from crowdperf.settings import Settings, load_settings
from crowdperf.system import accelerators
from crowdperf.system.devices import DeviceKind, DeviceSelection
from crowdperf.system.inventory import HostInventory, host_inventory

READY, DOWNLOAD, UNAVAILABLE = "ready", "download", "unavailable"
PROBE_TIMEOUT_S = 180.0  # importing torch and initialising CUDA on a cold disk


@dataclass(frozen=True)
class DeviceOption:
    value: str  # what --device gets: "cpu", "cuda", "cuda:1"
    kind: str  # DeviceKind value
    label: str  # "cpu: AMD EPYC 7B13", "cuda:0: NVIDIA H200"


@dataclass(frozen=True)
class Support:
    model: str
    backend: str
    device: str  # DeviceKind value
    precision: str
    status: str  # READY | DOWNLOAD | UNAVAILABLE
    reason: str = ""  # why not ready: the plugin's message and fix


@dataclass(frozen=True)
class Capabilities:
    devices: tuple[DeviceOption, ...]
    support: tuple[Support, ...]

    def lookup(self, model: str, backend: str, device_kind: str, precision: str) -> Support | None:
        for s in self.support:
            if (s.model, s.backend, s.device, s.precision) == (model, backend, device_kind, precision):
                return s
        return None

    def _offered(self, attr: str) -> tuple[str, ...]:
        seen = [getattr(s, attr) for s in self.support if s.status != UNAVAILABLE]
        return tuple(dict.fromkeys(seen))

    @property
    def models(self) -> tuple[str, ...]:
        return self._offered("model")

    @property
    def backends(self) -> tuple[str, ...]:
        return self._offered("backend")

    @property
    def usable_devices(self) -> tuple[DeviceOption, ...]:
        """The devices something runs on: a GPU no installed backend can use (a CPU-only torch,
        onnxruntime without its CUDA provider) is detected but not offered."""
        kinds = set(self._offered("device"))
        return tuple(d for d in self.devices if d.kind in kinds)

    @property
    def precisions(self) -> tuple[str, ...]:
        offered = set(self._offered("precision"))
        return tuple(p.value for p in Precision if p.value in offered)

    def backend_table(self) -> list[tuple[str, str, str, str]]:
        """(backend, device kind, precision, "" or why not) for every combination, once per
        backend rather than per model: what the Run page's "what runs here" table shows."""
        rows: dict[tuple[str, str, str], str] = {}
        for s in self.support:
            key = (s.backend, s.device, s.precision)
            if s.status != UNAVAILABLE:
                rows[key] = ""
            elif key not in rows:
                rows[key] = s.reason
        return [(*k, why) for k, why in rows.items()]

    def to_json(self) -> str:
        return jsonio.dumps(jsonio.document("ui-capabilities", 1, self), indent=None)

    @classmethod
    def from_json(cls, text: str) -> Capabilities:
        data = json.loads(text)
        return cls(
            devices=tuple(DeviceOption(**d) for d in data["devices"]),
            support=tuple(Support(**s) for s in data["support"]),
        )


def _reason(exc: CrowdperfError) -> str:
    return exc.message + (f" (fix: {exc.hint})" if exc.hint else "")


def device_options(inventory: HostInventory) -> tuple[DeviceOption, ...]:
    """The CPU and every GPU CUDA sees (``cuda`` = all of them; ``cuda:N`` each, when several)."""
    options = [DeviceOption("cpu", DeviceKind.CPU.value, f"cpu: {inventory.cpu_model}")]
    gpus = accelerators.visible_gpus(inventory=inventory)
    if gpus:
        names = sorted({g.name for g in gpus})
        options.append(DeviceOption("cuda", DeviceKind.CUDA.value, f"cuda: {len(gpus)} x {', '.join(names)}"))
    if len(gpus) > 1:
        options += [DeviceOption(f"cuda:{g.ordinal}", DeviceKind.CUDA.value, f"cuda:{g.ordinal}: {g.name}")
                    for g in gpus]  # fmt: skip
    return tuple(options)


def _model_support(
    model: str, backend: str, kind: DeviceKind, precision: Precision, settings: Settings
) -> Support:
    """One model on one usable backend/device/precision: its workload's preflight, first without
    fetching anything, then (a missing official file) as ``--download`` would run it."""
    check = getattr(load_workload(workload_ref(model)), "preflight", None)

    def attempt(download: bool) -> None:
        if check is not None:
            spec = RunSpec(
                model=model, scenario=Scenario.OFFLINE, mode=Mode.PERFORMANCE, backend=backend,
                devices=DeviceSelection(kind), precision=precision, allow_download=download,
            )  # fmt: skip
            check(spec, settings)

    base = (model, backend, kind.value, precision.value)
    try:
        attempt(False)
        return Support(*base, READY)
    except MissingInputError as missing:
        try:
            attempt(True)
            return Support(*base, DOWNLOAD, missing.message)
        except CrowdperfError as exc:
            return Support(*base, UNAVAILABLE, _reason(exc))
    except CrowdperfError as exc:
        return Support(*base, UNAVAILABLE, _reason(exc))


def detect(settings: Settings | None = None, inventory: HostInventory | None = None) -> Capabilities:
    """Ask every installed backend and workload (in this process: ``probe`` runs it in a child)."""
    settings = settings or load_settings()
    devices = device_options(inventory or host_inventory())
    kinds = tuple(dict.fromkeys(DeviceKind(d.kind) for d in devices))
    support: list[Support] = []
    for backend in backend_names():
        for kind in kinds:
            for precision in Precision:
                try:
                    get_backend(backend).preflight(kind, precision)
                except CrowdperfError as exc:
                    why = _reason(exc)
                    support += [Support(m, backend, kind.value, precision.value, UNAVAILABLE, why)
                                for m in workload_names()]  # fmt: skip
                    continue
                support += [_model_support(m, backend, kind, precision, settings) for m in workload_names()]
    return Capabilities(devices, tuple(support))


def probe(timeout_s: float = PROBE_TIMEOUT_S, cwd: Path | None = None) -> Capabilities:
    """``detect`` in a child process (see the module docstring)."""
    argv = [sys.executable, "-m", "crowdperf.hub.web.run_capabilities"]
    try:
        done = subprocess.run(argv, capture_output=True, text=True, timeout=timeout_s, cwd=cwd, check=False)
    except subprocess.TimeoutExpired as exc:
        raise HubError(
            f"asking the backends what runs here took over {timeout_s:.0f} s",
            hint="see whether `crowdperf system describe` and `python -c 'import torch'` hang",
        ) from exc
    if done.returncode != 0:
        tail = done.stderr.strip().splitlines()[-3:]
        raise HubError(
            "asking the backends what runs here failed: " + " / ".join(tail),
            hint="run `python -m crowdperf.hub.web.run_capabilities` to see the whole error",
        )
    return Capabilities.from_json(done.stdout)


if __name__ == "__main__":
    sys.stdout.write(detect().to_json() + "\n")
