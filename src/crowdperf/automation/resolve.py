"""``crowdperf get``: resolve a recipe, reuse a fresh cache entry or detect/install, record the result.

Order (CM's good idea kept: detect before install): cache hit -> detect -> install (when the recipe
can). ``--force`` skips the cache. Dependencies are resolved the same way first. An install runs in
a staging dir inside the cache and is renamed into place only when it succeeded, so an interrupted
install leaves neither an entry nor a half-filled dir that looks complete.
"""

from __future__ import annotations

import hashlib
import shutil
import tempfile
import time
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path

from crowdperf.automation.cache import ArtifactCache, CacheEntry
from crowdperf.automation.recipe import Artifact, Recipe, RecipeContext
from crowdperf.automation.registry import RecipeRegistry, TagQuery
from crowdperf.automation.versions import VersionConstraint
from crowdperf.errors import CrowdperfError, RecipeError
from crowdperf.settings import Settings


@dataclass(frozen=True)
class GetRequest:
    name: str | None = None
    tags: str | None = None  # "get,cuda,_toolkit"
    variations: tuple[str, ...] = ()
    constraint: VersionConstraint = field(default_factory=VersionConstraint)
    options: Mapping[str, str] = field(default_factory=dict)
    force: bool = False


@dataclass(frozen=True)
class GetResult:
    recipe: str
    artifact: Artifact
    action: str  # "cached" | "detected" | "installed"
    entry_id: int | None
    stale_removed: tuple[CacheEntry, ...] = ()
    deps: tuple[GetResult, ...] = ()

    @property
    def from_cache(self) -> bool:
        return self.action == "cached"

    def to_dict(self) -> dict[str, object]:
        return {
            "recipe": self.recipe,
            "action": self.action,
            "from_cache": self.from_cache,
            "entry_id": self.entry_id,
            "stale_removed": [e.to_dict() for e in self.stale_removed],
            "artifact": self.artifact.to_dict(),
            "deps": [d.to_dict() for d in self.deps],
        }


def _pick_recipe(registry: RecipeRegistry, request: GetRequest) -> tuple[Recipe, tuple[str, ...]]:
    variations = tuple(v.lstrip("_") for v in request.variations)
    if request.tags:
        query = TagQuery.parse(request.tags)
        recipe = registry.by_tags(query)
        return recipe, query.variations + variations
    if not request.name:
        raise RecipeError("name a recipe or give --tags", hint="e.g. crowdperf get cuda")
    return registry.by_name(request.name), variations


def cache_key(recipe: Recipe, variations: frozenset[str], inputs: Mapping[str, str]) -> str:
    text = recipe.name + "|" + ",".join(sorted(variations)) + "|" + repr(sorted(inputs.items()))
    return hashlib.sha256(text.encode()).hexdigest()[:16]


def get_artifact(registry: RecipeRegistry, request: GetRequest, settings: Settings) -> GetResult:
    recipe, requested = _pick_recipe(registry, request)
    recipe.check_options(request.options)
    variations = recipe.resolve_variations(requested)
    inputs = recipe.cache_inputs(request.options)
    cache = ArtifactCache(settings.cache_dir)
    recipe.precheck(settings)  # e.g. no NVIDIA driver: fail before any dependency is cached
    deps = _resolve_deps(registry, recipe, settings)
    if not recipe.cacheable:
        ctx = _context(settings, recipe, variations, request, deps, settings.cache_dir)
        artifact = _run(recipe, ctx, cache)
        return GetResult(recipe.name, artifact, "detected", None, (), tuple(deps.values()))
    key = cache_key(recipe, variations, inputs)
    entry = " ".join([recipe.name, *(f"_{v}" for v in sorted(variations))])
    with cache.key_lock(key, f"cache entry {entry}"):
        stale: list[CacheEntry] = []
        if not request.force:
            hit, stale = cache.lookup(recipe.name, variations, inputs, request.constraint)
            if hit is not None:
                return GetResult(
                    recipe.name, hit.artifact, "cached", hit.id, tuple(stale), tuple(deps.values())
                )
        ctx = _context(settings, recipe, variations, request, deps, settings.cache_dir)
        artifact, action = _detect_or_install(recipe, ctx, cache)
        entry_id = cache.put(recipe.name, variations, inputs, artifact)
        return GetResult(recipe.name, artifact, action, entry_id, tuple(stale), tuple(deps.values()))


