"""Benchmark: query-layer latency with 100,000 results (goal on PostgreSQL: list/filter p95 < 100 ms,
Pareto and best p95 < 300 ms). Measured through ``crowdperf.hub.queries`` (what the CLI, API and pages
call), after the rows are loaded and ANALYZEd.

    .venv/bin/python bench/hub_queries.py --db postgresql+psycopg://u:p@127.0.0.1/hubbench [--rows 100000]

The database must be empty or hold an earlier bench load (``--reuse``); rows come from
hub_corpus.synthetic_rows (5 rounds x 5 models x 4 scenarios x 2 divisions, 9 accelerators). Prints a
JSON line per query and a summary.
"""

from __future__ import annotations

import argparse
import json
import statistics
import time
from collections.abc import Callable

from sqlalchemy import delete, func, insert, select, text

from crowdperf.hub.models import Result
from crowdperf.hub.prices import load_price_table
from crowdperf.hub.queries import best_configurations, list_results, pareto_front
from crowdperf.hub.query_types import Constraints, ResultFilter
from crowdperf.hub.store import Store, open_store
from hub_corpus import synthetic_rows

OFFLINE_BERT = ResultFilter(model="bert-99", scenario="Offline", round="v5.1", division="closed")


def load(store: Store, n: int) -> None:
    with store.session() as s:
        s.execute(delete(Result))
    rows = synthetic_rows(n)
    for i in range(0, n, 5000):
        with store.session() as s:
            s.execute(insert(Result), rows[i : i + 5000])
    analyze(store)


def analyze(store: Store) -> None:
    """Fresh planner statistics (and, on PostgreSQL, a visibility map for index-only scans)."""
    with store.engine.connect().execution_options(isolation_level="AUTOCOMMIT") as c:
        c.execute(text("VACUUM ANALYZE results" if store.dialect == "postgresql" else "ANALYZE"))


def measure(fn: Callable[[], object], runs: int) -> dict[str, float]:
    fn()  # warm caches and connections
    times = []
    for _ in range(runs):
        t0 = time.perf_counter()
        fn()
        times.append((time.perf_counter() - t0) * 1000)
    times.sort()
    return {
        "p50_ms": round(statistics.median(times), 1),
        "p95_ms": round(times[int(0.95 * (len(times) - 1))], 1),
        "max_ms": round(times[-1], 1),
    }


def cases(store: Store) -> dict[str, tuple[str, Callable[[], object]]]:
    prices = load_price_table()
    return {
        "list first page, no filter, -throughput": ("list", lambda: list_results(store, prices=prices)),
        "list model+scenario+round+division, min F1, -throughput": (
            "list",
            lambda: list_results(
                store,
                ResultFilter(
                    model="bert-99", scenario="Offline", round="v5.1", division="closed", min_accuracy_f1=89.9
                ),
                prices=prices,
            ),
        ),
        "list accelerator substring 'h100', page 3": (
            "list",
            lambda: list_results(store, ResultFilter(accelerator="h100"), offset=100, prices=prices),
        ),
        "list submitter substring, sort by cost": (
            "list",
            lambda: list_results(
                store, ResultFilter(submitter="org01"), sort="usd_per_million", prices=prices
            ),
        ),
        "list one comparison key, all rows (--json)": (
            "list",
            lambda: list_results(store, OFFLINE_BERT, limit=None, prices=prices),
        ),
        "pareto throughput x accuracy, one model+scenario+round": (
            "pareto",
            lambda: pareto_front(store, OFFLINE_BERT, ["throughput", "accuracy"], prices=prices),
        ),
        "pareto throughput x accuracy x cost, bert-99 Offline all rounds": (
            "pareto",
            lambda: pareto_front(
                store,
                ResultFilter(model="bert-99", scenario="Offline"),
                ["throughput", "accuracy", "cost"],
                prices=prices,
            ),
        ),
        "best Offline, F1>=89.96, <=1000 W, <=$5/1M": (
            "best",
            lambda: best_configurations(
                store,
                Constraints(
                    scenario="Offline",
                    model="bert-99",
                    min_accuracy_f1=89.96,
                    max_watts=1000,
                    max_usd_per_million=5,
                ),
                prices=prices,
            ),
        ),
        "best Server, latency<=50 ms, all models and rounds": (
            "best",
            lambda: best_configurations(
                store, Constraints(scenario="Server", max_latency_ms=50), prices=prices
            ),
        ),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--db", required=True)
    parser.add_argument("--rows", type=int, default=100_000)
    parser.add_argument("--runs", type=int, default=40)
    parser.add_argument("--reuse", action="store_true", help="keep the rows already loaded")
    args = parser.parse_args()
    store = open_store(args.db)
    with store.session() as s:
        have = s.scalar(select(func.count(Result.id))) or 0
    if not (args.reuse and have == args.rows):
        t0 = time.perf_counter()
        load(store, args.rows)
        print(json.dumps({"loaded_rows": args.rows, "seconds": round(time.perf_counter() - t0, 1)}))
    else:
        analyze(store)  # the schema may just have been migrated (new indexes)
    goals = {"list": 100.0, "pareto": 300.0, "best": 300.0}
    worst: dict[str, float] = {}
    for name, (kind, fn) in cases(store).items():
        stats = measure(fn, args.runs)
        worst[kind] = max(worst.get(kind, 0.0), stats["p95_ms"])
        print(json.dumps({"query": name, "kind": kind, "db": store.dialect, "rows": args.rows, **stats}))
    print(
        json.dumps(
            {
                "summary": {
                    k: {"worst_p95_ms": v, "goal_p95_ms": goals[k], "met": v < goals[k]}
                    for k, v in worst.items()
                }
            }
        )
    )


if __name__ == "__main__":
    main()
