"""The hub under a crowd: 20 concurrent clients against a real ``crowdperf hub serve`` on SQLite
with ~10,500 results, per endpoint family (list, best, Pareto), then again while an upload and a
CLI import write to the same database. Prints requests/s, p50 and p95 per phase against the goal
of issue 15 (>= 150 req/s on list and best, >= 60 on Pareto, p95 < 300 ms) and the load average.

    .venv/bin/python bench/hub_load.py                       # defaults: 20 clients, 15 s a phase
    .venv/bin/python bench/hub_load.py --serve-args "--workers 2" --seconds 20

Bounded and local: the server binds 127.0.0.1 only, every phase stops after --seconds (at most
120) and --max-requests, and the clients speak plain HTTP/1.1 keep-alive on raw asyncio sockets
(a heavier client would steal the CPU being measured: this machine has 2 cores).
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import os
import random
import shlex
import shutil
import socket
import sqlite3
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from sqlalchemy import insert, text

from crowdperf.hub.models import Result
from crowdperf.hub.store import open_store
from hub_corpus import synthetic_rows, write_corpus

HOST = "127.0.0.1"  # loopback only: this tool never sends a request anywhere else
GOALS = {"list": 150.0, "best": 150.0, "pareto": 60.0}
P95_GOAL_MS = 300.0


def url_families(seed: int = 0) -> dict[str, list[str]]:
    """What a crowd asks: the default views plus filtered, sorted and paged variants."""
    rng = random.Random(seed)
    scen = ("Offline", "Server", "SingleStream", "MultiStream")
    models = ("bert-99", "bert-99.9", "resnet50")
    lists = ["/api/results", "/api/results?limit=50&sort=-throughput", "/"]
    for _ in range(21):
        q = f"scenario={rng.choice(scen)}&model={rng.choice(models)}"
        q += rng.choice(("", "&accelerator=h100", "&accelerator=l4", "&submitter=org1", "&min_accuracy=89.5"))
        q += f"&sort={rng.choice(('-throughput', '-usd_per_million', 'latency_ms', '-accuracy_f1'))}"
        lists.append(f"/api/results?{q}&offset={rng.choice((0, 0, 50, 100))}")
    best = ["/api/best", "/api/best?scenario=Offline&min_accuracy_f1=89.9"]
    for _ in range(10):
        best.append(
            f"/api/best?scenario={rng.choice(scen)}&model={rng.choice(models)}"
            f"&objective={rng.choice(('throughput', 'cost', 'energy', 'latency'))}"
            + rng.choice(("", "&max_watts=3000", "&min_accuracy_f1=89", "&max_usd_per_million=5"))
        )
    pareto = ["/api/pareto?x=throughput&y=accuracy", "/chart?x=throughput&y=accuracy"]
    for x, y in (("throughput", "cost"), ("latency", "accuracy"), ("throughput", "energy")):
        pareto.append(f"/api/pareto?x={x}&y={y}&scenario={rng.choice(scen)}")
        pareto.append(f"/api/pareto?x={x}&y={y}&model=bert-99")
    return {"list": lists, "best": best, "pareto": pareto}


@dataclass
class Stats:
    latencies_ms: list[float] = field(default_factory=list)
    errors: dict[str, int] = field(default_factory=dict)


async def _response(reader: asyncio.StreamReader) -> int:
    """Read one response; returns its status. Content-Length and chunked bodies."""
    head = await reader.readuntil(b"\r\n\r\n")
    lines = head.decode("latin-1").split("\r\n")
    status = int(lines[0].split()[1])
    headers = {k.lower(): v.strip() for k, _, v in (line.partition(":") for line in lines[1:] if line)}
    if "content-length" in headers:
        await reader.readexactly(int(headers["content-length"]))
    elif headers.get("transfer-encoding") == "chunked":
        while size := int((await reader.readuntil(b"\r\n")).strip(), 16):
            await reader.readexactly(size + 2)
        await reader.readuntil(b"\r\n")
    return status


@dataclass(frozen=True)
class Phase:
    urls: list[str]
    clients: int
    seconds: float  # the longest it runs (at most 120)
    max_requests: int
    busy: Callable[[], bool] = lambda: True  # stops early once this says False


async def _client(port: int, phase: Phase, stop: float, budget: list[int], stats: Stats, seed: int) -> None:
    rng = random.Random(seed)
    reader, writer = await asyncio.open_connection(HOST, port)
    try:
        while time.monotonic() < stop and budget[0] > 0 and phase.busy():
            budget[0] -= 1
            url = rng.choice(phase.urls)
            t0 = time.perf_counter()
            writer.write(f"GET {url} HTTP/1.1\r\nHost: {HOST}\r\n\r\n".encode())
            status = await _response(reader)
            if status == 200:
                stats.latencies_ms.append((time.perf_counter() - t0) * 1000)
            else:
                stats.errors[f"{status} {url}"] = stats.errors.get(f"{status} {url}", 0) + 1
    finally:
        writer.close()


def run_phase(port: int, phase: Phase) -> tuple[Stats, float]:
    stats, budget = Stats(), [phase.max_requests]

    async def main() -> float:
        t0 = time.monotonic()
        stop = t0 + min(phase.seconds, 120.0)
        await asyncio.gather(*(_client(port, phase, stop, budget, stats, i) for i in range(phase.clients)))
        return time.monotonic() - t0

    return stats, asyncio.run(main())


def report(name: str, stats: Stats, elapsed: float, goal: float | None) -> bool:
    lat = sorted(stats.latencies_ms)
    if not lat:
        print(f"  {name:22s} no successful request; errors {stats.errors}")
        return False
    rps = len(lat) / elapsed
    p95 = lat[max(0, int(len(lat) * 0.95) - 1)]
    ok = (goal is None or rps >= goal) and p95 < P95_GOAL_MS and not stats.errors
    goal_text = f">= {goal:g}/s" if goal else "     -"
    print(
        f"  {name:22s} {rps:7.1f} req/s (goal {goal_text}) p50 {statistics.median(lat):6.1f} ms "
        f"p95 {p95:6.1f} ms  errors {sum(stats.errors.values())}  {'ok' if ok else 'MISSED'}"
    )
    for what, n in list(stats.errors.items())[:3]:
        print(f"      {n}x {what}")
    return ok


def load_database(db: Path, rows: int) -> None:
    store = open_store(db)
    data = synthetic_rows(rows, seed=1)
    for start in range(0, len(data), 5000):
        with store.session() as s:
            s.execute(insert(Result), data[start : start + 5000])
    with store.engine.connect() as c:
        c.execute(text("ANALYZE"))
    store.close()


def start_server(db: Path, port: int, extra: list[str]) -> subprocess.Popen[bytes]:
    cmd = [
        sys.executable,
        "-m",
        "crowdperf",
        "hub",
        "serve",
        "--db",
        str(db),
        "--host",
        HOST,
        "--port",
        str(port),
    ]
    proc = subprocess.Popen([*cmd, *extra], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        with socket.socket() as s:
            if s.connect_ex((HOST, port)) == 0:
                return proc
        time.sleep(0.2)
    proc.kill()
    raise RuntimeError("hub serve did not start")


def _free_port() -> int:
    with socket.socket() as s:
        s.bind((HOST, 0))
        return int(s.getsockname()[1])


def writers(
    db: Path, port: int, work: Path, sizes: tuple[int, int]
) -> tuple[threading.Thread, subprocess.Popen[bytes]]:
    """An upload (HTTP) and a CLI import into the served database, of ``sizes`` new results."""
    from crowdperf.hub.auth import create_token
    from crowdperf.hub.web.client import submit_tree

    upload_tree, import_tree = (
        write_corpus(work / "up", sizes[0], seed=7),
        write_corpus(work / "imp", sizes[1], seed=8),
    )
    store = open_store(db)
    token = create_token(store, f"bench{os.getpid()}").secret
    store.close()
    upload = threading.Thread(
        target=submit_tree, args=(upload_tree,), kwargs={"server": f"http://{HOST}:{port}", "token": token}
    )
    cli = [sys.executable, "-m", "crowdperf", "hub", "import", str(import_tree), "--db", str(db), "--json"]
    importer = subprocess.Popen(cli, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    upload.start()
    return upload, importer


def _write_version(db: Path) -> int | None:
    """The store's write version (None before migration 0003: a baseline run of older code)."""
    with contextlib.closing(sqlite3.connect(db)) as conn:
        try:
            return int(conn.execute("SELECT version FROM hub_version").fetchone()[0])
        except sqlite3.OperationalError:
            return None


