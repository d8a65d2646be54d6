"""What happens after each ``crowdperf run`` test lands: README population and TEST01 verification.

Hooked into the harness through ``HarnessContext.after_run`` by the CLI, so ``mlperf/`` never
imports this layer.
"""

from __future__ import annotations

import tempfile
from pathlib import Path

from crowdperf.mlperf.loadgen_runner import RunResult
from crowdperf.mlperf.spec import Mode, RunSpec
from crowdperf.mlperf.workload import get_workload
from crowdperf.submission.compliance import AccuracyEvaluator, Test01Verdict, verify_test01
from crowdperf.submission.readme import write_measurement_readme


def scenario_dir(spec: RunSpec, result: RunResult) -> Path:
    return spec.results_dir / result.system / spec.model / spec.scenario.value


def after_run(spec: RunSpec, result: RunResult) -> Test01Verdict | None:
    """README.md for the scenario (reproduce exactly); after a compliance run, TEST01's verdict."""
    directory = scenario_dir(spec, result)
    verdict = None
    if spec.mode is Mode.COMPLIANCE and (directory / "accuracy" / "mlperf_log_accuracy.json").is_file():
        model = spec.model if spec.model in ("bert-99", "bert-99.9") else "bert-99"
        verdict = verify_test01(directory, dtype="float32", model=model, evaluate=_evaluator(spec))
    if (directory / "performance" / "run_1").is_dir():
        write_measurement_readme(directory)
    return verdict


def _evaluator(spec: RunSpec) -> AccuracyEvaluator | None:
    """Scores a LoadGen-format accuracy log with the workload's own metric (TEST01's baseline path)."""
    workload = get_workload(spec.model)
    score = getattr(workload, "score_log", None)
    if score is None:
        return None

    def evaluate(log: Path) -> dict[str, float]:
        with tempfile.TemporaryDirectory(prefix="crowdperf-test01-") as out:
            result = score(spec, log, Path(out))
        return {"exact_match": result.exact_match, "f1": result.f1}

    return evaluate
