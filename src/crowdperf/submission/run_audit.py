"""What ``submission generate`` requires of every run before it writes a tree.

A run killed half-way, a directory copied without its logs or an empty ``performance/run_1``
used to become a tree that only ``check`` refused. Now each run must be whole and say, in its
own files, that it is the run its folder says it is:

    files         every file the tree is built from, present and not empty (``RUN_FILES``)
    LoadGen log   it parses, it finished (a performance log has ``result_validity``), and its
                  ``effective_scenario`` / ``effective_test_mode`` are the folder's
                  (log_identity.py)
    accuracy.txt  its first line holds the workload's score
    provenance    when it names a model, scenario or mode, they are the folder's
    seeds         the performance logs carry the seeds of the round the tree is for: MLPerf's
                  checker refuses other seeds (performance_check.py ``seeds_check``)

``audit_results`` returns every problem of every run at once (a user fixes them in one pass);
``generate`` refuses the whole tree when there is any (``IncompleteRuns``, exit 9) and, separately,
when the seeds belong to another round (``SubmissionError`` naming that round).
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

from crowdperf.errors import ResultsError, SubmissionError
from crowdperf.mlperf.layout import ACCURACY_LOG, ACCURACY_TXT, DETAIL, PROVENANCE, SUMMARY, USER_CONF
from crowdperf.mlperf.logs import DetailLog, parse_detail_log
from crowdperf.mlperf.rounds import ROUNDS, Round, Seeds
from crowdperf.mlperf.workload import workload_rules
from crowdperf.submission.log_identity import ACCURACY_MODE, PERFORMANCE_MODE, identity_problems
from crowdperf.submission.results import ScenarioResult

# The files generate copies or reads, per run directory (the results layout, mlperf/layout.py).
PERFORMANCE_FILES = (DETAIL, SUMMARY, USER_CONF, PROVENANCE)
ACCURACY_FILES = (DETAIL, SUMMARY, ACCURACY_LOG, ACCURACY_TXT, PROVENANCE)
TEST01_FILES = (DETAIL, SUMMARY, ACCURACY_LOG)  # the verification compares its accuracy log
SEED_KEYS = ("qsl_rng_seed", "sample_index_rng_seed", "schedule_rng_seed")
# Only the keys these checks read: a detail log's loaded_qsl_set can be megabytes.
_WANTED = {
    "effective_scenario",
    "effective_test_mode",
    "result_validity",
    *(f"effective_{k}" for k in SEED_KEYS),
}


@dataclass(frozen=True)
class RunProblem:
    run_dir: Path
    problem: str
    rerun: str = ""  # the options that re-run this test: "--model tiny --scenario Offline --mode performance"

    def __str__(self) -> str:
        return f"{self.run_dir}: {self.problem}"


class IncompleteRuns(ResultsError):
    """Runs generate cannot build a tree from; ``problems`` lists each."""

    def __init__(self, problems: list[RunProblem], results_dir: Path) -> None:
        shown = "\n".join(f"  - {p}" for p in problems[:20])
        more = f"\n  ... and {len(problems) - 20} more" if len(problems) > 20 else ""
        super().__init__(
            f"{len(problems)} problem(s) in the runs under {results_dir}; "
            f"no tree was written:\n{shown}{more}",
            hint=f"re-run each such test with the options of its first run (its command is in "
            f"provenance.json), e.g. `crowdperf run {problems[0].rerun} --results-dir {results_dir}`, "
            "or move the broken run out of the results directory",
        )
        self.problems = tuple(problems)


@dataclass(frozen=True)
class _Part:
    run_dir: Path
    files: tuple[str, ...]
    mode: str  # LoadGen's effective_test_mode for this directory
    mode_name: str  # the harness's mode (provenance.json's "mode")


def _parts(result: ScenarioResult, *, test01: bool) -> list[_Part]:
    dirs = result.dirs
    parts = [
        _Part(dirs.performance, PERFORMANCE_FILES, PERFORMANCE_MODE, "performance"),
        _Part(dirs.accuracy, ACCURACY_FILES, ACCURACY_MODE, "accuracy"),
    ]
    if test01 and dirs.test01.exists():  # TEST01 is optional; one that was started must be whole
        parts.append(_Part(dirs.test01_performance, TEST01_FILES, PERFORMANCE_MODE, "compliance"))
    return parts


def audit_result(result: ScenarioResult, *, test01: bool) -> list[RunProblem]:
    """Every problem of one ``<system>/<model>/<scenario>``; ``test01``: its TEST01 goes in the tree."""
    problems: list[RunProblem] = []
    for part in _parts(result, test01=test01):
        found = _part_problems(result, part)
        rerun = f"--model {result.model} --scenario {result.scenario} --mode {part.mode_name}"
        problems += [RunProblem(part.run_dir, p, rerun) for p in found]
    return problems


def _part_problems(result: ScenarioResult, part: _Part) -> list[str]:
    if not part.run_dir.is_dir():
        return ["missing (the run never finished, or was not run)"]
    missing = [name for name in part.files if not (part.run_dir / name).is_file()]
    empty = [n for n in part.files if n not in missing and (part.run_dir / n).stat().st_size == 0]
    problems = [f"lacks {', '.join(missing)}"] if missing else []
    problems += [f"{name} is empty" for name in empty]
    if DETAIL not in missing + empty:
        problems += _log_problems(part, result.scenario.value)
    if (part.run_dir / PROVENANCE).is_file() and PROVENANCE not in empty:
        wrong = _provenance_problems(part, result)
        problems += wrong
        if not wrong and part.mode_name == "performance" and result.performance.weights_file is None:
            problems.append(
                f"{PROVENANCE} names no model file (measurements.json needs it; a workload says "
                "which of its files is the model: OpenWorkload.weights_file)"
            )
    if ACCURACY_TXT in part.files and ACCURACY_TXT not in missing + empty:
        problems += _accuracy_txt_problems(part.run_dir / ACCURACY_TXT, result.model)
    return problems


def _log_problems(part: _Part, scenario: str) -> list[str]:
    try:
        log = parse_detail_log(part.run_dir / DETAIL, want=_WANTED.__contains__)
    except ResultsError as exc:
        return [exc.message]
    problems = identity_problems(log, scenario=scenario, mode=part.mode)
    if part.mode == PERFORMANCE_MODE and "result_validity" not in log:
        problems.append(f"{DETAIL} has no result: LoadGen did not finish this run")
    return problems


def _provenance_problems(part: _Part, result: ScenarioResult) -> list[str]:
    try:
        raw = json.loads((part.run_dir / PROVENANCE).read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
        return [f"{PROVENANCE} is not valid JSON ({exc})"]
    if not isinstance(raw, dict):
        return [f"{PROVENANCE} is not a JSON object"]
    expected = {"model": result.model, "scenario": result.scenario.value, "mode": part.mode_name}
    return [
        f"{PROVENANCE} says {key} {raw[key]!r}, its folder says {want!r}"
        for key, want in expected.items()
        if raw.get(key) is not None and raw.get(key) != want
    ]


def _accuracy_txt_problems(path: Path, model: str) -> list[str]:
    metric = workload_rules(model).benchmark.accuracy_metric
    first = path.read_text(encoding="utf-8", errors="replace").splitlines()[:1]
    try:
        data = json.loads(first[0]) if first else None
    except json.JSONDecodeError:
        data = None
    if not isinstance(data, dict) or not isinstance(data.get(metric), int | float):
        return [f'{ACCURACY_TXT} has no {{"{metric}": ...}} first line (the accuracy run was not scored)']
    return []


def audit_results(results: list[ScenarioResult], *, test01_in: set[Path], results_dir: Path) -> None:
    """Raise ``IncompleteRuns`` listing every problem of every run, or return. ``test01_in``: the
    scenario directories whose TEST01 goes into the tree (closed division)."""
    problems = [p for r in results for p in audit_result(r, test01=r.path in test01_in)]
    if problems:
        raise IncompleteRuns(problems, results_dir)


def _seeds_and_errors(run_dir: Path) -> tuple[Seeds | None, str | None]:
    """The seeds LoadGen used in a run (its ``effective_*_seed`` records; None when unreadable)
    and its first LoadGen error, if any."""
    try:
        log: DetailLog = parse_detail_log(run_dir / DETAIL, want=_WANTED.__contains__)
        first_error = f"{log.errors[0].key}: {log.errors[0].value}" if log.errors else None
        return Seeds(*(int(log[f"effective_{k}"]) for k in SEED_KEYS)), first_error
    except (ResultsError, TypeError, ValueError):
        return None, None


def round_with_seeds(seeds: Seeds) -> str | None:
    """The newest known round whose mlperf.conf carries ``seeds``."""
    return next((r.name for r in reversed(ROUNDS.values()) if r.seeds == seeds), None)


def require_round_seeds(results: list[ScenarioResult], rnd: Round, *, test01_in: set[Path]) -> None:
    """A SubmissionError when any performance run carries seeds other than ``rnd``'s: both
    checkers would refuse the tree on them (and the runs cannot be fixed, only re-run). Seeds of
    no round at all (0: LoadGen skipped mlperf.conf) come with the log's first LoadGen error."""
    wrong: dict[str | None, list[tuple[Path, str | None]]] = {}
    for result in results:
        t01 = result.path in test01_in and result.has_test01
        for run_dir in [result.perf_dir] + ([result.dirs.test01_performance] if t01 else []):
            seeds, error = _seeds_and_errors(run_dir)
            if seeds is not None and seeds != rnd.seeds:
                wrong.setdefault(round_with_seeds(seeds), []).append((run_dir, error))
    if not wrong:
        return
    if None in wrong:
        run_dir, error = wrong[None][0]
        raise SubmissionError(
            f"{run_dir}: its LoadGen seeds are those of no MLPerf round"
            + (f" (its log has a LoadGen error: {error})" if error else ""),
            hint="re-run that test: crowdperf runs each LoadGen test in a fresh process with one user.conf",
        )
    other = max(wrong, key=lambda name: len(wrong[name]))
    runs = [d for ds in wrong.values() for d, _ in ds]
    raise SubmissionError(
        f"{len(runs)} performance run(s) carry the LoadGen seeds of {other}, not {rnd.name}'s "
        f"(first: {runs[0]}); MLPerf's {rnd.name} checker refuses them (qsl_rng_seed is wrong)",
        hint=f"pass --round {other} (the round of the LoadGen that ran them), or re-run with a "
        f"LoadGen that carries {rnd.name}'s seeds",
    )
