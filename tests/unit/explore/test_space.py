"""The space: axes come from the registries and RunSpec, points expand in screening order, a
space file and the command line combine with the command line winning."""

from __future__ import annotations

from pathlib import Path

import pytest

from crowdperf.backends.registry import register_backend, unregister_backend
from crowdperf.errors import UsageError
from crowdperf.explore.space import (
    DEFAULT,
    AxisRole,
    _generic_axis,
    all_axes,
    build_space,
    split_devices,
)
from crowdperf.explore.space_file import load_space_file, parse_duration
from crowdperf.mlperf.rounds import Scenario
from crowdperf.mlperf.spec import Mode, RunSpec
from crowdperf.precision import Precision
from crowdperf.system.devices import DeviceKind, DeviceSelection


def test_defaults_come_from_the_registries_and_a_new_backend_appears_without_code() -> None:
    space = build_space("tiny", Scenario.OFFLINE, {})
    axes = {a.axis: a.values for a in space.axes}
    assert set(axes["backend"]) >= {"onnxruntime", "pytorch"}
    assert axes["precision"] == tuple(p.value for p in Precision)
    assert axes["devices"] == ("cpu",) and axes["batch_size"] == (DEFAULT,) and axes["threads"] == (DEFAULT,)
    register_backend("mybackend", "crowdperf.backends.onnxruntime_backend:OnnxRuntimeBackend")
    try:
        assert (
            "mybackend"
            in {a.axis: a.values for a in build_space("tiny", Scenario.OFFLINE, {}).axes}["backend"]
        )
        build_space("tiny", Scenario.OFFLINE, {"backend": ["mybackend"]})
    finally:
        unregister_backend("mybackend")


def test_values_are_checked_and_canonical() -> None:
    space = build_space(
        "tiny",
        Scenario.OFFLINE,
        {
            "backend": ["onnxruntime"],
            "devices": ["CUDA:0", "cpu"],
            "precision": ["FP32"],
            "batch_size": ["08", "1"],
        },
    )
    axes = {a.axis: a.values for a in space.axes}
    assert (
        axes["devices"] == ("cuda:0", "cpu")
        and axes["precision"] == ("fp32",)
        and axes["batch_size"] == ("8", "1")
    )
    with pytest.raises(UsageError, match="backend 'tensorflow' is not one of"):
        build_space("tiny", Scenario.OFFLINE, {"backend": ["tensorflow"]})
    with pytest.raises(UsageError, match="precision 'fp7'"):
        build_space("tiny", Scenario.OFFLINE, {"precision": ["fp7"]})
    with pytest.raises(UsageError, match="batch_size value 'big'"):
        build_space("tiny", Scenario.OFFLINE, {"batch_size": ["big"]})
    with pytest.raises(UsageError, match="--batch-size must be"):
        build_space("tiny", Scenario.OFFLINE, {"batch_size": ["0"]})
    with pytest.raises(UsageError, match="not an explorable setting"):
        build_space("tiny", Scenario.OFFLINE, {"results_dir": ["x"]})


def test_points_cover_the_product_groups_share_all_but_the_batch_and_stacks_alternate() -> None:
    given = {
        "backend": ["onnxruntime", "pytorch"],
        "precision": ["fp32", "bf16"],
        "batch_size": ["1", "8", "32"],
        "threads": ["1", "2"],
    }
    points = build_space("tiny", Scenario.OFFLINE, given).points()
    assert len(points) == 24 and len({p.key for p in points}) == 24
    # a group (one child) = the same everything but the batch size, consecutive
    assert [p.value("batch_size") for p in points[:3]] == ["1", "8", "32"]
    assert len({p.group_key for p in points[:3]}) == 1
    # the first four groups are four different stacks (a short budget still sees each)
    firsts = points[0:12:3]
    assert len({p.stack_key for p in firsts}) == 4
    spec = points[4].run_spec(RunSpec("tiny", Scenario.OFFLINE, Mode.PERFORMANCE))
    assert spec.batch_size == 8 and spec.threads in (1, 2) and isinstance(spec.precision, Precision)


def test_roles_and_labels() -> None:
    axes = all_axes()
    assert axes["backend"].role is AxisRole.STACK and axes["threads"].role is AxisRole.TUNING
    assert axes["batch_size"].role is AxisRole.BATCH
    given = {"backend": ["onnxruntime", "pytorch"], "precision": ["fp32"], "batch_size": ["1", "8"]}
    space = build_space("tiny", Scenario.OFFLINE, given)
    point = space.points()[1]
    assert space.label(point) == "onnxruntime batch_size=8"
    assert point.slug.startswith("onnxruntime-cpu-") and "/" not in point.slug
    assert point.run_options()[:2] == ["--backend", "onnxruntime"]


def test_any_other_plain_runspec_field_would_be_an_axis() -> None:
    """A field added to RunSpec later (say ``workers: int | None``) is explorable as it is."""
    axis = _generic_axis("workers", int | None)
    assert axis is not None and axis.run_option == "--workers" and axis.role is AxisRole.STACK
    assert axis.parse("3") == 3 and axis.parse(DEFAULT) is None
    assert _generic_axis("paths", dict[str, str]) is None


def test_devices_list_keeps_a_multi_gpu_device_whole() -> None:
    assert split_devices("cpu,cuda:0,1,cuda:2") == ["cpu", "cuda:0,1", "cuda:2"]
    assert DeviceSelection.parse("cuda:0,1") == DeviceSelection(DeviceKind.CUDA, (0, 1))


def test_durations() -> None:
    assert parse_duration("30m") == 1800 and parse_duration("1h30m") == 5400
    assert parse_duration("90s") == 90 and parse_duration("45") == 45
    for bad in ("", "soon", "0", "-5m", "31d"):
        with pytest.raises(UsageError):
            parse_duration(bad)


@pytest.mark.parametrize("suffix", [".yaml", ".toml"])
def test_space_file_yaml_and_toml(tmp_path: Path, suffix: str) -> None:
    path = tmp_path / f"space{suffix}"
    if suffix == ".yaml":
        path.write_text(
            "model: tiny\nbackends: [onnxruntime]\nbatch_sizes: [1, 8]\nbudget: 5m\nscreen_count: 16\n"
        )
    else:
        path.write_text(
            'model = "tiny"\nbackends = ["onnxruntime"]\nbatch_sizes = [1, 8]\n'
            'budget = "5m"\nscreen_count = 16\n'
        )
    sf = load_space_file(path)
    assert sf.model == "tiny" and sf.budget == "5m" and sf.screen_count == 16
    assert sf.axes == {"backend": ["onnxruntime"], "batch_size": ["1", "8"]}
    (tmp_path / "bad.yaml").write_text("colour: blue\n")
    with pytest.raises(UsageError, match="unknown key 'colour'"):
        load_space_file(tmp_path / "bad.yaml")
