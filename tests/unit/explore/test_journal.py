"""The journal: every record durable and whole, a torn tail ignored and cut, the replay says
what is done, what was running and how much budget was spent."""

from __future__ import annotations

from pathlib import Path

import pytest

from crowdperf.errors import ResultsError, UsageError
from crowdperf.explore.journal import (
    Header,
    Journal,
    Measured,
    PointDecided,
    PointImported,
    PointMeasured,
    PointSkipped,
    SessionEnded,
    SessionStarted,
    Started,
    check_same_exploration,
    read_journal,
)
from crowdperf.explore.state import PointStatus, replay

SPACE = {"model": "tiny", "axes": {"backend": ["onnxruntime"]}}


def _screen(value: float) -> Measured:
    return Measured("screen", value, "samples/s", "f1", 90.0, 32, seconds=1.5)


def test_records_round_trip_typed(tmp_path: Path) -> None:
    path = tmp_path / "journal.jsonl"
    with Journal(path) as j:
        j.append(Header("abc", SPACE, 32, "explore:abc"))
        j.append(SessionStarted(123, 300.0, ["crowdperf", "explore"]))
        j.append(Started(["a", "b"], "screen"))
        j.append(PointMeasured("a", _screen(100.0)))
    entries = read_journal(path)
    assert [e.record.event for e in entries] == ["exploration", "session", "started", "measured"]
    measured = entries[-1].record
    assert isinstance(measured, PointMeasured) and measured.measured == _screen(100.0)
    assert all(line.endswith("}") for line in path.read_text().splitlines())


def test_a_torn_last_line_is_ignored_and_cut_by_the_next_writer(tmp_path: Path) -> None:
    path = tmp_path / "journal.jsonl"
    with Journal(path) as j:
        j.append(Header("abc", SPACE, 32, "explore:abc"))
    with path.open("ab") as f:
        f.write(b'{"event": "measured", "point": "a", "meas')  # a power cut mid-write
    assert len(read_journal(path)) == 1
    with Journal(path) as j:
        j.append(SessionStarted(1, 10.0))
    assert [e.record.event for e in read_journal(path)] == ["exploration", "session"]


def test_a_corrupt_middle_line_is_an_error_not_a_guess(tmp_path: Path) -> None:
    path = tmp_path / "journal.jsonl"
    with Journal(path) as j:
        j.append(Header("abc", SPACE, 32, "explore:abc"))
    with path.open("a") as f:
        f.write("not json\n")
    with pytest.raises(ResultsError, match=r"journal\.jsonl:2"):
        read_journal(path)


def test_replay_statuses_spent_time_and_running_points(tmp_path: Path) -> None:
    path = tmp_path / "journal.jsonl"
    with Journal(path) as j:
        j.append(Header("abc", SPACE, 32, "explore:abc"))
        j.append(SessionStarted(1, 300.0))
        j.append(Started(["a", "b", "c"], "screen"))
        j.append(PointMeasured("a", _screen(100.0)))
        j.append(PointSkipped("b", "UsageError", "no bf16 here"))
        j.append(PointDecided("a", True))
        j.append(Started(["a"], "final"))
    entries = read_journal(path)
    known = ("a", "b", "c", "d")
    live = replay(entries, known, writer_alive=True)
    assert live.point("a").status is PointStatus.RUNNING and live.point("c").status is PointStatus.RUNNING
    dead = replay(entries, known)  # the writer was killed: running points go back
    assert dead.point("a").status is PointStatus.PROMOTED  # its final is to be redone
    assert dead.point("c").status is PointStatus.LEFT  # its screening is to be redone
    assert dead.point("b").status is PointStatus.SKIPPED and dead.point("d").status is PointStatus.LEFT
    assert dead.spent_s == pytest.approx(entries[-1].t - entries[1].t)
    with Journal(path) as j:  # the final landed, then the import: finished
        j.append(PointMeasured("a", Measured("final", 120.0, "samples/s"), run_dir="r"))
        j.append(PointImported("a", "tree", "explore:abc", 1, 0))
        j.append(SessionEnded("done"))
    done = replay(read_journal(path), known)
    assert done.point("a").status is PointStatus.FINISHED and done.point("a").best.performance == 120.0
    assert done.ended == "done" and done.counts()["finished"] == 1


def test_a_final_measured_but_not_imported_is_promoted_with_its_numbers(tmp_path: Path) -> None:
    path = tmp_path / "journal.jsonl"
    with Journal(path) as j:
        j.append(SessionStarted(1, 300.0))
        j.append(PointMeasured("a", _screen(100.0)))
        j.append(Started(["a"], "final"))
        j.append(PointMeasured("a", Measured("final", 120.0, "samples/s"), run_dir="r"))
    state = replay(read_journal(path), ("a",))
    assert state.point("a").status is PointStatus.PROMOTED and state.point("a").final is not None


def test_a_rerun_must_describe_the_same_exploration(tmp_path: Path) -> None:
    header = Header("abc", SPACE, 32, "explore:abc")
    check_same_exploration(header, SPACE, 32, tmp_path)
    with pytest.raises(UsageError, match="holds another exploration"):
        check_same_exploration(header, {**SPACE, "model": "bert-99"}, 32, tmp_path)
