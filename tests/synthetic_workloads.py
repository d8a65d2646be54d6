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
