"""The Ray path on a real local Ray cluster, on loopback only: a node started with
``ray start --head`` (two CPUs, so two worker processes, and the ``crowdperf_cpu`` resource) and
``crowdperf explore --ray-address`` driving the toy workload's exploration through it into one
journal and one hub database. A second node process cannot join on loopback (Ray refuses a
multi-node cluster once told to stay on 127.0.0.1), so one node it is.

The node runs in its own session; every process Ray starts stays in it (its workers make their
own process groups, never their own sessions), so the fixture stops the node by that session's
id, whatever the test did, and checks that nothing of it is left. Skipped when Ray is not
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
from dataclasses import dataclass
from pathlib import Path

import pytest

from crowdperf.explore.journal import PointFailed, PointMeasured, SessionStarted, read_journal
from crowdperf.hub.queries import list_results
from crowdperf.hub.query_types import ResultFilter
from crowdperf.hub.store import open_store

pytest.importorskip("ray")

PLUGINS = Path(__file__).resolve().parents[1] / "plugins"
RAY = Path(sys.executable).with_name("ray")
# Ray binds its node to the machine's routable address unless told it runs without a cluster
# network; these keep every connection on 127.0.0.1 and need no token (a test on loopback). On a
# busy 2-core machine a worker may take long to start and memory may be tight because of others'
# jobs: a longer registration timeout, and no memory monitor killing tasks (the test's are small).
# No drain on SIGTERM: the fixture's SIGTERM reaches the whole group, GCS included, so Ray's drain
# request (30 s by default) can only time out, and the teardown would wait it out every run.
LOOPBACK_ENV = {
    "RAY_ENABLE_WINDOWS_OR_OSX_CLUSTER": "0",
    "RAY_AUTH_MODE": "disabled",
    "RAY_worker_register_timeout_seconds": "180",
    "RAY_memory_monitor_refresh_ms": "0",
    "RAY_GRACEFUL_SHUTDOWN_DRAIN_TIMEOUT_S": "0",
}
NODE_START_S = 120  # a loaded 2-core machine starts a node in ~10 s; far more is a broken node
EXPLORE_S = 240  # each of the test's explorations: about 20-30 s on the shared 2-core machine


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _env() -> dict[str, str]:
    path = os.pathsep.join(p for p in (str(PLUGINS), os.environ.get("PYTHONPATH")) if p)
    return {**os.environ, **LOOPBACK_ENV, "PYTHONPATH": path}


def _session_processes(sid: int) -> dict[int, str]:
    """Every live process of session ``sid``: pid -> its command line (Ray's workers retitle
    themselves ``ray::<task>``)."""
    out = {}
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        with contextlib.suppress(OSError, IndexError, ValueError):
            stat = (entry / "stat").read_text()
            fields = stat[stat.rindex(")") + 2 :].split()  # after "pid (comm) "
            if fields[0] != "Z" and int(fields[3]) == sid:  # state, ppid, pgrp, session
                out[int(entry.name)] = (entry / "cmdline").read_bytes().replace(b"\0", b" ").decode()
    return out


@dataclass(frozen=True)
class RayNode:
    address: str
    session: int  # the session id of every process of the node
    log: Path
    drivers: list[subprocess.Popen[bytes]]  # the test's crowdperf explore processes: stopped first


def _start(temp: Path, log: Path, port: int) -> subprocess.Popen[bytes]:
    resources = '--resources={"crowdperf_cpu": 1}'
    args = ["--head", f"--port={port}", "--num-cpus=2", resources, "--include-dashboard=false"]
    args += ["--object-store-memory=100000000"]  # 100 MB: the test's objects are a few kB
    with log.open("ab") as out:
        return subprocess.Popen(
            [str(RAY), "start", "--block", "--disable-usage-stats", f"--temp-dir={temp}", *args],
            env=_env(),
            stdout=out,
            stderr=subprocess.STDOUT,
            start_new_session=True,  # its own session: the fixture stops exactly it
        )


def _stop(node: subprocess.Popen[bytes]) -> dict[int, str]:
    """SIGTERM to ``ray start``'s group (it stops what it started), then SIGKILL to every process
    left in its session, by pid; returns what was still alive after that (nothing, normally)."""
    with contextlib.suppress(ProcessLookupError):
        os.killpg(node.pid, signal.SIGTERM)
    with contextlib.suppress(subprocess.TimeoutExpired):
        node.wait(timeout=15)
    deadline = time.monotonic() + 10
    while (left := _session_processes(node.pid)) and time.monotonic() < deadline:
        for pid in left:
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, signal.SIGKILL)
        time.sleep(0.2)
    with contextlib.suppress(subprocess.TimeoutExpired):
        node.wait(timeout=5)
    return _session_processes(node.pid)


def _wait_for_node(address: str, log: Path) -> None:
    probe = (
        "import ray, sys; ray.init(address=sys.argv[1], log_to_driver=False); "
        "print(len([n for n in ray.nodes() if n['Alive']]), ray.cluster_resources().get('crowdperf_cpu', 0))"
    )
    deadline = time.monotonic() + NODE_START_S
    while time.monotonic() < deadline:
        with contextlib.suppress(subprocess.TimeoutExpired):
            out = subprocess.run(
                [sys.executable, "-c", probe, address], env=_env(), capture_output=True, text=True, timeout=60
            )
            if out.returncode == 0 and out.stdout.split()[-2:] == ["1", "1.0"]:
                return
        time.sleep(1)
    raise AssertionError(f"the Ray node never came up:\n{log.read_text()[-3000:]}")


@pytest.fixture
def ray_node(tmp_path: Path) -> Iterator[RayNode]:
    temp = Path(tempfile.mkdtemp(prefix="cpray", dir="/tmp"))  # Ray's socket paths must stay short
    port, log = _free_port(), tmp_path / "ray.log"
    node = _start(temp, log, port)
    drivers: list[subprocess.Popen[bytes]] = []
    try:
        _wait_for_node(f"127.0.0.1:{port}", log)
        yield RayNode(f"127.0.0.1:{port}", node.pid, log, drivers)
    finally:
        for driver in drivers:  # a failed test may leave one running
            if driver.poll() is None:
                driver.kill()
                driver.wait()
        left = _stop(node)
        shutil.rmtree(temp, ignore_errors=True)
        assert not left, f"Ray processes outlived their node: {left}"


@dataclass
class Explore:
    proc: subprocess.Popen[bytes]
    out: Path  # stdout and stderr in files: nothing blocks on a full pipe while the test watches


def _explore(node: RayNode, d: Path, db: Path, *extra: str) -> Explore:
    args = ["--model", "toyclass", "--backends", "onnxruntime", "--precisions", "fp32,bf16"]
    args += ["--batch-sizes", "1,8", "--threads", "1", "--budget", "6m", "--screen-count", "32"]
    args += ["--dir", str(d), "--db", str(db), "--ray-address", node.address, "--json", *extra]
    out = d.parent / f"explore-{time.monotonic_ns()}.out"
    with out.open("wb") as stdout, out.with_suffix(".err").open("wb") as stderr:
        proc = subprocess.Popen(
            [sys.executable, "-m", "crowdperf", "explore", *args], env=_env(), stdout=stdout, stderr=stderr
        )
    node.drivers.append(proc)
    return Explore(proc, out)


def _finish(run: Explore) -> tuple[list[dict], dict]:  # type: ignore[type-arg]
    try:
        run.proc.wait(timeout=EXPLORE_S)
    finally:
        if run.proc.poll() is None:  # the timeout: the driver stopped too, never left behind
            run.proc.kill()
            run.proc.wait()
    stdout = run.out.read_text()
    assert run.proc.returncode == 0, stdout[-3000:] + run.out.with_suffix(".err").read_text()[-3000:]
    lines = [json.loads(line) for line in stdout.splitlines() if line.startswith("{")]
    return lines[:-1], lines[-1]


def _kill_first_screening_worker(node: RayNode, run: Explore) -> int:
    """SIGKILL the Ray worker process running the first screening task (a worker that dies)."""
    deadline = time.monotonic() + EXPLORE_S
    while time.monotonic() < deadline and run.proc.poll() is None:
        for pid, cmd in _session_processes(node.session).items():
            if cmd.startswith("ray::_screen_remote"):
                os.kill(pid, signal.SIGKILL)
                return pid
        time.sleep(0.05)
    raise AssertionError(f"no screening task ever ran on the node:\n{node.log.read_text()[-3000:]}")


@pytest.mark.timeout(2 * EXPLORE_S + NODE_START_S + 60)
def test_explore_runs_its_points_as_ray_tasks_and_a_dead_worker_is_a_failure_a_rerun_redoes(
    ray_node: RayNode, tmp_path: Path
) -> None:
    d, db = tmp_path / "exp", tmp_path / "hub.sqlite"

    # 1. the worker screening the fp32 group dies: its points fail (data), the exploration goes on
    run = _explore(ray_node, d, db)
    _kill_first_screening_worker(ray_node, run)
    events, _ = _finish(run)
    failed = [e for e in events if e["event"] == "failed"]
    assert failed and all(e["rung"] == "screen" and "precision=fp32" in e["point"] for e in failed)
    assert all(Path(e["log"]).is_file() for e in failed)  # the driver wrote each failure's log
    assert {e["event"] for e in events} >= {"started", "skipped"}  # bf16: onnxruntime refuses it

    # 2. the same command with --retry-failed resumes on the cluster: only the failed points run
    events, result = _finish(_explore(ray_node, d, db, "--retry-failed"))
    measured = [e for e in events if e["event"] == "measured"]
    assert {e["point"] for e in measured} == {e["point"] for e in failed}
    finals = [e for e in measured if e["measured"]["rung"] == "final"]
    assert finals and all(":" in e["run_dir"] for e in finals)  # <worker host>:<its results dir>
    assert {e["event"] for e in events} >= {"started", "imported"}

    entries = read_journal(d / "journal.jsonl")
    assert [e.record.executor for e in entries if isinstance(e.record, SessionStarted)] == ["ray", "ray"]
    assert sum(isinstance(e.record, PointFailed) for e in entries) == len(failed)
    assert sum(isinstance(e.record, PointMeasured) for e in entries) == len(measured)  # none twice
    source = result["hub"]["source"]
    rows = list_results(open_store(db), ResultFilter(source=source, include_hidden=True), limit=None).rows
    assert len(rows) == len(finals)
    assert result["hub"]["best"]["groups"][0]["ranking"]  # a winner
    trees = list((d / "points").glob("*/submission/open"))
    assert len(trees) == len(finals)  # each tree came back from its worker to the driver
