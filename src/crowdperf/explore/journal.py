"""The journal of an exploration: ``<dir>/journal.jsonl``, append-only, one JSON record a line.

Why a journal and not a state file: a state file is rewritten, so a crash mid-write can lose
what was already done; a journal only grows. Each record is one ``write`` of a whole line to a
file opened with ``O_APPEND``, followed by ``fsync``: when ``append`` returns, the record is on
disk, and ``kill -9`` at any moment leaves every earlier record whole. A machine that loses
power mid-write can leave a torn last line; readers ignore it and the next writer cuts it off
before appending. The first record names the exploration and its space; a rerun into the same
directory replays the records (``state.replay``) and goes on where they stop.

Records are typed (frozen dataclasses, below); on disk each is ``{"v": 1, "t": <epoch s>,
"event": "<name>", ...its fields}``. A record is written only after what it reports is durable:
``measured`` (final) after the run directories were renamed into place, ``imported`` after the
hub committed the rows.
"""

from __future__ import annotations

import dataclasses
import json
import os
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, ClassVar

from crowdperf.errors import ResultsError, UsageError

JOURNAL_NAME = "journal.jsonl"
FORMAT_VERSION = 1


@dataclass(frozen=True)
class Measured:
    """What one rung measured of one point, in plain values."""

    rung: str  # "screen" | "final"
    performance: float  # samples/s (Offline, Server) or ms (SingleStream, MultiStream)
    unit: str
    accuracy_metric: str | None = None
    accuracy: float | None = None
    accuracy_samples: int | None = None
    power_w: float | None = None
    joules_per_sample: float | None = None
    power_note: str | None = None  # why there is no power (no meter applies, a meter could not read)
    # where power_w and joules_per_sample came from ("rapl", "nvml", "nvml+rapl"), as the hub names
    # meters (hub/power_meters.py): figures of different meters are never compared (pareto.py)
    power_meter: str | None = None
    accelerator: str = ""  # the model of the accelerators used ("" on the CPU): what cost is priced by
    accelerator_count: int = 0
    valid: bool | None = None  # final: LoadGen's verdict on the performance run
    runtime: str = ""  # "onnxruntime 1.22.0 CPUExecutionProvider"
    seconds: float = 0.0


@dataclass(frozen=True)
class Record:
    event: ClassVar[str] = ""


@dataclass(frozen=True)
class Header(Record):
    """The first record: which exploration, over which space."""

    event: ClassVar[str] = "exploration"
    id: str
    space: dict[str, Any]
    screen_count: int | None
    source: str  # the hub's ``source`` of every imported point


@dataclass(frozen=True)
class SessionStarted(Record):
    event: ClassVar[str] = "session"
    pid: int
    budget_s: float
    argv: list[str] = field(default_factory=list)
    executor: str = "local"


@dataclass(frozen=True)
class Started(Record):
    """Points a worker started on (a screening group, or one final)."""

    event: ClassVar[str] = "started"
    points: list[str]
    rung: str
    where: str = ""  # the host it runs on


@dataclass(frozen=True)
class Stopped(Record):
    """Points the budget stopped while they ran (their child killed, partial output removed):
    left for a rerun with more budget."""

    event: ClassVar[str] = "stopped"
    points: list[str]
    reason: str = "budget"


@dataclass(frozen=True)
class PointMeasured(Record):
    event: ClassVar[str] = "measured"
    point: str
    measured: Measured
    run_dir: str = ""  # final: the point's results directory


@dataclass(frozen=True)
class PointSkipped(Record):
    """The backend or the devices refused the point: an invalid combination, with the reason."""

    event: ClassVar[str] = "skipped"
    point: str
    error: str
    message: str
    hint: str | None = None
    same_stack_as: str | None = None  # refused without running: this point's refusal applies


@dataclass(frozen=True)
class PointFailed(Record):
    """A failure is data: what failed, where, with which versions, and its log."""

    event: ClassVar[str] = "failed"
    point: str
    rung: str
    error: str
    message: str
    hint: str | None = None
    versions: dict[str, str] = field(default_factory=dict)
    log: str | None = None


