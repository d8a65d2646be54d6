"""Which points can still be on the Pareto front, and which are on it now.

Four objectives, each known or not for a point:

    performance  samples/s (Offline, Server: higher is better) or ms (SingleStream,
                 MultiStream: lower is better)
    accuracy     the workload's own metric (higher is better)
    energy       J/sample, from the meters that apply to the devices (lower is better); compared
                 only between points of the same meter, as the hub compares power
                 (hub/power_meters.py): a CPU package's joules (rapl) and a GPU board's (nvml)
                 measure different things, so a cpu point and a cuda point never rule each
                 other out by energy
    cost         USD per million samples, from the hub's price table and the accelerators used
                 (lower is better; a CPU has no price, so CPU points have none)

Screening numbers are noisy (short probes on a machine that may be busy) and measured on an
accuracy subset, so promotion uses epsilon-dominance: ``a`` rules ``b`` out only when ``a`` is
better beyond the tolerance in at least one objective and worse beyond it in none. Within the
tolerance two values count as equal. An objective is compared only where both points have it (no
meter anywhere means energy plays no part). The current front (``front``) is plain dominance.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from crowdperf.explore.journal import Measured
from crowdperf.hub.prices import PriceTable, cost_per_million

SAMPLES_PER_QUERY = {"MultiStream": 8}  # MLPerf's MultiStream query: 8 samples; the others: 1


@dataclass(frozen=True)
class Tolerances:
    """How much better a point must be to rule another out (docs/explore.md)."""

    performance: float = 0.10  # relative: probes on a shared machine vary by several percent
    accuracy: float = 0.5  # absolute, in the metric's units (F1 points): a subset's noise
    energy: float = 0.10  # relative
    cost: float = 0.10  # relative


@dataclass(frozen=True)
class Objectives:
    performance: float
    higher_performance: bool
    accuracy: float | None = None
    energy: float | None = None
    cost: float | None = None
    meter: str | None = None  # whose joules ``energy`` is ("rapl", "nvml", ...)


def throughput(m: Measured, scenario: str) -> float:
    """Samples/s of a measurement (a latency scenario's from its per-query latency)."""
    if m.unit != "ms":
        return m.performance
    return SAMPLES_PER_QUERY.get(scenario, 1) * 1000.0 / m.performance if m.performance > 0 else 0.0


def objectives_of(m: Measured, scenario: str, prices: PriceTable) -> Objectives:
    price = prices.lookup(m.accelerator) if m.accelerator_count else None
    rate = throughput(m, scenario)
    cost = (
        cost_per_million(price.usd_per_accelerator_hour, m.accelerator_count, rate)
        if price is not None and rate > 0
        else None
    )
    energy = m.joules_per_sample
    return Objectives(
        m.performance, m.unit != "ms", m.accuracy, energy, cost, m.power_meter if energy is not None else None
    )


def _compare(a: float | None, b: float | None, higher: bool, tol: float, relative: bool) -> int:
    """+1: ``a`` better beyond ``tol``; -1: worse beyond it; 0: within it, or unknown."""
    if a is None or b is None:
        return 0
    margin = tol * abs(b) if relative else tol
    diff = (a - b) if higher else (b - a)
    return 1 if diff > margin else -1 if diff < -margin else 0


def dominates(a: Objectives, b: Objectives, tol: Tolerances) -> bool:
    """``a`` epsilon-dominates ``b`` (see the module docstring)."""
    verdicts = (
        _compare(a.performance, b.performance, a.higher_performance, tol.performance, True),
        _compare(a.accuracy, b.accuracy, True, tol.accuracy, False),
        _compare(a.energy, b.energy, False, tol.energy, True) if a.meter == b.meter else 0,
        _compare(a.cost, b.cost, False, tol.cost, True),
    )
    return 1 in verdicts and -1 not in verdicts


EXACT = Tolerances(0.0, 0.0, 0.0, 0.0)


def front(points: Mapping[str, Objectives]) -> list[str]:
    """The points no other point dominates (plain dominance), in the input's order."""
    return [
        k for k, o in points.items() if not any(dominates(p, o, EXACT) for j, p in points.items() if j != k)
    ]


@dataclass(frozen=True)
class Verdict:
    promoted: bool
    by: str | None  # the point that rules it out
    layer: int  # 1 = on the (plain) front of the screened points, 2 = on the next one, ...


def decide(points: Mapping[str, Objectives], tol: Tolerances) -> dict[str, Verdict]:
    """Promote every point no other rules out (epsilon-dominance); rank all by front layer."""
    layers = _layers(points)
    out = {}
    for key, o in points.items():
        rulers = [j for j, p in points.items() if j != key and dominates(p, o, tol)]
        by = min(rulers, key=lambda j: (layers[j], _perf_rank(points[j]))) if rulers else None
        out[key] = Verdict(by is None, by, layers[key])
    return out


def _perf_rank(o: Objectives) -> float:
    return -o.performance if o.higher_performance else o.performance


def _layers(points: Mapping[str, Objectives]) -> dict[str, int]:
    left = dict(points)
    out: dict[str, int] = {}
    layer = 1
    while left:
        current = front(left)
        for k in current:
            out[k] = layer
            del left[k]
        layer += 1
    return out


def final_order(points: Mapping[str, Objectives], verdicts: Mapping[str, Verdict]) -> list[str]:
    """The promoted points in the order their full runs are worth most: front layer first, then
    the better performance."""
    promoted = [k for k, v in verdicts.items() if v.promoted]
    return sorted(promoted, key=lambda k: (verdicts[k].layer, _perf_rank(points[k])))
