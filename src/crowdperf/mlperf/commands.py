"""The ``crowdperf run`` command lines the harness suggests as a fix (after an INVALID run, before a
valid run whose target no longer holds): the same system, model, backend, device and precision."""

from __future__ import annotations

from crowdperf.mlperf.spec import RunSpec


def _base(spec: RunSpec) -> str:
    return (
        f"crowdperf run --model {spec.model} --backend {spec.backend} --device {spec.devices} "
        f"--precision {spec.precision} --scenario {spec.scenario}"
    )


def find_performance_command(spec: RunSpec) -> str:
    """The command that measures and stores ``spec``'s target again."""
    return f"{_base(spec)} --mode find-performance --execution-mode {spec.execution_mode}"


def rerun_command(spec: RunSpec, flag: str, value: float) -> str:
    """``spec``'s own run again, with ``flag value`` (a target override)."""
    return (
        f"{_base(spec)} --mode {spec.mode} --execution-mode {spec.execution_mode} "
        f"--results-dir {spec.results_dir} {flag} {value:.4g}"
    )
