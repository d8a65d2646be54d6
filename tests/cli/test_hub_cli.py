"""``crowdperf hub`` through the real CLI: import a tree, then list/compare/pareto/best, JSON and tables."""

from __future__ import annotations

import json
import shutil
import socket
import subprocess
import sys
from pathlib import Path

import pytest
from typer.testing import CliRunner

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "unit" / "hub"))
from hub_lgrun import run_loadgen
from hub_trees import Entry, write_tree

from crowdperf.cli.main import app
from crowdperf.errors import UsageError

runner = CliRunner()


@pytest.fixture(scope="module")
def tree(tmp_path_factory: pytest.TempPathFactory) -> Path:
    base = tmp_path_factory.mktemp("hubcli")
    off = run_loadgen(base / "off", "Offline")
    return write_tree(
        base / "sub",
        [
            Entry("l4box", "Offline", off, f1=90.3),
            Entry("t4box", "Offline", off, accelerator="NVIDIA T4", f1=90.1),
        ],
    )


def hub(*args: str):
    return runner.invoke(app, ["hub", *args], env={"COLUMNS": "300"})


def test_import_then_query(tree: Path, tmp_path: Path) -> None:
    db = str(tmp_path / "h.sqlite")
    out = hub("import", str(tree), "--db", db, "--source", "cli")
    assert out.exit_code == 0, out.output
    assert "2 imported" in out.output
    again = json.loads(hub("import", str(tree), "--db", db, "--json").output)
    assert again["schema"] == "crowdperf.hub.import/1" and again["unchanged"] == 2

    listed = json.loads(hub("list", "--db", db, "--json").output)
    assert (
        listed["total"] == 2 and len(listed["rows"]) == 2 and listed["comparable"] and listed["limit"] is None
    )
    assert {r["accelerator"] for r in listed["rows"]} == {"NVIDIA L4", "NVIDIA T4"}
    assert len(json.loads(hub("list", "--db", db, "--json", "--limit", "1").output)["rows"]) == 1
    table = hub("list", "--db", db, "--accelerator", "t4")
    assert table.exit_code == 0 and "t4box" in table.output and "l4box" not in table.output

    ids = [str(r["id"]) for r in listed["rows"]]
    cmp = hub("compare", *ids, "--db", db)
    assert cmp.exit_code == 0 and "throughput" in cmp.output and "%" in cmp.output
    front = json.loads(hub("pareto", "--db", db, "--axes", "throughput,accuracy", "--json").output)
    assert front["axes"] == ["throughput", "accuracy"] and front["groups"][0]["total"] == 2
    best = hub("best", "--db", db, "--scenario", "Offline", "--min-accuracy-f1", "90.2", "--include-invalid")
    assert best.exit_code == 0 and "l4box" in best.output and "highest throughput" in best.output


def test_errors_exit_nonzero_without_traceback(tmp_path: Path) -> None:
    db = str(tmp_path / "h.sqlite")
    for args, code, text in (
        (["list", "--db", db, "--sort", "nope"], 2, "cannot sort by 'nope'"),
        (["import", str(tmp_path / "absent"), "--db", db], 3, "no submission tree"),
        (["list", "--db", "postgresql+psycopg://u:p@127.0.0.1:1/none"], 11, "cannot open hub database"),
    ):
        proc = subprocess.run(
            [sys.executable, "-m", "crowdperf", "hub", *args],
            capture_output=True,
            text=True,
            timeout=120,
            check=False,
        )
        assert proc.returncode == code, proc.stderr
        assert text in proc.stderr and "Traceback" not in proc.stderr and ":p@" not in proc.stderr


