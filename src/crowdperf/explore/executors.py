"""Where the steps run: here, one at a time (``LocalExecutor``), or as Ray tasks across a cluster
(``explore/ray_executor.py``, imported only for ``--ray-address``).

An executor runs a list of tasks of one rung with the driver's ``Hooks``: before starting each
it asks ``admit(task)`` (the budget check), tells ``on_start(task)`` (journalled as running), and
hands every result to ``on_result`` as soon as it exists. It returns when every admitted task
is done, or when the deadline passes (the running step is stopped, ``DeadlinePassed``); tasks it
did not start stay unstarted.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Generic, Protocol, TypeVar

from crowdperf.explore.steps import (
    DeadlinePassed,
    FinalResult,
    FinalTask,
    ScreenResult,
    ScreenTask,
    run_final_task,
    run_screen_task,
)
from crowdperf.mlperf.runs import HarnessContext
from crowdperf.settings import load_settings

T = TypeVar("T")
R = TypeVar("R")


@dataclass(frozen=True)
class Hooks(Generic[T, R]):
    """What the driver says of each task of a rung (tasks ``T``, results ``R``)."""

    admit: Callable[[T], bool]  # run it now? (the budget check)
    on_start: Callable[[T], None]  # it started (journalled as running)
    on_result: Callable[[R], None]  # a result, as soon as it exists


class Executor(Protocol):
    name: str

    def screen(self, tasks: Sequence[ScreenTask], hooks: Hooks[ScreenTask, ScreenResult]) -> bool:
        """Run the tasks; False when the deadline stopped it."""
        ...

    def final(self, tasks: Sequence[FinalTask], hooks: Hooks[FinalTask, FinalResult]) -> bool: ...

    def close(self) -> None: ...


class LocalExecutor:
    """Every step in this process, one after another (each LoadGen test still gets its own child)."""

    name = "local"

    def __init__(self, argv: list[str] | None = None) -> None:
        self.ctx = HarnessContext(load_settings(), argv=argv)

    def screen(self, tasks: Sequence[ScreenTask], hooks: Hooks[ScreenTask, ScreenResult]) -> bool:
        return _each(tasks, hooks, lambda t: run_screen_task(t, self.ctx, on_result=hooks.on_result))

    def final(self, tasks: Sequence[FinalTask], hooks: Hooks[FinalTask, FinalResult]) -> bool:
        return _each(tasks, hooks, lambda t: hooks.on_result(run_final_task(t)))

    def close(self) -> None:
        pass


def _each(tasks: Sequence[T], hooks: Hooks[T, R], run: Callable[[T], object]) -> bool:
    """Run the admitted tasks one after another; False when the budget's deadline stopped one."""
    for task in tasks:
        if not hooks.admit(task):
            continue
        hooks.on_start(task)
        try:
            run(task)
        except DeadlinePassed:
            return False
    return True
