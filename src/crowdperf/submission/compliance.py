"""Compliance TEST01 ("accuracy in performance mode") verification.

Follows mlcommons/inference ``compliance/TEST01/`` (read, not copied):
- ``verify_accuracy.py``: every response sampled in the TEST01 performance run
  (``TEST01/performance/run_1/mlperf_log_accuracy.json``) must equal the accuracy run's response for
  the same ``qsl_idx``; "TEST PASS" needs at least one match and no mismatch. (MLPerf's script
  compares only the first decoded element; we compare every byte, which is stricter.)
- ``verify_performance.py``: both runs VALID, same scenario, and the TEST01 metric within 10% of the
  submitted one (20% for SingleStream at <= 200 us).
- ``create_accuracy_baseline.sh`` + the checker's non-deterministic path: when bytes differ, the
  accuracy-run responses for the sampled ``qsl_idx`` (the baseline) and the TEST01 responses are both
  scored with the workload's own metric; ``baseline_accuracy.txt`` and ``compliance_accuracy.txt``
  must agree within the benchmark's TEST01 delta (BERT: 1% for bert-99, 0.1% for bert-99.9;
  configuration.py ``get_delta_perc``, constants.py ``REQUIRED_TEST01_ACC_FILES``).
Outputs land where ``run_verification.py`` puts them: ``TEST01/verify_accuracy.txt``,
``TEST01/verify_performance.txt`` and ``TEST01/accuracy/``.
"""

from __future__ import annotations

import json
import shutil
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from crowdperf.errors import MissingInputError, UsageError
from crowdperf.mlperf.layout import ScenarioDir
from crowdperf.mlperf.logs import parse_detail_log
from crowdperf.mlperf.metrics import RESULT_FIELDS
from crowdperf.mlperf.workload_rules import BenchmarkRules

# Scores an accuracy log (a JSON list of {"qsl_idx", "data"}) -> {metric: score}, e.g.
# {"exact_match": EM, "f1": F1}; the benchmark's accuracy_metric is compared.
AccuracyEvaluator = Callable[[Path], dict[str, float]]
DTYPES = {"byte": np.byte, "float32": np.float32, "int32": np.int32, "int64": np.int64}


@dataclass(frozen=True)
class Test01Verdict:
    accuracy_pass: bool  # byte match (deterministic path)
    performance_pass: bool
    baseline_pass: bool | None  # None: not needed or no evaluator given
    mismatches: int
    matches: int
    reference_score: float | None
    test_score: float | None
    detail: str

    @property
    def passed(self) -> bool:
        return self.performance_pass and (self.accuracy_pass or bool(self.baseline_pass))


def _load(path: Path) -> list[dict]:
    if not path.is_file():
        raise MissingInputError(f"no accuracy log at {path}", hint="run the accuracy and TEST01 runs first")
    return json.loads(path.read_text(encoding="utf-8"))


def _compare(ref: list[dict], test: list[dict], dtype: str) -> tuple[int, int, int, list[str]]:
    by_idx = {s["qsl_idx"]: s["data"] for s in ref}
    match = mismatch = missing = 0
    for s in test:
        if s["qsl_idx"] not in by_idx:
            missing += 1
            continue
        a = np.frombuffer(bytes.fromhex(s["data"]), DTYPES[dtype])
        b = np.frombuffer(bytes.fromhex(by_idx[s["qsl_idx"]]), DTYPES[dtype])
        if a.shape == b.shape and np.array_equal(a, b):
            match += 1
        else:
            mismatch += 1
    lines = [
        f"num_acc_log_entries = {len(ref)}",
        f"num_perf_log_entries = {len(test)}",
        f"num_perf_log_qsl_idx_match = {match + mismatch}",
        f"num_perf_log_data_mismatch = {mismatch}",
        f"num_missing_qsl_idxs = {missing}",
    ]
    return match, mismatch, missing, lines


def _perf(detail: Path) -> tuple[str, float | None, bool]:
    log = parse_detail_log(detail)
    scenario = str(log.get("effective_scenario"))
    field_ = RESULT_FIELDS.get(scenario)  # an unknown scenario scores None: TEST FAIL below
    value = log.get(field_.key) if field_ else None
    return scenario, (float(value) if value is not None else None), log.valid


