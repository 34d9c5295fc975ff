"""The order and return lifecycles end to end, through the real server on both backends, as the
OMS, the stores and a webhook receiver live them:
  - a ship order rejected by a store and re-routed, then shipped and settled;
  - a pickup order served by transfer, made ready and collected;
  - an out-of-stock order parked, and routed by itself when a receipt arrives;
  - a return restocking a store;
and the events of all of it, read from the cursor and received, signed, by a webhook receiver."""

from __future__ import annotations

import time
import uuid
from collections.abc import Callable, Iterator
from typing import Any

import httpx
import pytest

from tests.api.conftest import sku, stock
from tests.api.served import Served
from tests.api.test_orders import LYON, an_order, event_ok, submit, units
from tests.dom.webhook_receiver import Receiver, receiving, wait_for

SERVER_ENV = {"DOM_WEBHOOK_POLL_INTERVAL_S": "0.05", "DOM_WEBHOOK_TIMEOUT_S": "2"}
WAIT_S = 20.0


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    with receiving() as listening:
        yield listening


def eventually(read: Callable[[], dict], done: Callable[[dict], bool]) -> dict:
    """What `read` answers once `done` holds (the stock watch works on its own thread)."""
    deadline = time.monotonic() + WAIT_S
    while True:
        found = read()
        if done(found) or time.monotonic() > deadline:
            return found
        time.sleep(0.05)


def newest_cursor(client: httpx.Client) -> int:
    cursor = 0
    while page := client.get("/v1/events", params={"after": cursor, "limit": 1000}).json():
        if not page["events"]:
            return cursor
        cursor = page["next"]
    raise AssertionError("unreachable")


def events_after(client: httpx.Client, cursor: int, subjects: set[str]) -> list[dict[str, Any]]:
    found = []
    while True:
        page = client.get("/v1/events", params={"after": cursor, "limit": 1000}).json()
        if not page["events"]:
            return found
        found += [e for e in page["events"] if e["subject"] in subjects]
        cursor = page["next"]


