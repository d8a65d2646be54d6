"""How crowdperf's SUT fed LoadGen, on import: provenance.json's ``batch_size`` and
``sut_workers_per_device`` land in the row; a result without provenance.json (official results,
older trees) or with an older record has NULL; a provenance.json the hub cannot use costs only
those columns (NULL and a note), never the result. Hashes of trees without provenance.json are
the ones stored before migration 0005, and a row stored from such a tree is updated, not doubled,
when its tree comes back with provenance.json. Migration 0005 up and down. SQLite and PostgreSQL."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

import pytest
from alembic import command
from alembic.config import Config
from hub_trees import Entry, write_tree
from sqlalchemy import func, inspect, select, text

from crowdperf.hub.importer import content_hash, discover, import_tree
from crowdperf.hub.models import Result
from crowdperf.hub.store import MIGRATIONS_DIR, Store

RESULT = "open/crowdperf-org/results/{system}/bert-99/Offline"
PROVENANCE = RESULT + "/performance/run_1/provenance.json"


def provenance(**fields: object) -> str:
    """A provenance.json as a run writes it (the fields the hub reads, and some it does not)."""
    return json.dumps(
        {"schema": "crowdperf.provenance/2", "model": "bert-99", "scenario": "Offline", **fields}
    )


def _rows(store: Store) -> dict[str, Result]:
    with store.session() as s:
        return {r.system_name: r for r in s.scalars(select(Result))}


def _tree(tmp_path: Path, logs: Path, **provenances: str | None) -> Path:
    entries = [Entry(system, "Offline", logs, provenance=text) for system, text in provenances.items()]
    return write_tree(tmp_path / "sub", entries, division="open", layout="v6")


def test_provenance_fields_are_imported_and_absent_ones_are_null(
    store: Store, lg_logs, tmp_path: Path
) -> None:
    tree = _tree(
        tmp_path, lg_logs["Offline"],
        gpu=provenance(batch_size=1024, sut_workers_per_device=2),
        inline=provenance(batch_size=1, sut_workers_per_device=0),
        older=provenance(),  # a record from before session 6
        official=None,  # no provenance.json at all
    )  # fmt: skip
    report = import_tree(store, tree)
    assert (report.imported, report.failed) == (4, ())
    rows = _rows(store)
    scheduling = {name: (r.batch_size, r.sut_workers_per_device) for name, r in rows.items()}
    assert scheduling == {"gpu": (1024, 2), "inline": (1, 0), "older": (None, None), "official": (None, None)}
    assert all("provenance" not in r.checker_notes for r in rows.values())


UNUSABLE = {
    "corrupt JSON": ("{not json", "provenance.json unusable"),
    "a NUL byte": ("\x00{}", "provenance.json unusable"),
    "not an object": ("[1024, 2]", "not a JSON object"),
    "a string": (provenance(batch_size="1024"), "batch_size = '1024' is not a whole number"),
    "a float": (provenance(batch_size=1024.0), "is not a whole number"),
    "a boolean": (provenance(sut_workers_per_device=True), "is not a whole number"),
    "zero batch": (provenance(batch_size=0), "batch_size = 0 is not in [1, 1e+09] samples per batch"),
    "negative workers": (
        provenance(sut_workers_per_device=-1),
        "sut_workers_per_device = -1 is not in [0, 1e+06]",
    ),
    "past 64 bits": (provenance(batch_size=2**70), f"batch_size = {2**70} is not in"),
}


@pytest.mark.parametrize("case", list(UNUSABLE))
def test_an_unusable_provenance_json_costs_only_its_columns(
    store: Store, lg_logs, tmp_path: Path, case: str
) -> None:
    body, note = UNUSABLE[case]
    report = import_tree(store, _tree(tmp_path, lg_logs["Offline"], box=body))
    assert (report.imported, report.failed) == (1, ()), report
    row = _rows(store)["box"]
    assert (row.batch_size, row.sut_workers_per_device) == (None, None)
    assert note in row.checker_notes


def test_one_good_field_is_kept_beside_a_bad_one(store: Store, lg_logs, tmp_path: Path) -> None:
    import_tree(
        store, _tree(tmp_path, lg_logs["Offline"], box=provenance(batch_size=64, sut_workers_per_device="x"))
    )
    row = _rows(store)["box"]
    assert (row.batch_size, row.sut_workers_per_device) == (64, None)
    assert "sut_workers_per_device = 'x' is not a whole number" in row.checker_notes


def _hash_before_0005(tree: Path) -> str:
    """The content hash as the hub computed it before it read provenance.json (importer.py at
    session 6): the canonical path, then each file's name and bytes, in this order."""
    (where,) = discover(tree)
    h = hashlib.sha256(where.rel.encode())
    files = [where.perf_dir / "mlperf_log_detail.txt", where.perf_dir / "mlperf_log_summary.txt",
             where.accuracy_txt, where.system_json, where.perf_dir / "spl.txt", where.perf_dir / "power.json",
             *where.measurement_files]  # fmt: skip
    for f in (f for f in files if f.is_file()):
        h.update(b"\0" + f.name.encode() + b"\0")
        h.update(f.read_bytes())
    return h.hexdigest()


