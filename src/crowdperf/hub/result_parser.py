"""One result directory of an MLPerf submission tree -> the column values of one ``results`` row.

A result is ``<division>/<submitter>/results/<system>/<model>/<scenario>/`` with
``performance/run_1/mlperf_log_detail.txt`` (required), ``accuracy/accuracy.txt``, and where present
``performance/run_1/spl.txt`` (PTD power) or ``power.json`` (crowdperf's software meters;
``power_import.py``) and ``provenance.json`` (how crowdperf's SUT fed LoadGen;
``scheduling_import.py``). The system description is ``<submitter>/systems/<system>.json``;
the measurement JSON is ``measurements/<system>/<model>/<scenario>/*.json`` (v5.x and the official
repositories) or ``measurements.json`` inside the result directory (v6.x).
Rules followed: mlcommons/inference ``tools/submission/submission_checker/constants.py``
(``RESULT_FIELD_NEW``: the metric per scenario, one table in ``mlperf/metrics.py``) and
``checks/power_check.py`` (power window, in ``power_import.py``).
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from functools import cached_property
from pathlib import Path
from typing import Any

from crowdperf.errors import ResultsError
from crowdperf.hub.comparison import comparison_key, key_settings
from crowdperf.hub.power_import import SPL, power_columns
from crowdperf.hub.scheduling_import import scheduling_columns
from crowdperf.meters.record import POWER_JSON
from crowdperf.mlperf.layout import PROVENANCE, ScenarioDir
from crowdperf.mlperf.logs import DetailLog, parse_detail_log
from crowdperf.mlperf.metrics import result_field
from crowdperf.mlperf.rounds import MIN_DURATION_MS, ROUNDS
from crowdperf.mlperf.workload import workload_names, workload_rules

NS_PER_MS = 1e6
SAMPLES_PER_QUERY = {"SingleStream": 1, "MultiStream": 8}  # checker power_check.py
BACKENDS = (
    "tensorrt",
    "onnxruntime",
    "openvino",
    "pytorch",
    "torch",
    "tensorflow",
    "tflite",
    "jax",
    "vllm",
    "triton",
    "deepsparse",
    "mxnet",
    "migraphx",
    "qaic",
    "llama.cpp",
    "sglang",
)
# the detail-log records the hub reads; the others (loaded_qsl_set lists every loaded sample
# index) are not decoded
_LOG_PREFIXES = ("effective_", "result_", "early_stopping_", "power_")


def _wanted_log_key(key: str) -> bool:
    return key.startswith(_LOG_PREFIXES) or key == "loadgen_version"


_SEED_ROUNDS = {r.seeds.qsl_rng_seed: name for name, r in ROUNDS.items()}
_ROUND_IN_NAME = re.compile(r"v(\d+\.\d+)")


@dataclass(frozen=True)
class ResultDir:
    """Where one result lives inside a tree (paths computed once: the importer asks often)."""

    root: Path  # the tree root (the directory the user imported)
    org_dir: Path  # <root>/<division>/<submitter>
    system: str
    model: str
    scenario: str

    @cached_property
    def path(self) -> Path:
        return self.org_dir / "results" / self.system / self.model / self.scenario

    @cached_property
    def base(self) -> Path:
        """The folder above the division. Paths stored, hashed and shown are relative to it, so a
        result is one row whichever folder the import started from (tree, division, submitter)."""
        return self.org_dir.parent.parent

    @cached_property
    def rel(self) -> str:
        return self.path.relative_to(self.base).as_posix()

    def shown(self, file: Path) -> str:
        """A file's name as the submitter knows it (inside the tree), never a server path."""
        return file.relative_to(self.base).as_posix()

    @cached_property
    def perf_dir(self) -> Path:
        return ScenarioDir(self.path).performance

    @cached_property
    def system_json(self) -> Path:
        return self.org_dir / "systems" / f"{self.system}.json"

    @cached_property
    def accuracy_txt(self) -> Path:
        return ScenarioDir(self.path).accuracy / "accuracy.txt"

    @cached_property
    def measurement_files(self) -> list[Path]:
        v6 = self.path / "measurements.json"
        if v6.is_file():
            return [v6]
        v5 = self.org_dir / "measurements" / self.system / self.model / self.scenario
        return sorted(v5.glob("*.json")) if v5.is_dir() else []

    def readme(self) -> Path | None:
        for d in (self.path, self.org_dir / "measurements" / self.system / self.model / self.scenario):
            if (d / "README.md").is_file():
                return d / "README.md"
        return None

    def hashed_files(self) -> list[Path]:
        """Files whose bytes make up the content hash (the ones the row is built from)."""
        files = [
            self.perf_dir / "mlperf_log_detail.txt",
            self.perf_dir / "mlperf_log_summary.txt",
            self.accuracy_txt,
            self.system_json,
            self.perf_dir / SPL,
            self.perf_dir / POWER_JSON,
            self.perf_dir / PROVENANCE,
            *self.measurement_files,
        ]
        return [f for f in files if f.is_file()]


