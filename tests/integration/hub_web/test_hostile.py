"""The hub under attack (issue 15), SQLite and PostgreSQL: no stored value breaks a read, hidden
results stay hidden, bad upload content is the uploader's 400 naming files inside the archive
while the good results are stored, NUL is refused everywhere, staging is bounded, a revoked
name can get a new token, pages answer bad parameters with the site's error page."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from hub_web_rows import add_result
from sqlalchemy import select

from crowdperf.hub.auth import create_token, revoke_token
from crowdperf.hub.models import ImportFailure
from crowdperf.hub.store import Store
from crowdperf.hub.web.app import WebConfig, create_app
from crowdperf.hub.web.staging import StagingLimits
from crowdperf.hub.web.submission_checks import structure_check, submission_checker
from crowdperf.hub.web.upload_safety import pack_submission

GZ = {"Content-Type": "application/gzip"}
INF = float("inf")
# stored around the row checks (a database from before them, or plain SQL)
H100, L4 = "NVIDIA H100-SXM-80GB", "NVIDIA L4"
POISON = (
    dict(system_name="inf-box", throughput=INF, value=INF, accuracy_f1=90.0, power_w=300.0),
    dict(system_name="nan-box", throughput=100.0, accuracy_f1=float("nan"), energy_j_per_sample=INF),
    dict(system_name="huge-box", throughput=1e308, accuracy_f1=1e308, power_w=1e308, accelerator_count=8,
         accelerator=H100),
    dict(system_name="tiny-box", throughput=1e-308, accuracy_f1=-INF, accelerator=L4, accelerator_count=1),
    dict(system_name="neg-box", throughput=-INF, latency_ms=INF, scenario="SingleStream", accuracy_f1=90.0),
)  # fmt: skip
READS = (
    "/api/results", "/api/results?sort=-usd_per_million", "/api/results?sort=accuracy_f1",
    "/api/results.csv", "/api/results?sort=-energy_j_per_sample",
    "/api/pareto?x=throughput&y=accuracy", "/api/pareto?x=cost&y=energy&z=latency",
    "/api/pareto?x=throughput&y=cost&max_points=5000", "/api/best", "/api/best?objective=cost",
    "/api/best?objective=accuracy&valid_only=false", "/api/best?objective=energy&max_watts=1e9",
    "/", "/?sort=-usd_per_million", "/chart", "/chart?x=cost&y=energy", "/chart?x=latency&y=accuracy",
    "/best?objective=throughput", "/best?objective=cost",
)  # fmt: skip


def _bearer(secret: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {secret}"}


def _strict_json(text: str) -> object:
    def refuse(name: str) -> None:
        raise AssertionError(f"{name} in a JSON answer")

    return json.loads(text, parse_constant=refuse)


def test_no_stored_value_breaks_a_read(client: TestClient, filled_store: Store) -> None:
    ids = [add_result(filled_store, submitter="poison", **row) for row in POISON]
    for url in READS:
        resp = client.get(url)
        assert resp.status_code == 200, (url, resp.text[:300])
        if url.startswith("/api/") and not url.startswith("/api/results.csv"):
            _strict_json(resp.text)
    for rid in ids:
        assert client.get(f"/results/{rid}").status_code == 200
        _strict_json(client.get(f"/api/results/{rid}").text)
    _strict_json(client.get("/api/compare?" + "&".join(f"ids={i}" for i in ids)).text)
    chart = client.get("/chart").text
    data = chart.split('<script type="application/json" id="chart-data">')[1].split("</script>")[0]
    _strict_json(data)


@pytest.mark.parametrize("url", ["/api/results?submitter=a%00b", "/api/results?model=%00",
                                 "/api/pareto?accelerator=x%00", "/api/best?scenario=%00",
                                 "/api/results?min_accuracy=1e999", "/api/best?max_watts=-1"])  # fmt: skip
def test_nul_and_wild_numbers_in_parameters_are_refused(client: TestClient, url: str) -> None:
    assert client.get(url).status_code in (400, 422)
    page = client.get(url.replace("/api/results", "/").replace("/api/pareto", "/chart").replace("/api", ""))
    assert page.status_code == 400 and "<nav>" in page.text


def test_pages_answer_bad_parameters_with_the_error_page(client: TestClient) -> None:
    for url in ("/?offset=99999999999999999999", "/?offset=-1", "/?valid_only=maybe", "/chart?x=nope",
                "/results/abc", "/results/99999999999", "/compare?ids=x", "/best?objective=speed",
                "/best?min_accuracy_f1=abc"):  # fmt: skip
        resp = client.get(url)
        assert resp.status_code == 400, url
        assert resp.headers["content-type"].startswith("text/html") and "<nav>" in resp.text, url
    assert client.get("/api/results?offset=99999999999").status_code == 422  # the API keeps its 422
    # a parameter given twice is refused, not silently the last one taken
    assert client.get("/api/best?max_watts=abc&max_watts=").status_code == 422
    assert client.get("/?scenario=Offline&scenario=Server").status_code == 400
    assert client.get("/api/compare?ids=1&ids=2").status_code == 200


def _upload(client: TestClient, tree: Path, token: str) -> object:
    return client.post("/api/uploads", content=pack_submission(tree), headers={**GZ, **_bearer(token)})


def test_hidden_results_only_for_their_owner_or_an_admin(
    client: TestClient, filled_store: Store, submission_tree: Path
) -> None:
    alice, bob = create_token(filled_store, "alice").secret, create_token(filled_store, "bob").secret
    admin = create_token(filled_store, "mod", admin=True).secret
    assert _upload(client, submission_tree, alice).status_code == 201
    rid = client.get("/api/results?system=uploaded-box").json()["rows"][0]["id"]
    assert client.post(f"/api/results/{rid}/hide", headers=_bearer(alice)).status_code == 200
    everyone = "/api/results?include_hidden=true&system=uploaded-box"
    for headers, sees in (({}, False), (_bearer(bob), False), (_bearer(alice), True), (_bearer(admin), True)):
        assert (client.get(everyone, headers=headers).json()["total"] == 1) is sees
        assert (client.get(f"/api/results/{rid}", headers=headers).status_code == 200) is sees
        assert (client.get(f"/results/{rid}", headers=headers).status_code == 200) is sees
        assert ("uploaded-box" in client.get("/?include_hidden=true", headers=headers).text) is sees
        compare = client.get(f"/api/compare?ids=1&ids={rid}", headers=headers)
        assert (compare.status_code == 200) is sees
        pareto = client.get("/api/pareto?include_hidden=true&max_points=5000", headers=headers).json()
        assert (rid in {p["id"] for g in pareto["groups"] for p in g["points"]}) is sees
    assert client.get(everyone, headers=_bearer("cph_forged")).status_code == 401
    assert client.get(f"/results/{rid}", headers=_bearer("cph_forged")).status_code == 401
    assert client.post(f"/api/results/{rid}/unhide", headers=_bearer(admin)).status_code == 200


def _corrupt(tree: Path, system: str) -> None:
    detail = next(tree.glob(f"closed/*/results/{system}/*/*/performance/run_1/mlperf_log_detail.txt"))
    detail.write_text(detail.read_text() + ':::MLLOG {"key": broken\n')


@pytest.mark.parametrize("checker", ["structure", "submission"])
def test_bad_content_is_the_uploaders_400_and_the_good_results_are_stored(
    filled_store: Store, tmp_path: Path, offline_logs: Path, checker: str
) -> None:
    from hub_trees import Entry, write_tree

    tree = write_tree(tmp_path / "S", [Entry(s, "Offline", offline_logs) for s in ("good-box", "bad-box")])
    _corrupt(tree, "bad-box")
    check = structure_check if checker == "structure" else submission_checker()
    client = TestClient(create_app(WebConfig(store=filled_store, checker=check, staging_dir=tmp_path / "st")))
    resp = _upload(client, tree, create_token(filled_store, "alice").secret)
    assert resp.status_code == 400, resp.text
    body = resp.json()
    bad = "closed/crowdperf-org/results/bad-box/bert-99/Offline/performance/run_1/mlperf_log_detail.txt"
    assert bad in body["error"] and str(tmp_path) not in resp.text and "upload-" not in resp.text
    assert body["report"]["imported"] == 1 and len(body["report"]["failed"]) == 1
    assert client.get("/api/results?system=good-box").json()["total"] == 1
    with filled_store.session() as s:
        assert s.scalars(select(ImportFailure.path)).all() == [
            "closed/crowdperf-org/results/bad-box/bert-99/Offline"
        ]


def test_nul_in_an_uploaded_file_is_a_400_naming_it(
    client: TestClient, filled_store: Store, submission_tree: Path
) -> None:
    summary = next(submission_tree.glob("closed/*/results/*/*/*/performance/run_1/mlperf_log_summary.txt"))
    summary.write_bytes(summary.read_bytes() + b"\x00")
    resp = _upload(client, submission_tree, create_token(filled_store, "alice").secret)
    assert resp.status_code == 400 and "mlperf_log_summary.txt: contains a NUL byte" in resp.json()["error"]


def test_staging_is_limited(filled_store: Store, submission_tree: Path, tmp_path: Path) -> None:
    size = sum(f.stat().st_size for f in submission_tree.rglob("*") if f.is_file())
    limits = StagingLimits(per_user_bytes=size // 2, total_bytes=size)
    client = TestClient(
        create_app(WebConfig(store=filled_store, staging=limits, staging_dir=tmp_path / "st"))
    )
    resp = _upload(client, submission_tree, create_token(filled_store, "alice").secret)
    assert resp.status_code == 429 and "MiB" in resp.json()["error"]
    assert client.app.state.staging.in_use == 0 and not list((tmp_path / "st").glob("upload-*"))


def test_a_revoked_name_gets_a_new_token_and_keeps_its_results(
    client: TestClient, filled_store: Store, submission_tree: Path
) -> None:
    old = create_token(filled_store, "alice").secret
    assert _upload(client, submission_tree, old).status_code == 201
    rid = client.get("/api/results?system=uploaded-box").json()["rows"][0]["id"]
    revoke_token(filled_store, "alice")
    assert client.post(f"/api/results/{rid}/hide", headers=_bearer(old)).status_code == 401
    new = create_token(filled_store, "alice").secret
    assert client.post(f"/api/results/{rid}/hide", headers=_bearer(new)).status_code == 200
    assert client.post(f"/api/results/{rid}/hide", headers=_bearer(old)).status_code == 401


def test_reproduce_command_says_who_recorded_it(
    client: TestClient, filled_store: Store, submission_tree: Path
) -> None:
    assert _upload(client, submission_tree, create_token(filled_store, "alice").secret).status_code == 201
    rid = client.get("/api/results?system=uploaded-box").json()["rows"][0]["id"]
    page = client.get(f"/results/{rid}").text
    assert "Claimed by the uploader alice" in page and "crowdperf run --model bert-99" in page
    from crowdperf.hub.importer import import_tree

    import_tree(filled_store, submission_tree, source="operator")  # unchanged: the upload stays
    assert "command-builder line" in client.get("/results/1").text  # a row without a command


def test_docs_work_offline(client: TestClient) -> None:
    page = client.get("/docs")
    assert page.status_code == 200 and "cdn" not in page.text.lower()
    for asset in ("/static/swagger-ui-bundle.js", "/static/swagger-ui.css", "/static/swagger-init.js"):
        assert client.get(asset).status_code == 200 and asset in page.text
    assert client.get("/openapi.json").json()["paths"]["/api/results"]
