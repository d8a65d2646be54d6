"""BatchingSut scheduling, driven by the real LoadGen in-process (settings set directly, no user.conf)."""

from __future__ import annotations

import threading
from collections.abc import Sequence
from pathlib import Path

import mlperf_loadgen as lg
import numpy as np
import pytest

from crowdperf.mlperf.rounds import Scenario
from crowdperf.mlperf.sut import DEFAULT_BATCH_SIZE, BatchingSut, default_batch_size, split_by_length
from crowdperf.mlperf.synthetic_workload import SyntheticSource, expected_rows
from crowdperf.workloads.bert.workload import call_overhead_tokens, warmup_rows


class RecordingSource(SyntheticSource):
    def __init__(
        self, total: int, replicas: int = 1, seconds_per_batch: float = 0.0, concurrency: int = 1
    ) -> None:
        super().__init__(
            expected_rows(total, 4), seconds_per_batch, replicas=replicas, concurrency=concurrency
        )
        self.batches: list[list[int]] = []
        self.in_flight = [0] * replicas  # infer calls running now, per replica
        self.most_in_flight = [0] * replicas
        self._lock = threading.Lock()

    def infer(self, indices: Sequence[int], replica: int = 0) -> np.ndarray:
        with self._lock:
            self.batches.append(list(indices))
            self.in_flight[replica] += 1
            self.most_in_flight[replica] = max(self.most_in_flight[replica], self.in_flight[replica])
        try:
            return super().infer(indices, replica)
        finally:
            with self._lock:
                self.in_flight[replica] -= 1


def _run(scenario: Scenario, source: RecordingSource, tmp_path: Path, batch: int, **fields: float) -> None:
    s = lg.TestSettings()
    s.scenario = getattr(lg.TestScenario, scenario.value)
    s.mode = lg.TestMode.PerformanceOnly
    s.min_duration_ms, s.min_query_count = 0, 64
    for k, v in fields.items():
        setattr(s, k, v)
    tmp_path.mkdir(parents=True, exist_ok=True)
    log = lg.LogSettings()
    log.log_output.outdir = str(tmp_path)
    log.log_output.copy_summary_to_stdout = False
    qsl = lg.ConstructQSL(source.total_count, source.total_count, source.load, source.unload)
    with BatchingSut(source, scenario, batch_size=batch) as sut:
        lg.StartTestWithLogSettings(sut.handle, qsl, s, log, str(tmp_path / "none"))
    lg.DestroyQSL(qsl)
    assert not sut.errors


@pytest.mark.parametrize("scenario", [Scenario.OFFLINE, Scenario.SERVER])
@pytest.mark.parametrize("concurrency", [1, 2])
def test_a_sources_concurrency_is_how_many_batches_each_replica_runs_at_once(
    scenario: Scenario, concurrency: int, tmp_path: Path
) -> None:
    """A GPU backend that enqueues under its lock and waits outside it asks for two workers per
    replica: one's host work overlaps the other's GPU work. Never more than asked."""
    src = RecordingSource(120, replicas=2, seconds_per_batch=0.004, concurrency=concurrency)
    if scenario is Scenario.OFFLINE:
        _run(scenario, src, tmp_path, batch=4, offline_expected_qps=1, min_query_count=120)
    else:
        _run(scenario, src, tmp_path, batch=4, server_target_qps=3000, min_query_count=120)
    assert sum(src.answered) >= 120
    assert src.most_in_flight == [concurrency, concurrency]


def test_batch_size_is_the_users_else_the_sources_else_the_scenarios() -> None:
    gpu = SyntheticSource(expected_rows(4, 4), batch_sizes={Scenario.OFFLINE: 1024})
    cpu = SyntheticSource(expected_rows(4, 4))
    assert default_batch_size(Scenario.OFFLINE, 96, gpu) == 96
    assert default_batch_size(Scenario.OFFLINE, None, gpu) == 1024
    assert default_batch_size(Scenario.SERVER, None, gpu) == DEFAULT_BATCH_SIZE[Scenario.SERVER]
    assert default_batch_size(Scenario.OFFLINE, None, cpu) == DEFAULT_BATCH_SIZE[Scenario.OFFLINE]
    for source in (gpu, cpu):
        assert default_batch_size(Scenario.SINGLE_STREAM, 64, source) == 1  # one sample a query


