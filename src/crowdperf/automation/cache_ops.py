"""Library side of ``crowdperf cache show|find|rm``: typed results, no printing."""

from __future__ import annotations

import shutil
from dataclasses import dataclass
from pathlib import Path

from crowdperf.automation.cache import ArtifactCache, CacheEntry
from crowdperf.automation.registry import TagQuery
from crowdperf.errors import UsageError
from crowdperf.settings import Settings


def _tags(tags: str | None) -> frozenset[str]:
    if not tags:
        return frozenset()
    query = TagQuery.parse(tags)
    return query.tags | {"_" + v for v in query.variations}


def show_entries(settings: Settings, tags: str | None = None) -> list[CacheEntry]:
    """Entries whose tags include ``tags`` (``get`` is implied), stale ones included and flagged."""
    wanted = _tags(tags) - {"get", "install"}
    return ArtifactCache(settings.cache_dir).entries(wanted)


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
