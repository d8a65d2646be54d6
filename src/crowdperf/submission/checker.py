"""``crowdperf submission check``: MLPerf's submission rules, one round at a time.

The checks follow mlcommons/inference ``tools/submission/submission_checker/`` (master, v6.x) and the
v5.1 single-file checker; each rule cites the check it mirrors. What a rule requires of one
benchmark (required scenarios, accuracy target, dataset size, latency bound, TEST01 delta) comes
from the rules of the installed workload that runs it (``mlperf/workload_rules.py``; BERT's in
``workloads/bert/rules.py``), as the checker's ``MODEL_CONFIG`` holds them per benchmark. Findings
are grouped by result (``<division>/<submitter>/results/<system>/<model>/<scenario>``) and each says
what to do.
A run made with test-mode settings (min_duration below 600 s) gets one finding,
"test-mode run, not submittable", instead of the duration/query-count errors it implies.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path

from crowdperf.errors import MissingInputError, UsageError
from crowdperf.mlperf.layout import ScenarioDir
from crowdperf.mlperf.logs import DetailLog, parse_detail_log
from crowdperf.mlperf.rounds import MIN_DURATION_MS, Category, Layout, Round, Scenario
from crowdperf.mlperf.workload import benchmarks
from crowdperf.mlperf.workload_rules import BenchmarkRules
from crowdperf.submission.layout import ResultPaths
from crowdperf.submission.log_identity import ACCURACY_MODE, PERFORMANCE_MODE, mode_problem, scenario_problem
from crowdperf.submission.results import read_accuracy_metrics
from crowdperf.submission.system_description import (
    MEANINGFUL_FIELDS,
    REQUIRED_FIELDS,
    VALID_STATUS,
    VALID_SYSTEM_TYPES,
)
from crowdperf.submission.truncate import MAX_ACCURACY_LOG_SIZE, existing_hash

VALID_DIVISIONS = ("closed", "open", "network")
REQUIRED_ACC_FILES = (
    "mlperf_log_summary.txt",
    "mlperf_log_detail.txt",
    "accuracy.txt",
    "mlperf_log_accuracy.json",
)
REQUIRED_PERF_FILES = ("mlperf_log_summary.txt", "mlperf_log_detail.txt")
MEASUREMENT_KEYS = ("input_data_types", "retraining", "starting_weights_filename", "weight_data_types",
                    "weight_transformations")  # fmt: skip  # constants.py SYSTEM_IMP_REQUIRED_FILES
EARLY_STOPPING = {"SingleStream", "MultiStream", "Server"}  # config.uses_early_stopping
TEST_MODE = "test-mode run, not submittable"


@dataclass(frozen=True)
class Finding:
    rule: str
    message: str
    fix: str


@dataclass
class ResultCheck:
    key: str  # path relative to the submission root
    findings: list[Finding] = field(default_factory=list)

    @property
    def passed(self) -> bool:
        return not self.findings

    def add(self, rule: str, message: str, fix: str) -> None:
        self.findings.append(Finding(rule, message, fix))


@dataclass(frozen=True)
class CheckReport:
    root: Path
    round: str
    results: tuple[ResultCheck, ...]

    @property
    def passed(self) -> bool:
        return bool(self.results) and all(r.passed for r in self.results)

    @property
    def n_ok(self) -> int:
        return sum(r.passed for r in self.results if "/results/" in r.key)

    def to_dict(self) -> dict:
        return {
            "schema": "crowdperf.submission.check/1",
            "root": str(self.root),
            "round": self.round,
            "passed": self.passed,
            "results": [
                {"result": r.key, "passed": r.passed, "findings": [f.__dict__ for f in r.findings]}
                for r in self.results
            ],
        }


def _dirs(path: Path) -> list[Path]:
    return sorted(p for p in path.iterdir() if p.is_dir()) if path.is_dir() else []


def _load_json(path: Path) -> dict | None:
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, json.JSONDecodeError):
        return None
    return data if isinstance(data, dict) else None


def _benchmark(model: str, mapping: dict, known: dict[str, BenchmarkRules]) -> BenchmarkRules | None:
    """configuration.py get_mlperf_model: the benchmark's own name, model_mapping.json, or a name
    containing a benchmark's (the longest: bert-99.9 before bert-99); None when none applies."""
    name = model if model in known else mapping.get(model)
    if name is None:
        name = next((b for b in sorted(known, key=len, reverse=True) if b in model), None)
    return known.get(name) if isinstance(name, str) else None