def verify_performance(
    ref_detail: Path, test_detail: Path
) -> tuple[bool, list[str], float | None, float | None]:
    ref_scen, ref, ref_valid = _perf(ref_detail)
    test_scen, test, test_valid = _perf(test_detail)
    lines = ["Verifying performance.", f"Reference score = {ref}", f"Test score = {test}"]
    if not ref_valid or not test_valid:
        return False, [*lines, "TEST FAIL: Invalid results"], ref, test
    if ref_scen != test_scen or ref is None or test is None:
        return False, [*lines, "TEST FAIL: Test and reference scenarios do not match!"], ref, test
    threshold = 0.20 if ref_scen == "SingleStream" and ref <= 200_000 else 0.10
    ok = ref * (1 - threshold) <= test <= ref * (1 + threshold)
    return ok, [*lines, "TEST PASS" if ok else "TEST FAIL: Test score invalid"], ref, test


def _baseline(
    ref: list[dict], test: list[dict], acc_out: Path, evaluate: AccuracyEvaluator, benchmark: BenchmarkRules
) -> tuple[bool, str]:
    sampled = {s["qsl_idx"] for s in test}
    baseline = acc_out / "mlperf_log_accuracy_baseline.json"
    baseline.write_text(json.dumps([s for s in ref if s["qsl_idx"] in sampled]))
    base = evaluate(baseline)
    comp = evaluate(acc_out / "mlperf_log_accuracy.json")
    baseline.unlink()
    (acc_out / "baseline_accuracy.txt").write_text(json.dumps(base) + "\n")
    (acc_out / "compliance_accuracy.txt").write_text(json.dumps(comp) + "\n")
    (acc_out / "accuracy.txt").write_text(json.dumps(comp) + "\n")
    metric = benchmark.accuracy_metric
    b, c = float(base.get(metric, 0.0)), float(comp.get(metric, 0.0))
    if b == 0 or c == 0:
        return False, f"baseline or compliance {metric} is 0"
    delta = abs(1 - b / c) * 100
    limit = benchmark.test01_delta_percent
    return (
        delta <= limit,
        f"{metric} baseline {b:.4f} vs compliance {c:.4f}: delta {delta:.3f}% (limit {limit}%)",
    )


def verify_test01(
    scenario_dir: Path,
    benchmark: BenchmarkRules,
    dtype: str = "float32",
    evaluate: AccuracyEvaluator | None = None,
) -> Test01Verdict:
    """Verify ``<scenario_dir>/TEST01`` against the accuracy and performance runs; write the reports.
    ``benchmark``: the rules of the benchmark the model runs (or stands in for): its TEST01 delta."""
    if dtype not in DTYPES:
        raise UsageError(f"unknown dtype {dtype!r}", hint=f"use one of {', '.join(DTYPES)}")
    dirs = ScenarioDir(scenario_dir)
    t01, run = dirs.test01, dirs.test01_performance
    ref, test = (
        _load(dirs.accuracy / "mlperf_log_accuracy.json"),
        _load(run / "mlperf_log_accuracy.json"),
    )
    match, mismatch, _missing, lines = _compare(ref, test, dtype)
    acc_pass = mismatch == 0 and match > 0
    _write(t01 / "verify_accuracy.txt", [*lines, "TEST PASS" if acc_pass else "TEST FAIL"])
    perf_pass, perf_lines, ref_score, test_score = verify_performance(
        dirs.performance / "mlperf_log_detail.txt", run / "mlperf_log_detail.txt"
    )
    _write(t01 / "verify_performance.txt", perf_lines)
    acc_out = dirs.test01_accuracy
    acc_out.mkdir(exist_ok=True)
    shutil.copy2(run / "mlperf_log_accuracy.json", acc_out / "mlperf_log_accuracy.json")
    baseline_pass, detail = None, "sampled responses match the accuracy run byte for byte" if acc_pass else ""
    if not acc_pass:
        if evaluate is None:
            detail = f"{mismatch} sampled responses differ; pass an accuracy evaluator for the baseline check"
        else:
            baseline_pass, detail = _baseline(ref, test, acc_out, evaluate, benchmark)
    return Test01Verdict(acc_pass, perf_pass, baseline_pass, mismatch, match, ref_score, test_score, detail)


def _write(path: Path, lines: list[str]) -> None:
    tmp = path.with_name(path.name + ".tmp")
    tmp.write_text("\n".join(lines) + "\n")
    tmp.replace(path)
