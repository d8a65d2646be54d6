"""``crowdperf hub import``: MLPerf submission trees (ours, v5.x and v6.x layouts, and the official
``inference_results_vX.Y`` repositories) -> rows in the hub database.

    report = import_tree(store, "inference_results_v4.0/", source="mlcommons")
    report = import_tree(store, "file:///srv/results.git")          # cloned with git first

Every result directory ends up as exactly one of: imported, updated (stored before the hub read
power.json or provenance.json: the row takes what the hub reads from that file and its new hash),
unchanged (its content hash is already stored: re-importing is idempotent, from any folder of the
tree, and a second importer running at the same time finds the rows the first stored) or failed
(recorded in ``import_failures`` with a reason that names the file inside the tree; one bad result
never stops the others). What may be stored is decided by ``row_checks``: finite, plausible
numbers; text without NUL.
"""

from __future__ import annotations

import hashlib
import re
import shutil
import tempfile
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from sqlalchemy import select

from crowdperf.errors import CrowdperfError, HubError, MissingInputError, ResultsError, UsageError
from crowdperf.gitcmd import git
from crowdperf.hub.import_writer import (
    READ_LATER,
    adopt_unread_row,
    insert_failures,
    insert_results,
    legacy_rows,
    rekey_legacy,
    unread_paths,
)
from crowdperf.hub.models import ImportFailure, Result
from crowdperf.hub.power_import import SPL
from crowdperf.hub.result_parser import ResultDir, parse_result
from crowdperf.hub.row_checks import check_row, text_problem
from crowdperf.hub.store import Store
from crowdperf.meters.record import POWER_JSON
from crowdperf.mlperf.layout import PROVENANCE

BATCH = 500  # rows per INSERT ... executemany
_GIT_URL = re.compile(r"^(https?|ssh|git|file)://|^[\w.-]+@[\w.-]+:")

Progress = Callable[[int, int], None]  # (done, total)
_OUTSIDE_MLPERF = (POWER_JSON, PROVENANCE)  # crowdperf's own files beside LoadGen's logs


@dataclass(frozen=True)
class FailedResult:
    path: str
    reason: str


@dataclass(frozen=True)
class ImportReport:
    source: str
    root: str
    found: int
    imported: int
    unchanged: int
    failed: tuple[FailedResult, ...]
    seconds: float
    updated: int = 0  # stored before the hub read power.json: now with the power of its power.json

    @property
    def results_per_second(self) -> float:
        return self.found / self.seconds if self.seconds > 0 else 0.0


def is_git_url(target: str) -> bool:
    return bool(_GIT_URL.match(target)) or (target.endswith(".git") and not Path(target).exists())


@contextmanager
def _checkout(target: str) -> Iterator[Path]:
    """A local directory for ``target``: itself, or a shallow git clone removed afterwards."""
    if not is_git_url(target):
        path = Path(target).expanduser()
        if not path.is_dir():
            raise MissingInputError(f"no submission tree at {path}", hint="pass a directory or a git URL")
        yield path
        return
    tmp = Path(tempfile.mkdtemp(prefix="crowdperf-hub-clone-"))
    try:
        git(
            "clone", "--quiet", "--depth", "1", "--", target, str(tmp / "tree"),
            timeout_s=3600, error=HubError, hint="check the URL and that you can read the repository",
        )  # fmt: skip
        yield tmp / "tree"
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


def discover(root: Path) -> list[ResultDir]:
    """Every ``results/<system>/<model>/<scenario>`` directory of a tree (root = the tree, a
    division directory or a submitter directory)."""
    found = []
    for pattern in ("*/*/results", "*/results", "results"):
        for results in sorted(root.glob(pattern)):
            org = results.parent
            if not results.is_dir() or not (org / "systems").is_dir():
                continue
            for scen in sorted(results.glob("*/*/*")):
                if scen.is_dir() and not scen.name.startswith("."):
                    found.append(ResultDir(root, org, scen.parent.parent.name, scen.parent.name, scen.name))
        if found:
            break
    return found


