"""Download one file: resumable, checksummed, never left half-written under its final name.

Bytes go to ``<dest>.part``; an interrupted transfer leaves the ``.part`` file and the next call
asks the server for the rest (HTTP ``Range``). The finished file's MD5 is compared with the
expected one before it is renamed to ``dest``: a mismatch removes it and raises ChecksumError
naming the file and both sums. HTTP and connection failures become DownloadError. The transfer is
httpx's (streamed, redirects followed, one timeout for connect and each read).

One process downloads a file at a time: ``<dest>.lock`` is held for the whole transfer, so two runs
that need the same asset never append to one ``.part`` file. The second waits (saying on stderr
for whom), then finds the finished file and uses it.
"""

from __future__ import annotations

import os
import ssl
from dataclasses import dataclass
from pathlib import Path

import httpx
from rich.console import Console
from rich.progress import BarColumn, DownloadColumn, Progress, TextColumn, TransferSpeedColumn

from crowdperf import __version__
from crowdperf.errors import ChecksumError, DownloadError
from crowdperf.hashing import file_md5
from crowdperf.locks import exclusive, file_lock

DOWNLOAD_WAIT_S = 6 * 3600.0  # another process fetching the same 1.3 GB file over a slow link


@dataclass(frozen=True)
class DownloadResult:
    path: Path
    md5: str
    size: int
    resumed_from: int  # bytes already in the .part file when this call started


def download(
    url: str,
    dest: Path,
    expected_md5: str | None = None,
    *,
    show_progress: bool = True,
    timeout_s: float = 60.0,
) -> DownloadResult:
    """Fetch ``url`` into ``dest`` (resuming a previous ``.part``) and check its MD5; a ``dest``
    another process finished while this one waited for it is used as it is."""
    with exclusive(file_lock(dest), f"the download of {dest.name}", wait_s=DOWNLOAD_WAIT_S):
        if expected_md5 and dest.is_file() and (md5 := file_md5(dest)) == expected_md5.lower():
            return DownloadResult(dest, md5, dest.stat().st_size, dest.stat().st_size)
        return _download_locked(url, dest, expected_md5, show_progress, timeout_s)


def _download_locked(
    url: str, dest: Path, expected_md5: str | None, show_progress: bool, timeout_s: float
) -> DownloadResult:
    part = dest.with_name(dest.name + ".part")
    resumed_from = part.stat().st_size if part.exists() else 0
    _fetch_into(url, part, resumed_from, show_progress, timeout_s)
    md5 = file_md5(part)
    if expected_md5 and md5 != expected_md5.lower():
        part.unlink(missing_ok=True)
        raise ChecksumError(
            f"{dest.name} from {url}: MD5 is {md5}, expected {expected_md5}",
            hint="the download was corrupted or the file changed upstream; run the command again",
        )
    os.replace(part, dest)
    return DownloadResult(dest, md5, dest.stat().st_size, resumed_from)


def _fetch_into(url: str, part: Path, offset: int, show_progress: bool, timeout_s: float) -> None:
    headers = {"User-Agent": f"crowdperf/{__version__}"}
    if offset:
        headers["Range"] = f"bytes={offset}-"
    received = offset
    try:
        with httpx.stream("GET", url, headers=headers, timeout=timeout_s, follow_redirects=True) as response:
            if response.status_code == 416 and offset:  # nothing left to send: the .part file is whole
                return
            _raise_for_status(url, response)
            if offset and response.status_code != 206:  # server ignored Range: start over
                offset = received = 0
            length = response.headers.get("Content-Length")
            total = offset + int(length) if length is not None else None
            with _progress(show_progress) as progress, part.open("ab" if offset else "wb") as out:
                task = progress.add_task(f"downloading {part.name[:-5]}", total=total, completed=offset)
                for block in response.iter_bytes():  # as received: an interruption keeps every byte
                    out.write(block)
                    received += len(block)
                    progress.update(task, completed=received)
    except httpx.ConnectError as exc:
        if isinstance(exc.__context__, ssl.SSLCertVerificationError) or "CERTIFICATE_VERIFY_FAILED" in str(
            exc
        ):
            hint = "the TLS certificate could not be verified: update the system CA certificates"
        else:
            hint = "check the network connection and run the command again (it resumes)"
        raise DownloadError(f"cannot reach {url}: {exc}", hint=hint) from exc
    except (httpx.TransportError, OSError) as exc:  # timeouts, resets, a server that hung up mid-body
        raise DownloadError(
            f"download of {url} was interrupted after {received} bytes: {exc!r}",
            hint="run the command again: it resumes from the partial file",
        ) from exc
    if total is not None and received < total:
        raise DownloadError(
            f"download of {url} stopped at {received} of {total} bytes",
            hint="run the command again: it resumes from the partial file",
        )


def _raise_for_status(url: str, response: httpx.Response) -> None:
    if response.status_code >= 400:
        raise DownloadError(
            f"download of {url} failed: HTTP {response.status_code} {response.reason_phrase}",
            hint="check the URL, or fetch the file by hand and pass its local path",
        )


def _progress(show: bool) -> Progress:
    return Progress(
        TextColumn("[bold]{task.description}"),
        BarColumn(),
        DownloadColumn(),
        TransferSpeedColumn(),
        console=Console(stderr=True),
        disable=not show,
        transient=True,
    )
