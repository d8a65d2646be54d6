"""The query layer: filters, sort, pagination, compare deltas, Pareto fronts, best with explanations,
comparison keys respected, user strings never interpreted as SQL. Rows are stored through the ORM
model so that every number is known exactly."""

from __future__ import annotations

import json
import random
import re
from pathlib import Path

import pytest

from crowdperf.errors import UsageError
from crowdperf.hub.comparison import comparison_key
from crowdperf.hub.models import Result
from crowdperf.hub.prices import cost_per_million, load_price_table
from crowdperf.hub.queries import best_configurations, compare_results, get_result, list_results, pareto_front
from crowdperf.hub.query_types import Constraints, ResultFilter, to_jsonable
from crowdperf.hub.store import Store

KEY = comparison_key(model="bert-99", scenario="Offline", round="v5.1", division="closed", settings={})
OTHER_KEY = comparison_key(model="bert-99", scenario="Offline", round="v5.0", division="closed", settings={})

# name, accelerator, count, throughput, f1, watts
ROWS = [
    ("a", "NVIDIA H100-SXM-80GB", 8, 8000.0, 90.5, 3000.0),
    ("b", "NVIDIA L4", 1, 900.0, 90.6, 70.0),
    ("c", "NVIDIA L4", 2, 1700.0, 89.0, 140.0),  # below bert-99's F1 target
    ("d", "", 0, 50.0, 90.8, 200.0),  # CPU only: no price
    ("e", "NVIDIA T4", 1, 400.0, 90.1, 70.0),
]


def add(store: Store, name: str, accel: str, count: int, tp: float, f1: float, watts: float, **over) -> None:
    with store.session() as s:
        s.add(Result(**row(name, accel, count, tp, f1, watts, **over)))


def row(name: str, accel: str, count: int, tp: float, f1: float, watts: float, **over) -> dict:
    values = dict(
        content_hash=f"h-{name}-{over.get('round', 'v5.1')}",
        comparison_key=KEY,
        round="v5.1",
        division="closed",
        category="edge",
        submitter=f"org-{name}",
        system_name=f"sys-{name}",
        accelerator=accel,
        accelerator_count=count,
        backend="onnxruntime",
        precision="fp32",
        model="bert-99",
        scenario="Offline",
        metric="result_samples_per_second",
        unit="samples/s",
        value=tp,
        throughput=tp,
        throughput_per_accelerator=tp / count if count else None,
        latency_ms=None,
        valid=True,
        accuracy_f1=f1,
        power_w=watts,
        energy_j_per_sample=watts / tp,
        source="test",
        path=f"closed/org-{name}/results/x",
    )
    values.update(over)
    return values


@pytest.fixture
def filled(store: Store) -> Store:
    for row in ROWS:
        add(store, *row)
    add(store, "old", "NVIDIA L4", 1, 5000.0, 90.7, 60.0, round="v5.0", comparison_key=OTHER_KEY)
    return store


def names(rows) -> list[str]:
    return [r.system_name.removeprefix("sys-") for r in rows]


def test_filter_sort_paginate(filled: Store) -> None:
    page = list_results(filled, ResultFilter(round="v5.1"), sort="-throughput", limit=2)
    assert page.total == 5 and names(page.rows) == ["a", "c"] and page.comparable
    assert names(
        list_results(filled, ResultFilter(round="v5.1"), sort="-throughput", limit=2, offset=2).rows
    ) == ["b", "e"]
    assert names(
        list_results(filled, ResultFilter(accelerator="l4", round="v5.1"), sort="throughput").rows
    ) == ["b", "c"]
    assert names(list_results(filled, ResultFilter(min_accuracy_f1=90.6), sort="-accuracy_f1").rows) == [
        "d",
        "old",
        "b",
    ]
    everything = list_results(filled, limit=None)
    assert everything.total == len(everything.rows) == 6 and not everything.comparable
    # cost sorts with unpriced (CPU) rows last
    assert names(list_results(filled, ResultFilter(round="v5.1"), sort="usd_per_million").rows)[-1] == "d"
    with pytest.raises(UsageError, match="cannot sort"):
        list_results(filled, sort="throughput; DROP TABLE results")


