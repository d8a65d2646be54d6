"""Latency of the hub's pages and JSON API over N generated results (in-process ASGI client:
routing, query layer, SQL and template rendering; no network).

    .venv/bin/python bench/hub_web_latency.py --results 10000 [--db postgresql://...]
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
from sqlalchemy import insert

from crowdperf.hub.comparison import comparison_key
from crowdperf.hub.models import Result
from crowdperf.hub.store import open_store
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
            path=f"p/{i}",
        ))  # fmt: skip
    return out


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--results", type=int, default=10_000)
    ap.add_argument("--db", default=None)
    ap.add_argument("--repeat", type=int, default=20)
    args = ap.parse_args()
    store = open_store(args.db or Path(tempfile.mkdtemp()) / "hub.sqlite")
    rows = _rows(args.results, random.Random(0))
    with store.session() as s:
        for start in range(0, len(rows), 5000):
            s.execute(insert(Result), rows[start : start + 5000])
    client = TestClient(create_app(WebConfig(store=store)))
    urls = [
        "/", "/?scenario=Offline&accelerator=h100&sort=-usd_per_million",
        "/api/results?model=bert-99&limit=50",
        "/chart?x=throughput&y=accuracy", "/api/pareto?x=throughput&y=energy",
        "/best?scenario=Offline&min_accuracy_f1=90&max_latency_ms=50", "/compare?ids=1&ids=2&ids=3",
    ]  # fmt: skip
    print(f"{args.results} results in {store.dialect}; {args.repeat} requests each")
    for url in urls:
        assert client.get(url).status_code == 200, url
        times = []
        for _ in range(args.repeat):
            t0 = time.perf_counter()
            client.get(url)
            times.append((time.perf_counter() - t0) * 1000)
        times.sort()
        p95 = times[max(0, int(len(times) * 0.95) - 1)]
        p50 = statistics.median(times)
        print(f"  {url:62s} p50 {p50:7.1f} ms  p95 {p95:7.1f} ms")


if __name__ == "__main__":
    main()
