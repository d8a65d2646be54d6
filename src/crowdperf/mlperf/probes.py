"""Short LoadGen probes on an open workload: the measurements behind find-performance and behind
the sizing of test-mode runs.

A probe sets ``TestSettings`` directly (the round's seeds, no user.conf): probes are never results,
and LoadGen allows one ``FromConfig`` per process (see ``loadgen_runner``), which the real test of
the same child still needs. Each probe writes its logs into its own scratch directory.
"""

from __future__ import annotations

import math
from pathlib import Path

import mlperf_loadgen as lg

from crowdperf.errors import ResultsError
from crowdperf.mlperf import progress
from crowdperf.mlperf.layout import ACCURACY_LOG, DETAIL
from crowdperf.mlperf.logs import DetailLog, parse_detail_log
from crowdperf.mlperf.rounds import Scenario, Seeds
from crowdperf.mlperf.sut import BatchingSut, default_batch_size
from crowdperf.mlperf.workload import OpenWorkload

LOADGEN_SCENARIO = {
    Scenario.SINGLE_STREAM: lg.TestScenario.SingleStream,
    Scenario.MULTI_STREAM: lg.TestScenario.MultiStream,
    Scenario.SERVER: lg.TestScenario.Server,
    Scenario.OFFLINE: lg.TestScenario.Offline,
}
SIZING_FIRST_SAMPLES = 64
SIZING_FLOOR_MS = 50.0
SIZING_MAX_PROBES = 5
# Queries in a latency sizing probe: enough for a stable minimum, few enough that a system taking
# a second per query (BERT-Large on 2 CPU cores) spends seconds, not minutes, on it.
LATENCY_SIZING_QUERIES = 16


def qsl_sizes(source_total: int, source_perf: int, count: int | None) -> tuple[int, int]:
    """(QSL total, performance sample count) after ``--count``'s cap on distinct samples."""
    total = min(source_total, count) if count else source_total
    return total, min(source_perf, total)


class Prober:
    """Runs probes of any scenario on ``opened`` (already warmed up by the caller)."""

    def __init__(
        self,
        opened: OpenWorkload,
        *,
        seeds: Seeds,
        work_dir: Path,
        count: int | None,
        batch_size: int | None,
        probe_ms: int,
    ) -> None:
        self.opened, self.seeds, self.work_dir = opened, seeds, work_dir
        self.total, self.perf = qsl_sizes(opened.source.total_count, opened.source.performance_count, count)
        self.batch_size = batch_size
        self.probe_ms = probe_ms
        self.count = 0

    def probe(self, scenario: Scenario, **fields: float | int) -> DetailLog:
        """One LoadGen performance test; ``fields`` set ``TestSettings`` attributes by name."""
        return parse_detail_log(self._run(scenario, lg.TestMode.PerformanceOnly, fields) / DETAIL)

    def accuracy_log(self, scenario: Scenario) -> Path:
        """Every QSL sample once, in LoadGen's AccuracyOnly mode (the first ``count`` samples of
        the data set when ``count`` caps the QSL): the ``mlperf_log_accuracy.json`` it wrote."""
        return self._run(scenario, lg.TestMode.AccuracyOnly, {}) / ACCURACY_LOG

    @property
    def last_probe_dir(self) -> Path:
        return self.work_dir / f"probe_{self.count}"

    def _run(self, scenario: Scenario, mode: lg.TestMode, fields: dict[str, float | int]) -> Path:
        self.count += 1
        out = self.last_probe_dir
        out.mkdir(parents=True, exist_ok=True)
        s = lg.TestSettings()
        s.scenario, s.mode = LOADGEN_SCENARIO[scenario], mode
        s.qsl_rng_seed, s.sample_index_rng_seed = self.seeds.qsl_rng_seed, self.seeds.sample_index_rng_seed
        s.schedule_rng_seed = self.seeds.schedule_rng_seed
        s.performance_sample_count_override = self.perf
        s.min_duration_ms = self.probe_ms
        for name, value in fields.items():
            setattr(s, name, value)
        log = lg.LogSettings()
        log.log_output.outdir = str(out)
        log.log_output.copy_summary_to_stdout = False
        source = self.opened.source
        qsl = lg.ConstructQSL(self.total, self.perf, source.load, source.unload)
        batch = default_batch_size(scenario, self.batch_size, source)
        try:
            with BatchingSut(source, scenario, batch_size=batch) as sut:
                lg.StartTestWithLogSettings(sut.handle, qsl, s, log, str(out / "no-audit.config"))
        finally:
            lg.DestroyQSL(qsl)
        if sut.errors:
            raise ResultsError(f"inference failed during a probe: {sut.errors[0]}")
        progress.advance()  # sizing and find-performance count their probes
        return out

    def sizing_qps(
        self, floor_ms: float = SIZING_FLOOR_MS, first_samples: int = SIZING_FIRST_SAMPLES
    ) -> float:
        """Offline samples/s: the best of at least two probes (the first also warms the backend up,
        measured 1.6x slower than the run after it on the tiny model), grown until one lasts
        ``floor_ms`` (a short probe on a fast system measures LoadGen's start-up, not the SUT)."""
        n = min(self.total, first_samples)
        qps = 0.0
        for i in range(SIZING_MAX_PROBES):
            log = self.probe(Scenario.OFFLINE, min_query_count=n, min_duration_ms=0)
            qps = max(qps, float(log["result_samples_per_second"]))
            lasted_ms = 1000 * n / qps
            if i >= 1 and lasted_ms >= floor_ms:
                break
            if lasted_ms < floor_ms:
                n = math.ceil(n * 2 * floor_ms / max(lasted_ms, 0.01))
        return qps

    def fastest_query_ms(self, scenario: Scenario) -> float:
        """The shortest query latency (ms) over ``LATENCY_SIZING_QUERIES`` SingleStream or
        MultiStream queries. The minimum, not a percentile: other load only slows queries down, and
        a test-mode expectation must hold for the fastest the system can go."""
        n = LATENCY_SIZING_QUERIES
        log = self.probe(scenario, min_query_count=n, max_query_count=n, min_duration_ms=0)
        return float(log["result_min_latency_ns"]) / 1e6
