"""The hub's web application: server-rendered pages and a JSON API over the one query layer.

    app = create_app(WebConfig(store=open_store("hub.sqlite")))
    uvicorn.run(app, host="127.0.0.1", port=8765)

Pages are Jinja2 templates with autoescape on (every user string is escaped); the chart uses the
``plotly`` package's own bundled ``plotly.min.js``, served from here (no CDN, works offline).
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from pathlib import Path

import plotly
from fastapi import Depends, FastAPI, Request
from fastapi.exception_handlers import request_validation_exception_handler
from fastapi.exceptions import RequestValidationError
from fastapi.responses import FileResponse, HTMLResponse, JSONResponse, Response
from fastapi.staticfiles import StaticFiles
from jinja2 import Environment, FileSystemLoader, select_autoescape
from starlette.exceptions import HTTPException as StarletteHTTPException

from crowdperf import __version__
from crowdperf.errors import CrowdperfError, MissingInputError, ResultsError, SubmissionError, UsageError
from crowdperf.hub.auth import AuthError
from crowdperf.hub.prices import PriceTable
from crowdperf.hub.store import Store
from crowdperf.hub.web.response_cache import CacheLimits, ResponseCache, SecurityHeaders
from crowdperf.hub.web.staging import StagingBudget, StagingFull, StagingLimits
from crowdperf.hub.web.submission_checks import Checker, structure_check
from crowdperf.hub.web.upload_safety import ArchiveLimits, UnsafeArchiveError

log = logging.getLogger(__name__)
HERE = Path(__file__).resolve().parent
PLOTLY_JS = Path(plotly.__file__).resolve().parent / "package_data" / "plotly.min.js"

# scripts only from this origin; Plotly injects <style> elements, hence 'unsafe-inline' for styles
CSP = (
    "default-src 'self'; script-src 'self'; style-src 'self' 'unsafe-inline'; img-src 'self' data:; "
    "object-src 'none'; base-uri 'none'; frame-ancestors 'none'; form-action 'self'"
)

SECURITY_HEADERS = {
    "Content-Security-Policy": CSP,
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "no-referrer",
}


@dataclass(frozen=True)
class WebConfig:
    store: Store
    prices: PriceTable | None = None  # None: the query layer's default table
    checker: Checker = structure_check
    limits: ArchiveLimits = field(default_factory=ArchiveLimits)
    staging_dir: Path | None = None  # where uploads are unpacked; None: a temp dir per upload
    staging: StagingLimits = field(default_factory=StagingLimits)  # bytes unpacked at once
    cache: CacheLimits | None = field(default_factory=CacheLimits)  # None: no response cache


def template_environment() -> Environment:
    env = Environment(
        loader=FileSystemLoader(HERE / "templates"),
        autoescape=select_autoescape(default=True, default_for_string=True),
        trim_blocks=True,
        lstrip_blocks=True,
    )
    env.filters["sig"] = significant
    env.globals["labels"] = METRIC_LABELS
    return env


METRIC_LABELS = {
    "value": "Result", "throughput": "Throughput", "throughput_per_accelerator": "Per accelerator",
    "latency_ms": "Latency", "latency_p99_ms": "Latency p99", "accuracy_f1": "Accuracy F1",
    "power_w": "Power", "energy_j_per_sample": "Energy per sample",
    "usd_per_million": "Cost per million (instance-hours)",
    "energy_usd_per_million": "Cost per million (energy)",
}  # fmt: skip


def significant(value: float) -> str:
    """Readable numbers: thousands separators for large ones, four significant digits otherwise."""
    if abs(value) >= 1000:
        return f"{value:,.0f}"
    return f"{value:.4g}"


def _status(exc: CrowdperfError) -> int:
    from crowdperf.hub.web.uploads import BadContent, PayloadTooLarge, UnsupportedType

    if isinstance(exc, StagingFull):
        return 429
    if isinstance(exc, BadContent | ResultsError):
        return 400
    if isinstance(exc, PayloadTooLarge):
        return 413
    if isinstance(exc, UnsupportedType):
        return 415
    if isinstance(exc, UnsafeArchiveError | SubmissionError):
        return 400
    if isinstance(exc, AuthError):
        return 403 if "not uploaded by" in exc.message else 401
    if isinstance(exc, MissingInputError) or "no result with id" in exc.message:
        return 404
    if isinstance(exc, UsageError):
        return 400
    return 500


def _is_api(request: Request) -> bool:
    return request.url.path.startswith(("/api/", "/openapi"))


def _validation_message(exc: RequestValidationError) -> str:
    """Which parameters were refused and why (never their values: they are the client's input)."""
    parts = []
    for error in exc.errors()[:5]:
        name = ".".join(str(p) for p in error.get("loc", ())[1:]) or "request"
        parts.append(f"{name}: {error.get('msg', 'invalid')}")
    return "bad parameter " + "; ".join(parts)


def create_app(config: WebConfig) -> FastAPI:
    from crowdperf.hub.web import api, api_docs, pages  # the routers need the app's state
    from crowdperf.hub.web.params import single_valued

    app = FastAPI(
        title="crowdperf hub",
        version=__version__,
        description="MLPerf Inference results: list, compare, Pareto fronts, best stack under "
        "constraints, CSV/JSON export, authenticated upload of submission trees.",
        docs_url=None,  # FastAPI's pages load their scripts from a CDN: ours are served from here
        redoc_url=None,
    )
    app.state.config = config
    app.state.templates = template_environment()
    app.state.staging = StagingBudget(config.staging)

    @app.get("/static/plotly.min.js", include_in_schema=False)
    def plotly_js() -> FileResponse:
        return FileResponse(PLOTLY_JS, media_type="text/javascript")

    app.include_router(api_docs.router)
    for router in (api.router, pages.router):
        app.include_router(router, dependencies=[Depends(single_valued)])
    # last: routes match in order, and files served from packages (plotly, Swagger UI) live
    # under /static/ too
    app.mount("/static", StaticFiles(directory=HERE / "static"), name="static")

    @app.exception_handler(CrowdperfError)
    def crowdperf_error(request: Request, exc: CrowdperfError) -> Response:
        status = _status(exc)
        if request.url.path.startswith("/api/"):
            return JSONResponse({"error": exc.message, "hint": exc.hint}, status_code=status)
        return pages.render_error(request, status, exc.message)

    @app.exception_handler(RequestValidationError)
    async def invalid_request(request: Request, exc: RequestValidationError) -> Response:
        # the API keeps FastAPI's documented 422; a page answers with the site's error page
        if _is_api(request):
            return await request_validation_exception_handler(request, exc)
        return pages.render_error(request, 400, _validation_message(exc))

    @app.exception_handler(StarletteHTTPException)
    def http_error(request: Request, exc: StarletteHTTPException) -> Response:
        # unknown page, wrong method: the API answers JSON, a browser gets a page with the menu
        if request.url.path.startswith("/api/") or request.url.path.startswith("/openapi"):
            return JSONResponse({"detail": exc.detail}, status_code=exc.status_code, headers=exc.headers)
        message = "no such page" if exc.status_code == 404 else str(exc.detail)
        return pages.render_error(request, exc.status_code, message)

    @app.exception_handler(Exception)
    def unexpected_error(request: Request, exc: Exception) -> Response:
        # logged with its traceback by uvicorn; the client gets no internals
        log.exception("unexpected error on %s", request.url.path, exc_info=exc)
        message = "internal error; the server log has the details"
        if request.url.path.startswith("/api/"):
            return JSONResponse({"error": message, "hint": None}, status_code=500)
        return pages.render_error(request, 500, message)

    security = {
        "Content-Security-Policy": CSP,
        "X-Content-Type-Options": "nosniff",
        "Referrer-Policy": "no-referrer",
    }
    app.add_middleware(SecurityHeaders, headers=security)
    if config.cache is not None:  # outermost: kept answers carry the headers already
        app.add_middleware(ResponseCache, store=config.store, limits=config.cache)
    return app


def render_page(request: Request, template: str, status: int = 200, **context: object) -> HTMLResponse:
    """One template rendered with the server's links."""
    from crowdperf.hub.web.urls import ServerUrls

    env: Environment = request.app.state.templates
    html = env.get_template(template).render(urls=ServerUrls(), **context)
    return HTMLResponse(html, status_code=status)
