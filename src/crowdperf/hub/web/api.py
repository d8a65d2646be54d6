"""The JSON API (documented at /docs, spec at /openapi.json). Same query layer as the pages and
the CLI; JSON bodies are the query layer's answers (``json_body.encode``: the JSON of ``to_jsonable``)."""

from __future__ import annotations

import csv
import dataclasses
import io
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Depends, Header, Path, Query, Request
from fastapi.responses import JSONResponse, Response
from pydantic import BaseModel, Field

from crowdperf.errors import UsageError
from crowdperf.hub import queries
from crowdperf.hub.auth import AuthError, TokenOwner, delete_result, hide_result
from crowdperf.hub.query_types import Constraints, HubResult, ResultFilter
from crowdperf.hub.web.command_builder import (
    CATEGORIES,
    DEVICES,
    DIVISIONS,
    EXECUTION_MODES,
    MODES,
    PRECISIONS,
    SCENARIOS,
    RunChoice,
    allowed_values,
    build_commands,
)
from crowdperf.hub.web.json_body import json_response
from crowdperf.hub.web.params import AXIS_PATTERN, Axis, constraints, result_filter, viewer, visible
from crowdperf.hub.web.uploads import ACCEPTED_TYPES, BadContent, UploadReport, handle_upload, read_body

router = APIRouter(prefix="/api", tags=["results"])

_FIELD = "-?(" + "|".join(queries.SORT_FIELDS) + ")"
Sort = Annotated[str, Query(
    max_length=200, pattern=f"^{_FIELD}(,{_FIELD})*$",
    description="comma-separated fields, '-' prefix for descending: " + ", ".join(queries.SORT_FIELDS),
)]  # fmt: skip


class ErrorBody(BaseModel):
    error: str
    hint: str | None = None


def _errors(*codes: int) -> dict[int | str, dict[str, Any]]:
    text = {
        400: "Invalid request",
        401: "Missing, unknown or revoked token (a token is optional on reads: it shows your hidden results)",
        403: "Not your result",
        404: "No such result",
        413: "Upload too large",
        415: "Upload is not application/gzip",
        429: "Too many uploads being unpacked; retry later",
    }
    return {code: {"model": ErrorBody, "description": text[code]} for code in codes}


Limit = Annotated[int, Query(ge=1, le=10_000)]
Offset = Annotated[int, Query(ge=0, le=10_000_000)]
MAX_ID = 2**31 - 1  # results.id is a 32-bit INTEGER on PostgreSQL
ResultId = Annotated[int, Path(ge=1, le=MAX_ID)]
# Pareto points per comparison key by default: with 100,000 results, handing out every point
# (thousands per key) costs more than computing the front; charts ask for more with max_points
MAX_POINTS = 200


def _config(request: Request):  # type: ignore[no-untyped-def]
    return request.app.state.config


def _json(answer: Any) -> Response:
    """A query-layer answer as a JSON response, encoded from the dataclasses by orjson
    (``json_body``: ~10x faster than ``to_jsonable`` + ``json.dumps``, and FastAPI's own
    ``jsonable_encoder`` pass is skipped); the endpoints still declare ``response_model=dict``
    for the OpenAPI spec."""
    return json_response(answer)


_OBJECT = dict[str, Any]


@router.get(
    "/results",
    summary="List results (filter, sort, paginate)",
    response_model=_OBJECT,
    responses=_errors(400, 401),
)
def list_results(
    request: Request,
    flt: Annotated[ResultFilter, Depends(result_filter)],
    sort: Sort = "-throughput",
    limit: Limit = 50,
    offset: Offset = 0,
) -> Response:
    cfg = _config(request)
    page = queries.list_results(cfg.store, flt, sort=sort, limit=limit, offset=offset, prices=cfg.prices)
    # PostgreSQL's SUM(bigint) is NUMERIC: the query layer hands back a Decimal total there
    return _json(dataclasses.replace(page, total=int(page.total)))


CSV_FIELDS = tuple(f for f in HubResult.__dataclass_fields__ if f != "settings")


@router.get("/results.csv", summary="Export matching results as CSV", response_class=Response,
            responses={200: {"content": {"text/csv": {}}}, **_errors(400, 401)})  # fmt: skip
def export_csv(
    request: Request, flt: Annotated[ResultFilter, Depends(result_filter)], sort: Sort = "-throughput"
) -> Response:
    cfg = _config(request)
    page = queries.list_results(cfg.store, flt, sort=sort, limit=None, prices=cfg.prices)
    buf = io.StringIO()
    writer = csv.writer(buf)
    writer.writerow(CSV_FIELDS)
    for row in page.rows:
        writer.writerow([_csv_cell(getattr(row, f)) for f in CSV_FIELDS])
    return Response(
        buf.getvalue(), media_type="text/csv; charset=utf-8",
        headers={"Content-Disposition": 'attachment; filename="crowdperf-results.csv"'},
    )  # fmt: skip


def _csv_cell(value: Any) -> Any:
    # a cell starting with = + - @ is a formula in spreadsheets: prefix a quote (CSV injection)
    if isinstance(value, str) and value[:1] in ("=", "+", "-", "@", "\t", "\r"):
        return "'" + value
    return value


@router.get(
    "/results/{result_id}",
    summary="One result with provenance",
    response_model=_OBJECT,
    responses=_errors(401, 404),
)
def get_result(
    request: Request, result_id: ResultId, seen: Annotated[ResultFilter, Depends(visible)]
) -> Response:
    cfg = _config(request)
    r = queries.get_result(cfg.store, result_id, prices=cfg.prices, visible=seen)
    if r is None:
        raise UsageError(f"no result with id {result_id}")
    return _json(r)


