"""`crowdperf hub export-site`: the static site and its data."""

from __future__ import annotations

import json
from pathlib import Path

from hub_web_rows import ROWS, XSS, add_result
from typer.testing import CliRunner

from crowdperf.cli.main import app
from crowdperf.hub.store import open_store

runner = CliRunner()


def test_export_site_writes_pages_and_data(tmp_path: Path) -> None:
    db = tmp_path / "hub.sqlite"
    store = open_store(db)
    for row in ROWS:
        add_result(store, **row)
    site = tmp_path / "site"
    res = runner.invoke(app, ["hub", "export-site", str(site), "--db", str(db)])
    assert res.exit_code == 0, res.output
    index = (site / "index.html").read_text()
    assert "h100-box" in index and XSS not in index and 'href="results/1.html"' in index
    assert (site / "static/plotly.min.js").stat().st_size > 1_000_000
    assert (site / "chart.html").is_file() and (site / "chart-cost-latency.html").is_file()
    compares = list((site / "compare").glob("*.html"))
    assert len(compares) == 1 and "-53.3%" in compares[0].read_text()  # the Offline group
    data = json.loads((site / "data/results.json").read_text())
    assert data["total"] == 6 and len(data["rows"]) == 6
    assert not (tmp_path / "site.partial").exists()
    # a second export replaces the first
    assert runner.invoke(app, ["hub", "export-site", str(site), "--db", str(db)]).exit_code == 0
