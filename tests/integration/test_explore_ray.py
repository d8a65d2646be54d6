"""The Ray path on a real local Ray cluster, on loopback only: a node started with
``ray start --head`` (two CPUs, so two worker processes, and the ``crowdperf_cpu`` resource) and
``crowdperf explore --ray-address`` driving the toy workload's exploration through it into one
journal and one hub database. A second node process cannot join on loopback (Ray refuses a
multi-node cluster once told to stay on 127.0.0.1), so one node it is. Skipped when Ray is not
installed (``pip install 'crowdperf[ray]'``)."""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from crowdperf.explore.journal import SessionStarted, read_journal
from crowdperf.hub.queries import list_results
from crowdperf.hub.query_types import ResultFilter
from crowdperf.hub.store import open_store

pytest.importorskip("ray")

PLUGINS = Path(__file__).resolve().parents[1] / "plugins"
RAY = Path(sys.executable).with_name("ray")
# Ray binds its node to the machine's routable address unless told it runs without a cluster
# network; these keep every connection on 127.0.0.1 and need no token (a test on loopback).
LOOPBACK_ENV = {"RAY_ENABLE_WINDOWS_OR_OSX_CLUSTER": "0", "RAY_AUTH_MODE": "disabled"}


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _env() -> dict[str, str]:
    path = os.pathsep.join(p for p in (str(PLUGINS), os.environ.get("PYTHONPATH")) if p)
    return {**os.environ, **LOOPBACK_ENV, "PYTHONPATH": path}


def _node(args: list[str], temp: Path, log: Path) -> subprocess.Popen[bytes]:
    """A Ray node in its own process group (stopped by that group's id, never by name)."""
    with log.open("ab") as out:
        return subprocess.Popen(
            [str(RAY), "start", "--block", "--disable-usage-stats", f"--temp-dir={temp}", *args],
            env=_env(),
            stdout=out,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )


def _stop(node: subprocess.Popen[bytes]) -> None:
    """SIGTERM to the node's own process group, then SIGKILL to what is left of it."""
    try:
        os.killpg(node.pid, signal.SIGTERM)
        node.wait(timeout=5)
    except subprocess.TimeoutExpired:
        pass
    with contextlib.suppress(ProcessLookupError):
        os.killpg(node.pid, signal.SIGKILL)
    node.wait()


def _wait_for_nodes(address: str, nodes: int, log: Path) -> None:
    probe = (
        "import ray, sys; ray.init(address=sys.argv[1], log_to_driver=False); "
        "print(len([n for n in ray.nodes() if n['Alive']]), ray.cluster_resources().get('crowdperf_cpu', 0))"
    )
    deadline = time.monotonic() + 90
    while time.monotonic() < deadline:
        out = subprocess.run(
            [sys.executable, "-c", probe, address], env=_env(), capture_output=True, text=True, timeout=60
        )
        if out.returncode == 0 and out.stdout.split()[-2:] == [str(nodes), f"{float(nodes)}"]:
            return
        time.sleep(1)
    raise AssertionError(f"the Ray cluster never had {nodes} nodes:\n{log.read_text()[-3000:]}")


@pytest.fixture
def ray_cluster(tmp_path: Path) -> Iterator[str]:
    temp = Path(tempfile.mkdtemp(prefix="cpray", dir="/tmp"))  # Ray's socket paths must stay short
    port = _free_port()
    address = f"127.0.0.1:{port}"
    log = tmp_path / "ray.log"
    resources = '--resources={"crowdperf_cpu": 1}'
    head_args = ["--head", f"--port={port}", "--num-cpus=2", resources, "--include-dashboard=false"]
    head = _node(head_args, temp, log)
    try:
        _wait_for_nodes(address, 1, log)
        yield address
    finally:
        _stop(head)
        shutil.rmtree(temp, ignore_errors=True)


def test_explore_runs_its_points_as_ray_tasks_into_one_journal_and_hub(
    ray_cluster: str, tmp_path: Path
) -> None:
    d, db = tmp_path / "exp", tmp_path / "hub.sqlite"
    args = ["--model", "toyclass", "--backends", "onnxruntime", "--precisions", "fp32,bf16"]
    args += ["--batch-sizes", "1,8", "--threads", "1", "--budget", "4m", "--screen-count", "32"]
    out = subprocess.run(
        [
            sys.executable,
            "-m",
            "crowdperf",
            "explore",
            *args,
            "--dir",
            str(d),
            "--db",
            str(db),
            "--ray-address",
            ray_cluster,
            "--json",
        ],
        env=_env(),
        capture_output=True,
        text=True,
        timeout=400,
    )
    assert out.returncode == 0, out.stdout[-3000:] + out.stderr[-3000:]
    lines = [json.loads(line) for line in out.stdout.splitlines() if line.startswith("{")]
    events, result = lines[:-1], lines[-1]
    assert {e["event"] for e in events} >= {"started", "measured", "skipped", "imported"}
    finals = [e for e in events if e["event"] == "measured" and e["measured"]["rung"] == "final"]
    assert finals and all(":" in e["run_dir"] for e in finals)  # <worker host>:<its results dir>
    sessions = [e.record for e in read_journal(d / "journal.jsonl") if isinstance(e.record, SessionStarted)]
    assert [s.executor for s in sessions] == ["ray"]
    source = events[0]["source"]
    rows = list_results(open_store(db), ResultFilter(source=source, include_hidden=True), limit=None).rows
    assert len(rows) == len(finals)
    assert result["hub"]["best"]["groups"][0]["ranking"]  # a winner
    trees = list((d / "points").glob("*/submission/open"))
    assert len(trees) == len(finals)  # each tree came back from its worker to the driver
