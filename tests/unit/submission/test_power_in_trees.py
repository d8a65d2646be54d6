"""Our files in a result's performance/run_1. provenance.json travels in every v6 tree, and our
power.json in open-division trees only, where MLPerf's checker (the mirror's
master) accepts it: the same errors with and without it. Closed trees carry no power of ours
(MLPerf's power is PTD's spl.txt), and TEST01 directories (whose file list the checker checks,
"file list mismatch") never get it."""

from __future__ import annotations

import json
import re
from dataclasses import replace
from pathlib import Path

from sqlalchemy import select

from crowdperf.meters.readings import PowerSummary
from crowdperf.meters.record import POWER_JSON, PowerRecord
from crowdperf.mlperf.layout import PROVENANCE
from crowdperf.mlperf.rounds import ROUNDS, Category
from crowdperf.submission.generate import GenerateOptions, generate_submission
from crowdperf.submission.official import run_official_checker

PERF = "ORG/results/testhost-onnxruntime-cpu-fp32/bert-99/Offline/performance/run_1"


def _with_power(results: Path) -> Path:
    for run in results.rglob("run_1"):  # performance and TEST01, as the harness writes them
        PowerRecord(PowerSummary("rapl", 51.0, 44.0, 58.0, 153.0, 0.0121), (), None, 12600, None).write(run)
    return results


def _generate(results: Path, out: Path, division: str) -> Path:
    generate_submission(GenerateOptions(results, out, "ORG", division, Category.EDGE, ROUNDS["v6.1"]))
    return out


def test_open_trees_carry_power_json_closed_trees_do_not(results_dir: Path, tmp_path: Path) -> None:
    _with_power(results_dir)
    open_tree = _generate(results_dir, tmp_path / "open", "open")
    assert (open_tree / "open" / PERF / POWER_JSON).is_file()
    closed = _generate(results_dir, tmp_path / "closed", "closed")
    assert (closed / "closed" / "ORG").is_dir() and not list(closed.rglob(POWER_JSON))


def _errors(tree: Path, official: Path) -> set[str]:
    """The checker's ERROR lines without their timestamps and tree paths."""
    verdict = run_official_checker(official, tree, ROUNDS["v6.1"])
    return {re.sub(r"^\[[^]]*\]\s*", "", e).replace(str(tree.resolve()), "<tree>") for e in verdict.errors}


def test_mlperf_checker_reports_nothing_new_for_power_json_in_open_trees(
    results_dir: Path, tmp_path: Path, official_checker: Path
) -> None:
    without = _errors(_generate(results_dir, tmp_path / "without", "open"), official_checker)
    with_power = _generate(_with_power(results_dir), tmp_path / "with", "open")
    assert (with_power / "open" / PERF / POWER_JSON).is_file()
    assert _errors(with_power, official_checker) == without  # test-mode runs: errors, but the same
    test01 = tmp_path / "with" / "open" / "ORG" / "compliance"
    assert not test01.exists() or not list(test01.rglob(POWER_JSON))


def test_the_checker_would_reject_power_json_in_test01(
    results_dir: Path, tmp_path: Path, official_checker: Path
) -> None:
    """Why it never goes there: a closed tree's TEST01 run gains a file-list error."""
    closed = _generate(results_dir, tmp_path / "closed", "closed")
    before = _errors(closed, official_checker)
    for compliance in {p.parents[1] for p in closed.rglob("run_1") if "TEST01" in p.parts}:
        _with_power(compliance)
    new = _errors(closed, official_checker) - before
    assert any("file list mismatch" in e and POWER_JSON in e for e in new), new


def _provenance_files(tree: Path) -> list[str]:
    return sorted(p.relative_to(tree).as_posix() for p in tree.rglob(PROVENANCE))


def test_v6_trees_carry_provenance_json_in_performance_run_1_only(results_dir: Path, tmp_path: Path) -> None:
    """The hub reads how a run was made (batch size, SUT workers) from it; never in accuracy/ or
    TEST01 (whose file lists the checker checks)."""
    for division in ("open", "closed"):
        tree = _generate(results_dir, tmp_path / division, division)
        found = _provenance_files(tree)
        assert f"{division}/{PERF}/{PROVENANCE}" in found
        assert all("/performance/run_1/" in p and "TEST01" not in p for p in found), found


def test_v5_trees_carry_none_of_our_files_in_run_1(results_dir: Path, tmp_path: Path) -> None:
    """The v5.x checker lists every performance/run_1's files (file list mismatch)."""
    _with_power(results_dir)
    for division in ("open", "closed"):
        out = tmp_path / division
        opts = GenerateOptions(results_dir, out, "ORG", division, Category.EDGE, ROUNDS["v5.1"])
        generate_submission(replace(opts, check_round_seeds=False))  # LoadGen 6.0.x logs: v6.1 seeds
        assert not list(out.rglob(PROVENANCE)) and not list(out.rglob(POWER_JSON))


def test_mlperf_checker_reports_nothing_new_for_provenance_json(
    results_dir: Path, tmp_path: Path, official_checker: Path
) -> None:
    closed = _generate(results_dir, tmp_path / "closed", "closed")
    assert (closed / "closed" / PERF / PROVENANCE).is_file()
    with_provenance = _errors(closed, official_checker)
    for path in closed.rglob(PROVENANCE):
        path.unlink()
    assert with_provenance == _errors(closed, official_checker)


def test_the_hub_reads_the_scheduling_of_a_generated_tree(results_dir: Path, tmp_path: Path) -> None:
    """submission generate -> hub import: the performance run's batch size and workers land in the
    row (the accuracy run's record is not the measured one)."""
    from crowdperf.hub.importer import import_tree
    from crowdperf.hub.models import Result
    from crowdperf.hub.store import open_store

    for run in results_dir.rglob(PROVENANCE):
        record = json.loads(run.read_text())
        workers = 2 if run.parent.name == "run_1" and "TEST01" not in run.parts else 9
        run.write_text(json.dumps({**record, "batch_size": 1024, "sut_workers_per_device": workers}))
    tree = _generate(results_dir, tmp_path / "tree", "closed")
    store = open_store(tmp_path / "hub.sqlite")
    assert import_tree(store, tree).imported >= 1
    with store.session() as s:
        rows = list(s.scalars(select(Result)))
    assert rows and {(r.batch_size, r.sut_workers_per_device) for r in rows} == {(1024, 2)}
    store.close()
