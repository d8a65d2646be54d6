"""The server side of ``crowdperf hub submit``: read the body within limits, unpack it safely,
check it, import it with the uploader recorded, and answer with what was stored.

    body (application/gzip, <= max_compressed_bytes)
      -> upload_safety.extract_submission   (no traversal, links, devices, bombs)
      -> config.checker(tree)               (structure only by default; pluggable)
      -> importer.import_tree(..., uploader=owner, checker_verdict=...)
"""

from __future__ import annotations

import shutil
import tempfile
import uuid
from pathlib import Path
from typing import TYPE_CHECKING

from pydantic import BaseModel
from starlette.concurrency import run_in_threadpool
from starlette.requests import Request

from crowdperf.errors import CrowdperfError, HubError
from crowdperf.hub.web.upload_safety import ArchiveLimits, UnsafeArchiveError, extract_submission

if TYPE_CHECKING:
    from crowdperf.hub.web.app import WebConfig

ACCEPTED_TYPES = ("application/gzip", "application/x-gzip")


class PayloadTooLarge(UnsafeArchiveError):
    """The body is over the upload size limit (HTTP 413)."""


class UnsupportedType(UnsafeArchiveError):
    """The body is not declared as gzip (HTTP 415)."""


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


def _store_upload(config: WebConfig, owner: str, data: bytes) -> UploadReport:
    from crowdperf.hub.importer import import_tree

    upload_id = uuid.uuid4().hex[:12]
    base = config.staging_dir or Path(tempfile.gettempdir())
    base.mkdir(parents=True, exist_ok=True)
    work = Path(tempfile.mkdtemp(prefix=f"upload-{upload_id}-", dir=base))
    try:
        extracted = extract_submission(data, work / "tree", config.limits)
        verdict = config.checker(extracted.root)
        report = import_tree(
            config.store, verdict.root, source=f"upload:{owner}", uploader=owner,
            checker_verdict=verdict.verdict,
        )  # fmt: skip
    finally:
        shutil.rmtree(work, ignore_errors=True)
    return UploadReport(
        upload_id=upload_id, owner=owner, verdict=verdict.verdict, notes=verdict.notes,
        files=extracted.files, found=report.found, imported=report.imported, unchanged=report.unchanged,
        failed=[f"{f.path}: {f.reason}" for f in report.failed],
    )  # fmt: skip


async def handle_upload(config: WebConfig, owner: str, data: bytes) -> UploadReport:
    """Unpack, check and import off the event loop (it is disk- and CPU-bound)."""
    try:
        return await run_in_threadpool(_store_upload, config, owner, data)
    except CrowdperfError:
        raise
    except OSError as exc:
        raise HubError(f"could not store the upload: {exc}") from exc
