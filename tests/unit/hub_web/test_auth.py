"""Upload tokens are stored hashed; only a result's uploader may hide or delete it."""

from __future__ import annotations

from pathlib import Path

import pytest
from sqlalchemy import select, text

from crowdperf.errors import UsageError
from crowdperf.hub.auth import (
    ApiToken,
    AuthError,
    TokenOwner,
    authenticate,
    authenticate_owner,
    create_token,
    delete_result,
    hide_result,
    revoke_token,
)
from crowdperf.hub.models import Result
from crowdperf.hub.store import Store, open_store


@pytest.fixture
def store(tmp_path: Path) -> Store:
    return open_store(tmp_path / "hub.sqlite")


def _result(store: Store, uploader: str | None) -> int:
    row = Result(
        content_hash=f"h{uploader}", comparison_key="k", round="v5.1", division="open", category="edge",
        submitter="s", system_name="x", model="bert-99", scenario="Offline", metric="m", unit="samples/s",
        value=1.0, valid=True, source="t", path="p", uploader=uploader,
    )  # fmt: skip
    with store.session() as s:
        s.add(row)
        s.flush()
        return row.id


def test_token_is_shown_once_and_stored_as_sha256(store: Store) -> None:
    created = create_token(store, "alice")
    assert created.secret.startswith("cph_") and len(created.secret) > 40
    with store.session() as s:
        stored = s.execute(select(ApiToken)).scalar_one()
        dump = "".join(str(r) for r in s.execute(text("SELECT * FROM api_tokens")))
    assert created.secret not in dump and len(stored.token_sha256) == 64
    assert authenticate(store, created.secret) == "alice"


def test_bad_duplicate_and_revoked_tokens(store: Store) -> None:
    created = create_token(store, "alice")
    with pytest.raises(UsageError, match="exists"):
        create_token(store, "alice")
    for bad in ("../bob", "alice\n", ".hidden", "a" * 65, "CON"):  # names.py's one rule
        with pytest.raises(UsageError, match="token name"):
            create_token(store, bad)
    for bad in (None, "", "cph_wrong", created.secret + "x", "Bearer " + created.secret):
        with pytest.raises(AuthError):
            authenticate(store, bad)
    revoke_token(store, "alice")
    with pytest.raises(AuthError, match="revoked"):
        authenticate(store, created.secret)


def test_only_the_uploader_may_hide_or_delete(store: Store) -> None:
    mine, theirs, official = _result(store, "alice"), _result(store, "bob"), _result(store, None)
    hide_result(store, "alice", mine)
    with store.session() as s:
        assert s.get(Result, mine).hidden is True
    hide_result(store, "alice", mine, hidden=False)
    for rid in (theirs, official):
        with pytest.raises(AuthError, match="not uploaded by"):
            hide_result(store, "alice", rid)
        with pytest.raises(AuthError):
            delete_result(store, "alice", rid)
    delete_result(store, "alice", mine)
    with store.session() as s:
        assert s.get(Result, mine) is None and s.get(Result, theirs) is not None
    with pytest.raises(UsageError, match="no result"):
        delete_result(store, "alice", mine)


def test_a_revoked_name_is_given_a_new_token_an_admin_sees_and_moderates(store: Store) -> None:
    old = create_token(store, "alice").secret
    mine = _result(store, "alice")
    revoke_token(store, "alice")
    new = create_token(store, "alice").secret
    assert authenticate(store, new) == "alice" and new != old
    with pytest.raises(AuthError):
        authenticate(store, old)
    hide_result(store, authenticate_owner(store, new), mine)
    admin = create_token(store, "mod", admin=True)
    assert authenticate_owner(store, admin.secret) == TokenOwner("mod", admin=True)
    hide_result(store, authenticate_owner(store, admin.secret), mine, hidden=False)
    with pytest.raises(AuthError):  # a plain owner's name string is never an admin
        hide_result(store, "mod", mine)


def test_staging_budget_per_user_and_total() -> None:
    from crowdperf.hub.web.staging import StagingBudget, StagingFull, StagingLimits

    budget = StagingBudget(StagingLimits(per_user_bytes=100, total_bytes=150))
    with budget.account("a") as a1, budget.account("b") as b1:
        a1(60)
        with pytest.raises(StagingFull, match="your uploads"), budget.account("a") as a2:
            a2(50)  # a's two uploads would take 110 > 100
        b1(80)
        with pytest.raises(StagingFull, match="too many uploads"), budget.account("c") as c1:
            c1(20)  # 160 > 150 in total
        assert budget.in_use == 140
    assert budget.in_use == 0
