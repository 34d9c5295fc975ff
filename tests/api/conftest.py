"""One real API server per test module and backend; each test works on SKUs of its own."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import text

from tests.api.served import Served, serve
from tests.conftest import PG_URL, REDIS_URL

LOCATIONS = [
    {"id": "WH-1", "type": "warehouse", "lat": 48.85, "lon": 2.35,
     "capabilities": ["ship", "transfer", "returns"], "lead_time_hours": 24},
    {"id": "ST-1", "type": "store", "lat": 45.76, "lon": 4.83,
     "capabilities": ["ship", "pickup", "returns"], "lead_time_hours": 4},
    {"id": "ST-2", "type": "store", "lat": 43.30, "lon": 5.37,
     "capabilities": ["pickup"], "lead_time_hours": 2},
]  # fmt: skip


@pytest.fixture(
    scope="module", params=["embedded", pytest.param("server", marks=pytest.mark.server)]
)
def api(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Served]:
    folder = tmp_path_factory.mktemp(f"api-{request.param}")
    env: dict[str, str] = {"DOM_METRICS_OPEN_ON_LOOPBACK": "false"}
    env |= getattr(request.module, "SERVER_ENV", {})  # a module's own settings, if it has any
    schema = None
    if request.param == "server":
        admin = request.getfixturevalue("postgres_admin")
        request.getfixturevalue("server_redis")
        schema = f"a{uuid.uuid4().hex[:10]}"
        with admin.connect() as conn:
            conn.execute(text(f"CREATE SCHEMA {schema}"))
        env |= {
            "DOM_DATABASE_URL": f"{PG_URL}?options=-csearch_path%3D{schema}",
            "DOM_REDIS_URL": REDIS_URL,
            "DOM_REDIS_PREFIX": schema,
        }
    try:
        with serve(folder / "var", env) as served:
            answer = served.admin().put("/v1/locations", json={"locations": LOCATIONS})
            assert answer.status_code == 200, answer.text
            yield served
    finally:
        if schema is not None:
            with admin.connect() as conn:
                conn.execute(text(f"DROP SCHEMA {schema} CASCADE"))


def sku() -> str:
    return f"SKU-{uuid.uuid4().hex[:12]}"


def an_hour_ago() -> str:
    return (datetime.now(UTC) - timedelta(hours=1)).isoformat()


def stock(api: Served, *counts: tuple[str, str, int]) -> None:
    """Count (location, sku, units) as of an hour ago, through the feed route."""
    events = [
        {"event_id": f"c-{uuid.uuid4().hex}", "location": loc, "sku": s, "type": "count",
         "quantity": units, "occurred_at": an_hour_ago(), "source": "test"}
        for loc, s, units in counts
    ]  # fmt: skip
    answer = api.admin().post("/v1/stock-events", json={"events": events})
    assert answer.status_code == 200, answer.text
    assert {v["outcome"] for v in answer.json()["verdicts"]} == {"applied"}, answer.text


def a_store(api: Served) -> str:
    """A store of the test's own (ship, pickup), so that what it holds is the test's alone."""
    store = f"ST-{uuid.uuid4().hex[:8]}"
    location = {"id": store, "type": "store", "lat": 47.2, "lon": -1.55,
                "capabilities": ["ship", "pickup"], "lead_time_hours": 4}  # fmt: skip
    answer = api.admin().put("/v1/locations", json={"locations": [location]})
    assert answer.status_code == 200, answer.text
    return store
