"""Where a result stands (hub/placement.py): its rank and percentile among the results with its
comparison key, and its place among the official results of its model and scenario. Real
SQLite and PostgreSQL stores (the ``store`` fixture)."""

from __future__ import annotations

import itertools
from typing import Any

from hub_web_rows import add_result

from crowdperf.hub.placement import place_result
from crowdperf.hub.store import Store

_unique = itertools.count()  # rows with the same numbers are still distinct results


def _crowd(store: Store, throughput: float, **over: Any) -> int:
    fields: dict[str, Any] = dict(submitter="crowd", system_name=f"box-{next(_unique)}", accelerator="",
                                  accelerator_count=0, backend="onnxruntime", precision="fp32",
                                  division="open", source="ui:test", throughput=throughput)  # fmt: skip
    return add_result(store, **{**fields, **over})


def _official(store: Store, throughput: float, **over: Any) -> int:
    fields: dict[str, Any] = dict(submitter="acme", system_name=f"official-{next(_unique)}",
                                  accelerator="NVIDIA H100", accelerator_count=8, backend="tensorrt",
                                  precision="int8", source="mlcommons", throughput=throughput)  # fmt: skip
    return add_result(store, **{**fields, **over})


def test_rank_and_percentile_among_the_same_comparison_key(store: Store) -> None:
    ids = {v: _crowd(store, v) for v in (10.0, 20.0, 30.0, 30.0, 40.0)}
    _crowd(store, 1000.0, division="closed")  # another comparison key: never counted
    _crowd(store, 1000.0, hidden=True)  # hidden: counts for nobody
    s = place_result(store, ids[20.0])
    assert s is not None and s.higher_is_better
    assert (s.crowd.rank, s.crowd.total, s.crowd.percentile) == (4, 5, 25.0)  # beats 1 of the 4 others
    tied = place_result(store, ids[30.0])
    assert tied is not None and tied.crowd.rank == 2  # ties share the better rank
    best = place_result(store, ids[40.0])
    assert best is not None and (best.crowd.rank, best.crowd.percentile) == (1, 100.0)


def test_a_result_alone_has_a_rank_but_no_percentile(store: Store) -> None:
    s = place_result(store, _crowd(store, 5.0))
    assert s is not None and (s.crowd.rank, s.crowd.total, s.crowd.percentile) == (1, 1, None)
    assert place_result(store, 999_999) is None


def test_latency_scenarios_rank_lower_first(store: Store) -> None:
    fast = _crowd(store, 100.0, scenario="SingleStream", latency_ms=2.0)
    slow = _crowd(store, 10.0, scenario="SingleStream", latency_ms=20.0)
    s_fast, s_slow = place_result(store, fast), place_result(store, slow)
    assert s_fast is not None and s_slow is not None and not s_fast.higher_is_better
    assert (s_fast.crowd.rank, s_slow.crowd.rank) == (1, 2)


def test_official_placement_names_the_nearest_results_on_each_side(store: Store) -> None:
    official = {v: _official(store, v) for v in (100.0, 200.0, 300.0, 400.0, 500.0)}
    _official(store, 250.0, scenario="SingleStream", latency_ms=1.0)  # another scenario
    _official(store, 260.0, model="bert-99.9")  # another model
    _official(store, 270.0, hidden=True)
    _official(store, 280.0, source="someone")  # not official
    s = place_result(store, _crowd(store, 250.0))
    assert s is not None
    o = s.official
    assert (o.model, o.scenario, o.total, o.beaten, o.percentile) == ("bert-99", "Offline", 5, 2, 40.0)
    assert [r.id for r in o.above] == [official[300.0], official[400.0]]  # nearest first
    assert [r.id for r in o.below] == [official[200.0], official[100.0]]
    assert s.crowd.total == 1  # the official rows have another comparison key (closed division)


def test_no_official_results_for_the_model(store: Store) -> None:
    _official(store, 100.0)
    s = place_result(store, _crowd(store, 50.0, model="tiny"))
    assert s is not None and s.official.total == 0 and s.official.percentile is None
    assert s.official.above == () and s.official.below == ()
