"""backends/triton_pdl.py: programmatic dependent launch only where it exists (a Hopper+ GPU),
never for CPU tensors (Triton's interpreter knows no such launch option), and off on request."""

from __future__ import annotations

import pytest

torch = pytest.importorskip("torch")
pytest.importorskip("triton")


def test_cpu_tensors_never_get_pdl_and_no_launch_option() -> None:
    from crowdperf.backends.triton_pdl import launch_options, pdl_available

    assert pdl_available(torch.zeros(4)) is False
    assert launch_options(False) == {}
    assert launch_options(True) == {"launch_pdl": True}


@pytest.mark.gpu
@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA GPU")
def test_gpus_get_pdl_from_hopper_on_unless_turned_off() -> None:
    from crowdperf.backends import triton_pdl

    t = torch.zeros(4, device="cuda")
    hopper = torch.cuda.get_device_capability() >= (9, 0)
    assert triton_pdl.pdl_available(t) is hopper
    triton_pdl.set_enabled(False)
    try:
        assert triton_pdl.pdl_available(t) is False
    finally:
        triton_pdl.set_enabled(True)
