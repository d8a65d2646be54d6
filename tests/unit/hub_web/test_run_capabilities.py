"""What ``crowdperf ui`` offers (hub/web/run_capabilities.py, run_form.py): asked of the real
installed backends and workloads, on this host and on a 2 x H200 host's inventory."""

from __future__ import annotations

import pytest

from crowdperf.errors import UsageError
from crowdperf.hub.web.run_capabilities import (
    DOWNLOAD,
    READY,
    UNAVAILABLE,
    Capabilities,
    DeviceOption,
    Support,
    detect,
    device_options,
)
from crowdperf.hub.web.run_form import DEFAULTS, LaunchChoice, form_choices, parse_launch
from crowdperf.system.inventory import HostInventory


def test_a_gpu_host_offers_every_gpu_together_and_each_alone(two_h200_host: HostInventory) -> None:
    options = device_options(two_h200_host)
    assert [o.value for o in options] == ["cpu", "cuda", "cuda:0", "cuda:1"]
    assert options[1].label == "cuda: 2 x NVIDIA H200" and {o.kind for o in options[1:]} == {"cuda"}


def test_the_backends_say_what_runs_and_why_not(two_h200_host: HostInventory) -> None:
    caps = detect(inventory=two_h200_host)
    tiny_cpu = caps.lookup("tiny", "onnxruntime", "cpu", "fp32")
    assert tiny_cpu is not None and tiny_cpu.status == READY
    refused = caps.lookup("tiny", "onnxruntime", "cpu", "bf16")
    assert refused is not None and refused.status == UNAVAILABLE and "fp32 (or int8)" in refused.reason
    assert "fix:" in refused.reason  # the backend's hint comes with it
    official = caps.lookup("bert-99", "onnxruntime", "cpu", "fp32")
    assert official is not None and official.status == DOWNLOAD  # this test's cache is empty
    cuda = [s for s in caps.support if s.device == "cuda"]
    assert cuda and all(s.reason for s in cuda if s.status == UNAVAILABLE)
    assert Capabilities.from_json(caps.to_json()) == caps


def _caps() -> Capabilities:
    return detect()


def test_the_form_offers_only_what_runs_and_builds_an_argument_list() -> None:
    caps = _caps()
    choices = form_choices(caps)
    assert choices["device"] == tuple(d.value for d in caps.usable_devices)
    assert set(choices["precision"]) <= {"fp32", "fp16", "bf16", "int8"}
    choice = parse_launch({**DEFAULTS, "count": "16"}, caps)
    assert choice == LaunchChoice(**DEFAULTS, count=16)
    assert choice.run_args() == [
        "run", "--model", "tiny", "--backend", "onnxruntime", "--device", "cpu", "--precision", "fp32",
        "--scenario", "all", "--mode", "all", "--execution-mode", "test", "--category", "edge",
        "--count", "16",
    ]  # fmt: skip
    assert choice.commands().run.startswith("crowdperf run --model tiny --backend onnxruntime --device cpu")


def test_official_files_are_fetched_only_when_asked() -> None:
    caps = _caps()
    with pytest.raises(UsageError, match="needs official files"):
        parse_launch({**DEFAULTS, "model": "bert-99"}, caps)
    choice = parse_launch({**DEFAULTS, "model": "bert-99", "download": "on"}, caps)
    assert choice.download and choice.run_args()[-1] == "--download"


def test_one_gpu_of_several_is_cuda_for_the_command_builder() -> None:
    choice = LaunchChoice(**{**DEFAULTS, "device": "cuda:1"})
    assert choice.device_kind == "cuda" and "--device cuda:1" in choice.summary()
    assert "--device cuda " in choice.commands().run


def test_a_gpu_nothing_installed_can_use_is_shown_but_not_offered() -> None:
    cpu, gpu = DeviceOption("cpu", "cpu", "cpu: EPYC"), DeviceOption("cuda", "cuda", "cuda: 1 x L4")
    no_cuda = "onnxruntime has no CUDA provider here"
    caps = Capabilities(
        devices=(cpu, gpu),
        support=(
            Support("tiny", "onnxruntime", "cpu", "fp32", READY),
            Support("tiny", "onnxruntime", "cuda", "fp32", UNAVAILABLE, no_cuda),
        ),
    )
    assert caps.usable_devices == (cpu,) and form_choices(caps)["device"] == ("cpu",)
    with pytest.raises(UsageError, match="device 'cuda' cannot run here"):
        parse_launch({**DEFAULTS, "device": "cuda"}, caps)
    assert ("onnxruntime", "cuda", "fp32", no_cuda) in caps.backend_table()  # the page says why
