"""A served engine that loses its SQL ledger (a proxy in front of PostgreSQL is cut): every write
is refused with a 503 and changes nothing, and once SQL answers again writes go through, without
restarting the server."""

from __future__ import annotations

import time
import uuid
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from sqlalchemy import Engine

from tests.api.conftest import LOCATIONS, an_hour_ago, sku, stock
from tests.api.faults import SqlProxy, database_url, own_schema, sql_proxy
from tests.api.served import Served, serve
from tests.conftest import REDIS_URL

pytestmark = pytest.mark.server
PROBLEM = "application/problem+json"
SPARE_STORE = {"id": "ST-9", "type": "store", "lat": 47.22, "lon": -1.55,
               "capabilities": ["pickup"], "lead_time_hours": 2}  # fmt: skip


@pytest.fixture
def proxy() -> Iterator[SqlProxy]:
    with sql_proxy() as through:
        yield through


@pytest.fixture
def api(postgres_admin: Engine, server_redis, proxy: SqlProxy, tmp_path: Path) -> Iterator[Served]:
    with own_schema(postgres_admin) as schema:
        env = {
            "DOM_DATABASE_URL": database_url(schema, port=proxy.port),
            "DOM_REDIS_URL": REDIS_URL,
            "DOM_REDIS_PREFIX": schema,
        }
        try:
            with serve(tmp_path / "var", env) as served:
                answer = served.admin().put("/v1/locations", json={"locations": LOCATIONS})
                assert answer.status_code == 200, answer.text
                yield served
        finally:
            server_redis.delete(*server_redis.keys(f"{schema}:*") or ["-"])


def count(item: str, units: int, location: str = "WH-1") -> dict:
    return {"event_id": f"c-{uuid.uuid4().hex}", "location": location, "sku": item,
            "type": "count", "quantity": units, "occurred_at": an_hour_ago(), "source": "test"}  # fmt: skip


def refused(answer: httpx.Response) -> bool:
    """A 503 problem saying the ledger is away."""
    return (
        answer.status_code == 503
        and answer.headers["content-type"] == PROBLEM
        and answer.json()["type"].endswith("ledger-unavailable")
        and "Retry-After" in answer.headers
    )


def while_cut(
    proxy: SqlProxy, client: httpx.Client, method: str, url: str, body: dict
) -> httpx.Response:
    """The request's answer while SQL is unreachable. The key was just admitted, so the server
    knows it without asking SQL (for api.access.KEY_CACHE_S): the write itself meets the cut."""
    assert client.get("/v1/reservations/a-hold-nobody-made").status_code == 404
    proxy.cut()
    try:
        return client.request(method, url, json=body)
    finally:
        proxy.restore()


def test_writes_while_sql_is_unreachable_are_refused_change_nothing_and_go_through_after(
    api: Served, proxy: SqlProxy
) -> None:
    item, other = sku(), sku()
    stock(api, ("WH-1", item, 5))
    client = api.client(api.key("stock:write", "reservations:write", "network:write"))
    hold = {"id": f"cart-{uuid.uuid4().hex}", "lines": [{"sku": item, "quantity": 2}]}
    events = {"events": [count(other, 4), count(item, 9, "ST-1")]}
    network = {"locations": [SPARE_STORE]}

    answers = [
        while_cut(proxy, client, "POST", "/v1/stock-events", events),
        while_cut(proxy, client, "POST", "/v1/reservations", hold),
        while_cut(proxy, client, "PUT", "/v1/locations", network),
    ]
    assert all(refused(answer) for answer in answers), [a.text for a in answers]

    answer = client.post("/v1/stock-events", json=events)
    assert answer.status_code == 200, answer.text
    assert [v["outcome"] for v in answer.json()["verdicts"]] == ["applied", "applied"]
    assert client.get(f"/v1/reservations/{hold['id']}").status_code == 404
    reader = api.client(api.key("availability:read"))
    assert reader.get("/v1/locations/ST-9").status_code == 404
    held = client.post("/v1/reservations", json=hold)
    assert held.status_code == 201 and held.headers.get("Idempotent-Replayed") is None, held.text
    assert client.put("/v1/locations", json=network).json()["written"] == 1
    assert reader.get(f"/v1/availability/{item}").json()["available"] == 5 + 9 - 2


def test_checkout_keeps_reading_availability_while_sql_is_unreachable(
    api: Served, proxy: SqlProxy
) -> None:
    item = sku()
    stock(api, ("WH-1", item, 6))
    reader = api.client(api.key("availability:read"))
    assert reader.get(f"/v1/availability/{item}").json()["available"] == 6  # the key is known now
    proxy.cut()
    try:
        time.sleep(2.5)  # past the key cache: the server cannot ask SQL about the key any more
        answers = [reader.get(f"/v1/availability/{item}") for _ in range(3)]
        stranger = api.client("dom_a-key-this-server-never-saw")
        unknown = stranger.get(f"/v1/availability/{item}")
    finally:
        proxy.restore()
    assert [(a.status_code, a.json()["available"]) for a in answers] == [(200, 6)] * 3
    assert unknown.status_code == 503  # never let in: it cannot be checked
