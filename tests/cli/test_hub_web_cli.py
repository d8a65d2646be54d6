"""`crowdperf hub token|export-site|submit|serve` through the real root app."""

from __future__ import annotations

from pathlib import Path

import pytest
from typer.testing import CliRunner

from crowdperf.cli.main import app
from crowdperf.hub.auth import authenticate
from crowdperf.hub.store import open_store

runner = CliRunner()


def test_token_create_prints_the_secret_once_and_it_authenticates(tmp_path: Path) -> None:
    db = str(tmp_path / "hub.sqlite")
    res = runner.invoke(app, ["hub", "token", "create", "alice", "--db", db])
    assert res.exit_code == 0, res.output
    secret = next(line for line in res.stdout.splitlines() if line.startswith("cph_"))
    assert authenticate(open_store(db), secret) == "alice"
    again = runner.invoke(app, ["hub", "token", "create", "alice", "--db", db])
    assert again.exit_code == 2 and "error:" in again.output  # a UsageError: the boundary exits 2
    assert runner.invoke(app, ["hub", "token", "revoke", "alice", "--db", db]).exit_code == 0
    renewed = runner.invoke(app, ["hub", "token", "create", "alice", "--db", db, "--admin"])
    secret = next(line for line in renewed.stdout.splitlines() if line.startswith("cph_"))
    assert authenticate(open_store(db), secret) == "alice"  # a revoked name gets a new token


def test_submit_reports_a_server_that_is_not_there(tmp_path: Path) -> None:
    (tmp_path / "S/closed").mkdir(parents=True)
    (tmp_path / "S/closed/a.txt").write_text("a")
    res = runner.invoke(
        app, ["hub", "submit", str(tmp_path / "S"), "--server", "http://127.0.0.1:9", "--token", "cph_x"]
    )
    assert res.exit_code == 11 and "cannot reach" in res.output


def test_help_lists_the_web_commands() -> None:
    out = runner.invoke(app, ["hub", "--help"]).output
    for name in ("serve", "submit", "token", "export-site", "hide", "delete"):
        assert name in out


@pytest.mark.parametrize("workers", [1, 2])
def test_serve_binds_loopback_and_answers(tmp_path: Path, workers: int) -> None:
    """One process, or a parent with two forked workers on one socket: SIGTERM stops them all."""
    import socket
    import subprocess
    import sys
    import time

    import httpx

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    db = str(tmp_path / "hub.sqlite")
    cmd = [sys.executable, "-m", "crowdperf", "hub", "serve", "--port", str(port), "--db", db,
           "--workers", str(workers), "--log-level", "warning"]  # fmt: skip
    proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    try:
        deadline = time.monotonic() + 30
        while True:
            try:
                resp = httpx.get(f"http://127.0.0.1:{port}/builder", timeout=1)
                break
            except httpx.TransportError:
                assert proc.poll() is None and time.monotonic() < deadline, "server did not come up"
                time.sleep(0.1)
        assert resp.status_code == 200 and "crowdperf run --model bert-99" in resp.text
        for _ in range(4):  # whichever worker answers
            spec = httpx.get(f"http://127.0.0.1:{port}/openapi.json", timeout=5).json()
            assert spec["info"]["title"] == "crowdperf hub"
    finally:
        proc.terminate()
        assert proc.wait(timeout=20) is not None
    with socket.socket() as s:  # every worker is gone: the port is free again
        s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        s.bind(("127.0.0.1", port))
