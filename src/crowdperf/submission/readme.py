"""README.md for one measurement directory: how to reproduce the run exactly.

The checker requires a non-empty README.md next to user.conf (constants.py
``REQUIRED_MEASURE_FILES``); ours says which crowdperf, which command, which system, which assets
(MD5) and what was measured, all read from provenance.json and LoadGen's own logs.
"""

from __future__ import annotations

import json
from pathlib import Path

from crowdperf.mlperf.layout import ScenarioDir
from crowdperf.mlperf.logs import parse_detail_log
from crowdperf.submission.results import Provenance, read_accuracy_metrics, read_provenance
from crowdperf.system.devices import describe_used

_METRIC = {
    "Offline": ("result_samples_per_second", "samples/s"),
    "Server": ("result_completed_samples_per_sec", "samples/s"),
    "SingleStream": ("early_stopping_latency_ss", "ns (90th percentile, early stopping)"),
    "MultiStream": ("early_stopping_latency_ms", "ns (99th percentile, early stopping)"),
}


def _performance_lines(perf_dir: Path) -> list[str]:
    detail = perf_dir / "mlperf_log_detail.txt"
    if not detail.is_file():
        return ["- performance: no performance run"]
    log = parse_detail_log(detail)
    key, unit = _METRIC.get(str(log.get("effective_scenario")), ("", ""))
    return [
        f"- scenario: {log.get('effective_scenario')}",
        f"- result: {log.get('result_validity', 'unknown')}",
        f"- {key}: {log.get(key, 'n/a')} {unit}",
        f"- LoadGen {log.get('loadgen_version', 'unknown')}, "
        f"min_duration {log.get('effective_min_duration_ms')} ms, "
        f"queries {log.get('result_query_count', 'n/a')}",
    ]


def _system_lines(prov: Provenance) -> list[str]:
    backend, system = prov.backend, prov.get("system", {})
    lines = [
        f"- backend: {backend.get('name', 'unknown')} {backend.get('version', '')} on "
        f"{backend.get('device', 'unknown')} ({backend.get('device_name', 'unknown')}), "
        f"precision {backend.get('precision', 'unknown')}, "
        f"execution provider {backend.get('execution_provider', 'n/a')}",
    ]
    if (devices := prov.devices) is not None:
        lines.append(f"- devices used: {describe_used(devices)}")
    if (host := prov.inventory) is not None:
        lines.append(
            f"- host: {host.cpu_sockets} x {host.cpu_model} ({host.cpu_physical_cores} cores, "
            f"{host.cpu_logical_cores} threads), {host.memory_mib / 1024:.0f} GB memory, "
            f"{len(host.gpus)} GPU(s), {host.operating_system}"
        )
    elif isinstance(system, dict):
        for key in (
            "host_processor_model_name",
            "host_memory_capacity",
            "accelerator_model_name",
            "operating_system",
            "framework",
        ):
            if key in system:
                lines.append(f"- {key}: {system[key]}")
    return lines


def render_readme(scenario_dir: Path) -> str:
    dirs = ScenarioDir(scenario_dir)
    perf_dir, acc_dir = dirs.performance, dirs.accuracy
    prov = read_provenance(perf_dir)
    acc_prov = read_provenance(acc_dir)
    model = prov.get("model", scenario_dir.parent.name)
    title = f"{model} {scenario_dir.name} on {scenario_dir.parent.parent.name}"
    out = [f"# {title}", "", "Measured with crowdperf, MLPerf Inference LoadGen harness.", ""]
    out += [
        "## Reproduce",
        "",
        "```bash",
        f"pip install crowdperf=={prov.get('crowdperf_version', 'unknown')}",
    ]
    for p in (prov, acc_prov):
        if cmd := p.get("command"):
            out.append(cmd if isinstance(cmd, str) else " ".join(map(str, cmd)))
    out += [
        "```",
        "",
        f"- crowdperf git commit: {prov.get('git_commit', 'unknown')}",
        f"- MLPerf round: {prov.get('round', 'unknown')}, "
        f"execution mode: {prov.get('execution_mode', 'unknown')}",
        "",
    ]
    out += ["## System", "", *_system_lines(prov), ""]
    checksums = prov.get("asset_checksums", {}) or acc_prov.get("asset_checksums", {})
    out += ["## Assets (MD5)", ""]
    out += [f"- {name}: `{md5}`" for name, md5 in sorted(checksums.items())] or ["- unknown"]
    out += ["", "## Results", "", *_performance_lines(perf_dir)]
    if (metrics := read_accuracy_metrics(acc_dir)) is not None:
        out.append(f"- accuracy: {json.dumps(metrics)}")
    missing = sorted(set(prov.missing) | set(acc_prov.missing))
    if missing:
        out += ["", f"Provenance fields not recorded by the run: {', '.join(missing)}."]
    return "\n".join(out) + "\n"


def write_measurement_readme(scenario_dir: Path, dest: Path | None = None) -> Path:
    """Write README.md (into ``dest`` or ``scenario_dir``) atomically; returns its path."""
    target = (dest or scenario_dir) / "README.md"
    tmp = target.with_name(".README.md.tmp")
    tmp.write_text(render_readme(scenario_dir), encoding="utf-8")
    tmp.replace(target)
    return target
