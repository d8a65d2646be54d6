"""The response cache and the JSON encoding of the serve-a-crowd work (issue 15): kept answers
are never served after any write (even one from another connection), viewers with a token are
never served a kept answer, concurrent misses compute once; orjson's bytes are the JSON of
to_jsonable."""

from __future__ import annotations

import asyncio
import json

import httpx
from fastapi.testclient import TestClient
from hub_web_rows import add_result
from sqlalchemy import create_engine, text

from crowdperf.hub import queries
from crowdperf.hub.auth import create_token
from crowdperf.hub.query_types import Constraints, to_jsonable
from crowdperf.hub.store import Store
from crowdperf.hub.web.app import WebConfig, create_app
from crowdperf.hub.web.json_body import encode
from crowdperf.hub.web.response_cache import ResponseCache


def _cache(client: TestClient) -> ResponseCache:
    app = client.app.middleware_stack  # built on the first request
    while not isinstance(app, ResponseCache):
        app = app.app
    return app


def test_kept_answers_end_with_any_write(client: TestClient, filled_store: Store) -> None:
    first = client.get("/api/results?limit=500").json()
    assert client.get("/api/results?limit=500").json() == first
    cache = _cache(client)
    assert (cache.hits, cache.misses) >= (1, 1)
    other = create_engine(filled_store.engine.url)  # a writer that knows nothing of the app
    with other.begin() as conn:
        conn.execute(text("UPDATE results SET system_name = 'renamed' WHERE id = 1"))
    other.dispose()
    names = {r["system_name"] for r in client.get("/api/results?limit=500").json()["rows"]}
    assert "renamed" in names
    add_result(filled_store, submitter="new", system_name="brand-new", throughput=5.0)
    assert "brand-new" in client.get("/").text


def test_viewers_with_a_token_bypass_the_cache(client: TestClient, filled_store: Store) -> None:
    token = create_token(filled_store, "alice").secret
    client.get("/api/results")
    cache = _cache(client)
    hits, misses = cache.hits, cache.misses
    client.get("/api/results", headers={"Authorization": f"Bearer {token}"})
    assert (cache.hits, cache.misses) == (hits, misses)


def test_concurrent_misses_compute_once(filled_store: Store) -> None:
    app = create_app(WebConfig(store=filled_store))

    async def crowd() -> list[int]:
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://hub") as c:
            answers = await asyncio.gather(*(c.get("/api/pareto?x=throughput&y=accuracy") for _ in range(12)))
        return [a.status_code for a in answers]

    assert asyncio.run(crowd()) == [200] * 12
    cache = app.middleware_stack
    while not isinstance(cache, ResponseCache):
        cache = cache.app
    assert cache.misses == 1 and cache.hits == 0  # eleven waited for the first


def test_orjson_bodies_are_the_json_of_to_jsonable(filled_store: Store) -> None:
    answers = [
        queries.list_results(filled_store),
        queries.pareto_front(filled_store, None, ["throughput", "accuracy", "cost"]),
        queries.best_configurations(filled_store, Constraints(valid_only=False)),
        queries.compare_results(filled_store, [1, 2, 3]),
    ]
    for answer in answers:
        assert json.loads(encode(answer)) == json.loads(json.dumps(to_jsonable(answer)))
