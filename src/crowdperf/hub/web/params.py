"""Query-string parameters shared by the pages and the JSON API (so the OpenAPI spec, the forms
and shareable URLs all speak the same names). HTML forms send empty strings for untouched
fields: those mean "any".

Hidden results: ``include_hidden=true`` shows hidden results only to a viewer with a token
(``Authorization: Bearer cph_...``): its owner's own, or every one to an admin token. Anyone else
gets the public rows, whatever they ask for; a token that is not live is a 401.
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import Header, Query, Request
from fastapi.exceptions import RequestValidationError
from pydantic import BeforeValidator, Field, StringConstraints

from crowdperf.hub.auth import AuthError, TokenOwner, authenticate_owner
from crowdperf.hub.query_types import AXES, Constraints, ResultFilter


def _blank_to_none(value: Any) -> Any:
    return None if isinstance(value, str) and not value.strip() else value


Text = Annotated[
    Annotated[str, StringConstraints(max_length=200)] | None, BeforeValidator(_blank_to_none), Query()
]
Number = Annotated[
    Annotated[float, Field(allow_inf_nan=False)] | None, BeforeValidator(_blank_to_none), Query()
]


# a Pareto axis or a best objective: the query layer's axes (hub/query_types.py AXES)
AXIS_PATTERN = "^(" + "|".join(AXES) + ")$"
Axis = Annotated[str, Query(pattern=AXIS_PATTERN)]

REPEATABLE = frozenset({"ids"})  # the only list parameter (compare)


def single_valued(request: Request) -> None:
    """Router dependency: a parameter given twice is refused (422; a page shows its error page).
    FastAPI would keep the last value and drop the others unread: ``max_watts=abc&max_watts=``
    was answered as if no limit had been asked for."""
    seen: set[str] = set()
    for key, _ in request.query_params.multi_items():
        if key in seen and key not in REPEATABLE:
            error = {"type": "value_error", "loc": ("query", key), "msg": "given more than once"}
            raise RequestValidationError([{**error, "input": None}])
        seen.add(key)


AuthHeader = Annotated[
    str | None, Header(description="Bearer cph_... (crowdperf hub token create): your hidden results too")
]


def viewer(request: Request, authorization: AuthHeader = None) -> TokenOwner | None:
    """The token owner making the request, or None for an anonymous one."""
    if authorization is None:
        return None
    scheme, _, secret = authorization.partition(" ")
    if scheme.lower() != "bearer":
        raise AuthError("missing bearer token", hint="send 'Authorization: Bearer cph_...'")
    return authenticate_owner(request.app.state.config.store, secret.strip())


def visible_to(owner: TokenOwner | None, *, include_hidden: bool = True) -> ResultFilter:
    """The filter of what ``owner`` may see: public rows, plus their own hidden rows (an admin:
    everyone's) when ``include_hidden``."""
    if owner is None or not include_hidden:
        return ResultFilter()
    return ResultFilter(include_hidden=True) if owner.admin else ResultFilter(hidden_owner=owner.name)


def visible(request: Request, authorization: AuthHeader = None) -> ResultFilter:
    """Dependency: what the viewer may see of results asked for by id (detail, compare)."""
    return visible_to(viewer(request, authorization))


def result_filter(
    request: Request,
    model: Text = None,
    scenario: Text = None,
    division: Text = None,
    round: Text = None,
    accelerator: Text = None,
    submitter: Text = None,
    system: Text = None,
    backend: Text = None,
    precision: Text = None,
    comparison_key: Text = None,
    min_accuracy: Number = None,
    max_usd_per_million: Number = None,
    meter: Text = None,
    max_watts: Number = None,
    max_joules_per_sample: Number = None,
    valid_only: bool = False,
    include_hidden: Annotated[bool, Query(description="with a token: your hidden results too")] = False,
    authorization: AuthHeader = None,
) -> ResultFilter:
    """Filter fields; ``accelerator``, ``submitter`` and ``system`` match substrings; ``meter`` is
    the power meter (ptd, nvml, rapl, none: no figure), ``max_watts`` and ``max_joules_per_sample``
    bound the power figures (whatever their meter: filter by ``meter`` to compare like with like)."""
    seen = visible_to(viewer(request, authorization), include_hidden=include_hidden)
    return ResultFilter(
        model=model, scenario=scenario, division=division, round=round, accelerator=accelerator,
        submitter=submitter, system=system, backend=backend, precision=precision,
        comparison_key=comparison_key, min_accuracy_f1=min_accuracy,
        max_usd_per_million=max_usd_per_million, valid_only=valid_only, meter=meter, max_watts=max_watts,
        max_joules_per_sample=max_joules_per_sample,
        include_hidden=seen.include_hidden, hidden_owner=seen.hidden_owner,
    )  # fmt: skip


def constraints(
    model: Text = None,
    scenario: Text = None,
    division: Text = None,
    round: Text = None,
    accelerator: Text = None,
    min_accuracy_f1: Number = None,
    max_latency_ms: Number = None,
    max_watts: Number = None,
    max_usd_per_million: Number = None,
    objective: Axis = "throughput",
    max_joules_per_sample: Number = None,
    meter: Text = None,
) -> Constraints:
    return Constraints(
        model=model, scenario=scenario, division=division, round=round, accelerator=accelerator,
        min_accuracy_f1=min_accuracy_f1, max_latency_ms=max_latency_ms, max_watts=max_watts,
        max_usd_per_million=max_usd_per_million, objective=objective,
        max_joules_per_sample=max_joules_per_sample, meter=meter,
    )  # fmt: skip


def filter_query(flt: ResultFilter) -> dict[str, str]:
    """A ResultFilter back as query parameters (for sort links, paging and export links)."""
    out: dict[str, str] = {}
    for name in ("model", "scenario", "division", "round", "accelerator", "submitter", "system",
                 "backend", "precision", "comparison_key", "meter"):  # fmt: skip
        value = getattr(flt, name)
        if value:
            out[name] = value
    if flt.min_accuracy_f1 is not None:
        out["min_accuracy"] = f"{flt.min_accuracy_f1:g}"
    for name in ("max_usd_per_million", "max_watts", "max_joules_per_sample"):
        if getattr(flt, name) is not None:
            out[name] = f"{getattr(flt, name):g}"
    if flt.valid_only:
        out["valid_only"] = "true"
    if flt.include_hidden or flt.hidden_owner:
        out["include_hidden"] = "true"
    return out
