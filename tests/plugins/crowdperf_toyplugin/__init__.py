"""A second workload that is not BERT, registered the way a third-party package registers one
(``crowdperf.workloads`` entry point in its dist-info), to prove the seams: nothing outside this
package knows it, yet it runs through ``crowdperf run``, ``submission generate``/``check`` and
``hub import``. The tests put ``tests/plugins`` on ``sys.path`` and ``PYTHONPATH`` (children)."""
