"""The pieces of a step that do not need a GPU to be tested: what a Ray task declares, how a
CUDA point runs on the GPUs Ray hands it, and a device that is not here as a refusal."""

from __future__ import annotations

import os
import tempfile
from pathlib import Path

from crowdperf.explore.ray_executor import CPU_RESOURCE, resources_of
from crowdperf.explore.space import build_space
from crowdperf.explore.steps import RunSettings
from crowdperf.mlperf.rounds import Category, Scenario
from crowdperf.mlperf.runs import HarnessContext
from crowdperf.mlperf.screening import ScreenFailure, screen_group
from crowdperf.mlperf.spec import AssetPaths, ExecutionMode, Mode, RunSpec
from crowdperf.precision import Precision
from crowdperf.settings import load_settings
from crowdperf.system.devices import DeviceKind, DeviceSelection


def _points(devices: list[str], threads: list[str]):  # type: ignore[no-untyped-def]
    given = {"backend": ["onnxruntime"], "precision": ["fp32"], "devices": devices, "threads": threads}
    return build_space("tiny", Scenario.OFFLINE, given).points()


def test_ray_resources_one_point_per_device() -> None:
    gpu1, gpu2, cpu = _points(["cuda", "cuda:0,1", "cpu"], ["4"])
    assert resources_of(gpu1) == {"num_cpus": 1, "num_gpus": 1}
    assert resources_of(gpu2) == {"num_cpus": 1, "num_gpus": 2}
    assert resources_of(cpu) == {"num_cpus": 4, "resources": {CPU_RESOURCE: 1}}


def test_a_ray_task_runs_a_cuda_point_on_every_gpu_ray_gave_it() -> None:
    (point,) = _points(["cuda:1"], ["default"])
    settings = RunSettings("tiny", Scenario.OFFLINE, Category.EDGE, ExecutionMode.TEST, "v6.1", AssetPaths())
    assert settings.spec(point, Mode.PERFORMANCE).devices == DeviceSelection(DeviceKind.CUDA, (1,))
    on_ray = RunSettings(**{**settings.__dict__, "visible_gpus": True})
    assert on_ray.spec(point, Mode.PERFORMANCE).devices == DeviceSelection(DeviceKind.CUDA)


def test_a_device_that_is_not_here_refuses_every_point_of_the_group_before_any_child() -> None:
    """This machine has no GPU (CI): --devices cuda is the device's refusal, journalled as skipped."""
    ctx = HarnessContext(load_settings())
    if any(True for _ in ctx.inventory.gpus):
        return  # a GPU host: the refusal cannot be shown here
    spec = RunSpec("tiny", Scenario.OFFLINE, Mode.FIND_PERFORMANCE, devices=DeviceSelection(DeviceKind.CUDA))
    got: list[tuple[int, object]] = []
    screen_group(spec, (1, 8), ctx, accuracy_count=8, on_result=lambda i, o: got.append((i, o)))
    assert [i for i, _ in got] == [0, 1]
    assert all(isinstance(o, ScreenFailure) and o.refused and o.error == "DeviceError" for _, o in got)


def test_a_precision_the_backend_refuses_is_refused_in_the_parent_before_any_child() -> None:
    """The backend's own preflight (the harness's, as `crowdperf run` has it) says no before a
    screening child starts or a model is made: this process never makes a scratch directory."""
    ctx = HarnessContext(load_settings())
    spec = RunSpec(
        "tiny", Scenario.OFFLINE, Mode.FIND_PERFORMANCE, backend="onnxruntime", precision=Precision.BF16
    )
    got: list[tuple[int, object]] = []
    screen_group(spec, (1, 8), ctx, accuracy_count=8, on_result=lambda i, o: got.append((i, o)))
    assert [i for i, _ in got] == [0, 1]
    assert all(isinstance(o, ScreenFailure) and o.refused and "not bf16" in o.message for _, o in got)
    assert not list(Path(tempfile.gettempdir()).glob(f"crowdperf-screen-{os.getpid()}-*"))
