"""``/docs``: Swagger UI for the JSON API, served from this server (offline, under the site's
Content-Security-Policy). FastAPI's own page loads Swagger UI from a CDN and starts it with an
inline script, which ``script-src 'self'`` blocks: the assets here come from the
``fastapi-offline`` package (Swagger UI 5, which reads OpenAPI 3.1), the start-up script is our
``static/swagger-init.js``."""

from __future__ import annotations

from importlib import resources
from pathlib import Path

from fastapi import APIRouter, Request
from fastapi.responses import FileResponse, HTMLResponse

from crowdperf.hub.web.rendering import render_page

router = APIRouter(include_in_schema=False)
SWAGGER_DIR = Path(str(resources.files("fastapi_offline") / "static"))
ASSETS = {"swagger-ui-bundle.js": "text/javascript", "swagger-ui.css": "text/css"}


@router.get("/docs", response_class=HTMLResponse)
def docs_page(request: Request) -> HTMLResponse:
    return render_page(request, "api_docs.html", page="docs", title=request.app.title)


def asset_route(name: str, media_type: str) -> None:
    @router.get(f"/static/{name}", name=f"swagger-{name}")
    def asset() -> FileResponse:
        return FileResponse(SWAGGER_DIR / name, media_type=media_type)


for _name, _media in ASSETS.items():
    asset_route(_name, _media)
