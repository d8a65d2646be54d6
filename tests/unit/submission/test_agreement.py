"""Our checker and MLPerf's (master of the mirror, v6.1 rules) give the same verdict, for the same
reason, on every broken tree built here from real LoadGen runs. (The accepted tree needs 600 s of
LoadGen time: test_slow_valid_agreement.py.)"""

from __future__ import annotations

import json
import shutil
from collections.abc import Callable
from dataclasses import replace
from pathlib import Path

import pytest

from crowdperf.errors import SubmissionError
from crowdperf.mlperf.rounds import ROUNDS, Category
from crowdperf.submission.checker import TEST_MODE, CheckReport, check_submission
from crowdperf.submission.generate import GenerateOptions, generate_submission
from crowdperf.submission.official import OfficialVerdict, run_official_checker

SYSTEM = "testhost-onnxruntime-cpu-fp32"
RES = f"closed/ORG/results/{SYSTEM}/bert-99"


def _generate(results: Path, out: Path, round_name: str = "v6.1", *, check_round_seeds: bool = True) -> Path:
    opts = GenerateOptions(results, out, "ORG", "closed", Category.EDGE, ROUNDS[round_name])
    generate_submission(replace(opts, check_round_seeds=check_round_seeds))
    return out


def _both(sub: Path, official: Path, round_name: str = "v6.1") -> tuple[CheckReport, OfficialVerdict]:
    return check_submission(sub, ROUNDS[round_name]), run_official_checker(official, sub, ROUNDS[round_name])


def _messages(report: CheckReport) -> str:
    return "\n".join(f.message for r in report.results for f in r.findings)


def _missing_file(sub: Path) -> None:
    # (Without accuracy/mlperf_log_detail.txt MLPerf's master checker dies with a TypeError: also
    # "fails", but not a reason to compare; README.md it reports cleanly.)
    (sub / RES / "Offline" / "README.md").unlink()


def _untruncated(sub: Path, results: Path) -> None:
    full = results / SYSTEM / "bert-99" / "Offline" / "accuracy" / "mlperf_log_accuracy.json"
    shutil.copy2(full, sub / RES / "Offline" / "accuracy" / "mlperf_log_accuracy.json")


def _low_accuracy(sub: Path) -> None:
    acc = sub / RES / "Offline" / "accuracy" / "accuracy.txt"
    lines = acc.read_text().splitlines()
    acc.write_text("\n".join([json.dumps({"exact_match": 50.0, "f1": 60.0}), *lines[1:]]) + "\n")


def _empty_system_field(sub: Path) -> None:
    path = sub / "closed" / "ORG" / "systems" / f"{SYSTEM}.json"
    data = json.loads(path.read_text())
    data["host_processor_model_name"] = ""
    path.write_text(json.dumps(data))


def _singlestream_filed_as_server(sub: Path) -> None:
    (sub / RES / "SingleStream").rename(sub / RES / "Server")


def _accuracy_log_as_performance(sub: Path) -> None:
    for name in ("mlperf_log_detail.txt", "mlperf_log_summary.txt"):
        shutil.copy2(
            sub / RES / "Offline" / "accuracy" / name, sub / RES / "Offline" / "performance" / "run_1"
        )


def _no_weights_file(sub: Path) -> None:
    path = sub / RES / "Offline" / "measurements.json"
    data = json.loads(path.read_text())
    assert data["starting_weights_filename"] == "model.onnx"  # the model, never the data set
    data["starting_weights_filename"] = ""
    path.write_text(json.dumps(data))


CASES: list[tuple[str, Callable[..., None], str, str]] = [
    # (name, how to break the tree, our message, MLPerf's message)
    ("missing file", _missing_file, "README.md is missing", "is missing README.md"),
    ("untruncated log", _untruncated, "is not truncated", "is not truncated"),
    ("low accuracy", _low_accuracy, "F1 60.000 is below the bert-99 target", "accuracy not met"),
    (
        "empty system field",
        _empty_system_field,
        "'host_processor_model_name' is empty",
        "requires a meaningful response",
    ),
    # The log says what it is: a SingleStream run under Server/ (performance_check.py inferred_check),
    # an accuracy log posing as the performance run (MLPerf's checker fails reading its result).
    (
        "scenario folder",
        _singlestream_filed_as_server,
        "a Server result cannot be inferred from SingleStream",
        "Result for scenario Server can not be inferred from SingleStream",
    ),
    (
        "mode folder",
        _accuracy_log_as_performance,
        "its log records a AccuracyOnly test (effective_test_mode), not PerformanceOnly",
        "Running get_performance_metric_check",
    ),
    (
        "weights file",
        _no_weights_file,
        "measurement JSON lacks 'starting_weights_filename'",
        "field starting_weights_filename is missing meaningful value",
    ),
]


def test_test_mode_run_fails_both_with_one_plain_message(
    results_dir: Path, tmp_path: Path, official_checker: Path
) -> None:
    sub = _generate(results_dir, tmp_path / "sub")
    ours, theirs = _both(sub, official_checker)
    assert not ours.passed and not theirs.passed
    offline = next(r for r in ours.results if r.key.endswith("bert-99/Offline"))
    assert [f.message for f in offline.findings if f.rule == "performance"] == [TEST_MODE]
    assert [f.message for f in offline.findings].count(TEST_MODE) == 1  # not repeated for TEST01
    assert "accuracy-coverage" not in {f.rule for f in offline.findings}
    assert "Test duration less than 600s" in theirs.output
    assert "duration" not in _messages(ours)


