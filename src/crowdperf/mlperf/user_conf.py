"""The user.conf written for every LoadGen test, and the TEST01 audit.config.

LoadGen reads ``mlperf.conf`` (compiled into the wheel since v5.0) and then our user.conf, both
``model.scenario.key = value`` lines (loadgen/test_settings_internal.cc ``FromConfig``; keys and
units from loadgen/mlperf.conf: durations and latencies in ms). We write only exact
``<model>.<scenario>.<key>`` lines.

test mode (never submittable): short, on a capped data set, and VALID on a healthy system of any
speed (targets sized by a probe in the test's child, mlperf/sizing.py):
    min_duration = 100 ms, max_duration = 60 s (a safety stop), performance_sample_count_override =
    the QSL size (``--count`` caps it: the distinct samples; performance runs reuse them as often as
    validity needs), min_query_count = what LoadGen's validity checks need (``min_queries_in_test_mode``,
    ``offline_test_samples`` below). (No max_query_count: reaching it logs an ``error_runtime``
    record; the run ends naturally once min_duration and the count are met.)
valid mode: only the targets (and performance_sample_count_override when the QSL is smaller than
    the benchmark's performance sample count, BERT's 10,833: such a run can never be submitted).
    min_duration, query counts and seeds stay as mlperf.conf sets them, so LoadGen enforces
    MLPerf's rules.

Targets from find-performance, with margins (docs/harness.md "Margins"). Each margin leans the way
in which a wrong target costs only time, not validity:
    Offline target_qps   = best probe x 1.1. LoadGen issues one query of
                         max(min_query_count, 1.1 x min_duration x target_qps) samples
                         (test_settings_internal.cc kSlack) and the run is VALID when its last
                         sample completes after min_duration (results.cc MinDurationMet). Too low a
                         target (find-performance on a loaded machine) ends the run early: INVALID.
                         Too high only lengthens it. x 1.1 on top of kSlack: VALID unless the system
                         is > 21% faster than its best probe; at the measured speed the 600 s run
                         lasts 726 s.
    Server target_qps    = the highest QPS that held the bound over a confirmation probe x 0.95.
                         Too high fails the p99 bound (INVALID), too low only scores lower; the
                         confirmation sees 4 % over capacity (server_search.py), this margin the rest.
    SingleStream / MultiStream target_latency = measured p90 x 0.4, as CM does (LoadGen
                         pre-generates queries spaced by it over 2 x min_duration, loadgen.cc
                         GenerateQueries: an expectation above half the real latency runs out of
                         queries before 600 s, seen here: INVALID; a low one only generates more),
                         capped by max_duration = 660 s
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from crowdperf.mlperf.rounds import Scenario
from crowdperf.mlperf.spec import ExecutionMode

TEST_MIN_DURATION_MS = 100
TEST_MAX_DURATION_MS = 60_000
OFFLINE_QPS_MARGIN = 1.1
SERVER_QPS_MARGIN = 0.95
LATENCY_MARGIN = 0.4
# Valid SingleStream/MultiStream runs stop here (CM's MLC_MLPERF_MAX_DURATION_VALID): a low
# expected latency makes LoadGen generate many queries, this cap keeps the run near 11 minutes.
VALID_MAX_DURATION_MS = 660_000
MULTI_STREAM_SAMPLES_PER_QUERY = 8  # mlperf.conf: *.MultiStream.samples_per_query = 8


def render_test01_audit_config(sampling_target: int) -> str:
    """TEST01's audit.config (compliance/TEST01/<model>/audit.config in mlcommons/inference): accuracy
    logging in performance mode; only the sampling target differs between models (BERT: 4096)."""
    return (
        "# TEST01 (compliance/TEST01/<model>/audit.config): accuracy logging in performance mode\n"
        "*.*.mode = 2\n"
        "*.*.accuracy_log_rng_seed = 720381539243781796\n"
        f"*.*.accuracy_log_sampling_target = {sampling_target}\n"
    )


@dataclass(frozen=True)
class ResolvedTargets:
    """Targets after overrides and margins, as LoadGen gets them."""

    target_qps: float | None = None
    target_latency_ms: float | None = None
    # "override", "find-performance", "test default", sizing.SIZED or sizing.RESIZED
    source: str = "default"
    # what the test sizing probe measured: Offline samples/s, SingleStream/MultiStream the fastest
    # query in ms (provenance records it beside the targets it gave)
    probed: float | None = None


# Test-mode query counts: what LoadGen's validity checks need, whatever ``--count`` is (it caps the
# distinct samples, not the queries). loadgen/results.cc ``EarlyStopping``: SingleStream needs
# h_min + 1 = 64 queries for the p90 estimate, MultiStream 662 for p99 (mlperf.conf also sets
# ``*.MultiStream.min_query_count = 662``); Server needs h + t queries, 662 covers one over-latency
# query at p99. Fewer queries are INVALID however fast the system is.
TEST_QUERIES = {Scenario.SINGLE_STREAM: 64, Scenario.MULTI_STREAM: 662, Scenario.SERVER: 662}
# Test-mode runs are sized by a probe of the system (mlperf/sizing.py) to stay VALID on a system
# this many times faster than the probe saw: Offline issues samples for TEST_SPEED_HEADROOM x
# min_duration at the probed QPS (LoadGen's own slack, 1.1 in test_settings_internal.cc ``kSlack``,
# comes on top), SingleStream/MultiStream generate queries for it.
TEST_SPEED_HEADROOM = 20.0
# Samples in one test-mode Offline query at most: LoadGen holds ~480 bytes a sample in flight
# (measured: 1M samples, 478 MB), and 1M samples last 100 ms only above 10M samples/s, more than 10x
# what a no-op SUT reaches through LoadGen (bench/harness_overhead.py: 778k samples/s).
TEST_MAX_OFFLINE_SAMPLES = 1_000_000


def min_queries_in_test_mode(scenario: Scenario) -> int:
    """min_query_count of a SingleStream/MultiStream/Server test-mode run (see TEST_QUERIES)."""
    return TEST_QUERIES[scenario]


def offline_test_samples(qsl_size: int, target_qps: float | None) -> int:
    """Samples in a test-mode Offline query: the capped QSL, or more when the target QPS says the
    QSL alone would finish before ``TEST_MIN_DURATION_MS``.

    LoadGen rules (mlcommons/inference loadgen/): Offline coalesces the run into one query of
    ``max(min_query_count, 1.1 x min_duration x target_qps)`` samples
    (test_settings_internal.cc, ``kSlack``), repeating the loaded performance samples when the
    query is larger than ``performance_sample_count`` (loadgen.cc ``GenerateQueries``); the result
    is VALID only when the last sample completes at or after min_duration (results.cc
    ``MinDurationMet``: ``max_latency >= min_duration``). A fixed sample count on a fast system
    ends too early, so the count follows the target QPS.
    """
    if target_qps is None:
        return qsl_size
    needed = math.ceil(target_qps * TEST_MIN_DURATION_MS / 1000 * TEST_SPEED_HEADROOM)
    return max(qsl_size, min(needed, TEST_MAX_OFFLINE_SAMPLES))


def render_user_conf(
    *,
    loadgen_model: str,
    scenario: Scenario,
    execution_mode: ExecutionMode,
    targets: ResolvedTargets,
    qsl_size: int,
    performance_sample_count: int,
) -> str:
    """``performance_sample_count``: the workload's (mlperf.conf's value for ``loadgen_model``)."""
    key = f"{loadgen_model}.{scenario.value}"
    lines = [f"# crowdperf user.conf: {execution_mode.value} mode, {scenario.value}"]
    if targets.target_qps is not None and scenario in (Scenario.OFFLINE, Scenario.SERVER):
        lines.append(f"{key}.target_qps = {targets.target_qps:.6g}")
    if targets.target_latency_ms is not None and scenario in (Scenario.SINGLE_STREAM, Scenario.MULTI_STREAM):
        # ms, read as a double and scaled to ns (test_settings_internal.cc lookupkv multiplier)
        lines.append(f"{key}.target_latency = {targets.target_latency_ms:.6g}")
    if execution_mode is ExecutionMode.TEST:
        q = (
            offline_test_samples(qsl_size, targets.target_qps)
            if scenario is Scenario.OFFLINE
            else min_queries_in_test_mode(scenario)
        )
        lines += [
            f"{key}.min_duration = {TEST_MIN_DURATION_MS}",
            f"{key}.max_duration = {TEST_MAX_DURATION_MS}",
            f"{key}.min_query_count = {q}",
        ]
        lines.append(f"{key}.performance_sample_count_override = {qsl_size}")
    else:
        if scenario in (Scenario.SINGLE_STREAM, Scenario.MULTI_STREAM):
            lines.append(f"{key}.max_duration = {VALID_MAX_DURATION_MS}")
        if qsl_size < performance_sample_count:
            lines.append(f"{key}.performance_sample_count_override = {qsl_size}")
    return "\n".join(lines) + "\n"


def apply_margin(scenario: Scenario, stored: float) -> float:
    if scenario is Scenario.OFFLINE:
        return stored * OFFLINE_QPS_MARGIN
    if scenario is Scenario.SERVER:
        return stored * SERVER_QPS_MARGIN
    return stored * LATENCY_MARGIN