def test_no_condition_at_all(filled: Store) -> None:
    """Regression (found by hub-web's API fuzzing): no filter and hidden rows included leaves the
    WHERE list empty; the counts must still select FROM results."""
    with filled.session() as s:
        s.query(Result).filter(Result.system_name == "sys-a").update({"hidden": True})
    assert list_results(filled, ResultFilter(include_hidden=True)).total == 6
    assert list_results(filled).total == 5


def test_user_strings_are_bound_parameters(filled: Store) -> None:
    for evil in ("' OR '1'='1", "%", "_", "x\\", "'; DROP TABLE results; --"):
        assert list_results(filled, ResultFilter(submitter=evil, model=evil)).total == 0
    assert list_results(filled).total == 6


def test_cost_per_million_from_price_table(filled: Store, tmp_path: Path) -> None:
    b = get_result(filled, list_results(filled, ResultFilter(system="sys-b")).rows[0].id)
    l4 = load_price_table().lookup("NVIDIA L4")
    assert b.usd_per_million == pytest.approx(cost_per_million(l4.usd_per_accelerator_hour, 1, 900.0))
    assert "g6.xlarge" in b.price_source and l4.date in b.price_source
    table = tmp_path / "p.json"
    table.write_text(
        json.dumps(
            {
                "prices": [
                    {
                        "match": "l4",
                        "usd_per_hour": 3.6,
                        "accelerators": 1,
                        "source": "test",
                        "date": "2026-01-01",
                    }
                ]
            }
        )
    )
    mine = get_result(filled, b.id, prices=load_price_table(table))
    assert mine.usd_per_million == pytest.approx(3.6 / (900.0 * 3600) * 1e6)


@pytest.mark.parametrize(
    ("entry", "needle"),
    [
        ('{"match": "L4", "usd_per_hour": NaN}', "NaN is not a finite number"),
        ('{"match": "L4", "usd_per_hour": 1e999}', "1e999 is too large"),
        ('{"match": "L4", "usd_per_hour": -1}', "usd_per_hour must be a finite number in [0, 1e+06]"),
        ('{"match": "L4", "usd_per_hour": 1e12}', "usd_per_hour must be a finite number in [0, 1e+06]"),
        ('{"match": "L4", "usd_per_hour": "3"}', "usd_per_hour must be a number"),
        ('{"match": "L4", "usd_per_hour": 1, "accelerators": 0.5}', "accelerators must be a whole number"),
        ('{"match": "", "usd_per_hour": 1}', "non-empty 'match'"),  # "" would price every accelerator
    ],
)
def test_a_price_table_holds_only_plausible_numbers(entry: str, needle: str, tmp_path: Path) -> None:
    table = tmp_path / "p.json"
    table.write_text('{"prices": [' + entry + "]}")
    with pytest.raises(UsageError, match=re.escape(needle)):
        load_price_table(table)


def test_compare_deltas_and_comparability(filled: Store) -> None:
    ids = {r.system_name: r.id for r in list_results(filled, limit=None).rows}
    cmp = compare_results(filled, [ids["sys-b"], ids["sys-c"]])
    tp = next(m for m in cmp.metrics if m.name == "throughput")
    assert tp.values == (900.0, 1700.0) and tp.delta_pct[1] == pytest.approx(800 / 900 * 100)
    assert cmp.comparable and not cmp.note
    mixed = compare_results(filled, [ids["sys-b"], ids["sys-old"]])
    assert not mixed.comparable and "not comparable" in mixed.note
    with pytest.raises(UsageError):
        compare_results(filled, [ids["sys-b"], 99999])


