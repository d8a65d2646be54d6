"""The command builder: a choice of model, backend, device, scenario and mode -> the exact
``crowdperf run`` command and its ``crowdperf cm run script --tags=generate-run-cmds,...`` form.

The CM form follows the input mapping of MLCommons' ``run-mlperf-inference-app`` script (tags
``run,generate-run-cmds,run-mlperf``): ``--model --implementation --device --backend --precision
--scenario --execution-mode --category --division``, with the mode chosen by a variation of the
``submission-generation`` group (``_find-performance``, ``_performance-only``, ``_accuracy-only``,
``_all-modes``) or ``--mode=compliance``, and ``_all-scenarios`` for every required
scenario (shared/reference/mlperf-bert-and-cm.md section 4.3).

Every choice is one ``crowdperf run`` accepts: models and backends are whatever the installed
workload and backend plugins register (``crowdperf.plugins``, read at each request), the rest come
from the enums ``crowdperf run`` parses.
"""

from __future__ import annotations

import shlex
from dataclasses import dataclass

from crowdperf.backends.registry import backend_names
from crowdperf.errors import UsageError
from crowdperf.mlperf.rounds import Category, Scenario
from crowdperf.mlperf.spec import ExecutionMode, Mode
from crowdperf.mlperf.workload import workload_names
from crowdperf.precision import Precision
from crowdperf.system.devices import DeviceKind

DEVICES = tuple(d.value for d in DeviceKind)
PRECISIONS = tuple(p.value for p in Precision)
SCENARIOS = ("all", *(s.value for s in Scenario))
MODES = (*(m.value for m in Mode), "all")
EXECUTION_MODES = tuple(e.value for e in ExecutionMode)
CATEGORIES = tuple(c.value for c in Category)
DIVISIONS = ("closed", "open")

# our mode -> the CM variation of the ``submission-generation`` group (compliance has none: a flag)
_CM_MODE_VARIATION = {
    "find-performance": "_find-performance",
    "performance": "_performance-only",
    "accuracy": "_accuracy-only",
    "all": "_all-modes",
}


@dataclass(frozen=True)
class RunChoice:
    """What the user picked on the command-builder page (all values validated)."""

    model: str = "bert-99"
    backend: str = "onnxruntime"
    device: str = "cpu"
    precision: str = "fp32"
    scenario: str = "Offline"
    mode: str = "performance"
    execution_mode: str = "test"
    category: str = "edge"
    division: str = "open"

    def __post_init__(self) -> None:
        for name, allowed in allowed_values().items():
            value = getattr(self, name)
            if value not in allowed:
                raise UsageError(
                    f"{name} {value!r} is not one of {', '.join(allowed)}",
                    hint=f"pick {name} from: {', '.join(allowed)}",
                )


_FIXED: dict[str, tuple[str, ...]] = {
    "device": DEVICES,
    "precision": PRECISIONS,
    "scenario": SCENARIOS,
    "mode": MODES,
    "execution_mode": EXECUTION_MODES,
    "category": CATEGORIES,
    "division": DIVISIONS,
}


def allowed_values() -> dict[str, tuple[str, ...]]:
    """Every field of RunChoice with its allowed values, in form order (models and backends: the
    installed plugins, now)."""
    return {"model": workload_names(), "backend": backend_names(), **_FIXED}


@dataclass(frozen=True)
class BuiltCommands:
    run: str
    cm: str


def build_commands(choice: RunChoice) -> BuiltCommands:
    """The two equivalent command lines for one choice."""
    run = [
        "crowdperf", "run",
        "--model", choice.model,
        "--backend", choice.backend,
        "--device", choice.device,
        "--precision", choice.precision,
        "--scenario", choice.scenario,
        "--mode", choice.mode,
        "--execution-mode", choice.execution_mode,
        "--category", choice.category,
        "--download",  # the official files when the cache lacks them (as CM's app fetches them)
    ]  # fmt: skip
    tags = ["run-mlperf", "inference"]
    if choice.mode in _CM_MODE_VARIATION:
        tags.append(_CM_MODE_VARIATION[choice.mode])
    if choice.scenario == "all":
        tags.append("_all-scenarios")
    cm = [
        "crowdperf", "cm", "run", "script",
        "--tags=generate-run-cmds," + ",".join(tags),
        f"--model={choice.model}",
        "--implementation=reference",
        f"--backend={choice.backend}",
        f"--device={choice.device}",
        f"--precision={choice.precision}",
    ]  # fmt: skip
    if choice.scenario != "all":
        cm.append(f"--scenario={choice.scenario}")
    if choice.mode not in _CM_MODE_VARIATION:
        cm.append(f"--mode={choice.mode}")
    cm += [
        f"--execution-mode={choice.execution_mode}",
        f"--category={choice.category}",
        f"--division={choice.division}",
    ]
    return BuiltCommands(run=shlex.join(run), cm=shlex.join(cm))
