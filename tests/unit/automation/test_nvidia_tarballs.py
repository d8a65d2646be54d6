"""cuDNN/TensorRT tarball installs, with archives generated here in NVIDIA's layouts."""

from __future__ import annotations

import io
import tarfile
from pathlib import Path

import pytest

from crowdperf.automation.cache_ops import show_entries
from crowdperf.automation.registry import load_registry
from crowdperf.automation.resolve import GetRequest, get_artifact
from crowdperf.automation.versions import VersionConstraint
from crowdperf.errors import MissingInputError, RecipeError
from crowdperf.settings import load_settings

CUDNN_HEADER = "#define CUDNN_MAJOR 9\n#define CUDNN_MINOR 1\n#define CUDNN_PATCHLEVEL 0\n"
# TensorRT 10 spells its version through a second macro; CM's parser failed on it (inference#1841).
TRT10_HEADER = (
    "#define TRT_MAJOR_ENTERPRISE 10\n#define TRT_MINOR_ENTERPRISE 1\n#define TRT_PATCH_ENTERPRISE 0\n"
    "#define TRT_BUILD_ENTERPRISE 27\n"
    "#define NV_TENSORRT_MAJOR TRT_MAJOR_ENTERPRISE //!< TensorRT major version.\n"
    "#define NV_TENSORRT_MINOR TRT_MINOR_ENTERPRISE\n#define NV_TENSORRT_PATCH TRT_PATCH_ENTERPRISE\n"
    "#define NV_TENSORRT_BUILD TRT_BUILD_ENTERPRISE\n"
)


def make_tarball(path: Path, files: dict[str, str]) -> Path:
    with tarfile.open(path, "w:gz") as tar:
        for name, text in files.items():
            data = text.encode()
            info = tarfile.TarInfo(name)
            info.size = len(data)
            tar.addfile(info, io.BytesIO(data))
    return path


def _get(name: str, tar: Path, **kwargs):
    return get_artifact(
        load_registry(), GetRequest(name=name, options={"tar_file": str(tar)}, **kwargs), load_settings()
    )


def test_cudnn_tarball_installs_into_the_cache(tmp_path: Path) -> None:
    top = "cudnn-linux-x86_64-9.1.0.70_cuda12-archive"
    tar = make_tarball(
        tmp_path / f"{top}.tar.gz",
        {f"{top}/include/cudnn_version.h": CUDNN_HEADER, f"{top}/lib/libcudnn.so.9": "elf"},
    )
    result = _get("cudnn", tar)
    assert (result.action, result.artifact.version, result.artifact.source) == (
        "installed",
        "9.1.0",
        "cache-install",
    )
    include = Path(result.artifact.paths["include"])
    assert (include / "cudnn_version.h").is_file() and str(include).startswith(str(load_settings().cache_dir))
    assert _get("cudnn", tar).action == "cached"


def test_tensorrt10_header_with_macro_indirection_gives_the_version(tmp_path: Path) -> None:
    top = "TensorRT-10.1.0.27"
    tar = make_tarball(
        tmp_path / "TensorRT-10.1.0.27.Linux.x86_64-gnu.cuda-12.4.tar.gz",
        {f"{top}/include/NvInferVersion.h": TRT10_HEADER, f"{top}/lib/libnvinfer.so.10": "elf"},
    )
    result = get_artifact(
        load_registry(), GetRequest(tags="get,tensorrt,_dev", options={"tar_file": str(tar)}), load_settings()
    )
    assert result.artifact.version == "10.1.0.27"


@pytest.mark.parametrize(
    ("files", "message"),
    [
        ({"TensorRT-10/lib/libnvinfer.so.10": "elf"}, "no include/NvInferVersion.h"),
        (
            {"TensorRT-10/include/NvInferVersion.h": "// nothing\n", "TensorRT-10/lib/libnvinfer.so.10": "x"},
            "holds no version numbers",
        ),
        ({"TensorRT-10/include/NvInferVersion.h": TRT10_HEADER}, "no libnvinfer.so"),
    ],
)
def test_bad_tarballs_are_clear_errors_and_leave_nothing(tmp_path: Path, files: dict, message: str) -> None:
    tar = make_tarball(tmp_path / "trt.tar.gz", files)
    with pytest.raises(RecipeError, match=message):
        _get("tensorrt", tar)
    settings = load_settings()
    assert show_entries(settings) == []
    installs = settings.cache_dir / "installs"
    assert not installs.exists() or list(installs.iterdir()) == []


def test_not_a_tarball_and_missing_file(tmp_path: Path) -> None:
    junk = tmp_path / "cudnn.tar.xz"
    junk.write_text("not a tar")
    with pytest.raises(RecipeError, match="not a readable tar archive"):
        _get("cudnn", junk)
    with pytest.raises(MissingInputError):
        _get("cudnn", tmp_path / "absent.tar.xz")


def test_version_bounds_apply_to_tarball_installs(tmp_path: Path) -> None:
    tar = make_tarball(
        tmp_path / "c.tgz", {"c/include/cudnn_version.h": CUDNN_HEADER, "c/lib/libcudnn.so.9": ""}
    )
    with pytest.raises(RecipeError, match=r"holds cudnn 9.1.0, not >=9.2"):
        _get("cudnn", tar, constraint=VersionConstraint(minimum="9.2"))
    assert show_entries(load_settings()) == []
    assert list((load_settings().cache_dir / "installs").iterdir()) == []
