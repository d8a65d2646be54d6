"""``crowdperf submission generate``: results directory -> MLPerf submission tree for one round.

What goes where follows ``tools/submission/submission_structure.md`` (v6) and the v5.1 checker
(see layout.py); accuracy logs are truncated as ``truncate_accuracy_log.py`` does (truncate.py).
Results of a non-MLPerf model (tiny, bert-large: generated weights) or below the closed accuracy
target go to ``open/``; a non-MLPerf model is listed in ``model_mapping.json`` with the benchmark its
workload's rules say it stands in for (checker option ``--extra-model-benchmark-map``). The tree is
built in a temporary directory next to the destination and renamed into place at the end.
"""

from __future__ import annotations

import json
import shutil
import tempfile
from dataclasses import asdict, dataclass, field, replace
from pathlib import Path

from crowdperf import __version__
from crowdperf.errors import MissingInputError, SubmissionError, UsageError
from crowdperf.locks import dir_lock, exclusive, tree_lock
from crowdperf.meters.record import POWER_JSON
from crowdperf.mlperf.layout import PROVENANCE, ScenarioDir
from crowdperf.mlperf.rounds import Category, Layout, Round
from crowdperf.mlperf.workload import workload_rules
from crowdperf.names import checked_name
from crowdperf.submission.compliance import verify_test01
from crowdperf.submission.layout import IMPLEMENTATION, ResultPaths
from crowdperf.submission.readme import write_measurement_readme
from crowdperf.submission.results import ScenarioResult, read_accuracy_metrics, scan_results
from crowdperf.submission.run_audit import audit_results, require_round_seeds
from crowdperf.submission.system_description import (
    SystemDescription,
    describe_system,
    description_from_dict,
    load_overrides,
    with_notes,
)
from crowdperf.submission.truncate import truncate_accuracy_dir

LOG_FILES = ("mlperf_log_summary.txt", "mlperf_log_detail.txt")
# Our files beside LoadGen's in results/.../performance/run_1, where the round's checker lets
# them be. The v6 checker lists that folder's files only for PTD power (checks/power_check.py
# required_files_check; it does list TEST01's, compliance_check.py "file list mismatch"), so they
# pass there: checked in tests/unit/submission/test_power_in_trees.py against the mirror's
# checker. The v5.x checker lists every performance/run_1 (v5.1.1 submission_checker.py,
# files_diff(list_files(perf_path), REQUIRED_PERF_FILES, OPTIONAL_PERF_FILES)): nothing of ours.
# provenance.json: how the run was made (the hub reads its batch size and workers from it);
# power.json, our software-meter power (crowdperf.meters.record): open division only, MLPerf's
# power fields need SPEC PTDaemon's spl.txt, so a closed tree carries none of it.
PERFORMANCE_EXTRAS = (PROVENANCE,)
OPEN_PERFORMANCE_EXTRAS = (PROVENANCE, POWER_JSON)


def performance_extras(division: str, layout: Layout) -> tuple[str, ...]:
    """Our files a tree of ``layout`` carries in a result's performance/run_1 in ``division``."""
    if layout is not Layout.V6:
        return ()
    return OPEN_PERFORMANCE_EXTRAS if division == "open" else PERFORMANCE_EXTRAS


@dataclass(frozen=True)
class GenerateOptions:
    results_dir: Path
    submission_dir: Path
    submitter: str
    division: str  # closed | open
    category: Category
    round: Round
    hw_notes_extra: str = ""
    sw_notes_extra: str = ""
    overrides: Path | None = None
    force: bool = False
    # Refuse runs whose LoadGen seeds are another round's (both checkers would); tests that need
    # another round's layout from these runs turn it off.
    check_round_seeds: bool = True

    def __post_init__(self) -> None:
        # The submitter is a directory of the tree (<division>/<submitter>/): one plain name, so
        # the tree stays inside --submission-dir (names.py).
        checked_name(self.submitter, "--submitter")


@dataclass(frozen=True)
class PlacedResult:
    system: str
    model: str
    scenario: str
    division: str
    reason: str  # why this division
    path: Path


@dataclass(frozen=True)
class GenerateReport:
    submission_dir: Path
    round: str
    results: tuple[PlacedResult, ...]
    notes: tuple[str, ...] = field(default_factory=tuple)


def _division_for(result: ScenarioResult, requested: str, rnd: Round) -> tuple[str, str]:
    if requested == "open":
        return "open", "requested"
    rules = workload_rules(result.model)
    target = rules.closed_accuracy_target(rnd.name)
    if target is None:
        return "open", f"model {result.model!r} is not an MLPerf reference model"
    metrics = read_accuracy_metrics(result.acc_dir)
    if metrics is None:
        return "closed", "no accuracy.txt (check will fail)"
    metric = rules.benchmark.accuracy_metric
    if metrics.get(metric, 0.0) < target.value:
        return "open", f"{metric} {metrics.get(metric)} is below the {result.model} target {target.value:.3f}"
    return "closed", "meets the closed accuracy target"


