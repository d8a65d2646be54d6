"""What ``crowdperf run`` prints when it is done: the results (a table when it fits, one block per
run when it does not: cli/tables.py), the notes they share said once, what to do next, and the
``--json`` object (schema ``crowdperf.run/1``)."""

from __future__ import annotations

import shlex
from pathlib import Path
from typing import Any

from rich.markup import escape

from crowdperf import jsonio
from crowdperf.cli.tables import Rows
from crowdperf.formatting import ACCURACY_DIGITS, number, quantity
from crowdperf.meters.readings import PowerSummary
from crowdperf.mlperf.loadgen_runner import RunResult
from crowdperf.mlperf.rounds import Scenario
from crowdperf.mlperf.spec import Mode, RunSpec

RUN_JSON_SCHEMA = jsonio.schema("run", 1)


class _Notes:
    """Footnotes: each distinct text once, numbered in order of first use."""

    def __init__(self) -> None:
        self.texts: list[str] = []

    def mark(self, text: str) -> str:
        if text not in self.texts:
            self.texts.append(text)
        return f"[{self.texts.index(text) + 1}]"

    def lines(self) -> tuple[str, ...]:
        return tuple(f"[{i}] {escape(t)}" for i, t in enumerate(self.texts, start=1))


def _metric(r: RunResult) -> tuple[str, str]:
    if r.metric is None:
        return "-", "-"
    return r.metric.name, quantity(r.metric.value, r.metric.unit)


def _validity(r: RunResult) -> str:
    if r.valid is None:
        return "-"
    return "VALID" if r.valid else "[red]INVALID[/]"


def _accuracy(r: RunResult, notes: _Notes) -> str:
    a = r.accuracy
    if a is None:
        return "-"
    verdict = "" if a.passed is None else (" PASS" if a.passed else " [red]FAIL[/]")
    others = ", ".join(f"{k} {number(v, ACCURACY_DIGITS)}" for k, v in a.scores.items() if k != a.metric)
    text = (
        f"{escape(a.metric)} {number(a.value, ACCURACY_DIGITS)}"
        + (f" ({escape(others)})" if others else "")
        + verdict
    )
    return f"{text} {notes.mark(a.note)}" if a.note else text


def power_text(power: PowerSummary | None) -> str:
    """``652 W, 0.172 J/sample (nvml)``: three significant digits, what a meter can tell."""
    if power is None:
        return "-"
    if power.unavailable is not None or power.mean_w is None:
        return f"unavailable ({power.unavailable})"
    per = "" if power.joules_per_sample is None else f", {number(power.joules_per_sample, 3)} J/sample"
    return f"{number(power.mean_w, 3)} W{per} ({power.meter})"


def _shared_unavailable(results: list[RunResult]) -> str | None:
    """The one reason every measured run lacks power: said once under the table, no column."""
    reasons = {r.power.unavailable for r in results if r.power is not None}
    return next(iter(reasons)) if len(reasons) == 1 and None not in reasons else None


def results_rows(results: list[RunResult], results_dir: Path | None = None) -> Rows:
    """The results of one ``crowdperf run``; the system names in the title, never in a cell."""
    notes = _Notes()
    no_power = _shared_unavailable(results)
    power_column = not no_power and any(r.power is not None for r in results)
    rows = []
    for r in results:
        name, value = _metric(r)
        cells = [r.scenario.value, r.mode.value, name, value, _validity(r), _accuracy(r, notes)]
        if power_column:
            cells.append(escape(power_text(r.power)))
        rows.append(tuple(cells))
    headers = (
        "scenario",
        "mode",
        "metric",
        "result",
        "valid",
        "accuracy",
        *(("power",) if power_column else ()),
    )
    systems = sorted({f"{r.system} / {r.model}" for r in results})
    tail = []
    if any(not r.submittable for r in results):
        tail.append("TEST (not submittable; a submittable run needs --execution-mode valid)")
    if no_power:
        tail.append(f"power: unavailable ({escape(no_power)})")
    if results_dir is not None and any(r.mode is not Mode.FIND_PERFORMANCE for r in results):
        tail.append(f"results under {escape(str(results_dir))}")
    return Rows(
        headers=headers,
        rows=tuple(rows),
        title=f"[bold]{escape(', '.join(systems))}[/]",
        keys=2,
        right=frozenset({"result"}),
        notes=notes.lines() + tuple(tail),
    )


def valid_run_command(spec: RunSpec, scenario: Scenario | None) -> str:
    """The ``crowdperf run`` that makes submittable results of what ``spec`` ran (every mode)."""
    words = ["crowdperf", "run", "--model", spec.model]
    if spec.backend != "onnxruntime":
        words += ["--backend", spec.backend]
    if str(spec.devices) != "cpu":
        words += ["--device", str(spec.devices)]
    if spec.precision.value != "fp32":
        words += ["--precision", spec.precision.value]
    if scenario is not None:
        words += ["--scenario", scenario.value]
    if spec.category.value != "edge":
        words += ["--category", spec.category.value]
    words += ["--results-dir", str(spec.results_dir)]
    return " ".join(shlex.quote(w) for w in words)


def next_steps(results: list[RunResult], spec: RunSpec, scenario: Scenario | None) -> tuple[str, ...]:
    """What to do after this run, as commands to copy: targets and a valid run when this one was
    a test, then the submission tree, its check and the hub (only steps that follow from it)."""
    if not results:
        return ()
    run = valid_run_command(spec, scenario)
    if all(r.mode is Mode.FIND_PERFORMANCE for r in results):
        return (
            "next: a valid run with the targets just stored (10+ minutes per scenario):",
            f"  {run} --execution-mode valid",
        )
    steps = []
    if any(not r.submittable for r in results):
        steps += [
            "measure this system's targets, then make a valid run (10+ minutes per scenario):",
            f"  {run} --mode find-performance",
            f"  {run} --execution-mode valid",
        ]
    rdir = shlex.quote(str(spec.results_dir))
    steps += [
        "turn the results into an MLPerf submission tree, check it, and compare it in the hub:",
        f"  crowdperf submission generate --results-dir {rdir} --submission-dir sub --submitter YOUR_ORG",
        "  crowdperf submission check sub && crowdperf hub import sub && crowdperf hub serve",
    ]
    return ("next:", *(f"  {s}" for s in steps))


def results_json(results: list[RunResult]) -> dict[str, Any]:
    return jsonio.document("run", 1, {"results": results})  # RUN_JSON_SCHEMA
