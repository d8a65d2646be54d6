from __future__ import annotations

import json
import shutil
import subprocess
from pathlib import Path

import pytest
from lgtrees import AUDIT_TEST01, RunSpec, build_results, run_loadgen

from crowdperf.errors import MissingInputError, ResultsError, SubmissionError
from crowdperf.mlperf.rounds import ROUNDS, Category
from crowdperf.submission.compliance import verify_performance, verify_test01
from crowdperf.submission.generate import GenerateOptions, generate_submission
from crowdperf.submission.push import push_submission
from crowdperf.submission.results import scan_results
from crowdperf.workloads.bert.rules import BERT_99

SYSTEM = "testhost-onnxruntime-cpu-fp32"


def _opts(results: Path, sub: Path, division: str = "closed", **kw) -> GenerateOptions:
    return GenerateOptions(results, sub, "ORG", division, Category.EDGE, ROUNDS["v6.1"], **kw)


def test_tiny_model_and_low_accuracy_go_to_open_with_model_mapping(tmp_path: Path) -> None:
    results = tmp_path / "results"
    build_results(results, model="tiny", test01=False)
    build_results(results, model="bert-99.9", f1=90.5, test01=False)  # below 90.783 for bert-99.9
    report = generate_submission(_opts(results, tmp_path / "sub"))
    placed = {r.model: r for r in report.results}
    assert placed["tiny"].division == "open" and "not an MLPerf reference model" in placed["tiny"].reason
    assert (
        placed["bert-99.9"].division == "open" and "below the bert-99.9 target" in placed["bert-99.9"].reason
    )
    assert not (tmp_path / "sub" / "closed").exists()
    assert json.loads((tmp_path / "sub" / "open" / "ORG" / "model_mapping.json").read_text()) == {
        "tiny": "bert-99"
    }


def test_generate_is_atomic_and_refuses_non_empty_destination(results_dir: Path, tmp_path: Path) -> None:
    sub = tmp_path / "sub"
    sub.mkdir()
    (sub / "keep.txt").write_text("x")
    with pytest.raises(SubmissionError, match="not empty"):
        generate_submission(_opts(results_dir, sub))
    (results_dir / SYSTEM / "bert-99" / "Offline" / "accuracy" / "mlperf_log_accuracy.json").unlink()
    with pytest.raises(ResultsError, match=r"accuracy: lacks mlperf_log_accuracy\.json"):
        generate_submission(_opts(results_dir, sub, force=True))
    assert (sub / "keep.txt").is_file()  # the failed run left the old tree alone
    assert not [p for p in tmp_path.iterdir() if p.name.startswith(".crowdperf-submission-")]


def test_results_reader_reports_missing_provenance(results_dir: Path) -> None:
    (results_dir / SYSTEM / "bert-99" / "Offline" / "accuracy" / "provenance.json").unlink()
    found = {r.scenario.value: r for r in scan_results(results_dir)}
    assert any("accuracy provenance lacks: command" in n for n in found["Offline"].notes)
    with pytest.raises(MissingInputError):
        scan_results(results_dir / "nope")


# SingleStream with a SUT that takes 10 ms per sample: scheduling noise on a busy host stays well
# inside the 10% performance rule. 150 queries (early stopping at p90 needs at least 64).
SS_CONF = "\n".join(
    [
        "*.SingleStream.min_duration = 0",
        "*.SingleStream.min_query_count = 150",
        "*.SingleStream.target_latency = 10",
        "",
    ]
)


