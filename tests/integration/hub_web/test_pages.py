"""Server-rendered pages over a real SQLite hub: table, filters, sort, compare, chart, best,
detail, builder; every user string escaped."""

from __future__ import annotations

import json
import re

from fastapi.testclient import TestClient
from hub_web_rows import XSS


def _systems(html: str) -> list[str]:
    return re.findall(r'<td><a href="/results/\d+">([^<]*)</a></td>', html)


def test_table_lists_sorts_and_filters_with_shareable_urls(client: TestClient) -> None:
    html = client.get("/").text
    assert _systems(html)[:3] == ["h100-box", "a100-box", "t4-node"]  # best throughput first
    assert "6 results" in html
    assert _systems(client.get("/?sort=system_name").text)[1:3] == ["a100-box", "h100-box"]  # "<" sorts first
    filtered = client.get("/?submitter=acm&scenario=Offline").text
    assert _systems(filtered) == ["h100-box", "a100-box"]
    assert (
        'href="/?scenario=Offline&amp;submitter=acm&amp;sort=-accuracy_f1"' in filtered
    )  # sort keeps filters
    assert "/api/results.csv?scenario=Offline&amp;submitter=acm" in filtered
    assert _systems(client.get("/?min_accuracy=90.4&model=").text) == [
        "&lt;script&gt;alert(&#39;x&#39;)&lt;/script&gt;",
        "laptop",
    ]


def test_every_page_escapes_user_strings(client: TestClient) -> None:
    ids = "&".join(f"ids={i}" for i in (1, 4))
    for url in ("/", "/results/4", f"/compare?{ids}", "/chart", "/best?model=bert-99",
                "/?system=" + XSS, "/builder?device=" + XSS):  # fmt: skip
        resp = client.get(url)
        assert resp.status_code == 200, url
        assert XSS not in resp.text, url
        assert "Content-Security-Policy" in resp.headers


def test_compare_shows_deltas_and_warns_when_not_comparable(client: TestClient) -> None:
    html = client.get("/compare?ids=1&ids=2").text
    assert "baseline" in html and "-53.3%" in html  # 28000 vs 60000 samples/s
    assert 'class="delta up small">-21.2%' in html  # less power is better
    mixed = client.get("/compare?ids=1&ids=6").text
    assert 'id="not-comparable"' in mixed
    assert client.get("/compare?ids=1").status_code == 400


def test_chart_embeds_points_and_front_of_the_largest_group(client: TestClient) -> None:
    html = client.get("/chart?x=throughput&y=accuracy").text
    data = json.loads(re.search(r'id="chart-data">(.*?)</script>', html, re.S).group(1))  # type: ignore[union-attr]
    assert len(data["points"]) == 5 and data["x_label"].startswith("Throughput")
    front = {p["label"].split(" ", 1)[1] for p in data["points"] if p["on_front"]}
    assert front == {"h100-box", "a100-box", XSS, "laptop"}  # t4-node is dominated
    assert "/static/plotly.min.js" in html
    assert client.get("/chart?x=cost&y=cost").status_code == 400
    bogus = client.get("/chart?x=bogus")
    assert bogus.status_code == 400 and "<nav>" in bogus.text and "x: " in bogus.text  # the site's error page


def test_best_explains_the_winner(client: TestClient) -> None:
    html = client.get("/best?model=bert-99&scenario=Offline&min_accuracy_f1=90.2").text
    assert "a100-box (8x NVIDIA A100-SXM-80GB" in html and "runner-up" in html


def test_detail_page_has_provenance_logs_and_a_command(client: TestClient) -> None:
    html = client.get("/results/1").text
    for part in ("Content hash", "Comparison key", "mlperf_log_summary.txt", 'id="reproduce"',
                 "crowdperf run --model bert-99 --backend onnxruntime --device cuda"):  # fmt: skip
        assert part in html
    assert client.get("/results/999").status_code == 404


def test_builder_renders_both_commands(client: TestClient) -> None:
    html = client.get("/builder?device=cuda&scenario=all&mode=accuracy").text
    assert "crowdperf run --model bert-99 --backend onnxruntime --device cuda" in html
    assert "--tags=generate-run-cmds,run-mlperf,inference,_accuracy-only,_all-scenarios" in html
    assert "is not one of" in client.get("/builder?device=tpu").text


def test_plotly_is_served_locally(client: TestClient) -> None:
    resp = client.get("/static/plotly.min.js")
    assert resp.status_code == 200 and len(resp.content) > 1_000_000
    assert resp.headers["content-type"].startswith("text/javascript")


def test_unknown_page_is_a_page_and_unknown_api_path_is_json(client: TestClient) -> None:
    page = client.get("/no-such-page")
    assert page.status_code == 404 and page.headers["content-type"].startswith("text/html")
    assert "Not found" in page.text and "Best stack" in page.text  # the site's menu, not raw JSON
    api = client.get("/api/no-such-endpoint")
    assert api.status_code == 404 and api.json() == {"detail": "Not Found"}
