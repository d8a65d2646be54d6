"""Sample results for the hub web tests, inserted through the ORM so each test controls the exact
numbers. (A module with a unique name: test modules import it; ``conftest`` names collide.)"""

from __future__ import annotations

import hashlib
from typing import Any

from crowdperf.hub.comparison import comparison_key
from crowdperf.hub.models import Result
from crowdperf.hub.store import Store

XSS = "<script>alert('x')</script>"

ROWS: tuple[dict[str, Any], ...] = (
    dict(submitter="acme", system_name="h100-box", accelerator="NVIDIA H100-SXM-80GB", accelerator_count=8,
         backend="tensorrt", precision="int8", throughput=60000.0, accuracy_f1=90.1, power_w=5200.0),
    dict(submitter="acme", system_name="a100-box", accelerator="NVIDIA A100-SXM-80GB", accelerator_count=8,
         backend="tensorrt", precision="int8", throughput=28000.0, accuracy_f1=90.3, power_w=4100.0),
    dict(submitter="crowd", system_name="laptop", accelerator="", accelerator_count=0,
         backend="onnxruntime", precision="fp32", throughput=12.5, accuracy_f1=90.87),
    dict(submitter="crowd", system_name=XSS, accelerator="NVIDIA L4", accelerator_count=1,
         backend="onnxruntime", precision="fp16", throughput=900.0, accuracy_f1=90.5, power_w=75.0),
    dict(submitter="other", system_name="t4-node", accelerator="NVIDIA T4", accelerator_count=4,
         backend="pytorch", precision="fp16", throughput=1500.0, accuracy_f1=89.2),
    dict(submitter="acme", system_name="h100-ss", accelerator="NVIDIA H100-SXM-80GB", accelerator_count=1,
         backend="tensorrt", precision="int8", scenario="SingleStream", throughput=700.0, latency_ms=1.4,
         accuracy_f1=90.1),
)  # fmt: skip


def add_result(store: Store, **over: Any) -> int:
    scenario = over.pop("scenario", "Offline")
    base: dict[str, Any] = dict(
        round="v5.1", division="closed", category="datacenter", model="bert-99", scenario=scenario,
        host_cpu="AMD EPYC 9654", software="TensorRT 10", metric="samples_per_second" if scenario == "Offline"
        else "latency", unit="samples/s" if scenario == "Offline" else "ms", valid=True, source="test",
        path=f"closed/x/results/{over.get('system_name', 's')}/bert-99/{scenario}",
        summary_text="Result is : VALID\nSamples per second: 1\n" + XSS,
    )  # fmt: skip
    base.update(over)
    base.setdefault("value", base["throughput"] if scenario == "Offline" else base.get("latency_ms") or 1.0)
    if base.get("throughput") and base.get("accelerator_count"):
        base["throughput_per_accelerator"] = base["throughput"] / base["accelerator_count"]
    if base.get("power_w") and base.get("throughput"):
        base["energy_j_per_sample"] = base["power_w"] / base["throughput"]
    if base.get("power_w") is not None or base.get("energy_j_per_sample") is not None:
        base.setdefault("power_meter", "ptd")  # the sample figures stand for PTD's unless a test says
    base["comparison_key"] = comparison_key(
        model=base["model"], scenario=scenario, round=base["round"], division=base["division"], settings={}
    )
    base["content_hash"] = hashlib.sha256(repr(sorted(base.items())).encode()).hexdigest()
    with store.session() as s:
        row = Result(**base)
        s.add(row)
        s.flush()
        return row.id
