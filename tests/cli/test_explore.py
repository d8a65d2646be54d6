"""``crowdperf explore`` end to end on a real workload (the toy classifier of tests/plugins, through
the real onnxruntime backend and LoadGen): invalid combinations skipped with the backend's
reason, finished points in the hub with the exploration's source, a winner explained as ``hub
best`` explains it, the budget kept, and a real ``kill -9`` of a real ``crowdperf explore``
process resumed by rerunning the same command, repeating nothing finished."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import tempfile
import time
from collections import Counter
from pathlib import Path

import pytest
from typer.testing import CliRunner

from crowdperf.cli.main import app
from crowdperf.explore.journal import PointMeasured, SessionEnded, SessionStarted, read_journal
from crowdperf.hub.queries import list_results
from crowdperf.hub.query_types import ResultFilter
from crowdperf.hub.store import open_store

PLUGINS = Path(__file__).resolve().parents[1] / "plugins"
runner = CliRunner()
SPACE = ["--model", "toyclass", "--backends", "onnxruntime", "--threads", "1"]


@pytest.fixture
def toy_plugin(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.syspath_prepend(str(PLUGINS))
    monkeypatch.setenv(
        "PYTHONPATH", os.pathsep.join(p for p in (str(PLUGINS), os.environ.get("PYTHONPATH")) if p)
    )


def _events(stdout: str) -> list[dict]:
    return [json.loads(line) for line in stdout.splitlines() if line.strip()]


def test_explore_skips_refused_points_imports_the_rest_and_names_a_winner(
    toy_plugin: None, tmp_path: Path
) -> None:
    d, db = tmp_path / "exp", tmp_path / "hub.sqlite"
    args = ["explore", *SPACE, "--precisions", "fp32,bf16", "--batch-sizes", "1,8", "--budget", "3m"]
    args += ["--threads", "1,2"]  # two groups per stack: the second bf16 group is refused unrun
    out = runner.invoke(app, [*args, "--dir", str(d), "--db", str(db), "--screen-count", "32", "--json"])
    assert out.exit_code == 0, out.output
    lines = _events(out.stdout)
    events, result = lines[:-1], lines[-1]
    assert all(e["schema"] == "crowdperf.explore.event/1" for e in events)
    assert result["schema"] == "crowdperf.explore/1"

    skipped = [e for e in events if e["event"] == "skipped"]
    assert {e["point"].split()[2] for e in skipped} == {"precision=bf16"} and len(skipped) == 4
    assert all("onnxruntime runs the fp32" in e["message"] for e in skipped)
    assert sum(1 for e in skipped if e["same_stack_as"]) == 2  # the second group never started

    finals = [e for e in events if e["event"] == "measured" and e["measured"]["rung"] == "final"]
    assert finals and all(e["measured"]["accuracy_metric"] == "accuracy" for e in finals)
    source = events[0]["source"]
    assert result["hub"]["source"] == source and len(result["hub"]["results"]) == len(finals)
    best = result["hub"]["best"]["groups"][0]
    assert "has the highest throughput" in best["explanation"][0]

    rows = list_results(open_store(db), ResultFilter(source=source, include_hidden=True), limit=None).rows
    assert len(rows) == len(finals) and all(r.division == "open" for r in rows)
    assert all(r.command and r.command.startswith("crowdperf run --model toyclass") for r in rows)
    assert len({r.system_name for r in rows}) == len(rows)  # each point names its batch size

    status = runner.invoke(app, ["explore", "status", str(d), "--json"])
    assert status.exit_code == 0, status.output
    assert json.loads(status.stdout)["schema"] == "crowdperf.explore.status/1"
    counts = json.loads(status.stdout)["counts"]
    assert counts["skipped"] == 4 and counts["finished"] == len(finals) and counts["left"] == 0
    report = runner.invoke(app, ["explore", "report", str(d), "--db", str(db)], terminal_width=200)
    assert report.exit_code == 0, report.output
    as_json = runner.invoke(app, ["explore", "report", str(d), "--db", str(db), "--json"])
    assert json.loads(as_json.stdout)["schema"] == "crowdperf.explore/1"
    text = " ".join(report.stdout.split())  # rich wraps at the console's width
    assert "has the highest throughput" in text
    front = [r["label"] for r in json.loads(status.stdout)["points"] if r["on_front"]]
    assert front and all(
        r["status"] == "finished" for r in json.loads(status.stdout)["points"] if r["on_front"]
    )
    assert f"front (performance, accuracy, energy, cost where known): {'; '.join(front)}" in text

    again = runner.invoke(app, [*args, "--dir", str(d), "--db", str(db), "--screen-count", "32", "--json"])
    assert again.exit_code == 0, again.output  # done: nothing is measured twice
    assert not [e for e in _events(again.stdout)[:-1] if e["event"] in ("measured", "started")]


def test_another_space_in_the_same_dir_is_refused(toy_plugin: None, tmp_path: Path) -> None:
    d = tmp_path / "exp"
    ok = runner.invoke(
        app, ["explore", *SPACE, "--precisions", "bf16", "--dir", str(d), "--db", str(tmp_path / "h")]
    )
    assert ok.exit_code == 0, ok.output  # every point refused: no winner, still a clean end
    other = runner.invoke(app, ["explore", *SPACE, "--precisions", "fp32", "--dir", str(d)])
    assert other.exit_code == 2 and "holds another exploration" in " ".join(other.output.split())


def test_the_budget_is_kept(toy_plugin: None, tmp_path: Path) -> None:
    d = tmp_path / "exp"
    budget = 8.0  # far less than the 16 points need
    args = ["explore", *SPACE, "--precisions", "fp32", "--batch-sizes", "1,2,4,8,16,32,64,128"]
    args += ["--threads", "1,2"]
    started = time.monotonic()
    out = runner.invoke(
        app, [*args, "--budget", f"{budget:g}s", "--dir", str(d), "--db", str(tmp_path / "h")]
    )
    wall = time.monotonic() - started
    assert out.exit_code == 0, out.output
    entries = read_journal(d / "journal.jsonl")
    begun = next(e.t for e in entries if isinstance(e.record, SessionStarted))
    ended = next(e for e in entries if isinstance(e.record, SessionEnded))
    assert ended.t - begun <= budget  # the session itself, to its last record
    assert wall <= budget + 15  # plus start-up, the hub import and the report (a loaded machine)
    assert ended.record.reason == "budget"
    status = json.loads(runner.invoke(app, ["explore", "status", str(d), "--json"]).stdout)
    assert status["spent_s"] <= budget and status["counts"]["left"] > 0 and status["counts"]["running"] == 0


def _explore_process(args: list[str], stdout: Path) -> subprocess.Popen[bytes]:
    with stdout.open("wb") as out:
        return subprocess.Popen(
            [sys.executable, "-m", "crowdperf", "explore", *args], stdout=out, stderr=subprocess.STDOUT
        )


def _wait_for(path: Path, predicate, timeout: float = 120.0) -> None:  # type: ignore[no-untyped-def]
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if path.is_file() and predicate(read_journal(path)):
            return
        time.sleep(0.05)
    raise AssertionError(f"the journal never got there: {path.read_text() if path.is_file() else 'none'}")


def _measured(entries: list) -> Counter:  # type: ignore[type-arg]
    return Counter(
        (e.record.point, e.record.measured.rung) for e in entries if isinstance(e.record, PointMeasured)
    )


def test_kill_9_at_any_moment_loses_nothing_finished_and_a_rerun_resumes(
    toy_plugin: None, tmp_path: Path
) -> None:
    d, log = tmp_path / "exp", tmp_path / "explore.log"
    journal = d / "journal.jsonl"
    args = [*SPACE, "--precisions", "fp32", "--batch-sizes", "1,4,16", "--budget", "5m", "--dir", str(d)]
    args += ["--db", str(tmp_path / "hub.sqlite"), "--json"]

    # 1. killed mid-screening: one point of the group measured, the next one running
    proc = _explore_process(args, log)
    _wait_for(journal, lambda es: sum(c for (_, r), c in _measured(es).items() if r == "screen") >= 1)
    os.kill(proc.pid, signal.SIGKILL)
    proc.wait()
    first = _measured(read_journal(journal))
    scratch = list(Path(tempfile.gettempdir()).glob(f"crowdperf-screen-{proc.pid}-*"))
    assert scratch  # the killed screening's scratch directory, left behind ...

    # 2. killed mid-final: its LoadGen child dies with it, its partial run directory stays behind
    proc = _explore_process(args, log)
    _wait_for(journal, lambda es: any(getattr(e.record, "rung", "") == "final" for e in es))
    time.sleep(1.0)
    os.kill(proc.pid, signal.SIGKILL)
    proc.wait()
    second = _measured(read_journal(journal))
    assert all(second[k] == 1 for k in first)  # the rerun repeated no measured point

    # 3. the same command again runs to the end
    proc = _explore_process(args, log)
    assert proc.wait(timeout=300) == 0, log.read_text()
    entries = read_journal(journal)
    measured = _measured(entries)
    assert max(measured.values()) == 1  # nothing finished was ever redone
    assert sum(1 for (_, rung) in measured if rung == "screen") == 3
    assert any(rung == "final" for _, rung in measured)
    assert [e.record.reason for e in entries if isinstance(e.record, SessionEnded)] == ["done"]
    assert sum(1 for e in entries if isinstance(e.record, SessionStarted)) == 3
    leftovers = [p for p in (d / "points").rglob("*") if ".partial-" in p.name or ".old-" in p.name]
    assert not leftovers  # the harness removed the killed run's partial directory
    assert not any(p.exists() for p in scratch)  # ... removed by the next screening
    status = json.loads(runner.invoke(app, ["explore", "status", str(d), "--json"]).stdout)
    assert status["counts"]["running"] == 0 and status["counts"]["left"] == 0


def test_a_failed_point_is_data_and_retry_failed_runs_it_again(
    toy_plugin: None, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A child that dies (not a refusal) fails its point: the journal keeps the error, the end of
    the child's log, the versions and a log file; the other points go on; --retry-failed redoes it."""
    d, db = tmp_path / "exp", tmp_path / "hub.sqlite"
    args = ["explore", "--model", "toyclass", "--backends", "onnxruntime", "--precisions", "fp32"]
    args += ["--threads", "1,2", "--batch-sizes", "4", "--budget", "2m", "--screen-count", "32"]
    args += ["--dir", str(d), "--db", str(db), "--json"]
    monkeypatch.setenv("TOYCLASS_CRASH_AT_THREADS", "2")
    out = runner.invoke(app, args)
    assert out.exit_code == 0, out.output
    (failed,) = [e for e in _events(out.stdout)[:-1] if e["event"] == "failed"]
    assert failed["point"].endswith("threads=2") and failed["rung"] == "screen"
    assert failed["error"] == "ResultsError" and "exited with status 3" in failed["message"]
    assert {"crowdperf", "python", "onnxruntime"} <= set(failed["versions"])
    log = Path(failed["log"])
    assert log.is_file() and "exited with status 3" in log.read_text() and "versions:" in log.read_text()
    status = json.loads(runner.invoke(app, ["explore", "status", str(d), "--json"]).stdout)
    assert status["counts"]["failed"] == 1 and status["counts"]["finished"] == 1
    (row,) = [r for r in status["points"] if r["status"] == "failed"]
    assert row["note"].startswith("screen failed: ResultsError") and str(log) in row["note"]

    again = runner.invoke(app, args)  # a plain rerun leaves a failure alone: it is data
    assert not [e for e in _events(again.stdout)[:-1] if e["event"] in ("started", "measured")]
    monkeypatch.delenv("TOYCLASS_CRASH_AT_THREADS")
    retried = runner.invoke(app, [*args, "--retry-failed"])
    assert retried.exit_code == 0, retried.output
    measured = [e for e in _events(retried.stdout)[:-1] if e["event"] == "measured"]
    assert {e["point"] for e in measured} == {failed["point"]}
