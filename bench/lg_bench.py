"""One LoadGen performance test over a ``SampleSource`` through ``BatchingSut``, settings set
directly (no user.conf): the building block of the harness benchmarks. Returns the detail log."""

from __future__ import annotations

from pathlib import Path

import mlperf_loadgen as lg

from crowdperf.mlperf.logs import DetailLog, parse_detail_log
from crowdperf.mlperf.rounds import Scenario, default_round
from crowdperf.mlperf.sample_source import SampleSource
from crowdperf.mlperf.sut import DEFAULT_SERVER_MAX_WAIT_MS, BatchingSut

_SCENARIO = {Scenario.OFFLINE: lg.TestScenario.Offline, Scenario.SERVER: lg.TestScenario.Server}


def run_test(
    scenario: Scenario,
    source: SampleSource,
    out: Path,
    *,
    batch: int,
    seconds: float,
    workers: int | None = None,  # SUT threads per replica; None: the source's concurrency
    max_wait_ms: float = DEFAULT_SERVER_MAX_WAIT_MS,
    **fields: float,
) -> DetailLog:
    s = lg.TestSettings()
    s.scenario = _SCENARIO[scenario]
    s.mode = lg.TestMode.PerformanceOnly
    seeds = default_round().seeds
    s.qsl_rng_seed, s.sample_index_rng_seed = seeds.qsl_rng_seed, seeds.sample_index_rng_seed
    s.schedule_rng_seed = seeds.schedule_rng_seed
    s.min_duration_ms = int(seconds * 1000)
    s.min_query_count = 1
    for k, v in fields.items():
        setattr(s, k, v)
    out.mkdir(parents=True, exist_ok=True)
    log = lg.LogSettings()
    log.log_output.outdir = str(out)
    log.log_output.copy_summary_to_stdout = False
    total = source.total_count
    qsl = lg.ConstructQSL(total, source.performance_count, source.load, source.unload)
    try:
        with BatchingSut(source, scenario, batch_size=batch, workers=workers, max_wait_ms=max_wait_ms) as sut:
            lg.StartTestWithLogSettings(sut.handle, qsl, s, log, str(out / "no-audit.config"))
    finally:
        lg.DestroyQSL(qsl)
    if sut.errors:
        raise RuntimeError(f"inference failed: {sut.errors[0]}")
    return parse_detail_log(out / "mlperf_log_detail.txt")