@pytest.mark.parametrize(("name", "breaker", "ours_says", "theirs_says"), CASES, ids=[c[0] for c in CASES])
def test_broken_tree_fails_both_for_the_same_reason(
    name: str,
    breaker: Callable[..., None],
    ours_says: str,
    theirs_says: str,
    results_dir: Path,
    tmp_path: Path,
    official_checker: Path,
) -> None:
    sub = _generate(results_dir, tmp_path / "sub")
    before = check_submission(sub, ROUNDS["v6.1"])
    assert ours_says not in _messages(before)
    breaker(sub, results_dir) if breaker is _untruncated else breaker(sub)
    ours, theirs = _both(sub, official_checker)
    assert not ours.passed and not theirs.passed
    assert ours_says in _messages(ours)
    assert theirs_says in theirs.output


def test_wrong_round_seeds_fail_both(results_dir: Path, tmp_path: Path, official_checker: Path) -> None:
    # LoadGen 6.0.x carries v6.1's seeds; checked as a v6.0 submission the seeds are wrong. generate
    # refuses up front, naming the round the seeds are from; a tree made anyway fails both checkers.
    with pytest.raises(SubmissionError, match=r"carry the LoadGen seeds of v6\.1, not v6\.0's") as refused:
        _generate(results_dir, tmp_path / "refused", "v6.0")
    assert refused.value.hint is not None and "--round v6.1" in refused.value.hint
    assert not (tmp_path / "refused").exists()
    sub = _generate(results_dir, tmp_path / "sub", "v6.0", check_round_seeds=False)
    ours, theirs = _both(sub, official_checker, "v6.0")
    assert not ours.passed and not theirs.passed
    assert "qsl_rng_seed 2085463073848966840 is not the v6.0 seed" in _messages(ours)
    assert "qsl_rng_seed is wrong" in "\n".join(theirs.errors)


def test_short_duration_fails_both(tmp_path: Path, official_checker: Path) -> None:
    from lgtrees import build_results

    results = tmp_path / "results"
    build_results(
        results,
        scenario="SingleStream",
        f1=90.5,
        test01=False,
        user_conf="*.SingleStream.min_duration = 200\n*.SingleStream.target_latency = 1\n",
    )
    sub = _generate(results, tmp_path / "sub")
    ours, theirs = _both(sub, official_checker)
    assert not ours.passed and not theirs.passed
    assert TEST_MODE in _messages(ours)
    assert "found=200" in "\n".join(theirs.errors)


def test_v5_layout_is_read_by_the_v51_checker(
    results_dir: Path, tmp_path: Path, official_checker_v51: Path
) -> None:
    # LoadGen 6.0.x logs carry v6.1 seeds, so a v5.1 tree fails both checkers on the seeds, while
    # MLPerf's v5.1 checker finds every file where the v5.x layout puts it. (generate refuses
    # those seeds: test_wrong_round_seeds_fail_both; the layout is what this test is about.)
    sub = _generate(results_dir, tmp_path / "sub", "v5.1", check_round_seeds=False)
    ours, theirs = _both(sub, official_checker_v51, "v5.1")
    assert not ours.passed and not theirs.passed
    assert "qsl_rng_seed 2085463073848966840 is not the v5.1 seed" in _messages(ours)
    assert "qsl_rng_seed is wrong, expected=1780908523862526354" in theirs.output
    for structural in ("file list mismatch", "is missing", "has no accuracy directory", "measurements"):
        assert structural not in "\n".join(theirs.errors), structural


def test_loadgen_error_in_the_log_fails_both(
    results_dir: Path, tmp_path: Path, official_checker: Path
) -> None:
    from lgtrees import TEST_CONF, RunSpec, run_loadgen_twice_in_one_process

    perf = results_dir / SYSTEM / "bert-99" / "Offline" / "performance" / "run_1"
    run_loadgen_twice_in_one_process(tmp_path / "first", perf, RunSpec(user_conf=TEST_CONF))
    with pytest.raises(SubmissionError, match=r"seeds are those of no MLPerf round .*Multiple conf files"):
        _generate(results_dir, tmp_path / "refused")  # generate names the LoadGen error up front
    sub = _generate(results_dir, tmp_path / "sub", check_round_seeds=False)
    ours, theirs = _both(sub, official_checker)
    assert not ours.passed and not theirs.passed
    assert "has LoadGen errors (error_invalid_config: Multiple conf files are used" in _messages(ours)
    # The second run also lost the built-in mlperf.conf, so its seeds are 0: both say so. (MLPerf's
    # master checker reports LoadGen errors only under --submission-exceptions: see
    # performance_check.py loadgen_errors_check; v5.1 always did. We always do.)
    assert "qsl_rng_seed 0 is not the v6.1 seed" in _messages(ours)
    assert "qsl_rng_seed is wrong, expected=2085463073848966840, found=0" in theirs.output
