"""File digests, streamed in blocks (model files are over a GiB): one place for every checksum."""

from __future__ import annotations

import hashlib
from pathlib import Path


def file_md5(path: Path) -> str:
    """MD5 hex digest: what MLPerf publishes for its assets (an identity check, not security)."""
    with path.open("rb") as fh:
        return hashlib.file_digest(fh, lambda: hashlib.md5(usedforsecurity=False)).hexdigest()


def file_sha256(path: Path) -> str:
    with path.open("rb") as fh:
        return hashlib.file_digest(fh, "sha256").hexdigest()
