"""The command builder: a choice of model, backend, device, scenario and mode -> the exact
``crowdperf run`` command and its ``crowdperf cm run script --tags=generate-run-cmds,...`` form.

The CM form follows the input mapping of MLCommons' ``run-mlperf-inference-app`` script (tags
``run,generate-run-cmds,run-mlperf``): ``--model --implementation --device --backend --precision
--scenario --execution-mode --category --division``, with the mode chosen by a variation of the
``submission-generation`` group (``_find-performance``, ``_performance-only``, ``_accuracy-only``,
``_submission``) and ``_all-scenarios`` for every required scenario
(shared/reference/mlperf-bert-and-cm.md section 4.3).
"""

from __future__ import annotations

import shlex
from dataclasses import dataclass

from crowdperf.errors import UsageError

MODELS = ("bert-99", "bert-99.9")
BACKENDS = ("onnxruntime", "pytorch")
DEVICES = ("cpu", "cuda")
PRECISIONS = ("fp32", "fp16")
SCENARIOS = ("all", "Offline", "Server", "SingleStream", "MultiStream")
MODES = ("find-performance", "performance", "accuracy", "submission")
EXECUTION_MODES = ("test", "fast", "valid")
CATEGORIES = ("edge", "datacenter")
DIVISIONS = ("closed", "open")

# our mode -> the CM variation of the ``submission-generation`` group
_CM_MODE_VARIATION = {
    "find-performance": "_find-performance",
    "performance": "_performance-only",
    "accuracy": "_accuracy-only",
    "submission": "_submission",
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
        for name, allowed in _ALLOWED.items():
            value = getattr(self, name)
            if value not in allowed:
                raise UsageError(
                    f"{name} {value!r} is not one of {', '.join(allowed)}",
                    hint=f"pick {name} from: {', '.join(allowed)}",
                )


_ALLOWED: dict[str, tuple[str, ...]] = {
    "model": MODELS,
    "backend": BACKENDS,
    "device": DEVICES,
    "precision": PRECISIONS,
    "scenario": SCENARIOS,
    "mode": MODES,
    "execution_mode": EXECUTION_MODES,
    "category": CATEGORIES,
    "division": DIVISIONS,
}


def allowed_values() -> dict[str, tuple[str, ...]]:
    """Every field of RunChoice with its allowed values, in form order."""
    return dict(_ALLOWED)


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
    ]  # fmt: skip
    tags = ["run-mlperf", "inference", _CM_MODE_VARIATION[choice.mode]]
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
    cm += [
        f"--execution-mode={choice.execution_mode}",
        f"--category={choice.category}",
        f"--division={choice.division}",
    ]
    return BuiltCommands(run=shlex.join(run), cm=shlex.join(cm))
