"""Points as Ray tasks across a cluster (``crowdperf explore --ray-address ADDR``).

Ray is the optional extra ``crowdperf[ray]``; this module is imported only for ``--ray-address``.
Each task declares what it occupies, so Ray runs one point per device at a time:

    a GPU point   ``num_gpus`` = its GPUs (``cuda``: 1; ``cuda:0,1``: 2), 1 CPU; Ray picks the
                  GPUs and sets CUDA_VISIBLE_DEVICES, so the task runs on "every visible GPU"
    a CPU point   the custom resource ``crowdperf_cpu`` (1) and its threads as CPUs: start every
                  node that may run CPU points with ``--resources='{"crowdperf_cpu": 1}'``, so
                  two CPU points never share (and disturb) one machine's cores

The driver (the machine where ``crowdperf explore`` runs) keeps the journal and the hub: a task
returns its numbers and, for a full run, its submission tree as bytes, which the driver unpacks
under ``--dir`` and imports. The raw results directories stay on the worker that ran them
(``<its cache>/explore/...``, named in the journal). A task stops itself at the budget's
deadline; the driver cancels what is still queued. docs/explore.md: how a lab sets this up.
"""

from __future__ import annotations

import hashlib
import socket
import time
from collections.abc import Callable, Sequence
from dataclasses import replace
from typing import Any

from crowdperf.errors import UsageError
from crowdperf.explore.executors import Hooks
from crowdperf.explore.space import Point, Space
from crowdperf.explore.steps import (
    DeadlinePassed,
    FinalResult,
    FinalTask,
    ScreenResult,
    ScreenTask,
    lost_failure,
    run_final_task,
    run_screen_task,
)
from crowdperf.mlperf.runs import HarnessContext
from crowdperf.settings import load_settings
from crowdperf.system.devices import DeviceKind, DeviceSelection

CPU_RESOURCE = "crowdperf_cpu"
CANCEL_GRACE_S = 10.0  # past the deadline, a task that has not stopped itself is cancelled


def import_ray() -> Any:
    try:
        import ray
    except ImportError as exc:
        raise UsageError(
            "--ray-address needs Ray, which is not installed", hint="pip install 'crowdperf[ray]'"
        ) from exc
    return ray


def resources_of(point: Point) -> dict[str, Any]:
    """The Ray resources one point's task declares (see the module docstring)."""
    devices = DeviceSelection.parse(point.value("devices"))
    if devices.kind is DeviceKind.CPU:
        threads = point.value("threads") if "threads" in dict(point.values) else "default"
        cpus = int(threads) if threads.isdigit() else 1
        return {"num_cpus": cpus, "resources": {CPU_RESOURCE: 1}}
    return {"num_cpus": 1, "num_gpus": len(devices.indices or (0,))}


def _screen_remote(task: ScreenTask) -> tuple[list[ScreenResult], bool]:
    """On a worker: the group's results, and False when the deadline stopped it."""
    results: list[ScreenResult] = []
    try:
        run_screen_task(task, HarnessContext(load_settings()), on_result=results.append)
    except DeadlinePassed:
        return results, False
    return results, True


def _final_remote(task: FinalTask) -> FinalResult | None:
    """On a worker: the point's runs in this node's cache; None when the deadline stopped it."""
    driver_dir = hashlib.sha256(str(task.work_dir.parent).encode()).hexdigest()[:12]
    node_dir = load_settings().cache_dir / "explore" / driver_dir / task.work_dir.name
    try:
        result = run_final_task(replace(task, work_dir=node_dir, pack=True))
    except DeadlinePassed:
        return None
    host = socket.gethostname()
    if result.failure is not None and result.failure.log:  # on this node: the driver names where
        result = replace(result, failure=replace(result.failure, log=f"{host}:{result.failure.log}"))
    return replace(result, run_dir=f"{host}:{result.run_dir}")