def _int(value: Any) -> int | None:
    try:
        return int(str(value).strip())
    except (TypeError, ValueError):
        return None


def _metric(log: DetailLog, scenario: str) -> tuple[str, float]:
    """The scenario's metric. A run too short for early stopping logs an early-stopping latency of
    0 (test-mode runs); then the plain percentile latency it also logs is used instead."""
    keys = result_field(scenario).keys  # a ResultsError naming the known scenarios for another
    for key in keys:
        value = log.get(key)
        if value is None or (key.startswith("early_stopping") and not float(value)):
            continue
        return key, float(value)
    raise ResultsError(f"{log.path}: no {' or '.join(keys)} record for {scenario}")


_Q = r"[\"']?"  # values are sometimes quoted: {'rouge1': '38.73'}
# metric name -> pattern, first match wins; formats of the reference accuracy scripts' last lines
ACCURACY_PATTERNS: tuple[tuple[str, str], ...] = (
    ("accuracy", r"accuracy=([\d.]+)%"),  # resnet50
    ("mAP", r"mAP=([\d.]+)%?"),  # retinanet
    ("rouge1", rf"[\"']rouge1[\"']\s*:\s*{_Q}([\d.]+)"),  # llama2/3 8b/70b, gpt-j, mixtral
    ("exact_match", rf"[\"']exact_match[\"']\s*:\s*{_Q}([\d.]+)"),  # llama3.1-405b, deepseek-r1
    ("FID_SCORE", rf"[\"']FID_SCORE[\"']\s*:\s*{_Q}([\d.]+)"),  # stable-diffusion-xl
    ("AUC", r"AUC=([\d.]+)"),  # dlrm-v2
    ("DICE", r"Accuracy: mean = ([\d.]+)"),  # 3d-unet
    ("mAP", rf"[\"']Total[\"']\s*:\s*{_Q}([\d.]+)"),  # pointpainting
)


def parse_accuracy(text: str, metric: str | None = None) -> dict[str, float | str | None]:
    """accuracy.txt -> metric name, value, F1 and EM. crowdperf's workloads write a first line of
    JSON scores (BERT: ``{"exact_match": EM, "f1": F1}``; another workload its own), whose metric
    ``metric`` names (the workload's ``BenchmarkRules.accuracy_metric``, when it is installed);
    official results of other models print e.g. ``accuracy=76.078%`` or ``mAP=37.5%``."""
    out: dict[str, float | str | None] = {"metric": None, "value": None, "f1": None, "em": None}
    scores = _first_line_scores(text)
    if metric is not None and metric != "f1" and metric in scores:
        out.update(metric=metric, value=scores[metric])
        return out
    f1 = re.search(r"[\"']f1[\"']\s*:\s*([-\d.eE+]+)", text)
    em = re.search(r"[\"']exact_match[\"']\s*:\s*([-\d.eE+]+)", text)
    if f1:
        out.update(metric="f1", value=float(f1.group(1)), f1=float(f1.group(1)))
        out["em"] = float(em.group(1)) if em else None
        return out
    for name, pattern in ACCURACY_PATTERNS:
        m = re.search(pattern, text)
        if m:
            out.update(metric=name, value=float(m.group(1)))
            return out
    if len(scores) == 1:  # a workload this hub does not have installed, with one score
        ((name, value),) = scores.items()
        out.update(metric=name, value=value)
    return out


def _first_line_scores(text: str) -> dict[str, float]:
    """The numbers of accuracy.txt's first line when it is a JSON object (crowdperf's form)."""
    try:
        first = json.loads(text.splitlines()[0]) if text.strip() else None
    except ValueError:
        return {}
    if not isinstance(first, dict):
        return {}
    return {
        str(k): float(v) for k, v in first.items() if isinstance(v, int | float) and not isinstance(v, bool)
    }


def accuracy_metric_of(model: str) -> str | None:
    """The accuracy metric of an installed workload named ``model``; None for any other model."""
    return workload_rules(model).benchmark.accuracy_metric if model in workload_names() else None


def infer_round(log: DetailLog, hint: str | None) -> str:
    """Round: explicit/named (``inference_results_v4.0``), else the LoadGen seeds, else LoadGen version."""
    if hint:
        m = _ROUND_IN_NAME.search(hint)
        if m:
            return f"v{m.group(1)}"
    by_seed = _SEED_ROUNDS.get(_int(log.get("effective_qsl_rng_seed")) or -1)
    if by_seed:
        return by_seed
    version = str(log.get("loadgen_version", ""))
    m = re.match(r"(\d+\.\d+)", version)
    return f"v{m.group(1)}" if m else "unknown"


