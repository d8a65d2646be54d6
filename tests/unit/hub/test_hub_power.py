"""Power on import: PTD's spl.txt is "ptd" (the system at the wall), crowdperf's power.json names its
software meter (nvml, rapl) and what it measured; a power.json the hub cannot use costs only the
power (null, meter "none", a note naming the file inside the tree), never the result, never a
500 and never a zero; a row stored before the hub read power.json is brought up to date by the
next import instead of being stored twice. SQLite and PostgreSQL alike."""

from __future__ import annotations

import json
import math
from collections.abc import Callable
from pathlib import Path

import pytest
from hub_trees import Entry, logged_throughput, power_json, write_tree
from sqlalchemy import func, select, update

from crowdperf.hub.importer import import_tree
from crowdperf.hub.models import Result
from crowdperf.hub.queries import best_configurations, list_results, pareto_front
from crowdperf.hub.query_types import Constraints, HubResult, ResultFilter
from crowdperf.hub.store import Store

RESULT = "open/crowdperf-org/results/box/bert-99/Offline"
POWER_FILE = f"{RESULT}/performance/run_1/power.json"


def _import_one(store: Store, tmp_path: Path, entry: Entry, **tree: str) -> HubResult:
    report = import_tree(store, write_tree(tmp_path / "sub", [entry], **{"division": "open", **tree}))
    assert report.imported == 1 and not report.failed, report
    (row,) = list_results(store, ResultFilter(include_hidden=True)).rows
    return row


def test_power_json_is_imported_with_its_meter_and_what_it_measured(
    store: Store, lg_logs, tmp_path: Path
) -> None:
    logs = lg_logs["Offline"]
    r = _import_one(store, tmp_path, Entry("box", "Offline", logs, power_json=power_json(logs, 651.0)))
    assert (r.power_meter, r.power_scope) == ("nvml", "devices")
    assert r.power_w == pytest.approx(651.0)
    assert r.energy_j_per_sample == pytest.approx(651.0 / logged_throughput(logs))
    assert r.power_note == "devices: cuda:0 NVIDIA H200 (GPU-5c1e)"
    assert r.power_text().endswith("(nvml)")
    # the builtin price table prices a kWh: the energy cost is the metered energy at that price
    assert r.energy_usd_per_million == pytest.approx(r.energy_j_per_sample * 1e6 / 3.6e6 * 0.13)
    assert "/kWh" in (r.energy_price_source or "")


def test_spl_txt_is_ptd_and_wins_over_a_power_json_beside_it(store: Store, lg_logs, tmp_path: Path) -> None:
    logs = lg_logs["OfflinePower"]
    entry = Entry("box", "Offline", logs, watts=412.5, power_json=power_json(logs, 300.0))
    r = _import_one(store, tmp_path, entry, layout="official")
    assert (r.power_meter, r.power_scope, r.power_w) == ("ptd", "system", pytest.approx(412.5))
    assert "power.json also present" in (r.power_note or "")


def test_no_power_file_is_meter_none(store: Store, lg_logs, tmp_path: Path) -> None:
    r = _import_one(store, tmp_path, Entry("box", "Offline", lg_logs["Offline"]))
    assert (r.power_meter, r.power_w, r.energy_j_per_sample, r.power_note) == ("none", None, None, None)
    assert r.energy_usd_per_million is None and r.power_text() == "n/a"


def test_a_run_that_could_not_measure_records_why(store: Store, lg_logs, tmp_path: Path) -> None:
    text = json.dumps({
        "schema": "crowdperf.power/1", "meters": [], "window": None, "samples_file": None,
        "summary": {"meter": None, "unavailable": "rapl: no /sys/class/powercap (a container)"},
    })  # fmt: skip
    r = _import_one(store, tmp_path, Entry("box", "Offline", lg_logs["Offline"], power_json=text))
    assert (r.power_meter, r.power_w) == ("none", None)
    assert r.power_note == "unavailable in the run: rapl: no /sys/class/powercap (a container)"


def _summary(**fields: object) -> Callable[[Path], str]:
    return lambda logs: power_json(logs, **fields)


def _raw(text: str) -> Callable[[Path], str]:
    return lambda logs: text


def _edited(edit: Callable[[dict], None]) -> Callable[[Path], str]:
    def make(logs: Path) -> str:
        data = json.loads(power_json(logs))
        edit(data)
        return json.dumps(data)

    return make


# name -> (power.json for the log directory, what the note must say)
POISONED: dict[str, tuple[Callable[[Path], str], str]] = {
    "corrupt JSON": (_raw('{"schema": "crowdperf.power/1", "summary": {'), "Expecting"),
    "not JSON at all, with a NUL byte": (_raw("\x00\x01garbage"), "Expecting value"),
    "another schema": (_edited(lambda d: d.update(schema="crowdperf.power/9")), "not a crowdperf.power/1"),
    "a list": (_raw("[1, 2]"), "not a crowdperf.power/1"),
    "summary not an object": (_edited(lambda d: d.update(summary=[])), "not an object"),
    "mean_w Infinity": (_raw(""), "'mean_w' is inf"),  # written below: JSON's Infinity token
    "mean_w NaN": (_raw(""), "'mean_w' is nan"),
    "mean_w negative": (_summary(mean_w=-5.0), "'mean_w' is -5.0"),
    "mean_w a string": (_summary(mean_w="650"), "'mean_w' is '650'"),
    "mean_w 1e308": (_summary(mean_w=1e308), "mean_w = 1e+308 is not a finite number"),
    "mean_w zero": (_summary(mean_w=0.0), "mean_w = 0.0 is not a finite number"),
    "joules_per_sample zero": (_summary(joules_per_sample=0.0), "joules_per_sample = 0.0"),
    "joules_per_sample inconsistent": (_summary(joules_per_sample=1e-9), "disagrees with mean_w"),
    "meter calls itself ptd": (_summary(meter="ptd"), "PTD power comes only from spl.txt"),
    "meter joins ptd": (_summary(meter="nvml+ptd"), "PTD power comes only from spl.txt"),
    "meter none with figures": (_summary(meter="none"), "not a software meter's name"),
    "meter with markup": (_summary(meter="<b>nvml</b>"), "not a software meter's name"),
    "meter too long": (_summary(meter="n" * 40), "not a software meter's name"),
    "meter with an escaped NUL": (_summary(meter="nv\u0000ml"), "not a software meter's name"),
    "figures and no meter": (_summary(meter=None), "names its meter and figures"),
    "role unknown": (_edited(lambda d: d["meters"][0].update(role="wall")), "not one of devices, host"),
    "role a list": (_edited(lambda d: d["meters"][0].update(role=["devices"])), "not one of devices, host"),
    "devices with an escaped NUL": (
        _edited(lambda d: d["meters"][0].update(devices=["cuda:0 \u0000"])),
        "NUL character",
    ),
}  # fmt: skip


