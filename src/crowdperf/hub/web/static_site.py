"""``crowdperf hub export-site DIR``: the table, compare and chart pages as static files (for a
results repository's Pages) plus the data as JSON. Same templates and query layer as the server.

    DIR/index.html                  every result, best throughput first
    DIR/results/<id>.html           one page per result (up to ``max_detail_pages``)
    DIR/compare/<key>.html          each comparable group side by side (top 20 by throughput)
    DIR/chart.html, chart-<x>-<y>.html   the scatter for every pair of axes
    DIR/data/results.json           every row (query_types.to_jsonable of the ResultPage)
    DIR/static/                     style.css, chart.js, app.js, plotly.min.js

Written into a temporary sibling folder and renamed at the end: an interrupted export never
leaves a half-written site that looks complete.
"""

from __future__ import annotations

import itertools
import json
import shutil
from dataclasses import dataclass
from pathlib import Path

from jinja2 import Environment

from crowdperf.errors import HubError
from crowdperf.hub import queries
from crowdperf.hub.prices import PriceTable
from crowdperf.hub.query_types import AXES, HubResult, ResultFilter, ResultPage, to_jsonable
from crowdperf.hub.store import Store
from crowdperf.hub.web.app import HERE, PLOTLY_JS, template_environment
from crowdperf.hub.web.lookups import reproduce_command, result_logs
from crowdperf.hub.web.urls import StaticUrls
from crowdperf.hub.web.views import AXIS_LABELS, COLOR_FIELDS, TABLE_COLUMNS, chart_data

COMPARE_MAX = 20


@dataclass(frozen=True)
class SiteReport:
    path: Path
    results: int
    pages: int


def _write(path: Path, text: str) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text, encoding="utf-8")


def _groups(rows: tuple[HubResult, ...]) -> dict[str, list[HubResult]]:
    groups: dict[str, list[HubResult]] = {}
    for r in rows:  # rows come best throughput first
        groups.setdefault(r.comparison_key, []).append(r)
    return groups


def _render_pages(env: Environment, store: Store, out: Path, page: ResultPage,
                  prices: PriceTable | None, max_detail_pages: int) -> int:  # fmt: skip
    pages = 0
    rows = page.rows
    groups = _groups(rows)
    links = [
        {"href": StaticUrls().compare_key(k), "count": len(g),
         "label": f"{g[0].model} · {g[0].scenario} · round {g[0].round} · {g[0].division}"}
        for k, g in groups.items() if len(g) > 1
    ]  # fmt: skip
    _write(out / "index.html", env.get_template("results.html").render(
        urls=StaticUrls(), page="results", rows=rows, result_page=_PageInfo(len(rows), page.meter_note),
        columns=TABLE_COLUMNS, sort="-throughput", sort_links=None, pager=None, groups=links, filters={},
    ))  # fmt: skip
    pages += 1
    for key, group in groups.items():
        if len(group) > 1:
            ids = [r.id for r in group[:COMPARE_MAX]]
            view = queries.compare_results(store, ids, prices=prices)
            _write(
                out / "compare" / f"{key}.html",
                env.get_template("compare.html").render(urls=StaticUrls(1), page="results", view=view),
            )
            pages += 1
    for r in rows[:max_detail_pages]:
        command, origin = reproduce_command(r)
        _write(out / "results" / f"{r.id}.html", env.get_template("detail.html").render(
            urls=StaticUrls(1), page="results", r=r, logs=result_logs(store, r.id), command=command,
            command_origin=origin,
        ))  # fmt: skip
        pages += 1
    for x, y in itertools.permutations(AXES, 2):
        data = chart_data(queries.pareto_front(store, ResultFilter(), [x, y], prices=prices, focus=""), None)
        html = env.get_template("chart.html").render(
            urls=StaticUrls(), page="chart", data=data, chart_json=data.to_json(StaticUrls().result),
            axes=AXIS_LABELS, colors=COLOR_FIELDS, color="accelerator", filters={},
        )  # fmt: skip
        _write(out / f"chart-{x}-{y}.html", html)
        if (x, y) == ("throughput", "accuracy"):
            _write(out / "chart.html", html)
        pages += 1
    return pages


@dataclass(frozen=True)
class _PageInfo:
    total: int
    meter_note: str = ""  # every row is shown: its figures may come from several power meters
    offset: int = 0


def export_site(store: Store, dest: Path, *, prices: PriceTable | None = None,
                max_detail_pages: int = 5000) -> SiteReport:  # fmt: skip
    """Write the static site to ``dest`` (replaced if it exists)."""
    dest = dest.resolve()
    if dest.exists() and not dest.is_dir():
        raise HubError(f"{dest} exists and is not a directory", hint="pass a folder path")
    tmp = dest.with_name(dest.name + ".partial")
    shutil.rmtree(tmp, ignore_errors=True)
    tmp.mkdir(parents=True)
    try:
        page = queries.list_results(store, ResultFilter(), sort="-throughput", limit=None, prices=prices)
        env = template_environment()
        pages = _render_pages(env, store, tmp, page, prices, max_detail_pages)
        _write(tmp / "data" / "results.json", json.dumps(to_jsonable(page), indent=1))
        shutil.copytree(HERE / "static", tmp / "static")
        shutil.copyfile(PLOTLY_JS, tmp / "static" / "plotly.min.js")
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    if dest.exists():
        old = dest.with_name(dest.name + ".old")
        shutil.rmtree(old, ignore_errors=True)
        dest.rename(old)
        tmp.rename(dest)
        shutil.rmtree(old, ignore_errors=True)
    else:
        tmp.rename(dest)
    return SiteReport(path=dest, results=len(page.rows), pages=pages)
