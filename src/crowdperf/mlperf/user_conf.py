"""The user.conf written for every LoadGen test, and the TEST01 audit.config.

LoadGen reads ``mlperf.conf`` (compiled into the wheel since v5.0) and then our user.conf, both
``model.scenario.key = value`` lines (loadgen/test_settings_internal.cc ``FromConfig``; keys and
units from loadgen/mlperf.conf: durations and latencies in ms). We write only exact
``<model>.<scenario>.<key>`` lines.

test mode (never submittable): short and capped so a run takes seconds:
    min_duration = 100 ms, max_duration = 60 s (a safety stop), min_query_count = the test query
    count, performance_sample_count_override = the QSL size. (No max_query_count: reaching it logs
    an ``error_runtime`` record; the run ends naturally once min_duration and the count are met.)
valid mode: only the targets (and performance_sample_count_override when the QSL is smaller than
    BERT's 10,833, which can never be submitted anyway). min_duration, query counts and seeds stay
    as mlperf.conf sets them, so LoadGen enforces MLPerf's rules.

Targets from find-performance, with margins (our choice, documented in docs/harness.md):
    Offline target_qps   = measured x 1.01  LoadGen issues 1.1 x 600 s x target_qps samples, so the
                         run lasts >= 600 s unless the system is >= 11% faster than measured.
    Server target_qps    = highest passing QPS x 0.95  (short probes see less tail than 600 s runs)
    SingleStream / MultiStream target_latency = measured p90 x 0.4, as CM does (LoadGen generates
                         min_duration / target_latency queries: an expectation above the mean
                         latency runs out of queries before 600 s, seen here: INVALID), capped by
                         max_duration = 660 s
"""

from __future__ import annotations

from dataclasses import dataclass

from crowdperf.mlperf.rounds import BERT_DATASET_SIZE, Scenario
from crowdperf.mlperf.spec import ExecutionMode

TEST_MIN_DURATION_MS = 100
TEST_MAX_DURATION_MS = 60_000
OFFLINE_QPS_MARGIN = 1.01
SERVER_QPS_MARGIN = 0.95
LATENCY_MARGIN = 0.4
# Valid SingleStream/MultiStream runs stop here (CM's MLC_MLPERF_MAX_DURATION_VALID): a low
# expected latency makes LoadGen generate many queries, this cap keeps the run near 11 minutes.
VALID_MAX_DURATION_MS = 660_000
MULTI_STREAM_SAMPLES_PER_QUERY = 8  # mlperf.conf: *.MultiStream.samples_per_query = 8

# TEST01 for BERT: compliance/TEST01/bert/audit.config in mlcommons/inference.
TEST01_AUDIT_CONFIG = (
    "# TEST01 (compliance/TEST01/bert/audit.config): accuracy logging in performance mode\n"
    "*.*.mode = 2\n"
    "*.*.accuracy_log_rng_seed = 720381539243781796\n"
    "*.*.accuracy_log_sampling_target = 4096\n"
)


@dataclass(frozen=True)
class ResolvedTargets:
    """Targets after overrides and margins, as LoadGen gets them."""

    target_qps: float | None = None
    target_latency_ms: float | None = None
    source: str = "default"  # "override", "find-performance", "test default"


# Test-mode query counts: early stopping needs >= 64 queries for a p90 estimate (SingleStream) and
# >= 662 for a p99 estimate (Server; LoadGen's summary states both minimums); MultiStream 16 queries
# of 8 samples. ``--count`` lowers them (and caps the QSL), at the price of an early-stopping INVALID.
TEST_QUERIES = {Scenario.SINGLE_STREAM: 64, Scenario.MULTI_STREAM: 16, Scenario.SERVER: 662}


def test_query_count(scenario: Scenario, qsl_size: int, count: int | None) -> int:
    """Queries a test-mode run issues (Offline: samples in its one query = the capped QSL)."""
    if scenario is Scenario.OFFLINE:
        return qsl_size
    cap = TEST_QUERIES[scenario]
    if count:
        per_query = MULTI_STREAM_SAMPLES_PER_QUERY if scenario is Scenario.MULTI_STREAM else 1
        cap = min(cap, max(1, count // per_query))
    return cap


def render_user_conf(
    *,
    loadgen_model: str,
    scenario: Scenario,
    execution_mode: ExecutionMode,
    targets: ResolvedTargets,
    qsl_size: int,
    count: int | None,
) -> str:
    key = f"{loadgen_model}.{scenario.value}"
    lines = [f"# crowdperf user.conf: {execution_mode.value} mode, {scenario.value}"]
    if targets.target_qps is not None and scenario in (Scenario.OFFLINE, Scenario.SERVER):
        lines.append(f"{key}.target_qps = {targets.target_qps:.6g}")
    if targets.target_latency_ms is not None and scenario in (Scenario.SINGLE_STREAM, Scenario.MULTI_STREAM):
        # ms, read as a double and scaled to ns (test_settings_internal.cc lookupkv multiplier)
        lines.append(f"{key}.target_latency = {targets.target_latency_ms:.6g}")
    if execution_mode is ExecutionMode.TEST:
        q = test_query_count(scenario, qsl_size, count)
        lines += [
            f"{key}.min_duration = {TEST_MIN_DURATION_MS}",
            f"{key}.max_duration = {TEST_MAX_DURATION_MS}",
            f"{key}.min_query_count = {q}",
        ]
        lines.append(f"{key}.performance_sample_count_override = {qsl_size}")
    else:
        if scenario in (Scenario.SINGLE_STREAM, Scenario.MULTI_STREAM):
            lines.append(f"{key}.max_duration = {VALID_MAX_DURATION_MS}")
        if qsl_size < BERT_DATASET_SIZE:
            lines.append(f"{key}.performance_sample_count_override = {qsl_size}")
    return "\n".join(lines) + "\n"


def apply_margin(scenario: Scenario, stored: float) -> float:
    if scenario is Scenario.OFFLINE:
        return stored * OFFLINE_QPS_MARGIN
    if scenario is Scenario.SERVER:
        return stored * SERVER_QPS_MARGIN
    return stored * LATENCY_MARGIN
