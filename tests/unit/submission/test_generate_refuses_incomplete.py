"""``submission generate`` writes a tree only from whole runs that are what their folders say
(issue 14, items 4 and 12): every file it builds from present and not empty, every LoadGen log
finished and of its folder's scenario and mode, provenance agreeing, the round's seeds, the model
file named in measurements.json. Anything else is refused before a byte is written, every problem
listed at once."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from crowdperf.errors import ResultsError, SubmissionError
from crowdperf.mlperf.rounds import ROUNDS, Category
from crowdperf.submission.generate import GenerateOptions, generate_submission
from crowdperf.submission.run_audit import IncompleteRuns

SYSTEM = "testhost-onnxruntime-cpu-fp32"
PERF = "performance/run_1"
TEST01 = "TEST01/performance/run_1"
# Every file generate builds a result from, per run directory (run_audit.py).
REQUIRED = [
    (PERF, "mlperf_log_detail.txt"),
    (PERF, "mlperf_log_summary.txt"),
    (PERF, "user.conf"),
    (PERF, "provenance.json"),
    ("accuracy", "mlperf_log_detail.txt"),
    ("accuracy", "mlperf_log_summary.txt"),
    ("accuracy", "mlperf_log_accuracy.json"),
    ("accuracy", "accuracy.txt"),
    ("accuracy", "provenance.json"),
    (TEST01, "mlperf_log_detail.txt"),
    (TEST01, "mlperf_log_summary.txt"),
    (TEST01, "mlperf_log_accuracy.json"),
]


def _opts(results: Path, sub: Path, **kw) -> GenerateOptions:
    return GenerateOptions(results, sub, "ORG", "closed", Category.EDGE, ROUNDS["v6.1"], **kw)


def _offline(results: Path) -> Path:
    return results / SYSTEM / "bert-99" / "Offline"


def _refused(results: Path, tmp_path: Path) -> IncompleteRuns:
    sub = tmp_path / "sub"
    with pytest.raises(IncompleteRuns) as info:
        generate_submission(_opts(results, sub))
    assert info.value.exit_code == 9  # ResultsError: the results directory is unusable
    assert not sub.exists()  # nothing written, no staging left behind
    assert not [p for p in tmp_path.iterdir() if p.name.startswith(".crowdperf-submission-")]
    return info.value


@pytest.mark.parametrize(("part", "name"), REQUIRED, ids=[f"{p}/{n}" for p, n in REQUIRED])
def test_a_run_lacking_any_file_is_refused_naming_it(
    part: str, name: str, results_dir: Path, tmp_path: Path
) -> None:
    (_offline(results_dir) / part / name).unlink()
    refused = _refused(results_dir, tmp_path)
    assert [(p.run_dir, p.problem) for p in refused.problems] == [
        (_offline(results_dir) / part, f"lacks {name}")
    ]


@pytest.mark.parametrize(("part", "name"), REQUIRED, ids=[f"{p}/{n}" for p, n in REQUIRED])
def test_an_empty_file_is_refused(part: str, name: str, results_dir: Path, tmp_path: Path) -> None:
    (_offline(results_dir) / part / name).write_bytes(b"")
    refused = _refused(results_dir, tmp_path)
    assert f"{name} is empty" in [p.problem for p in refused.problems]


@pytest.mark.parametrize("part", [PERF, "accuracy", TEST01])
def test_an_empty_or_missing_run_directory_is_refused(part: str, results_dir: Path, tmp_path: Path) -> None:
    run = _offline(results_dir) / part
    shutil.rmtree(run)
    run.mkdir()  # what a killed parent used to leave: an empty run_1
    assert "lacks" in _refused(results_dir, tmp_path).problems[0].problem
    run.rmdir()
    if part != TEST01:  # a TEST01 never started is the checker's business (--skip-compliance)
        assert "missing" in _refused(results_dir, tmp_path).problems[0].problem


def test_a_log_loadgen_did_not_finish_is_refused(results_dir: Path, tmp_path: Path) -> None:
    detail = _offline(results_dir) / PERF / "mlperf_log_detail.txt"
    lines = detail.read_text().splitlines(keepends=True)
    detail.write_text("".join(line for line in lines if '"key": "result_' not in line))
    assert "LoadGen did not finish this run" in _refused(results_dir, tmp_path).problems[0].problem


def test_a_log_in_another_scenarios_folder_is_refused(results_dir: Path, tmp_path: Path) -> None:
    single = results_dir / SYSTEM / "bert-99" / "SingleStream" / PERF / "mlperf_log_detail.txt"
    shutil.copy2(single, _offline(results_dir) / PERF / "mlperf_log_detail.txt")
    problems = [p.problem for p in _refused(results_dir, tmp_path).problems]
    assert problems == ["its log ran SingleStream (effective_scenario), its folder says Offline"]


def test_an_accuracy_log_in_the_performance_folder_is_refused(results_dir: Path, tmp_path: Path) -> None:
    acc = _offline(results_dir) / "accuracy" / "mlperf_log_detail.txt"
    shutil.copy2(acc, _offline(results_dir) / PERF / "mlperf_log_detail.txt")
    problems = [p.problem for p in _refused(results_dir, tmp_path).problems]
    assert "its log records a AccuracyOnly test (effective_test_mode), not PerformanceOnly" in problems


def test_unscored_accuracy_and_disagreeing_provenance_are_refused(results_dir: Path, tmp_path: Path) -> None:
    (_offline(results_dir) / "accuracy" / "accuracy.txt").write_text("no score here\n")
    prov = _offline(results_dir) / PERF / "provenance.json"
    prov.write_text(json.dumps({**json.loads(prov.read_text()), "scenario": "Server"}))
    problems = sorted(p.problem for p in _refused(results_dir, tmp_path).problems)
    assert problems == [
        'accuracy.txt has no {"f1": ...} first line (the accuracy run was not scored)',
        "provenance.json says scenario 'Server', its folder says 'Offline'",
    ]


def test_every_problem_of_every_run_is_listed_at_once(results_dir: Path, tmp_path: Path) -> None:
    (_offline(results_dir) / PERF / "user.conf").unlink()
    (results_dir / SYSTEM / "bert-99" / "SingleStream" / "accuracy" / "accuracy.txt").unlink()
    refused = _refused(results_dir, tmp_path)
    assert len(refused.problems) == 2 and "2 problem(s)" in refused.message
    assert refused.hint is not None
    assert "crowdperf run --model bert-99 --scenario Offline --mode performance --results-dir" in refused.hint


def test_the_model_file_is_named_never_the_data_set(results_dir: Path, tmp_path: Path) -> None:
    # A record without weights_file (lgtrees: dev-v1.1.json, model.onnx, vocab.txt checksummed):
    # the model file is the one named like one; a recorded weights_file wins.
    generate_submission(_opts(results_dir, tmp_path / "old"))
    measured = tmp_path / "old" / "closed" / "ORG" / "results" / SYSTEM / "bert-99" / "Offline"
    assert (
        json.loads((measured / "measurements.json").read_text())["starting_weights_filename"] == "model.onnx"
    )
    prov = _offline(results_dir) / PERF / "provenance.json"
    prov.write_text(json.dumps({**json.loads(prov.read_text()), "weights_file": "model.pytorch"}))
    generate_submission(_opts(results_dir, tmp_path / "new"))
    measured = tmp_path / "new" / "closed" / "ORG" / "results" / SYSTEM / "bert-99" / "Offline"
    assert (
        json.loads((measured / "measurements.json").read_text())["starting_weights_filename"]
        == "model.pytorch"
    )
    prov.write_text(json.dumps({**json.loads(prov.read_text()), "weights_file": None, "asset_checksums": {}}))
    (tmp_path / "none").mkdir()
    problems = [p.problem for p in _refused(results_dir, tmp_path / "none").problems]
    assert len(problems) == 1 and problems[0].startswith("provenance.json names no model file")


def test_the_cli_refuses_with_exit_9_and_the_other_rounds_seeds_with_exit_10(
    results_dir: Path, tmp_path: Path
) -> None:
    def generate(round_name: str) -> subprocess.CompletedProcess[str]:
        sub = tmp_path / f"sub-{round_name}"
        where = ["--results-dir", str(results_dir), "--submission-dir", str(sub), "--submitter", "ORG"]
        cmd = [sys.executable, "-m", "crowdperf", "submission", "generate", *where, "--round", round_name]
        return subprocess.run(cmd, capture_output=True, text=True, timeout=120)

    seeds = generate("v5.1")  # runs made with v6.1's LoadGen seeds
    said = " ".join(seeds.stderr.split())  # unwrapped
    assert seeds.returncode == SubmissionError.exit_code and "Traceback" not in said
    assert "carry the LoadGen seeds of v6.1, not v5.1's" in said and "--round v6.1" in said
    (_offline(results_dir) / PERF / "mlperf_log_summary.txt").unlink()
    broken = generate("v6.1")
    said = " ".join(broken.stderr.split())
    assert broken.returncode == ResultsError.exit_code and "Traceback" not in said
    assert "lacks mlperf_log_summary.txt" in said and "no tree was written" in said
    assert not (tmp_path / "sub-v6.1").exists() and not (tmp_path / "sub-v5.1").exists()
