"""Importing submission trees: our v5.x/v6.x layouts, the official layout with power, failures
recorded with their reason, idempotent re-import, git URLs."""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest
from hub_trees import Entry, write_tree
from sqlalchemy import func, select

from crowdperf.errors import HubError, MissingInputError
from crowdperf.hub.importer import import_tree
from crowdperf.hub.models import ImportFailure, Result
from crowdperf.hub.queries import list_results
from crowdperf.hub.query_types import ResultFilter
from crowdperf.hub.result_parser import parse_accuracy
from crowdperf.hub.store import Store


def _count(store: Store, model: type) -> int:
    with store.session() as s:
        return s.scalar(select(func.count()).select_from(model)) or 0


def test_our_v5_tree_one_row_per_system_model_scenario(store: Store, lg_logs, tmp_path: Path) -> None:
    tree = write_tree(
        tmp_path / "sub",
        [
            Entry("host1-onnxruntime-cpu", "Offline", lg_logs["Offline"], accelerator="", accelerators=0),
            Entry(
                "host1-onnxruntime-cpu",
                "SingleStream",
                lg_logs["SingleStream"],
                accelerator="",
                accelerators=0,
            ),
            Entry("host2-ort-l4", "Offline", lg_logs["Offline"], f1=89.1, precision="int8"),
        ],
    )
    report = import_tree(store, tree, source="ours", uploader="alice")
    assert (report.found, report.imported, report.unchanged, report.failed) == (3, 3, 0, ())
    rows = {(r.system_name, r.scenario): r for r in list_results(store, limit=None).rows}
    off = rows[("host1-onnxruntime-cpu", "Offline")]
    assert off.round == "v6.1"  # LoadGen 6.0.x carries the v6.1 seeds
    assert (off.division, off.submitter, off.category, off.model) == (
        "closed",
        "crowdperf-org",
        "edge",
        "bert-99",
    )
    assert off.metric == "result_samples_per_second" and off.unit == "samples/s" and off.value > 0
    assert off.throughput == off.value and off.latency_ms is None and off.accelerator_count == 0
    assert (off.host_cpu, off.host_cpu_count, off.backend, off.precision) == (
        "AMD EPYC 7R13",
        2,
        "onnxruntime",
        "fp32",
    )
    assert off.accuracy_f1 == pytest.approx(90.2) and off.accuracy_exact_match == pytest.approx(83.1)
    assert (off.source, off.uploader, off.checker_verdict) == ("ours", "alice", "unchecked")
    assert off.path == "closed/crowdperf-org/results/host1-onnxruntime-cpu/bert-99/Offline"
    assert off.command.startswith("crowdperf run --model bert-99")
    assert len(off.content_hash) == 64 and off.settings["min_duration_ms"] == 0
    ss = rows[("host1-onnxruntime-cpu", "SingleStream")]
    # 16 queries: too few for early stopping (LoadGen logs 0), so the plain p90 is used and noted
    assert ss.metric == "result_90.00_percentile_latency_ns" and "early stopping not met" in ss.checker_notes
    assert ss.unit == "ms" and ss.latency_ms == ss.value > 0
    assert ss.throughput == pytest.approx(1000.0 / ss.latency_ms)
    l4 = rows[("host2-ort-l4", "Offline")]
    assert l4.accelerator == "NVIDIA L4" and l4.throughput_per_accelerator == l4.throughput
    assert l4.precision == "int8" and l4.usd_per_million is not None  # priced from the builtin table
    assert off.comparison_key == l4.comparison_key != ss.comparison_key


def test_v6_layout_and_reimport_is_idempotent(store: Store, lg_logs, tmp_path: Path) -> None:
    tree = write_tree(
        tmp_path / "sub",
        [Entry("h", "Offline", lg_logs["Offline"]), Entry("h", "Server", lg_logs["Server"])],
        layout="v6",
    )
    first = import_tree(store, tree)
    again = import_tree(store, tree)
    assert (first.imported, again.imported, again.unchanged) == (2, 0, 2)
    assert _count(store, Result) == 2
    server = list_results(store, ResultFilter(scenario="Server")).rows[0]
    assert server.metric == "result_completed_samples_per_sec" and server.latency_ms == server.latency_p99_ms
    assert server.command and server.precision == "fp32"


