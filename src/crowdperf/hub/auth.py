"""Upload tokens and result ownership for the hub's web API.

    token = create_token(store, "alice")        # CreatedToken: the secret is shown once
    owner = authenticate(store, token.secret)    # -> "alice", or AuthError
    hide_result(store, owner, 42) / delete_result(store, owner, 42)
    create_token(store, "mod", admin=True)       # sees every hidden result, may hide/delete any

A revoked name can be given a new token (``create_token`` again): its results keep belonging to
it, so an owner whose token leaked or was lost can manage them again.

Tokens are 32 random bytes (``secrets.token_urlsafe``) prefixed ``cph_``; only their sha256 is
stored. A plain hash is enough here (no salt, no slow KDF) because the secret has 256 bits of
entropy: it cannot be guessed, only stolen, and a stolen database yields no usable token.
A result belongs to the token that uploaded it: ``results.uploader`` holds the token's name.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import Boolean, DateTime, Integer, String, delete, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Mapped, mapped_column

from crowdperf.errors import HubError, UsageError
from crowdperf.hub.models import Base, Result, utcnow
from crowdperf.hub.store import Store
from crowdperf.names import checked_name

TOKEN_PREFIX = "cph_"


class AuthError(HubError):
    """A missing, unknown or revoked token, or an action on a result the token does not own."""


class ApiToken(Base):
    """An upload token: its owner's name and the sha256 of the secret."""

    __tablename__ = "api_tokens"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    name: Mapped[str] = mapped_column(String(64), unique=True)
    token_sha256: Mapped[str] = mapped_column(String(64), unique=True)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    revoked: Mapped[bool] = mapped_column(Boolean, default=False)
    admin: Mapped[bool] = mapped_column(Boolean, default=False)  # migration w002


@dataclass(frozen=True)
class TokenOwner:
    """Who a live token belongs to."""

    name: str
    admin: bool = False


@dataclass(frozen=True)
class CreatedToken:
    name: str
    secret: str  # shown once; never stored


def _digest(secret: str) -> str:
    return hashlib.sha256(secret.encode()).hexdigest()


def create_token(store: Store, name: str, *, admin: bool = False) -> CreatedToken:
    """A new token for ``name`` (letters, digits, ``_.-``): a name not yet used, or one whose
    token was revoked (the new token takes over its results)."""
    checked_name(name, "token name")  # one rule for names (names.py): no "alice\n", no "../x"
    secret = TOKEN_PREFIX + secrets.token_urlsafe(32)
    exists = UsageError(
        f"a live token named {name!r} exists",
        hint=f"pick another name, or revoke it first (crowdperf hub token revoke {name}) to replace it",
    )
    try:
        with store.session() as s:
            row = s.execute(select(ApiToken).where(ApiToken.name == name)).scalar_one_or_none()
            if row is None:
                s.add(ApiToken(name=name, token_sha256=_digest(secret), admin=admin))
            elif row.revoked:
                row.token_sha256, row.revoked, row.admin = _digest(secret), False, admin
                row.created_at = utcnow()
            else:
                raise exists
    except IntegrityError as exc:  # created by someone else at the same moment
        raise exists from exc
    return CreatedToken(name=name, secret=secret)


def authenticate_owner(store: Store, secret: str | None) -> TokenOwner:
    """Who a bearer secret belongs to; AuthError when it is not a live token."""
    if not secret or not secret.startswith(TOKEN_PREFIX) or len(secret) > 200:
        raise AuthError("missing or malformed token", hint="send 'Authorization: Bearer cph_...'")
    digest = _digest(secret)
    with store.session() as s:
        row = s.execute(select(ApiToken).where(ApiToken.token_sha256 == digest)).scalar_one_or_none()
    if row is None or row.revoked or not hmac.compare_digest(row.token_sha256, digest):
        raise AuthError("unknown or revoked token", hint="create one with: crowdperf hub token create NAME")
    return TokenOwner(row.name, row.admin)


def authenticate(store: Store, secret: str | None) -> str:
    """The owner's name for a bearer secret; AuthError when it is not a live token."""
    return authenticate_owner(store, secret).name


def revoke_token(store: Store, name: str) -> None:
    with store.session() as s:
        done = s.execute(update(ApiToken).where(ApiToken.name == name).values(revoked=True)).rowcount  # type: ignore[attr-defined]
    if not done:
        raise UsageError(f"no token named {name!r}")


def _owned(store: Store, owner: str | TokenOwner, result_id: int) -> None:
    with store.session() as s:
        uploader = s.execute(select(Result.uploader).where(Result.id == result_id)).one_or_none()
    if uploader is None:
        raise UsageError(f"no result with id {result_id}")
    if isinstance(owner, TokenOwner):
        if owner.admin:
            return
        owner = owner.name
    if uploader[0] != owner:
        raise AuthError(
            f"result {result_id} was not uploaded by {owner!r}", hint="only its owner may change it"
        )


def hide_result(store: Store, owner: str | TokenOwner, result_id: int, *, hidden: bool = True) -> None:
    """Hide (or show again) one of the owner's results (an admin: any result); hidden rows leave
    every listing but their owner's and an admin's."""
    _owned(store, owner, result_id)
    with store.session() as s:
        s.execute(update(Result).where(Result.id == result_id).values(hidden=hidden))
    store.invalidate()  # filter values list visible results only


def delete_result(store: Store, owner: str | TokenOwner, result_id: int) -> None:
    """Delete one of the owner's results (an admin: any result) for good."""
    _owned(store, owner, result_id)
    with store.session() as s:
        s.execute(delete(Result).where(Result.id == result_id))
    store.invalidate()
