"""Shared fixtures. Every test gets its own CROWDPERF_CACHE so nothing touches the user's cache,
and every child process it starts can import the suite's helper modules (synthetic_workloads.py,
steady_meter.py) by the ``module:attr`` names the parent registered."""

from __future__ import annotations

import importlib.util
import os
from pathlib import Path

import pytest

from crowdperf.system.inventory import HostInventory
from crowdperf.system.nvml import NvmlDevice

# Without a GPU, Triton kernels run in Triton's interpreter (numpy on the CPU): their numerics are
# tested here and their speed on a GPU. ``triton.jit`` reads this when a kernel is defined, so it
# is set before any test module imports one.
if not Path("/dev/nvidia0").exists():
    os.environ.setdefault("TRITON_INTERPRET", "1")
    if os.environ["TRITON_INTERPRET"] == "1" and importlib.util.find_spec("triton") is not None:
        from triton_interpreter import fix_interpreter

        fix_interpreter()  # where it disagrees with a GPU (tests/triton_interpreter.py)

# Rich's consoles (crowdperf.cli.console) fix their width from COLUMNS when they are built, so an
# inherited COLUMNS would decide how every table wraps and a test that passes its own COLUMNS to a
# command would no longer get it: a user's shell may export one, and GNU readline (imported with
# pdb by pytest) puts COLUMNS=80 and LINES=24 into the environment every child process inherits,
# pytest-xdist's workers included. Tests run as if no terminal were attached.
for _terminal_var in ("COLUMNS", "LINES"):
    os.environ.pop(_terminal_var, None)

TESTS = Path(__file__).resolve().parent
REPO_ROOT = TESTS.parent
# ../shared from the main checkout; ../../shared from a worktree under /work/wt/<branch>; .data/
# in the checkout on the GPU machine (the device tool carries it there).
_SQUAD_FOLDERS = (
    REPO_ROOT.parent / "shared" / "data" / "squad",
    REPO_ROOT.parent.parent / "shared" / "data" / "squad",
    REPO_ROOT / ".data",
)
SHARED_SQUAD = next((f for f in _SQUAD_FOLDERS if (f / "dev-v1.1.json").is_file()), _SQUAD_FOLDERS[0])


def pytest_configure(config: pytest.Config) -> None:
    """Child processes import the suite's helper modules as the parent does (pytest puts this
    folder on the parent's sys.path; a child gets it through PYTHONPATH), for the whole session,
    module-scoped fixtures included."""
    inherited = [p for p in os.environ.get("PYTHONPATH", "").split(os.pathsep) if p and p != str(TESTS)]
    os.environ["PYTHONPATH"] = os.pathsep.join([str(TESTS), *inherited])


@pytest.fixture(autouse=True)
def _isolated_cache(tmp_path_factory: pytest.TempPathFactory, monkeypatch: pytest.MonkeyPatch) -> Path:
    cache = tmp_path_factory.mktemp("crowdperf-cache")
    monkeypatch.setenv("CROWDPERF_CACHE", str(cache))
    monkeypatch.delenv("CROWDPERF_HUB_DB", raising=False)
    monkeypatch.delenv("CROWDPERF_POWERCAP_DIR", raising=False)
    return cache


@pytest.fixture
def real_squad() -> tuple[Path, Path]:
    """The real SQuAD v1.1 dev set and vocab (../shared/data/squad or .data/); skip when absent."""
    dev, vocab = SHARED_SQUAD / "dev-v1.1.json", SHARED_SQUAD / "vocab.txt"
    if not (dev.is_file() and vocab.is_file()):
        pytest.skip("real SQuAD files not present at ../shared/data/squad")
    return dev, vocab


def _h200(index: int) -> NvmlDevice:
    # What NVML reports for an H200 SXM (driver 580, the lead's nvidia-h200-x2 machine)
    return NvmlDevice(
        index=index,
        name="NVIDIA H200",
        uuid=f"GPU-7f3c1a52-0000-4000-8000-00000000000{index}",
        pci_bus_id=f"00000000:{0x1B + index * 0x20:02X}:00.0",
        compute_capability="9.0",
        memory_total_mib=143771,
        sm_count=132,
        max_sm_clock_mhz=1980,
        max_mem_clock_mhz=3201,
        pcie_generation=5,
        pcie_width=16,
        nvlinks_active=18,
    )


TWO_H200_HOST = HostInventory(
    cpu_model="Intel(R) Xeon(R) Platinum 8480+",
    cpu_sockets=2,
    cpu_physical_cores=112,
    cpu_logical_cores=224,
    cpu_max_frequency_mhz=3800,
    cpu_caches="L1d 48 KiB, L1i 32 KiB, L2 2048 KiB, L3 107520 KiB",
    memory_mib=2_063_937,
    os_name="Ubuntu 24.04.1 LTS",
    kernel="6.8.0-51-generic",
    python_version="3.11.7",
    gpus=(_h200(0), _h200(1)),
    gpu_driver_version="580.159.03",
    gpu_driver_cuda_version="13.0",
)


@pytest.fixture
def two_h200_host(monkeypatch: pytest.MonkeyPatch) -> HostInventory:
    """A real inventory of a 2 x H200 host (no NVML needed), with both GPUs visible to CUDA."""
    monkeypatch.delenv("CUDA_VISIBLE_DEVICES", raising=False)
    return TWO_H200_HOST