def test_default_db_comes_from_settings(tree: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    db = tmp_path / "env.sqlite"
    monkeypatch.setenv("CROWDPERF_HUB_DB", str(db))
    assert hub("import", str(tree)).exit_code == 0
    assert db.is_file()


def test_submitted_strings_are_not_rich_markup(tmp_path: Path) -> None:
    """A system name like "[red]x[/red]" must print as itself, not be styled away."""
    base = tmp_path / "t"
    off = run_loadgen(base / "off", "Offline")
    tree = write_tree(base / "sub", [Entry("box", "Offline", off)])
    sysjson = tree / "closed" / "crowdperf-org" / "systems" / "box.json"
    sysjson.write_text(
        sysjson.read_text().replace('"system_name": "box"', '"system_name": "[bold]box[/bold]"')
    )
    db = str(tmp_path / "h.sqlite")
    assert hub("import", str(tree), "--db", db).exit_code == 0
    out = hub("list", "--db", db)
    assert "[bold]box[/bold]" in out.output


def _cli(*args: str) -> subprocess.Popen[str]:
    return subprocess.Popen(
        [sys.executable, "-m", "crowdperf", "hub", *args],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


def test_two_concurrent_imports_into_one_sqlite_both_succeed(tmp_path: Path) -> None:
    """Both processes race for the same 60 results (a new database: both migrate it too); one
    stores each result, the other finds it unchanged; neither fails."""
    off = run_loadgen(tmp_path / "off", "Offline")
    tree = write_tree(tmp_path / "sub", [Entry(f"s{i:02d}", "Offline", off) for i in range(60)])
    db = str(tmp_path / "h.sqlite")
    procs = [_cli("import", str(tree), "--db", db, "--json") for _ in range(2)]
    outs = [p.communicate(timeout=300) for p in procs]
    for proc, (_, err) in zip(procs, outs, strict=True):
        assert proc.returncode == 0 and "Traceback" not in err, err
    reports = [json.loads(out) for out, _ in outs]
    assert sum(r["imported"] for r in reports) == 60
    assert all(r["imported"] + r["unchanged"] == 60 and not r["failed"] for r in reports)
    assert json.loads(hub("list", "--db", db, "--json").output)["total"] == 60


def test_bad_numbers_and_nul_in_options_are_usage_errors(tree: Path, tmp_path: Path) -> None:
    db = str(tmp_path / "h.sqlite")
    for args, text in (
        (["list", "--db", db, "--min-accuracy-f1", "inf"], "min_accuracy_f1"),
        (["list", "--db", db, "--submitter", "a\x00b"], "NUL"),
        (["list", "--db", db, "--offset", str(10**30)], "offset"),
        (["best", "--db", db, "--max-watts", "nan"], "max_watts"),
        (["import", str(tree), "--db", db, "--source", "x\x00"], "NUL"),
    ):
        out = hub(*args)
        assert out.exit_code == UsageError.exit_code and text in out.output, (args, out.output)


def test_filters_take_any_case_and_refuse_unknown_values(tree: Path, tmp_path: Path) -> None:
    db = str(tmp_path / "h.sqlite")
    assert hub("import", str(tree), "--db", db).exit_code == 0
    lower = json.loads(hub("list", "--db", db, "--scenario", "offline", "--json").output)
    assert lower["total"] == 2  # "offline" is Offline, as `crowdperf run` would have it
    for args, text in (
        (["--scenario", "Sideways"], "--scenario 'Sideways' is not a known scenario"),
        (["--model", "bert99"], "use one of: bert-99"),
        (["--accelerator", "H1000"], "no result's accelerator contains 'H1000'"),
    ):
        out = hub("list", "--db", db, *args)
        assert out.exit_code == 2 and text in out.output, out.output
    empty = json.loads(hub("list", "--db", db, "--scenario", "Server", "--json").output)
    assert empty["total"] == 0  # a known value no result has: the true answer is "none"


def test_read_only_commands_never_create_a_database(tmp_path: Path) -> None:
    db = tmp_path / "no" / "such" / "h.sqlite"
    for args in (["list"], ["best"], ["pareto"], ["compare", "1", "2"], ["token", "revoke", "x"],
                 ["export-site", str(tmp_path / "site")]):  # fmt: skip
        out = hub(*args, "--db", str(db))
        assert out.exit_code == 3 and f"no hub database at {db}" in out.output, (args, out.output)
    assert not (tmp_path / "no").exists() and not (tmp_path / "site").exists()


def test_an_import_that_stores_nothing_fails_and_leaves_no_database(tree: Path, tmp_path: Path) -> None:
    db = tmp_path / "h.sqlite"
    (tmp_path / "empty").mkdir()
    for target in (tmp_path / "absent", tmp_path / "empty"):
        out = hub("import", str(target), "--db", str(db))
        assert out.exit_code != 0 and "error:" in out.output
        assert list(tmp_path.glob("h.sqlite*")) == []  # a new database is removed again
    broken = tmp_path / "broken"
    shutil.copytree(tree, broken)
    for detail in broken.rglob("mlperf_log_detail.txt"):
        detail.write_text(':::MLLOG {"key": "result_samples_per_second", "value": Infinity}\n')
    out = hub("import", str(broken), "--db", str(db))
    assert out.exit_code == 11 and "none of the 2 results could be imported" in out.output, out.output
    assert out.output.count("failed ") >= 2  # each failure still listed


def test_best_leads_with_one_answer_that_reads_right(tree: Path, tmp_path: Path) -> None:
    db = str(tmp_path / "h.sqlite")
    assert hub("import", str(tree), "--db", db).exit_code == 0
    out = runner.invoke(app, ["hub", "best", "--db", db, "--include-invalid"])  # piped: 80 columns
    assert out.exit_code == 0, out.output
    lines = out.output.splitlines()
    assert lines[0].startswith("Best throughput: crowdperf-org ") and lines[0].endswith(" samples/s")
    assert lines[1] == "  asked: valid and invalid runs"
    assert "runner-up: crowdperf-org" in out.output and "the same as the winner" in out.output
    for wrong in ("ahead", "?", "the 1 configurations", "…", "crowdperf-org crowdperf-org"):
        assert wrong not in out.output
    assert "┃ # ┃ system" in out.output  # the ranking fits 80 columns as a table (fewer columns)


def test_serve_on_a_busy_port_fails_before_its_banner(tmp_path: Path) -> None:
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen(1)
        port = str(taken.getsockname()[1])
        out = hub("serve", "--db", str(tmp_path / "h.sqlite"), "--port", port)
    assert out.exit_code == 11 and "the port is in use" in out.output and "crowdperf hub on" not in out.output


def test_import_reads_how_the_sut_fed_loadgen_and_compare_shows_it(tree: Path, tmp_path: Path) -> None:
    logs = tree.parent / "off"  # the module tree's LoadGen logs
    record = json.dumps({"schema": "crowdperf.provenance/2", "batch_size": 1024, "sut_workers_per_device": 2})
    entries = [Entry("gpubox", "Offline", logs, provenance=record), Entry("oldbox", "Offline", logs)]
    crowd = write_tree(tmp_path / "crowd", entries, layout="v6", division="open")
    db = str(tmp_path / "h.sqlite")
    assert hub("import", str(crowd), "--db", db).exit_code == 0
    rows = {r["system_name"]: r for r in json.loads(hub("list", "--db", db, "--json").output)["rows"]}
    assert (rows["gpubox"]["batch_size"], rows["gpubox"]["sut_workers_per_device"]) == (1024, 2)
    assert (rows["oldbox"]["batch_size"], rows["oldbox"]["sut_workers_per_device"]) == (None, None)
    cmp = hub("compare", str(rows["gpubox"]["id"]), str(rows["oldbox"]["id"]), "--db", db)
    cells = {
        c[0].split(" (")[0]: c[1:]
        for c in ([p.strip() for p in line.split("│")[1:-1]] for line in cmp.output.splitlines())
        if c
    }
    assert cells["batch_size"] == ["1,024", "-"] and cells["sut_workers_per_device"] == ["2", "-"]
