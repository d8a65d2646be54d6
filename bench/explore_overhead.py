"""What ``crowdperf explore`` costs per point beyond the harness work it asks for. Goal: <= 2 s.

Both sides make exactly the same harness calls on the same points, on the no-op synthetic
workload (LoadGen runs as short as they can be, so the harness's own fixed costs, which explore
does not add, are small too):

    harness   per group ``screen_group`` (one child: the probes + the accuracy subset), per point
              ``execute_run`` accuracy + performance (one child each) and their README hook
    explore   the same points through the driver (``Driver`` + ``LocalExecutor``): that, plus the
              journal (fsync per record), promotion, the point's submission tree, its hub import
              (SQLite) and the status it keeps

Every point is promoted (``--noise`` so large that nothing rules anything out), so each pays the
full path. The difference over the number of points is explore's overhead per point. Rounds
alternate (ABBA) so drift on a shared machine cancels; medians over the rounds.

    .venv/bin/python bench/explore_overhead.py [--points 6] [--rounds 2]
"""

from __future__ import annotations

import argparse
import statistics
import tempfile
import time
from pathlib import Path

from crowdperf.explore.executors import LocalExecutor
from crowdperf.explore.hub_sink import HubSink
from crowdperf.explore.journal import PointImported, PointMeasured, journal_path, read_journal
from crowdperf.explore.pareto import Tolerances
from crowdperf.explore.search import Driver, Exploration, SearchSettings
from crowdperf.explore.space import build_space
from crowdperf.explore.state import PointStatus
from crowdperf.explore.steps import RunSettings, _after_run
from crowdperf.hub.prices import load_price_table
from crowdperf.mlperf.rounds import Category, Scenario, default_round
from crowdperf.mlperf.runs import HarnessContext, execute_run
from crowdperf.mlperf.screening import screen_group
from crowdperf.mlperf.spec import AssetPaths, ExecutionMode, Mode
from crowdperf.mlperf.workload import register_workload
from crowdperf.settings import load_settings

SCREEN_COUNT = 64
NOTHING_RULES_OUT = Tolerances(performance=1e9, accuracy=1e9, energy=1e9, cost=1e9)


def _space(points: int):  # type: ignore[no-untyped-def]
    sizes = [str(2**i) for i in range(points)]
    given = {"backend": ["onnxruntime"], "precision": ["fp32"], "batch_size": sizes}
    return build_space("noop", Scenario.OFFLINE, given, round_name=default_round().name)


def _settings() -> RunSettings:
    return RunSettings(
        "noop", Scenario.OFFLINE, Category.EDGE, ExecutionMode.TEST, default_round().name, AssetPaths()
    )


def harness_only(points: int, work: Path) -> float:
    space, settings = _space(points), _settings()
    ctx = HarnessContext(load_settings(), after_run=_after_run)
    started = time.perf_counter()
    pts = space.points()
    batch_sizes = tuple(settings.spec(p, Mode.FIND_PERFORMANCE).batch_size for p in pts)
    screen_group(
        settings.spec(pts[0], Mode.FIND_PERFORMANCE),
        batch_sizes,
        ctx,
        accuracy_count=SCREEN_COUNT,
        on_result=lambda i, o: None,
    )
    for p in pts:
        results = work / p.slug / "results"
        for mode in (Mode.ACCURACY, Mode.PERFORMANCE):
            spec = settings.spec(p, mode, results)
            result = execute_run(spec, ctx)
            _after_run(spec, result)
    return time.perf_counter() - started


def explore(points: int, work: Path) -> float:
    search = SearchSettings(budget_s=3600, screen_count=SCREEN_COUNT, tolerances=NOTHING_RULES_OUT)
    exp = Exploration(work / "exp", _space(points), _settings(), search)
    sink = HubSink(str(work / "hub.sqlite"))
    started = time.perf_counter()
    try:
        state = Driver(exp, LocalExecutor(), sink, load_price_table(), lambda s, r: None).run()
    finally:
        sink.close()
    elapsed = time.perf_counter() - started
    finished = sum(1 for p in state.points.values() if p.status is PointStatus.FINISHED)
    if finished != points:
        raise SystemExit(f"only {finished} of {points} points finished: {state.counts()}")
    entries = read_journal(journal_path(exp.directory))
    final_at = {
        e.record.point: e.t
        for e in entries
        if isinstance(e.record, PointMeasured) and e.record.measured.rung == "final"
    }
    imports = [e.t - final_at[e.record.point] for e in entries if isinstance(e.record, PointImported)]
    print(f"  hub import per point (journal): {statistics.mean(imports):.3f} s; {len(entries)} records")
    return elapsed


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--points", type=int, default=6)
    parser.add_argument("--rounds", type=int, default=2)
    args = parser.parse_args()
    register_workload("noop", "crowdperf.mlperf.synthetic_workload:noop_workload")
    harness, explored = [], []
    for r in range(args.rounds):
        order = (harness_only, explore) if r % 2 == 0 else (explore, harness_only)
        for fn in order:
            with tempfile.TemporaryDirectory(prefix="crowdperf-explore-bench-") as tmp:
                seconds = fn(args.points, Path(tmp))
            (harness if fn is harness_only else explored).append(seconds)
            print(f"round {r + 1} {fn.__name__:13s} {seconds:7.2f} s for {args.points} points", flush=True)
    h, e = statistics.median(harness), statistics.median(explored)
    per_point = (e - h) / args.points
    print(f"harness only {h:.2f} s, explore {e:.2f} s: explore's overhead {per_point:.2f} s per point")
    print("goal: <= 2 s per point")


if __name__ == "__main__":
    main()
