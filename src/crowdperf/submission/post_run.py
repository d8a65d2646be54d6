"""What happens after each ``crowdperf run`` test lands: README population and TEST01 verification.

Hooked into the harness through ``HarnessContext.after_run`` by the CLI, so ``mlperf/`` never
imports this layer.
"""

from __future__ import annotations

import tempfile
from pathlib import Path

from crowdperf.mlperf.layout import RunLayout, ScenarioDir
from crowdperf.mlperf.loadgen_runner import RunResult
from crowdperf.mlperf.spec import Mode, RunSpec
from crowdperf.mlperf.workload import Workload, get_workload
from crowdperf.submission.compliance import AccuracyEvaluator, Test01Verdict, verify_test01
from crowdperf.submission.readme import write_measurement_readme


def scenario_dir(spec: RunSpec, result: RunResult) -> ScenarioDir:
    return RunLayout(spec.results_dir, result.system, spec.model, spec.scenario).dirs


def after_run(spec: RunSpec, result: RunResult) -> Test01Verdict | None:
    """README.md for the scenario (reproduce exactly); after a compliance run, TEST01's verdict
    under the rules of the benchmark the model runs (or stands in for)."""
    dirs = scenario_dir(spec, result)
    verdict = None
    if spec.mode is Mode.COMPLIANCE and (dirs.accuracy / "mlperf_log_accuracy.json").is_file():
        workload = get_workload(spec.model)
        verdict = verify_test01(
            dirs.path, workload.rules.benchmark, dtype="float32", evaluate=_evaluator(spec, workload)
        )
    if dirs.performance.is_dir():
        write_measurement_readme(dirs.path)
    return verdict


def _evaluator(spec: RunSpec, workload: Workload) -> AccuracyEvaluator | None:
    """Scores a LoadGen-format accuracy log with the workload's own metric (TEST01's baseline path)."""
    score = getattr(workload, "score_log", None)
    if score is None:
        return None

    def evaluate(log: Path) -> dict[str, float]:
        with tempfile.TemporaryDirectory(prefix="crowdperf-test01-") as out:
            result = score(spec, log, Path(out))
        return dict(result.scores)

    return evaluate
