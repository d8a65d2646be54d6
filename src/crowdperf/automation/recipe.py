"""The recipe model: what a recipe declares, what it receives, what it returns.

A :class:`Recipe` names itself, declares tags (for lookup), variation groups (named option sets,
exclusive within a group, one default), options it accepts (``--tar-file``, ``--name`` ...) and
dependencies as tag queries. ``detect()`` finds the thing on this machine; ``install()`` (optional)
puts it into the cache. Both return a typed :class:`Artifact` or raise a ``CrowdperfError``.
"""

from __future__ import annotations

import json
from abc import ABC, abstractmethod
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, ClassVar

from crowdperf.automation.versions import VersionConstraint
from crowdperf.errors import RecipeError, UsageError
from crowdperf.settings import Settings

JsonValue = Any  # metadata values: str, int, float, bool, None, lists and dicts of those


@dataclass(frozen=True)
class Artifact:
    """What a recipe found or installed. ``paths`` must all exist for a cached entry to be used."""

    name: str
    version: str | None
    paths: Mapping[str, Path]
    tags: tuple[str, ...] = ()
    variations: tuple[str, ...] = ()
    metadata: Mapping[str, JsonValue] = field(default_factory=dict)
    source: str = "system"  # where it came from: system, pip, cache-install, nvml ...

    def missing_paths(self) -> list[Path]:
        return [p for p in self.paths.values() if not Path(p).exists()]

    def to_dict(self) -> dict[str, JsonValue]:
        return {
            "name": self.name,
            "version": self.version,
            "paths": {k: str(v) for k, v in self.paths.items()},
            "tags": list(self.tags),
            "variations": list(self.variations),
            "metadata": dict(self.metadata),
            "source": self.source,
        }

    @classmethod
    def from_dict(cls, data: Mapping[str, JsonValue]) -> Artifact:
        return cls(
            name=str(data["name"]),
            version=data.get("version"),
            paths={k: Path(v) for k, v in dict(data.get("paths", {})).items()},
            tags=tuple(data.get("tags", ())),
            variations=tuple(data.get("variations", ())),
            metadata=dict(data.get("metadata", {})),
            source=str(data.get("source", "system")),
        )

    def to_json(self) -> str:
        return json.dumps(self.to_dict())


@dataclass(frozen=True)
class VariationGroup:
    """Named option sets; ``exclusive`` groups allow one choice (``default`` when none given)."""

    name: str
    choices: tuple[str, ...]
    default: str | None = None
    exclusive: bool = True


@dataclass(frozen=True)
class Dependency:
    """Another recipe this one needs, found by tags (``get,cuda,_toolkit``); ``optional`` ones
    may fail without failing this recipe."""

    tags: tuple[str, ...]
    key: str
    optional: bool = False


@dataclass(frozen=True)
class RecipeOption:
    """An input the recipe accepts; part of the cache key when ``in_cache_key``."""

    name: str  # e.g. "tar_file" (CLI: --tar-file)
    help: str
    in_cache_key: bool = True
    is_path: bool = False
    is_flag: bool = False


@dataclass(frozen=True)
class RecipeContext:
    """Everything a recipe's detect/install receives. No environment variables."""

    settings: Settings
    variations: frozenset[str]
    constraint: VersionConstraint
    options: Mapping[str, str]
    deps: Mapping[str, Artifact]
    work_dir: Path  # install staging dir (a fresh temp dir inside the cache; renamed by the caller)

    def option(self, name: str) -> str | None:
        return self.options.get(name)

    def flag(self, name: str) -> bool:
        return self.options.get(name, "").lower() in {"1", "true", "yes", "on"}


class Recipe(ABC):
    """Subclass, set the class attributes, implement detect() and optionally install()."""

    name: ClassVar[str]
    tags: ClassVar[frozenset[str]]
    summary: ClassVar[str] = ""
    variation_groups: ClassVar[tuple[VariationGroup, ...]] = ()
    options: ClassVar[tuple[RecipeOption, ...]] = ()
    dependencies: ClassVar[tuple[Dependency, ...]] = ()
    cacheable: ClassVar[bool] = True

    @abstractmethod
    def detect(self, ctx: RecipeContext) -> Artifact:
        """Find the artifact on this machine or raise RecipeError/DeviceError saying what is missing."""

    def precheck(self, settings: Settings) -> None:
        """Fail fast (before dependencies are resolved and cached) when this cannot work here."""
        return None

    def can_install(self, ctx: RecipeContext) -> bool:
        """True when install() has what it needs (e.g. a --tar-file)."""
        return False

    def prefers_install(self, ctx: RecipeContext) -> bool:
        """True when the inputs ask for an install rather than a detection (e.g. --tar-file given)."""
        return False

    def install(self, ctx: RecipeContext) -> Artifact:
        raise RecipeError(f"recipe {self.name} cannot install; it only detects")

    # -- helpers shared by every recipe ---------------------------------------------------------
    def all_tags(self) -> frozenset[str]:
        return self.tags | {self.name}

    def resolve_variations(self, requested: tuple[str, ...]) -> frozenset[str]:
        """Validate requested variations (without leading '_') and add group defaults."""
        known = {c: g for g in self.variation_groups for c in g.choices}
        unknown = [v for v in requested if v not in known]
        if unknown:
            choices = ", ".join(sorted(known)) or "none"
            raise UsageError(
                f"recipe {self.name} has no variation {', '.join('_' + v for v in unknown)}",
                hint=f"variations of {self.name}: {choices}",
            )
        chosen = set(requested)
        for group in self.variation_groups:
            picked = [c for c in group.choices if c in chosen]
            if group.exclusive and len(picked) > 1:
                raise UsageError(f"variations {', '.join(picked)} of {self.name} exclude each other")
            if not picked and group.default:
                chosen.add(group.default)
        return frozenset(chosen)

    def check_options(self, options: Mapping[str, str]) -> None:
        known = {o.name for o in self.options}
        unknown = sorted(set(options) - known)
        if unknown:
            raise UsageError(
                f"recipe {self.name} takes no option "
                + ", ".join("--" + u.replace("_", "-") for u in unknown),
                hint="options: " + (", ".join("--" + k.replace("_", "-") for k in sorted(known)) or "none"),
            )

    def cache_inputs(self, options: Mapping[str, str]) -> dict[str, str]:
        keyed = {o.name: o for o in self.options if o.in_cache_key}
        out: dict[str, str] = {}
        for key, value in options.items():
            if key in keyed:
                out[key] = str(Path(value).expanduser().resolve()) if keyed[key].is_path else value
        return out
