"""The README's main job end to end: tiny BERT through the real LoadGen, real onnxruntime."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path


def test_default_run_writes_mlperf_layout_and_scores_accuracy(tmp_path: Path) -> None:
    out = subprocess.run(
        [sys.executable, "-m", "crowdperf", "run", "--results-dir", str(tmp_path / "r"), "--json"],
        capture_output=True, text=True, timeout=600,
    )  # fmt: skip
    assert out.returncode == 0, out.stderr
    report = json.loads(out.stdout)
    systems = [p for p in (tmp_path / "r").iterdir() if not p.name.startswith(".")]  # readers skip dot-names
    assert len(systems) == 1 and systems[0].name.endswith("-onnxruntime-cpu-fp32")
    for scenario in ("SingleStream", "Offline"):
        base = systems[0] / "tiny" / scenario
        for f in ("mlperf_log_summary.txt", "mlperf_log_detail.txt", "provenance.json", "user.conf"):
            assert (base / "performance" / "run_1" / f).is_file()
        acc = base / "accuracy"
        assert (acc / "mlperf_log_accuracy.json").stat().st_size > 1000
        first = (acc / "accuracy.txt").read_text().splitlines()[0]
        assert json.loads(first).keys() == {"exact_match", "f1"}
    assert len(report["results"]) == 4
    assert all(r["submittable"] is False for r in report["results"])
    # power: measured where a meter can read this host, else the reason, never a zero
    for r in report["results"]:
        power, power_json = r["power"], Path(r["run_dir"]) / "power.json"
        if r["mode"] == "accuracy":
            assert power is None and not power_json.exists()
            continue
        recorded = json.loads(power_json.read_text())
        assert recorded["schema"] == "crowdperf.power/1" and recorded["summary"] == power
        if power["unavailable"] is None:
            assert power["meter"] == "rapl" and power["joules_per_sample"] > 0
        else:
            assert (
                power["meter"] is None
                and power["joules"] is None
                and power["unavailable"].startswith("rapl: ")
            )