def _read_files(where: ResultDir) -> tuple[str, Path | None]:
    """(content hash, the first file holding a NUL byte or None). The hash is sha256 over the
    result's canonical path and the bytes of the files it is built from; a file a tree lacks adds
    nothing, so a tree without provenance.json (every one made before the hub read it) keeps its
    hash. A NUL in power.json or provenance.json costs only what the hub reads from it (a file the
    hub cannot use gives null columns and a note: power_import, scheduling_import)."""
    h = hashlib.sha256(where.rel.encode())
    nul = None
    for f in where.hashed_files():
        data = f.read_bytes()
        h.update(b"\0" + f.name.encode() + b"\0")
        h.update(data)
        if nul is None and b"\0" in data and f.name not in _OUTSIDE_MLPERF:
            nul = f
    return h.hexdigest(), nul


def content_hash(where: ResultDir) -> str:
    return _read_files(where)[0]


def _scrub(text: str, where: ResultDir) -> str:
    """A reason as the submitter may see it: paths inside the tree, never the server's folders,
    and no NUL (the reason is stored too)."""
    base = str(where.base)
    return text.replace(base + "/", "").replace(base, ".").replace("\0", "\\x00")


def _files(where: ResultDir) -> dict[str, str]:
    """Role -> path inside the tree, for row_checks' messages."""
    measurements = where.measurement_files
    readme = where.readme()
    return {
        "detail": where.shown(where.perf_dir / "mlperf_log_detail.txt"),
        "summary": where.shown(where.perf_dir / "mlperf_log_summary.txt"),
        "accuracy": where.shown(where.accuracy_txt),
        "power": where.shown(where.perf_dir / (SPL if (where.perf_dir / SPL).is_file() else POWER_JSON)),
        "provenance": where.shown(where.perf_dir / PROVENANCE),
        "system": where.shown(where.system_json),
        "measurements": where.shown(measurements[0]) if measurements else "",
        "readme": where.shown(readme) if readme else "",
    }


_PARSE_ERRORS = (CrowdperfError, OSError, ValueError, KeyError, TypeError, ZeroDivisionError, OverflowError)


@dataclass(frozen=True)
class ImportOptions:
    source: str
    uploader: str | None
    checker_verdict: str
    round_hint: str


def _row(where: ResultDir, digest: str, nul: Path | None, opts: ImportOptions) -> dict[str, Any]:
    """The checked row of one result; ResultsError (or a parse error) when it cannot be stored."""
    readme = where.readme()  # not hashed, but its first crowdperf line is stored as the command
    if nul is None and readme is not None and b"\0" in readme.read_bytes():
        nul = readme
    if nul is not None:
        raise ResultsError(f"{where.shown(nul)}: contains a NUL byte")
    row = {
        **parse_result(where, round_hint=opts.round_hint),
        "content_hash": digest,
        "source": opts.source,
        "path": where.rel,
        "uploader": opts.uploader,
        "checker_verdict": opts.checker_verdict,
        "benchmark": "mlperf-inference",
        "hidden": False,
    }
    check_row(row, lambda: _files(where))
    return row


