"""Filter values checked against what the hub knows, before a query silently answers "0 results".

``hub list --scenario offline`` once listed nothing while ``run`` refused the same word. Each
filter of the command line is resolved here:

    exact filters      model, scenario, division, round, backend, precision: the value is one of
                       the known values (what the database holds, plus the names crowdperf itself
                       knows: MLPerf's scenarios and divisions, its rounds, the installed workloads
                       and backends, the precisions); a different spelling of exactly one of them
                       ("offline", "BERT-99") is taken as that one; anything else is a UsageError
                       naming the closest known values
    substring filters  accelerator, submitter, system: some stored value contains the text (any
                       case); otherwise a UsageError naming the closest stored values

A known value that no result has (``--scenario Server`` on a hub of Offline results) is not an
error: the answer "no results" is then the truth. The web pages and the API keep their own
behaviour (their forms offer only known values).
"""

from __future__ import annotations

import difflib
from collections.abc import Iterable
from dataclasses import replace
from typing import Any, TypeVar

from sqlalchemy import select

from crowdperf.errors import UsageError
from crowdperf.hub.models import Result
from crowdperf.hub.query_types import Constraints, ResultFilter
from crowdperf.hub.store import Store

F = TypeVar("F", ResultFilter, Constraints)

EXACT = ("model", "scenario", "division", "round", "backend", "precision")
SUBSTRING = ("accelerator", "submitter", "system")
_COLUMN = {"system": "system_name"}
MLPERF_SCENARIOS = ("SingleStream", "MultiStream", "Server", "Offline", "Interactive")
MLPERF_DIVISIONS = ("closed", "open", "network")


def _builtin(field: str) -> tuple[str, ...]:
    """The names crowdperf knows for ``field`` without looking at the database."""
    if field == "scenario":
        return MLPERF_SCENARIOS
    if field == "division":
        return MLPERF_DIVISIONS
    if field == "round":
        from crowdperf.mlperf.rounds import ROUNDS

        return tuple(ROUNDS)
    if field == "model":
        from crowdperf.mlperf.workload import benchmarks, workload_names

        return (*workload_names(), *benchmarks())
    if field == "backend":
        from crowdperf.backends.registry import backend_names

        return tuple(backend_names())
    if field == "precision":
        from crowdperf.precision import Precision

        return tuple(p.value for p in Precision)
    return ()


def stored_values(store: Store, field: str) -> tuple[str, ...]:
    """Distinct non-empty values of ``field`` in the results (cached until the next write)."""
    column = getattr(Result, _COLUMN.get(field, field))

    def compute() -> tuple[str, ...]:
        with store.session() as s:
            return tuple(sorted(v for (v,) in s.execute(select(column).distinct()) if v))

    return store.cached(f"values:{field}", compute)


def _closest(value: str, known: Iterable[str]) -> str:
    names = sorted(set(known))
    close = difflib.get_close_matches(value, names, n=6, cutoff=0.4)
    shown = close or names[:12]
    return ", ".join(shown) + (" ..." if not close and len(names) > 12 else "") if shown else "none"


def _exact(store: Store, field: str, value: str) -> str:
    known = (*stored_values(store, field), *_builtin(field))
    if value in known:
        return value
    folded = {k for k in known if k.casefold() == value.casefold()}
    if len(folded) == 1:
        return folded.pop()
    raise UsageError(
        f"--{field} {value!r} is not a known {field}", hint=f"use one of: {_closest(value, known)}"
    )


def _substring(store: Store, field: str, value: str) -> str:
    stored = stored_values(store, field)
    if any(value.casefold() in s.casefold() for s in stored):
        return value
    what = "the hub holds no results" if not stored else f"closest: {_closest(value, stored)}"
    raise UsageError(f"no result's {field} contains {value!r}", hint=what)


def checked_filters(store: Store, query: F) -> F:
    """``query`` with each filter value resolved (module docstring), or a UsageError."""
    changes: dict[str, Any] = {}
    for field in EXACT + SUBSTRING:
        value = getattr(query, field, None)
        if not value:
            continue
        changes[field] = _exact(store, field, value) if field in EXACT else _substring(store, field, value)
    return replace(query, **changes)
