"""`crowdperf ui` through the real command: it refuses a non-loopback address unless told, and a
real server prints a sign-in link that opens the Run page and stops cleanly on Ctrl-C."""

from __future__ import annotations

import re
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import httpx
from typer.testing import CliRunner

from crowdperf.cli.main import app

runner = CliRunner()


def test_a_non_loopback_address_is_refused_without_the_flag(tmp_path: Path) -> None:
    res = runner.invoke(app, ["ui", "--host", "0.0.0.0", "--db", str(tmp_path / "hub.sqlite")])
    assert res.exit_code == 2
    assert "error: crowdperf ui launches benchmarks on this machine" in res.output
    assert "--allow-remote-launch" in res.output
    assert not (tmp_path / "hub.sqlite").exists()  # refused before anything was made


def test_a_bad_submitter_is_refused(tmp_path: Path) -> None:
    res = runner.invoke(app, ["ui", "--submitter", "../x", "--db", str(tmp_path / "hub.sqlite")])
    assert res.exit_code == 2 and "--submitter" in res.output


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def test_the_printed_link_signs_in_and_ctrl_c_stops_the_server(tmp_path: Path) -> None:
    port = _free_port()
    cmd = [sys.executable, "-m", "crowdperf", "ui", "--port", str(port), "--db", str(tmp_path / "hub.sqlite"),
           "--workdir", str(tmp_path / "ui"), "--no-open-browser"]  # fmt: skip
    proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        link = None
        deadline = time.monotonic() + 60
        while link is None and time.monotonic() < deadline:
            line = proc.stdout.readline()  # type: ignore[union-attr]
            found = re.search(r"(http://127\.0\.0\.1:\d+/run\?token=\S+)", line)
            link = found.group(1) if found else None
        assert link, "no sign-in link printed"
        with httpx.Client(follow_redirects=True, timeout=10) as client:
            page = client.get(link)
            assert page.status_code == 200 and str(page.url) == f"http://127.0.0.1:{port}/run"
            assert 'id="run-form"' in page.text
            assert httpx.get(f"http://127.0.0.1:{port}/run", timeout=10).status_code == 401  # no cookie
    finally:
        proc.send_signal(signal.SIGINT)
        proc.wait(timeout=30)
    assert proc.returncode in (0, 130)
