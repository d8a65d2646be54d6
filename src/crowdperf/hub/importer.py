"""``crowdperf hub import``: MLPerf submission trees (ours, v5.x and v6.x layouts, and the official
``inference_results_vX.Y`` repositories) -> rows in the hub database.

    report = import_tree(store, "inference_results_v4.0/", source="mlcommons")
    report = import_tree(store, "file:///srv/results.git")          # cloned with git first

Every result directory ends up as exactly one of: imported, unchanged (its content hash is already
stored: re-importing is idempotent) or failed (recorded in ``import_failures`` with the reason; one
bad result never stops the others).
"""

from __future__ import annotations

import hashlib
import os
import re
import shutil
import subprocess
import tempfile
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from sqlalchemy import insert, select

from crowdperf.errors import CrowdperfError, HubError, MissingInputError
from crowdperf.hub.models import ImportFailure, Result
from crowdperf.hub.result_parser import ResultDir, parse_result
from crowdperf.hub.store import Store

BATCH = 500  # rows per INSERT ... executemany
_GIT_URL = re.compile(r"^(https?|ssh|git|file)://|^[\w.-]+@[\w.-]+:")

Progress = Callable[[int, int], None]  # (done, total)


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
        proc = subprocess.run(
            ["git", "clone", "--quiet", "--depth", "1", "--", target, str(tmp / "tree")],
            capture_output=True,
            text=True,
            timeout=3600,
            check=False,
            env={**os.environ, "GIT_TERMINAL_PROMPT": "0"},
        )
        if proc.returncode != 0:
            raise HubError(
                f"git clone {target} failed: {proc.stderr.strip()[-500:]}",
                hint="check the URL and that you can read the repository",
            )
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


def content_hash(where: ResultDir) -> str:
    """sha256 over the result's relative path and the bytes of the files it is built from."""
    h = hashlib.sha256(where.rel.encode())
    for f in where.hashed_files():
        h.update(b"\0" + f.name.encode() + b"\0")
        h.update(f.read_bytes())
    return h.hexdigest()


def _flush(store: Store, rows: list[dict[str, Any]], failures: list[dict[str, Any]]) -> None:
    with store.session() as s:
        if rows:
            s.execute(insert(Result), rows)
        if failures:
            s.execute(insert(ImportFailure), failures)
    store.invalidate()
    rows.clear()
    failures.clear()


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
    started = time.perf_counter()
    with _checkout(target) as root:
        results = discover(root)
        if not results:
            raise HubError(
                f"no MLPerf results found under {target}",
                hint="expected <division>/<submitter>/{systems,results/<system>/<model>/<scenario>}",
            )
        with store.session() as s:
            known = set(s.scalars(select(Result.content_hash)))
            failed_query = select(ImportFailure.path, ImportFailure.content_hash)
            known_failed = {(p, h) for p, h in s.execute(failed_query.where(ImportFailure.source == source))}
        hint = round_name or target.rstrip("/").rsplit("/", 1)[-1] + " " + root.resolve().name
        rows: list[dict[str, Any]] = []
        failures: list[dict[str, Any]] = []
        failed: list[FailedResult] = []
        imported = unchanged = 0
        for done, where in enumerate(results, 1):
            try:
                digest = content_hash(where)
            except OSError as exc:
                digest = hashlib.sha256(where.rel.encode()).hexdigest()
                failed.append(FailedResult(where.rel, f"unreadable: {exc}"))
            else:
                if digest in known:
                    unchanged += 1
                else:
                    try:
                        row = parse_result(where, round_hint=hint)
                    except (
                        CrowdperfError,
                        OSError,
                        ValueError,
                        KeyError,
                        TypeError,
                        ZeroDivisionError,
                    ) as exc:
                        failed.append(FailedResult(where.rel, f"{type(exc).__name__}: {exc}"))
                    else:
                        known.add(digest)
                        imported += 1
                        rows.append(
                            {
                                **row,
                                "content_hash": digest,
                                "source": source,
                                "path": where.rel,
                                "uploader": uploader,
                                "checker_verdict": checker_verdict,
                                "benchmark": "mlperf-inference",
                                "hidden": False,
                            }
                        )
            if failed and failed[-1].path == where.rel and (where.rel, digest) not in known_failed:
                known_failed.add((where.rel, digest))
                failures.append(
                    {
                        "source": source,
                        "path": where.rel,
                        "content_hash": digest,
                        "reason": failed[-1].reason[:4000],
                        "uploader": uploader,
                    }
                )
            if len(rows) >= BATCH or len(failures) >= BATCH:
                _flush(store, rows, failures)
            if progress:
                progress(done, len(results))
        _flush(store, rows, failures)
    return ImportReport(
        source=source,
        root=target,
        found=len(results),
        imported=imported,
        unchanged=unchanged,
        failed=tuple(failed),
        seconds=time.perf_counter() - started,
    )