def test_official_layout_with_power_and_round_from_repo_name(store: Store, lg_logs, tmp_path: Path) -> None:
    repo = tmp_path / "inference_results_v4.0"
    write_tree(
        repo,
        [
            Entry(
                "DGX-H100",
                "Offline",
                lg_logs["OfflinePower"],
                accelerator="NVIDIA H100-SXM-80GB",
                accelerators=8,
                framework="TensorRT 9.3, CUDA 12.2",
                watts=412.5,
            )
        ],
        layout="official",
        submitter="NVIDIA",
    )
    write_tree(
        repo,
        [Entry("box", "Offline", lg_logs["Offline"], f1=None)],
        layout="official",
        division="open",
        submitter="Other",
    )
    report = import_tree(store, repo, source="mlcommons")
    assert report.imported == 2 and not report.failed
    nv = list_results(store, ResultFilter(submitter="nvidia")).rows[0]
    assert (nv.round, nv.backend, nv.accelerator_count) == ("v4.0", "tensorrt", 8)
    assert nv.power_w == pytest.approx(412.5)  # samples outside [power_begin, power_end] ignored
    assert nv.energy_j_per_sample == pytest.approx(412.5 / nv.throughput)
    assert nv.throughput_per_accelerator == pytest.approx(nv.throughput / 8)
    other = list_results(store, ResultFilter(division="open")).rows[0]
    assert other.accuracy_f1 is None and "no accuracy" in other.checker_notes and other.power_w is None


def test_malformed_results_are_recorded_and_do_not_stop_the_rest(
    store: Store, lg_logs, tmp_path: Path
) -> None:
    tree = write_tree(tmp_path / "sub", [Entry(f"s{i}", "Offline", lg_logs["Offline"]) for i in range(3)])
    org = tree / "closed" / "crowdperf-org"
    detail = org / "results/s0/bert-99/Offline/performance/run_1/mlperf_log_detail.txt"
    detail.write_text(detail.read_text() + ':::MLLOG {"key": broken\n')
    (org / "results/s1/bert-99/Offline/performance/run_1/mlperf_log_detail.txt").unlink()
    report = import_tree(store, tree, source="t")
    assert report.imported == 1 and len(report.failed) == 2
    reasons = {f.path.split("/")[3]: f.reason for f in report.failed}
    assert "corrupt MLLOG record" in reasons["s0"] and "no LoadGen detail log" in reasons["s1"]
    import_tree(store, tree, source="t")  # the same failures are not recorded twice
    with store.session() as s:
        assert sorted(p.split("/")[3] for p in s.scalars(select(ImportFailure.path))) == ["s0", "s1"]


def test_git_url_is_cloned(store: Store, lg_logs, tmp_path: Path) -> None:
    repo = write_tree(tmp_path / "repo", [Entry("h", "Offline", lg_logs["Offline"])])
    git = ["git", "-C", str(repo), "-c", "user.name=t", "-c", "user.email=t@example.org"]
    subprocess.run(["git", "init", "-q", str(repo)], check=True)
    subprocess.run([*git, "add", "-A"], check=True)
    subprocess.run([*git, "commit", "-qm", "results"], check=True)
    report = import_tree(store, f"file://{repo}")
    assert report.imported == 1 and list_results(store).rows[0].source == f"file://{repo}"
    with pytest.raises(HubError, match="git clone"):
        import_tree(store, f"file://{tmp_path}/nope.git")


def test_missing_or_empty_tree_is_a_clear_error(store: Store, tmp_path: Path) -> None:
    with pytest.raises(MissingInputError):
        import_tree(store, tmp_path / "absent")
    with pytest.raises(HubError, match="no MLPerf results"):
        import_tree(store, tmp_path)