def check_submission(root: Path, rnd: Round, *, skip_compliance: bool = False) -> CheckReport:
    if not root.is_dir():
        raise MissingInputError(
            f"no submission tree at {root}", hint="run `crowdperf submission generate` first"
        )
    checks: list[ResultCheck] = []
    for div_dir in _dirs(root):
        if div_dir.name not in VALID_DIVISIONS:
            continue
        for org in _dirs(div_dir):
            checks.extend(_check_org(root, org, div_dir.name, rnd, skip_compliance))
    if not checks:
        tree = ResultCheck(".")
        tree.add(
            "structure",
            "no <division>/<submitter>/results/<system>/<model>/<scenario> found",
            "generate the tree with `crowdperf submission generate`",
        )
        checks.append(tree)
    return CheckReport(root, rnd.name, tuple(checks))


def _check_org(root: Path, org: Path, division: str, rnd: Round, skip_compliance: bool) -> list[ResultCheck]:
    out = []
    mapping = (_load_json(org / "model_mapping.json") or {}) if division == "open" else {}
    known = benchmarks()
    for system_dir in _dirs(org / "results"):
        system_json = _load_json(org / "systems" / f"{system_dir.name}.json")
        sys_check = ResultCheck(str(system_dir.relative_to(root)))
        system_type = _check_system(sys_check, system_json, org, division, system_dir.name)
        out.append(sys_check)
        for model_dir in _dirs(system_dir):
            benchmark = _benchmark(model_dir.name, mapping, known)
            scenarios = [d.name for d in _dirs(model_dir)]
            for scen_dir in _dirs(model_dir):
                check = ResultCheck(str(scen_dir.relative_to(root)))
                paths = ResultPaths(org, system_dir.name, model_dir.name, scen_dir.name, rnd.layout)
                if benchmark is None:
                    check.add(
                        "model",
                        f"{model_dir.name!r} is not an MLPerf benchmark of an installed workload",
                        f"closed: use {' or '.join(sorted(known))}; open: map it in model_mapping.json",
                    )
                    out.append(check)
                    continue
                try:
                    _check_scenarios(check, rnd, benchmark, division, system_type, scenarios, scen_dir.name)
                    _check_result(check, paths, benchmark, division, rnd, skip_compliance, system_type)
                except UsageError as exc:  # the benchmark has no rules for this round
                    check.add("rules", exc.message, exc.hint or "check with the round the run used")
                out.append(check)
    return out


def _check_system(check: ResultCheck, data: dict | None, org: Path, division: str, name: str) -> str:
    """system_check.py: present, required fields, meaningful values, status, type, submitter, division."""
    if data is None:
        check.add(
            "system", f"systems/{name}.json is missing or not JSON", "run `crowdperf submission generate`"
        )
        return Category.EDGE.value
    for key in REQUIRED_FIELDS:
        if key not in data:
            check.add(
                "system", f"systems/{name}.json has no field {key!r}", "regenerate the tree or add the field"
            )
        elif key in MEANINGFUL_FIELDS and not data[key]:
            check.add(
                "system",
                f"systems/{name}.json field {key!r} is empty",
                "give it a value (use --overrides FILE.yaml with `crowdperf system describe`)",
            )
    if data.get("status") not in VALID_STATUS:
        check.add(
            "system", f"status {data.get('status')!r} is not one of {VALID_STATUS}", "set status: available"
        )
    if data.get("system_type") not in VALID_SYSTEM_TYPES:
        check.add("system", f"system_type {data.get('system_type')!r} is invalid", "use edge or datacenter")
    if data.get("submitter") != org.name:
        check.add(
            "system", f"submitter {data.get('submitter')!r} != folder {org.name!r}", "regenerate the tree"
        )
    if data.get("division") != division:
        check.add(
            "system", f"division {data.get('division')!r} != folder {division!r}", "regenerate the tree"
        )
    return str(data.get("system_type") or "edge")


