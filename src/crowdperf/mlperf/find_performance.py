"""find-performance: short LoadGen probes that measure what valid runs should target.

    Offline       the best samples/s of two probes of ~``probe_ms`` (sized by short probes first)
    SingleStream  90th-percentile latency (ms) over >= 64 queries (early stopping's minimum)
    MultiStream   99th-percentile per-query latency (ms)
    Server        the highest target QPS whose probe meets the workload's latency bound (BERT: p99
                  <= 130 ms, mlperf.conf bert.Server.target_latency): start at 0.9 x Offline, double or halve
                  until bracketed, then bisect to 5 % (at most ``MAX_SERVER_PROBES`` probes)

All probes of one search run in one child process (``probes.Prober``).
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from crowdperf.errors import ResultsError
from crowdperf.mlperf import progress
from crowdperf.mlperf.probes import Prober
from crowdperf.mlperf.progress import Phase
from crowdperf.mlperf.rounds import SINGLE_STREAM_MIN_QUERIES, Scenario, Seeds
from crowdperf.mlperf.spec import ExecutionMode, RunSpec
from crowdperf.mlperf.sut import default_batch_size
from crowdperf.mlperf.workload import OpenWorkload, load_workload

MAX_SERVER_PROBES = 8
OFFLINE_TIMED_PROBES = 2
SERVER_MIN_QUERIES = 100  # enough for a 99th percentile


@dataclass(frozen=True)
class FindJob:
    spec: RunSpec
    workload_ref: str
    work_dir: Path
    seeds: Seeds
    latency_bound_ns: int  # the workload's Server p99 bound (BenchmarkRules.server_latency_ns)
    offline_qps: float | None = None  # a stored Offline result seeds the Server search


@dataclass(frozen=True)
class Measurement:
    scenario: Scenario
    value: float
    unit: str
    probes: int


class TargetSearch:
    """The searches of find-performance, one method per scenario, on top of ``Prober``."""

    def __init__(self, job: FindJob, opened: OpenWorkload) -> None:
        self.job = job
        self.prober = Prober(
            opened,
            seeds=job.seeds,
            work_dir=job.work_dir,
            count=job.spec.count,
            batch_size=job.spec.batch_size,
            probe_ms=500 if job.spec.execution_mode is ExecutionMode.TEST else 10_000,
        )

    def offline_qps(self) -> float:
        """The best of ``OFFLINE_TIMED_PROBES`` probes of ~``probe_ms`` each, sized by
        ``Prober.sizing_qps``. The best, not the last or the mean: other load only ever slows a
        probe down, and an Offline target that is too low is what makes a valid run INVALID (see
        user_conf.OFFLINE_QPS_MARGIN); one that is too high only makes it longer."""
        qps = self.prober.sizing_qps()
        best = 0.0
        for _ in range(OFFLINE_TIMED_PROBES):
            log = self.prober.probe(Scenario.OFFLINE, offline_expected_qps=max(qps, best), min_query_count=1)
            best = max(best, float(log["result_samples_per_second"]))
        return best

    def latency_ms(self, scenario: Scenario) -> float:
        queries = SINGLE_STREAM_MIN_QUERIES
        log = self.prober.probe(scenario, min_query_count=queries, max_query_count=queries * 4)
        if scenario is Scenario.SINGLE_STREAM:
            return float(log["result_90.00_percentile_latency_ns"]) / 1e6
        return float(log["result_99.00_percentile_per_query_latency_ns"]) / 1e6

    def server_passes(self, qps: float) -> bool:
        log = self.prober.probe(
            Scenario.SERVER,
            server_target_qps=qps,
            server_target_latency_ns=self.job.latency_bound_ns,
            server_target_latency_percentile=0.99,
            min_query_count=SERVER_MIN_QUERIES,
            max_duration_ms=self.prober.probe_ms * 10,
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


def search(job: FindJob) -> Measurement:
    """Child-process entry: measure the target for ``job.spec.scenario``."""
    progress.report_phase(Phase.LOADING)
    opened = load_workload(job.workload_ref).open(job.spec)
    try:
        search_ = TargetSearch(job, opened)
        scenario = job.spec.scenario
        warmup = getattr(opened, "warmup", None)  # as before a real test: untimed, off the QSL
        if warmup is not None:  # the Server search probes Offline first, at the larger batch
            progress.report_phase(Phase.WARMUP)
            probed = (scenario, Scenario.OFFLINE) if scenario is Scenario.SERVER else (scenario,)
            warmup(max(default_batch_size(s, job.spec.batch_size, opened.source) for s in probed))
        progress.report_phase(Phase.SEARCH, unit="probes")
        if scenario is Scenario.OFFLINE:
            return Measurement(scenario, search_.offline_qps(), "samples/s", search_.prober.count)
        if scenario is Scenario.SERVER:
            qps = search_.server_qps(job.offline_qps or search_.offline_qps())
            return Measurement(scenario, qps, "samples/s", search_.prober.count)
        return Measurement(scenario, search_.latency_ms(scenario), "ms", search_.prober.count)
    finally:
        opened.close()
