"""The result metric of each scenario: which detail-log record is "the" result. One table, read by
the run summary (loadgen_runner), TEST01's performance check (submission/compliance) and the hub.

Source: mlcommons/inference ``tools/submission/submission_checker/constants.py`` ``RESULT_FIELD_NEW``
(identical for v5.0 .. v6.1; v6.1 adds Interactive, scored as Server). ``fallbacks`` are what older
logs carry, and what a run too short for early stopping reports instead (test mode logs an
early-stopping latency of 0).
"""

from __future__ import annotations

from dataclasses import dataclass

from crowdperf.errors import ResultsError


@dataclass(frozen=True)
class ResultField:
    key: str  # the detail-log record the checker reads
    fallbacks: tuple[str, ...]  # older / short-run records, in order
    name: str  # how the CLI labels it
    unit: str  # unit shown
    scale: float  # log unit -> ``unit`` (latencies are logged in ns)

    @property
    def keys(self) -> tuple[str, ...]:
        return (self.key, *self.fallbacks)


_THROUGHPUT = "samples/s"
RESULT_FIELDS: dict[str, ResultField] = {
    "Offline": ResultField("result_samples_per_second", (), "throughput", _THROUGHPUT, 1.0),
    "Server": ResultField(
        "result_completed_samples_per_sec",
        ("result_scheduled_samples_per_sec",),
        "completed QPS",
        _THROUGHPUT,
        1.0,
    ),
    "Interactive": ResultField("result_completed_samples_per_sec", (), "completed QPS", _THROUGHPUT, 1.0),
    "SingleStream": ResultField(
        "early_stopping_latency_ss",
        ("result_90.00_percentile_latency_ns",),
        "p90 latency (early stopping)",
        "ms",
        1e-6,
    ),
    "MultiStream": ResultField(
        "early_stopping_latency_ms",
        ("result_99.00_percentile_per_query_latency_ns",),
        "p99 latency (early stopping)",
        "ms",
        1e-6,
    ),
}


def result_field(scenario: str) -> ResultField:
    """The metric of ``scenario`` (a ``Scenario`` or its name); a ResultsError naming the known."""
    try:
        return RESULT_FIELDS[str(scenario)]
    except KeyError:
        raise ResultsError(
            f"no result metric for scenario {scenario!r}",
            hint=f"known scenarios: {', '.join(RESULT_FIELDS)}",
        ) from None