def _check_scenarios(
    check: ResultCheck,
    rnd: Round,
    benchmark: BenchmarkRules,
    division: str,
    system_type: str,
    present: list[str],
    scenario: str,
) -> None:
    """loader.py check_scenarios (closed and network only): every required scenario present."""
    if scenario not in {s.value for s in Scenario}:
        check.add(
            "naming",
            f"unknown scenario folder {scenario!r}",
            "use SingleStream, MultiStream, Server or Offline",
        )
        return
    if division == "open":
        return
    required: set[str] = set()
    for cat in system_type.split(","):
        if cat in (Category.EDGE.value, Category.DATACENTER.value):
            required |= {s.value for s in benchmark.required_scenarios(rnd.name, Category(cat))}
    missing = sorted(required - set(present))
    if missing:
        check.add(
            "scenarios",
            f"{benchmark.name} on this system lacks required scenarios {missing}",
            f"run `crowdperf run --scenario {missing[0]}` and regenerate",
        )
    if scenario not in required:  # loader.py check_scenarios: "unknown scenarios" (no optional ones)
        check.add(
            "scenarios",
            f"{scenario} is not among {benchmark.name}'s scenarios for {system_type} systems in {rnd.name}",
            f"remove {scenario}/ or submit it to --division open",
        )


def _check_result(
    check: ResultCheck,
    paths: ResultPaths,
    benchmark: BenchmarkRules,
    division: str,
    rnd: Round,
    skip_compliance: bool,
    system_type: str = Category.EDGE.value,
) -> None:
    _check_measurements(check, paths)
    tree = ScenarioDir(paths.results)
    where = _Where(paths.scenario, system_type)
    _check_accuracy(check, tree.accuracy, benchmark, division, rnd)
    perf = _check_performance(check, tree.performance, benchmark, division, rnd, "performance", where)
    if perf is not None and division != "open" and not skip_compliance:
        _check_test01(check, ScenarioDir(paths.compliance_dir), benchmark, division, rnd, where)
    if any(f.message == TEST_MODE for f in check.findings):
        # One plain message for a test-mode run: drop what follows from its short settings (a
        # capped accuracy run, the TEST01 run's own test-mode finding).
        kept, seen = [], False
        for f in check.findings:
            if f.rule == "accuracy-coverage" or (f.message == TEST_MODE and seen):
                continue
            seen |= f.message == TEST_MODE
            kept.append(f)
        check.findings[:] = kept


def _check_measurements(check: ResultCheck, paths: ResultPaths) -> None:
    """measurements_checks.py: measurement JSON with the 5 keys, user.conf + README.md, code dir."""
    data = _load_json(paths.measurements_json)
    if data is None:
        check.add("measurements", f"{paths.measurements_json.name} is missing", "regenerate the tree")
    else:
        for key in MEASUREMENT_KEYS:
            if not data.get(key):
                check.add("measurements", f"measurement JSON lacks {key!r}", "regenerate the tree")
    for name in ("user.conf", "README.md"):
        f = paths.measurements_dir / name
        if not f.is_file():
            check.add("measurements", f"{name} is missing", "regenerate the tree")
        elif f.stat().st_size == 0:
            check.add(
                "measurements", f"{name} is empty", "regenerate the tree from a results dir with user.conf"
            )
    if not paths.code_dir.parent.parent.is_dir():
        check.add("code", f"{paths.code_dir.parent.parent.name}/ is missing", "regenerate the tree")