def _system_description(result: ScenarioResult, opts: GenerateOptions) -> SystemDescription:
    """The host the run recorded and the devices it used win over what this host detects now; the
    overrides file wins over both. Accelerators are always the run's devices, never the host's."""
    prov = result.performance
    devices = prov.devices  # None: not recorded (not a crowdperf run): this host's default
    inventory = prov.inventory
    if inventory is not None:
        desc = describe_system(opts.overrides, inventory=inventory, devices=devices)
    else:  # schema 1 or a foreign record: this host's inventory, what the record says on top
        desc = describe_system(opts.overrides, devices=devices)
        recorded = prov.get("system")
        if isinstance(recorded, dict) and recorded:
            desc = description_from_dict(recorded, base=asdict(desc))
            if opts.overrides is not None:
                desc = replace(desc, **load_overrides(opts.overrides))
    backend = prov.backend
    if backend:
        name = (
            f"{desc.system_name} ({backend.get('name', '?')} {backend.get('version', '')}, "
            f"{backend.get('device', '?')}, {_precision(result)})"
        )
        desc = replace(desc, system_name=name)
    return with_notes(desc, hw_extra=opts.hw_notes_extra, sw_extra=opts.sw_notes_extra)


def _precision(result: ScenarioResult) -> str:
    """backend.precision, or the harness's top-level ``precision`` field; fp32 when neither."""
    return str(result.performance.backend.get("precision") or result.performance.get("precision") or "fp32")


def _copy_logs(src: Path, dst: Path, names: tuple[str, ...]) -> None:
    dst.mkdir(parents=True, exist_ok=True)
    for name in names:
        if (src / name).is_file():
            shutil.copy2(src / name, dst / name)


def _measurements(result: ScenarioResult) -> dict[str, str]:
    """The five keys of constants.py ``SYSTEM_IMP_REQUIRED_FILES``, from provenance."""
    precision = _precision(result)
    weights = result.performance.weights_file
    if weights is None:  # run_audit refuses such a run first; a library caller gets the reason
        raise SubmissionError(
            f"{result.perf_dir}: provenance.json names no model file", hint="re-run the performance test"
        )
    return {
        "input_data_types": "int64",
        "retraining": "no",
        "starting_weights_filename": weights,
        "weight_data_types": precision,
        "weight_transformations": "none" if precision in ("fp32", "float32") else f"quantized to {precision}",
    }


def _place(result: ScenarioResult, paths: ResultPaths, division: str) -> None:
    tree = ScenarioDir(paths.results)
    extras = performance_extras(division, paths.layout)
    _copy_logs(result.perf_dir, tree.performance, (*LOG_FILES, "mlperf_log_accuracy.json", *extras))
    acc = tree.accuracy
    _copy_logs(result.acc_dir, acc, (*LOG_FILES, "mlperf_log_accuracy.json"))
    metrics_line = (
        (result.acc_dir / "accuracy.txt").read_text().splitlines()[:1]
        if (result.acc_dir / "accuracy.txt").is_file()
        else []
    )
    if metrics_line:
        (acc / "accuracy.txt").write_text(metrics_line[0] + "\n")
        truncate_accuracy_dir(acc)
    paths.measurements_dir.mkdir(parents=True, exist_ok=True)
    conf = result.perf_dir / "user.conf"
    (paths.measurements_dir / "user.conf").write_text(conf.read_text() if conf.is_file() else "")
    paths.measurements_json.write_text(json.dumps(_measurements(result), indent=2) + "\n")
    write_measurement_readme(result.path, paths.measurements_dir)
    if result.has_test01 and division == "closed":
        _place_test01(result, paths)


def _place_test01(result: ScenarioResult, paths: ResultPaths) -> None:
    out, src = ScenarioDir(paths.compliance_dir), result.dirs
    if not (src.test01 / "verify_accuracy.txt").is_file():
        # writes into the results dir, as run_verification does
        verify_test01(result.path, workload_rules(result.model).benchmark)
    _copy_logs(src.test01_performance, out.test01_performance, LOG_FILES)
    _copy_logs(src.test01, out.test01, ("verify_accuracy.txt", "verify_performance.txt"))
    acc_src = src.test01_accuracy if src.test01_accuracy.is_dir() else src.test01_performance
    names = ("mlperf_log_accuracy.json", "accuracy.txt", "baseline_accuracy.txt", "compliance_accuracy.txt")
    _copy_logs(acc_src, out.test01_accuracy, names)
    truncate_accuracy_dir(out.test01_accuracy, require_accuracy_txt=False)


