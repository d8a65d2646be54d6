"""No run outlives or overwrites another: a killed parent takes its LoadGen child with it, its
partial directory is removed by the next run, and two writers of one results directory never
both write (issue 14, items 3 and 4)."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import pytest

from crowdperf.errors import BusyError
from crowdperf.locks import dir_lock, exclusive
from crowdperf.mlperf.isolated import death_reason, scratch_dir
from crowdperf.mlperf.layout import atomic_run_dir

SLOW_PLAN = """
import sys
from pathlib import Path
from crowdperf.mlperf.rounds import Scenario
from crowdperf.mlperf.runs import HarnessContext, execute_plan
from crowdperf.mlperf.spec import Mode, RunPlan, RunSpec, Targets
from crowdperf.mlperf.workload import register_workload
from crowdperf.settings import load_settings
register_workload("slow", "synthetic_workloads:slow_workload")
spec = RunSpec("slow", Scenario.SERVER, Mode.PERFORMANCE, results_dir=Path(sys.argv[1]),
               targets=Targets(target_qps=2.0))
execute_plan(RunPlan((spec,)), HarnessContext(load_settings(), host="h"))
"""


def _children_of(pid: int) -> list[int]:
    found = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                stat = (entry / "stat").read_text()
            except OSError:
                continue
            if int(stat.rsplit(")", 1)[1].split()[1]) == pid:
                found.append(int(entry.name))
    return found


def _wait(predicate, seconds: float = 30.0) -> bool:
    end = time.monotonic() + seconds
    while time.monotonic() < end:
        if predicate():
            return True
        time.sleep(0.1)
    return False


@pytest.mark.skipif(not Path("/proc/self/stat").exists(), reason="needs Linux /proc")
def test_a_parent_killed_with_sigkill_takes_its_loadgen_child_along(tmp_path: Path) -> None:
    results = tmp_path / "results"
    parent = subprocess.Popen([sys.executable, "-c", SLOW_PLAN, str(results)])
    try:
        assert _wait(lambda: bool(_children_of(parent.pid))), "the LoadGen child never started"
        child = _children_of(parent.pid)[0]
        assert _wait(lambda: bool(list(results.rglob(".run_1.partial-*"))))
        parent.send_signal(signal.SIGKILL)
        parent.wait()
        assert _wait(lambda: not Path(f"/proc/{child}").exists() or _zombie(child), 10), (
            "child outlived its parent"
        )
    finally:
        parent.kill()
    partial = list(results.rglob(".run_1.partial-*"))
    assert partial, "the killed run left its hidden partial directory"
    with atomic_run_dir(partial[0].parent / "run_1") as tmp:  # the next run into the same place
        (tmp / "x").write_text("done")
    assert not list(results.rglob(".run_1.partial-*")) and (partial[0].parent / "run_1" / "x").is_file()


def _zombie(pid: int) -> bool:
    try:
        return Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0] == "Z"
    except OSError:
        return True


def test_a_live_writers_partial_directory_is_kept(tmp_path: Path) -> None:
    writer = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(60)"])
    try:
        live = tmp_path / f".run_1.partial-{writer.pid}"
        dead = tmp_path / ".run_1.partial-999999999"
        live.mkdir()
        dead.mkdir()
        with atomic_run_dir(tmp_path / "run_1"):
            pass
        assert live.is_dir() and not dead.exists()
    finally:
        writer.kill()
        writer.wait()


def test_a_killed_processs_scratch_directory_is_removed_by_the_next_of_its_kind(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A child's scratch directory (find-performance, a target check, a screening) lives in the
    temp dir, outside any results directory: one a kill -9 left is removed by the next one made,
    never a live process's, never another kind's."""
    monkeypatch.setattr(tempfile, "tempdir", str(tmp_path))
    writer = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(60)"])
    try:
        dead = tmp_path / "crowdperf-screen-999999999-abc"
        live = tmp_path / f"crowdperf-screen-{writer.pid}-def"
        other = tmp_path / "crowdperf-findperf-999999999-ghi"
        for d in (dead, live, other):
            (d / "config-8").mkdir(parents=True)
        made = scratch_dir("screen")
        assert made.is_dir() and made.name.startswith(f"crowdperf-screen-{os.getpid()}-")
        assert not dead.exists() and live.is_dir() and other.is_dir()
        scratch_dir("findperf")
        assert not other.exists()
    finally:
        writer.kill()
        writer.wait()


def test_a_second_writer_of_a_results_directory_fails_naming_the_first(tmp_path: Path) -> None:
    holder = subprocess.Popen(
        [sys.executable, "-c",
         "import sys, time; from pathlib import Path; from crowdperf.locks import dir_lock, exclusive\n"
         "with exclusive(dir_lock(Path(sys.argv[1])), 'x'):\n    print('held', flush=True); time.sleep(60)",
         str(tmp_path)],
        stdout=subprocess.PIPE, text=True,
    )  # fmt: skip
    try:
        assert holder.stdout is not None and holder.stdout.readline().strip() == "held"
        with (
            pytest.raises(
                BusyError, match=rf"results directory .* another crowdperf process \(pid {holder.pid}"
            ),
            exclusive(dir_lock(tmp_path), f"results directory {tmp_path}"),
        ):
            pass
    finally:
        holder.kill()
        holder.wait()
    with exclusive(dir_lock(tmp_path), "results directory"):  # free again once the holder is gone
        pass


def test_a_dead_child_says_how_it_died() -> None:
    assert "SIGKILL" in death_reason(-9) and "out of memory" in death_reason(-9)
    assert death_reason(-11).startswith("was killed by SIGSEGV") and "memory" not in death_reason(-11)
    assert death_reason(3) == "exited with status 3"
