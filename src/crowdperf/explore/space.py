"""The design space of an exploration: its axes, its points, and how a point becomes the
``RunSpec`` of the ``crowdperf run`` it stands for.

An axis is a ``RunSpec`` field. The well-known ones have their own option and take their values
from the registries when not given: ``--backends`` (default: every installed backend),
``--precisions`` (every precision crowdperf names), ``--devices`` (cpu), ``--batch-sizes`` and
``--threads`` (the harness's default). Any other ``RunSpec`` field of a plain type (int, float,
bool, str, an enum) is an axis too, through ``--axis NAME=V1,V2`` or a space file's ``axes:``,
so a field added to ``RunSpec`` later is explorable without a change here. Invalid combinations
are not filtered here: the backends refuse them when they load (docs/explore.md).

Each axis has a role that says what varying it costs and what a refusal means:

    stack   what a backend loads (backend, devices, precision, unknown fields): a backend that
            refuses a point refuses every point with the same stack values
    tuning  loaded with the backend but never a reason to refuse (threads)
    batch   applied per LoadGen test: the points of one group differ only in it and are
            screened by one child process (``mlperf/screening.py``)
"""

from __future__ import annotations

import itertools
import re
import typing
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, fields, replace
from enum import Enum, StrEnum
from typing import Any

from crowdperf.backends.registry import backend_names
from crowdperf.errors import UsageError
from crowdperf.mlperf.rounds import Category, Scenario
from crowdperf.mlperf.spec import ExecutionMode, Mode, RunSpec
from crowdperf.precision import Precision
from crowdperf.system.devices import DeviceSelection

DEFAULT = "default"  # an axis value meaning "the harness's own default" (None in the RunSpec)
MAX_POINTS = 10_000
# RunSpec fields that are the exploration's own, never an axis
NOT_AXES = frozenset(
    {"model", "scenario", "mode", "execution_mode", "round", "category", "targets", "count"}
    | {"results_dir", "paths", "allow_download"}
)


class AxisRole(StrEnum):
    STACK = "stack"
    TUNING = "tuning"
    BATCH = "batch"


@dataclass(frozen=True)
class Axis:
    """One explorable ``RunSpec`` field and how its values are read, checked and defaulted."""

    name: str  # the RunSpec field
    role: AxisRole
    parse: Callable[[str], Any]  # value text -> the field's value; UsageError when invalid
    defaults: Callable[[], tuple[str, ...]]  # the values when none are given (registries: now)
    option: str = ""  # explore's own option ("--backends"); "" = through --axis
    run_option: str = ""  # `crowdperf run`'s option for the reproduce command

    def canonical(self, text: str) -> str:
        """``text`` as every record spells it (``CUDA:0`` -> ``cuda:0``, ``08`` -> ``8``)."""
        return render(self.parse(text.strip()))


def render(value: Any) -> str:
    if value is None:
        return DEFAULT
    if isinstance(value, Enum):
        return str(value.value)
    return str(value).lower() if isinstance(value, bool) else str(value)


def _choice(name: str, known: Callable[[], Sequence[str]]) -> Callable[[str], str]:
    def parse(text: str) -> str:
        names = tuple(known())
        if text not in names:
            raise UsageError(f"{name} {text!r} is not one of: {', '.join(names)}")
        return text

    return parse


def _precision(text: str) -> Precision:
    try:
        return Precision(text.lower())
    except ValueError:
        raise UsageError(
            f"precision {text!r} is not one of: {', '.join(p.value for p in Precision)}"
        ) from None


def _optional(convert: Callable[[str], Any], name: str) -> Callable[[str], Any]:
    def parse(text: str) -> Any:
        if text.lower() == DEFAULT:
            return None
        try:
            return convert(text)
        except (ValueError, TypeError):
            raise UsageError(f"{name} value {text!r} is not a {convert.__name__} (or {DEFAULT})") from None

    return parse


def _bool(text: str) -> bool:
    if text.lower() not in ("true", "false"):
        raise ValueError(text)
    return text.lower() == "true"


def _enum(cls: type[Enum], name: str) -> Callable[[str], Enum]:
    def parse(text: str) -> Enum:
        try:
            return cls(text)
        except ValueError:
            raise UsageError(
                f"{name} {text!r} is not one of: {', '.join(str(m.value) for m in cls)}"
            ) from None

    return parse


def _default() -> tuple[str, ...]:
    return (DEFAULT,)


