"""Build real LoadGen results trees (the harness layout) for submission tests.

A trivial SUT answers every sample with the same (384, 2) float32 logits through the real
``mlperf_loadgen``; nothing here edits a LoadGen log. Short runs use LoadGen's own settings
(``min_duration``, ``min_query_count``) via user.conf, so they are honestly INVALID/test-mode.
"""

from __future__ import annotations

import json
import subprocess
import sys
import threading
import time
from dataclasses import asdict, dataclass
from pathlib import Path

import mlperf_loadgen as lg
import numpy as np

MIRROR = Path("/work/.mirror/mlcommons+inference/repo")
CHECKER_PATHS = ("tools/submission", "compliance/TEST01")


def extract_inference_copy(ref: str, dest: Path) -> Path:
    """Write tools/submission and compliance/TEST01 of ``ref`` from the bare mirror into ``dest``
    (file by file: ``git archive`` of the snapshot fails on objects outside these folders)."""
    names = subprocess.run(
        ["git", "-C", str(MIRROR), "ls-tree", "-r", "--name-only", ref, *CHECKER_PATHS],
        capture_output=True,
        text=True,
        check=True,
    ).stdout.split()
    for name in names:
        if "directory_structure_samples" in name or "/tests/" in name:
            continue
        out = dest / name
        out.parent.mkdir(parents=True, exist_ok=True)
        out.write_bytes(
            subprocess.run(
                ["git", "-C", str(MIRROR), "show", f"{ref}:{name}"], capture_output=True, check=True
            ).stdout
        )
    return dest


LOGITS = np.linspace(-1.0, 1.0, 384 * 2, dtype=np.float32).reshape(384, 2)  # (seq, start/end)
AUDIT_TEST01 = (
    "*.*.mode = 2\n*.*.accuracy_log_rng_seed = 720381539243781796\n*.*.accuracy_log_sampling_target = 4096\n"
)


@dataclass(frozen=True)
class RunSpec:
    scenario: str = "Offline"
    mode: str = "performance"  # performance | accuracy
    total: int = 64  # QSL size (10833 for the real dataset)
    perf_count: int = 64
    user_conf: str = ""
    latency_s: float = 0.0
    audit: str | None = None
    offline_sleep_s: float = (
        0.0  # Offline: the SUT answers the one query after this long (models a slow device)
    )


def run_loadgen(outdir: Path, spec: RunSpec) -> None:
    """One LoadGen run in a fresh process: LoadGen counts FromConfig calls in a process-wide static
    (loadgen/test_settings_internal.cc), so a second run in one process logs error_invalid_config
    and skips the built-in mlperf.conf (seeds become 0)."""
    outdir.mkdir(parents=True, exist_ok=True)
    args = json.dumps({"outdir": str(outdir), **asdict(spec)})
    proc = subprocess.run(
        [sys.executable, __file__, args], cwd=outdir, capture_output=True, text=True, timeout=900
    )
    if proc.returncode != 0:
        raise RuntimeError(f"LoadGen fixture run failed:\n{proc.stderr[-2000:]}")


def _run_in_this_process(outdir: Path, spec: RunSpec) -> None:
    (outdir / "user.conf").write_text(spec.user_conf)
    payload = LOGITS.tobytes()
    buf = np.frombuffer(payload, dtype=np.uint8)
    addr = buf.ctypes.data

    def issue(samples):
        if spec.offline_sleep_s:

            def late():
                time.sleep(spec.offline_sleep_s)
                lg.QuerySamplesComplete([lg.QuerySampleResponse(s.id, addr, len(payload)) for s in samples])

            threading.Thread(target=late, daemon=True).start()
            return

        def answer():
            for s in samples:
                if spec.latency_s:
                    time.sleep(spec.latency_s)
                lg.QuerySamplesComplete([lg.QuerySampleResponse(s.id, addr, len(payload))])

        answer()  # synchronously, on LoadGen's issue thread: steadier latencies than a new thread

    settings = lg.TestSettings()
    settings.FromConfig(str(outdir / "user.conf"), "bert", spec.scenario)
    settings.scenario = getattr(lg.TestScenario, spec.scenario)
    settings.mode = lg.TestMode.AccuracyOnly if spec.mode == "accuracy" else lg.TestMode.PerformanceOnly
    log_out = lg.LogOutputSettings()
    log_out.outdir = str(outdir)
    log_out.copy_summary_to_stdout = False
    log_settings = lg.LogSettings()
    log_settings.log_output = log_out
    log_settings.enable_trace = False
    sut = lg.ConstructSUT(issue, lambda: None)
    qsl = lg.ConstructQSL(spec.total, spec.perf_count, lambda s: None, lambda s: None)
    audit = Path("audit.config")
    if spec.audit:
        audit.write_text(spec.audit)  # LoadGen reads audit.config from the working directory
    try:
        lg.StartTestWithLogSettings(sut, qsl, settings, log_settings, str(audit) if spec.audit else "")
    finally:
        if spec.audit:
            audit.unlink()
        lg.DestroyQSL(qsl)
        lg.DestroySUT(sut)


