from __future__ import annotations

from pathlib import Path

import pytest

from crowdperf.errors import ResultsError, UsageError
from crowdperf.mlperf.logs import parse_detail_log
from crowdperf.mlperf.rounds import default_round, get_round


def test_default_round_matches_installed_loadgen_seeds() -> None:
    r = default_round()
    assert r.name == "v6.1"
    assert r.seeds.qsl_rng_seed == 2085463073848966840


def test_unknown_round_is_a_usage_error() -> None:
    with pytest.raises(UsageError, match="unknown MLPerf round"):
        get_round("v9.9")


def test_detail_log_parses_records_and_errors(tmp_path: Path) -> None:
    p = tmp_path / "mlperf_log_detail.txt"
    p.write_text(
        ':::MLLOG {"key": "effective_scenario", "value": "Offline", "metadata": {}}\n'
        "noise line\n"
        ':::MLLOG {"key": "result_validity", "value": "VALID", "metadata": {}}\n'
        ':::MLLOG {"key": "error_invalid_config", "value": "x", "metadata": {"is_error": true}}\n'
    )
    log = parse_detail_log(p)
    assert log.scenario == "Offline" and log.valid
    assert [e.key for e in log.errors] == ["error_invalid_config"]
    with pytest.raises(ResultsError):
        log["missing_key"]
