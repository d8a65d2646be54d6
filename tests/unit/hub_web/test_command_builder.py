"""The command builder's two lines, exactly."""

from __future__ import annotations

import pytest

from crowdperf.errors import UsageError
from crowdperf.hub.web.command_builder import RunChoice, build_commands


def test_default_choice() -> None:
    built = build_commands(RunChoice())
    assert built.run == (
        "crowdperf run --model bert-99 --backend onnxruntime --device cpu --precision fp32 "
        "--scenario Offline --mode performance --execution-mode test"
    )
    assert built.cm == (
        "crowdperf cm run script --tags=generate-run-cmds,run-mlperf,inference,_performance-only "
        "--model=bert-99 --implementation=reference --backend=onnxruntime --device=cpu --precision=fp32 "
        "--scenario=Offline --execution-mode=test --category=edge --division=open"
    )


def test_all_scenarios_and_submission_mode_use_cm_variations() -> None:
    built = build_commands(RunChoice(device="cuda", scenario="all", mode="submission", division="closed"))
    assert "--scenario all" in built.run and "--device cuda" in built.run
    assert "--tags=generate-run-cmds,run-mlperf,inference,_submission,_all-scenarios" in built.cm
    assert "--scenario=" not in built.cm and "--division=closed" in built.cm


@pytest.mark.parametrize("field,value", [("device", "tpu"), ("scenario", "offline; rm -rf /"), ("mode", "")])
def test_values_outside_the_lists_are_refused(field: str, value: str) -> None:
    with pytest.raises(UsageError, match=field):
        RunChoice(**{field: value})