def normalize_backend(*texts: str) -> str:
    low = " ".join(texts).lower()
    found = next((b for b in BACKENDS if b in low), "")
    return "pytorch" if found == "torch" else found


def _precision(measurements: dict[str, Any], system: dict[str, Any]) -> str:
    value = measurements.get("weight_data_types") or system.get("weight_data_types") or ""
    return str(value).strip().lower()


def _command(readme: Path | None) -> str | None:
    if readme is None:
        return None
    for line in readme.read_text(encoding="utf-8", errors="replace").splitlines():
        if line.strip().startswith(("crowdperf run", "crowdperf ")) and "pip install" not in line:
            return line.strip()
    return None


CANONICAL_SCENARIOS = {
    s.lower(): s for s in ("SingleStream", "MultiStream", "Server", "Offline", "Interactive")
}
# (directory scenario, logged scenario) pairs the checker accepts (performance_check.py
# get_inferred_result; Interactive is LoadGen's Server scenario with tighter latency targets)
INFERRED = {
    ("Offline", "SingleStream"),
    ("Offline", "MultiStream"),
    ("MultiStream", "SingleStream"),
    ("Interactive", "Server"),
}


def _scenarios(where: ResultDir, log: DetailLog) -> tuple[str, str]:
    """(scenario the result is for, scenario LoadGen ran); directory names are matched ignoring case."""
    scenario = CANONICAL_SCENARIOS.get(where.scenario.lower(), where.scenario)
    logged = str(log.get("effective_scenario") or scenario)
    if logged != scenario and (scenario, logged) not in INFERRED:
        raise ResultsError(f"log scenario {logged!r} does not match directory {where.scenario!r}")
    return scenario, logged


def _performance(log: DetailLog, scenario: str, logged: str) -> tuple[str, float, bool]:
    """(metric, value in log units, is a latency) for ``scenario``, inferring it from the
    ``logged`` run where MLPerf allows (same formulas as the checker's get_inferred_result)."""
    if (scenario, logged) == ("Offline", "SingleStream"):
        return "result_qps_without_loadgen_overhead", float(log["result_qps_without_loadgen_overhead"]), False
    if (scenario, logged) == ("Offline", "MultiStream"):
        per_query = float(log["effective_samples_per_query"])
        return (
            "inferred_samples_per_second",
            per_query * 1e3 / (float(log["result_mean_query_latency_ns"]) / 1e6),
            False,
        )
    if (scenario, logged) == ("MultiStream", "SingleStream"):
        value = float(log["early_stopping_latency_ms"]) * SAMPLES_PER_QUERY["MultiStream"]
        if not value:
            raise ResultsError(
                "MultiStream inferred from SingleStream needs early stopping, which was not met"
            )
        return "early_stopping_latency_ms", value, True
    metric, value = _metric(log, logged)
    return metric, value, metric.startswith(("early_stopping", "result_9"))


def _json_object(where: ResultDir, path: Path) -> dict[str, Any]:
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except ValueError as exc:  # also a file that is not UTF-8
        raise ResultsError(f"{where.shown(path)}: corrupt JSON ({exc})") from exc
    if not isinstance(data, dict):
        raise ResultsError(f"{where.shown(path)}: not a JSON object")
    return data


def _descriptions(where: ResultDir) -> tuple[dict[str, Any], dict[str, Any]]:
    """The system description and the measurement JSON (empty when absent)."""
    if not where.system_json.is_file():
        raise ResultsError(f"no system description {where.shown(where.system_json)}")
    mfiles = where.measurement_files
    return _json_object(where, where.system_json), _json_object(where, mfiles[0]) if mfiles else {}


def _system_columns(where: ResultDir, system: dict[str, Any], measurements: dict[str, Any]) -> dict[str, Any]:
    nodes = _int(system.get("number_of_nodes")) or 1
    accel = str(system.get("accelerator_model_name") or "").strip()
    accel = "" if accel.lower() in {"n/a", "na", "none", "-", ""} else accel
    # The count is of the accelerators the run used (crowdperf's systems JSON follows the run's
    # devices): none means a CPU result, whatever model name the file also carries.
    accel_count = (_int(system.get("accelerators_per_node")) or 0) * nodes if accel else 0
    accel = accel if accel_count else ""
    cpus = _int(system.get("host_processors_per_node"))
    software = str(system.get("framework") or "")
    return {
        # the submitter folder's name, as MLPerf's own tables use it: system JSONs of one submitter
        # may spell it differently (Supermicro/supermicro)
        "submitter": where.org_dir.name,
        "category": str(system.get("system_type") or ""),
        "availability": str(system.get("status") or "").lower(),
        "system_name": str(system.get("system_name") or where.system),
        "host_cpu": str(system.get("host_processor_model_name") or ""),
        "host_cpu_count": cpus * nodes if cpus else None,
        "accelerator": accel,
        "accelerator_count": accel_count,
        "software": software,
        "backend": normalize_backend(software, str(system.get("other_software_stack") or ""), where.system),
        "precision": _precision(measurements, system),
        "system_json": json.dumps(system, sort_keys=True),
    }


