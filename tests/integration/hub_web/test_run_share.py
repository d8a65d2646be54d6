"""A run launched from ``crowdperf ui`` ends in the hub with its standing, then goes out through the
four share steps of its page (hub/web/run_share.py): a real tiny run, real submission trees, the
real checker, a real second hub over HTTP with a real upload token, a real git repository. Each
outcome is what the step's CLI command would say, failures as ``error:`` / ``  fix:``."""

from __future__ import annotations

import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from hub_live import live_server
from ui_rig import QUICK, launch_token, make_ui, wait_for

from crowdperf.hub.auth import create_token
from crowdperf.hub.store import Store, open_store
from crowdperf.hub.web.app import WebConfig, create_app
from crowdperf.hub.web.run_jobs import JobState, ShareOutcome
from crowdperf.hub.web.run_pages import UiState

LOCAL = ("127.0.0.1", 50000)


@pytest.fixture
def stores(tmp_path: Path) -> Iterator[tuple[Store, Store]]:
    local, shared = open_store(tmp_path / "local.sqlite"), open_store(tmp_path / "shared.sqlite")
    yield local, shared
    local.close()
    shared.close()


def _bare_repo(tmp_path: Path) -> Path:
    bare = tmp_path / "results.git"
    subprocess.run(["git", "init", "--bare", "-q", str(bare)], check=True)
    seed = tmp_path / "seed"
    subprocess.run(["git", "clone", "-q", str(bare), str(seed)], check=True)
    (seed / "README.md").write_text("results\n")
    git = ["git", "-C", str(seed), "-c", "user.name=t", "-c", "user.email=t@t"]
    subprocess.run([*git, "add", "."], check=True)
    subprocess.run([*git, "commit", "-qm", "init"], check=True)
    subprocess.run([*git, "push", "-q", "origin", "HEAD"], check=True)
    return bare


class Page:
    """The finished run's page, as its forms post to it."""

    def __init__(self, client: TestClient, state: UiState, job_id: str, token: str) -> None:
        self.client, self.state, self.job_id, self.token = client, state, job_id, token

    def share(self, step: str, **form: str) -> ShareOutcome:
        r = self.client.post(
            f"/run/jobs/{self.job_id}/share/{step}", data={**form, "launch_token": self.token}
        )
        assert r.status_code == 303 and r.headers["location"].endswith(f"#share-{step}")
        view = self.state.runner.view(self.job_id)
        assert view is not None
        return next(s for s in view.shares if s.action == step)


def test_a_finished_run_is_ranked_then_generated_checked_uploaded_and_pushed(
    stores: tuple[Store, Store], tmp_path: Path
) -> None:
    local, shared = stores
    app, state = make_ui(local, tmp_path, port=8766)
    with TestClient(app, base_url="http://127.0.0.1:8766", client=LOCAL, follow_redirects=False) as client:
        client.get(state.guard.sign_in_path())
        token = launch_token(client.get("/run").text)
        launched = client.post("/run/launch", data={**QUICK, "launch_token": token})
        job_id = launched.headers["location"].rsplit("/", 1)[1]
        done = wait_for(lambda: state.runner.view(job_id), lambda v: not v.active)
        assert done.state is JobState.FINISHED and len(done.result_ids) == 1, (done.error, done.import_note)
        html = client.get(f"/run/jobs/{job_id}").text
        assert "Rank 1 of 1" in html and f'href="/results/{done.result_ids[0]}"' in html
        # the run's power with its meter, or why there is none (this machine has no powercap)
        power = html.split(f'id="power-{done.result_ids[0]}">', 1)[1].split("</p>", 1)[0]
        assert "Power:" in power and ("J/sample" in power or "not measured: " in power), power
        page = Page(client, state, job_id, token)

        early = page.share("check")
        assert not early.ok and early.lines[0] == "error: there is no submission tree yet"
        bad = page.share("generate", submitter="../etc", division="open")
        assert (
            not bad.ok and bad.lines[0].startswith("error: submitter") and bad.lines[1].startswith("  fix:")
        )
        made = page.share("generate", submitter="MyOrg", division="open")
        assert made.ok and made.lines[0].startswith("1 result placed in") and "(round " in made.lines[0]
        assert (tmp_path / "ui" / "runs" / job_id / "submission" / "open" / "MyOrg").is_dir()
        checked = page.share("check")
        assert checked.ok and checked.lines[-1].endswith("submission has errors")  # the step ran; its verdict
        assert any("test-mode run, not submittable" in line for line in checked.lines)

        secret = create_token(shared, "alice").secret
        with live_server(create_app(WebConfig(store=shared, staging_dir=tmp_path / "staging"))) as hub:
            refused = page.share("upload", server=hub, token="cph_wrong")
            assert not refused.ok and refused.lines[0].startswith(
                "error: upload refused by the server (HTTP 401)"
            )
            uploaded = page.share("upload", server=hub, token=secret)
            assert uploaded.ok and "as alice: 1 imported" in uploaded.lines[0], uploaded.lines
        not_http = page.share("upload", server="javascript:alert(1)", token=secret)
        assert not not_http.ok and "is not http(s)://host" in not_http.lines[0]

        repo = f"file://{_bare_repo(tmp_path)}"
        unchecked = page.share("push", repo_url=repo)
        assert not unchecked.ok and "fails `crowdperf submission check`" in unchecked.lines[0]
        pushed = page.share("push", repo_url=repo, force="on")
        assert pushed.ok and pushed.lines[0].startswith("pushed branch crowdperf-"), pushed.lines
        html = client.get(f"/run/jobs/{job_id}").text
        assert "pushed branch crowdperf-" in html and "submission has errors" in html  # shown on the page
        for hostile in ("--upload-pack=touch /tmp/x", "ext::sh -c id", "/just/a/path"):
            refused_url = page.share("push", repo_url=hostile, force="on")
            assert not refused_url.ok and refused_url.lines[0].startswith("error: repository URL")
    state.runner.shutdown()
