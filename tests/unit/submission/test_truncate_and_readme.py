from __future__ import annotations

import hashlib
import json
import shutil
import subprocess
import sys
from dataclasses import replace
from pathlib import Path

from crowdperf.mlperf.rounds import ROUNDS, Category, Layout
from crowdperf.submission.generate import GenerateOptions, generate_submission
from crowdperf.submission.readme import write_measurement_readme
from crowdperf.submission.truncate import MAX_ACCURACY_LOG_SIZE, truncate_accuracy_dir

SYSTEM = "testhost-onnxruntime-cpu-fp32"


def test_truncation_keeps_first_and_last_4k_and_records_full_hash(results_dir: Path, tmp_path: Path) -> None:
    acc = tmp_path / "accuracy"
    shutil.copytree(results_dir / SYSTEM / "bert-99" / "Offline" / "accuracy", acc)
    full = (acc / "mlperf_log_accuracy.json").read_bytes()
    assert len(full) > MAX_ACCURACY_LOG_SIZE
    digest = truncate_accuracy_dir(acc)
    assert digest == hashlib.sha256(full).hexdigest()
    assert (acc / "mlperf_log_accuracy.json").read_bytes() == full[:4096] + b"\n\n...\n\n" + full[-4096:]
    assert (acc / "accuracy.txt").read_text().endswith(f"\nhash={digest}\n")
    assert truncate_accuracy_dir(acc) == digest  # idempotent, as MLPerf's script
    assert (acc / "accuracy.txt").read_text().count("hash=") == 1


def test_truncation_is_byte_identical_to_mlperfs_script(
    results_dir: Path, tmp_path: Path, official_checker: Path
) -> None:
    sub = tmp_path / "sub"
    generate_submission(GenerateOptions(results_dir, sub, "ORG", "closed", Category.EDGE, ROUNDS["v6.1"]))
    acc = sub / "closed" / "ORG" / "results" / SYSTEM / "bert-99" / "Offline" / "accuracy"
    # Rebuild the untruncated state, let MLPerf's tool truncate a copy, compare bytes.
    theirs = tmp_path / "theirs"
    shutil.copytree(sub, theirs)
    t_acc = theirs / acc.relative_to(sub)
    shutil.copy2(
        results_dir / SYSTEM / "bert-99" / "Offline" / "accuracy" / "mlperf_log_accuracy.json", t_acc
    )
    first = (t_acc / "accuracy.txt").read_text().splitlines()[0]
    (t_acc / "accuracy.txt").write_text(first + "\n")
    tool = official_checker / "tools" / "submission" / "truncate_accuracy_log.py"
    out = tmp_path / "theirs-out"
    subprocess.run(
        [sys.executable, str(tool), "--input", str(theirs), "--submitter", "ORG", "--output", str(out)],
        check=True,
        capture_output=True,
    )
    o_acc = out / acc.relative_to(sub)
    for name in ("mlperf_log_accuracy.json", "accuracy.txt"):
        assert (o_acc / name).read_bytes() == (acc / name).read_bytes(), name


def test_readme_says_how_to_reproduce(results_dir: Path) -> None:
    scen = results_dir / SYSTEM / "bert-99" / "Offline"
    text = write_measurement_readme(scen).read_text()
    assert "crowdperf run --model bert-99 --scenario Offline --mode performance" in text
    assert "pip install crowdperf==0.1.0" in text
    assert "819b25b19cd8e59080c10892689750ca" in text
    assert "result_samples_per_second" in text and "onnxruntime" in text
    assert '"f1": 90.5' in text


def test_readme_tolerates_missing_provenance(results_dir: Path) -> None:
    scen = results_dir / SYSTEM / "bert-99" / "Offline"
    (scen / "performance" / "run_1" / "provenance.json").write_text(json.dumps({"model": "bert-99"}))
    text = write_measurement_readme(scen).read_text()
    assert "Provenance fields not recorded by the run:" in text and "crowdperf_version" in text


def test_v5_layout_uses_measurements_and_compliance_trees(results_dir: Path, tmp_path: Path) -> None:
    sub = tmp_path / "sub"
    # The corpus's runs carry v6.1's seeds, which generate refuses for v5.1; the layout is the point.
    opts = GenerateOptions(results_dir, sub, "ORG", "closed", Category.EDGE, ROUNDS["v5.1"])
    generate_submission(replace(opts, check_round_seeds=False))
    assert ROUNDS["v5.1"].layout is Layout.V5
    org = sub / "closed" / "ORG"
    m = org / "measurements" / SYSTEM / "bert-99" / "Offline"
    assert {p.name for p in m.iterdir()} == {f"{SYSTEM}_crowdperf_Offline.json", "README.md", "user.conf"}
    t01 = org / "compliance" / SYSTEM / "bert-99" / "Offline" / "TEST01"
    assert (t01 / "verify_accuracy.txt").read_text().strip().endswith("TEST PASS")
    assert (t01 / "performance" / "run_1" / "mlperf_log_detail.txt").is_file()
    assert (org / "code" / "bert-99" / "crowdperf" / "README.md").is_file()
    assert (org / "documentation" / "calibration.md").is_file()


def test_v6_layout_keeps_everything_under_results(results_dir: Path, tmp_path: Path) -> None:
    sub = tmp_path / "sub"
    generate_submission(
        GenerateOptions(
            results_dir,
            sub,
            "ORG",
            "closed",
            Category.EDGE,
            ROUNDS["v6.1"],
            hw_notes_extra="2x fans",
            sw_notes_extra="ORT tuned",
        )
    )
    org = sub / "closed" / "ORG"
    scen = org / "results" / SYSTEM / "bert-99" / "Offline"
    assert {"measurements.json", "README.md", "user.conf", "TEST01", "accuracy", "performance"} <= {
        p.name for p in scen.iterdir()
    }
    assert sorted(p.name for p in (scen / "accuracy").iterdir()) == [
        "accuracy.txt",
        "mlperf_log_accuracy.json",
        "mlperf_log_detail.txt",
        "mlperf_log_summary.txt",
    ]
    assert (
        not (org / "measurements").exists()
        and (org / "src" / "bert-99" / "crowdperf" / "README.md").is_file()
    )
    system = json.loads((org / "systems" / f"{SYSTEM}.json").read_text())
    assert system["hw_notes"].endswith("2x fans") and "2x fans" not in system["sw_notes"]
    assert system["sw_notes"].endswith("ORT tuned")
    meas = json.loads((scen / "measurements.json").read_text())
    assert set(meas) == {
        "input_data_types",
        "retraining",
        "starting_weights_filename",
        "weight_data_types",
        "weight_transformations",
    }