def test_offline_batches_are_length_sorted_and_full(tmp_path: Path) -> None:
    src = RecordingSource(100)
    _run(Scenario.OFFLINE, src, tmp_path, batch=16, offline_expected_qps=1, min_query_count=100)
    sizes = [len(b) for b in src.batches]
    assert sum(sizes) == 100 and sizes[:-1] == [16] * 6
    lengths = np.concatenate([src.lengths[b] for b in src.batches])
    assert (np.diff(lengths) <= 0).all()  # longest first across the batches


@pytest.mark.parametrize("scenario", [Scenario.OFFLINE, Scenario.SERVER])
def test_every_replica_gets_a_fair_share_of_the_batches(scenario: Scenario, tmp_path: Path) -> None:
    """One worker per replica (device) on one shared queue: 4 simulated devices of equal speed
    (1 ms a batch, sleeping without the GIL like a GPU) each answer about a quarter."""
    src = RecordingSource(400, replicas=4, seconds_per_batch=0.001)
    if scenario is Scenario.OFFLINE:
        _run(scenario, src, tmp_path, batch=4, offline_expected_qps=1, min_query_count=400)
    else:
        _run(scenario, src, tmp_path, batch=4, server_target_qps=4000, min_query_count=400)
    assert sum(src.answered) == sum(len(b) for b in src.batches) >= 400
    share = np.asarray(src.answered) / sum(src.answered)
    assert share.min() > 0.15, src.answered  # 0.25 each when fair; a lone worker would take 1.0


def test_single_stream_takes_turns_on_the_replicas(tmp_path: Path) -> None:
    src = RecordingSource(50, replicas=2)
    _run(Scenario.SINGLE_STREAM, src, tmp_path, batch=1)
    assert abs(src.answered[0] - src.answered[1]) <= 1 and sum(src.answered) >= 64


def test_single_and_multi_stream_batch_one_query_each(tmp_path: Path) -> None:
    ss = RecordingSource(50)
    _run(Scenario.SINGLE_STREAM, ss, tmp_path / "ss", batch=1)
    assert {len(b) for b in ss.batches} == {1}
    ms = RecordingSource(50)
    _run(Scenario.MULTI_STREAM, ms, tmp_path / "ms", batch=8, multi_stream_samples_per_query=8)
    assert {len(b) for b in ms.batches} == {8}


def test_server_batches_never_exceed_the_batch_size(tmp_path: Path) -> None:
    src = RecordingSource(200)
    _run(Scenario.SERVER, src, tmp_path, batch=4, server_target_qps=2000, min_query_count=400)
    assert sum(len(b) for b in src.batches) >= 400
    assert max(len(b) for b in src.batches) <= 4


