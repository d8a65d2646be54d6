"""The words of ``hub best``: why the winner of a comparison key wins, what the runner-up gives
up, and which key leads the answer. Shared by the CLI, the JSON answer and the web page.

Rules the text keeps (each once read wrongly): a margin always says who is behind ("3.3% lower
than the winner", never "runner-up ... (3.3% ahead)"); a name is never doubled when the system
name already starts with the submitter ("NVIDIA DGX H100", not "NVIDIA NVIDIA DGX H100"); an
unknown value is left out, never shown as "?"; counts agree with their nouns ("the only
configuration", "the best of 12 configurations"); numbers use ``formatting.number``; a power or
energy figure names its meter ("683 W (nvml)"), and a runner-up measured by another meter gets no
margin ("not comparable: nvml vs ptd").
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from typing import Any

from crowdperf.formatting import number, plural
from crowdperf.hub.power_meters import UNRECORDED, with_meter

_ROUND = re.compile(r"v(\d+)\.(\d+)")
_METERED = ("power_w", "energy_j_per_sample")  # values that mean what their meter measured


def result_label(submitter: str, system_name: str) -> str:
    """``NVIDIA DGX H100``: the system name, after the submitter unless it already starts with it."""
    if not submitter or system_name.casefold().startswith(submitter.casefold()):
        return system_name
    return f"{submitter} {system_name}"


def stack(r: Any) -> str:
    """``8x NVIDIA H100-SXM-80GB, TensorRT 10.2, fp8``: hardware and software, unknowns left out."""
    hardware = f"{r.accelerator_count}x {r.accelerator}" if r.accelerator else "CPU"
    return ", ".join(p for p in (hardware, r.backend or r.software, r.precision) if p)


def value_text(value: float | None, unit: str) -> str:
    if value is None:
        return "not recorded"
    if unit.startswith("USD"):
        return f"${number(value)}" + unit.removeprefix("USD")
    return f"{number(value)} {unit}".strip()


def _facts(r: Any) -> str:
    known = [
        f"accuracy F1 {number(r.accuracy_f1, 5)}" if r.accuracy_f1 is not None else "",
        f"latency {number(r.latency_ms)} ms" if r.latency_ms is not None else "",
        with_meter(f"{number(r.power_w, 3)} W", r.power_meter) if r.power_w is not None else "",
        f"${number(r.usd_per_million)} per million samples" if r.usd_per_million is not None else "",
    ]
    return ", ".join(k for k in known if k)


def explain(
    ranking: Sequence[Any], candidates: int, meeting: int, excluded: Mapping[str, int], axis: Any
) -> list[str]:
    """Lines: the winner and why, its other numbers, the runner-up and its margin, the cost."""
    cut = ", ".join(f"{number(n)} fail {k}" for k, n in excluded.items() if n) or "none ruled out"
    pool = f"{plural(candidates, 'candidate')}; {cut}"
    if not ranking:
        return [f"no configuration meets the constraints ({pool})"]
    win = ranking[0]
    best_word = "highest" if axis.higher_is_better else "lowest"
    among = (
        "the only configuration meeting the constraints"
        if meeting == 1
        else f"the best of {number(meeting)} configurations meeting the constraints"
    )
    win_value = getattr(win, axis.column)
    lines = [
        f"{result_label(win.submitter, win.system_name)} ({stack(win)}) has the {best_word} {axis.name}, "
        f"{objective_text(win, axis)}: {among} ({pool})"
    ]
    if facts := _facts(win):
        lines.append(f"  {facts}")
    if len(ranking) == 1:
        return lines
    run = ranking[1]
    run_value = getattr(run, axis.column)
    margin = _margin(win_value, run_value, axis.higher_is_better)
    if axis.column in _METERED and win.power_meter != run.power_meter:
        margin = f", not comparable: {win.power_meter or UNRECORDED} vs {run.power_meter or UNRECORDED}"
    lines.append(
        f"  runner-up: {result_label(run.submitter, run.system_name)} ({stack(run)}), "
        f"{objective_text(run, axis)}{margin}"
    )
    if win.usd_per_million is not None and run.usd_per_million is not None:
        diff = run.usd_per_million - win.usd_per_million
        lines.append(
            f"  the runner-up costs ${number(run.usd_per_million)} per million samples, "
            f"${number(abs(diff))} {'more' if diff >= 0 else 'less'} than the winner"
        )
    else:
        missing = run.accelerator if run.usd_per_million is None else win.accelerator
        lines.append(f"  cost not compared: no price for {missing or 'CPU'}")
    return lines


def objective_text(r: Any, axis: Any) -> str:
    """The objective's value of ``r``; a power or energy value with its meter."""
    text = value_text(getattr(r, axis.column), axis.unit)
    return with_meter(text, r.power_meter) if axis.column in _METERED else text


def _margin(win: float | None, run: float | None, higher_is_better: bool) -> str:
    """``, 3.3% lower than the winner`` (or higher, for an axis where lower wins)."""
    if not win or run is None:
        return ""
    pct = abs(win - run) / abs(win) * 100
    if pct == 0:
        return ", the same as the winner"
    shown = number(pct, 2) if pct >= 1 else number(pct, 1)
    return f", {shown}% {'lower' if higher_is_better else 'higher'} than the winner"


def round_order(name: str) -> tuple[int, int]:
    match = _ROUND.search(name or "")
    return (int(match.group(1)), int(match.group(2))) if match else (-1, -1)


def lead_key(groups: Sequence[Any]) -> str | None:
    """The comparison key an answer leads with: of the keys with a winner, the newest round, then
    the closed division, then the most candidates (the ranking a user most likely asks about)."""
    ranked = [g for g in groups if g.ranking]
    if not ranked:
        return None

    def order(g: Any) -> tuple[tuple[int, int], bool, int]:
        first = g.ranking[0]
        return round_order(first.round), first.division == "closed", g.candidates

    return max(ranked, key=order).comparison_key


def constraints_text(c: Any) -> str:
    """``bert-99 Offline, F1 >= 89.96, valid runs only``: what a ``Constraints`` asks, in words."""
    parts = [p for p in (c.model, c.scenario, c.round and f"round {c.round}", c.division) if p]
    if c.accelerator:
        parts.append(f"accelerator like {c.accelerator!r}")
    if c.min_accuracy_f1 is not None:
        parts.append(f"F1 >= {number(c.min_accuracy_f1, 6)}")
    if c.max_latency_ms is not None:
        parts.append(f"latency <= {number(c.max_latency_ms)} ms")
    if c.max_watts is not None:
        parts.append(f"power <= {number(c.max_watts)} W")
    if c.max_joules_per_sample is not None:
        parts.append(f"energy <= {number(c.max_joules_per_sample)} J/sample")
    if c.meter:
        parts.append(f"power meter {c.meter}")
    if c.max_usd_per_million is not None:
        parts.append(f"cost <= ${number(c.max_usd_per_million)} per million samples")
    parts.append("valid runs only" if c.valid_only else "valid and invalid runs")
    return ", ".join(parts)