def _ns_to_ms(log: DetailLog, key: str) -> float | None:
    return float(log[key]) / NS_PER_MS if key in log else None


def _performance_columns(log: DetailLog, scenario: str, logged: str) -> dict[str, Any]:
    metric, value, is_latency = _performance(log, scenario, logged)
    latency_ms = value / NS_PER_MS if is_latency else None
    if scenario in ("Server", "Interactive") and "result_99.00_percentile_latency_ns" in log:
        latency_ms = _ns_to_ms(log, "result_99.00_percentile_latency_ns")
    throughput = None if is_latency else value
    if throughput is None and latency_ms:
        qps = log.get("result_samples_per_second") if scenario == logged else None
        throughput = float(qps) if qps else SAMPLES_PER_QUERY.get(scenario, 1) * 1000.0 / latency_ms
    return {
        "metric": metric,
        "unit": "ms" if is_latency else "samples/s",
        "value": latency_ms if is_latency else value,
        "throughput": throughput,
        "latency_ms": latency_ms,
        "latency_p99_ms": _ns_to_ms(log, "result_99.00_percentile_latency_ns"),
        "latency_mean_ms": _ns_to_ms(log, "result_mean_latency_ns"),
        # MLPerf-valid: LoadGen VALID, no LoadGen errors, and the rules' 600 s minimum (a crowdperf
        # test-mode run is LoadGen-VALID at 100 ms but never a result; checker: min duration check)
        "valid": log.valid and not log.errors and _min_duration_met(log),
        "loadgen_version": str(log.get("loadgen_version") or ""),
    }


def _min_duration_met(log: DetailLog) -> bool:
    duration = log.get("effective_min_duration_ms")
    return duration is None or int(duration) >= MIN_DURATION_MS


def _notes(
    where: ResultDir, log: DetailLog, scenario: str, logged: str, metric: str, *more: str | None
) -> str:
    notes = [f"LoadGen error: {e.value}" for e in log.errors[:5]]
    if not _min_duration_met(log):
        notes.append("test-mode run (min_duration below 600 s): not an MLPerf result")
    if scenario != logged:
        notes.append(f"{scenario} result inferred from a {logged} run ({metric})")
    if metric.startswith("result_9"):
        notes.append(f"early stopping not met: {metric} used")
    if not where.accuracy_txt.is_file():
        notes.append("no accuracy/accuracy.txt")
    return "; ".join([*notes, *(m for m in more if m)])


def _read(path: Path) -> str:
    return path.read_text(encoding="utf-8", errors="replace") if path.is_file() else ""


def parse_result(where: ResultDir, *, round_hint: str | None) -> dict[str, Any]:
    """Column values of one row (without provenance and hash); raises ResultsError when unusable."""
    log = parse_detail_log(where.perf_dir / "mlperf_log_detail.txt", want=_wanted_log_key)
    system, measurements = _descriptions(where)
    scenario, logged = _scenarios(where, log)
    row = {**_system_columns(where, system, measurements), **_performance_columns(log, scenario, logged)}
    accel_count, throughput = row["accelerator_count"], row["throughput"]
    accuracy = parse_accuracy(_read(where.accuracy_txt), accuracy_metric_of(where.model))
    power = power_columns(where.perf_dir, log, throughput, where.shown)
    scheduling = scheduling_columns(where.perf_dir)
    division = where.org_dir.parent.name.lower()
    round_name = infer_round(log, round_hint)
    settings = key_settings(scenario, log.values)
    return {
        **row,
        "round": round_name,
        "division": division,
        "model": where.model,
        "scenario": scenario,
        "throughput_per_accelerator": throughput / accel_count if throughput and accel_count else None,
        "accuracy_metric": accuracy["metric"],
        "accuracy_value": accuracy["value"],
        "accuracy_f1": accuracy["f1"],
        "accuracy_exact_match": accuracy["em"],
        **power.row(),
        **scheduling.row(),
        "settings_json": json.dumps(settings, sort_keys=True),
        "comparison_key": comparison_key(
            model=where.model, scenario=scenario, round=round_name, division=division, settings=settings
        ),
        "command": _command(where.readme()),
        "checker_notes": _notes(where, log, scenario, logged, row["metric"], scheduling.note),
        "summary_text": _read(where.perf_dir / "mlperf_log_summary.txt"),
    }