def _poisoned_text(name: str, logs: Path) -> str:
    make, _ = POISONED[name]
    if name.startswith("mean_w Infinity") or name.startswith("mean_w NaN"):
        token = "Infinity" if "Infinity" in name else "NaN"
        return power_json(logs).replace('"mean_w": 650.0', f'"mean_w": {token}', 1)
    return make(logs)


@pytest.mark.parametrize("name", list(POISONED))
def test_an_unusable_power_json_costs_only_the_power(
    store: Store, lg_logs, tmp_path: Path, name: str
) -> None:
    logs = lg_logs["Offline"]
    entries = [
        Entry("box", "Offline", logs, power_json=_poisoned_text(name, logs)),
        Entry("good", "Offline", logs, power_json=power_json(logs, 300.0)),
    ]
    report = import_tree(store, write_tree(tmp_path / "sub", entries, division="open"))
    assert report.imported == 2 and not report.failed, report
    rows = {r.system_name: r for r in list_results(store).rows}
    bad = rows["box"]
    assert (bad.power_meter, bad.power_w, bad.energy_j_per_sample) == ("none", None, None)
    note = bad.power_note or ""
    assert note.startswith(f"power not used: {POWER_FILE}: ") and POISONED[name][1] in note, note
    assert str(tmp_path) not in note and "\x00" not in note
    assert rows["good"].power_meter == "nvml" and bad.throughput == rows["good"].throughput
    with store.session() as s:
        stored = s.execute(select(Result.power_w, Result.energy_j_per_sample)).all()
    assert all(v is None or (math.isfinite(v) and v > 0) for row in stored for v in row)
    # every read that ranks or draws power still answers
    assert pareto_front(store, None, ["throughput", "energy"]).groups[0].total == 1
    assert best_configurations(store, Constraints(objective="power", valid_only=False)).groups


def test_power_json_is_part_of_the_result_identity(store: Store, lg_logs, tmp_path: Path) -> None:
    logs = lg_logs["Offline"]
    tree = write_tree(
        tmp_path / "sub", [Entry("box", "Offline", logs, power_json=power_json(logs))], division="open"
    )
    assert import_tree(store, tree).imported == 1
    assert import_tree(store, tree).unchanged == 1
    (tree / POWER_FILE).write_text(power_json(logs, 500.0))
    assert import_tree(store, tree).imported == 1  # another measurement: another row


def test_a_row_stored_before_power_json_was_read_is_updated_not_doubled(
    store: Store, lg_logs, tmp_path: Path
) -> None:
    logs = lg_logs["Offline"]
    tree = write_tree(
        tmp_path / "sub", [Entry("box", "Offline", logs, power_json=power_json(logs))], division="open"
    )
    assert import_tree(store, tree).imported == 1
    with store.session() as s:  # what migration 0004 leaves of a row imported before it
        s.execute(update(Result).values(
            content_hash="hash-without-power-json", power_meter=None, power_scope=None, power_w=None,
            energy_j_per_sample=None, power_note=None,
        ))  # fmt: skip
    again = import_tree(store, tree)
    assert (again.imported, again.updated, again.unchanged) == (0, 1, 0)
    with store.session() as s:
        assert s.scalar(select(func.count()).select_from(Result)) == 1
        row = s.scalars(select(Result)).one()
    assert row.power_meter == "nvml" and row.power_w == pytest.approx(650.0)
    assert row.content_hash != "hash-without-power-json"
    assert import_tree(store, tree).unchanged == 1


def test_another_source_s_power_json_never_lands_in_a_row_stored_before(
    store: Store, lg_logs, tmp_path: Path
) -> None:
    """An official row stored without power (before 0004) and someone uploading the same files with a
    power.json of their own: theirs is their row; the official row keeps no figure."""
    logs = lg_logs["Offline"]
    tree = write_tree(
        tmp_path / "sub", [Entry("box", "Offline", logs, power_json=power_json(logs))], division="open"
    )
    assert import_tree(store, tree, source="mlcommons").imported == 1
    with store.session() as s:
        s.execute(update(Result).values(
            content_hash="hash-without-power-json", power_meter=None, power_scope=None, power_w=None,
            energy_j_per_sample=None, power_note=None,
        ))  # fmt: skip
    other = import_tree(store, tree, source="upload:mallory", uploader="mallory")
    assert (other.imported, other.updated) == (1, 0)
    with store.session() as s:
        rows = {r.source: r for r in s.scalars(select(Result))}
    assert rows["mlcommons"].power_meter is None and rows["mlcommons"].power_w is None
    assert rows["upload:mallory"].power_meter == "nvml" and rows["upload:mallory"].uploader == "mallory"