@pytest.mark.parametrize(
    ("text", "metric", "value"),
    [
        ('{"exact_match": 83.1, "f1": 90.2}\nhash=ab', "f1", 90.2),
        ("accuracy=76.078%, good=38039, total=50000", "accuracy", 76.078),
        ("{'rouge1': '38.732', 'rouge2': '15.8897'}", "rouge1", 38.732),
        ("{'exact_match': 90.11, 'rougeL': 21.9}", "exact_match", 90.11),
        ("Accuracy Results: {'FID_SCORE': '23.909', 'CLIP_SCORE': '31.7'}", "FID_SCORE", 23.909),
        ("AUC=80.23785974349185", "AUC", 80.23785974349185),
        ("Accuracy: mean = 0.86112, kidney = 0.9346", "DICE", 0.86112),
        ("nothing we know", None, None),
    ],
)
def test_accuracy_formats_of_the_reference_scripts(
    text: str, metric: str | None, value: float | None
) -> None:
    parsed = parse_accuracy(text)
    assert (parsed["metric"], parsed["value"]) == (metric, value)
    assert parsed["f1"] == (value if metric == "f1" else None)


def test_lowercase_and_inferred_scenarios(store: Store, lg_logs, tmp_path: Path) -> None:
    """Official trees use lower-case scenario directories and results inferred from another
    scenario's run (Offline from SingleStream: the checker's get_inferred_result); a scenario
    pair MLPerf does not allow is a recorded failure."""
    tree = write_tree(
        tmp_path / "sub",
        [
            Entry("e", "singlestream", lg_logs["SingleStream"]),
            Entry("e", "offline", lg_logs["SingleStream"]),
            Entry("e", "Server", lg_logs["Offline"]),
        ],
        layout="official",
    )
    report = import_tree(store, tree)
    assert report.imported == 2 and "does not match" in report.failed[0].reason
    off = list_results(store, ResultFilter(scenario="Offline")).rows[0]
    assert off.metric == "result_qps_without_loadgen_overhead" and off.throughput > 0
    assert "inferred from a SingleStream run" in off.checker_notes
    assert list_results(store, ResultFilter(scenario="SingleStream")).total == 1


def test_selective_log_parsing_keeps_errors(lg_logs, tmp_path: Path) -> None:
    from crowdperf.mlperf.logs import parse_detail_log

    detail = tmp_path / "mlperf_log_detail.txt"
    error = ':::MLLOG {"key": "error_invalid_config", "value": "x", "metadata": {"is_error": true}}\n'
    detail.write_text((lg_logs["Offline"] / "mlperf_log_detail.txt").read_text() + error)
    full = parse_detail_log(detail)
    some = parse_detail_log(detail, want=lambda k: k.startswith("result_"))
    assert "loaded_qsl_set" in full and "loaded_qsl_set" not in some
    assert some["result_samples_per_second"] == full["result_samples_per_second"]
    assert [e.key for e in some.errors] == [e.key for e in full.errors] == ["error_invalid_config"]


def test_accuracy_of_any_crowdperf_workload_is_read_by_its_own_metric() -> None:
    from crowdperf.hub.result_parser import parse_accuracy

    toy = parse_accuracy('{"accuracy": 99.8, "top5": 100.0}\nmore lines\n', "accuracy")
    assert (toy["metric"], toy["value"], toy["f1"]) == ("accuracy", 99.8, None)
    lone = parse_accuracy('{"mAP": 37.5}\n')  # a workload not installed here, one score: that one
    assert (lone["metric"], lone["value"]) == ("mAP", 37.5)
    bert = parse_accuracy('{"exact_match": 83.2, "f1": 90.5}\n', "f1")
    assert (bert["metric"], bert["value"], bert["em"]) == ("f1", 90.5, 83.2)
    assert parse_accuracy('{"a": 1, "b": 2}\n')["metric"] is None  # ambiguous without the workload
    assert parse_accuracy("not json\n")["metric"] is None
