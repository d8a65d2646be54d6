"""The downloader against a real local HTTP server (127.0.0.1, thread) that honours Range."""

from __future__ import annotations

import hashlib
import json
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest

from crowdperf.download import download
from crowdperf.errors import ChecksumError, DownloadError

PAYLOAD = bytes(range(256)) * 4096  # 1 MiB
PAYLOAD_MD5 = hashlib.md5(PAYLOAD).hexdigest()


class FileServer(ThreadingHTTPServer):
    daemon_threads = True

    def __init__(self) -> None:
        super().__init__(("127.0.0.1", 0), _Handler)
        self.files: dict[str, bytes] = {"/model.bin": PAYLOAD}
        self.cut_after: int | None = None  # send only this many bytes of the next response
        self.ranges: list[str | None] = []
        self.honour_range = True
        self.pause_s = 0.0  # sleep this long half-way through each body (a slow link)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.server_address[1]}"


class _Handler(BaseHTTPRequestHandler):
    server: FileServer

    def log_message(self, *args: object) -> None:
        pass

    def do_GET(self) -> None:
        body = self.server.files.get(self.path)
        if body is None:
            self.send_error(404)
            return
        header = self.headers.get("Range")
        self.server.ranges.append(header)
        start = 0
        if header and self.server.honour_range:
            start = int(header.removeprefix("bytes=").split("-")[0])
            if start >= len(body):
                self.send_response(416)
                self.send_header("Content-Range", f"bytes */{len(body)}")
                self.end_headers()
                return
            self.send_response(206)
            self.send_header("Content-Range", f"bytes {start}-{len(body) - 1}/{len(body)}")
        else:
            self.send_response(200)
        chunk = body[start:]
        self.send_header("Content-Length", str(len(chunk)))
        self.end_headers()
        if self.server.cut_after is not None:
            chunk, self.server.cut_after = chunk[: self.server.cut_after], None
            self.wfile.write(chunk)
            self.wfile.flush()
            self.close_connection = True
            return
        if self.server.pause_s:
            self.wfile.write(chunk[: len(chunk) // 2])
            self.wfile.flush()
            time.sleep(self.server.pause_s)
            chunk = chunk[len(chunk) // 2 :]
        self.wfile.write(chunk)


@pytest.fixture
def server() -> Iterator[FileServer]:
    srv = FileServer()
    thread = threading.Thread(target=srv.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
    thread.start()
    yield srv
    srv.shutdown()
    srv.server_close()


def test_download_checks_md5_and_renames(server, tmp_path):
    dest = tmp_path / "model.bin"
    result = download(f"{server.url}/model.bin", dest, PAYLOAD_MD5, show_progress=False)
    assert dest.read_bytes() == PAYLOAD and result.md5 == PAYLOAD_MD5 and result.resumed_from == 0
    assert not (tmp_path / "model.bin.part").exists()


def test_interrupted_download_resumes_with_range(server, tmp_path):
    dest = tmp_path / "model.bin"
    server.cut_after = 300_000
    with pytest.raises(DownloadError, match="resumes"):
        download(f"{server.url}/model.bin", dest, PAYLOAD_MD5, show_progress=False)
    assert not dest.exists() and (tmp_path / "model.bin.part").stat().st_size == 300_000
    result = download(f"{server.url}/model.bin", dest, PAYLOAD_MD5, show_progress=False)
    assert result.resumed_from == 300_000 and server.ranges[-1] == "bytes=300000-"
    assert dest.read_bytes() == PAYLOAD


def test_complete_part_file_is_finished_without_refetching(server, tmp_path):
    (tmp_path / "model.bin.part").write_bytes(PAYLOAD)
    result = download(f"{server.url}/model.bin", tmp_path / "model.bin", PAYLOAD_MD5, show_progress=False)
    assert result.md5 == PAYLOAD_MD5 and server.ranges == [f"bytes={len(PAYLOAD)}-"]


def test_server_ignoring_range_restarts_cleanly(server, tmp_path):
    (tmp_path / "model.bin.part").write_bytes(b"stale bytes")
    server.honour_range = False
    download(f"{server.url}/model.bin", tmp_path / "model.bin", PAYLOAD_MD5, show_progress=False)
    assert (tmp_path / "model.bin").read_bytes() == PAYLOAD


def test_md5_mismatch_names_file_and_both_sums(server, tmp_path):
    dest = tmp_path / "model.bin"
    wrong = "0" * 32
    with pytest.raises(ChecksumError) as err:
        download(f"{server.url}/model.bin", dest, wrong, show_progress=False)
    assert "model.bin" in str(err.value) and wrong in str(err.value) and PAYLOAD_MD5 in str(err.value)
    assert not dest.exists() and not Path(f"{dest}.part").exists()


def test_http_404_and_unreachable_host(server, tmp_path):
    with pytest.raises(DownloadError, match="HTTP 404"):
        download(f"{server.url}/missing.bin", tmp_path / "x", None, show_progress=False)
    port = server.server_address[1]
    server.shutdown()
    server.server_close()
    with pytest.raises(DownloadError, match="cannot reach"):
        download(f"http://127.0.0.1:{port}/model.bin", tmp_path / "y", None, show_progress=False, timeout_s=2)
    assert not (tmp_path / "x").exists()


FETCH = """
import json, sys
from pathlib import Path
from crowdperf.download import download
r = download(sys.argv[1], Path(sys.argv[2]), sys.argv[3], show_progress=False)
print(json.dumps({"md5": r.md5, "resumed_from": r.resumed_from}))
"""


def test_two_processes_fetching_one_file_download_it_once(server, tmp_path):
    """Issue 14, item 3: two runs needing the same asset never append to one .part file; the
    second waits, naming the first, and uses the file the first finished."""
    server.pause_s = 2.0
    dest = tmp_path / "model.bin"
    args = [sys.executable, "-c", FETCH, f"{server.url}/model.bin", str(dest), PAYLOAD_MD5]
    first = subprocess.Popen(args, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    deadline = time.monotonic() + 30
    while not server.ranges and time.monotonic() < deadline:  # the first is transferring
        time.sleep(0.02)
    second = subprocess.run(args, capture_output=True, text=True, timeout=60)
    out, err = first.communicate(timeout=60)
    assert first.returncode == 0 and second.returncode == 0, (err, second.stderr)
    assert json.loads(out) == {"md5": PAYLOAD_MD5, "resumed_from": 0}
    assert json.loads(second.stdout) == {"md5": PAYLOAD_MD5, "resumed_from": len(PAYLOAD)}  # fetched nothing
    assert f"waiting for the download of model.bin: another crowdperf process writes it (pid {first.pid}" in (
        " ".join(second.stderr.split())
    )
    assert dest.read_bytes() == PAYLOAD and server.ranges == [None]  # one request, from the start