@router.get(
    "/compare",
    summary="Results side by side with deltas against the first",
    response_model=_OBJECT,
    responses=_errors(400, 401, 404),
)
def compare(
    request: Request,
    ids: Annotated[list[Annotated[int, Field(ge=1, le=MAX_ID)]], Query(min_length=2, max_length=20)],
    seen: Annotated[ResultFilter, Depends(visible)],
) -> Response:
    cfg = _config(request)
    return _json(queries.compare_results(cfg.store, ids, prices=cfg.prices, visible=seen))


@router.get(
    "/pareto",
    summary="Pareto front per comparison key over two or three axes",
    response_model=_OBJECT,
    responses=_errors(400, 401),
)
def pareto(
    request: Request,
    flt: Annotated[ResultFilter, Depends(result_filter)],
    x: Axis = "throughput",
    y: Axis = "accuracy",
    z: Annotated[str | None, Query(pattern=AXIS_PATTERN)] = None,
    max_points: Annotated[int, Query(
        ge=0, le=5000,
        description="points per comparison key: the whole front always, then dominated points (lowest ids "
        "first) up to this many; a group's 'total' counts every result having the axes",
    )] = MAX_POINTS,
) -> Response:  # fmt: skip
    cfg = _config(request)
    axes = [x, y] + ([z] if z else [])
    return _json(queries.pareto_front(cfg.store, flt, axes, prices=cfg.prices, max_points=max_points))


@router.get(
    "/best",
    summary="Best configurations meeting constraints, with explanations",
    response_model=_OBJECT,
    responses=_errors(400),
)
def best(request: Request, c: Annotated[Constraints, Depends(constraints)]) -> Response:
    cfg = _config(request)
    return _json(queries.best_configurations(cfg.store, c, prices=cfg.prices))


# Models and backends are the installed plugins, checked per request (RunChoice: 400 naming them).
PluginName = Annotated[str, Query(max_length=100, pattern=r"^[A-Za-z0-9][A-Za-z0-9._-]*$")]


@router.get(
    "/commands",
    summary="The crowdperf run command and its CM form for a choice",
    description="model and backend: any installed workload / backend (GET /api/choices lists them)",
    responses=_errors(400),
)
def commands(
    model: PluginName = "bert-99",
    backend: PluginName = "onnxruntime",
    device: Literal[DEVICES] = "cpu",  # type: ignore[valid-type]
    precision: Literal[PRECISIONS] = "fp32",  # type: ignore[valid-type]
    scenario: Literal[SCENARIOS] = "Offline",  # type: ignore[valid-type]
    mode: Literal[MODES] = "performance",  # type: ignore[valid-type]
    execution_mode: Literal[EXECUTION_MODES] = "test",  # type: ignore[valid-type]
    category: Literal[CATEGORIES] = "edge",  # type: ignore[valid-type]
    division: Literal[DIVISIONS] = "open",  # type: ignore[valid-type]
) -> dict[str, str]:
    built = build_commands(RunChoice(
        model=model, backend=backend, device=device, precision=precision, scenario=scenario, mode=mode,
        execution_mode=execution_mode, category=category, division=division,
    ))  # fmt: skip
    return {"run": built.run, "cm": built.cm}


@router.get("/choices", summary="What /api/commands accepts: every field's allowed values")
def choices() -> dict[str, list[str]]:
    return {name: list(values) for name, values in allowed_values().items()}


def _owner(request: Request, authorization: str | None) -> TokenOwner:
    owner = viewer(request, authorization)
    if owner is None:
        raise AuthError("missing bearer token", hint="send 'Authorization: Bearer cph_...'")
    return owner


AuthHeader = Annotated[str | None, Header(description="Bearer cph_... (crowdperf hub token create)")]


_BINARY = {"type": "string", "format": "binary"}


@router.post(
    "/uploads",
    summary="Upload a submission tree (tar.gz) with a bearer token",
    status_code=201,
    responses=_errors(400, 401, 413, 415, 429),
    openapi_extra={
        "requestBody": {"required": True, "content": {t: {"schema": _BINARY} for t in ACCEPTED_TYPES}}
    },
)
async def upload(
    request: Request, authorization: AuthHeader = None, content_type: Annotated[str | None, Header()] = None
) -> UploadReport:
    cfg = _config(request)
    owner = _owner(request, authorization).name
    data = await read_body(request, content_type, cfg.limits)
    try:
        return await handle_upload(cfg, owner, data, request.app.state.staging)
    except BadContent as exc:  # the good results are stored: say which, and what was wrong
        body = {"error": exc.message, "hint": exc.hint, "report": exc.report.model_dump()}
        return JSONResponse(body, status_code=400)  # type: ignore[return-value]


@router.post(
    "/results/{result_id}/hide", summary="Hide one of your results", responses=_errors(401, 403, 404)
)
def hide(request: Request, result_id: ResultId, authorization: AuthHeader = None) -> dict[str, Any]:
    hide_result(_config(request).store, _owner(request, authorization), result_id)
    return {"id": result_id, "hidden": True}


@router.post(
    "/results/{result_id}/unhide",
    summary="Show one of your hidden results again",
    responses=_errors(401, 403, 404),
)
def unhide(request: Request, result_id: ResultId, authorization: AuthHeader = None) -> dict[str, Any]:
    hide_result(_config(request).store, _owner(request, authorization), result_id, hidden=False)
    return {"id": result_id, "hidden": False}


@router.delete("/results/{result_id}", summary="Delete one of your results", responses=_errors(401, 403, 404))
def delete(request: Request, result_id: ResultId, authorization: AuthHeader = None) -> JSONResponse:
    delete_result(_config(request).store, _owner(request, authorization), result_id)
    return JSONResponse({"id": result_id, "deleted": True})