@pytest.fixture(scope="module")
def _ss_built(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return build_results(
        tmp_path_factory.mktemp("ss"), scenario="SingleStream", user_conf=SS_CONF, latency_s=0.01
    )


@pytest.fixture
def ss_scenario(_ss_built: Path, tmp_path: Path) -> Path:
    dest = tmp_path / "SingleStream"
    shutil.copytree(_ss_built, dest)
    return dest


def test_test01_passes_for_a_deterministic_sut(ss_scenario: Path) -> None:
    scen = ss_scenario
    verdict = verify_test01(scen, BERT_99)
    # Timing on a shared CI host is not ours to assert here; the performance rule has its own tests.
    assert verdict.accuracy_pass and verdict.matches > 0 and verdict.mismatches == 0
    assert verdict.passed == verdict.performance_pass
    assert (scen / "TEST01" / "verify_accuracy.txt").read_text().splitlines()[-1] == "TEST PASS"
    assert (scen / "TEST01" / "verify_performance.txt").read_text().startswith("Verifying performance.")
    assert (scen / "TEST01" / "accuracy" / "mlperf_log_accuracy.json").is_file()


def test_test01_mismatch_uses_the_baseline_accuracy_path(ss_scenario: Path) -> None:
    scen = ss_scenario
    acc_log = scen / "accuracy" / "mlperf_log_accuracy.json"
    entries = json.loads(acc_log.read_text())
    flipped = [{**e, "data": ("00" * 4) + e["data"][8:]} for e in entries]  # a non-deterministic backend
    acc_log.write_text(json.dumps(flipped))
    assert not verify_test01(scen, BERT_99).passed  # no evaluator: cannot fall back
    scores = iter([{"exact_match": 80.0, "f1": 90.0}, {"exact_match": 80.0, "f1": 89.5}])
    verdict = verify_test01(scen, BERT_99, evaluate=lambda path: next(scores))
    assert not verdict.accuracy_pass and verdict.baseline_pass
    assert verdict.passed == verdict.performance_pass
    assert (scen / "TEST01" / "accuracy" / "baseline_accuracy.txt").is_file()
    assert (scen / "TEST01" / "verify_accuracy.txt").read_text().splitlines()[-1] == "TEST FAIL"
    far = iter([{"exact_match": 80.0, "f1": 90.0}, {"exact_match": 70.0, "f1": 80.0}])
    assert verify_test01(scen, BERT_99, evaluate=lambda path: next(far)).baseline_pass is False


def test_performance_rule_passes_identical_runs(ss_scenario: Path) -> None:
    detail = ss_scenario / "performance" / "run_1" / "mlperf_log_detail.txt"
    ok, lines, ref, test = verify_performance(detail, detail)
    assert ok and lines[-1] == "TEST PASS" and ref == test and ref > 0


def test_test01_performance_must_be_within_10_percent(tmp_path: Path) -> None:
    scen = build_results(
        tmp_path / "r", scenario="SingleStream", user_conf=SS_CONF, test01=False, latency_s=0.01
    )
    run_loadgen(
        scen / "TEST01" / "performance" / "run_1",
        RunSpec(scenario="SingleStream", user_conf=SS_CONF, audit=AUDIT_TEST01, latency_s=0.03),
    )
    verdict = verify_test01(scen, BERT_99)
    assert verdict.accuracy_pass and not verdict.performance_pass
    assert "TEST FAIL: Test score invalid" in (scen / "TEST01" / "verify_performance.txt").read_text()


def _bare_repo(tmp_path: Path) -> Path:
    bare = tmp_path / "results.git"
    subprocess.run(["git", "init", "--bare", "-q", str(bare)], check=True)
    seed = tmp_path / "seed"
    subprocess.run(["git", "clone", "-q", str(bare), str(seed)], check=True)
    (seed / "README.md").write_text("results\n")
    git = ["git", "-C", str(seed), "-c", "user.name=t", "-c", "user.email=t@t"]
    subprocess.run([*git, "add", "."], check=True)
    subprocess.run([*git, "commit", "-qm", "init"], check=True)
    subprocess.run([*git, "push", "-q", "origin", "HEAD"], check=True)
    return bare


def test_push_refuses_failing_tree_and_pushes_with_force(results_dir: Path, tmp_path: Path) -> None:
    sub = tmp_path / "sub"
    generate_submission(_opts(results_dir, sub))
    bare = _bare_repo(tmp_path)
    with pytest.raises(SubmissionError, match="fails `crowdperf submission check`"):
        push_submission(sub, str(bare), ROUNDS["v6.1"], branch="b1")
    result, report = push_submission(sub, str(bare), ROUNDS["v6.1"], branch="b1", message="m1", force=True)
    assert not report.passed and result.branch == "b1"
    log = subprocess.run(
        ["git", "-C", str(bare), "log", "-1", "--format=%H %s", "b1"],
        capture_output=True,
        text=True,
        check=True,
    ).stdout.split()
    assert log == [result.commit, "m1"]
    files = subprocess.run(
        ["git", "-C", str(bare), "ls-tree", "-r", "--name-only", "b1"],
        capture_output=True,
        text=True,
        check=True,
    ).stdout.split()
    assert "README.md" in files
    assert f"closed/ORG/results/{SYSTEM}/bert-99/Offline/accuracy/accuracy.txt" in files


@pytest.mark.parametrize(
    ("device", "accelerators", "model"), [("cpu", "0", "N/A"), ("cuda", 1, "NVIDIA H200")]
)
def test_schema1_provenance_fills_the_system_json_with_the_devices_the_run_used(
    device: str, accelerators: int | str, model: str, results_dir: Path, tmp_path: Path
) -> None:
    # Schema 1 recorded ``command`` as argv, ``precision`` at top level and a host summary whose
    # ``gpus`` were every GPU of the host, whatever the run used: a CPU run on a 2-GPU host has 0
    # accelerators, a CUDA run (then always cuda:0) has 1.
    for path in results_dir.glob(f"{SYSTEM}/bert-99/*/*/**/provenance.json"):
        prov = json.loads(path.read_text())
        prov["schema"] = "crowdperf.provenance/1"
        prov["command"] = ["crowdperf", "run", "--model", "bert-99"]
        prov["precision"] = "int8"
        prov["backend"]["device"] = device
        prov["backend"]["device_name"] = model if device == "cuda" else "Intel Xeon Gold 6430"
        del prov["backend"]["precision"]
        prov["system"] = {"cpu": "Intel Xeon Gold 6430", "cores": 64, "memory_gib": 503.6, "os": "Linux 6.8",
                          "python": "3.11.7", "gpus": ["NVIDIA H200", "NVIDIA H200"]}  # fmt: skip
        path.write_text(json.dumps(prov))
    sub = tmp_path / "sub"
    generate_submission(_opts(results_dir, sub))
    org = sub / "closed" / "ORG"
    system = json.loads((org / "systems" / f"{SYSTEM}.json").read_text())
    assert system["host_processor_model_name"] == "Intel Xeon Gold 6430"
    assert system["accelerators_per_node"] == accelerators and system["accelerator_model_name"] == model
    assert system["host_memory_capacity"] == "504 GB" and "int8" in system["system_name"]
    meas = json.loads((org / "results" / SYSTEM / "bert-99" / "Offline" / "measurements.json").read_text())
    assert meas["weight_data_types"] == "int8"
    readme = (org / "results" / SYSTEM / "bert-99" / "Offline" / "README.md").read_text()
    assert "crowdperf run --model bert-99" in readme
