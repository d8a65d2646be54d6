"""The command builder's two lines, exactly."""

from __future__ import annotations

import shlex
from itertools import cycle

import pytest

from crowdperf.automation.cm_translate import translate
from crowdperf.errors import UsageError
from crowdperf.hub.web.command_builder import RunChoice, allowed_values, build_commands
from crowdperf.mlperf.workload import register_workload, unregister_workload


def test_default_choice() -> None:
    built = build_commands(RunChoice())
    assert built.run == (
        "crowdperf run --model bert-99 --backend onnxruntime --device cpu --precision fp32 "
        "--scenario Offline --mode performance --execution-mode test --category edge --download"
    )
    assert built.cm == (
        "crowdperf cm run script --tags=generate-run-cmds,run-mlperf,inference,_performance-only "
        "--model=bert-99 --implementation=reference --backend=onnxruntime --device=cpu --precision=fp32 "
        "--scenario=Offline --execution-mode=test --category=edge --division=open"
    )


def test_all_scenarios_and_all_modes_use_cm_variations() -> None:
    built = build_commands(RunChoice(device="cuda", scenario="all", mode="all", division="closed"))
    assert "--scenario all" in built.run and "--device cuda" in built.run
    assert "--tags=generate-run-cmds,run-mlperf,inference,_all-modes,_all-scenarios" in built.cm
    assert "--scenario=" not in built.cm and "--division=closed" in built.cm


@pytest.mark.parametrize("field,value", [("device", "tpu"), ("scenario", "offline; rm -rf /"), ("mode", "")])
def test_values_outside_the_lists_are_refused(field: str, value: str) -> None:
    with pytest.raises(UsageError, match=field):
        RunChoice(**{field: value})


def test_models_and_backends_are_the_registries_read_now() -> None:
    assert {"tiny", "bert-large", "bert-99", "bert-99.9"} <= set(allowed_values()["model"])
    assert {"onnxruntime", "pytorch"} <= set(allowed_values()["backend"])
    register_workload("toy", "crowdperf.mlperf.synthetic_workload:default_workload")
    try:
        assert "toy" in allowed_values()["model"]
        assert "--model toy" in build_commands(RunChoice(model="toy")).run
    finally:
        unregister_workload("toy")
    with pytest.raises(UsageError) as info:
        RunChoice(model="toy")
    assert "bert-99" in (info.value.hint or "")


def _options(argv: list[str]) -> dict[str, str]:
    """``--name value`` pairs; a bare flag (``--download``) maps to ""."""
    out, i = {}, 0
    while i < len(argv):
        has_value = i + 1 < len(argv) and not argv[i + 1].startswith("--")
        out[argv[i]] = argv[i + 1] if has_value else ""
        i += 2 if has_value else 1
    return out


@pytest.mark.parametrize("mode", allowed_values()["mode"])
@pytest.mark.parametrize("precision", allowed_values()["precision"])
def test_the_cm_form_translates_back_to_the_same_run_command(mode: str, precision: str) -> None:
    # Every value the builder offers is one `crowdperf run` accepts, in both forms.
    for model, scenario in zip(allowed_values()["model"], cycle(allowed_values()["scenario"])):
        choice = RunChoice(
            model=model, mode=mode, precision=precision, scenario=scenario, category="datacenter"
        )
        built = build_commands(choice)
        run = shlex.split(built.run)[2:]
        native = translate(shlex.split(built.cm)[2:])
        assert native[0] == "run" and _options(native[1:]) == _options(run)
