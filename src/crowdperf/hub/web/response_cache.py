"""A response cache keyed on the store's write version, and the security headers, as plain ASGI
middleware (Starlette's ``BaseHTTPMiddleware`` costs ~0.5 ms a request on this 2-core machine).

A crowd asks the same few views again and again, and the data changes only when someone writes
(import, upload, hide, delete). So an anonymous ``GET`` answer is kept under
``(store.write_version(), path, query)``: the write version grows with every change of
``results`` in any process (triggers, migration 0003), so a kept answer is never served after the
data moved on; reading the version is one primary-key lookup (~0.1 ms). Concurrent requests for
the same missing answer wait for the first one's instead of computing it again (a write makes
every view miss at once: without that, 20 clients would each compute the same Pareto front).

Not cached: requests with an ``Authorization`` header or a cookie (their answer may show the
viewer's hidden results), anything but ``GET`` and ``200``, answers over ``max_entry_bytes``, and
what does not come from the store (``NOT_KEPT``: static files, the command builder).
"""

from __future__ import annotations

import asyncio
from collections import OrderedDict
from collections.abc import Awaitable, Callable, MutableMapping
from dataclasses import dataclass
from typing import Any

from crowdperf.hub.store import Store

Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]
ASGIApp = Callable[[Scope, Receive, Send], Awaitable[None]]

MIB = 1024 * 1024


@dataclass(frozen=True)
class CacheLimits:
    max_bytes: int = 64 * MIB  # all kept answers of the current write version
    max_entry_bytes: int = 8 * MIB


@dataclass(frozen=True)
class _Answer:
    start: Message  # http.response.start (status, headers)
    body: bytes


class SecurityHeaders:
    """Adds the site's security headers to every response."""

    def __init__(self, app: ASGIApp, headers: dict[str, str]) -> None:
        self.app = app
        self.headers = [(k.lower().encode(), v.encode()) for k, v in headers.items()]
        self.names = {k for k, _ in self.headers}

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return

        async def with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                kept = [h for h in message.get("headers", []) if h[0] not in self.names]
                message["headers"] = kept + self.headers
            await send(message)

        await self.app(scope, receive, with_headers)


# answers that do not come from the store (static files; the command builder reads the workload
# and backend registries, which may change without a write; crowdperf ui's Run pages and their
# event streams): never kept
NOT_KEPT = ("/static/", "/api/commands", "/api/choices", "/builder", "/docs", "/run")


def _cacheable(scope: Scope) -> bool:
    if scope["type"] != "http" or scope["method"] != "GET" or scope["path"].startswith(NOT_KEPT):
        return False
    return not any(name in (b"authorization", b"cookie") for name, _ in scope.get("headers", ()))


class ResponseCache:
    """ASGI middleware: kept answers per write version (see the module docstring)."""

    def __init__(self, app: ASGIApp, store: Store, limits: CacheLimits | None = None) -> None:
        self.app = app
        self.store = store
        self.limits = limits or CacheLimits()
        self._version: int | None = None
        self._answers: OrderedDict[tuple[str, bytes], _Answer] = OrderedDict()
        self._bytes = 0
        self._pending: dict[tuple[int, str, bytes], asyncio.Future[_Answer | None]] = {}
        self.hits = self.misses = 0

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if not _cacheable(scope):
            await self.app(scope, receive, send)
            return
        version = self.store.write_version()
        if version != self._version:  # the data moved on: nothing kept is true any more
            self._version, self._bytes = version, 0
            self._answers.clear()
        key = (scope["path"], scope.get("query_string", b""))
        answer = self._answers.get(key)
        if answer is None:
            answer = await self._compute(scope, receive, version, key)
            if answer is None:  # the computation we waited for failed: try for ourselves
                await self.app(scope, receive, send)
                return
        else:
            self.hits += 1
            self._answers.move_to_end(key)
        await send(answer.start)
        await send({"type": "http.response.body", "body": answer.body})

    async def _compute(
        self, scope: Scope, receive: Receive, version: int, key: tuple[str, bytes]
    ) -> _Answer | None:
        """The answer for ``key``: computed once, however many requests ask for it meanwhile."""
        flight = (version, *key)
        pending = self._pending.get(flight)
        if pending is not None:
            return await asyncio.shield(pending)
        self.misses += 1
        future: asyncio.Future[_Answer | None] = asyncio.get_running_loop().create_future()
        self._pending[flight] = future
        try:
            answer = await self._capture(scope, receive)
            future.set_result(answer)
        except BaseException:
            future.set_result(None)  # the waiters compute it themselves; this request re-raises
            raise
        finally:
            del self._pending[flight]
        keep = answer.start.get("status") == 200 and len(answer.body) <= self.limits.max_entry_bytes
        if keep and version == self._version:
            self._keep(key, answer)
        return answer

    async def _capture(self, scope: Scope, receive: Receive) -> _Answer:
        start: Message = {}
        chunks: list[bytes] = []

        async def capture(message: Message) -> None:
            nonlocal start
            if message["type"] == "http.response.start":
                start = message
            elif message["type"] == "http.response.body":
                chunks.append(message.get("body", b""))

        await self.app(scope, receive, capture)
        return _Answer(start, b"".join(chunks))

    def _keep(self, key: tuple[str, bytes], answer: _Answer) -> None:
        self._answers[key] = answer
        self._bytes += len(answer.body)
        while self._bytes > self.limits.max_bytes and self._answers:
            _, old = self._answers.popitem(last=False)  # least recently used first
            self._bytes -= len(old.body)