@dataclass
class _Batch:
    """What one import has read and not yet written, and its counts so far."""

    store: Store
    opts: ImportOptions
    known: set[str]
    known_failed: set[tuple[str, str]]
    legacy: dict[str, list[dict[str, Any]]]
    rows: list[dict[str, Any]] = field(default_factory=list)
    failures: list[dict[str, Any]] = field(default_factory=list)
    failed: list[FailedResult] = field(default_factory=list)
    imported: int = 0
    unchanged: int = 0
    updated: int = 0
    # READ_LATER's file -> unread_paths of it, loaded when first needed
    unread: dict[str, dict[str, list[int]]] = field(default_factory=dict)

    def fail(self, path: str, digest: str, reason: str) -> None:
        self.failed.append(FailedResult(path, reason))
        if (path, digest) not in self.known_failed:
            self.known_failed.add((path, digest))
            self.failures.append({
                "source": self.opts.source, "path": path, "content_hash": digest,
                "reason": reason[:4000], "uploader": self.opts.uploader,
            })  # fmt: skip

    def add(self, where: ResultDir) -> None:
        try:
            digest, nul = _read_files(where)
        except OSError as exc:
            digest = hashlib.sha256(where.rel.encode()).hexdigest()
            self.fail(where.rel, digest, _scrub(f"unreadable: {exc}", where))
            return
        if digest in self.known:
            self.unchanged += 1
            return
        try:
            row = _row(where, digest, nul, self.opts)
        except _PARSE_ERRORS as exc:
            self.fail(where.rel, digest, _scrub(f"{type(exc).__name__}: {exc}", where))
            return
        self.known.add(digest)
        if where.rel in self.legacy and rekey_legacy(self.store, self.legacy[where.rel], row):
            self.unchanged += 1
            return
        if self._adopted(where, row):
            self.updated += 1
            return
        self.rows.append(row)

    def _adopted(self, where: ResultDir, row: dict[str, Any]) -> bool:
        """A result with a power.json or provenance.json that was stored before the hub read that
        file (its hash left the file out; import_writer.READ_LATER) is that row, updated; never
        the same result twice."""
        for file in READ_LATER:
            if not (where.perf_dir / file).is_file():
                continue
            if file not in self.unread:
                self.unread[file] = unread_paths(self.store, self.opts.source, file)
            ids = self.unread[file].get(where.rel)
            if ids and adopt_unread_row(self.store, ids, row, file):
                return True
        return False

    def flush(self) -> None:
        inserted, refused = insert_results(self.store, self.rows)
        self.imported += len(inserted)
        # stored by another importer in the meantime: found, not added by us
        self.unchanged += len(self.rows) - len(inserted) - len(refused)
        by_path = {r["path"]: r["content_hash"] for r in self.rows}
        for path, reason in refused:
            self.fail(path, by_path[path], reason)
        insert_failures(self.store, self.failures)
        self.store.invalidate()
        self.rows.clear()
        self.failures.clear()


def _checked_text(name: str, value: str | None) -> None:
    problem = value and text_problem(name, value)
    if problem:
        raise UsageError(f"--{name}: {problem}")


def import_tree(
    store: Store,
    target: str | Path,
    *,
    source: str | None = None,
    round_name: str | None = None,
    uploader: str | None = None,
    checker_verdict: str = "unchecked",
    progress: Progress | None = None,
) -> ImportReport:
    """Import every result of the tree at ``target`` (a directory or a git URL)."""
    target = str(target)
    source = source or target
    _checked_text("source", source)
    _checked_text("uploader", uploader)
    started = time.perf_counter()
    with _checkout(target) as checkout:
        root = checkout.resolve()
        results = discover(root)
        if not results:
            raise HubError(
                f"no MLPerf results found under {target}",
                hint="expected <division>/<submitter>/{systems,results/<system>/<model>/<scenario>}",
            )
        # the round from the deepest folder name that has one (inference_results_v4.0/closed)
        hint = round_name or " ".join([target.rstrip("/").rsplit("/", 1)[-1], *reversed(root.parts)])
        opts = ImportOptions(source, uploader, checker_verdict, hint)
        with store.session() as s:
            known = set(s.scalars(select(Result.content_hash)))
            failed_query = select(ImportFailure.path, ImportFailure.content_hash)
            known_failed = {(p, h) for p, h in s.execute(failed_query.where(ImportFailure.source == source))}
        batch = _Batch(store, opts, known, known_failed, legacy_rows(store))
        for done, where in enumerate(results, 1):
            batch.add(where)
            if len(batch.rows) >= BATCH or len(batch.failures) >= BATCH:
                batch.flush()
            if progress:
                progress(done, len(results))
        batch.flush()
    return ImportReport(
        source=source,
        root=target,
        found=len(results),
        imported=batch.imported,
        unchanged=batch.unchanged,
        failed=tuple(batch.failed),
        seconds=time.perf_counter() - started,
        updated=batch.updated,
    )
