"""Unpacking an uploaded submission archive without trusting it.

A ``.tar.gz`` from the network may try path traversal (``../x``, ``/etc/x``), links that point
outside the tree (symlinks, hard links), device files, or an archive bomb (a small gzip that
inflates to gigabytes, or millions of members). ``extract_submission`` reads the archive as a
stream, checks each member's name and type before writing anything, counts members and inflated
bytes as it goes, and writes only regular files and directories under ``dest``. On any violation
it raises ``UnsafeArchiveError`` and removes what it had written.
"""

from __future__ import annotations

import gzip
import io
import shutil
import tarfile
import zlib
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path, PurePosixPath
from typing import IO

from crowdperf.errors import HubError

GZIP_MAGIC = b"\x1f\x8b"


class UnsafeArchiveError(HubError):
    """The uploaded archive breaks a safety rule; nothing of it was kept."""


@dataclass(frozen=True)
class ArchiveLimits:
    max_compressed_bytes: int = 64 * 1024 * 1024
    max_total_bytes: int = 512 * 1024 * 1024
    max_member_bytes: int = 256 * 1024 * 1024
    max_members: int = 20_000
    max_depth: int = 16


@dataclass(frozen=True)
class ExtractedArchive:
    root: Path
    files: int
    total_bytes: int


def _checked_name(name: str, limits: ArchiveLimits) -> PurePosixPath:
    if not name or "\x00" in name or "\\" in name:
        raise UnsafeArchiveError(f"archive member has an invalid name: {name!r}")
    path = PurePosixPath(name)
    if path.is_absolute() or (path.parts and ":" in path.parts[0]):
        raise UnsafeArchiveError(f"archive member has an absolute path: {name!r}")
    parts = [p for p in path.parts if p not in ("", ".")]
    if ".." in parts:
        raise UnsafeArchiveError(f"archive member escapes the tree: {name!r}")
    if len(parts) > limits.max_depth:
        raise UnsafeArchiveError(f"archive member is nested too deep: {name!r}")
    return PurePosixPath(*parts) if parts else PurePosixPath(".")


def _check_member(member: tarfile.TarInfo, limits: ArchiveLimits) -> PurePosixPath:
    rel = _checked_name(member.name, limits)
    if member.issym() or member.islnk():
        raise UnsafeArchiveError(f"archive member is a link (not allowed): {member.name!r}")
    if not (member.isfile() or member.isdir()):
        raise UnsafeArchiveError(f"archive member is not a regular file or directory: {member.name!r}")
    if member.isfile() and member.size > limits.max_member_bytes:
        raise UnsafeArchiveError(
            f"archive member {member.name!r} is {member.size} bytes, over {limits.max_member_bytes}"
        )
    return rel


Charge = Callable[[int], None]  # told of every chunk before it is written; raises to stop


def _no_charge(_nbytes: int) -> None:
    return None


def _copy_bounded(src: IO[bytes], dst: IO[bytes], budget: int, charge: Charge) -> int:
    """Copy at most ``budget`` bytes; raise when the source holds more."""
    written = 0
    while chunk := src.read(1 << 16):
        written += len(chunk)
        if written > budget:
            raise UnsafeArchiveError("archive inflates beyond the total size limit (archive bomb?)")
        charge(len(chunk))
        dst.write(chunk)
    return written


def extract_submission(
    data: bytes, dest: Path, limits: ArchiveLimits | None = None, *, charge: Charge = _no_charge
) -> ExtractedArchive:
    """Unpack a gzip-compressed tar held in ``data`` into the new directory ``dest``; ``charge``
    accounts the bytes written (the server's staging budget) and may refuse them by raising."""
    limits = limits or ArchiveLimits()
    if len(data) > limits.max_compressed_bytes:
        raise UnsafeArchiveError(f"upload is {len(data)} bytes, over {limits.max_compressed_bytes}")
    if not data.startswith(GZIP_MAGIC):
        raise UnsafeArchiveError("upload is not gzip-compressed (expected a .tar.gz)")
    dest.mkdir(parents=True, exist_ok=False)
    try:
        return _extract_stream(data, dest, limits, charge)
    except HubError:
        shutil.rmtree(dest, ignore_errors=True)
        raise
    except (tarfile.TarError, OSError, EOFError, zlib.error, gzip.BadGzipFile) as exc:
        shutil.rmtree(dest, ignore_errors=True)
        # an OSError would name the server's staging folder: its kind only
        reason = type(exc).__name__ if isinstance(exc, OSError) else str(exc)
        raise UnsafeArchiveError(f"upload is not a readable tar.gz: {reason}") from exc


def _extract_stream(data: bytes, dest: Path, limits: ArchiveLimits, charge: Charge) -> ExtractedArchive:
    members = files = total = 0
    with tarfile.open(fileobj=io.BytesIO(data), mode="r|gz") as tar:
        for member in tar:
            members += 1
            if members > limits.max_members:
                raise UnsafeArchiveError(f"archive has more than {limits.max_members} members")
            rel = _check_member(member, limits)
            target = dest / rel
            if member.isdir():
                target.mkdir(parents=True, exist_ok=True)
                continue
            target.parent.mkdir(parents=True, exist_ok=True)
            src = tar.extractfile(member)
            if src is None:  # pragma: no cover - regular files always have data
                continue
            with open(target, "xb") as out:
                total += _copy_bounded(src, out, limits.max_total_bytes - total, charge)
            files += 1
    if files == 0:
        raise UnsafeArchiveError("archive holds no files")
    return ExtractedArchive(root=dest, files=files, total_bytes=total)


def pack_submission(tree: Path) -> bytes:
    """The client side: a tree as tar.gz bytes, names relative to the tree, links refused."""
    if not tree.is_dir():
        raise UnsafeArchiveError(f"{tree} is not a directory", hint="pass the submission tree's root")
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w:gz") as tar:
        for path in sorted(tree.rglob("*")):
            if path.is_symlink():
                raise UnsafeArchiveError(
                    f"{path} is a symbolic link", hint="replace links by the files they point to"
                )
            if path.is_file():
                tar.add(path, arcname=path.relative_to(tree).as_posix(), recursive=False)
    return buf.getvalue()
