"""Plugins: one mechanism, Python entry points, for every kind of thing crowdperf finds by name.

    group                 name (what users type)   value ("module:attr")
    crowdperf.workloads   --model bert-99           a workload definition (name, rules, lazy open)
    crowdperf.backends    --backend onnxruntime     a ``Backend`` class
    crowdperf.recipes     any                       a ``register(registry)`` function of recipes
    crowdperf.meters      nvml, rapl (chosen per run)   a power/energy ``Meter`` class

crowdperf's own workloads, backends and recipes are entry points in its pyproject.toml exactly like
a third-party package's, so the lists of choices (``run --help``, the hub's command builder, the CM
translation, the API) are whatever is installed. Entry points are package metadata: a new one
appears after the package is (re)installed (``pip install -e .``; scripts/test.sh and demo.sh do).

Tests (and notebooks) register in-process with ``register(group, name, "module:attr")``; such a
name wins over an installed one of the same name. Only the ``module:attr`` string is resolved, and
it is what the harness hands to the child process that runs a LoadGen test, so a registration made
in the parent works across that process boundary as long as the child can import the module.

A bottom module: it imports nothing of crowdperf but ``errors``, so any layer can list names.
"""

from __future__ import annotations

import importlib
import sys
from dataclasses import dataclass
from functools import lru_cache
from importlib.metadata import entry_points

from crowdperf.errors import BackendError, CrowdperfError, RecipeError, UsageError


@dataclass(frozen=True)
class PluginGroup:
    """One entry-point group and how its names are spoken of in messages."""

    name: str  # the entry-point group, e.g. "crowdperf.workloads"
    kind: str  # what one entry is called in messages: "model", "backend"
    option: str  # the command-line option that takes a name ("" when none does)
    load_error: type[CrowdperfError]  # raised when a registered entry cannot be imported


WORKLOADS = PluginGroup("crowdperf.workloads", "model", "--model", BackendError)
BACKENDS = PluginGroup("crowdperf.backends", "backend", "--backend", BackendError)
RECIPES = PluginGroup("crowdperf.recipes", "recipe plugin", "", RecipeError)
METERS = PluginGroup("crowdperf.meters", "meter", "", BackendError)

REINSTALL_HINT = "entry points are package metadata: after adding one, reinstall (pip install -e .)"

# group name -> {entry name -> "module:attr"}: in-process registrations (tests), win over installed
_registered: dict[str, dict[str, str]] = {}


def check_ref(ref: str) -> str:
    """``ref`` when it has the ``module:attr`` form, else a UsageError."""
    module, sep, attr = ref.partition(":")
    if not (module and sep and attr) or " " in ref:
        raise UsageError(f"plugin reference {ref!r} is not 'module:attr'")
    return ref


def register(group: PluginGroup, name: str, ref: str) -> None:
    """Register (or replace) ``name`` in ``group`` for this process: what a test does instead of
    installing a package with an entry point."""
    _registered.setdefault(group.name, {})[name] = check_ref(ref)


def unregister(group: PluginGroup, name: str) -> None:
    _registered.get(group.name, {}).pop(name, None)


@lru_cache(maxsize=16)
def _installed(group_name: str, search_path: tuple[str, ...]) -> tuple[tuple[str, str], ...]:
    """The entry points of ``group_name`` installed on ``search_path``. Scanning every package's
    metadata costs ~7 ms, and the hub asks per page (a static export per result), so the scan is
    cached per ``sys.path``: a package installed while a process runs appears after a restart."""
    return tuple((ep.name, ep.value.replace(" ", "")) for ep in entry_points(group=group_name))


def entries(group: PluginGroup) -> dict[str, str]:
    """Every name of ``group`` -> its ``module:attr``, sorted by name: the installed entry points,
    then this process's registrations over them."""
    found = dict(_installed(group.name, tuple(sys.path)))
    found.update(_registered.get(group.name, {}))
    return dict(sorted(found.items()))


def names(group: PluginGroup) -> tuple[str, ...]:
    return tuple(entries(group))


def unknown(group: PluginGroup, name: str, known: tuple[str, ...] | None = None) -> UsageError:
    """The error for a name ``group`` does not hold; it names the ones it does."""
    known = names(group) if known is None else known
    what = f"{group.option} {name!r}" if group.option else f"{group.kind} {name!r}"
    if not known:
        return UsageError(f"{what}: no {group.kind} is installed", hint=REINSTALL_HINT)
    return UsageError(f"{what} is not a known {group.kind}", hint=f"use one of: {', '.join(known)}")


def ref_of(group: PluginGroup, name: str) -> str:
    """The ``module:attr`` registered for ``name``, or a UsageError naming the known names."""
    table = entries(group)
    if name not in table:
        raise unknown(group, name, tuple(table))
    return table[name]


def resolve(ref: str, group: PluginGroup) -> object:
    """Import ``module:attr`` and return the attribute; the group's load error when it cannot."""
    module_name, _, attr = check_ref(ref).partition(":")
    try:
        obj: object = importlib.import_module(module_name)
        for part in attr.split("."):
            obj = getattr(obj, part)
    except (ImportError, AttributeError) as exc:
        raise group.load_error(
            f"{group.name} entry {ref!r} is not available ({exc})",
            hint="install what it needs, or reinstall the package that provides it",
        ) from exc
    return obj


def load(group: PluginGroup, name: str) -> object:
    """The object registered for ``name`` (a UsageError naming the known names when none is)."""
    return resolve(ref_of(group, name), group)