def writes_phase(
    db: Path, port: int, work: Path, families: dict[str, list[str]], args: argparse.Namespace
) -> bool:
    """Every family at once, for exactly as long as the upload and the import run."""
    sizes = tuple(int(n) for n in args.write_sizes.split(","))
    upload, importer = writers(db, port, work, (sizes[0], sizes[1]))
    before = _write_version(db)
    mixed = [u for family in families.values() for u in family]
    phase = Phase(
        mixed, args.clients, 120.0, 10**9, busy=lambda: upload.is_alive() or importer.poll() is None
    )
    stats, elapsed = run_phase(port, phase)
    ok = report(f"all, {sizes[0]} up + {sizes[1]} imp", stats, elapsed, None)
    upload.join(timeout=300)
    code = importer.wait(timeout=300)
    print(f"      the writers ran {elapsed:.1f} s: import exit {code}, upload done {not upload.is_alive()}; "
          f"write version {before} -> {_write_version(db)}")  # fmt: skip
    return ok


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--rows", type=int, default=10_500)
    ap.add_argument("--clients", type=int, default=20)
    ap.add_argument("--seconds", type=float, default=15.0)
    ap.add_argument("--max-requests", type=int, default=50_000, help="per phase")
    ap.add_argument("--serve-args", default="", help="extra `hub serve` options, e.g. '--workers 2'")
    ap.add_argument("--phases", default="list,best,pareto,writes")
    ap.add_argument("--write-sizes", default="300,1500", help="results uploaded, imported in the last phase")
    args = ap.parse_args()
    seconds = min(args.seconds, 120.0)
    work = Path(tempfile.mkdtemp(prefix="hub-load-"))
    db = work / "hub.sqlite"
    load_database(db, args.rows)
    port = _free_port()
    server = start_server(db, port, shlex.split(args.serve_args))
    families = url_families()
    print(f"{args.rows} results in SQLite, {args.clients} clients, {seconds:g} s a phase, serve args "
          f"{args.serve_args or '(none)'}; load average before: {os.getloadavg()[0]:.2f}")  # fmt: skip
    met = True
    try:
        for urls in families.values():  # one warm-up pass: first requests pay imports and page-ins
            run_phase(port, Phase(urls, 1, 60, len(urls)))
        for name in args.phases.split(","):
            if name == "writes":
                met &= writes_phase(db, port, work, families, args)
                continue
            phase = Phase(families[name], args.clients, seconds, args.max_requests)
            met &= report(name, *run_phase(port, phase), GOALS[name])
    finally:
        server.terminate()
        server.wait(timeout=30)
        shutil.rmtree(work, ignore_errors=True)
    print(f"load average after: {' '.join(f'{x:.2f}' for x in os.getloadavg())}")
    print("every goal met" if met else "some goal missed")


if __name__ == "__main__":
    main()
