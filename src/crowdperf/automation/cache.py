"""The artifact cache: one SQLite file under ``Settings.cache_dir``, guarded by a file lock.

Each distinct (recipe, variations, inputs, version) is one entry. Writes take the lock and run in
one SQLite transaction, so two processes never corrupt the store. Detecting or installing one
entry holds that entry's own lock (``key_lock``): a second ``crowdperf get`` of the same thing
waits for the first, saying on stderr which process it waits for, then finds its result in the
cache (no double install); other entries are not held up. A lock held past its bound is a
``BusyError`` naming the holder (crowdperf.locks). An entry whose paths vanished is
*stale*, and so is one whose files changed since it was recorded (size or modification time of each
path, e.g. torch upgraded in place): it is reported and removed, never returned as a hit.
"""

from __future__ import annotations

import json
import sqlite3
import time
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

from crowdperf.automation.recipe import Artifact
from crowdperf.automation.versions import VersionConstraint
from crowdperf.errors import RecipeError
from crowdperf.locks import exclusive

DB_WAIT_S = 120.0  # one transaction of another process: milliseconds, unless its disk hangs
INSTALL_WAIT_S = 3600.0  # another process installing the same entry (a CUDA toolkit: minutes)

SCHEMA = """
CREATE TABLE IF NOT EXISTS artifacts (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    recipe TEXT NOT NULL,
    variations TEXT NOT NULL,
    inputs TEXT NOT NULL,
    version TEXT NOT NULL,
    tags TEXT NOT NULL,
    artifact TEXT NOT NULL,
    fingerprint TEXT NOT NULL,
    created REAL NOT NULL,
    UNIQUE (recipe, variations, inputs, version)
)
"""


@dataclass(frozen=True)
class CacheEntry:
    id: int
    recipe: str
    variations: tuple[str, ...]
    inputs: Mapping[str, str]
    artifact: Artifact
    created: float
    fingerprint: Mapping[str, list[int]] = field(default_factory=dict)

    @property
    def tags(self) -> frozenset[str]:
        return frozenset(self.artifact.tags) | {self.recipe} | {"_" + v for v in self.variations}

    def changed_paths(self) -> list[Path]:
        """Paths whose (mtime_ns, size) differ from when the entry was recorded."""
        now = fingerprint(self.artifact)
        return [
            Path(self.artifact.paths[k])
            for k, v in self.fingerprint.items()
            if k in now and list(now[k]) != list(v)
        ]

    @property
    def stale(self) -> bool:
        return bool(self.artifact.missing_paths() or self.changed_paths())

    def stale_reason(self) -> str:
        missing, changed = self.artifact.missing_paths(), self.changed_paths()
        parts = [f"{p} vanished" for p in missing] + [f"{p} changed" for p in changed]
        return ", ".join(parts)

    def to_dict(self) -> dict[str, object]:
        return {
            "id": self.id,
            "recipe": self.recipe,
            "variations": list(self.variations),
            "inputs": dict(self.inputs),
            "version": self.artifact.version,
            "stale": self.stale,
            "missing_paths": [str(p) for p in self.artifact.missing_paths()],
            "changed_paths": [str(p) for p in self.changed_paths()],
            "created": self.created,
            "artifact": self.artifact.to_dict(),
        }


SCHEMA_VERSION = 2
COLUMNS = "id, recipe, variations, inputs, version, tags, artifact, fingerprint, created"


def _migrate(conn: sqlite3.Connection) -> None:
    """A cache written by another schema version is rebuilt: its entries are re-detected on use."""
    if conn.execute("PRAGMA user_version").fetchone()[0] != SCHEMA_VERSION:
        conn.execute("DROP TABLE IF EXISTS artifacts")
        conn.execute(SCHEMA)
        conn.execute(f"PRAGMA user_version = {SCHEMA_VERSION}")


def fingerprint(artifact: Artifact) -> dict[str, list[int]]:
    """(mtime_ns, size) of each existing path of the artifact."""
    out: dict[str, list[int]] = {}
    for key, path in artifact.paths.items():
        try:
            st = Path(path).stat()
        except OSError:
            continue
        out[key] = [st.st_mtime_ns, st.st_size]
    return out


def _canonical_inputs(inputs: Mapping[str, str]) -> str:
    return json.dumps(dict(sorted(inputs.items())), sort_keys=True)