def _write_code_readme(code_dir: Path, model: str) -> None:
    code_dir.mkdir(parents=True, exist_ok=True)
    (code_dir / "README.md").write_text(
        f"# {model}: crowdperf {__version__}\n\n"
        "Produced with crowdperf (https://pypi.org/project/crowdperf/), which drives the official MLPerf\n"
        "LoadGen (`mlcommons-loadgen`) with the reference BERT pre- and post-processing.\n\n"
        f"```bash\npip install crowdperf=={__version__}\ncrowdperf run --help\n```\n\n"
        "Each measurement directory's README.md has the exact command and asset checksums.\n"
    )


CALIBRATION = """# Calibration

crowdperf runs the reference FP32 weights; quantized variants (if any) use the backend's own
post-training quantization with the calibration set of the MLPerf BERT reference
(`language/bert/calibration/calibration_features.txt`). No retraining.
"""


def generate_submission(opts: GenerateOptions) -> GenerateReport:
    """Build the tree in a staging directory and rename it into place. Both places are locked
    for the whole command: the submission tree (a second ``generate`` or a ``push`` of it fails
    at once, naming this one) and the results directory (a ``crowdperf run`` still writing it, or
    the TEST01 verification this may write there)."""
    if opts.division not in ("closed", "open"):
        raise UsageError(
            f"division {opts.division!r} is not closed or open", hint="pass --division closed|open"
        )
    if not opts.results_dir.is_dir():  # before any lock, which would create it
        raise MissingInputError(
            f"no results directory at {opts.results_dir}", hint="run `crowdperf run` first"
        )
    with (
        exclusive(tree_lock(opts.submission_dir), f"submission directory {opts.submission_dir}"),
        exclusive(dir_lock(opts.results_dir), f"results directory {opts.results_dir}"),
    ):
        return _generate_locked(opts, scan_results(opts.results_dir))


def _generate_locked(opts: GenerateOptions, results: list[ScenarioResult]) -> GenerateReport:
    if opts.submission_dir.exists() and any(opts.submission_dir.iterdir()) and not opts.force:
        raise SubmissionError(
            f"{opts.submission_dir} exists and is not empty", hint="choose a new directory or --force"
        )
    divisions = {r.path: _division_for(r, opts.division, opts.round) for r in results}
    closed = {path for path, (division, _) in divisions.items() if division == "closed"}
    audit_results(results, test01_in=closed, results_dir=opts.results_dir)
    if opts.check_round_seeds:
        require_round_seeds(results, opts.round, test01_in=closed)
    stage = Path(tempfile.mkdtemp(prefix=".crowdperf-submission-", dir=opts.submission_dir.parent))
    try:
        built = _build(stage, results, divisions, opts)
        if opts.submission_dir.exists():
            shutil.rmtree(opts.submission_dir)
        stage.rename(opts.submission_dir)
    except BaseException:
        shutil.rmtree(stage, ignore_errors=True)
        raise
    placed = tuple(
        PlacedResult(
            p.system,
            p.model,
            p.scenario,
            p.division,
            p.reason,
            opts.submission_dir / p.path.relative_to(stage),
        )
        for p in built
    )
    notes = tuple(n for r in results for n in r.notes)
    return GenerateReport(opts.submission_dir, opts.round.name, placed, notes)


def _build(
    stage: Path,
    results: list[ScenarioResult],
    divisions: dict[Path, tuple[str, str]],
    opts: GenerateOptions,
) -> list[PlacedResult]:
    placed: list[PlacedResult] = []
    mappings: dict[Path, dict[str, str]] = {}
    for result in results:
        division, reason = divisions[result.path]
        org = stage / division / opts.submitter
        paths = ResultPaths(org, result.system, result.model, result.scenario.value, opts.round.layout)
        desc = _system_description(result, opts)
        paths.system_json.parent.mkdir(parents=True, exist_ok=True)
        system_type = opts.category.value
        paths.system_json.write_text(
            json.dumps(
                desc.to_mlperf_json(division=division, submitter=opts.submitter, system_type=system_type),
                indent=2,
            )
            + "\n"
        )
        _write_code_readme(paths.code_dir, result.model)
        _place(result, paths, division)
        if division == "closed":
            (org / "documentation").mkdir(exist_ok=True)
            (org / "documentation" / "calibration.md").write_text(CALIBRATION)
        elif not (rules := workload_rules(result.model)).mlperf_model:
            mappings.setdefault(org, {})[result.model] = rules.benchmark.name
        placed.append(
            PlacedResult(result.system, result.model, result.scenario.value, division, reason, paths.results)
        )
    for org, mapping in mappings.items():
        (org / "model_mapping.json").write_text(json.dumps(mapping, indent=2) + "\n")
    return placed


__all__ = ["IMPLEMENTATION", "GenerateOptions", "GenerateReport", "PlacedResult", "generate_submission"]
