"""Migration 0003 on a database filled before it: paths made canonical, the submitter taken from
its folder, results stored twice reduced to one row, hashes computed over an old path marked
legacy and re-keyed by the next import of the same tree; the write version moves with every
change of results."""

from __future__ import annotations

from pathlib import Path

from alembic import command
from alembic.config import Config
from hub_trees import Entry, write_tree
from sqlalchemy import create_engine, insert, select, text

from crowdperf.hub.importer import import_tree
from crowdperf.hub.models import Result
from crowdperf.hub.store import MIGRATIONS_DIR, database_url, open_store


def _old_database(path: Path) -> str:
    url = database_url(path)
    engine = create_engine(url)
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS_DIR))
    with engine.begin() as conn:
        config.attributes["connection"] = conn
        command.upgrade(config, "0002")
        command.upgrade(config, "w001")
    engine.dispose()
    return url


def _row(path: str, content_hash: str, **over: object) -> dict[str, object]:
    return {
        "content_hash": content_hash, "comparison_key": "k", "benchmark": "mlperf-inference",
        "round": "v3.0", "division": "closed", "category": "edge", "submitter": "nvidia", "availability": "",
        "system_name": "s", "host_cpu": "", "accelerator": "", "accelerator_count": 0, "software": "",
        "backend": "", "precision": "", "model": "bert-99", "scenario": "Offline", "metric": "m",
        "unit": "samples/s", "value": 1.0,
        "valid": True, "loadgen_version": "", "settings_json": "{}", "system_json": "{}", "summary_text": "",
        "source": "t", "path": path, "checker_verdict": "unchecked", "checker_notes": "", "hidden": False,
        **over,
    }  # fmt: skip


def test_old_rows_are_made_canonical_and_duplicates_dropped(tmp_path: Path) -> None:
    url = _old_database(tmp_path / "hub.sqlite")
    engine = create_engine(url)
    with engine.begin() as conn:
        conn.execute(insert(Result), [
            _row("closed/NVIDIA/results/a/bert-99/Offline", "h1"),            # from the tree root
            _row("NVIDIA/results/a/bert-99/Offline", "h2"),                   # the same, from closed/
            _row("NVIDIA/results/b/bert-99/Offline", "h3", value=2.0),        # another, from closed/
            _row("x/y/inference_results_v3.0/closed/NVIDIA/results/c/m/s", "h4"),
        ])  # fmt: skip
    engine.dispose()
    store = open_store(tmp_path / "hub.sqlite")
    with store.session() as s:
        rows = {r.path: r for r in s.scalars(select(Result))}
    assert set(rows) == {
        "closed/NVIDIA/results/a/bert-99/Offline",
        "closed/NVIDIA/results/b/bert-99/Offline",
        "closed/NVIDIA/results/c/m/s",
    }
    assert rows["closed/NVIDIA/results/a/bert-99/Offline"].content_hash == "h1"  # the lowest id stays
    assert rows["closed/NVIDIA/results/b/bert-99/Offline"].content_hash.startswith("legacy:h3")
    assert {r.submitter for r in rows.values()} == {"NVIDIA"}
    before = store.write_version()
    with store.session() as s:
        s.execute(text("UPDATE results SET hidden = 1 WHERE content_hash = 'h1'"))
    assert store.write_version() > before
    store.close()


def test_the_next_import_rekeys_a_legacy_row(tmp_path: Path, lg_logs) -> None:
    tree = write_tree(tmp_path / "tree", [Entry("box", "Offline", lg_logs["Offline"])], layout="official")
    store = open_store(tmp_path / "hub.sqlite")
    assert import_tree(store, tree).imported == 1
    with store.session() as s:  # what migration 0003 leaves of a row imported from closed/ before
        s.execute(text("UPDATE results SET content_hash = 'legacy:' || substr(content_hash, 1, 57)"))
    again = import_tree(store, tree / "closed")
    assert (again.imported, again.unchanged) == (0, 1)
    with store.session() as s:
        assert not s.scalars(select(Result.content_hash)).one().startswith("legacy:")
    assert import_tree(store, tree).unchanged == 1
    store.close()


def test_migration_0004_names_the_meter_of_figures_stored_before(tmp_path: Path) -> None:
    """Until 0004 only spl.txt gave power: a stored figure is PTD's; a row without one keeps NULL
    ("imported before the hub read power.json"), which the next import of its tree updates."""
    url = database_url(tmp_path / "hub.sqlite")
    engine = create_engine(url)
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS_DIR))
    with engine.begin() as conn:
        config.attributes["connection"] = conn
        command.upgrade(config, "0003")
        conn.execute(insert(Result.__table__).values(_row("closed/a/results/x/m/s", "h1", power_w=412.5,
                                                          energy_j_per_sample=0.5)))  # fmt: skip
        conn.execute(insert(Result.__table__).values(_row("open/b/results/y/m/s", "h2")))
    engine.dispose()
    store = open_store(tmp_path / "hub.sqlite")
    with store.session() as s:
        meters = {r.content_hash: (r.power_meter, r.power_scope) for r in s.scalars(select(Result))}
    assert meters == {"h1": ("ptd", "system"), "h2": (None, None)}
    store.close()
