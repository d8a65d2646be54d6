"""Benchmark: `crowdperf hub import` throughput on a generated corpus (goal >= 500 results/s into SQLite).

    .venv/bin/python bench/hub_import.py --results 10000 [--db PATH_OR_URL] [--tree EXISTING_TREE]

The corpus (official layout, real LoadGen logs, see hub_corpus.py) is written to a temporary directory
first; only the import is timed. Prints one JSON line. A real official tree can be measured with
``--tree /path/to/inference_results_v5.0``.
"""

from __future__ import annotations

import argparse
import json
import tempfile
import time
from pathlib import Path

from crowdperf.hub.importer import import_tree
from crowdperf.hub.store import open_store
from hub_corpus import write_corpus


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--results", type=int, default=10_000)
    parser.add_argument("--db", default=None, help="default: a fresh SQLite file")
    parser.add_argument("--tree", type=Path, default=None, help="import this tree instead of a generated one")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="hub-bench-") as tmp:
        t0 = time.perf_counter()
        tree = args.tree or write_corpus(Path(tmp) / "corpus", args.results)
        generated_s = time.perf_counter() - t0
        store = open_store(args.db or Path(tmp) / "bench.sqlite")
        report = import_tree(store, tree, source="bench")
        again = import_tree(store, tree, source="bench")
        print(
            json.dumps(
                {
                    "benchmark": "hub_import",
                    "db": store.dialect,
                    "results": report.found,
                    "imported": report.imported,
                    "failed": len(report.failed),
                    "seconds": round(report.seconds, 3),
                    "results_per_second": round(report.results_per_second, 1),
                    "reimport_unchanged": again.unchanged,
                    "reimport_results_per_second": round(again.results_per_second, 1),
                    "corpus_generation_seconds": round(generated_s, 1),
                    "goal_results_per_second": 500,
                }
            )
        )


if __name__ == "__main__":
    main()
