"""find-performance: short LoadGen probes that measure what valid runs should target.

    Offline       the best samples/s of two probes of ~``probe_ms`` (sized by short probes first)
    SingleStream  90th-percentile latency (ms) over >= 64 queries (early stopping's minimum)
    MultiStream   99th-percentile per-query latency (ms)
    Server        the highest target QPS whose probe meets the latency bound (BERT: p99 <= 130 ms,
                  mlperf.conf bert.Server.target_latency): start at 0.9 x Offline, double or halve
                  until bracketed, then bisect to 5 % (at most ``MAX_SERVER_PROBES`` probes)

All probes of one search run in one child process. They set TestSettings directly with the round's
seeds instead of reading a user.conf: the probes are never results, and LoadGen allows one
``FromConfig`` per process (see ``loadgen_runner``).
"""

from __future__ import annotations

import math
import tempfile
from dataclasses import dataclass
from pathlib import Path

import mlperf_loadgen as lg

from crowdperf.errors import ResultsError
from crowdperf.mlperf.layout import DETAIL
from crowdperf.mlperf.loadgen_runner import _SCENARIO, qsl_sizes
from crowdperf.mlperf.logs import DetailLog, parse_detail_log
from crowdperf.mlperf.rounds import BERT_SERVER_LATENCY_NS, SINGLE_STREAM_MIN_QUERIES, Scenario, Seeds
from crowdperf.mlperf.spec import ExecutionMode, RunSpec
from crowdperf.mlperf.sut import BatchingSut, default_batch_size
from crowdperf.mlperf.workload import OpenWorkload, load_workload

MAX_SERVER_PROBES = 8
OFFLINE_TIMED_PROBES = 2
SIZING_FIRST_SAMPLES = 64
SIZING_FLOOR_MS = 50.0
SIZING_MAX_PROBES = 5
SERVER_MIN_QUERIES = 100  # enough for a 99th percentile


@dataclass(frozen=True)
class FindJob:
    spec: RunSpec
    workload_ref: str
    work_dir: Path
    seeds: Seeds
    offline_qps: float | None = None  # a stored Offline result seeds the Server search
    latency_bound_ns: int = BERT_SERVER_LATENCY_NS


@dataclass(frozen=True)
class Measurement:
    scenario: Scenario
    value: float
    unit: str
    probes: int


