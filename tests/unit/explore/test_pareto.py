"""Promotion: epsilon-dominance rules a point out only when another is better beyond the noise in
one objective and worse beyond it in none; unknown objectives play no part."""

from __future__ import annotations

from crowdperf.explore.journal import Measured
from crowdperf.explore.pareto import (
    Objectives,
    Tolerances,
    decide,
    dominates,
    final_order,
    front,
    objectives_of,
)
from crowdperf.hub.prices import load_price_table

TOL = Tolerances(performance=0.10, accuracy=0.5, energy=0.10, cost=0.10)


def _o(perf: float, acc: float | None = 90.0, energy: float | None = None) -> Objectives:
    return Objectives(perf, True, acc, energy)


def test_dominance_needs_a_clear_win_and_no_clear_loss() -> None:
    assert dominates(_o(120), _o(100), TOL)  # 20 % faster, same accuracy
    assert not dominates(_o(105), _o(100), TOL)  # within the noise: both stay
    assert not dominates(_o(200, 85.0), _o(100, 90.0), TOL)  # faster but clearly less accurate
    assert dominates(_o(200, 89.8), _o(100, 90.0), TOL)  # 0.2 F1 less is within the tolerance
    assert not dominates(_o(200, energy=2.0), _o(100, energy=1.0), TOL)  # uses twice the energy
    assert dominates(_o(200, energy=None), _o(100, energy=1.0), TOL)  # energy unknown on one side
    latency = Objectives(10.0, False, 90.0)
    assert dominates(latency, Objectives(12.0, False, 90.0), TOL)  # lower latency wins


def test_decide_promotes_the_non_dominated_and_says_who_rules_the_rest_out() -> None:
    points = {
        "ort b1": _o(100), "ort b8": _o(300), "pt b8": _o(280),
        "pt bf16": _o(500, 80.0), "slow": _o(50, 80.0),
    }  # fmt: skip
    verdicts = decide(points, TOL)
    promoted = {k for k, v in verdicts.items() if v.promoted}
    assert promoted == {"ort b8", "pt b8", "pt bf16"}  # pt b8 is within 10 % of ort b8
    assert verdicts["ort b1"].by in {"ort b8", "pt b8"} and verdicts["slow"].by == "pt bf16"
    assert final_order(points, verdicts) == ["pt bf16", "ort b8", "pt b8"]  # layer 1, by performance


def test_front_is_plain_dominance() -> None:
    assert front({"a": _o(100, 90.0), "b": _o(150, 85.0), "c": _o(90, 85.0)}) == ["a", "b"]


def test_cost_from_the_price_table_for_accelerators_only() -> None:
    prices = load_price_table()
    gpu = Measured("final", 1000.0, "samples/s", accelerator="NVIDIA H200", accelerator_count=1)
    cpu = Measured("final", 1000.0, "samples/s")
    cost = objectives_of(gpu, "Offline", prices).cost
    assert cost is not None and cost > 0
    assert objectives_of(cpu, "Offline", prices).cost is None
    latency = Measured("final", 10.0, "ms", accelerator="NVIDIA H200", accelerator_count=1)
    assert (
        objectives_of(latency, "SingleStream", prices).cost
        == objectives_of(
            Measured("final", 100.0, "samples/s", accelerator="NVIDIA H200", accelerator_count=1),
            "Offline",
            prices,
        ).cost
    )


def test_energy_of_different_meters_is_never_compared() -> None:
    """A CPU package's joules (rapl) and a GPU board's (nvml) measure different things, as the hub
    says: neither rules the other out by energy; the same meter's figures do."""
    cpu = Objectives(100.0, True, 90.0, energy=0.5, meter="rapl")
    gpu = Objectives(100.0, True, 90.0, energy=0.05, meter="nvml")
    assert not dominates(gpu, cpu, TOL) and not dominates(cpu, gpu, TOL)
    assert front({"cpu": cpu, "gpu": gpu}) == ["cpu", "gpu"]
    assert dominates(Objectives(100.0, True, 90.0, energy=0.05, meter="rapl"), cpu, TOL)
    measured = Measured("screen", 100.0, "samples/s", joules_per_sample=0.5, power_meter="rapl")
    assert objectives_of(measured, "Offline", load_price_table()).meter == "rapl"
    unpowered = Measured("screen", 100.0, "samples/s", power_note="no meter applies")
    assert objectives_of(unpowered, "Offline", load_price_table()).meter is None