@dataclass(frozen=True)
class PointDecided(Record):
    """After screening: promoted to a final, or pruned (``by``: a point that dominates it)."""

    event: ClassVar[str] = "decided"
    point: str
    promoted: bool
    by: str | None = None
    reason: str = ""


@dataclass(frozen=True)
class PointImported(Record):
    event: ClassVar[str] = "imported"
    point: str
    tree: str  # the submission tree imported
    source: str
    imported: int
    unchanged: int


@dataclass(frozen=True)
class SessionEnded(Record):
    event: ClassVar[str] = "ended"
    reason: str  # "done" | "budget" | "interrupted"


RECORD_TYPES: dict[str, type[Record]] = {
    cls.event: cls
    for cls in (
        Header,
        SessionStarted,
        Started,
        Stopped,
        PointMeasured,
        PointSkipped,
        PointFailed,
        PointDecided,
        PointImported,
        SessionEnded,
    )
}


@dataclass(frozen=True)
class Entry:
    """A record as read back, with the time it was written."""

    t: float
    record: Record


def _encode(record: Record, t: float) -> bytes:
    fields_ = dataclasses.asdict(record)
    line = json.dumps({"v": FORMAT_VERSION, "t": t, "event": record.event, **fields_}, sort_keys=True)
    return (line + "\n").encode()


def _decode(data: dict[str, Any]) -> Entry:
    cls = RECORD_TYPES[data.pop("event")]
    t = float(data.pop("t"))
    data.pop("v", None)
    if cls is PointMeasured:
        data["measured"] = Measured(**data["measured"])
    return Entry(t, cls(**data))


def read_journal(path: Path) -> list[Entry]:
    """Every whole record of ``path`` (a torn last line is ignored); [] when there is none."""
    try:
        raw = path.read_bytes()
    except FileNotFoundError:
        return []
    except OSError as exc:
        raise ResultsError(f"cannot read the journal {path} ({exc.strerror})") from exc
    lines = raw.split(b"\n")
    entries = []
    for n, line in enumerate(lines[:-1], 1):  # the part after the last newline is torn or empty
        if not line.strip():
            continue
        try:
            entries.append(_decode(json.loads(line)))
        except (ValueError, KeyError, TypeError) as exc:
            raise ResultsError(
                f"{path}:{n}: not a journal record ({exc})",
                hint="the journal is written only by crowdperf explore; restore it or use another --dir",
            ) from exc
    return entries


class Journal:
    """The writer (one per exploration directory, under its lock)."""

    def __init__(self, path: Path) -> None:
        self.path = path
        path.parent.mkdir(parents=True, exist_ok=True)
        new = not path.exists()
        self._fd = os.open(path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o644)
        self._cut_torn_tail()
        if new:  # the file's name must survive a crash too
            dir_fd = os.open(path.parent, os.O_RDONLY)
            try:
                os.fsync(dir_fd)
            finally:
                os.close(dir_fd)

    def _cut_torn_tail(self) -> None:
        data = self.path.read_bytes()
        if data and not data.endswith(b"\n"):
            os.truncate(self.path, data.rfind(b"\n") + 1)
            os.fsync(self._fd)

    def append(self, record: Record) -> float:
        """Write ``record`` durably; returns its time."""
        t = time.time()
        line = _encode(record, t)
        written = os.write(self._fd, line)
        if written != len(line):  # a full disk: the torn line is cut by the next writer
            raise ResultsError(f"the journal {self.path} could not be written (disk full?)")
        os.fsync(self._fd)
        return t

    def close(self) -> None:
        os.close(self._fd)

    def __enter__(self) -> Journal:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def journal_path(directory: Path) -> Path:
    return directory / JOURNAL_NAME


def records(entries: list[Entry]) -> Iterator[Record]:
    return (e.record for e in entries)


def check_same_exploration(
    header: Header, space: dict[str, Any], screen_count: int | None, where: Path
) -> None:
    """A rerun into ``where`` must describe the exploration its journal holds."""
    if header.space != space or header.screen_count != screen_count:
        raise UsageError(
            f"{where} holds another exploration (its space: {json.dumps(header.space, sort_keys=True)}, "
            f"screen count {header.screen_count})",
            hint="rerun with the same space to resume it, or pass another --dir",
        )