def _resolve_deps(registry: RecipeRegistry, recipe: Recipe, settings: Settings) -> dict[str, GetResult]:
    results: dict[str, GetResult] = {}
    for dep in recipe.dependencies:
        try:
            results[dep.key] = get_artifact(registry, GetRequest(tags=",".join(dep.tags)), settings)
        except CrowdperfError:
            if not dep.optional:
                raise
    return results


def _context(
    settings: Settings,
    recipe: Recipe,
    variations: frozenset[str],
    request: GetRequest,
    deps: Mapping[str, GetResult],
    work_dir: Path,
) -> RecipeContext:
    return RecipeContext(
        settings=settings,
        variations=variations,
        constraint=request.constraint,
        options=dict(request.options),
        deps={k: v.artifact for k, v in deps.items()},
        work_dir=work_dir,
    )


def _run(recipe: Recipe, ctx: RecipeContext, cache: ArtifactCache) -> Artifact:
    return _detect_or_install(recipe, ctx, cache)[0]


def _detect_or_install(recipe: Recipe, ctx: RecipeContext, cache: ArtifactCache) -> tuple[Artifact, str]:
    if not recipe.prefers_install(ctx):
        try:
            return _checked(recipe, ctx, recipe.detect(ctx)), "detected"
        except CrowdperfError:
            if not recipe.can_install(ctx):
                raise
    return _checked(recipe, ctx, _staged_install(recipe, ctx, cache)), "installed"


def _checked(recipe: Recipe, ctx: RecipeContext, artifact: Artifact) -> Artifact:
    if not ctx.constraint.allows(artifact.version):
        raise RecipeError(
            f"{recipe.name} {artifact.version or '(unknown version)'} found, "
            f"but {ctx.constraint.describe()} was asked for",
            hint=_version_hint(recipe),
        )
    return artifact


def _version_hint(recipe: Recipe) -> str:
    if any(o.name == "tar_file" for o in recipe.options):
        return "install a matching version with --tar-file, or relax the version bounds"
    return "install a matching version, or relax the version bounds"


def _staged_install(recipe: Recipe, ctx: RecipeContext, cache: ArtifactCache) -> Artifact:
    """install() writes into a fresh ``installs/.staging-*`` dir; it is removed on any failure."""
    cache.installs_dir.mkdir(parents=True, exist_ok=True)
    _sweep_abandoned_staging(cache.installs_dir)
    staging = Path(tempfile.mkdtemp(prefix=f".staging-{recipe.name}-", dir=cache.installs_dir))
    try:
        return recipe.install(_with_work_dir(ctx, staging))
    finally:
        # A successful install renamed what it keeps out of the staging dir (see staged_final_dir).
        shutil.rmtree(staging, ignore_errors=True)


STAGING_MAX_AGE_S = 6 * 3600  # older staging dirs belong to a killed process (SIGKILL, power loss)


def _sweep_abandoned_staging(installs_dir: Path) -> None:
    now = time.time()
    for leftover in installs_dir.glob(".staging-*"):
        try:
            if now - leftover.stat().st_mtime > STAGING_MAX_AGE_S:
                shutil.rmtree(leftover, ignore_errors=True)
        except OSError:
            continue


def _with_work_dir(ctx: RecipeContext, work_dir: Path) -> RecipeContext:
    return RecipeContext(
        settings=ctx.settings,
        variations=ctx.variations,
        constraint=ctx.constraint,
        options=ctx.options,
        deps=ctx.deps,
        work_dir=work_dir,
    )


def promote(staged: Path, final: Path) -> Path:
    """Move a finished install from its staging dir to its final place (atomic rename)."""
    if final.exists():
        shutil.rmtree(final)
    final.parent.mkdir(parents=True, exist_ok=True)
    staged.rename(final)
    return final
