"""``crowdperf ui``'s runner (hub/web/local_runner.py) with real ``crowdperf run`` children: a
cancel leaves nothing that looks complete, a failure keeps the CLI's own words, the queue and the
machine's one benchmark slot, a run the hub cannot take. (A whole run, imported and ranked,
watched in a browser: test_browser_run.py.)"""

from __future__ import annotations

import sqlite3
from collections.abc import Iterator
from pathlib import Path

import psutil
import pytest
from ui_rig import wait_for

from crowdperf.hub import queries
from crowdperf.hub.query_types import ResultFilter
from crowdperf.hub.store import Store, open_store
from crowdperf.hub.web.local_runner import LocalRunner, RunnerConfig
from crowdperf.hub.web.run_form import LaunchChoice
from crowdperf.hub.web.run_jobs import JobState
from crowdperf.locks import exclusive

TINY = LaunchChoice(model="tiny", backend="onnxruntime", device="cpu", precision="fp32", scenario="Offline",
                    mode="all", execution_mode="test", category="edge", division="open", count=8)  # fmt: skip


@pytest.fixture
def store(tmp_path: Path) -> Iterator[Store]:
    st = open_store(tmp_path / "hub.sqlite")
    yield st
    st.close()


@pytest.fixture
def runner(store: Store, tmp_path: Path) -> Iterator[LocalRunner]:
    r = LocalRunner(RunnerConfig(workdir=tmp_path / "ui", store=store, poll_s=0.1, slot_retry_s=0.1))
    yield r
    r.shutdown()


def _children_of(job_id: str) -> list[int]:
    """Processes whose command line names the job (its crowdperf run and LoadGen children)."""
    found = []
    for p in psutil.process_iter(["pid", "cmdline"]):
        if any(job_id in part for part in p.info["cmdline"] or ()):
            found.append(p.info["pid"])
    return found


def test_cancel_mid_run_leaves_nothing_that_looks_complete(runner: LocalRunner, store: Store) -> None:
    job = runner.submit(TINY)
    wait_for(lambda: runner.view(job.id), lambda v: v.progress is not None and v.progress.phase is not None)
    runner.cancel(job.id)
    done = wait_for(lambda: runner.view(job.id), lambda v: not v.active, timeout_s=60)
    assert done.state is JobState.CANCELLED and done.result_ids == ()
    results = Path(done.results_dir)
    finished = {line.split(":")[0] for line in done.tests_done}  # "[1/2] Offline accuracy"
    for run_dir in (p for p in results.rglob("*") if p.is_dir() and p.name in ("accuracy", "run_1")):
        mode = "performance" if run_dir.name == "run_1" else "accuracy"
        assert any(mode in name for name in finished), f"{run_dir} looks complete but its test was cancelled"
    assert not [p for p in results.rglob(".*") if ".partial-" in p.name]  # no partial test left
    assert not _children_of(job.id)  # the run and its LoadGen child are gone
    mine = queries.list_results(store, ResultFilter(source=f"ui:{job.id}", include_hidden=True))
    assert mine.total == 0  # a cancelled run is never imported


def test_a_failing_run_keeps_the_cli_error_and_fix(runner: LocalRunner) -> None:
    # bert-99's official files are not in this test's cache, and the choice does not fetch them
    job = runner.submit(LaunchChoice(**{**TINY.__dict__, "model": "bert-99"}))
    done = wait_for(lambda: runner.view(job.id), lambda v: not v.active, timeout_s=60)
    assert done.state is JobState.FAILED
    assert done.error[0].startswith("error: ") and "not in the cache" in done.error[0]
    assert any(line.strip().startswith("fix: ") for line in done.error)
    assert done.result_ids == ()


def test_one_run_per_machine_and_the_queue(runner: LocalRunner, tmp_path: Path) -> None:
    with exclusive(runner.config.slot_lock, "a test's benchmark"):  # as another crowdperf ui would
        first = runner.submit(TINY)
        waiting = wait_for(lambda: runner.view(first.id), lambda v: v.waiting_for != "")
        assert waiting.state is JobState.WAITING and "another crowdperf process" in waiting.waiting_for
        second = runner.submit(TINY)
        queued = runner.view(second.id)
        assert queued is not None and queued.state is JobState.QUEUED and queued.queue_position == 1
        assert runner.current().id == first.id  # type: ignore[union-attr]  # what a new tab shows
        cancelled = runner.cancel(second.id)  # queued: dropped at once
        assert cancelled is not None and cancelled.state is JobState.CANCELLED
        runner.cancel(first.id)  # waiting: never starts
        gone = wait_for(lambda: runner.view(first.id), lambda v: not v.active)
        assert gone.state is JobState.CANCELLED and gone.started_at is None
    assert not (tmp_path / "ui" / "runs" / first.id / "results").exists()


def test_a_run_that_ended_well_is_imported_even_when_cancel_comes_late(
    runner: LocalRunner, store: Store, tmp_path: Path
) -> None:
    blocker = sqlite3.connect(tmp_path / "hub.sqlite", isolation_level=None)
    blocker.execute("BEGIN IMMEDIATE")  # the hub's writer waits: the job stays in "importing"
    try:
        job = runner.submit(TINY)
        importing = wait_for(lambda: runner.view(job.id), lambda v: v.state is not JobState.RUNNING
                             and v.started_at is not None)  # fmt: skip
        assert importing.state is JobState.IMPORTING and not importing.cancellable
        assert importing.to_json()["cancellable"] is False  # run.js hides Cancel
        after = runner.cancel(job.id)
        assert after is not None and after.state is JobState.IMPORTING
    finally:
        blocker.execute("ROLLBACK")
        blocker.close()
    done = wait_for(lambda: runner.view(job.id), lambda v: not v.active)
    assert done.state is JobState.FINISHED and done.result_ids  # whole, so imported


def test_a_run_the_hub_cannot_take_says_why(runner: LocalRunner) -> None:
    job = runner.submit(LaunchChoice(**{**TINY.__dict__, "mode": "performance"}))
    done = wait_for(lambda: runner.view(job.id), lambda v: not v.active)
    assert done.state is JobState.FINISHED and done.result_ids == ()
    assert "mode 'all'" in done.import_note[0]
    assert [line.split(":")[0] for line in done.tests_done] == ["[1/1] Offline performance"]
