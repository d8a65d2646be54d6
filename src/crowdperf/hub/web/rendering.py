"""Templates and page rendering shared by the live app (app.py, pages.py) and the static site.

Jinja2 with autoescape on (every user string is escaped); the chart uses the ``plotly`` package's
own bundled ``plotly.min.js``, served from this package (no CDN, works offline).
"""

from __future__ import annotations

from pathlib import Path

import plotly
from fastapi import Request
from fastapi.responses import HTMLResponse
from jinja2 import Environment, FileSystemLoader, select_autoescape

from crowdperf.hub.query_types import SCHEDULING
from crowdperf.hub.web.urls import ServerUrls

HERE = Path(__file__).resolve().parent
PLOTLY_JS = Path(plotly.__file__).resolve().parent / "package_data" / "plotly.min.js"


def template_environment() -> Environment:
    env = Environment(
        loader=FileSystemLoader(HERE / "templates"),
        autoescape=select_autoescape(default=True, default_for_string=True),
        trim_blocks=True,
        lstrip_blocks=True,
    )
    env.filters["sig"] = significant
    env.globals["labels"] = METRIC_LABELS
    env.globals["scheduling"] = SCHEDULING
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


def render_page(request: Request, template: str, status: int = 200, **context: object) -> HTMLResponse:
    """One template rendered with the server's links."""
    env: Environment = request.app.state.templates
    html = env.get_template(template).render(urls=ServerUrls(), **context)
    return HTMLResponse(html, status_code=status)
