"""A soak (kept out of CI: `-m slow`): a served engine under holds, feeds and reads on one hot SKU
while its Redis restarts empty and its SQL is cut, again and again. Every answer is a proper one,
no hold is granted that SQL does not hold, the position never holds more than it has, and once the
faults stop, availability is SQL's figure again."""

from __future__ import annotations

import threading
import time
import uuid
from collections import Counter
from collections.abc import Callable, Iterator
from pathlib import Path

import httpx
import pytest
from sqlalchemy import Engine, text

from tests.api.conftest import LOCATIONS, an_hour_ago, sku, stock
from tests.api.faults import OwnRedis, SqlProxy, database_url, own_redis, own_schema, sql_proxy
from tests.api.served import Served, serve

pytestmark = [pytest.mark.slow, pytest.mark.server]
SOAK_S = 60.0
FAULT_EVERY_S = 4.0  # a Redis restart, then an SQL cut, in turn
FAULT_LASTS_S = 1.0
HOLDERS, FEEDERS, READERS = 8, 2, 2
UNITS = 2_000
SETTLED_WITHIN_S = 15.0
PROBLEM = "application/problem+json"
UNAVAILABLE = ("projection-unavailable", "ledger-unavailable", "network-not-published")
PROPER_PROBLEMS = {(409, "not-available"), *((503, slug) for slug in UNAVAILABLE)}


@pytest.fixture
def faults(postgres_admin: Engine, tmp_path: Path) -> Iterator[tuple[OwnRedis, SqlProxy, str]]:
    with (
        own_redis(tmp_path / "redis") as redis_server,
        sql_proxy() as proxy,
        own_schema(postgres_admin) as schema,
    ):
        yield redis_server, proxy, schema


@pytest.fixture
def api(faults: tuple[OwnRedis, SqlProxy, str], tmp_path: Path) -> Iterator[Served]:
    redis_server, proxy, schema = faults
    env = {
        "DOM_DATABASE_URL": database_url(schema, port=proxy.port),
        "DOM_REDIS_URL": redis_server.url,
        "DOM_PROJECTION_CHECK_INTERVAL_S": "0.5",
    }
    with serve(tmp_path / "var", env) as served:
        assert served.admin().put("/v1/locations", json={"locations": LOCATIONS}).is_success
        yield served


def improper(answer: httpx.Response, fine: set[int]) -> str | None:
    """Why an answer is not a proper one (None: it is)."""
    if answer.status_code in fine:
        return None
    if answer.headers["content-type"] == PROBLEM:
        slug = answer.json()["type"].rsplit(":", 1)[1]
        if (answer.status_code, slug) in PROPER_PROBLEMS:
            return None
    return f"{answer.status_code} {answer.text[:200]}"


class Traffic:
    """Client threads calling the API until told to stop, keeping what they were answered."""

    def __init__(self, api: Served, key: str) -> None:
        self.api, self.key = api, key
        self.stop = threading.Event()
        self.lock = threading.Lock()
        self.statuses: Counter[str] = Counter()
        self.improper: list[str] = []
        self.granted: list[str] = []
        self.threads: list[threading.Thread] = []

    def run(self, call: Callable[[httpx.Client], None], times: int) -> None:
        for _ in range(times):
            thread = threading.Thread(target=self._loop, args=(call,), daemon=True)
            thread.start()
            self.threads.append(thread)

    def _loop(self, call: Callable[[httpx.Client], None]) -> None:
        headers = {"Authorization": f"Bearer {self.key}"}
        with httpx.Client(base_url=self.api.url, headers=headers, timeout=30) as client:
            while not self.stop.is_set():
                call(client)

    def note(self, kind: str, answer: httpx.Response, fine: set[int]) -> None:
        why = improper(answer, fine)
        with self.lock:
            self.statuses[f"{kind} {answer.status_code}"] += 1
            if why is not None:
                self.improper.append(f"{kind}: {why}")

    def end(self) -> None:
        self.stop.set()
        for thread in self.threads:
            thread.join(60)


