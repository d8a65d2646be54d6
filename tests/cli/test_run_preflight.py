"""The GPU path tells the truth first (issue 14, item 7): every cheap precondition of a run is
checked in the parent before any child starts or any byte is fetched, and ``--download`` means
what it says: without it, a file the cache lacks is an error naming the flag."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from crowdperf.backends.registry import get_backend
from crowdperf.errors import DeviceError, DownloadError, MissingInputError, ResultsError, UsageError
from crowdperf.precision import Precision
from crowdperf.settings import Settings
from crowdperf.system.devices import DeviceKind
from crowdperf.system.inventory import host_inventory
from crowdperf.workloads.bert.assets import OFFICIAL_ASSETS, asset_cache_path
from crowdperf.workloads.bert.preflight import require_space

NO_GPU = not host_inventory().gpus


def _run(tmp_path: Path, *args: str) -> tuple[int, str]:
    cmd = [sys.executable, "-m", "crowdperf", "run", "--results-dir", str(tmp_path / "results"), *args]
    proc = subprocess.run(cmd, capture_output=True, text=True, timeout=120)
    said = " ".join(proc.stderr.split())
    assert "Traceback" not in said
    return proc.returncode, said


def _nothing_fetched_or_run(tmp_path: Path, cache: Path) -> None:
    assert not list(cache.rglob("*.part")) and not (cache / "models").exists()
    assert not list(tmp_path.rglob("run_1"))


@pytest.mark.parametrize(
    ("args", "exit_code", "says"),
    [
        (["--model", "bert-99", "--device", "cuda", "--download"], DeviceError.exit_code, "no NVIDIA GPU"),
        (["--model", "bert-99", "--precision", "bf16"], UsageError.exit_code, "onnxruntime runs the fp32"),
        (["--model", "bert-99", "--backend", "pytorch", "--precision", "fp16"], UsageError.exit_code,
         "does not run fp16 on cpu"),
        (["--model", "bert-99", "--backend", "pytorch", "--precision", "int8"], UsageError.exit_code,
         "does not run int8 on cpu"),
        (["--model", "bert-99"], MissingInputError.exit_code,
         "not in the cache: dev-v1.1.json (SQuAD v1.1 dev set (10,570 questions)); vocab.txt"),
        (["--model", "bert-99", "--model-path", "/no/such/model.onnx"], MissingInputError.exit_code,
         "--model-path /no/such/model.onnx: no such file"),
        (["--model", "tiny", "--dataset-path", "/no/dev.json", "--vocab-path", "/no/vocab.txt"],
         MissingInputError.exit_code, "--dataset-path /no/dev.json: no such file"),
        (["--model", "tiny", "--dataset-path", "/no/dev.json"], UsageError.exit_code,
         "needs both --dataset-path and --vocab-path"),
    ],
)  # fmt: skip
def test_a_run_fails_first_on_its_true_reason_and_fetches_nothing(
    args: list[str], exit_code: int, says: str, tmp_path: Path, _isolated_cache: Path
) -> None:
    if "cuda" in args and not NO_GPU:
        pytest.skip("this machine has a GPU")
    code, said = _run(tmp_path, *args)
    assert code == exit_code and says in said, said
    _nothing_fetched_or_run(tmp_path, _isolated_cache)


def test_without_download_the_fix_names_the_flag_and_the_size(tmp_path: Path) -> None:
    code, said = _run(tmp_path, "--model", "bert-99", "--scenario", "Offline", "--mode", "accuracy")
    assert code == MissingInputError.exit_code
    assert "pass --download to fetch them (about 1,346 MB from raw.githubusercontent.com, zenodo.org)" in said


def test_a_results_directory_that_cannot_be_written_fails_before_anything(tmp_path: Path) -> None:
    (tmp_path / "file").write_text("x")
    cmd = [sys.executable, "-m", "crowdperf", "run", "--results-dir", str(tmp_path / "file" / "results")]
    proc = subprocess.run(cmd, capture_output=True, text=True, timeout=120)
    assert proc.returncode == ResultsError.exit_code
    assert "is not a writable directory" in " ".join(proc.stderr.split())


@pytest.mark.skipif(not NO_GPU, reason="this machine has a GPU")
@pytest.mark.parametrize("backend", ["onnxruntime", "pytorch"])
def test_a_backend_that_cannot_use_cuda_says_so_before_loading_anything(backend: str) -> None:
    # onnxruntime without its CUDA provider, a CPU build of torch: what a GPU host with the wrong
    # wheel meets, before 1.3 GB are fetched.
    with pytest.raises(DeviceError):
        get_backend(backend).preflight(DeviceKind.CUDA, Precision.FP32)
    get_backend(backend).preflight(DeviceKind.CPU, Precision.FP32)


def test_a_download_that_cannot_fit_is_refused_before_it_starts(tmp_path: Path) -> None:
    settings = Settings(cache_dir=tmp_path / "cache", hub_db=str(tmp_path / "h.sqlite"))
    model = OFFICIAL_ASSETS["model.onnx"]
    require_space([model], settings)  # 1.3 GB fits here
    huge = type(model)(**{**model.__dict__, "approx_mb": 2**40})
    with pytest.raises(DownloadError, match=r"needs about .* MB in .*; .* MB are free") as info:
        require_space([huge], settings)
    assert "CROWDPERF_CACHE" in (info.value.hint or "")
    assert not asset_cache_path(model, settings).parent.exists()