def _padded_cost(lengths: np.ndarray, chunks: list[list[int]], align: int, overhead: float) -> float:
    return sum(overhead + len(c) * -(-int(lengths[c].max()) // align) * align for c in chunks)


def test_split_by_length_partitions_and_never_costs_more_than_one_batch() -> None:
    rng = np.random.default_rng(1)
    for _ in range(50):
        lengths = rng.integers(5, 385, int(rng.integers(2, 65)))
        overhead = float(rng.choice([0.0, 300.0, 3000.0]))
        chunks = split_by_length(lengths, 32, overhead)
        assert sorted(k for c in chunks for k in c) == list(range(len(lengths)))
        flat = np.concatenate([lengths[c] for c in chunks])
        assert (np.diff(flat) >= 0).all()  # short samples first
        whole = [list(range(len(lengths)))]
        assert _padded_cost(lengths, chunks, 32, overhead) <= _padded_cost(lengths, whole, 32, overhead)


def test_split_by_length_extremes() -> None:
    lengths = np.array([300, 20, 40, 100, 33, 380])
    # free calls: one chunk per padded width (32, 64, 128, 320, 384)
    assert split_by_length(lengths, 32, 0.0) == [[1], [4, 2], [3], [0], [5]]
    assert split_by_length(lengths, 32, float("inf")) == [[1, 4, 2, 3, 0, 5]]  # never split
    assert split_by_length(lengths, 32, 10_000.0) == [[1, 4, 2, 3, 0, 5]]  # calls too dear
    assert split_by_length(np.array([7]), 32, 0.0) == [[0]]


def test_call_overhead_from_warmup_timings() -> None:
    # 1 row of 384 in 2 ms, 8 rows in 9 ms: 1 ms per row -> 384 tokens/ms -> fixed 1 ms = 384 tokens
    assert call_overhead_tokens(0.002, 0.009, 8, 384) == pytest.approx(384.0)
    assert call_overhead_tokens(0.002, 0.002, 8, 384) == float("inf")  # extra rows were free


def _triton_class(n: int) -> str:
    """How Triton specialises an integer kernel argument (triton/runtime/jit.py, its
    ``native_specialize_impl``): a constant when 1, "divisible by 16", or neither; one compile each."""
    return "one" if n == 1 else "div16" if n % 16 == 0 else "other"


@pytest.mark.parametrize("cuda", [True, False])
def test_warmup_rows_compile_every_class_of_row_count_a_batch_can_have_on_a_gpu(cuda: bool) -> None:
    """Every batch of 1..b rows (Server's dynamic batches, Offline's last one) finds its row
    count's Triton specialisation compiled by warm-up, on a GPU; a CPU warms 1 and b only."""
    for b in range(1, 1100):
        rows = warmup_rows(b, cuda=cuda)
        assert rows[0] == 1 and rows[-1] == b and all(1 <= n <= b for n in rows)
        if cuda:
            assert {_triton_class(n) for n in range(1, b + 1)} <= {_triton_class(n) for n in rows}, b
        else:
            assert rows == sorted({1, b})


def test_server_batches_are_split_by_length_when_calls_are_cheap(tmp_path: Path) -> None:
    src = RecordingSource(300)
    src.align, src.call_overhead_tokens = 32, 0.0
    _run(Scenario.SERVER, src, tmp_path, batch=32, server_target_qps=20_000, min_query_count=600)
    widths = [{-(-int(n) // 32) for n in src.lengths[b]} for b in src.batches]
    assert all(len(w) == 1 for w in widths)  # every call holds one padded width
    assert sum(len(b) for b in src.batches) >= 600


def _brute_force_cost(lengths: np.ndarray, align: int, overhead: float) -> float:
    """Cheapest cut of the sorted batch into contiguous chunks, over all 2^(n-1) cuts."""
    widths = np.sort(-(-lengths // align) * align)
    n, best = len(widths), float("inf")
    for mask in range(1 << (n - 1)):
        cost, start = 0.0, 0
        for end in [k + 1 for k in range(n - 1) if mask >> k & 1] + [n]:
            cost += overhead + (end - start) * widths[end - 1]
            start = end
        best = min(best, cost)
    return best


def test_split_by_length_is_optimal_against_brute_force() -> None:
    rng = np.random.default_rng(7)
    for _ in range(40):
        lengths = rng.integers(1, 385, int(rng.integers(2, 11)))
        overhead = float(rng.choice([0.0, 50.0, 400.0, 2000.0]))
        chunks = split_by_length(lengths, 32, overhead)
        want = _brute_force_cost(lengths, 32, overhead)
        assert _padded_cost(lengths, chunks, 32, overhead) == pytest.approx(want)