def test_under_redis_restarts_and_sql_cuts_every_answer_is_proper_and_no_unit_is_oversold(
    api: Served, faults: tuple[OwnRedis, SqlProxy, str], postgres_admin: Engine
) -> None:
    redis_server, proxy, schema = faults
    item = sku()
    stock(api, ("WH-1", item, UNITS))
    traffic = Traffic(api, api.key("reservations:write", "stock:write", "availability:read"))

    def hold(client: httpx.Client) -> None:
        body = {"id": f"s-{uuid.uuid4().hex}", "lines": [{"sku": item, "quantity": 1}],
                "ttl_s": 3600}  # fmt: skip
        answer = client.post("/v1/reservations", json=body)
        traffic.note("hold", answer, {201})
        if answer.status_code == 201:
            with traffic.lock:
                traffic.granted.append(body["id"])

    def feed(client: httpx.Client) -> None:
        event = {"event_id": f"r-{uuid.uuid4().hex}", "location": "WH-1", "sku": item,
                 "type": "receive", "quantity": 1, "occurred_at": an_hour_ago(), "source": "soak"}  # fmt: skip
        traffic.note("feed", client.post("/v1/stock-events", json={"events": [event]}), {200})
        time.sleep(0.05)

    def read(client: httpx.Client) -> None:
        traffic.note("read", client.get(f"/v1/availability/{item}"), {200})

    traffic.run(hold, HOLDERS)
    traffic.run(feed, FEEDERS)
    traffic.run(read, READERS)
    try:
        faults_made = inflict_faults(redis_server, proxy)
    finally:
        traffic.end()

    assert not traffic.improper, traffic.improper[:10]
    assert faults_made >= 4 and traffic.statuses["hold 201"], traffic.statuses
    settled = settle(api)
    on_hand, reserved, held = position(postgres_admin, schema, item)
    assert set(traffic.granted) <= held, "a hold was granted that SQL does not hold"
    assert reserved == len(held) <= on_hand
    assert settled.get(f"/v1/availability/{item}").json()["available"] == on_hand - reserved


def inflict_faults(redis_server: OwnRedis, proxy: SqlProxy) -> int:
    """Restart Redis (empty) and cut SQL, in turn, for SOAK_S; returns how many faults."""
    made, deadline = 0, time.monotonic() + SOAK_S
    while time.monotonic() + FAULT_EVERY_S < deadline:
        time.sleep(FAULT_EVERY_S)
        stop, start = (
            (redis_server.stop, redis_server.start) if made % 2 == 0 else (proxy.cut, proxy.restore)
        )
        stop()
        time.sleep(FAULT_LASTS_S)
        start()
        made += 1
    return made


def settle(api: Served) -> httpx.Client:
    """A reader, once the server is ready again."""
    deadline = time.monotonic() + SETTLED_WITHIN_S
    while httpx.get(api.url + "/readyz", timeout=10).status_code != 200:
        assert time.monotonic() < deadline, "not ready after the faults stopped"
        time.sleep(0.2)
    return api.client(api.key("availability:read"))


def position(admin: Engine, schema: str, item: str) -> tuple[int, int, set[str]]:
    """The position's on_hand and reserved at WH-1, and the reservations held there, from SQL."""
    with admin.connect() as conn:
        on_hand, reserved = conn.execute(
            text(f"SELECT on_hand, reserved FROM {schema}.position WHERE location = 'WH-1' AND sku = :sku"),
            {"sku": item},
        ).one()  # fmt: skip
        held = conn.execute(
            text(f"SELECT r.id FROM {schema}.reservation r JOIN {schema}.reservation_line l"
                 " ON l.reservation_id = r.id WHERE r.status = 'held' AND l.sku = :sku"),
            {"sku": item},
        ).scalars()  # fmt: skip
        return on_hand, reserved, set(held)
