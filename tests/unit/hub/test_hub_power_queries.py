"""Ranking and filtering by power and energy with the meter shown: meter and power filters, the
power axis and objective, energy cost from a price per kWh, and the warning whenever a list,
comparison, front or ranking holds figures of different meters (a software meter's number is
never compared with a PTD number without saying so). SQLite and PostgreSQL alike."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from test_hub_queries import KEY, add

from crowdperf.errors import UsageError
from crowdperf.hub.prices import load_price_table
from crowdperf.hub.queries import best_configurations, compare_results, list_results, pareto_front
from crowdperf.hub.query_types import Constraints, ResultFilter, to_jsonable
from crowdperf.hub.store import Store

# name, accelerator, count, samples/s, F1, watts, meter
POWERED = [
    ("dgx", "NVIDIA H100-SXM-80GB", 8, 8000.0, 90.5, 5600.0, "ptd"),  # 0.7 J/sample, the whole system
    ("h100", "NVIDIA H100-SXM-80GB", 1, 1200.0, 90.4, 690.0, "nvml"),  # 0.575 J/sample, the board only
    ("l4", "NVIDIA L4", 1, 900.0, 90.6, 70.0, "nvml"),  # 0.078 J/sample
    ("cpu", "", 0, 50.0, 90.8, 120.0, "rapl"),  # 2.4 J/sample
]


@pytest.fixture
def powered(store: Store) -> Store:
    for name, accel, count, tp, f1, watts, meter in POWERED:
        add(store, name, accel, count, tp, f1, watts, power_meter=meter,
            power_scope="system" if meter == "ptd" else "devices")  # fmt: skip
    add(store, "dark", "NVIDIA L4", 1, 950.0, 90.6, 1.0, power_w=None, energy_j_per_sample=None,
        power_meter="none")  # fmt: skip
    return store


def names(rows) -> list[str]:
    return [r.system_name.removeprefix("sys-") for r in rows]


def test_filters_by_meter_watts_and_joules(powered: Store) -> None:
    def listed(**flt: object) -> list[str]:
        return names(list_results(powered, ResultFilter(**flt), sort="id").rows)

    assert listed(meter="nvml") == ["h100", "l4"]
    assert listed(meter="ptd") == ["dgx"] and listed(meter="none") == ["dark"]
    assert listed(max_watts=700) == ["h100", "l4", "cpu"]  # a result without a figure fails a maximum
    assert listed(max_joules_per_sample=0.6) == ["h100", "l4"]
    assert listed(meter="nvml", max_joules_per_sample=0.1) == ["l4"]
    page = list_results(powered, sort="energy_usd_per_million")
    assert names(page.rows) == ["l4", "h100", "dgx", "cpu", "dark"]
    assert names(list_results(powered, sort="power_meter,id").rows)[:3] == ["dark", "h100", "l4"]


@pytest.mark.parametrize("bad", ["NVML", "nvml; drop table results", "x" * 40, "ptd\x00"])
def test_a_meter_filter_that_names_no_meter_is_a_usage_error(bad: str) -> None:
    with pytest.raises(UsageError, match="meter"):
        ResultFilter(meter=bad)
    with pytest.raises(UsageError):
        Constraints(meter=bad)


@pytest.mark.parametrize("value", [float("inf"), float("nan"), -1.0, 1e16])
def test_power_limits_must_be_plausible(value: float) -> None:
    with pytest.raises(UsageError):
        ResultFilter(max_joules_per_sample=value)
    with pytest.raises(UsageError):
        Constraints(max_watts=value)


def test_a_list_mixing_meters_says_so_and_one_meter_does_not(powered: Store) -> None:
    page = list_results(powered)
    assert page.power_meters == ("nvml", "ptd", "rapl")
    assert (
        page.meter_note.startswith("software-meter and PTD power mixed") and "--meter nvml" in page.meter_note
    )
    one = list_results(powered, ResultFilter(meter="nvml"))
    assert (one.power_meters, one.meter_note) == (("nvml",), "")
    data = to_jsonable(page)
    assert data["meter_note"] == page.meter_note and data["rows"][0]["power_meter"]


def test_compare_gives_no_delta_between_meters(powered: Store) -> None:
    ids = {r.system_name.removeprefix("sys-"): r.id for r in list_results(powered, limit=None).rows}
    cmp = compare_results(powered, [ids["h100"], ids["dgx"], ids["l4"]])
    energy = next(m for m in cmp.metrics if m.name == "energy_j_per_sample")
    assert energy.meters == ("nvml", "ptd", "nvml")
    assert energy.delta_pct[1] is None and energy.delta_pct[2] == pytest.approx(
        (70 / 900 - 0.575) / 0.575 * 100
    )
    throughput = next(m for m in cmp.metrics if m.name == "throughput")
    assert throughput.meters == () and throughput.delta_pct[1] is not None
    assert "software-meter and PTD power mixed" in cmp.meter_note and "no delta" in cmp.meter_note
    same = compare_results(powered, [ids["h100"], ids["l4"]])
    assert same.meter_note == ""


def test_a_front_over_power_names_its_meters(powered: Store) -> None:
    front = pareto_front(powered, None, ["throughput", "energy"])
    (group,) = front.groups
    assert group.power_meters == ("nvml", "ptd", "rapl") and "this front" in group.meter_note
    assert {p.power_meter for p in group.points} == {"nvml", "ptd", "rapl"}
    by_power = pareto_front(powered, ResultFilter(meter="nvml"), ["throughput", "power"])
    assert by_power.groups[0].meter_note == "" and by_power.groups[0].total == 2
    plain = pareto_front(powered, None, ["throughput", "accuracy"])
    assert plain.groups[0].meter_note == "" and plain.groups[0].power_meters == ()


def test_best_by_energy_warns_across_meters_and_restricts_to_one(powered: Store) -> None:
    mixed = best_configurations(powered, Constraints(objective="energy"))
    (group,) = mixed.groups
    assert names(group.ranking)[:2] == ["l4", "h100"]
    assert group.power_meters == ("nvml", "ptd", "rapl") and "this ranking" in group.meter_note
    text = "\n".join(group.explanation)
    assert "0.07778 J/sample (nvml)" in text and "per million samples at $0.13/kWh for" in text
    one = best_configurations(powered, Constraints(objective="power", meter="nvml")).groups[0]
    assert names(one.ranking) == ["l4", "h100"] and one.meter_note == ""
    capped = best_configurations(powered, Constraints(max_joules_per_sample=1.0, objective="throughput"))
    cut = capped.groups[0]
    assert names(cut.ranking) == ["dgx", "h100", "l4"] and cut.excluded_by["energy <= 1 J/sample"] == 2
    assert "software-meter and PTD power mixed" in cut.meter_note  # the constraint applied to both


def test_runner_up_of_another_meter_is_not_given_a_margin(powered: Store) -> None:
    group = best_configurations(powered, Constraints(objective="energy", accelerator="h100")).groups[0]
    assert names(group.ranking) == ["h100", "dgx"]
    assert group.explanation[2].endswith("0.7 J/sample (ptd), not comparable: nvml vs ptd")


def test_energy_price_comes_from_the_table_and_is_labelled(powered: Store, tmp_path: Path) -> None:
    builtin = load_price_table()
    assert builtin.energy is not None and "override" in builtin.energy.note and builtin.energy.date
    table = tmp_path / "prices.json"
    table.write_text(
        json.dumps({"prices": [], "energy": {"usd_per_kwh": 0.36, "source": "me", "date": "2026"}})
    )
    l4 = list_results(powered, ResultFilter(meter="nvml"), sort="energy_j_per_sample",
                      prices=load_price_table(table)).rows[0]  # fmt: skip
    assert l4.energy_usd_per_million == pytest.approx(70 / 900 * 1e6 / 3.6e6 * 0.36)
    assert l4.energy_price_source == "$0.36/kWh (me, 2026)" and l4.usd_per_million is None
    table.write_text(json.dumps({"prices": []}))
    assert list_results(powered, prices=load_price_table(table)).rows[0].energy_usd_per_million is None
    where = {"source": "s", "date": "d"}
    for bad in ({"usd_per_kwh": -1, **where}, {"usd_per_kwh": 1e9, **where}, where, [0.1]):
        table.write_text(json.dumps({"prices": [], "energy": bad}))
        with pytest.raises(UsageError):
            load_price_table(table)


def test_stored_power_without_a_recorded_meter_reads_as_unrecorded(store: Store) -> None:
    """Rows written around the importer (plain SQL, a database filled by hand) keep a NULL meter."""
    add(store, "a", "NVIDIA L4", 1, 900.0, 90.6, 70.0, power_meter="nvml")
    add(store, "b", "NVIDIA L4", 1, 800.0, 90.6, 60.0)  # power_meter NULL
    page = list_results(store)
    assert page.power_meters == ("nvml", "unrecorded") and "meter not recorded" in page.meter_note
    assert page.rows[1].power_text().endswith("(meter not recorded)")
    assert page.rows[0].comparison_key == KEY
