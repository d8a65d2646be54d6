"""Download one file: resumable, checksummed, never left half-written under its final name.

Bytes go to ``<dest>.part``; an interrupted transfer leaves the ``.part`` file and the next call
asks the server for the rest (HTTP ``Range``). The finished file's MD5 is compared with the
expected one before it is renamed to ``dest``: a mismatch removes it and raises ChecksumError
naming the file and both sums. HTTP and connection failures become DownloadError.
"""

from __future__ import annotations

import http.client
import os
import ssl
import urllib.error
import urllib.request
from dataclasses import dataclass
from pathlib import Path

from rich.console import Console
from rich.progress import BarColumn, DownloadColumn, Progress, TextColumn, TransferSpeedColumn

from crowdperf import __version__
from crowdperf.errors import ChecksumError, DownloadError
from crowdperf.hashing import file_md5

CHUNK_BYTES = 1 << 20


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
    """Fetch ``url`` into ``dest`` (resuming a previous ``.part``) and check its MD5."""
    dest.parent.mkdir(parents=True, exist_ok=True)
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


def _open(url: str, offset: int, timeout_s: float) -> http.client.HTTPResponse | None:
    """The response for bytes ``offset..``; None when the .part file is already complete."""
    request = urllib.request.Request(url, headers={"User-Agent": f"crowdperf/{__version__}"})
    if offset:
        request.add_header("Range", f"bytes={offset}-")
    try:
        return urllib.request.urlopen(request, timeout=timeout_s)
    except urllib.error.HTTPError as exc:
        if exc.code == 416 and offset:  # nothing left to send: the .part file is whole
            return None
        raise DownloadError(
            f"download of {url} failed: HTTP {exc.code} {exc.reason}",
            hint="check the URL, or fetch the file by hand and pass its local path",
        ) from exc
    except urllib.error.URLError as exc:
        if isinstance(exc.reason, ssl.SSLCertVerificationError):
            hint = "the TLS certificate could not be verified: update the system CA certificates"
        else:
            hint = "check the network connection and run the command again (it resumes)"
        raise DownloadError(f"cannot reach {url}: {exc.reason}", hint=hint) from exc
    except (TimeoutError, OSError) as exc:
        raise DownloadError(f"cannot reach {url}: {exc}", hint="run the command again (it resumes)") from exc


def _fetch_into(url: str, part: Path, offset: int, show_progress: bool, timeout_s: float) -> None:
    response = _open(url, offset, timeout_s)
    if response is None:
        return
    with response:
        if offset and response.status != 206:  # server ignored Range: start over
            offset = 0
        length = response.headers.get("Content-Length")
        total = offset + int(length) if length is not None else None
        progress = Progress(
            TextColumn("[bold]{task.description}"),
            BarColumn(),
            DownloadColumn(),
            TransferSpeedColumn(),
            console=Console(stderr=True),
            disable=not show_progress,
            transient=True,
        )
        with progress, part.open("ab" if offset else "wb") as out:
            task = progress.add_task(f"downloading {part.name[:-5]}", total=total, completed=offset)
            received = offset
            try:
                while block := response.read(CHUNK_BYTES):
                    out.write(block)
                    received += len(block)
                    progress.update(task, completed=received)
            except (http.client.IncompleteRead, TimeoutError, OSError) as exc:
                raise DownloadError(
                    f"download of {url} was interrupted after {received} bytes: {exc!r}",
                    hint="run the command again: it resumes from the partial file",
                ) from exc
    if total is not None and received < total:
        raise DownloadError(
            f"download of {url} stopped at {received} of {total} bytes",
            hint="run the command again: it resumes from the partial file",
        )
