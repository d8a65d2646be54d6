"""A result is filed with the devices its run used, never with every GPU of its host.

On a 2 x H200 host (a real ``HostInventory`` value; this machine has no GPU): a CPU run, a run on
1 of the 2 GPUs and one on both, each through the real harness (real LoadGen; the synthetic numpy
workload computes, the inventory says what it ran on) -> provenance.json -> results directory ->
``submission generate`` -> ``systems/<name>.json`` -> ``hub import`` -> the hub's row.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pytest

from crowdperf.hub.importer import import_tree
from crowdperf.hub.queries import list_results
from crowdperf.hub.store import open_store
from crowdperf.mlperf.rounds import ROUNDS, Category, Scenario
from crowdperf.mlperf.runs import HarnessContext, execute_run
from crowdperf.mlperf.spec import Mode, RunSpec
from crowdperf.mlperf.workload import register_workload, unregister_workload
from crowdperf.settings import load_settings
from crowdperf.submission.generate import GenerateOptions, generate_submission
from crowdperf.submission.readme import render_readme
from crowdperf.system.devices import DeviceSelection
from crowdperf.system.inventory import HostInventory

SYNTHETIC = "synthetic_workloads:default_workload"
HOST = "intel-xeon-platinum-8480-224c"


@pytest.fixture
def synthetic_tiny() -> Iterator[str]:
    register_workload("tiny", SYNTHETIC)
    yield "tiny"
    unregister_workload("tiny")


def _run_both_modes(model: str, device: str, host: HostInventory, results: Path) -> Path:
    ctx = HarnessContext(load_settings(), inventory=host, argv=["crowdperf", "run", "--device", device])
    for mode in (Mode.PERFORMANCE, Mode.ACCURACY):
        spec = RunSpec(
            model,
            Scenario.OFFLINE,
            mode,
            devices=DeviceSelection.parse(device),
            count=32,
            results_dir=results,
        )
        result = execute_run(spec, ctx)
    return result.run_dir.parent  # <results>/<system>/<model>/Offline


@pytest.mark.parametrize(
    ("device", "indices", "system"),
    [
        ("cpu", [], f"{HOST}-onnxruntime-cpu-fp32"),
        ("cuda:1", [1], f"{HOST}-nvidia-h200x1-onnxruntime-cuda-fp32"),
        ("cuda", [0, 1], f"{HOST}-nvidia-h200x2-onnxruntime-cuda-fp32"),
    ],
)
def test_a_result_counts_the_devices_its_run_used(
    device: str,
    indices: list[int],
    system: str,
    synthetic_tiny: str,
    two_h200_host: HostInventory,
    tmp_path: Path,
) -> None:
    count = len(indices)
    scenario_dir = _run_both_modes(synthetic_tiny, device, two_h200_host, tmp_path / "results")
    assert scenario_dir.parent.parent.name == system  # the results directory's <system>

    prov = json.loads((scenario_dir / "performance" / "run_1" / "provenance.json").read_text())
    assert prov["schema"] == "crowdperf.provenance/2" and prov["accelerator_count"] == count
    assert len(prov["system"]["gpus"]) == 2  # the host: every GPU of it, apart from the devices
    accelerators = [d for d in prov["devices"] if d["kind"] == "cuda"]
    assert [d["index"] for d in accelerators] == indices
    assert [d["uuid"] for d in accelerators] == [two_h200_host.gpus[i].uuid for i in indices]
    if not count:
        assert prov["devices"] == [
            {"kind": "cpu", "index": None, "name": two_h200_host.cpu_model, "uuid": None, "memory_mib": None}
        ]
    assert ("devices used: " + ("CPU" if not count else f"{count} x NVIDIA H200")) in render_readme(
        scenario_dir
    )

    sub = tmp_path / "sub"
    generate_submission(
        GenerateOptions(tmp_path / "results", sub, "ORG", "open", Category.EDGE, ROUNDS["v6.1"])
    )
    desc = json.loads((sub / "open" / "ORG" / "systems" / f"{system}.json").read_text())
    assert desc["accelerators_per_node"] == (count or "0")  # a falsy 0 fails the checker: "0"
    assert desc["accelerator_model_name"] == ("NVIDIA H200" if count else "N/A")
    assert desc["accelerator_memory_capacity"] == ("140 GB" if count else "N/A")
    assert desc["accelerator_interconnect"] == {0: "N/A", 1: "N/A", 2: "NVLink (18 links)"}[count]
    assert desc["accelerator_host_interconnect"] == ("PCIe Gen5 x16" if count else "N/A")
    assert desc["host_processor_model_name"] == two_h200_host.cpu_model
    assert (desc["host_processors_per_node"], desc["host_processor_core_count"]) == (2, 56)  # per socket
    assert desc["system_name"].startswith(system.split("-onnxruntime")[0] + " (")

    store = open_store(tmp_path / "hub.sqlite")
    try:
        assert import_tree(store, sub).imported == 1
        (row,) = list_results(store, limit=None).rows
    finally:
        store.close()
    assert row.accelerator_count == count and row.accelerator == ("NVIDIA H200" if count else "")
    if count:
        assert row.throughput_per_accelerator == pytest.approx(row.throughput / count)
        # priced per accelerator-hour of the H200s the run used: 84.8 USD / 8 GPUs per hour
        assert row.usd_per_million == pytest.approx(84.8 / 8 * count / (row.throughput * 3600) * 1e6)
    else:
        assert row.throughput_per_accelerator is None and row.usd_per_million is None
