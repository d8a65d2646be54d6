"""Bad content in an imported tree costs only its own result: poisoned numbers (Infinity, NaN,
huge exponents, absurd counts), NUL bytes (raw, or escaped in JSON), over-long text and corrupt
lines are recorded as failures whose reason names the file inside the tree, never a server
path; the good results beside them are stored; every stored number is finite. SQLite and
PostgreSQL alike."""

from __future__ import annotations

import json
import math
import re
from collections.abc import Callable
from pathlib import Path

import pytest
from hub_trees import Entry, write_tree
from sqlalchemy import func, select

from crowdperf.errors import ResultsError
from crowdperf.hub.importer import import_tree
from crowdperf.hub.models import ImportFailure, Result
from crowdperf.hub.queries import best_configurations, list_results, pareto_front
from crowdperf.hub.query_types import Constraints
from crowdperf.hub.row_checks import check_row
from crowdperf.hub.store import Store

RESULT = "closed/crowdperf-org/results/bad/bert-99/Offline"
DETAIL = f"{RESULT}/performance/run_1/mlperf_log_detail.txt"
SUMMARY = f"{RESULT}/performance/run_1/mlperf_log_summary.txt"
ACCURACY = f"{RESULT}/accuracy/accuracy.txt"
SYSTEM = "closed/crowdperf-org/systems/bad.json"


def _metric(value: str) -> Callable[[Path], None]:
    def poison(org: Path) -> None:
        detail = org / "results/bad/bert-99/Offline/performance/run_1/mlperf_log_detail.txt"
        text = re.sub(
            r'("key": "result_samples_per_second", "value": )[^,}]+', rf"\g<1>{value}", detail.read_text()
        )
        detail.write_text(text)

    return poison


def _accuracy(text: str) -> Callable[[Path], None]:
    def poison(org: Path) -> None:
        (org / "results/bad/bert-99/Offline/accuracy/accuracy.txt").write_text(text)

    return poison


def _system(**over: object) -> Callable[[Path], None]:
    def poison(org: Path) -> None:
        path = org / "systems/bad.json"
        path.write_text(json.dumps({**json.loads(path.read_text()), **over}))

    return poison


def _append(name: str, data: bytes) -> Callable[[Path], None]:
    def poison(org: Path) -> None:
        path = org / "results/bad/bert-99/Offline/performance/run_1" / name
        path.write_bytes(path.read_bytes() + data)

    return poison


POISONS: dict[str, tuple[Callable[[Path], None], str]] = {
    "throughput Infinity": (_metric("Infinity"), DETAIL),
    "throughput NaN": (_metric("NaN"), DETAIL),
    "throughput -Infinity": (_metric("-Infinity"), DETAIL),
    "throughput 1e308": (_metric("1e308"), DETAIL),
    "throughput negative": (_metric("-5.0"), DETAIL),
    "throughput zero": (_metric("0.0"), DETAIL),
    "accuracy huge exponent": (_accuracy('{"exact_match": 83.1, "f1": 1e999}'), ACCURACY),
    "accuracy over 100": (_accuracy('{"exact_match": 1e300, "f1": 90.1}'), ACCURACY),
    "accelerator count huge": (
        _system(accelerators_per_node="99999999999999999999"),
        SYSTEM,
    ),
    "system name with escaped NUL": (_system(system_name="a\u0000b"), SYSTEM),
    "system name too long": (_system(system_name="x" * 300), SYSTEM),
    "NUL byte in the summary": (_append("mlperf_log_summary.txt", b"\x00"), SUMMARY),
    "NUL byte in the detail log": (_append("mlperf_log_detail.txt", b"\x00\n"), DETAIL),
    "corrupt MLLOG line": (_append("mlperf_log_detail.txt", b':::MLLOG {"key": broken\n'), DETAIL),
    "escaped NUL in a log value": (
        _append("mlperf_log_detail.txt", b':::MLLOG {"key": "loadgen_version", "value": "6\\u0000"}\n'),
        DETAIL,
    ),
}  # fmt: skip


@pytest.mark.parametrize("name", list(POISONS))
def test_poisoned_result_is_a_failure_naming_its_file_and_the_rest_is_stored(
    store: Store, lg_logs, tmp_path: Path, name: str
) -> None:
    poison, file = POISONS[name]
    entries = [Entry(s, "Offline", lg_logs["Offline"]) for s in ("good1", "bad", "good2")]
    tree = write_tree(tmp_path / "sub", entries)
    poison(tree / "closed" / "crowdperf-org")
    report = import_tree(store, tree, source="t")
    assert report.imported == 2 and [f.path for f in report.failed] == [RESULT]
    reason = report.failed[0].reason
    assert file in reason and str(tmp_path) not in reason and "\x00" not in reason, reason
    with store.session() as s:
        stored = s.scalars(select(ImportFailure.reason)).one()
        assert stored == reason[:4000]
        numbers = s.execute(select(Result.value, Result.throughput, Result.accuracy_f1)).all()
    assert len(numbers) == 2 and all(math.isfinite(v) for row in numbers for v in row if v is not None)
    # and every read of the store answers
    assert list_results(store).total == 2
    assert pareto_front(store, None, ["throughput", "accuracy"]).groups
    assert best_configurations(store, Constraints(valid_only=False)).groups