def test_pareto_front_per_comparison_key(filled: Store) -> None:
    front = pareto_front(filled, ResultFilter(), ["throughput", "accuracy"])
    by_key = {g.comparison_key: g for g in front.groups}
    assert set(by_key) == {KEY, OTHER_KEY}
    main = by_key[KEY]
    on = {p.label.split()[-1] for p in main.points if p.on_front}
    assert on == {"sys-a", "sys-b", "sys-d"}  # c and e are dominated by a/b
    three = pareto_front(filled, ResultFilter(round="v5.1"), ["throughput", "accuracy", "energy"]).groups[0]
    # with energy as a third axis c joins: a is faster but spends 0.375 J/sample to c's 0.082
    assert {p.label.split()[-1] for p in three.points if p.on_front} == {"sys-a", "sys-b", "sys-c", "sys-d"}
    cost = pareto_front(filled, ResultFilter(round="v5.1"), ["throughput", "cost"]).groups[0]
    assert cost.total == 4  # the CPU row has no cost and is left out
    with pytest.raises(UsageError):
        pareto_front(filled, None, ["throughput"])
    with pytest.raises(UsageError):
        pareto_front(filled, None, ["throughput", "bogus"])


def test_best_explains_winner_and_runner_up_cost(filled: Store) -> None:
    answer = best_configurations(
        filled, Constraints(scenario="Offline", round="v5.1", min_accuracy_f1=89.96, max_watts=500)
    )
    (group,) = answer.groups
    assert names(group.ranking) == ["b", "e", "d"] and group.meeting == 3 and group.candidates == 5
    assert group.excluded_by == {"F1 >= 89.96": 1, "power <= 500 W": 1}
    text = "\n".join(group.explanation)
    assert "org-b sys-b (1x NVIDIA L4, onnxruntime, fp32) has the highest throughput, 900 samples/s" in text
    assert "the best of 3 configurations meeting the constraints" in text
    # the margin says who is behind, against the winner (900 vs 400 samples/s)
    assert (
        "runner-up: org-e sys-e (1x NVIDIA T4, onnxruntime, fp32), 400 samples/s, 56% lower than the winner"
        in text
    )
    assert "the runner-up costs $" in text and "?" not in text and "ahead" not in text
    assert answer.lead_key == group.comparison_key
    cheap = best_configurations(filled, Constraints(round="v5.1", objective="cost"))
    # $/1M samples: b 0.248, c 0.263, e 0.365, a 1.911; the CPU row has no price and is not ranked
    assert names(cheap.groups[0].ranking) == ["b", "c", "e", "a"]
    none = best_configurations(filled, Constraints(round="v5.1", min_accuracy_f1=99.0))
    assert none.groups[0].ranking == () and "no configuration meets" in none.groups[0].explanation[0]
    both = best_configurations(filled, Constraints(min_accuracy_f1=89.96))
    assert len(both.groups) == 2 and "not comparable" in both.comparable_note
    assert both.lead_key == KEY  # the newest round leads (v5.1 over v5.0, whatever the sizes)
    json.dumps(to_jsonable(both))


def test_best_reads_right_for_one_configuration_and_vendor_named_systems(store: Store) -> None:
    add(store, "x", "NVIDIA H100", 8, 8000.0, 90.5, 3000.0, submitter="NVIDIA", system_name="NVIDIA DGX H100",
        precision="")  # fmt: skip
    (group,) = best_configurations(store, Constraints(scenario="Offline")).groups
    text = "\n".join(group.explanation)
    assert text.startswith("NVIDIA DGX H100 (8x NVIDIA H100, onnxruntime) has")  # no doubled vendor, no "?"
    assert "the only configuration meeting the constraints" in text and "1 configurations" not in text
    assert group.ranking[0].label == "NVIDIA DGX H100"


