"""The Run page's form: what a user may pick (only what runs here: ``run_capabilities``), the
check of a submitted form, and the ``crowdperf run`` arguments it becomes.

Every value of a launch is one of the offered values or a bounded integer: no free text reaches
the child's command line, which is an argument list (no shell). Where the results go, where the
events are written and which Python runs it are the server's (``local_runner``), never the form's.
"""

from __future__ import annotations

import shlex
from collections.abc import Mapping
from dataclasses import dataclass

from crowdperf.errors import UsageError
from crowdperf.hub.web.command_builder import (
    CATEGORIES,
    DIVISIONS,
    EXECUTION_MODES,
    MODES,
    SCENARIOS,
    BuiltCommands,
    RunChoice,
    build_commands,
)
from crowdperf.hub.web.run_capabilities import DOWNLOAD, UNAVAILABLE, Capabilities
from crowdperf.mlperf.spec import MAX_COUNT

# the default tiny run of `crowdperf run` (docs/architecture.md)
DEFAULTS = {
    "model": "tiny", "backend": "onnxruntime", "device": "cpu", "precision": "fp32", "scenario": "all",
    "mode": "all", "execution_mode": "test", "category": "edge", "division": "open",
}  # fmt: skip
FIXED: dict[str, tuple[str, ...]] = {
    "scenario": SCENARIOS,
    "mode": MODES,
    "execution_mode": EXECUTION_MODES,
    "category": CATEGORIES,
    "division": DIVISIONS,
}


@dataclass(frozen=True)
class LaunchChoice:
    """A checked launch: each value offered by ``form_choices``."""

    model: str
    backend: str
    device: str  # "cpu", "cuda", "cuda:N"
    precision: str
    scenario: str
    mode: str
    execution_mode: str
    category: str
    division: str
    count: int | None = None  # --count: cap on distinct samples (a quick look)
    download: bool = False  # --download: fetch the official files the cache lacks

    @property
    def device_kind(self) -> str:
        return self.device.partition(":")[0]

    @property
    def importable(self) -> bool:
        """The hub takes a scenario with both its runs (accuracy + performance): ``mode all``."""
        return self.mode == "all"

    def run_args(self) -> list[str]:
        """``crowdperf run``'s arguments (without the server's --results-dir, --json, --events-file)."""
        args = ["run", "--model", self.model, "--backend", self.backend, "--device", self.device,
                "--precision", self.precision, "--scenario", self.scenario, "--mode", self.mode,
                "--execution-mode", self.execution_mode, "--category", self.category]  # fmt: skip
        if self.count is not None:
            args += ["--count", str(self.count)]
        if self.download:
            args.append("--download")
        return args

    def commands(self) -> BuiltCommands:
        """The command builder's two lines for this choice (its device kind: cuda:N is cuda there)."""
        return build_commands(
            RunChoice(
                model=self.model, backend=self.backend, device=self.device_kind, precision=self.precision,
                scenario=self.scenario, mode=self.mode, execution_mode=self.execution_mode,
                category=self.category, division=self.division,
            )
        )  # fmt: skip

    def summary(self) -> str:
        """``crowdperf run ...`` as the user would type it (results where the server puts them)."""
        return shlex.join(["crowdperf", *self.run_args()])


def form_choices(caps: Capabilities) -> dict[str, tuple[str, ...]]:
    """Each select of the form with its options, in form order."""
    return {
        "model": caps.models,
        "backend": caps.backends,
        "device": tuple(d.value for d in caps.usable_devices),
        "precision": caps.precisions,
        **FIXED,
    }


def _pick(form: Mapping[str, str], name: str, allowed: tuple[str, ...]) -> str:
    value = form.get(name) or DEFAULTS[name]
    if value not in allowed:
        raise UsageError(
            f"{name.replace('_', ' ')} {value[:60]!r} cannot run here",
            hint=f"pick one of: {', '.join(allowed) or '(none: nothing runs here)'}",
        )
    return value


def _count(text: str | None) -> int | None:
    if not text:
        return None
    if not text.isdigit() or not 1 <= int(text) <= MAX_COUNT:
        raise UsageError(f"samples {text[:20]!r} is not a whole number from 1 to {MAX_COUNT:,}")
    return int(text)


def parse_launch(form: Mapping[str, str], caps: Capabilities) -> LaunchChoice:
    """The checked choice of a submitted form; a UsageError for anything not offered here, or a
    combination its backend or workload refused (with their reason)."""
    picked = {name: _pick(form, name, allowed) for name, allowed in form_choices(caps).items()}
    choice = LaunchChoice(**picked, count=_count(form.get("count")), download=form.get("download") == "on")
    support = caps.lookup(choice.model, choice.backend, choice.device_kind, choice.precision)
    if support is None or support.status == UNAVAILABLE:
        raise UsageError(
            f"{choice.model} on {choice.backend} / {choice.device} / {choice.precision} cannot run here"
            + (f": {support.reason}" if support else ""),
            hint="pick a combination the table 'What runs here' marks as ready",
        )
    if support.status == DOWNLOAD and not choice.download:
        raise UsageError(
            f"{choice.model} needs official files this machine does not have yet: {support.reason}",
            hint="tick 'fetch missing files' to download them first (the model is ~1.3 GB), or pick tiny",
        )
    return choice