TEST_CONF = "\n".join(
    [
        "*.*.min_duration = 0",
        "*.*.min_query_count = 16",
        "*.Offline.target_qps = 10",
        "*.SingleStream.target_latency = 1",
        "",
    ]
)


def provenance(*, model: str, scenario: str, mode: str, execution_mode: str, system: str) -> dict:
    return {
        "command": f"crowdperf run --model {model} --scenario {scenario} --mode {mode} "
        f"--execution-mode {execution_mode}",
        "crowdperf_version": "0.1.0",
        "git_commit": "0" * 40,
        "backend": {
            "name": "onnxruntime",
            "version": "1.18.0",
            "device": "cpu",
            "precision": "fp32",
            "execution_provider": "CPUExecutionProvider",
            "device_name": "test cpu",
        },
        "loadgen_version": lg.__version__ if hasattr(lg, "__version__") else "6.0.17",
        "round": "v6.1",
        "execution_mode": execution_mode,
        "submittable": execution_mode == "valid",
        "model": model,
        "scenario": scenario,
        "mode": mode,
        # As a run records them (data set and vocab too); no "weights_file": an older record, whose
        # model file generate finds by its name.
        "asset_checksums": {
            "dev-v1.1.json": "3e85deb501d4e538b6bc56f786231552",
            "model.onnx": "819b25b19cd8e59080c10892689750ca",
            "vocab.txt": "64800d5d8528ce344256daf115d4965e",
        },
        "system": {"host_processor_model_name": "test cpu", "system_name": system.split("-")[0]},
        "timestamps": {"start": "2026-01-01T00:00:00Z", "end": "2026-01-01T00:00:01Z"},
    }


def build_results(
    root: Path,
    *,
    system: str = "testhost-onnxruntime-cpu-fp32",
    model: str = "bert-99",
    scenario: str = "Offline",
    total: int = 64,
    user_conf: str = TEST_CONF,
    execution_mode: str = "test",
    f1: float = 0.0,
    test01: bool = True,
    latency_s: float = 0.0,
    offline_sleep_s: float = 0.0,
) -> Path:
    """A results tree with performance, accuracy and (optionally) TEST01 runs; returns the scenario dir."""
    scen = root / system / model / scenario
    common = dict(scenario=scenario, total=total, perf_count=total, user_conf=user_conf, latency_s=latency_s)
    for mode, sub in (("performance", scen / "performance" / "run_1"), ("accuracy", scen / "accuracy")):
        sleep = offline_sleep_s if mode == "performance" else 0.0
        run_loadgen(sub, RunSpec(mode=mode, offline_sleep_s=sleep, **common))
        prov = provenance(
            model=model, scenario=scenario, mode=mode, execution_mode=execution_mode, system=system
        )
        (sub / "provenance.json").write_text(json.dumps(prov))
    # What the accuracy module reports for a constant-logits SUT is a near-zero score; fixtures pass
    # the value explicitly so the accuracy rule can be exercised both ways.
    (scen / "accuracy" / "accuracy.txt").write_text(json.dumps({"exact_match": f1, "f1": f1}) + "\n")
    (scen / "accuracy" / "predictions.json").write_text("{}")
    if test01:
        run_loadgen(
            scen / "TEST01" / "performance" / "run_1",
            RunSpec(audit=AUDIT_TEST01, offline_sleep_s=offline_sleep_s, **common),
        )
    return scen


def run_loadgen_twice_in_one_process(first: Path, second: Path, spec: RunSpec) -> None:
    """Two runs in one process, as a harness that forgets LoadGen's process-wide FromConfig count
    would do: LoadGen itself logs error_invalid_config into the second run's detail log."""
    for out in (first, second):
        out.mkdir(parents=True, exist_ok=True)
    args = json.dumps([{"outdir": str(o), **asdict(spec)} for o in (first, second)])
    proc = subprocess.run(
        [sys.executable, __file__, args], cwd=first, capture_output=True, text=True, timeout=900
    )
    if proc.returncode != 0:
        raise RuntimeError(f"LoadGen fixture run failed:\n{proc.stderr[-2000:]}")


if __name__ == "__main__":
    _all = json.loads(sys.argv[1])
    for _args in _all if isinstance(_all, list) else [_all]:
        _run_in_this_process(Path(_args.pop("outdir")), RunSpec(**_args))
