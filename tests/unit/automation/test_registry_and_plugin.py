from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from crowdperf.automation.registry import TagQuery, load_registry
from crowdperf.automation.resolve import GetRequest, get_artifact
from crowdperf.errors import UsageError
from crowdperf.settings import load_settings


def test_builtin_recipes_are_found_by_name_and_by_tags() -> None:
    registry = load_registry()
    assert {
        "cuda",
        "cuda-devices",
        "cudnn",
        "tensorrt",
        "python-venv",
        "sys-utils",
        "loadgen",
        "onnxruntime",
        "torch",
        "ml-model-bert-large",
        "dataset-squad",
        "cuda-stack",
    } <= set(registry.names())
    assert registry.by_tags(TagQuery.parse("get,cuda,_toolkit")).name == "cuda"
    assert registry.by_tags(TagQuery.parse("get cuda-devices")).name == "cuda-devices"
    assert registry.by_tags(TagQuery.parse("get,sys-utils-cm")).name == "sys-utils"
    assert registry.by_tags(TagQuery.parse("install,python-venv")).name == "python-venv"
    assert registry.by_tags(TagQuery.parse("get,ml-model,bert-large,_onnx")).name == "ml-model-bert-large"
    assert TagQuery.parse("get,cuda,_lib-only").variations == ("lib-only",)


def test_unknown_tags_name_the_closest_recipes() -> None:
    with pytest.raises(UsageError) as info:
        load_registry().by_tags(TagQuery.parse("get,cudnnn"))
    assert "no recipe for 'cudnnn'" in str(info.value) and "cudnn" in (info.value.hint or "")


def test_exclusive_variations_and_defaults() -> None:
    cuda = load_registry().by_name("cuda")
    assert cuda.resolve_variations(()) == {"toolkit"}
    assert cuda.resolve_variations(("lib-only",)) == {"lib-only"}
    with pytest.raises(UsageError, match="exclude each other"):
        cuda.resolve_variations(("lib-only", "toolkit"))
    with pytest.raises(UsageError, match="no variation _gpu"):
        cuda.resolve_variations(("gpu",))


def test_a_plugin_recipe_registers_through_its_entry_point(recipe_plugin: Path, tmp_path: Path) -> None:
    registry = load_registry()
    assert "demo-tool" in registry.names()
    assert registry.sources["demo-tool"].startswith("plugin demo")
    marker = tmp_path / "demo"
    marker.write_text("2.5.1\n")
    result = get_artifact(
        registry, GetRequest(tags="get,demo,_blue", options={"path": str(marker)}), load_settings()
    )
    assert (result.artifact.version, result.action, result.artifact.variations) == (
        "2.5.1",
        "detected",
        ("blue",),
    )


def test_a_plugin_recipe_works_from_the_command_line(recipe_plugin: Path, tmp_path: Path) -> None:
    marker = tmp_path / "demo"
    marker.write_text("1.0\n")
    cmd = [sys.executable, "-m", "crowdperf", "get", "demo-tool", "--path", str(marker), "--json"]
    first = subprocess.run(cmd, capture_output=True, text=True, check=True)
    second = subprocess.run(cmd, capture_output=True, text=True, check=True)
    assert json.loads(first.stdout)["action"] == "detected"
    assert json.loads(second.stdout)["from_cache"] is True
