"""A served engine whose Redis stops, and comes back empty: availability is refused while it
cannot be vouched for, never guessed; stock feeds go on, since SQL decides; and the projection
comes back fresh, with what was written meanwhile."""

from __future__ import annotations

import signal
import time
import uuid
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from sqlalchemy import Engine, text

from dom.server import GRACEFUL_SHUTDOWN_S
from tests.api.conftest import LOCATIONS, an_hour_ago, sku, stock
from tests.api.faults import OwnRedis, database_url, own_redis, own_schema
from tests.api.served import Served, serve

pytestmark = pytest.mark.server
PROBLEM = "application/problem+json"
CHECK_INTERVAL_S = 0.5  # the served engine's projection check, so a test waits little
BACK_WITHIN_S = 5.0  # the projection answers again within this after Redis does
FAIL_FAST_S = 2.0  # an answer while Redis is down comes within this, not after retries


@pytest.fixture
def redis_server(tmp_path: Path) -> Iterator[OwnRedis]:
    with own_redis(tmp_path / "redis") as server:
        yield server


@pytest.fixture
def schema(postgres_admin: Engine) -> Iterator[str]:
    with own_schema(postgres_admin) as name:
        yield name


@pytest.fixture
def env(schema: str, redis_server: OwnRedis) -> dict[str, str]:
    return {
        "DOM_DATABASE_URL": database_url(schema),
        "DOM_REDIS_URL": redis_server.url,
        "DOM_PROJECTION_CHECK_INTERVAL_S": str(CHECK_INTERVAL_S),
    }


@pytest.fixture
def api(env: dict[str, str], tmp_path: Path) -> Iterator[Served]:
    with serve(tmp_path / "var", env) as served:
        answer = served.admin().put("/v1/locations", json={"locations": LOCATIONS})
        assert answer.status_code == 200, answer.text
        yield served


def adjust(item: str, delta: int, location: str = "WH-1") -> dict:
    return {"event_id": f"a-{uuid.uuid4().hex}", "location": location, "sku": item,
            "type": "adjust", "quantity": delta, "occurred_at": an_hour_ago(), "source": "test"}  # fmt: skip


def timed(call, *args, **kwargs) -> tuple[httpx.Response, float]:
    started = time.monotonic()
    answer = call(*args, **kwargs)
    return answer, time.monotonic() - started


def test_availability_is_refused_while_redis_is_down_feeds_go_on_and_it_comes_back_fresh(
    api: Served, redis_server: OwnRedis, postgres_admin: Engine, schema: str
) -> None:
    item, newcomer = sku(), sku()
    stock(api, ("WH-1", item, 7))
    client = api.client(api.key("availability:read", "stock:write", "reservations:write"))
    assert client.get(f"/v1/availability/{item}").json()["available"] == 7

    redis_server.stop()
    answer, took_s = timed(client.get, f"/v1/availability/{item}")
    assert answer.status_code == 503 and answer.headers["content-type"] == PROBLEM, answer.text
    assert answer.json()["type"].endswith("projection-unavailable")
    assert took_s < FAIL_FAST_S, f"a refusal took {took_s:.1f} s"
    ready = httpx.get(api.url + "/readyz", timeout=10)
    assert ready.status_code == 503 and ready.json()["checks"]["redis"] != "ok"

    events = [adjust(item, 5), {**adjust(newcomer, 0), "type": "count", "quantity": 3}]
    answer, took_s = timed(client.post, "/v1/stock-events", json={"events": events})
    assert answer.status_code == 200, answer.text
    assert [v["outcome"] for v in answer.json()["verdicts"]] == ["applied", "applied"]
    assert took_s < FAIL_FAST_S, f"a feed took {took_s:.1f} s"
    hold = {"id": f"cart-{uuid.uuid4().hex}", "lines": [{"sku": item, "quantity": 1}]}
    answer = client.post("/v1/reservations", json=hold)
    assert answer.status_code == 503 and answer.headers["content-type"] == PROBLEM, answer.text
    assert on_hand(postgres_admin, schema, "WH-1", item) == 12  # durable in SQL meanwhile

    redis_server.start()  # empty: a restart without persistence
    seen = _answers_until_served(client, item)
    assert {(503, None), (200, 12)} >= set(seen), f"answers while it came back: {seen}"
    assert client.get(f"/v1/availability/{newcomer}").json()["available"] == 3
    assert client.get(f"/v1/reservations/{hold['id']}").status_code == 404  # refused: not held
    ready = _ready_within(api, BACK_WITHIN_S)
    assert ready.status_code == 200, (
        f"not ready {BACK_WITHIN_S} s after Redis came back: {ready.text}"
    )


def test_a_server_stopped_while_redis_is_down_exits_in_time_and_its_writes_are_served_after(
    api: Served, redis_server: OwnRedis, env: dict[str, str]
) -> None:
    item = sku()
    stock(api, ("WH-1", item, 7))
    client = api.client(api.key("stock:write"))
    redis_server.stop()
    answer = client.post("/v1/stock-events", json={"events": [adjust(item, -2)]})
    assert answer.status_code == 200, answer.text  # in SQL; its projection write waits

    api.process.send_signal(signal.SIGTERM)
    assert api.process.wait(GRACEFUL_SHUTDOWN_S) == 0, api.log.read_text()[-3000:]

    redis_server.start()
    with serve(api.data_dir, env) as again:
        reader = again.client(again.key("availability:read"))
        assert reader.get(f"/v1/availability/{item}").json()["available"] == 5


def on_hand(admin: Engine, schema: str, location: str, item: str) -> int:
    with admin.connect() as conn:
        return conn.execute(
            text(f"SELECT on_hand FROM {schema}.position WHERE location = :loc AND sku = :sku"),
            {"loc": location, "sku": item},
        ).scalar_one()


def _ready_within(api: Served, within_s: float) -> httpx.Response:
    deadline = time.monotonic() + within_s
    while (ready := httpx.get(api.url + "/readyz", timeout=10)).status_code != 200:
        if time.monotonic() > deadline:
            break
        time.sleep(0.1)
    return ready


def _answers_until_served(client: httpx.Client, item: str) -> list[tuple[int, int | None]]:
    """Every answer, as (status, units shown), until one is not a refusal."""
    seen: list[tuple[int, int | None]] = []
    deadline = time.monotonic() + BACK_WITHIN_S
    while not seen or seen[-1][0] == 503:
        assert time.monotonic() < deadline, f"no answer {BACK_WITHIN_S} s after Redis: {seen[-3:]}"
        answer = client.get(f"/v1/availability/{item}")
        if answer.status_code == 503:
            assert answer.headers["content-type"] == PROBLEM, answer.text
        seen.append((answer.status_code, answer.json().get("available")))
        time.sleep(0.01)
    return seen
