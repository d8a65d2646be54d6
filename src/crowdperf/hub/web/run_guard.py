"""Who may use ``crowdperf ui``'s Run pages: launching a benchmark runs code on this machine, so
every Run page and stream needs a signed-in browser, and every POST also the page's launch token.

    sign in     the server makes a random secret at start and prints the link
                ``http://127.0.0.1:8766/run?token=SECRET`` (as Jupyter does); opening it sets an
                HttpOnly, SameSite=Strict cookie for ``/run`` and drops the token from the address
    POST        (launch, cancel, share) carries ``launch_token``, a value derived from the secret
                that only signed-in pages contain; its ``Sec-Fetch-Site``, when the browser sends
                it, is same-origin, and its ``Origin``, when it names one, is this server. A form on
                another site can neither read the token nor send the cookie: no cross-site request
                forgery.
    loopback    unless the server was started with ``--allow-remote-launch``, a client that is not
                on this machine, or a ``Host`` header that does not name loopback (a DNS-rebinding
                page), is refused before anything else.

The hub's other pages (results, chart, ...) are as open as ``hub serve``'s.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
from dataclasses import dataclass, field
from urllib.parse import urlsplit

from fastapi import HTTPException, Request

from crowdperf.hub.web.server import is_loopback

COOKIE = "crowdperf_ui"
COOKIE_PATH = "/run"


@dataclass(frozen=True)
class LaunchGuard:
    secret: str = field(default_factory=lambda: secrets.token_urlsafe(32), repr=False)
    allow_remote: bool = False  # --allow-remote-launch: other machines may sign in with the link
    port: int = 0  # the server's port, part of the cookie's name (cookies ignore ports)

    @property
    def cookie_name(self) -> str:
        return f"{COOKIE}_{self.port}"

    @property
    def launch_token(self) -> str:
        """What a signed-in page puts in its forms; never the secret itself."""
        return hmac.new(self.secret.encode(), b"launch", hashlib.sha256).hexdigest()

    def sign_in_path(self) -> str:
        return f"{COOKIE_PATH}?token={self.secret}"

    def token_matches(self, token: str | None) -> bool:
        return bool(token) and hmac.compare_digest(str(token).encode(), self.secret.encode())

    def signed_in(self, request: Request) -> bool:
        return self.token_matches(request.cookies.get(self.cookie_name))

    def check_client(self, request: Request) -> None:
        """403 for another machine, or a Host that is not loopback, unless remote launch is on."""
        if self.allow_remote:
            return
        client = request.client.host if request.client else ""
        if not is_loopback(client):
            raise HTTPException(
                403, "the Run pages answer only this machine (start with --allow-remote-launch)"
            )
        host = urlsplit(f"//{request.headers.get('host', '')}").hostname or ""
        if not is_loopback(host):
            raise HTTPException(
                403, f"unexpected Host {host[:60]!r}: open the Run page as 127.0.0.1 or localhost"
            )

    def require_view(self, request: Request) -> None:
        self.check_client(request)
        if not self.signed_in(request):
            raise HTTPException(
                401,
                "the Run page needs the link `crowdperf ui` printed when it started "
                "(http://HOST:PORT/run?token=...): it signs this browser in",
            )

    def require_post(self, request: Request, launch_token: str | None) -> None:
        """A POST that may launch, cancel or share: signed in, the page's token, same origin."""
        self.require_view(request)
        if not launch_token or not hmac.compare_digest(launch_token.encode(), self.launch_token.encode()):
            raise HTTPException(403, "missing or wrong launch token: reload the Run page and try again")
        # With the site's Referrer-Policy no-referrer, Chromium sends "Origin: null" even for this
        # server's own forms: then Sec-Fetch-Site, which a page cannot set, says where it came from.
        origin = request.headers.get("origin")
        if origin not in (None, "null") and urlsplit(origin).netloc != request.headers.get("host", ""):
            raise HTTPException(403, "a request from another site may not launch anything here")
        if request.headers.get("sec-fetch-site", "same-origin") not in ("same-origin", "none"):
            raise HTTPException(403, "a request from another site may not launch anything here")