def test_a_nul_in_one_file_does_not_abort_a_batch(store: Store, lg_logs, tmp_path: Path) -> None:
    """The CLI once lost a whole batch of 500 to PostgreSQL refusing one NUL: now only that one."""
    tree = write_tree(
        tmp_path / "sub", [Entry(f"s{i:02d}", "Offline", lg_logs["Offline"]) for i in range(12)]
    )
    readme = tree / "closed/crowdperf-org/measurements/s05/bert-99/Offline/README.md"
    readme.write_bytes(readme.read_bytes().replace(b"crowdperf run", b"crowdperf run\x00"))
    report = import_tree(store, tree)
    assert report.imported == 11 and len(report.failed) == 1
    assert "measurements/s05/bert-99/Offline/README.md: contains a NUL byte" in report.failed[0].reason


def test_rows_the_database_refuses_anyway_fail_alone(
    store: Store, lg_logs, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A value the checks did not foresee and the database refuses (forced here through checks
    that let everything pass: a processor count past 64 bits) costs only its row."""
    import crowdperf.hub.importer as importer

    monkeypatch.setattr(importer, "check_row", lambda row, files: None)  # lets everything pass
    tree = write_tree(tmp_path / "sub", [Entry(s, "Offline", lg_logs["Offline"]) for s in ("a", "bad", "c")])
    _system(host_processors_per_node=str(10**20))(tree / "closed" / "crowdperf-org")
    report = import_tree(store, tree)
    assert report.imported == 2 and [f.path for f in report.failed] == [RESULT]
    assert "the database refused the row" in report.failed[0].reason


def test_identity_does_not_depend_on_the_import_root(store: Store, lg_logs, tmp_path: Path) -> None:
    repo = tmp_path / "inference_results_v3.0"
    write_tree(repo, [Entry(s, "Offline", lg_logs["Offline"]) for s in ("a", "b")], layout="official",
               submitter="NVIDIA")  # fmt: skip
    first = import_tree(store, repo)
    from_division = import_tree(store, repo / "closed")
    from_submitter = import_tree(store, repo / "closed" / "NVIDIA")
    assert (first.imported, from_division.unchanged, from_submitter.unchanged) == (2, 2, 2)
    assert from_division.imported == from_submitter.imported == 0
    with store.session() as s:
        assert s.scalar(select(func.count()).select_from(Result)) == 2
        assert set(s.scalars(select(Result.path))) == {
            "closed/NVIDIA/results/a/bert-99/Offline",
            "closed/NVIDIA/results/b/bert-99/Offline",
        }
    best = best_configurations(store, Constraints(valid_only=False)).groups[0].ranking
    assert len({r.system_name for r in best}) == len(best) == 2


def test_submitter_is_the_folder_name(store: Store, lg_logs, tmp_path: Path) -> None:
    entries = [Entry(s, "Offline", lg_logs["Offline"]) for s in ("a", "b")]
    tree = write_tree(tmp_path / "sub", entries, layout="official", submitter="Supermicro")
    for system, spelling in (("a", "supermicro"), ("b", "SUPERMICRO Inc.")):
        path = tree / f"closed/Supermicro/systems/{system}.json"
        path.write_text(json.dumps({**json.loads(path.read_text()), "submitter": spelling}))
    import_tree(store, tree)
    assert {r.submitter for r in list_results(store).rows} == {"Supermicro"}


def test_check_row_names_the_source_file_per_column() -> None:
    files = {"detail": "d.txt", "accuracy": "acc.txt", "system": "sys.json", "power": "spl.txt"}
    base = {"unit": "samples/s", "value": 10.0, "throughput": 10.0, "accuracy_f1": 90.0, "power_w": 300.0,
            "power_meter": "ptd"}  # fmt: skip
    check_row(base, lambda: files)
    for column, bad, where in (
        ("accuracy_f1", float("inf"), "acc.txt"),
        ("power_w", -1.0, "spl.txt"),
        ("throughput", float("nan"), "d.txt"),
        ("system_name", "a\x00", "sys.json"),
        ("host_cpu_count", 10**12, "sys.json"),
    ):
        with pytest.raises(ResultsError, match=re.escape(where) + ": " + column):
            check_row({**base, column: bad}, lambda: files)
    with pytest.raises(ResultsError, match="value"):  # a latency result's value is in ms
        check_row({**base, "unit": "ms", "value": 1e12}, lambda: files)
