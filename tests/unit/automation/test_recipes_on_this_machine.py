"""Built-in recipes against the real machine: each detects, or fails clearly where the thing is absent."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from crowdperf.automation.cache_ops import show_entries
from crowdperf.automation.recipes.sys_utils import TOOLS, install_hint, os_family
from crowdperf.automation.registry import load_registry
from crowdperf.automation.resolve import GetRequest, get_artifact
from crowdperf.automation.versions import VersionConstraint
from crowdperf.errors import BackendError, ChecksumError, DeviceError, RecipeError
from crowdperf.settings import load_settings
from crowdperf.system.nvml import driver_info


def _get(name: str, *variations: str, **kwargs):
    return get_artifact(
        load_registry(), GetRequest(name=name, variations=variations, **kwargs), load_settings()
    )


def _has_driver() -> bool:
    try:
        driver_info()
    except DeviceError:
        return False
    return True


@pytest.mark.skipif(_has_driver(), reason="this test is for machines without an NVIDIA driver")
def test_cuda_devices_without_a_gpu_is_a_device_error_and_caches_nothing() -> None:
    with pytest.raises(DeviceError, match="no NVIDIA driver"):
        _get("cuda-devices")
    assert show_entries(load_settings()) == []  # not even its optional dependency (cuda)


@pytest.mark.skipif(shutil.which("nvcc") is None, reason="no CUDA toolkit here")
def test_cuda_toolkit_is_detected_with_nvcc_version() -> None:
    result = _get("cuda")
    art = result.artifact
    assert art.variations == ("toolkit",) and art.version and art.version[0].isdigit()
    assert Path(art.paths["nvcc"]).exists() and (Path(art.paths["cuda_home"]) / "include").is_dir()
    with pytest.raises(RecipeError, match="no CUDA toolkit"):
        _get("cuda", constraint=VersionConstraint(exact="7"), force=True)


def test_sys_utils_finds_git_and_reports_os_hints(tmp_path: Path) -> None:
    art = _get("sys-utils").artifact
    assert "git" in art.paths and art.metadata["tools"]["git"]["version"]
    assert os_family({"ID": "ubuntu", "ID_LIKE": "debian"}) == "debian"
    assert os_family({"ID": "rocky", "ID_LIKE": "rhel centos fedora"}) == "rhel"
    assert os_family({"ID": "arch"}) == "unknown"
    git, cc = TOOLS[0], TOOLS[1]
    assert install_hint([git, cc], "debian") == "sudo apt-get install -y gcc git"
    assert install_hint([git, cc], "rhel") == "sudo dnf install -y gcc git"


def test_python_venv_lists_interpreters_when_none_matches() -> None:
    with pytest.raises(RecipeError) as info:
        _get("python-venv", options={"name": "nope"}, constraint=VersionConstraint(exact="3.1"))
    assert "no Python interpreter matches ==3.1; found:" in info.value.message and "3." in info.value.message


def test_python_venv_is_created_then_reused() -> None:
    first = _get("python-venv", options={"name": "t1", "without_pip": "true"})
    assert first.action == "installed" and Path(first.artifact.paths["python"]).exists()
    assert _get("python-venv", options={"name": "t1", "without_pip": "true"}).action == "cached"
    other = "3.0" if first.artifact.version.startswith("3.1") else "3.1"
    with pytest.raises(RecipeError, match="exists with Python"):  # never replaced silently
        _get(
            "python-venv", options={"name": "t1"}, constraint=VersionConstraint(minimum=other, maximum=other)
        )
    assert Path(first.artifact.paths["python"]).exists()


def test_loadgen_and_onnxruntime_cpu_are_detected() -> None:
    assert _get("loadgen").artifact.version
    ort = _get("onnxruntime").artifact
    assert "CPUExecutionProvider" in ort.metadata["providers"]


def test_onnxruntime_cuda_without_the_cuda_provider_is_a_device_error() -> None:
    import onnxruntime

    if "CUDAExecutionProvider" in onnxruntime.get_available_providers():
        pytest.skip("this onnxruntime has the CUDA provider")
    with pytest.raises(DeviceError, match="no CUDA execution provider"):
        _get("onnxruntime", "cuda")


def test_torch_cuda_on_a_cpu_machine_is_a_device_error() -> None:
    try:
        import torch
    except ImportError:
        pytest.skip("torch not installed")
    if torch.cuda.is_available():
        pytest.skip("torch sees a GPU")
    with pytest.raises(DeviceError, match="cannot use CUDA"):
        _get("torch", "cuda")
    assert _get("torch").artifact.metadata["cuda_available"] is False


def test_missing_framework_is_a_backend_error(monkeypatch: pytest.MonkeyPatch) -> None:
    import sys

    monkeypatch.setitem(sys.modules, "mlperf_loadgen", None)  # import now fails
    with pytest.raises(BackendError, match="mlperf_loadgen cannot be imported"):
        _get("loadgen")


def test_bert_model_files_are_checked_by_md5(tmp_path: Path) -> None:
    (tmp_path / "model.onnx").write_bytes(b"not the official model")
    with pytest.raises(ChecksumError, match="expected 819b25b19cd8e59080c10892689750ca"):
        _get("ml-model-bert-large", options={"path": str(tmp_path)})
    with pytest.raises(RecipeError, match=r"model\.pytorch not found"):
        _get("ml-model-bert-large", "pytorch", options={"path": str(tmp_path)})


def test_tiny_model_is_found_in_the_cache_models_dir() -> None:
    tiny = load_settings().models_dir / "tiny"
    tiny.mkdir(parents=True)
    (tiny / "tiny-bert.onnx").write_bytes(b"onnx bytes")
    art = _get("ml-model-bert-large", "tiny").artifact
    assert art.version == "tiny" and Path(art.paths["model"]).name == "tiny-bert.onnx"
    assert art.metadata["official"] is False


def test_squad_dev_set_is_detected_and_checked(real_squad: tuple[Path, Path]) -> None:
    dev, _vocab = real_squad
    art = _get("dataset-squad", options={"path": str(dev.parent)}).artifact
    assert art.version == "1.1" and art.metadata["dev_md5"] == "3e85deb501d4e538b6bc56f786231552"