@pytest.mark.parametrize(
    "axes", [("throughput", "accuracy"), ("throughput", "accuracy", "energy"), ("latency", "accuracy")]
)
def test_pareto_front_matches_brute_force(store: Store, axes: tuple[str, ...]) -> None:
    rng = random.Random(7)
    for i in range(120):
        tp = float(rng.choice([100, 200, 300, 400]) + rng.randrange(3))  # ties on purpose
        add(
            store,
            f"r{i}",
            "NVIDIA L4",
            1,
            tp,
            round(rng.uniform(89, 91), 1),
            rng.uniform(50, 300),
            latency_ms=float(rng.randrange(1, 40)),
        )
    (group,) = pareto_front(store, None, list(axes)).groups
    sign = {"throughput": 1, "accuracy": 1, "energy": -1, "latency": -1}
    pts = {p.id: tuple(sign[a] * c for a, c in zip(axes, p.coords, strict=True)) for p in group.points}

    def dominated(q: tuple[float, ...]) -> bool:
        return any(o != q and all(a >= b for a, b in zip(o, q, strict=True)) for o in pts.values())

    expected = {i for i, q in pts.items() if not dominated(q)}
    # equal points: exactly one of a duplicate set is kept
    assert {pts[i] for i in group.front_ids} == {pts[i] for i in expected}
    assert len(group.front_ids) == len({pts[i] for i in group.front_ids})


def test_zero_accelerators_have_no_cost(store: Store) -> None:
    """Some official systems name an accelerator with accelerators_per_node 0: no price, not free."""
    add(store, "zero", "NVIDIA T4", 0, 100.0, 90.0, 70.0)
    assert list_results(store).rows[0].usd_per_million is None


def test_pareto_points_are_the_whole_front_then_the_lowest_ids_up_to_max_points(store: Store) -> None:
    """Two keys; max_points caps the dominated points handed out, never the front."""
    for i in range(30):
        tp, f1 = 100.0 + (i * 37) % 29, 89.0 + ((i * 11) % 17) / 10
        add(store, f"p{i}", "NVIDIA L4", 1, tp, f1, 70.0)
        add(store, f"q{i}", "NVIDIA T4", 1, tp, f1, 70.0, round="v5.0", comparison_key=OTHER_KEY)
    whole = pareto_front(store, None, ["throughput", "accuracy"])
    assert [g.total for g in whole.groups] == [30, 30] and all(len(g.points) == 30 for g in whole.groups)
    capped = pareto_front(store, None, ["throughput", "accuracy"], max_points=0)
    for full, cut in zip(whole.groups, capped.groups, strict=True):
        assert cut.comparison_key == full.comparison_key and cut.total == 30
        assert cut.front_ids == full.front_ids and {p.id for p in cut.points} == set(full.front_ids)
        assert all(p.on_front for p in cut.points)
    some = pareto_front(
        store, None, ["throughput", "accuracy"], max_points=len(whole.groups[0].front_ids) + 3
    )
    group, full = some.groups[0], whole.groups[0]
    dominated = sorted(p.id for p in full.points if not p.on_front)
    assert [p.id for p in group.points if not p.on_front] == dominated[:3]
    assert [p.on_front for p in group.points] == sorted((p.on_front for p in group.points), reverse=True)
    by_id = {p.id: p for p in full.points}
    assert all(by_id[p.id] == p for p in group.points)  # same labels and coordinates
    # a chart draws one key: only that group (or the largest, groups[0]) gets dominated points
    focused = pareto_front(store, None, ["throughput", "accuracy"], focus=OTHER_KEY)
    for g, full in zip(focused.groups, whole.groups, strict=True):
        wanted = full.points if g.comparison_key == OTHER_KEY else [p for p in full.points if p.on_front]
        assert g.points == tuple(wanted) and g.front_ids == full.front_ids
    largest = pareto_front(store, None, ["throughput", "accuracy"], focus="").groups
    assert largest[0].points == whole.groups[0].points and all(p.on_front for p in largest[1].points)
