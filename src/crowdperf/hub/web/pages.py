"""Server-rendered pages. Each handler calls the query layer once and renders a template."""

from __future__ import annotations

from typing import Annotated
from urllib.parse import urlencode

from fastapi import APIRouter, Depends, Path, Query, Request
from fastapi.responses import HTMLResponse
from pydantic import Field

from crowdperf.errors import CrowdperfError, UsageError
from crowdperf.hub import queries
from crowdperf.hub.query_types import AXES, MAX_ROWS, Constraints, ResultFilter
from crowdperf.hub.web.app import render_page
from crowdperf.hub.web.command_builder import RunChoice, allowed_values, build_commands
from crowdperf.hub.web.lookups import facet_values, reproduce_command, result_logs
from crowdperf.hub.web.params import Axis, Text, constraints, filter_query, result_filter, visible
from crowdperf.hub.web.urls import ServerUrls
from crowdperf.hub.web.views import (
    AXIS_LABELS,
    CHOICE_FILTERS,
    COLOR_FIELDS,
    TABLE_COLUMNS,
    TEXT_FILTERS,
    chart_data,
    meter_links,
)

router = APIRouter(include_in_schema=False)
PAGE_SIZE = 50


def _config(request: Request):  # type: ignore[no-untyped-def]
    return request.app.state.config


def render_error(request: Request, status: int, message: str) -> HTMLResponse:
    title = {400: "Bad request", 401: "Not signed in", 403: "Not allowed", 404: "Not found"}.get(
        status, "Error"
    )
    return render_page(request, "error.html", status, page="", title=title, message=message)


def _sort_links(query: dict[str, str], sort: str) -> dict[str, str]:
    urls = ServerUrls()
    links = {}
    for c in TABLE_COLUMNS:
        if c.sortable:
            current = sort.lstrip("-") == c.key
            # numbers start high-to-low, text A-Z; clicking the sorted column flips it
            first = f"-{c.key}" if c.numeric else c.key
            flipped = c.key if sort.startswith("-") else f"-{c.key}"
            links[c.key] = urls.results(**{**query, "sort": flipped if current else first})
    return links


@router.get("/", response_class=HTMLResponse)
def results_page(
    request: Request,
    flt: Annotated[ResultFilter, Depends(result_filter)],
    sort: Annotated[str, Query(max_length=100)] = "-throughput",
    offset: Annotated[int, Query(ge=0, le=MAX_ROWS)] = 0,
) -> HTMLResponse:
    cfg = _config(request)
    page = queries.list_results(cfg.store, flt, sort=sort, limit=PAGE_SIZE, offset=offset, prices=cfg.prices)
    query = filter_query(flt)
    urls = ServerUrls()
    with_sort = {**query, "sort": sort}
    pager = {
        "prev": urls.results(**with_sort, offset=str(max(0, offset - PAGE_SIZE))) if offset else None,
        "next": urls.results(**with_sort, offset=str(offset + PAGE_SIZE))
        if offset + PAGE_SIZE < page.total
        else None,
    }
    return render_page(
        request, "results.html", page="results", rows=page.rows, result_page=page, columns=TABLE_COLUMNS,
        choice_filters=CHOICE_FILTERS, text_filters=TEXT_FILTERS, facets=facet_values(cfg.store),
        filters=query, sort=sort, sort_links=_sort_links(query, sort), pager=pager,
        meter_links=meter_links("/", with_sort, page.power_meters) if page.meter_note else {},
        export_csv="/api/results.csv?" + urlencode({**with_sort}),
        export_json="/api/results?" + urlencode({**with_sort, "limit": "500"}),
    )  # fmt: skip


@router.get("/results/{result_id}", response_class=HTMLResponse)
def result_page(
    request: Request,
    result_id: Annotated[int, Path(ge=1, le=2**31 - 1)],
    seen: Annotated[ResultFilter, Depends(visible)],
) -> HTMLResponse:
    cfg = _config(request)
    r = queries.get_result(cfg.store, result_id, prices=cfg.prices, visible=seen)
    if r is None:
        return render_error(request, 404, f"no result with id {result_id}")
    command, origin = reproduce_command(r)
    return render_page(
        request, "detail.html", page="results", r=r, logs=result_logs(cfg.store, result_id),
        command=command, command_origin=origin,
    )  # fmt: skip


Ids = Annotated[list[Annotated[int, Field(ge=1, le=2**31 - 1)]], Query(max_length=20)]


@router.get("/compare", response_class=HTMLResponse)
def compare_page(
    request: Request,
    seen: Annotated[ResultFilter, Depends(visible)],
    ids: Ids = [],  # noqa: B006 - FastAPI default
) -> HTMLResponse:
    cfg = _config(request)
    try:
        view = queries.compare_results(cfg.store, ids, prices=cfg.prices, visible=seen)
    except UsageError as exc:
        return render_error(request, 400, f"{exc.message} (tick two or more rows on the results page)")
    return render_page(request, "compare.html", page="results", view=view)


Color = Annotated[str, Query(pattern="^(" + "|".join(COLOR_FIELDS) + ")$")]


@router.get("/chart", response_class=HTMLResponse)
def chart_page(
    request: Request,
    flt: Annotated[ResultFilter, Depends(result_filter)],
    x: Axis = "throughput",
    y: Axis = "accuracy",
    color: Color = "accelerator",
    key: Text = None,
) -> HTMLResponse:
    cfg = _config(request)
    if x == y:
        return render_error(request, 400, "pick two different axes")
    front = queries.pareto_front(cfg.store, flt, [x, y], prices=cfg.prices, focus=key or "")
    data = chart_data(front, key)
    links = {}
    if data.group is not None and data.group.meter_note:  # offer the same chart with one meter
        drawn = {**filter_query(flt), "x": x, "y": y, "color": color, "key": data.group.comparison_key}
        links = meter_links("/chart", drawn, data.group.power_meters)
    return render_page(
        request, "chart.html", page="chart", data=data, chart_json=data.to_json(ServerUrls().result),
        axes=AXIS_LABELS, colors=COLOR_FIELDS, color=color, filters=filter_query(flt), meter_links=links,
    )  # fmt: skip


@router.get("/best", response_class=HTMLResponse)
def best_page(request: Request, c: Annotated[Constraints, Depends(constraints)]) -> HTMLResponse:
    cfg = _config(request)
    asked = bool(request.query_params)
    answer = queries.best_configurations(cfg.store, c, prices=cfg.prices) if asked else None
    form = {k: v for k, v in request.query_params.items() if v}
    mixed = sorted({m for g in answer.groups if g.meter_note for m in g.power_meters}) if answer else []
    return render_page(
        request, "best.html", page="best", answer=answer, form=form, facets=facet_values(cfg.store),
        objectives=list(AXES), meter_links=meter_links("/best", form, tuple(mixed)),
    )  # fmt: skip


@router.get("/builder", response_class=HTMLResponse)
def builder_page(request: Request) -> HTMLResponse:
    choices = allowed_values()
    defaults = RunChoice()
    current = {name: request.query_params.get(name) or getattr(defaults, name) for name in choices}
    try:
        commands, error = build_commands(RunChoice(**current)), None
    except CrowdperfError as exc:
        commands, error = None, exc.message
    return render_page(
        request,
        "builder.html",
        page="builder",
        choices=choices,
        current=current,
        commands=commands,
        error=error,
    )