KNOWN_AXES: tuple[Axis, ...] = (
    Axis(
        "backend", AxisRole.STACK, _choice("backend", backend_names), backend_names, "--backends", "--backend"
    ),
    Axis("devices", AxisRole.STACK, DeviceSelection.parse, lambda: ("cpu",), "--devices", "--device"),
    Axis(
        "precision",
        AxisRole.STACK,
        _precision,
        lambda: tuple(p.value for p in Precision),
        "--precisions",
        "--precision",
    ),
    Axis(
        "batch_size", AxisRole.BATCH, _optional(int, "batch_size"), _default, "--batch-sizes", "--batch-size"
    ),
    Axis("threads", AxisRole.TUNING, _optional(int, "threads"), _default, "--threads", "--threads"),
)


def _generic_axis(name: str, hint: Any) -> Axis | None:
    """An axis for any other RunSpec field of a plain type; None for a structured one."""
    args = [a for a in typing.get_args(hint) if a is not type(None)] or [hint]
    if len(args) != 1:
        return None
    kind = args[0]
    run_option = "--" + name.replace("_", "-")
    if isinstance(kind, type) and issubclass(kind, Enum):
        return Axis(name, AxisRole.STACK, _optional(_enum(kind, name), name), _default, "", run_option)
    converters: dict[Any, Callable[[str], Any]] = {int: int, float: float, bool: _bool, str: str}
    if kind not in converters:
        return None
    return Axis(name, AxisRole.STACK, _optional(converters[kind], name), _default, "", run_option)


def all_axes() -> dict[str, Axis]:
    """Every explorable field, the well-known ones first (read from ``RunSpec`` now)."""
    axes = {a.name: a for a in KNOWN_AXES}
    hints = typing.get_type_hints(RunSpec)
    for f in fields(RunSpec):
        if f.name in axes or f.name in NOT_AXES:
            continue
        axis = _generic_axis(f.name, hints[f.name])
        if axis is not None:
            axes[f.name] = axis
    return axes


def axis_named(name: str) -> Axis:
    axes = all_axes()
    key = name.strip().replace("-", "_")
    if key not in axes:
        raise UsageError(
            f"--axis {name!r} is not an explorable setting", hint=f"use one of: {', '.join(axes)}"
        )
    return axes[key]


@dataclass(frozen=True)
class Point:
    """One configuration: a value (canonical text) for every axis of the space, in its order."""

    values: tuple[tuple[str, str], ...]

    @property
    def key(self) -> str:
        """Its name in the journal and everywhere else: ``backend=onnxruntime devices=cpu ...``."""
        return " ".join(f"{k}={v}" for k, v in self.values)

    @property
    def slug(self) -> str:
        """A directory name: ``onnxruntime-cpu-fp32-batch_size8-threads2``."""
        parts = [v if k in ("backend", "devices", "precision") else f"{k}{v}" for k, v in self.values]
        return re.sub(r"[^A-Za-z0-9_.]+", "-", "-".join(parts)).strip("-")[:120]

    @property
    def tuning_slug(self) -> str:
        """The part of the slug that a results ``<system>`` name lacks (it already names the
        backend, device and precision): ``batch_size8-threads2``."""
        skip = ("backend", "devices", "precision")
        parts = [f"{k}{v}" for k, v in self.values if k not in skip and v != DEFAULT]
        return re.sub(r"[^A-Za-z0-9_.]+", "-", "-".join(parts)).strip("-")[:60]

    def value(self, axis: str) -> str:
        return dict(self.values)[axis]

    def _key_of(self, roles: tuple[AxisRole, ...]) -> str:
        axes = all_axes()
        return " ".join(f"{k}={v}" for k, v in self.values if axes[k].role in roles)

    @property
    def stack_key(self) -> str:
        """The points a backend's refusal of this one applies to share this."""
        return self._key_of((AxisRole.STACK,))

    @property
    def group_key(self) -> str:
        """The points screened together (one child) share this: all but the batch size."""
        return self._key_of((AxisRole.STACK, AxisRole.TUNING))

    def run_spec(self, base: RunSpec) -> RunSpec:
        axes = all_axes()
        return replace(base, **{k: axes[k].parse(v) for k, v in self.values})

    def run_options(self) -> list[str]:
        """The ``crowdperf run`` options that set this point (defaults left out)."""
        axes = all_axes()
        out: list[str] = []
        for k, v in self.values:
            if v != DEFAULT:
                out += [axes[k].run_option, v]
        return out


