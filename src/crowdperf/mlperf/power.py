"""Power of a performance or TEST01 run: the meters' raw samples (taken in the child around
``StartTestWithLogSettings``, ``loadgen_runner``) read over LoadGen's own window, per LoadGen
sample, into ``power.json`` (``crowdperf.meters.record``).

LoadGen logs the window MLPerf's power checker uses (tools/submission/submission_checker/checks/
power_check.py ``get_power_metric_check``): ``power_begin`` is the system clock when the first
query was issued, ``power_end`` that plus the time to the last completion (loadgen/loadgen.cc),
in UTC with millisecond resolution (loadgen/utils.cc ``DateTimeStringForPower``). So the model
load, the warm-up, the sizing probes, LoadGen's query generation and its log writing are outside
it. Its sample count is ``result_query_count`` x ``generated_samples_per_query`` (results.cc:
every issued query's samples complete before the test ends).
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime
from pathlib import Path

from crowdperf.errors import ResultsError
from crowdperf.meters.readings import PowerSummary, Window, sampled_window, summarise
from crowdperf.meters.record import PowerRecord, write_samples
from crowdperf.meters.sampler import MeterTrace
from crowdperf.mlperf.layout import DETAIL
from crowdperf.mlperf.logs import DetailLog, parse_detail_log

POWER_TIME_FORMAT = "%m-%d-%Y %H:%M:%S.%f"  # as power_check.py parses it
_KEYS = ("power_begin", "power_end", "result_query_count", "generated_samples_per_query")


def loadgen_window(log: DetailLog) -> Window | None:
    """LoadGen's power window, or None when the log lacks it (an old or foreign LoadGen)."""
    try:
        begin, end = (
            datetime.strptime(str(log[k]), POWER_TIME_FORMAT).replace(tzinfo=UTC).timestamp()
            for k in ("power_begin", "power_end")
        )
    except (ResultsError, ValueError):
        return None
    return Window(begin, end, "loadgen power_begin/power_end") if end > begin else None


def loadgen_samples(log: DetailLog) -> int | None:
    """The samples LoadGen issued and saw completed in the run; None when the log lacks them."""
    try:
        return int(log["result_query_count"]) * int(log["generated_samples_per_query"])
    except (ResultsError, ValueError, TypeError):
        return None


def record_power(run_dir: Path, traces: Sequence[MeterTrace]) -> PowerSummary:
    """Write ``power.json`` (and ``power_samples.csv`` when a meter read) into ``run_dir``;
    return the run's headline."""
    log = parse_detail_log(run_dir / DETAIL, want=lambda key: key in _KEYS)
    window, samples = loadgen_window(log) or sampled_window(traces), loadgen_samples(log)
    readings, summary = summarise(traces, window, samples)
    samples_file = write_samples(run_dir, traces)
    PowerRecord(summary, readings, window, samples, samples_file).write(run_dir)
    return summary