def _check_accuracy(
    check: ResultCheck, acc: Path, benchmark: BenchmarkRules, division: str, rnd: Round
) -> None:
    """accuracy_check.py: exact file list, accuracy target (closed), hash line, truncated log, errors,
    dataset size."""
    if not acc.is_dir():
        check.add("accuracy", "accuracy/ is missing", "run `crowdperf run --mode accuracy` and regenerate")
        return
    present = {p.name for p in acc.iterdir() if p.is_file()}
    missing = [f for f in REQUIRED_ACC_FILES if f not in present]
    if missing:
        check.add("accuracy", f"accuracy/ lacks {missing}", "re-run the accuracy run and regenerate")
        return
    metrics = read_accuracy_metrics(acc)
    target, metric = benchmark.accuracy_target(rnd.name).value, benchmark.accuracy_metric
    if division != "open":
        if metrics is None or metric not in metrics:
            check.add("accuracy", f'accuracy.txt has no {{"{metric}": ..}} line', "re-run accuracy")
        elif metrics[metric] < target:
            check.add(
                "accuracy",
                f"{metric.upper()} {metrics[metric]:.3f} is below the {benchmark.name} target {target:.3f}",
                "fix the accuracy, or submit to --division open",
            )
        if existing_hash(acc / "accuracy.txt") is None:
            check.add("accuracy", "accuracy.txt has no hash= line", "regenerate (truncation adds it)")
    if (acc / "mlperf_log_accuracy.json").stat().st_size > MAX_ACCURACY_LOG_SIZE:
        check.add("accuracy", "mlperf_log_accuracy.json is not truncated (> 10 KiB)", "regenerate the tree")
    log = parse_detail_log(acc / "mlperf_log_detail.txt")
    _loadgen_errors(check, log, "accuracy")
    if (wrong_mode := mode_problem(log, ACCURACY_MODE)) is not None:
        check.add(
            "accuracy", f"accuracy/: {wrong_mode}", "copy the accuracy run's logs (regenerate the tree)"
        )
    count = log.get("effective_accuracy_sample_count", log.get("qsl_reported_total_count"))
    if count != benchmark.dataset_size:
        check.add(
            "accuracy-coverage",
            f"accuracy run covered {count} samples, not {benchmark.name}'s {benchmark.dataset_size}",
            "run accuracy mode over the full data set (no --count)",
        )


def _loadgen_errors(check: ResultCheck, log: DetailLog, where: str) -> None:
    if log.errors:
        first = "; ".join(f"{e.key}: {e.value}" for e in log.errors[:3])
        check.add(
            "loadgen",
            f"{where} log has LoadGen errors ({first})",
            "run each LoadGen test in a fresh process with one user.conf (FromConfig once)",
        )


@dataclass(frozen=True)
class _Where:
    """The folder a result sits in: what its logs must agree with."""

    scenario: str
    system_type: str


def _check_performance(
    check: ResultCheck,
    run: Path,
    benchmark: BenchmarkRules,
    division: str,
    rnd: Round,
    where: str,
    folder: _Where,
) -> DetailLog | None:
    """performance_check.py: files, errors, the log's own scenario and mode (inferred_check), sample
    count, seeds, early stopping, queries, duration."""
    missing = [f for f in REQUIRED_PERF_FILES if not (run / f).is_file()]
    if missing:
        check.add(where, f"{run.name}/ lacks {missing}", "re-run the performance run and regenerate")
        return None
    log = parse_detail_log(run / "mlperf_log_detail.txt")
    _loadgen_errors(check, log, where)
    if (wrong := scenario_problem(log, folder.scenario, folder.system_type)) is not None:
        check.add(where, wrong, f"file the run under {log.get('effective_scenario')}/ (regenerate the tree)")
    if (wrong_mode := mode_problem(log, PERFORMANCE_MODE)) is not None:
        check.add(
            where, f"{run.name}/: {wrong_mode}", "copy the performance run's logs (regenerate the tree)"
        )
    scenario = str(log.get("effective_scenario"))
    seeds = rnd.seeds
    for key in ("qsl_rng_seed", "sample_index_rng_seed", "schedule_rng_seed"):
        if log.get(f"effective_{key}") != getattr(seeds, key):
            check.add(
                where,
                f"{key} {log.get(f'effective_{key}')} is not the {rnd.name} seed {getattr(seeds, key)}",
                f"use the LoadGen release of {rnd.name} or pass --round for the LoadGen you ran",
            )
    if int(log.get("effective_min_duration_ms", 0)) < MIN_DURATION_MS:
        check.add(
            where, TEST_MODE, "re-run with `crowdperf run --execution-mode valid` (600 s LoadGen minimum)"
        )
        return log
    # performance_check.py: the benchmark's performance-sample-count; Offline's one query at least
    # its min-queries ("bert-99": {"Offline": 1} x samples); Server within the latency constraint
    samples = benchmark.performance_sample_count
    if int(log.get("effective_performance_sample_count", 0)) < samples:
        check.add(
            where, f"performance_sample_count below {samples}", "do not override performance_sample_count"
        )
    if scenario in EARLY_STOPPING and not log.get("early_stopping_met", False):
        check.add(where, f"early stopping not met: {log.get('early_stopping_result')}", "run longer")
    if (
        scenario == "Offline"
        and division != "open"
        and int(log.get("effective_samples_per_query", 0)) < samples
    ):
        check.add(where, f"Offline query has fewer than {samples} samples", "raise target_qps in user.conf")
    bound = benchmark.server_latency_ns
    if scenario == "Server" and int(log.get("effective_target_latency_ns", 0)) > bound:
        check.add(
            where, f"Server target latency above {bound / 1e6:g} ms", "use the mlperf.conf latency bound"
        )
    if log.get("result_validity") != "VALID":
        check.add(where, f"LoadGen result is {log.get('result_validity')}", "see mlperf_log_summary.txt")
    return log


