"""BatchingSut scheduling, driven by the real LoadGen in-process (settings set directly, no user.conf)."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import mlperf_loadgen as lg
import numpy as np

from crowdperf.mlperf.rounds import Scenario
from crowdperf.mlperf.sut import BatchingSut
from crowdperf.mlperf.synthetic_workload import SyntheticSource, expected_rows


class RecordingSource(SyntheticSource):
    def __init__(self, total: int) -> None:
        super().__init__(expected_rows(total, 4))
        self.batches: list[list[int]] = []

    def infer(self, indices: Sequence[int]) -> np.ndarray:
        self.batches.append(list(indices))
        return super().infer(indices)


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


def test_offline_batches_are_length_sorted_and_full(tmp_path: Path) -> None:
    src = RecordingSource(100)
    _run(Scenario.OFFLINE, src, tmp_path, batch=16, offline_expected_qps=1, min_query_count=100)
    sizes = [len(b) for b in src.batches]
    assert sum(sizes) == 100 and sizes[:-1] == [16] * 6
    lengths = np.concatenate([src.lengths[b] for b in src.batches])
    assert (np.diff(lengths) >= 0).all()  # ascending real length across the batches


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