def test_a_tree_without_provenance_json_keeps_the_hash_stored_before(lg_logs, tmp_path: Path) -> None:
    for layout in ("v5", "v6", "official"):
        tree = write_tree(tmp_path / layout, [Entry("box", "Offline", lg_logs["Offline"])], layout=layout)
        (where,) = discover(tree)
        assert content_hash(where) == _hash_before_0005(tree), layout


def test_provenance_json_is_part_of_the_result_identity(store: Store, lg_logs, tmp_path: Path) -> None:
    tree = _tree(tmp_path, lg_logs["Offline"], box=provenance(batch_size=32, sut_workers_per_device=1))
    assert import_tree(store, tree).imported == 1
    assert import_tree(store, tree).unchanged == 1
    assert import_tree(store, tree / "open").unchanged == 1  # from any folder of the tree


def _regenerate_with_provenance(tree: Path, text: str) -> None:
    (tree / PROVENANCE.format(system="box")).write_text(text)


def test_a_row_stored_without_provenance_json_is_updated_not_doubled(
    store: Store, lg_logs, tmp_path: Path
) -> None:
    """A tree imported before v6 trees carried provenance.json, generated again since: the same
    result, the same source: the stored row takes the new hash and the scheduling."""
    tree = _tree(tmp_path, lg_logs["Offline"], box=None)
    assert import_tree(store, tree, source="alice").imported == 1
    old_hash = _rows(store)["box"].content_hash
    _regenerate_with_provenance(tree, provenance(batch_size=1024, sut_workers_per_device=2))
    again = import_tree(store, tree, source="alice")
    assert (again.imported, again.updated, again.unchanged) == (0, 1, 0)
    with store.session() as s:
        assert s.scalar(select(func.count()).select_from(Result)) == 1
    row = _rows(store)["box"]
    assert (row.batch_size, row.sut_workers_per_device) == (1024, 2) and row.content_hash != old_hash
    assert import_tree(store, tree, source="alice").unchanged == 1


def test_an_older_record_is_updated_too_and_never_twice(store: Store, lg_logs, tmp_path: Path) -> None:
    tree = _tree(tmp_path, lg_logs["Offline"], box=None)
    import_tree(store, tree)
    _regenerate_with_provenance(tree, provenance())  # no scheduling fields: the row stays NULL
    assert import_tree(store, tree).updated == 1
    assert import_tree(store, tree).unchanged == 1
    assert (_rows(store)["box"].batch_size, len(_rows(store))) == (None, 1)


def test_another_source_s_provenance_never_lands_in_a_stored_row(
    store: Store, lg_logs, tmp_path: Path
) -> None:
    tree = _tree(tmp_path, lg_logs["Offline"], box=None)
    assert import_tree(store, tree, source="mlcommons").imported == 1
    _regenerate_with_provenance(tree, provenance(batch_size=4096, sut_workers_per_device=8))
    other = import_tree(store, tree, source="upload:mallory", uploader="mallory")
    assert (other.imported, other.updated) == (1, 0)
    with store.session() as s:
        rows = {r.source: r for r in s.scalars(select(Result))}
    assert rows["mlcommons"].batch_size is None
    assert (rows["upload:mallory"].batch_size, rows["upload:mallory"].uploader) == (4096, "mallory")


def _migrate(store: Store, action: str, revision: str) -> None:
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS_DIR))
    with store.engine.begin() as conn:
        config.attributes["connection"] = conn
        getattr(command, action)(config, revision)


def _columns(store: Store) -> set[str]:
    return {c["name"] for c in inspect(store.engine).get_columns("results")}


def test_migration_0005_up_and_down_keeps_rows_and_the_write_version(
    store: Store, lg_logs, tmp_path: Path
) -> None:
    import_tree(
        store, _tree(tmp_path, lg_logs["Offline"], box=provenance(batch_size=8, sut_workers_per_device=1))
    )
    _migrate(store, "downgrade", "0004")
    assert not {"batch_size", "sut_workers_per_device"} & _columns(store)
    before = store.write_version()
    with store.session() as s:  # migration 0003's triggers survived the downgrade
        s.execute(text("UPDATE results SET hidden = NOT hidden"))
    assert store.write_version() > before
    _migrate(store, "upgrade", "heads")
    assert {"batch_size", "sut_workers_per_device"} <= _columns(store)
    row = _rows(store)["box"]  # the row is kept; what 0005 reads was lost with the columns
    assert (row.batch_size, row.sut_workers_per_device) == (None, None)