def _check_test01(
    check: ResultCheck,
    dirs: ScenarioDir,
    benchmark: BenchmarkRules,
    division: str,
    rnd: Round,
    folder: _Where,
) -> None:
    """compliance_check.py: TEST01 dir, verify files, its performance run, TEST PASS or baseline."""
    t01 = dirs.test01
    if not t01.is_dir():
        check.add("compliance", "TEST01 is missing", "run `crowdperf run --mode compliance` and regenerate")
        return
    for name in ("verify_accuracy.txt", "verify_performance.txt"):
        if not (t01 / name).is_file():
            check.add("compliance", f"TEST01/{name} is missing", "run the TEST01 verification and regenerate")
    _check_performance(check, dirs.test01_performance, benchmark, division, rnd, "compliance", folder)
    acc = t01 / "verify_accuracy.txt"
    passed = acc.is_file() and "TEST PASS" in [ln.strip() for ln in acc.read_text().splitlines()]
    if passed and rnd.layout is Layout.V5:
        # v5.1 submission_checker.py: TEST01/accuracy holds exactly these files after TEST PASS.
        have = {p.name for p in dirs.test01_accuracy.glob("*") if p.is_file()}
        if have != {"mlperf_log_accuracy.json", "accuracy.txt"}:
            check.add(
                "compliance",
                f"TEST01/accuracy has {sorted(have)}, needs mlperf_log_accuracy.json and accuracy.txt",
                "regenerate the tree (truncation writes accuracy.txt)",
            )
    if acc.is_file() and not passed:
        base, comp = (
            dirs.test01_accuracy / "baseline_accuracy.txt",
            dirs.test01_accuracy / "compliance_accuracy.txt",
        )
        if not (base.is_file() and comp.is_file()):
            check.add(
                "compliance",
                "TEST01 accuracy differs and no baseline/compliance accuracy files",
                "make the backend deterministic or run the baseline-accuracy check",
            )
        else:
            metric = benchmark.accuracy_metric
            b, c = _first_score(base, metric), _first_score(comp, metric)
            limit = benchmark.test01_delta_percent  # configuration.py get_delta_perc
            if not b or not c or abs(1 - b / c) * 100 > limit:
                check.add(
                    "compliance",
                    f"TEST01 baseline {metric} {b} vs compliance {c} differ by more than {limit}%",
                    "the backend's outputs depend on batching; fix it",
                )


def _first_score(path: Path, metric: str) -> float | None:
    for line in path.read_text().splitlines():
        try:
            data = json.loads(line)
        except json.JSONDecodeError:
            continue
        if isinstance(data, dict) and metric in data:
            return float(data[metric])
    return None
