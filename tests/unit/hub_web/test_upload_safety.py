"""Unpacking uploaded archives: traversal, absolute paths, links, devices and bombs are refused."""

from __future__ import annotations

import io
import os
import tarfile
from pathlib import Path

import pytest

from crowdperf.hub.web.upload_safety import (
    ArchiveLimits,
    UnsafeArchiveError,
    extract_submission,
    pack_submission,
)


def _tar(members: list[tuple[tarfile.TarInfo, bytes | None]]) -> bytes:
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w:gz") as tar:
        for info, data in members:
            tar.addfile(info, io.BytesIO(data) if data is not None else None)
    return buf.getvalue()


def _file(name: str, data: bytes = b"x") -> tuple[tarfile.TarInfo, bytes]:
    info = tarfile.TarInfo(name)
    info.size = len(data)
    return info, data


def _special(name: str, kind: bytes, target: str = "") -> tuple[tarfile.TarInfo, None]:
    info = tarfile.TarInfo(name)
    info.type = kind
    info.linkname = target
    return info, None


def test_a_good_archive_is_unpacked(tmp_path: Path) -> None:
    data = _tar([_file("closed/org/systems/a.json", b"{}"), _file("./closed/org/results/x.txt", b"hello")])
    out = extract_submission(data, tmp_path / "t")
    assert out.files == 2 and out.total_bytes == 7
    assert (tmp_path / "t/closed/org/results/x.txt").read_bytes() == b"hello"


@pytest.mark.parametrize(
    "member",
    [
        _file("../evil.txt"),
        _file("closed/../../evil.txt"),
        _file("/etc/evil.txt"),
        _file("C:/evil.txt"),
        _file("closed\\..\\evil.txt"),
        _special("closed/link", tarfile.SYMTYPE, "/etc/passwd"),
        _special("closed/inner", tarfile.SYMTYPE, "ok.txt"),  # even links inside the tree
        _special("closed/hard", tarfile.LNKTYPE, "/etc/passwd"),
        _special("closed/fifo", tarfile.FIFOTYPE),
        _special("closed/dev", tarfile.CHRTYPE),
    ],
    ids=["dotdot", "nested-dotdot", "absolute", "drive", "backslash", "symlink-out", "symlink-in",
         "hardlink", "fifo", "chardev"],
)  # fmt: skip
def test_unsafe_members_are_refused_and_nothing_is_left(tmp_path: Path, member) -> None:  # type: ignore[no-untyped-def]
    data = _tar([_file("closed/ok.txt"), member])
    with pytest.raises(UnsafeArchiveError):
        extract_submission(data, tmp_path / "t")
    assert not (tmp_path / "t").exists()
    assert not (tmp_path / "evil.txt").exists()


def test_archive_bomb_total_size_is_stopped_while_inflating(tmp_path: Path) -> None:
    zeros = b"\0" * (2 * 1024 * 1024)  # compresses to ~2 KiB
    data = _tar([_file("closed/a.bin", zeros), _file("closed/b.bin", zeros)])
    assert len(data) < 20_000
    limits = ArchiveLimits(max_total_bytes=3 * 1024 * 1024)
    with pytest.raises(UnsafeArchiveError, match="total size"):
        extract_submission(data, tmp_path / "t", limits)
    assert not (tmp_path / "t").exists()


def test_single_member_size_and_member_count_limits(tmp_path: Path) -> None:
    with pytest.raises(UnsafeArchiveError, match="over"):
        extract_submission(_tar([_file("a", b"x" * 100)]), tmp_path / "a", ArchiveLimits(max_member_bytes=10))
    many = _tar([_file(f"closed/{i}.txt") for i in range(11)])
    with pytest.raises(UnsafeArchiveError, match="more than 10 members"):
        extract_submission(many, tmp_path / "b", ArchiveLimits(max_members=10))


def test_not_gzip_truncated_or_too_large_is_refused(tmp_path: Path) -> None:
    good = _tar([_file("closed/a.txt")])
    with pytest.raises(UnsafeArchiveError, match="not gzip"):
        extract_submission(b"PK\x03\x04zip", tmp_path / "a")
    with pytest.raises(UnsafeArchiveError, match="not a readable"):
        extract_submission(good[: len(good) // 2], tmp_path / "b")
    with pytest.raises(UnsafeArchiveError, match="over"):
        extract_submission(good, tmp_path / "c", ArchiveLimits(max_compressed_bytes=10))
    with pytest.raises(UnsafeArchiveError, match="no files"):
        extract_submission(_tar([]), tmp_path / "d")


def test_pack_round_trips_and_refuses_symlinks(tmp_path: Path) -> None:
    tree = tmp_path / "S"
    (tree / "closed/org").mkdir(parents=True)
    (tree / "closed/org/a.txt").write_text("a")
    out = extract_submission(pack_submission(tree), tmp_path / "out")
    assert (out.root / "closed/org/a.txt").read_text() == "a"
    os.symlink("/etc/passwd", tree / "closed/org/link")
    with pytest.raises(UnsafeArchiveError, match="symbolic link"):
        pack_submission(tree)