class _Prober:
    def __init__(self, job: FindJob, opened: OpenWorkload) -> None:
        self.job, self.opened = job, opened
        self.total, self.perf = qsl_sizes(
            opened.source.total_count, opened.source.performance_count, job.spec.count
        )
        self.probe_ms = 500 if job.spec.execution_mode is ExecutionMode.TEST else 10_000
        self.count = 0

    def probe(self, scenario: Scenario, **fields: float | int) -> DetailLog:
        self.count += 1
        out = self.job.work_dir / f"probe_{self.count}"
        out.mkdir(parents=True, exist_ok=True)
        s = lg.TestSettings()
        s.scenario, s.mode = _SCENARIO[scenario], lg.TestMode.PerformanceOnly
        seeds = self.job.seeds
        s.qsl_rng_seed, s.sample_index_rng_seed = seeds.qsl_rng_seed, seeds.sample_index_rng_seed
        s.schedule_rng_seed = seeds.schedule_rng_seed
        s.performance_sample_count_override = self.perf
        s.min_duration_ms = self.probe_ms
        for name, value in fields.items():
            setattr(s, name, value)
        log = lg.LogSettings()
        log.log_output.outdir = str(out)
        log.log_output.copy_summary_to_stdout = False
        qsl = lg.ConstructQSL(self.total, self.perf, self.opened.source.load, self.opened.source.unload)
        batch = default_batch_size(scenario, self.job.spec.batch_size)
        try:
            with BatchingSut(self.opened.source, scenario, batch_size=batch) as sut:
                lg.StartTestWithLogSettings(sut.handle, qsl, s, log, str(out / "no-audit.config"))
        finally:
            lg.DestroyQSL(qsl)
        if sut.errors:
            raise ResultsError(f"inference failed during a find-performance probe: {sut.errors[0]}")
        return parse_detail_log(out / DETAIL)

    def sizing_qps(self, floor_ms: float = SIZING_FLOOR_MS) -> float:
        """Offline samples/s: the best of at least two probes (the first also warms the backend up,
        measured 1.6x slower than the run after it on the tiny model), grown until one lasts
        ``floor_ms`` (a short probe on a fast system measures LoadGen's start-up, not the SUT)."""
        n = min(self.total, SIZING_FIRST_SAMPLES)
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

    def offline_qps(self) -> float:
        """The best of ``OFFLINE_TIMED_PROBES`` probes of ~``probe_ms`` each, sized by
        ``sizing_qps``. The best, not the last or the mean: other load only ever slows a probe
        down, and an Offline target that is too low is what makes a valid run INVALID (see
        user_conf.OFFLINE_QPS_MARGIN); one that is too high only makes it longer."""
        qps = self.sizing_qps()
        best = 0.0
        for _ in range(OFFLINE_TIMED_PROBES):
            log = self.probe(Scenario.OFFLINE, offline_expected_qps=max(qps, best), min_query_count=1)
            best = max(best, float(log["result_samples_per_second"]))
        return best

    def latency_ms(self, scenario: Scenario) -> float:
        queries = SINGLE_STREAM_MIN_QUERIES
        if scenario is Scenario.SINGLE_STREAM:
            log = self.probe(scenario, min_query_count=queries, max_query_count=queries * 4)
            return float(log["result_90.00_percentile_latency_ns"]) / 1e6
        log = self.probe(scenario, min_query_count=queries, max_query_count=queries * 4)
        return float(log["result_99.00_percentile_per_query_latency_ns"]) / 1e6

    def server_passes(self, qps: float) -> bool:
        log = self.probe(
            Scenario.SERVER,
            server_target_qps=qps,
            server_target_latency_ns=self.job.latency_bound_ns,
            server_target_latency_percentile=0.99,
            min_query_count=SERVER_MIN_QUERIES,
            max_duration_ms=self.probe_ms * 10,
        )
        p99 = float(log["result_99.00_percentile_latency_ns"])
        return p99 <= self.job.latency_bound_ns and not log.errors

    def server_qps(self, offline_qps: float) -> float:
        passed, failed, q = 0.0, 0.0, max(offline_qps * 0.9, 0.1)
        for _ in range(MAX_SERVER_PROBES):
            if self.server_passes(q):
                passed = q
            else:
                failed = q
            if passed and failed and (failed - passed) / failed < 0.05:
                break
            q = (passed + failed) / 2 if passed and failed else (q * 2 if not failed else q / 2)
        if not passed:
            raise ResultsError(
                f"no Server QPS down to {q:.3g} met the {self.job.latency_bound_ns / 1e6:.0f} ms p99 bound",
                hint="use a faster backend/device or a smaller --batch-size",
            )
        return passed


def offline_sizing_qps(opened: OpenWorkload, spec: RunSpec, seeds: Seeds) -> float:
    """Samples/s of ``opened`` in Offline, for sizing a test-mode run (loadgen_runner): the caller
    already has the workload open; the probes' logs go to a scratch directory."""
    with tempfile.TemporaryDirectory(prefix="crowdperf-sizing-") as tmp:
        return _Prober(FindJob(spec, "", Path(tmp), seeds), opened).sizing_qps()


def search(job: FindJob) -> Measurement:
    """Child-process entry: measure the target for ``job.spec.scenario``."""
    opened = load_workload(job.workload_ref).open(job.spec)
    try:
        prober = _Prober(job, opened)
        scenario = job.spec.scenario
        warmup = getattr(opened, "warmup", None)  # as before a real test: untimed, off the QSL
        if warmup is not None:  # the Server search probes Offline first, at the larger batch
            probed = (scenario, Scenario.OFFLINE) if scenario is Scenario.SERVER else (scenario,)
            warmup(max(default_batch_size(s, job.spec.batch_size) for s in probed))
        if scenario is Scenario.OFFLINE:
            return Measurement(scenario, prober.offline_qps(), "samples/s", prober.count)
        if scenario is Scenario.SERVER:
            qps = prober.server_qps(job.offline_qps or prober.offline_qps())
            return Measurement(scenario, qps, "samples/s", prober.count)
        return Measurement(scenario, prober.latency_ms(scenario), "ms", prober.count)
    finally:
        opened.close()
