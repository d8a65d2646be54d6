"""find-performance: short LoadGen probes that measure what valid runs should target.

    Offline       the best samples/s of two probes of ~``probe_ms`` (sized by short probes first)
    SingleStream  90th-percentile latency (ms) over >= 64 queries (early stopping's minimum)
    MultiStream   99th-percentile per-query latency (ms)
    Server        the highest target QPS the system sustains under the workload's latency bound
                  (BERT: p99 <= 130 ms, mlperf.conf bert.Server.target_latency): short probes
                  bracket it from 0.9 x Offline and bisect to 5 %, capped by what failed probes
                  completed; then one probe long enough that 4 % over capacity breaks the bound
                  (test mode: 3.25 s) confirms it, stepping down 5 % on a failure
                  (server_search.py says why a short probe alone reports too much)

All probes of one search run in one child process (``probes.Prober``).
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from crowdperf.mlperf import progress
from crowdperf.mlperf.probes import Prober
from crowdperf.mlperf.progress import Phase
from crowdperf.mlperf.rounds import SINGLE_STREAM_MIN_QUERIES, Scenario, Seeds
from crowdperf.mlperf.server_search import ServerSearch, SustainedQps
from crowdperf.mlperf.spec import ExecutionMode, RunSpec
from crowdperf.mlperf.sut import default_batch_size
from crowdperf.mlperf.workload import OpenWorkload, load_workload

OFFLINE_TIMED_PROBES = 2


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
    probes: int  # LoadGen tests the search ran (Offline sizing included)
    note: str = ""  # how the value was found, one line (Server: its confirmation)


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

    def server_qps(self, offline_qps: float) -> SustainedQps:
        """The highest QPS that held the latency bound over a confirmation probe (server_search.py)."""
        search = ServerSearch(self.prober, self.job.latency_bound_ns, probe_ms=self.prober.probe_ms)
        return search.highest(offline_qps)

    def measure(self, scenario: Scenario) -> Measurement:
        """The target of ``scenario`` (the workload opened and warmed up by the caller)."""
        if scenario is Scenario.OFFLINE:
            return Measurement(scenario, self.offline_qps(), "samples/s", self.prober.count)
        if scenario is Scenario.SERVER:
            found = self.server_qps(self.job.offline_qps or self.offline_qps())
            return Measurement(scenario, found.qps, "samples/s", self.prober.count, found.describe())
        return Measurement(scenario, self.latency_ms(scenario), "ms", self.prober.count)


def search(job: FindJob) -> Measurement:
    """Child-process entry: measure the target for ``job.spec.scenario``."""
    progress.report_phase(Phase.LOADING)
    opened = load_workload(job.workload_ref).open(job.spec)
    try:
        search_ = TargetSearch(job, opened)
        scenario = job.spec.scenario
        warmup = getattr(opened, "warmup", None)  # as before a real test: untimed, off the QSL
        if warmup is not None:
            # at the scenario's own batch, as the run will: a GPU's graphs are sized by it, and
            # Server graphs sized for Offline's 1,024 rows run ~4x the (empty) attention programs
            # of 256-row ones, so the probes would measure a slower system than the run. The
            # Offline probe that seeds a Server search is only a start point.
            progress.report_phase(Phase.WARMUP)
            warmup(default_batch_size(scenario, job.spec.batch_size, opened.source))
        progress.report_phase(Phase.SEARCH, unit="probes")
        return search_.measure(scenario)
    finally:
        opened.close()
