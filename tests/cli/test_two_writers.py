"""Two writers, one place (issue 14, item 3), with real processes: a submission tree is written by
one ``submission generate`` or read for one ``submission push`` at a time, and ``generate`` never
reads a results directory a ``crowdperf run`` is still writing. The second fails at once (exit 12)
naming the first. (Results directories: tests/unit/mlperf/test_process_safety.py; the artifact
cache and downloads wait instead: tests/unit/automation/test_cache.py, tests/unit/test_download.py.)
"""

from __future__ import annotations

import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest

from crowdperf.errors import BusyError
from crowdperf.locks import LOCK_NAME

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "unit" / "submission"))
from lgtrees import build_results

HOLDER = """
import sys, time
from pathlib import Path
from crowdperf import locks
with locks.exclusive(getattr(locks, sys.argv[1])(Path(sys.argv[2])), "x"):
    print("held", flush=True)
    time.sleep(120)
"""
# A real crowdperf run (the synthetic workload, slow) writing into a results directory.
SLOW_RUN = """
import sys
from pathlib import Path
from crowdperf.mlperf.rounds import Scenario
from crowdperf.mlperf.runs import HarnessContext, execute_plan
from crowdperf.mlperf.spec import Mode, RunPlan, RunSpec, Targets
from crowdperf.mlperf.workload import register_workload
from crowdperf.settings import load_settings
register_workload("slow", "crowdperf.mlperf.synthetic_workload:slow_workload")
spec = RunSpec("slow", Scenario.SERVER, Mode.PERFORMANCE, results_dir=Path(sys.argv[1]),
               targets=Targets(target_qps=2.0))
execute_plan(RunPlan((spec,)), HarnessContext(load_settings(), host="h"))
"""


@contextmanager
def _held(kind: str, place: Path) -> Iterator[subprocess.Popen[str]]:
    proc = subprocess.Popen(
        [sys.executable, "-c", HOLDER, kind, str(place)], stdout=subprocess.PIPE, text=True
    )
    try:
        assert proc.stdout is not None and proc.stdout.readline().strip() == "held"
        yield proc
    finally:
        proc.kill()
        proc.wait()


def _cli(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "crowdperf", *args], capture_output=True, text=True, timeout=300
    )


def _said(proc: subprocess.CompletedProcess[str]) -> str:
    return " ".join((proc.stdout + proc.stderr).split())  # rich wraps long lines


@pytest.fixture(scope="module")
def results(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("two-writers") / "results"
    build_results(root, scenario="Offline", f1=90.5, test01=False)
    return root


def _generate(results: Path, sub: Path, *extra: str) -> subprocess.CompletedProcess[str]:
    return _cli("submission", "generate", "--results-dir", str(results), "--submission-dir", str(sub),
                "--submitter", "ORG", "--division", "open", *extra)  # fmt: skip


def test_generate_into_a_tree_another_process_writes_fails_naming_it(results: Path, tmp_path: Path) -> None:
    sub = tmp_path / "sub"
    with _held("tree_lock", sub) as holder:
        busy = _generate(results, sub)
    assert busy.returncode == BusyError.exit_code, busy.stderr
    assert (
        f"submission directory {sub} is being written by another crowdperf process (pid {holder.pid}"
        in _said(busy)
    )
    assert not sub.exists()
    assert _generate(results, sub).returncode == 0  # free again once the holder is gone


def test_push_of_a_tree_being_generated_fails_naming_the_generator(results: Path, tmp_path: Path) -> None:
    sub = tmp_path / "sub"
    assert _generate(results, sub).returncode == 0
    remote = tmp_path / "remote.git"
    subprocess.run(["git", "init", "--bare", "-q", str(remote)], check=True)
    with _held("tree_lock", sub) as holder:
        busy = _cli("submission", "push", str(sub), "--repo-url", str(remote), "--force")
    assert busy.returncode == BusyError.exit_code and f"(pid {holder.pid}" in _said(busy)
    refs = subprocess.run(["git", "-C", str(remote), "branch"], capture_output=True, text=True).stdout
    assert refs == ""  # nothing was pushed


def test_generate_from_a_results_directory_a_run_is_writing_fails_naming_the_run(
    results: Path, tmp_path: Path
) -> None:
    run_into = tmp_path / "results"
    run_into.mkdir()
    for scenario_dir in results.iterdir():  # a finished result, and a run writing another one
        subprocess.run(["cp", "-r", str(scenario_dir), str(run_into)], check=True)
    run = subprocess.Popen([sys.executable, "-c", SLOW_RUN, str(run_into)])
    try:
        note = run_into / f"{LOCK_NAME}.holder"
        deadline = time.monotonic() + 60
        while not note.exists() and time.monotonic() < deadline:
            time.sleep(0.1)
        busy = _generate(run_into, tmp_path / "sub")
    finally:
        run.kill()
        run.wait()
    assert busy.returncode == BusyError.exit_code, busy.stderr
    assert (
        f"results directory {run_into} is being written by another crowdperf process (pid {run.pid}"
        in _said(busy)
    )
    assert not (tmp_path / "sub").exists()


def test_two_generates_racing_for_one_tree_never_mix_their_writes(results: Path, tmp_path: Path) -> None:
    reference = tmp_path / "reference"
    assert _generate(results, reference).returncode == 0
    expected = sorted(str(p.relative_to(reference)) for p in reference.rglob("*"))
    sub = tmp_path / "sub"
    for _ in range(3):
        procs = [
            subprocess.Popen(
                [
                    sys.executable,
                    "-m",
                    "crowdperf",
                    "submission",
                    "generate",
                    "--results-dir",
                    str(results),
                    "--submission-dir",
                    str(sub),
                    "--submitter",
                    "ORG",
                    "--division",
                    "open",
                    "--force",
                ],
                stdout=subprocess.PIPE,
                stderr=subprocess.PIPE,
                text=True,
            )
            for _ in range(2)
        ]
        codes = [p.wait(timeout=300) for p in procs]
        for p in procs:
            assert p.stdout is not None and p.stderr is not None
            p.stdout.close()
            p.stderr.close()
        assert set(codes) <= {0, BusyError.exit_code} and 0 in codes, codes
        assert sorted(str(p.relative_to(sub)) for p in sub.rglob("*")) == expected
    assert not [p for p in tmp_path.iterdir() if p.name.startswith(".crowdperf-submission-")]


def test_export_site_into_a_folder_another_export_writes_fails_naming_it(
    results: Path, tmp_path: Path
) -> None:
    sub, db, site = tmp_path / "sub", tmp_path / "hub.sqlite", tmp_path / "site"
    assert _generate(results, sub).returncode == 0
    assert _cli("hub", "import", str(sub), "--db", str(db)).returncode == 0
    with _held("tree_lock", site.resolve()) as holder:
        busy = _cli("hub", "export-site", str(site), "--db", str(db))
    assert busy.returncode == BusyError.exit_code and f"site folder {site}" in _said(busy)
    assert f"(pid {holder.pid}" in _said(busy) and not site.exists()
    assert _cli("hub", "export-site", str(site), "--db", str(db)).returncode == 0
