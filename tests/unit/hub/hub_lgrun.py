"""Run the real LoadGen once (fresh process) with a trivial SUT that answers every sample with the
same (384, 2) float32 logits, to produce genuine mlperf_log_detail.txt / summary files for hub tests.

LoadGen counts ``FromConfig`` calls per process (loadgen/test_settings_internal.cc), so each run needs
its own process: ``python lgrun.py OUTDIR SCENARIO``. Short runs (min_duration 0, 16 queries) are
honestly INVALID, which is what test-mode runs look like.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

USER_CONF = (
    "*.*.min_duration = 0\n*.*.min_query_count = 16\n*.Offline.target_qps = 10\n"
    "*.SingleStream.target_latency = 1\n*.Server.target_qps = 50\n*.MultiStream.target_latency = 1\n"
)


def run_loadgen(outdir: Path, scenario: str, *, sut_delay_s: float = 0.0) -> Path:
    """Write real LoadGen logs for ``scenario`` into ``outdir``; returns ``outdir``. ``sut_delay_s``
    makes the SUT wait before answering (gives the power window a measurable length)."""
    outdir.mkdir(parents=True, exist_ok=True)
    args = [sys.executable, __file__, str(outdir), scenario, str(sut_delay_s)]
    proc = subprocess.run(args, capture_output=True, text=True, timeout=300, check=False)
    if proc.returncode != 0:
        raise RuntimeError(f"LoadGen run failed: {proc.stderr[-2000:]}")
    return outdir


def _main(outdir: Path, scenario: str, delay_s: float) -> None:
    import time

    import mlperf_loadgen as lg
    import numpy as np

    logits = np.linspace(-1.0, 1.0, 384 * 2, dtype=np.float32).reshape(384, 2)  # (seq, start/end)
    payload = np.frombuffer(logits.tobytes(), dtype=np.uint8)
    addr, size = payload.ctypes.data, payload.nbytes

    def issue(samples):  # type: ignore[no-untyped-def]
        time.sleep(delay_s)
        lg.QuerySamplesComplete([lg.QuerySampleResponse(s.id, addr, size) for s in samples])

    conf = outdir / "user.conf"
    conf.write_text(USER_CONF)
    settings = lg.TestSettings()
    settings.FromConfig(str(conf), "bert", scenario)
    settings.scenario = getattr(lg.TestScenario, scenario)
    settings.mode = lg.TestMode.PerformanceOnly
    out = lg.LogOutputSettings()
    out.outdir = str(outdir)
    out.copy_summary_to_stdout = False
    log_settings = lg.LogSettings()
    log_settings.log_output = out
    log_settings.enable_trace = False
    sut = lg.ConstructSUT(issue, lambda: None)
    qsl = lg.ConstructQSL(64, 64, lambda s: None, lambda s: None)
    lg.StartTestWithLogSettings(sut, qsl, settings, log_settings, "")
    lg.DestroyQSL(qsl)
    lg.DestroySUT(sut)


if __name__ == "__main__":
    _main(Path(sys.argv[1]), sys.argv[2], float(sys.argv[3]))