class ArtifactCache:
    def __init__(self, cache_dir: Path) -> None:
        self.root = cache_dir
        self.db_path = cache_dir / "artifacts.sqlite"
        self.lock_path = cache_dir / "artifacts.lock"
        self.installs_dir = cache_dir / "installs"

    # -- plumbing ------------------------------------------------------------------------------
    @contextmanager
    def _connect(self, *, write: bool) -> Iterator[sqlite3.Connection]:
        try:
            self.root.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            raise RecipeError(f"cannot create the cache dir {self.root}: {exc.strerror}") from exc
        with exclusive(self.lock_path, f"the artifact cache {self.db_path}", wait_s=DB_WAIT_S):
            conn = sqlite3.connect(self.db_path, timeout=60, isolation_level=None)
            try:
                _migrate(conn)
                if write:
                    conn.execute("BEGIN IMMEDIATE")
                yield conn
                if write:
                    conn.execute("COMMIT")
            except BaseException:
                if write and conn.in_transaction:
                    conn.execute("ROLLBACK")
                raise
            finally:
                conn.close()

    @contextmanager
    def key_lock(self, key: str, what: str = "") -> Iterator[None]:
        """Serialises detect/install of one cache key across processes (no double installs);
        ``what`` names the entry in the waiting message ("cache entry cuda-stack")."""
        path = self.root / "locks" / f"{key}.lock"
        with exclusive(path, what or f"cache entry {key}", wait_s=INSTALL_WAIT_S):
            yield

    @staticmethod
    def _row_to_entry(row: tuple) -> CacheEntry:
        id_, recipe, variations, inputs, _version, _tags, artifact, prints, created = row
        return CacheEntry(
            id=id_,
            recipe=recipe,
            variations=tuple(v for v in variations.split(",") if v),
            inputs=json.loads(inputs),
            artifact=Artifact.from_dict(json.loads(artifact)),
            created=created,
            fingerprint=json.loads(prints),
        )

    # -- queries -------------------------------------------------------------------------------
    def entries(self, tags: frozenset[str] = frozenset()) -> list[CacheEntry]:
        """All entries whose tags (recipe name, artifact tags, ``_variation``s) include ``tags``."""
        if not self.db_path.exists():
            return []
        with self._connect(write=False) as conn:
            rows = conn.execute(f"SELECT {COLUMNS} FROM artifacts ORDER BY recipe, id").fetchall()
        entries = [self._row_to_entry(r) for r in rows]
        return [e for e in entries if tags <= e.tags]

    def lookup(
        self,
        recipe: str,
        variations: frozenset[str],
        inputs: Mapping[str, str],
        constraint: VersionConstraint,
    ) -> tuple[CacheEntry | None, list[CacheEntry]]:
        """(a usable entry or None, stale entries found and removed on the way)."""
        wanted_vars, wanted_inputs = ",".join(sorted(variations)), _canonical_inputs(inputs)
        candidates = [
            e
            for e in self.entries()
            if e.recipe == recipe
            and ",".join(sorted(e.variations)) == wanted_vars
            and _canonical_inputs(e.inputs) == wanted_inputs
            and constraint.allows(e.artifact.version)
        ]
        stale = [e for e in candidates if e.stale]
        if stale:
            self.remove([e.id for e in stale])
        fresh = [e for e in candidates if not e.stale]
        return (fresh[-1] if fresh else None), stale

    # -- writes --------------------------------------------------------------------------------
    def put(
        self, recipe: str, variations: frozenset[str], inputs: Mapping[str, str], artifact: Artifact
    ) -> int:
        """Insert or replace the entry for this (recipe, variations, inputs, version)."""
        with self._connect(write=True) as conn:
            conn.execute(
                "DELETE FROM artifacts WHERE recipe=? AND variations=? AND inputs=? AND version=?",
                (recipe, ",".join(sorted(variations)), _canonical_inputs(inputs), artifact.version or ""),
            )
            cur = conn.execute(
                "INSERT INTO artifacts (recipe, variations, inputs, version, tags, artifact, fingerprint,"
                " created) VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
                (
                    recipe,
                    ",".join(sorted(variations)),
                    _canonical_inputs(inputs),
                    artifact.version or "",
                    ",".join(sorted(artifact.tags)),
                    artifact.to_json(),
                    json.dumps(fingerprint(artifact)),
                    time.time(),
                ),
            )
            return int(cur.lastrowid or 0)

    def remove(self, ids: list[int]) -> int:
        if not ids or not self.db_path.exists():
            return 0
        with self._connect(write=True) as conn:
            cur = conn.executemany("DELETE FROM artifacts WHERE id=?", [(i,) for i in ids])
            return cur.rowcount if cur.rowcount >= 0 else len(ids)

    def integrity_ok(self) -> bool:
        with self._connect(write=False) as conn:
            return conn.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
