"""Availability over HTTP as the server answers it from its local copy of the projection: what
another process writes is seen by the next read, and a Redis that is gone gets a 503, never
the copy's answer. Also the benchmark's baseline route, `GET /v1/ping`."""

from __future__ import annotations

import os
import signal
import time
import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path

import orjson

from tests.api.conftest import LOCATIONS, sku, stock
from tests.api.served import Served, serve

PROBLEM = "application/problem+json"


def available(client, item: str, **params: object) -> int:
    answer = client.get(f"/v1/availability/{item}", params=params)
    assert answer.status_code == 200, answer.text
    return answer.json()["available"]


def test_a_count_another_process_ingests_is_seen_by_the_next_availability_read(
    api: Served, tmp_path: Path
) -> None:
    item = sku()
    stock(api, ("WH-1", item, 5))
    client = api.client(api.key("availability:read"))
    assert [available(client, item) for _ in range(3)] == [5, 5, 5]  # the copy answers now
    recount = {"event_id": f"c-{uuid.uuid4().hex}", "location": "WH-1", "sku": item,
               "type": "count", "quantity": 8, "source": "test",
               "occurred_at": (datetime.now(UTC) - timedelta(minutes=1)).isoformat()}  # fmt: skip
    feed = tmp_path / "recount.jsonl"
    feed.write_bytes(orjson.dumps(recount) + b"\n")
    done = api.dom("ingest", str(feed))  # its own process, its own connections
    assert done.returncode == 0, done.stderr
    assert available(client, item) == 8


def test_a_hold_is_seen_by_the_next_availability_read_of_every_method(api: Served) -> None:
    item = sku()
    stock(api, ("WH-1", item, 6), ("ST-2", item, 2))
    client = api.client(api.key("availability:read", "reservations:write"))
    pickup = {"method": "pickup", "store": "ST-2"}
    assert (available(client, item), available(client, item, **pickup)) == (6, 8)
    hold = {"id": f"cart-{uuid.uuid4().hex}", "lines": [{"sku": item, "quantity": 4}], "ttl_s": 600}
    assert client.post("/v1/reservations", json=hold).status_code == 201
    assert (available(client, item), available(client, item, **pickup)) == (2, 4)


def test_input_the_model_refuses_is_invalid_naming_the_path_or_the_query(api: Served) -> None:
    client = api.client(api.key("availability:read"))
    for item, params, field in (
        (sku(), {"quantity": 0}, "query.quantity"), (sku(), {"method": "pickup"}, "query"),
        (sku(), {"lat": 45.0}, "query"), (sku(), {"store": ""}, "query.store"),
        ("a%20sku", {}, "path.sku"), ("x" * 65, {}, "path.sku"),
    ):  # fmt: skip
        answer = client.get(f"/v1/availability/{item}", params=params)
        assert answer.status_code == 422 and answer.headers["content-type"] == PROBLEM
        assert answer.json()["errors"][0]["field"] == field, answer.text


def test_the_availability_route_documents_every_parameter_it_reads(api: Served) -> None:
    spec = api.client().get("/openapi.json").json()
    listed = spec["paths"]["/v1/availability/{sku}"]["get"]["parameters"]
    assert {(p["name"], p["in"], p["required"]) for p in listed} == {
        ("sku", "path", True), ("quantity", "query", False), ("method", "query", False),
        ("store", "query", False), ("lat", "query", False), ("lon", "query", False),
        ("channel", "query", False),
    }  # fmt: skip


def test_ping_answers_any_key_that_may_read_availability(api: Served) -> None:
    assert api.client().get("/v1/ping").status_code == 401
    assert api.client(api.key("stock:write")).get("/v1/ping").status_code == 403
    answer = api.client(api.key("availability:read")).get("/v1/ping")
    assert answer.status_code == 200 and answer.json() == {"status": "ok"}


def test_availability_is_unavailable_once_redis_is_gone_not_answered_from_the_copy(
    tmp_path: Path,
) -> None:
    with serve(tmp_path / "var", {"DOM_METRICS_OPEN_ON_LOOPBACK": "false"}) as server:
        assert server.admin().put("/v1/locations", json={"locations": LOCATIONS}).status_code == 200
        item = sku()
        stock(server, ("WH-1", item, 3))
        client = server.client(server.key("availability:read"))
        assert [available(client, item) for _ in range(3)] == [3, 3, 3]
        os.kill(_redis_of(server.process.pid), signal.SIGKILL)
        answer = client.get(f"/v1/availability/{item}")
        assert answer.status_code == 503, answer.text
        assert answer.headers["content-type"] == PROBLEM
        assert answer.json()["type"].endswith("projection-unavailable")


def _redis_of(pid: int) -> int:
    """The embedded Redis server started by the process `pid` (a grandchild, behind its watchdog)."""
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        parents = {}
        for entry in filter(str.isdigit, os.listdir("/proc")):
            try:
                stat = Path(f"/proc/{entry}/stat").read_text()
                command = Path(f"/proc/{entry}/cmdline").read_bytes()
            except OSError:
                continue
            parents[int(entry)] = (int(stat[stat.rindex(")") + 2 :].split()[1]), command)
        for child, (parent, command) in parents.items():
            if b"redis-server" in command and parents.get(parent, (0, b""))[0] == pid:
                return child
        time.sleep(0.1)
    raise AssertionError(f"no embedded Redis under process {pid}")
