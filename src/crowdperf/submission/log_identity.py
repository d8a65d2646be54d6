"""What a LoadGen detail log says about itself, against the folder it sits in.

LoadGen records the scenario it really ran (``effective_scenario``) and whether it measured
performance or accuracy (``effective_test_mode``); it does not name the model (what identifies
it, the sample counts and seeds, the checker compares with the benchmark's rules). A log under
``Server/`` that says SingleStream, or an accuracy log under ``performance/run_1``, is not the
result its path claims.

MLPerf's checker (``submission_checker/checks/performance_check.py`` ``inferred_check``) lets an
*edge* system file a result under another scenario only where the metric can be inferred:
SingleStream -> MultiStream, MultiStream -> Offline, SingleStream -> Offline; anything else, and
any mismatch on a system that is not edge, is refused. ``scenario_problem`` applies that rule (the
checker's); ``identity_problems`` is the strict form ``submission generate`` applies to its own
runs, which never file one scenario as another.
"""

from __future__ import annotations

from crowdperf.mlperf.logs import DetailLog

PERFORMANCE_MODE = "PerformanceOnly"
ACCURACY_MODE = "AccuracyOnly"
# performance_check.py inferred_check: (the log's scenario, the folder's) pairs an edge system may file.
INFERABLE = {("singlestream", "multistream"), ("multistream", "offline"), ("singlestream", "offline")}


def scenario_problem(log: DetailLog, folder: str, system_type: str) -> str | None:
    """The checker's rule: None when the log's scenario may be filed under ``folder``."""
    logged = str(log.get("effective_scenario", ""))
    if logged.lower() == folder.lower():
        return None
    said = f"the {folder}/ folder holds a {logged or 'scenario-less'} run (its log's effective_scenario)"
    if "edge" not in system_type.lower():
        return f"{said}; a {system_type} system cannot file one scenario's result as another's"
    if (logged.lower(), folder.lower()) not in INFERABLE:
        return f"{said}; a {folder} result cannot be inferred from {logged or 'it'}"
    return None


def mode_problem(log: DetailLog, mode: str) -> str | None:
    """None when the log measured what its directory holds (``PERFORMANCE_MODE``/``ACCURACY_MODE``)."""
    logged = str(log.get("effective_test_mode", ""))
    if logged == mode:
        return None
    return f"its log records a {logged or 'mode-less'} test (effective_test_mode), not {mode}"


def identity_problems(log: DetailLog, *, scenario: str, mode: str) -> list[str]:
    """Strict: the log ran exactly ``scenario`` in ``mode``."""
    problems = []
    logged = str(log.get("effective_scenario", ""))
    if logged != scenario:
        problems.append(
            f"its log ran {logged or 'no scenario'} (effective_scenario), its folder says {scenario}"
        )
    if (wrong_mode := mode_problem(log, mode)) is not None:
        problems.append(wrong_mode)
    return problems
