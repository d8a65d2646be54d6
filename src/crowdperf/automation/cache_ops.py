"""Library side of ``crowdperf cache show|find|rm``: typed results, no printing."""

from __future__ import annotations

import shutil
from dataclasses import dataclass
from pathlib import Path

from crowdperf.automation.cache import ArtifactCache, CacheEntry
from crowdperf.automation.registry import TagQuery, load_registry
from crowdperf.errors import MissingInputError, UsageError
from crowdperf.settings import Settings

IMPLIED_TAGS = frozenset({"get", "install"})  # CM's verbs: every entry matches them


def _tags(tags: str | None) -> frozenset[str]:
    if not tags:
        return frozenset()
    query = TagQuery.parse(tags)
    return query.tags | {"_" + v for v in query.variations}


def known_tags(entries: list[CacheEntry]) -> frozenset[str]:
    """Every tag a filter may name: each recipe's name, tags and ``_variations`` (installed
    recipes), and the tags of the entries the cache holds (a plugin may be gone since)."""
    known = set(IMPLIED_TAGS)
    for recipe in load_registry().recipes():
        known |= recipe.all_tags() | {"_" + c for g in recipe.variation_groups for c in g.choices}
    for entry in entries:
        known |= entry.tags
    return frozenset(known)


def show_entries(settings: Settings, tags: str | None = None) -> list[CacheEntry]:
    """Entries whose tags include ``tags`` (``get`` is implied), stale ones included and flagged.
    A tag no recipe and no entry has is a UsageError (a typo would otherwise list nothing)."""
    wanted = _tags(tags) - IMPLIED_TAGS
    everything = ArtifactCache(settings.cache_dir).entries()
    unknown = wanted - known_tags(everything)
    if unknown:
        raise UsageError(
            f"unknown cache tag{'s' if len(unknown) > 1 else ''}: {', '.join(sorted(unknown))}",
            hint="see the tags of `crowdperf get --list` or `crowdperf cache show`",
        )
    return [e for e in everything if wanted <= e.tags]


SHOW_HINT = "`crowdperf cache show` lists the entries and their tags"


def find_paths(settings: Settings, tags: str | None = None) -> list[Path]:
    """The main path of each matching entry; MissingInputError when none matches (a script that
    asks for a path must not go on with nothing)."""
    paths = [
        Path(p) for e in show_entries(settings, tags) if (p := next(iter(e.artifact.paths.values()), None))
    ]
    if not paths:
        what = f"with the tags {tags}" if tags else "at all"
        raise MissingInputError(f"no cache entry {what}", hint=SHOW_HINT)
    return paths


@dataclass(frozen=True)
class RemoveResult:
    removed: tuple[CacheEntry, ...]
    deleted_dirs: tuple[Path, ...]


def remove_entries(settings: Settings, tags: str | None = None, *, everything: bool = False) -> RemoveResult:
    """Remove matching entries, and the files the cache itself installed for them."""
    if not tags and not everything:
        raise UsageError("say which entries to remove", hint="--tags get,cuda or --all")
    cache = ArtifactCache(settings.cache_dir)
    entries = cache.entries() if everything else show_entries(settings, tags)
    if not entries and not everything:  # asked to remove something that is not there
        raise MissingInputError(f"no cache entry has the tags {tags}; nothing was removed", hint=SHOW_HINT)
    cache.remove([e.id for e in entries])
    deleted = []
    for entry in entries:
        if entry.artifact.source != "cache-install":
            continue
        for path in entry.artifact.paths.values():
            top = _top_under(Path(path), settings.cache_dir)
            if top is not None and top.exists():
                shutil.rmtree(top, ignore_errors=True)
                deleted.append(top)
    return RemoveResult(tuple(entries), tuple(dict.fromkeys(deleted)))


def _top_under(path: Path, cache_dir: Path) -> Path | None:
    """installs/<x> or venvs/<x> that holds ``path``; None for anything outside those."""
    try:
        rel = path.resolve().relative_to(cache_dir.resolve())
    except ValueError:
        return None
    if len(rel.parts) >= 2 and rel.parts[0] in {"installs", "venvs"}:
        return cache_dir / rel.parts[0] / rel.parts[1]
    return None
