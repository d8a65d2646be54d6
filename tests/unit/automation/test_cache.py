from __future__ import annotations

import json
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pytest

from crowdperf.automation.cache import ArtifactCache
from crowdperf.automation.cache_ops import find_paths, remove_entries, show_entries
from crowdperf.automation.registry import load_registry
from crowdperf.automation.resolve import GetRequest, get_artifact
from crowdperf.automation.versions import VersionConstraint
from crowdperf.errors import MissingInputError, RecipeError, UsageError
from crowdperf.settings import load_settings


def _get(**kwargs):
    return get_artifact(load_registry(), GetRequest(name="demo-tool", **kwargs), load_settings())


def test_each_variation_and_version_is_its_own_entry(recipe_plugin: Path, tmp_path: Path) -> None:
    a, b = tmp_path / "a", tmp_path / "b"
    a.write_text("1.0")
    b.write_text("2.0")
    _get(options={"path": str(a)})
    _get(options={"path": str(a)}, variations=("blue",))
    _get(options={"path": str(b)})
    assert _get(options={"path": str(a)}).action == "cached"
    entries = show_entries(load_settings(), "demo-tool")
    assert sorted((e.variations, e.artifact.version) for e in entries) == [
        (("blue",), "1.0"),
        (("red",), "1.0"),
        (("red",), "2.0"),
    ]
    assert [e.artifact.version for e in show_entries(load_settings(), "demo,_blue")] == ["1.0"]


def test_version_constraints_apply_to_cache_hits_and_detection(recipe_plugin: Path, tmp_path: Path) -> None:
    a = tmp_path / "a"
    a.write_text("1.4")
    _get(options={"path": str(a)})
    assert _get(options={"path": str(a)}, constraint=VersionConstraint(minimum="1.2")).action == "cached"
    with pytest.raises(RecipeError, match=r"1.4 found, but >=2 was asked for"):
        _get(options={"path": str(a)}, constraint=VersionConstraint(minimum="2"))


def test_stale_entry_is_reported_dropped_and_redetected(recipe_plugin: Path, tmp_path: Path) -> None:
    marker = tmp_path / "v"
    marker.write_text("1.0")
    first = _get(options={"path": str(marker)})
    marker.unlink()
    assert [e.stale for e in show_entries(load_settings(), "demo-tool")] == [True]
    with pytest.raises(RecipeError, match="not found"):
        _get(options={"path": str(marker)})  # never returns the stale hit
    assert show_entries(load_settings(), "demo-tool") == []
    marker.write_text("1.1")
    again = _get(options={"path": str(marker)})
    assert again.action == "detected" and again.artifact.version == "1.1" and again.entry_id != first.entry_id


def test_stale_entries_are_listed_in_the_result(recipe_plugin: Path, tmp_path: Path) -> None:
    installed = _get(options={"install_version": "3.0"})
    Path(installed.artifact.paths["file"]).unlink()
    redone = _get(options={"install_version": "3.0"})
    assert redone.action == "installed" and [e.id for e in redone.stale_removed] == [installed.entry_id]


def test_interrupted_install_leaves_no_entry_and_no_files(recipe_plugin: Path) -> None:
    with pytest.raises(KeyboardInterrupt):
        _get(options={"install_version": "9.9", "interrupt": "true"})
    settings = load_settings()
    assert show_entries(settings, "demo-tool") == []
    assert list((settings.cache_dir / "installs").iterdir()) == []


def test_rm_removes_entries_and_the_files_the_cache_installed(recipe_plugin: Path) -> None:
    result = _get(options={"install_version": "4.0"})
    installed_dir = Path(result.artifact.paths["file"]).parent
    removed = remove_entries(load_settings(), "demo-tool")
    assert len(removed.removed) == 1 and removed.deleted_dirs == (installed_dir,)
    assert not installed_dir.exists() and show_entries(load_settings()) == []


def test_filters_name_known_tags_and_a_request_that_matches_nothing_fails(
    recipe_plugin: Path, tmp_path: Path
) -> None:
    settings = load_settings()
    with pytest.raises(UsageError, match="unknown cache tag: demo-tol"):  # a typo is not "no entries"
        show_entries(settings, "demo-tol")
    assert show_entries(settings, "get,demo-tool,_blue") == []  # known tags, nothing cached yet
    with pytest.raises(MissingInputError, match="no cache entry has the tags demo-tool; nothing was removed"):
        remove_entries(settings, "demo-tool")
    with pytest.raises(MissingInputError, match="no cache entry with the tags demo-tool"):
        find_paths(settings, "demo-tool")
    assert remove_entries(settings, everything=True).removed == ()  # --all of nothing: nothing to do
    marker = tmp_path / "v"
    marker.write_text("1.0")
    _get(options={"path": str(marker)})
    assert find_paths(settings, "demo-tool") == [marker.resolve()]
    assert len(remove_entries(settings, "demo-tool").removed) == 1


