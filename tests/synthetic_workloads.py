"""The test suite's synthetic workloads: registry targets ``"synthetic_workloads:<name>"``
(``register_workload(name, target)``). tests/conftest.py puts this folder on every child
process's ``PYTHONPATH``, so LoadGen children import them by that name as the parent does."""

from __future__ import annotations

from crowdperf.mlperf.synthetic_workload import SyntheticWorkload

default_workload = SyntheticWorkload()
slow_workload = SyntheticWorkload(total=256, seconds_per_batch=0.05)  # for interruption tests
failing_workload = SyntheticWorkload(total=64, fail=True)
# A paced "system" (6,400 samples/s at batch 32) and the same system measured while other jobs slow
# it down 15 %: find-performance on a loaded machine (tests of the Offline margin).
paced_workload = SyntheticWorkload(total=256, seconds_per_batch=0.005)
paced_loaded_workload = SyntheticWorkload(total=256, seconds_per_batch=0.005 * 1.15)
# The same system measured while other jobs took most of the machine (6x slower): the stored targets
# of a busy find-performance, off by more than the margins once the machine is quiet (issue 14,
# item 11: 2.6x Offline already ended INVALID; SingleStream's x0.4 margin covers up to 5x).
paced_busy_workload = SyntheticWorkload(total=256, seconds_per_batch=0.005 * 6)
# A system busy with another job that ends right after the test-mode sizing probes (2 ms a sample
# while busy, then a no-op, ~100x faster): Offline's probes take 64 + 64 samples (the first lasts
# over the 50 ms floor), SingleStream's 16 queries. The probes under-measure it by more than
# sizing's headroom, so the sized run ends before min_duration (the harness then re-sizes it).
offline_busy_probes_workload = SyntheticWorkload(total=256, busy_samples=128, seconds_per_busy_sample=0.002)
single_stream_busy_probes_workload = SyntheticWorkload(
    total=256, busy_samples=16, seconds_per_busy_sample=0.002
)
