"""The server side of ``crowdperf hub submit``: read the body within limits, unpack it safely,
check it, import it with the uploader recorded, and answer with what was stored.

    body (application/gzip, <= max_compressed_bytes)
      -> upload_safety.extract_submission   (no traversal, links, devices, bombs; staging budget)
      -> config.checker(tree)               (structure only by default; pluggable)
      -> importer.import_tree(..., uploader=owner, checker_verdict=...)

Bad content is the uploader's problem, never everyone's: the good results of an archive are
imported, the bad ones recorded as import failures, and the answer is then a 400 naming each
bad file inside the archive (with the report of what was stored). No message carries a path of
the server's: the staging folder is cut out of every one.
"""

from __future__ import annotations

import copy
import shutil
import tempfile
import uuid
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from pydantic import BaseModel
from starlette.concurrency import run_in_threadpool
from starlette.requests import Request

from crowdperf.errors import CrowdperfError, HubError
from crowdperf.hub.web.staging import StagingBudget
from crowdperf.hub.web.upload_safety import ArchiveLimits, UnsafeArchiveError, extract_submission

if TYPE_CHECKING:
    from crowdperf.hub.web.app import WebConfig

ACCEPTED_TYPES = ("application/gzip", "application/x-gzip")
UPLOAD_SOURCE_PREFIX = "upload:"  # results.source of an upload: "upload:<owner>"


class PayloadTooLarge(UnsafeArchiveError):
    """The body is over the upload size limit (HTTP 413)."""


class UnsupportedType(UnsafeArchiveError):
    """The body is not declared as gzip (HTTP 415)."""


class BadContent(HubError):
    """Some results of an upload could not be imported (HTTP 400); the others were."""

    def __init__(self, message: str, report: UploadReport) -> None:
        super().__init__(
            message, hint="fix the files named and upload again; the results listed as imported are stored"
        )
        self.report = report


class UploadReport(BaseModel):
    upload_id: str
    owner: str
    verdict: str  # passed | failed | unchecked
    notes: str
    files: int
    found: int
    imported: int
    unchanged: int
    failed: list[str]
    updated: int = 0  # stored before the hub read power.json: now with the power of theirs


async def read_body(request: Request, content_type: str | None, limits: ArchiveLimits) -> bytes:
    """The request body, refused early when its type is wrong or it grows past the limit."""
    media = (content_type or "").split(";")[0].strip().lower()
    if media not in ACCEPTED_TYPES:
        raise UnsupportedType(
            f"content type {media or 'none'!r} is not accepted", hint=f"send {ACCEPTED_TYPES[0]}"
        )
    declared = request.headers.get("content-length")
    if declared and declared.isdigit() and int(declared) > limits.max_compressed_bytes:
        raise PayloadTooLarge(f"upload is {declared} bytes, over {limits.max_compressed_bytes}")
    chunks, size = [], 0
    async for chunk in request.stream():
        size += len(chunk)
        if size > limits.max_compressed_bytes:
            raise PayloadTooLarge(f"upload is over {limits.max_compressed_bytes} bytes")
        chunks.append(chunk)
    return b"".join(chunks)


def _scrubbed(exc: CrowdperfError, work: Path) -> CrowdperfError:
    """The same error without the staging folder's path in it."""
    out = copy.copy(exc)  # same class: the HTTP status depends on it
    out.message = exc.message.replace(f"{work}/tree/", "").replace(str(work), "<upload>")
    out.args = (out.message,)
    return out


@dataclass(frozen=True)
class _Upload:
    upload_id: str
    owner: str
    work: Path  # the staging folder of this upload


def _unpack_check_import(config: WebConfig, up: _Upload, data: bytes, budget: StagingBudget) -> UploadReport:
    from crowdperf.hub.importer import import_tree

    owner, work = up.owner, up.work
    with budget.account(owner) as charge:
        extracted = extract_submission(data, work / "tree", config.limits, charge=charge)
        verdict = config.checker(extracted.root)
        report = import_tree(
            config.store, verdict.root, source=f"{UPLOAD_SOURCE_PREFIX}{owner}", uploader=owner,
            checker_verdict=verdict.verdict,
        )  # fmt: skip
    return UploadReport(
        upload_id=up.upload_id, owner=owner, verdict=verdict.verdict, notes=verdict.notes,
        files=extracted.files, found=report.found, imported=report.imported, unchanged=report.unchanged,
        failed=[f"{f.path}: {f.reason}" for f in report.failed], updated=report.updated,
    )  # fmt: skip


def _store_upload(config: WebConfig, owner: str, data: bytes, budget: StagingBudget) -> UploadReport:
    upload_id = uuid.uuid4().hex[:12]
    base = config.staging_dir or Path(tempfile.gettempdir())
    base.mkdir(parents=True, exist_ok=True)
    work = Path(tempfile.mkdtemp(prefix=f"upload-{upload_id}-", dir=base))
    try:
        report = _unpack_check_import(config, _Upload(upload_id, owner, work), data, budget)
    except CrowdperfError as exc:
        raise _scrubbed(exc, work) from exc
    except OSError as exc:
        raise HubError(f"could not store the upload: {exc.strerror or type(exc).__name__}") from exc
    finally:
        shutil.rmtree(work, ignore_errors=True)
    if report.failed:
        stored = f"{report.imported} imported, {report.unchanged} unchanged"
        raise BadContent(
            f"{len(report.failed)} of {report.found} results could not be imported ({stored}): "
            + "; ".join(report.failed[:20]),
            report,
        )
    return report


async def handle_upload(config: WebConfig, owner: str, data: bytes, budget: StagingBudget) -> UploadReport:
    """Unpack, check and import off the event loop (it is disk- and CPU-bound)."""
    return await run_in_threadpool(_store_upload, config, owner, data, budget)