WORKER = textwrap.dedent(
    """
    import json, sys
    from crowdperf.automation.registry import load_registry
    from crowdperf.automation.resolve import GetRequest, get_artifact
    from crowdperf.settings import load_settings
    folder, worker = sys.argv[1], sys.argv[2]
    registry, settings, actions = load_registry(), load_settings(), []
    for i in range(12):
        variations = ("blue",) if i % 2 else ()
        r = get_artifact(registry, GetRequest(name="demo-tool", variations=variations,
                         options={"path": f"{folder}/f{i}"}, force=(i % 3 == 0)), settings)
        actions.append(r.action)
    shared = get_artifact(registry, GetRequest(name="demo-tool",
                          options={"install_version": "7.0", "delay": "0.3"}), settings)
    print(json.dumps({"actions": actions, "shared": shared.action}))
    """
)


def test_two_processes_using_the_cache_at_once_do_not_corrupt_it(recipe_plugin: Path, tmp_path: Path) -> None:
    for i in range(12):
        (tmp_path / f"f{i}").write_text(f"1.{i}")
    script = tmp_path / "worker.py"
    script.write_text(WORKER)
    procs = [
        subprocess.Popen(
            [sys.executable, str(script), str(tmp_path), str(n)],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        for n in range(2)
    ]
    outputs = [p.communicate(timeout=120) for p in procs]
    assert all(p.returncode == 0 for p in procs), [o[1][-500:] for o in outputs]
    results = [json.loads(o[0]) for o in outputs]
    assert sorted(r["shared"] for r in results) == ["cached", "installed"]  # installed once, not twice
    cache = ArtifactCache(load_settings().cache_dir)
    assert cache.integrity_ok()
    entries = cache.entries()
    assert len(entries) == 13  # 12 detected files + the shared install, each exactly once
    assert len({(e.artifact.paths["file"], e.variations) for e in entries}) == 13


def test_entry_whose_files_changed_is_stale_and_redetected(recipe_plugin: Path, tmp_path: Path) -> None:
    import os

    marker = tmp_path / "v"
    marker.write_text("1.0")
    _get(options={"path": str(marker)})
    marker.write_text("2.0.1")  # upgraded in place: same path, new content
    os.utime(marker, ns=(1, 1))
    (entry,) = show_entries(load_settings(), "demo-tool")
    assert entry.stale and entry.changed_paths() == [marker.resolve()] and "changed" in entry.stale_reason()
    again = _get(options={"path": str(marker)})
    assert again.action == "detected" and again.artifact.version == "2.0.1" and len(again.stale_removed) == 1


def test_a_cache_of_another_schema_version_is_rebuilt(recipe_plugin: Path, tmp_path: Path) -> None:
    import sqlite3

    cache_dir = load_settings().cache_dir
    cache_dir.mkdir(parents=True, exist_ok=True)
    old = sqlite3.connect(cache_dir / "artifacts.sqlite")
    old.execute("CREATE TABLE artifacts (id INTEGER PRIMARY KEY, recipe TEXT)")
    old.execute("INSERT INTO artifacts (recipe) VALUES ('cuda')")
    old.commit()
    old.close()
    assert show_entries(load_settings()) == []
    marker = tmp_path / "v"
    marker.write_text("1.0")
    assert _get(options={"path": str(marker)}).action == "detected"
    assert ArtifactCache(cache_dir).integrity_ok()


def test_a_second_get_of_one_entry_waits_naming_the_first_then_uses_its_install(recipe_plugin: Path) -> None:
    """Two real `crowdperf get` processes of the same entry (issue 14, item 3): the second waits
    for the first's install, saying on stderr for whom, then takes the result from the cache."""
    options = ["-o", "install_version=8.0", "-o", "delay=3"]
    cmd = [sys.executable, "-m", "crowdperf", "get", "demo-tool", *options, "--json"]
    first = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    note = load_settings().cache_dir / "locks"
    deadline = time.monotonic() + 60
    while not list(note.glob("*.lock.holder")) and time.monotonic() < deadline:
        time.sleep(0.05)
    second = subprocess.run(cmd, capture_output=True, text=True, timeout=120)
    out, err = first.communicate(timeout=120)
    assert first.returncode == 0 and second.returncode == 0, (err, second.stderr)
    assert json.loads(out)["action"] == "installed" and json.loads(second.stdout)["action"] == "cached"
    waited = " ".join(second.stderr.split())
    assert (
        f"waiting for cache entry demo-tool _red: another crowdperf process writes it (pid {first.pid}"
        in waited
    )
    assert len(ArtifactCache(load_settings().cache_dir).entries()) == 1
