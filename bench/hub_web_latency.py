"""Latency of the hub's pages and JSON API over N generated results (in-process ASGI client:
routing, query layer, SQL, JSON encoding and template rendering; no network). Prints p50/p95 per
request and, for the JSON API, the goal of issue #5 (list/filter p95 < 100 ms, Pareto and best
p95 < 300 ms with 100,000 results in PostgreSQL).

    .venv/bin/python bench/hub_web_latency.py --rows 100000 [--db postgresql+psycopg://u:p@host/db]

With --db the results table is emptied first (use a scratch database), loaded and ANALYZEd.
The response cache is off (``WebConfig(cache=None)``): this measures computing an answer, what a
request costs after every write; ``bench/hub_load.py`` measures the served crowd, cache included.
"""

from __future__ import annotations

import argparse
import hashlib
import random
import statistics
import tempfile
import time
from pathlib import Path

from fastapi.testclient import TestClient
from sqlalchemy import delete, insert, select, text

from crowdperf.hub.comparison import comparison_key
from crowdperf.hub.models import Result
from crowdperf.hub.store import Store, open_store
from crowdperf.hub.web.app import WebConfig, create_app

ACCELERATORS = [
    ("NVIDIA H100-SXM-80GB", 8),
    ("NVIDIA A100-SXM-80GB", 8),
    ("NVIDIA L4", 1),
    ("NVIDIA T4", 4),
    ("", 0),
]
SCENARIOS = ["Offline", "Server", "SingleStream"]


def _rows(n: int, rng: random.Random) -> list[dict]:
    out = []
    for i in range(n):
        acc, count = rng.choice(ACCELERATORS)
        scenario = rng.choice(SCENARIOS)
        rnd = rng.choice(["v4.1", "v5.0", "v5.1"])
        tp = rng.uniform(10, 60000)
        key = comparison_key(model="bert-99", scenario=scenario, round=rnd, division="closed", settings={})
        out.append(dict(
            content_hash=hashlib.sha256(str(i).encode()).hexdigest(), round=rnd, division="closed",
            comparison_key=key, category="datacenter", submitter=f"org{i % 50}", system_name=f"system-{i}",
            host_cpu="EPYC", accelerator=acc, accelerator_count=count, software="sw",
            backend=rng.choice(["onnxruntime", "tensorrt"]), precision=rng.choice(["fp32", "fp16", "int8"]),
            model="bert-99", scenario=scenario, metric="m", unit="samples/s", value=tp, throughput=tp,
            latency_ms=rng.uniform(1, 100), valid=True, accuracy_f1=rng.uniform(89, 91),
            power_w=rng.uniform(50, 5000), energy_j_per_sample=rng.uniform(0.01, 1), source="bench",
            power_meter="ptd" if i % 5 else "nvml",  # PTD's and software meters' figures in one hub
            path=f"p/{i}",
        ))  # fmt: skip
    return out


# (url, goal p95 ms or None): the JSON API's goals from issue #5; pages are reported for reference
URLS: tuple[tuple[str, float | None], ...] = (
    ("/api/results?limit=50", 100),
    ("/api/results?model=bert-99&scenario=Offline&round=v5.1&min_accuracy_f1=90&limit=50", 100),
    ("/api/results?accelerator=h100&sort=-usd_per_million&offset=100", 100),
    ("/api/pareto?x=throughput&y=energy", 300),
    ("/api/pareto?x=throughput&y=accuracy&z=cost&scenario=Offline", 300),
    ("/api/best?scenario=Offline&min_accuracy_f1=90&max_latency_ms=50", 300),
    ("/api/best?min_accuracy_f1=89.5&max_watts=2000&max_usd_per_million=5", 300),
    ("/api/best?scenario=Offline&objective=energy&max_joules_per_sample=0.5", 300),
    ("/api/results?meter=nvml&sort=energy_j_per_sample&limit=50", 100),
    ("/", None),
    ("/?scenario=Offline&accelerator=h100&sort=-usd_per_million", None),
    ("/chart?x=throughput&y=accuracy", None),
    ("/chart?x=throughput&y=energy", None),
    ("/best?scenario=Offline&min_accuracy_f1=90&max_latency_ms=50", None),
    ("/compare?ids={0}&ids={1}&ids={2}", None),  # the three lowest ids
)


def load(store: Store, n: int) -> None:
    rows = _rows(n, random.Random(0))
    with store.session() as s:
        s.execute(delete(Result))
    for start in range(0, len(rows), 5000):
        with store.session() as s:
            s.execute(insert(Result), rows[start : start + 5000])
    with store.engine.connect().execution_options(isolation_level="AUTOCOMMIT") as c:
        c.execute(text("VACUUM ANALYZE results" if store.dialect == "postgresql" else "ANALYZE"))


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--rows", "--results", dest="rows", type=int, default=10_000)
    ap.add_argument("--db", default=None, help="PostgreSQL URL (a scratch database); default a temp SQLite")
    ap.add_argument("--repeat", type=int, default=20)
    args = ap.parse_args()
    store = open_store(args.db or Path(tempfile.mkdtemp()) / "hub.sqlite")
    load(store, args.rows)
    client = TestClient(create_app(WebConfig(store=store, cache=None)))
    print(f"{args.rows} results in {store.dialect}; {args.repeat} requests each")
    with store.session() as s:
        lowest = s.scalars(select(Result.id).order_by(Result.id).limit(3)).all()
    failed = 0
    for template, goal in URLS:
        url = template.format(*lowest)
        first = client.get(url)
        assert first.status_code == 200, (url, first.status_code)
        times = []
        for _ in range(args.repeat):
            t0 = time.perf_counter()
            client.get(url)
            times.append((time.perf_counter() - t0) * 1000)
        times.sort()
        p95 = times[max(0, int(len(times) * 0.95) - 1)]
        p50 = statistics.median(times)
        verdict = "" if goal is None else f"goal < {goal:g} ms: {'ok' if p95 < goal else 'MISSED'}"
        failed += goal is not None and p95 >= goal
        print(
            f"  {url:80s} {len(first.content) / 1024:6.0f} KiB p50 {p50:6.1f} ms p95 {p95:6.1f} ms {verdict}"
        )
    print("every API goal met" if not failed else f"{failed} API goal(s) missed")


if __name__ == "__main__":
    main()
