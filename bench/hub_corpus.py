"""Generated corpora for the hub benchmarks.

``write_corpus``: an MLPerf submission tree with N result directories (official layout: one
``closed/<submitter>`` per 100 results, systems with varied accelerators), built around real LoadGen
detail/summary logs produced once by a trivial SUT (tests/unit/hub/hub_lgrun.py); each result's
metric line is rewritten to a different number so the rows differ.

``synthetic_rows``: N row dicts for bulk insertion (the query benchmark needs 100,000 rows; writing
and importing 600,000 files for that would measure the file system, not the queries).
"""

from __future__ import annotations

import random
import re
import sys
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests" / "unit" / "hub"))
from hub_lgrun import run_loadgen
from hub_trees import Entry, write_tree

from crowdperf.hub.comparison import comparison_key

ACCELERATORS = [
    ("NVIDIA H100-SXM-80GB", 8),
    ("NVIDIA L4", 1),
    ("NVIDIA T4", 1),
    ("NVIDIA A100-SXM-80GB", 8),
    ("NVIDIA L40S", 4),
    ("NVIDIA A10G", 1),
    ("", 0),
    ("AMD MI300X", 8),
    ("Qualcomm Cloud AI 100", 4),
]
SCENARIOS = ("Offline", "SingleStream", "Server", "MultiStream")
_METRIC = {"Offline": "result_samples_per_second", "Server": "result_completed_samples_per_sec"}


def write_corpus(root: Path, n: int, seed: int = 0) -> Path:
    rng = random.Random(seed)
    logs = {s: run_loadgen(root / "_logs" / s, s) for s in ("Offline", "Server")}
    per_org = 100
    for org in range(0, n, per_org):
        entries = []
        for i in range(org, min(org + per_org, n)):
            scenario = ("Offline", "Server")[i % 2]
            accel, count = ACCELERATORS[i % len(ACCELERATORS)]
            src = root / "_logs" / f"v{i}"
            src.mkdir(parents=True, exist_ok=True)
            detail = (logs[scenario] / "mlperf_log_detail.txt").read_text()
            value = rng.uniform(10, 50000)
            detail = re.sub(
                rf'("key": "{_METRIC[scenario]}", "value": )[0-9.e+]+', rf"\g<1>{value:.3f}", detail
            )
            (src / "mlperf_log_detail.txt").write_text(detail)
            (src / "mlperf_log_summary.txt").write_text(
                (logs[scenario] / "mlperf_log_summary.txt").read_text()
            )
            entries.append(
                Entry(
                    f"sys{i:05d}",
                    scenario,
                    src,
                    model=("bert-99", "bert-99.9")[i // 2 % 2],
                    f1=round(rng.uniform(88.5, 91.0), 3),
                    accelerator=accel,
                    accelerators=count or 1,
                )
            )
        write_tree(root / "tree", entries, layout="official", submitter=f"org{org // per_org:03d}")
    return root / "tree"


def synthetic_rows(n: int, seed: int = 0) -> list[dict[str, Any]]:
    rng = random.Random(seed)
    rows = []
    for i in range(n):
        rnd = rng.choice(("v4.0", "v4.1", "v5.0", "v5.1", "v6.0"))
        model = rng.choice(("bert-99", "bert-99.9", "resnet50", "retinanet", "llama2-70b-99"))
        scenario = rng.choice(SCENARIOS)
        division = rng.choice(("closed", "closed", "closed", "open"))
        accel, per_node = rng.choice(ACCELERATORS)
        count = per_node * rng.choice((1, 1, 2)) if accel else 0
        tp = rng.lognormvariate(7, 2) * max(count, 1)
        latency = rng.uniform(0.5, 200.0) if scenario != "Offline" else None
        watts = rng.uniform(50, 6000) if rng.random() < 0.3 else None
        rows.append(
            dict(
                content_hash=f"{seed:04d}{i:060d}",
                round=rnd,
                division=division,
                category="edge",
                benchmark="mlperf-inference",
                comparison_key=comparison_key(
                    model=model,
                    scenario=scenario,
                    round=rnd,
                    division=division,
                    settings={"min_duration_ms": 600000},
                ),
                submitter=f"org{rng.randrange(300):03d}",
                availability="available",
                system_name=f"system-{i}",
                host_cpu="AMD EPYC 9654",
                host_cpu_count=2,
                accelerator=accel,
                accelerator_count=count,
                software="TensorRT 10",
                backend=rng.choice(("tensorrt", "onnxruntime", "pytorch", "openvino")),
                precision=rng.choice(("fp32", "fp16", "int8", "fp8")),
                model=model,
                scenario=scenario,
                metric="m",
                unit="ms" if latency and scenario != "Server" else "samples/s",
                value=latency if latency and scenario != "Server" else tp,
                throughput=tp,
                throughput_per_accelerator=tp / count if count else None,
                latency_ms=latency,
                latency_p99_ms=latency,
                latency_mean_ms=None,
                valid=rng.random() < 0.9,
                accuracy_metric="f1",
                accuracy_value=None,
                accuracy_f1=rng.uniform(88.0, 91.0),
                accuracy_exact_match=None,
                power_w=watts,
                energy_j_per_sample=watts / tp if watts else None,
                # official figures are PTD's; a crowd's come from software meters: both in one hub
                power_meter=("ptd" if i % 5 else "nvml") if watts else "none",
                loadgen_version="5.1.0",
                settings_json="{}",
                system_json="{}",
                summary_text="",
                command=None,
                source="bench",
                path=f"closed/x/results/{i}",
                checker_verdict="unchecked",
                checker_notes="",
                uploader=None,
                hidden=False,
            )
        )
    return rows