def test_a_day_of_orders_and_a_return_end_to_end(api: Served, receiver: Receiver) -> None:
    oms = api.client(api.key("orders:write", name="the OMS"))
    viewer = api.client(api.key("availability:read", name="checkout"))
    feed = api.client(api.key("stock:write", name="the warehouse feed"))
    start = newest_cursor(oms)
    subscription = oms.post("/v1/webhooks", json={"url": receiver.url, "after": start})
    assert subscription.status_code == 201, subscription.text
    receiver.secret = subscription.json()["secret"]

    # A ship order: the store beside the customer rejects it (the units are not there); it is
    # routed to the warehouse, which ships it; the allocation settles once.
    shirt, boots, lamp = sku(), sku(), sku()
    stock(api, ("ST-1", shirt, 3), ("WH-1", shirt, 5), ("WH-1", boots, 2), ("WH-1", lamp, 0))
    shipped = an_order((shirt, 2))
    shipped["lines"][0]["price"] = 30.0
    first = submit(oms, shipped)
    [at_store] = first["shipments"]
    assert at_store["location"] == "ST-1" and first["status"] == "routed"
    event_ok(oms, at_store["id"], "rejected", reason="not_found")
    rerouted = eventually(
        lambda: oms.get(f"/v1/orders/{shipped['id']}").json(),
        lambda order: order["status"] == "routed",
    )
    assert [(s["location"], s["status"]) for s in rerouted["shipments"]] == [
        ("ST-1", "rejected"), ("WH-1", "allocated")]  # fmt: skip
    assert units(viewer, shirt, "ST-1") == (0, 0)  # counted zero as of the rejection
    assert units(viewer, shirt, "WH-1") == (5, 2)
    from_warehouse = rerouted["shipments"][1]["id"]
    event_ok(oms, from_warehouse, "accepted")
    assert event_ok(oms, from_warehouse, "shipped")["order_status"] == "fulfilled"
    assert units(viewer, shirt, "WH-1") == (3, 0)  # on_hand and reserved dropped, once
    again = oms.post(f"/v1/shipments/{from_warehouse}/events", json={"type": "shipped"})
    assert again.status_code == 200 and again.headers["idempotent-replayed"] == "true"
    assert units(viewer, shirt, "WH-1") == (3, 0)
    explained = oms.get(f"/v1/orders/{shipped['id']}/explain").json()
    # routed again by the rejection itself, or first by the stock watch its count woke
    assert len(explained) == 2 and explained[0]["cause"] == "submitted"
    assert explained[1]["cause"] in ("rejected", "stock_arrived")
    assert {"location": "ST-1", "sku": shirt} in [
        {"location": e["location"], "sku": e["sku"]} for e in explained[1]["excluded"]
    ]

    # A pickup at a store that holds none: a transfer from the warehouse, made ready, collected.
    pickup = submit(oms, an_order((boots, 1), delivery={"method": "pickup", "store": "ST-2"}))
    [transfer] = pickup["shipments"]
    assert (transfer["location"], transfer["route"]) == ("WH-1", "transfer")
    event_ok(oms, transfer["id"], "shipped")
    assert units(viewer, boots, "WH-1") == (1, 0)
    event_ok(oms, transfer["id"], "ready_for_pickup")
    assert event_ok(oms, transfer["id"], "collected")["order_status"] == "fulfilled"

    # Nobody has the lamp: the order is parked; a receipt at the warehouse routes it.
    waiting = submit(oms, an_order((lamp, 2), delivery=LYON))
    assert waiting["status"] == "parked" and waiting["backordered"][0]["quantity"] == 2
    receipt = {"event_id": f"rcv-{uuid.uuid4().hex}", "location": "WH-1", "sku": lamp,
               "type": "receive", "quantity": 4, "occurred_at": rerouted["updated_at"],
               "source": "wms"}  # fmt: skip
    assert feed.post("/v1/stock-events", json={"events": [receipt]}).status_code == 200
    served = eventually(
        lambda: oms.get(f"/v1/orders/{waiting['id']}").json(),
        lambda order: order["status"] == "routed",
    )
    assert served["status"] == "routed" and served["backordered"] == []
    assert [(s["location"], s["lines"]) for s in served["shipments"]] == [
        ("WH-1", [{"id": "L1", "quantity": 2}])]  # fmt: skip
    assert units(viewer, lamp, "WH-1") == (4, 2)

    # The customer brings one shirt back to the Lyon store, which sells shirts: restocked there.
    ret = {"id": f"R-{uuid.uuid4().hex[:10]}", "order": shipped["id"],
           "drop_off": {"store": "ST-1"},
           "lines": [{"id": "1", "sku": shirt, "quantity": 1, "condition": "new",
                      "order_line": "L1"}]}  # fmt: skip
    registered = oms.post("/v1/returns", json=ret)
    assert registered.status_code == 201, registered.text
    assert registered.json()["lines"][0]["destination"] == "ST-1"
    received = oms.post(f"/v1/returns/{ret['id']}/receive", json={"location": "ST-1"})
    assert received.status_code == 200 and received.json()["status"] == "received"
    assert units(viewer, shirt, "ST-1") == (1, 0)

    # Every change above is an event on the cursor, and the receiver got the same, signed.
    subjects = {shipped["id"], pickup["id"], waiting["id"]}
    read = events_after(oms, start, subjects)
    by_subject = {s: [e["type"] for e in read if e["subject"] == s] for s in subjects}
    assert by_subject[shipped["id"]] == [
        "order.routed", "shipment.rejected", "order.parked", "order.routed", "shipment.accepted",
        "shipment.shipped", "order.completed", "return.registered", "return.received",
    ]  # fmt: skip
    assert by_subject[pickup["id"]] == [
        "order.routed", "shipment.shipped", "shipment.ready_for_pickup", "shipment.collected",
        "order.completed",
    ]  # fmt: skip
    assert by_subject[waiting["id"]] == ["order.routed", "order.parked", "order.routed"]
    wait_for(lambda: {e["seq"] for e in receiver.taken()} >= {e["seq"] for e in read}, WAIT_S)
    delivered = [e for e in receiver.taken() if e["subject"] in subjects]
    assert [(e["seq"], e["type"], e["payload"]) for e in delivered] == [
        (e["seq"], e["type"], e["payload"]) for e in read
    ]
    assert not receiver.refused(401), "every delivery carried a good, fresh signature"
    oms.delete(f"/v1/webhooks/{subscription.json()['id']}")