@dataclass(frozen=True)
class AxisValues:
    axis: str
    values: tuple[str, ...]  # canonical, distinct, in the order given


@dataclass(frozen=True)
class Space:
    """What an exploration covers. Its ``identity`` is written once in the journal: a rerun into
    the same directory must describe the same space."""

    model: str
    scenario: Scenario
    axes: tuple[AxisValues, ...]
    category: Category = Category.EDGE
    execution_mode: ExecutionMode = ExecutionMode.TEST
    round: str = ""

    def __post_init__(self) -> None:
        size = 1
        for a in self.axes:
            if not a.values:
                raise UsageError(f"the {a.axis} axis has no value")
            size *= len(a.values)
        if size > MAX_POINTS:
            raise UsageError(
                f"the space has {size:,} points, more than {MAX_POINTS:,}", hint="explore fewer values"
            )

    def identity(self) -> dict[str, Any]:
        return {
            "model": self.model,
            "scenario": self.scenario.value,
            "category": self.category.value,
            "execution_mode": self.execution_mode.value,
            "round": self.round,
            "axes": {a.axis: list(a.values) for a in self.axes},
        }

    def label(self, point: Point) -> str:
        """A point by the axes that vary in this space: ``pytorch bf16 batch_size=8``."""
        axes = all_axes()
        varying = {a.axis for a in self.axes if len(a.values) > 1}
        parts = [v if axes[k].role is AxisRole.STACK else f"{k}={v}" for k, v in point.values if k in varying]
        return " ".join(parts) or point.key

    def points(self) -> tuple[Point, ...]:
        """Every combination, in the order screening takes them: groups (all but the batch size)
        round-robin over stacks, so that a budget cut short still saw every stack early."""
        names = [a.axis for a in self.axes]
        every = [
            Point(tuple(zip(names, combo, strict=True)))
            for combo in itertools.product(*(a.values for a in self.axes))
        ]
        groups: dict[str, list[Point]] = {}
        for p in every:
            groups.setdefault(p.group_key, []).append(p)
        by_stack: dict[str, list[list[Point]]] = {}
        for members in groups.values():
            by_stack.setdefault(members[0].stack_key, []).append(members)
        ordered: list[Point] = []
        for round_ in itertools.zip_longest(*by_stack.values()):
            for members in round_:
                ordered += members or []
        return tuple(ordered)


def build_space(
    model: str,
    scenario: Scenario,
    given: Mapping[str, Sequence[str] | None],
    *,
    category: Category = Category.EDGE,
    execution_mode: ExecutionMode = ExecutionMode.TEST,
    round_name: str = "",
) -> Space:
    """``given``: axis name -> its values as text (None or absent: the axis's defaults). The
    well-known axes are always part of the space; another only when given."""
    axes = all_axes()
    unknown = [name for name in given if name not in axes]
    if unknown:
        raise UsageError(
            f"{unknown[0]!r} is not an explorable setting", hint=f"use one of: {', '.join(axes)}"
        )
    chosen = [a for a in axes.values() if a.option or given.get(a.name) is not None]
    out = []
    for axis in chosen:
        texts = given.get(axis.name)
        raw = axis.defaults() if texts is None else tuple(texts)
        values = tuple(dict.fromkeys(axis.canonical(t) for t in raw if t.strip()))
        probe = RunSpec(model, scenario, Mode.PERFORMANCE)
        for v in values:  # RunSpec's own bounds (batch size >= 1, ...) now, not at the first run
            replace(probe, **{axis.name: axis.parse(v)})
        out.append(AxisValues(axis.name, values))
    return Space(model, scenario, tuple(out), category, execution_mode, round_name)


def split_list(text: str | None) -> list[str] | None:
    """``"a,b, c"`` -> ``["a", "b", "c"]``; None stays None (the axis's defaults)."""
    if text is None:
        return None
    return [part.strip() for part in text.split(",") if part.strip()]


def split_devices(text: str | None) -> list[str] | None:
    """As ``split_list``, keeping the indices of one multi-GPU device together:
    ``"cpu,cuda:0,1,cuda:2"`` -> ``["cpu", "cuda:0,1", "cuda:2"]``."""
    parts = split_list(text)
    if parts is None:
        return None
    out: list[str] = []
    for part in parts:
        if part.isdigit() and out and ":" in out[-1]:
            out[-1] += f",{part}"
        else:
            out.append(part)
    return out
