"""Who may use ``crowdperf ui``'s Run pages (hub/web/run_guard.py) and what a launch may ask
(hub/web/run_form.py): the real app, through HTTP, with the real runner and backends. Nothing
here gets as far as starting a run; test_local_runner.py and test_browser_run.py do."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from ui_rig import QUICK, launch_token, make_ui

from crowdperf.hub.store import Store, open_store
from crowdperf.hub.web.app import WebConfig, create_app
from crowdperf.hub.web.run_pages import UiState

LOCAL = ("127.0.0.1", 50000)
BASE = "http://127.0.0.1:8766"


@pytest.fixture
def store(tmp_path: Path) -> Iterator[Store]:
    """SQLite only: who may launch does not depend on the database (the conftest's runs both)."""
    st = open_store(tmp_path / "hub.sqlite")
    yield st
    st.close()


@pytest.fixture
def ui(store: Store, tmp_path: Path) -> Iterator[tuple[TestClient, UiState]]:
    app, state = make_ui(store, tmp_path, port=8766)
    with TestClient(app, base_url=BASE, client=LOCAL, follow_redirects=False) as client:
        yield client, state
    state.runner.shutdown()


def _signed_in(client: TestClient, state: UiState) -> str:
    """Sign in with the printed link; the launch token of the Run page."""
    r = client.get(state.guard.sign_in_path())
    assert r.status_code == 303 and r.headers["location"] == "/run"  # the token leaves the address
    cookie = r.headers["set-cookie"].lower()
    assert "httponly" in cookie and "samesite=strict" in cookie and "path=/run" in cookie
    page = client.get("/run")
    assert page.status_code == 200
    return launch_token(page.text)


def test_the_run_page_needs_the_printed_link(ui: tuple[TestClient, UiState]) -> None:
    client, state = ui
    refused = client.get("/run")
    assert refused.status_code == 401 and "the link `crowdperf ui` printed" in refused.text
    assert client.get("/run?token=guess").status_code == 401
    token = _signed_in(client, state)
    assert token != state.guard.secret and state.guard.secret not in client.get("/run").text
    paths = ("/run/jobs/20260101-000000-1", "/run/jobs/20260101-000000-1/events")
    for path in paths:
        assert client.get(path).status_code == 404  # signed in: a job this server does not know
    client.cookies.clear()
    client.cookies.set(state.guard.cookie_name, "wrong", path="/run")
    for path in paths:
        assert client.get(path).status_code == 401


def test_other_machines_and_rebinding_hosts_are_refused(store: Store, tmp_path: Path) -> None:
    app, state = make_ui(store, tmp_path, port=8766)
    link = state.guard.sign_in_path()
    with TestClient(app, base_url=BASE, client=("10.1.2.3", 40000), follow_redirects=False) as remote:
        assert remote.get(link).status_code == 403  # even with the secret
        assert remote.get("/").status_code == 200  # the hub's own pages stay open, as hub serve's
    with TestClient(app, base_url="http://evil.example:8766", client=LOCAL, follow_redirects=False) as c:
        r = c.get(link)
        assert r.status_code == 403 and "unexpected Host" in r.text  # a DNS-rebinding page
    state.runner.shutdown()


def test_remote_launch_when_allowed_still_needs_the_link(store: Store, tmp_path: Path) -> None:
    app, state = make_ui(store, tmp_path, port=8766, allow_remote=True)  # --allow-remote-launch
    remote = ("198.51.100.7", 40000)
    with TestClient(app, base_url="http://203.0.113.5:8766", client=remote, follow_redirects=False) as c:
        assert c.get("/run").status_code == 401
        assert c.get(state.guard.sign_in_path()).status_code == 303
        assert c.get("/run").status_code == 200
    state.runner.shutdown()


def test_a_post_without_the_launch_token_is_refused(ui: tuple[TestClient, UiState]) -> None:
    client, state = ui
    token = _signed_in(client, state)
    cases = [
        ({**QUICK}, {}),  # no token
        ({**QUICK, "launch_token": "0" * 64}, {}),  # a wrong one
        ({**QUICK, "launch_token": token}, {"Origin": "http://evil.example"}),  # another site's form
        ({**QUICK, "launch_token": token}, {"Sec-Fetch-Site": "cross-site"}),
    ]
    for form, headers in cases:
        r = client.post("/run/launch", data=form, headers=headers)
        assert r.status_code == 403, (form.get("launch_token"), headers)
    client.cookies.clear()
    assert client.post("/run/launch", data={**QUICK, "launch_token": token}).status_code == 401
    assert state.runner.views() == []  # nothing was launched


@pytest.mark.parametrize(
    ("change", "says"),
    [
        ({"model": "no-such-model"}, "model 'no-such-model' cannot run here"),
        ({"device": "cuda"}, "device 'cuda' cannot run here"),  # no GPU on this machine
        ({"precision": "bf16"}, "cannot run here: onnxruntime runs the fp32 (or int8) ONNX model"),
        ({"precision": "fp16"}, "precision 'fp16' cannot run here"),  # no backend runs it on a CPU
        ({"scenario": "Offline; rm -rf /"}, "scenario"),
        ({"count": "0"}, "samples '0' is not a whole number"),
        ({"count": "1e9"}, "samples '1e9' is not a whole number"),
    ],
)
def test_every_launch_value_is_one_that_runs_here(
    ui: tuple[TestClient, UiState], change: dict[str, str], says: str
) -> None:
    client, state = ui
    if change.get("device") == "cuda" and any(d.kind == "cuda" for d in state.capabilities.usable_devices):
        pytest.skip("this machine has a GPU")
    r = client.post("/run/launch", data={**QUICK, **change, "launch_token": _signed_in(client, state)})
    assert r.status_code == 400 and says in r.text.replace("&#39;", "'")
    assert state.runner.views() == []


def test_a_field_given_twice_is_refused(ui: tuple[TestClient, UiState]) -> None:
    client, state = ui
    token = _signed_in(client, state)
    body = f"launch_token={token}&model=tiny&model=bert-99"
    r = client.post(
        "/run/launch", content=body, headers={"Content-Type": "application/x-www-form-urlencoded"}
    )
    assert r.status_code == 400 and "more than once" in r.text


def test_the_run_page_offers_what_runs_here(ui: tuple[TestClient, UiState]) -> None:
    client, state = ui
    _signed_in(client, state)
    html = client.get("/run").text
    caps = state.capabilities
    assert 'id="f-model"' in html and 'id="support-table"' in html and 'id="run-support"' in html
    assert all(f"<option >{d.value}</option>" in html or f"<option selected>{d.value}</option>" in html
               for d in caps.usable_devices)  # fmt: skip
    assert "fp16" not in caps.precisions or any(
        s.precision == "fp16" and s.status != "unavailable" for s in caps.support
    )
    assert "crowdperf run --model tiny --backend onnxruntime" in html  # the command builder's line
    assert "crowdperf cm run script" in html
    assert 'href="/run"' in html  # the nav's Run link


def test_hub_serve_has_no_run_pages(store: Store) -> None:
    with TestClient(create_app(WebConfig(store=store)), base_url=BASE, client=LOCAL) as client:
        assert client.get("/run").status_code == 404
        assert client.post("/run/launch", data=QUICK).status_code in (404, 405)
        assert 'href="/run"' not in client.get("/").text
