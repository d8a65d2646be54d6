"""Accuracy-log truncation, byte for byte as MLPerf's ``tools/submission/truncate_accuracy_log.py``.

That script (read, not copied): for every ``accuracy/`` directory it appends ``\\nhash=<sha256 of the
full mlperf_log_accuracy.json>\\n`` to ``accuracy.txt`` and, when the log is at least
``VIEWABLE_SIZE`` (4096) bytes, rewrites it as its first 4096 characters, ``"\\n\\n...\\n\\n"`` and its
last 4096 characters. A directory whose accuracy.txt already has a hash line and whose log is
under ``MAX_ACCURACY_LOG_SIZE`` (10 KiB) is left alone. The checker then rejects logs over 10 KiB.
"""

from __future__ import annotations

import re
from pathlib import Path

from crowdperf.atomic import atomic_write_bytes
from crowdperf.errors import SubmissionError
from crowdperf.hashing import file_sha256

VIEWABLE_SIZE = 4096
MAX_ACCURACY_LOG_SIZE = 10 * 1024
HASH_LINE = re.compile(r"^hash=([\w\d]+)$")


def existing_hash(accuracy_txt: Path) -> str | None:
    if not accuracy_txt.is_file():
        return None
    for line in accuracy_txt.read_text(encoding="utf-8").splitlines():
        if m := HASH_LINE.match(line):
            return m.group(1)
    return None


def truncate_accuracy_dir(acc_dir: Path, *, require_accuracy_txt: bool = True) -> str:
    """Hash, record and truncate ``acc_dir/mlperf_log_accuracy.json``; returns the full-log hash."""
    log, acc_txt = acc_dir / "mlperf_log_accuracy.json", acc_dir / "accuracy.txt"
    if not log.is_file():
        raise SubmissionError(f"{log} is missing", hint="re-run the accuracy run")
    if not acc_txt.is_file() and require_accuracy_txt:
        raise SubmissionError(f"{acc_txt} is missing", hint="re-run the accuracy evaluation")
    known = existing_hash(acc_txt)
    if known and log.stat().st_size < MAX_ACCURACY_LOG_SIZE:
        return known  # already truncated (same rule as the MLPerf script)
    full_hash = file_sha256(log)
    # Append mode creates accuracy.txt in a compliance dir that has none, as MLPerf's script does.
    with acc_txt.open("a", encoding="utf-8") as fh:
        fh.write(f"\nhash={full_hash}\n")
    _truncate_file(log)
    return full_hash


def _truncate_file(path: Path) -> None:
    size = path.stat().st_size
    if size < VIEWABLE_SIZE:
        return
    # The MLPerf script reads in text mode; LoadGen's accuracy log is ASCII, so bytes == characters.
    with path.open("rb") as src:
        start = src.read(VIEWABLE_SIZE)
        src.seek(size - VIEWABLE_SIZE)
        end = src.read(VIEWABLE_SIZE)
    atomic_write_bytes(path, start + b"\n\n...\n\n" + end)