class RayExecutor:
    name = "ray"

    def __init__(self, address: str, space: Space) -> None:
        self.ray = import_ray()
        self.ray.init(address=address, ignore_reinit_error=True, log_to_driver=False)
        resources = self.ray.cluster_resources()
        devices = next((a.values for a in space.axes if a.axis == "devices"), ("cpu",))
        cpu_points = any(DeviceSelection.parse(d).kind is DeviceKind.CPU for d in devices)
        if cpu_points and not resources.get(CPU_RESOURCE):
            raise UsageError(
                f"the Ray cluster at {address} has no {CPU_RESOURCE!r} resource for CPU points",
                hint="start each node that may run CPU points with "
                f"ray start ... --resources='{{\"{CPU_RESOURCE}\": 1}}' (docs/explore.md)",
            )
        self.slots = max(1, int(resources.get("GPU", 0)) + int(resources.get(CPU_RESOURCE, 0)))
        # no retries: a step that killed its worker fails its points (data, --retry-failed redoes
        # them) instead of taking the budget three more times
        self._screen = self.ray.remote(max_retries=0)(_screen_remote)
        self._final = self.ray.remote(max_retries=0)(_final_remote)

    def _run(
        self,
        tasks: Sequence[Any],
        point_of: Callable[[Any], Point],
        submit: Callable[[Any, dict[str, Any]], Any],
        hooks: Hooks[Any, Any],
        collect: Callable[[Any], bool],
        lost: Callable[[Any, BaseException], Any],
    ) -> bool:
        """Keep up to ``slots`` tasks in flight; ``collect(value)`` -> False: a deadline hit. A task
        Ray could not finish (its worker died, or it raised) is ``lost(task, exc)``: a failure of
        its points, journalled like any other, never the end of the exploration."""
        pending, complete = list(tasks), True
        in_flight: dict[Any, Any] = {}
        while pending or in_flight:
            while pending and len(in_flight) < self.slots:
                task = pending.pop(0)
                if hooks.admit(task):
                    settings = replace(task.settings, visible_gpus=True)
                    in_flight[submit(replace(task, settings=settings), resources_of(point_of(task)))] = task
                    hooks.on_start(task)
            if not in_flight:
                break
            cutoff = max(t.deadline or float("inf") for t in in_flight.values()) + CANCEL_GRACE_S
            done, _ = self.ray.wait(
                list(in_flight), num_returns=1, timeout=max(0.0, min(cutoff - time.time(), 60))
            )
            if not done and time.time() >= cutoff:
                for ref in in_flight:
                    self.ray.cancel(ref, force=True)
                return False
            for ref in done:
                task = in_flight.pop(ref)
                try:
                    value = self.ray.get(ref)
                except self.ray.exceptions.RayError as exc:  # the worker died, or the task raised
                    value = lost(task, exc)
                complete = collect(value) and complete
        return complete

    def screen(self, tasks: Sequence[ScreenTask], hooks: Hooks[ScreenTask, ScreenResult]) -> bool:
        def collect(value: tuple[list[ScreenResult], bool]) -> bool:
            results, finished = value
            for r in results:
                hooks.on_result(r)
            return finished

        def submit(task: ScreenTask, res: dict[str, Any]) -> Any:
            return self._screen.options(**res).remote(task)

        def lost(task: ScreenTask, exc: BaseException) -> tuple[list[ScreenResult], bool]:
            return [ScreenResult(p.key, None, lost_failure(p, exc)) for p in task.points], True

        return self._run(tasks, lambda t: t.points[0], submit, hooks, collect, lost)

    def final(self, tasks: Sequence[FinalTask], hooks: Hooks[FinalTask, FinalResult]) -> bool:
        def collect(value: FinalResult | None) -> bool:
            if value is None:
                return False
            hooks.on_result(value)
            return True

        def submit(task: FinalTask, res: dict[str, Any]) -> Any:
            return self._final.options(**res).remote(task)

        def lost(task: FinalTask, exc: BaseException) -> FinalResult:
            return FinalResult(task.point.key, None, failure=lost_failure(task.point, exc))

        return self._run(tasks, lambda t: t.point, submit, hooks, collect, lost)

    def close(self) -> None:
        self.ray.shutdown()
