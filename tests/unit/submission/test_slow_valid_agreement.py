"""One real 600 s LoadGen run (Offline, a SUT that answers after 601 s), generated as an open-division
tiny-model result: both our checker and MLPerf's must accept it."""

from __future__ import annotations

from pathlib import Path

import pytest
from lgtrees import build_results

from crowdperf.mlperf.rounds import ROUNDS, Category
from crowdperf.submission.checker import check_submission
from crowdperf.submission.generate import GenerateOptions, generate_submission
from crowdperf.submission.official import run_official_checker


@pytest.mark.slow
@pytest.mark.timeout(1500)
def test_valid_600s_offline_run_passes_both_checkers(tmp_path: Path, official_checker: Path) -> None:
    results = tmp_path / "results"
    # target_qps 18 -> LoadGen issues max(10833, 1.1 * 600 * 18 = 11880) samples in its one query.
    build_results(
        results,
        model="tiny",
        scenario="Offline",
        total=10833,
        user_conf="*.Offline.target_qps = 18\n",
        execution_mode="valid",
        f1=0.0,
        test01=False,
        offline_sleep_s=601.0,
    )
    sub = tmp_path / "sub"
    report = generate_submission(
        GenerateOptions(results, sub, "CrowdTest", "open", Category.EDGE, ROUNDS["v6.1"])
    )
    assert [r.division for r in report.results] == ["open"]
    ours = check_submission(sub, ROUNDS["v6.1"])
    assert ours.passed, ours.to_dict()
    theirs = run_official_checker(official_checker, sub, ROUNDS["v6.1"])
    assert theirs.passed, theirs.output_tail
