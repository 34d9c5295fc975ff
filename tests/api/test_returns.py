"""Returns over HTTP against a real server: registered and routed line by line (restocked at the
drop-off store where it sells, sent where it is worth most otherwise, damaged goods to a returns
centre), received at destination (sellable units back in the ledger, once), refused when wrong,
and their events on the cursor."""

from __future__ import annotations

import time
import uuid
from typing import Any

import httpx
import pytest

from tests.api.conftest import sku, stock
from tests.api.served import Served
from tests.api.test_orders import (
    LYON,
    an_order,
    assert_problem,
    event_ok,
    position,
    submit,
    units,
)

CENTRE = {"id": "RC-1", "type": "warehouse", "lat": 47.0, "lon": 2.9,
          "capabilities": ["returns", "returns_centre"], "lead_time_hours": 48}  # fmt: skip
PRICE = 40.0


@pytest.fixture(scope="module")
def oms(api: Served) -> httpx.Client:
    answer = api.admin().put("/v1/locations", json={"locations": [CENTRE]})
    assert answer.status_code == 200, answer.text
    return api.client(api.key("orders:write", name="the OMS"))


@pytest.fixture(scope="module")
def viewer(api: Served) -> httpx.Client:
    return api.client(api.key("availability:read", name="checkout"))


def a_return(*lines: dict[str, Any], drop_off: dict | None = None, **more: Any) -> dict:
    return {
        "id": f"R-{uuid.uuid4().hex[:12]}",
        "drop_off": drop_off or {"store": "ST-1"},
        "lines": [{"id": f"RL{n}", **line} for n, line in enumerate(lines, 1)],
        **more,
    }


def register(oms: httpx.Client, body: dict) -> dict:
    answer = oms.post("/v1/returns", json=body)
    assert answer.status_code == 201, answer.text
    return answer.json()


def receive(oms: httpx.Client, return_id: str, location: str, **more: Any) -> httpx.Response:
    return oms.post(f"/v1/returns/{return_id}/receive", json={"location": location, **more})


def delivered_order(oms: httpx.Client, item: str, quantity: int) -> dict:
    """An order of `quantity` units of `item` at PRICE, shipped from where it was routed."""
    order = an_order((item, quantity))
    order["lines"][0]["price"] = PRICE
    answer = submit(oms, order)
    for shipment in answer["shipments"]:
        event_ok(oms, shipment["id"], "shipped")
    return answer


def test_a_new_item_brought_to_a_store_that_sells_it_is_restocked_there_once(
    api: Served, oms: httpx.Client, viewer: httpx.Client
) -> None:
    item = sku()
    stock(api, ("ST-1", item, 5), ("WH-1", item, 5))
    order = delivered_order(oms, item, 2)
    assert [s["location"] for s in order["shipments"]] == ["ST-1"]
    assert units(viewer, item, "ST-1") == (3, 0)
    body = a_return({"sku": item, "quantity": 2, "condition": "new", "order_line": "L1"},
                    order=order["id"])  # fmt: skip
    ret = register(oms, body)
    [line] = ret["lines"]
    assert ret["status"] == "registered" and ret["order"] == order["id"]
    assert line["destination"] == "ST-1" and line["route"] == "restock at drop-off"
    assert line["distance_km"] == 0 and line["cost_breakdown"]["transport"] == 0
    assert line["price"] == PRICE and line["value"] == pytest.approx(2 * PRICE)
    assert line["net_cost"] == pytest.approx(line["cost"] - line["value"])
    assert line["received_at"] is None and not line["restocked"]
    assert units(viewer, item, "ST-1") == (3, 0)  # nothing until the store has it
    assert oms.get("/v1/returns", params={"destination": "ST-1"}).json()[-1]["id"] == body["id"]

    got = receive(oms, body["id"], "ST-1")
    assert got.status_code == 200, got.text
    assert got.json()["status"] == "received" and got.json()["lines"][0]["restocked"]
    assert units(viewer, item, "ST-1") == (5, 0)
    again = receive(oms, body["id"], "ST-1")
    assert again.status_code == 200 and again.headers["idempotent-replayed"] == "true"
    assert units(viewer, item, "ST-1") == (5, 0)  # restocked once
    assert oms.get(f"/v1/returns/{body['id']}").json() == got.json()
    assert body["id"] not in [r["id"] for r in oms.get(
        "/v1/returns", params={"destination": "ST-1"}).json()]  # fmt: skip
    kinds = [e["kind"] for e in oms.get(f"/v1/orders/{order['id']}/history").json()]
    assert kinds[-2:] == ["return.registered", "return.received"]


def test_an_item_the_drop_off_store_does_not_sell_goes_where_it_sells(
    api: Served, oms: httpx.Client, viewer: httpx.Client
) -> None:
    item = sku()
    stock(api, ("WH-1", item, 4))  # only the warehouse carries it
    body = a_return({"sku": item, "quantity": 1, "condition": "opened", "price": PRICE})
    ret = register(oms, body)
    [line] = ret["lines"]
    assert line["destination"] == "WH-1" and line["route"] == "to warehouse"
    assert line["distance_km"] > 350 and line["cost_breakdown"]["transport"] > 0
    assert line["value"] == pytest.approx(0.7 * PRICE)  # opened: worth less, still sold
    wrong = assert_problem(receive(oms, body["id"], "ST-1"), 409)
    assert "no line" in wrong["detail"] and "WH-1" in wrong["detail"]
    named = assert_problem(receive(oms, body["id"], "ST-1", lines=[{"id": "RL1"}]), 409)
    assert "RL1 goes to WH-1, not ST-1" in named["detail"]
    assert oms.get(f"/v1/returns/{body['id']}").json() == ret  # the refusals changed nothing
    assert units(viewer, item, "WH-1") == (4, 0)
    assert receive(oms, body["id"], "WH-1").json()["status"] == "received"
    assert units(viewer, item, "WH-1") == (5, 0)


def test_a_damaged_item_goes_to_the_returns_centre_and_never_becomes_stock(
    api: Served, oms: httpx.Client, viewer: httpx.Client
) -> None:
    item = sku()
    stock(api, ("ST-1", item, 2), ("RC-1", item, 0))
    body = a_return(
        {"sku": item, "quantity": 1, "condition": "damaged", "price": PRICE},
        {"sku": item, "quantity": 1, "condition": "new", "price": PRICE},
    )
    ret = register(oms, body)
    damaged, new = ret["lines"]
    assert damaged["destination"] == "RC-1" and "returns centre" in damaged["reason"]
    assert damaged["value"] == 0
    assert new["destination"] == "ST-1"
    part = receive(oms, body["id"], "RC-1").json()
    assert part["status"] == "partly_received"
    assert part["lines"][0]["received_at"] and not part["lines"][0]["restocked"]
    assert position(viewer, item, "RC-1")["on_hand"] == 0  # recorded, not sellable
    done = receive(oms, body["id"], "ST-1").json()
    assert done["status"] == "received" and done["lines"][1]["restocked"]
    assert units(viewer, item, "ST-1") == (3, 0)


def test_a_parcel_handed_to_a_carrier_goes_to_a_warehouse_never_a_store(
    api: Served, oms: httpx.Client
) -> None:
    item = sku()
    stock(api, ("ST-1", item, 3), ("WH-1", item, 3))
    address = {"lat": LYON["lat"], "lon": LYON["lon"]}
    ret = register(oms, a_return({"sku": item, "quantity": 1, "condition": "new", "price": 5.0},
                                 drop_off=address))  # fmt: skip
    [line] = ret["lines"]
    assert line["destination"] == "WH-1" and ret["drop_off"] == address
    assert line["cost_breakdown"]["transport"] > 4.0  # the carrier's base and distance


def test_a_return_gives_back_no_more_than_the_customer_has(api: Served, oms: httpx.Client) -> None:
    item = sku()
    stock(api, ("ST-1", item, 6))
    order = delivered_order(oms, item, 3)
    line = {"sku": item, "condition": "new", "order_line": "L1"}
    register(oms, a_return({**line, "quantity": 2}, order=order["id"]))
    too_many = a_return({**line, "quantity": 2}, order=order["id"])
    refused = assert_problem(oms.post("/v1/returns", json=too_many), 409)
    assert "2 units returned but the customer has 1" in refused["detail"]
    assert oms.get(f"/v1/returns/{too_many['id']}").status_code == 404
    register(oms, a_return({**line, "quantity": 1}, order=order["id"]))
    open_order = submit(oms, an_order((item, 1)))  # allocated, not shipped: nothing to return
    early = a_return({**line, "quantity": 1}, order=open_order["id"])
    assert (
        "the customer has 0" in assert_problem(oms.post("/v1/returns", json=early), 409)["detail"]
    )


def test_a_retry_returns_the_return_and_another_body_is_a_conflict(
    api: Served, oms: httpx.Client
) -> None:
    item = sku()
    stock(api, ("ST-1", item, 1))
    body = a_return({"sku": item, "quantity": 1, "condition": "new"})
    first = register(oms, body)
    again = oms.post("/v1/returns", json=body)
    assert again.status_code == 201 and again.json() == first
    assert again.headers["idempotent-replayed"] == "true"
    other = {**body, "lines": [{**body["lines"][0], "quantity": 2}]}
    assert body["id"] in assert_problem(oms.post("/v1/returns", json=other), 409)["detail"]


def test_bad_returns_are_refused_with_why_and_change_nothing(
    api: Served, oms: httpx.Client
) -> None:
    item = sku()
    stock(api, ("ST-1", item, 4))
    order = delivered_order(oms, item, 1)
    good = {"sku": item, "quantity": 1, "condition": "new"}
    cases = {
        "no location 'ST-NOWHERE'": a_return(good, drop_off={"store": "ST-NOWHERE"}),
        "'WH-1' is a warehouse, not a store": a_return(good, drop_off={"store": "WH-1"}),
        "store 'ST-2' does not take returns": a_return(good, drop_off={"store": "ST-2"}),
        "no location carries": a_return({**good, "sku": sku()}),
        "no order": a_return({**good, "order_line": "L1"}, order="O-nobody"),
        "has no line 'L9'": a_return({**good, "order_line": "L9"}, order=order["id"]),
        "not 'OTHER'": a_return({**good, "sku": "OTHER", "order_line": "L1"}, order=order["id"]),
        "name an order line but the return no order": a_return({**good, "order_line": "L1"}),
        "names the order line of every line": a_return(good, order=order["id"]),
        "line ids must be unique": a_return(good, good) | {
            "lines": [{"id": "X", **good}, {"id": "X", **good}]},
        "condition": a_return({**good, "condition": "like new"}),
        "quantity": a_return({**good, "quantity": 0}),
    }  # fmt: skip
    for why, body in cases.items():
        answer = assert_problem(oms.post("/v1/returns", json=body), 422)
        assert why in str(answer), (why, answer)
        assert oms.get(f"/v1/returns/{body['id']}").status_code == 404
    assert assert_problem(oms.get("/v1/returns/R-nobody"), 404)["type"].endswith("unknown-return")
    unknown = assert_problem(receive(oms, "R-nobody", "ST-1"), 404)
    assert "R-nobody" in unknown["detail"]


def test_a_store_restocked_by_a_return_serves_a_parked_order_by_itself(
    api: Served, oms: httpx.Client
) -> None:
    item = sku()
    stock(api, ("ST-1", item, 0))  # carried, sold out
    parked = submit(oms, an_order((item, 1)))
    assert parked["status"] == "parked"
    body = a_return({"sku": item, "quantity": 1, "condition": "new", "price": PRICE})
    assert register(oms, body)["lines"][0]["destination"] == "ST-1"
    assert receive(oms, body["id"], "ST-1").status_code == 200
    deadline = time.monotonic() + 20
    while time.monotonic() < deadline:
        order = oms.get(f"/v1/orders/{parked['id']}").json()
        if order["status"] == "routed":
            break
        time.sleep(0.1)
    assert order["status"] == "routed", order
    assert [s["location"] for s in order["shipments"]] == ["ST-1"]


def test_a_return_s_events_are_on_the_cursor_under_its_order(
    api: Served, oms: httpx.Client
) -> None:
    start = oms.get("/v1/events", params={"after": 0, "limit": 1000}).json()["next"]
    while True:  # to the newest
        page = oms.get("/v1/events", params={"after": start, "limit": 1000}).json()
        if not page["events"]:
            break
        start = page["next"]
    item = sku()
    stock(api, ("ST-1", item, 2))
    order = delivered_order(oms, item, 1)
    body = a_return({"sku": item, "quantity": 1, "condition": "new", "order_line": "L1"},
                    order=order["id"])  # fmt: skip
    register(oms, body)
    receive(oms, body["id"], "ST-1")
    found = oms.get(
        "/v1/events",
        params={"after": start, "subject": order["id"], "type": ["return.registered",
                                                                 "return.received"]},
    ).json()["events"]  # fmt: skip
    assert [e["type"] for e in found] == ["return.registered", "return.received"]
    assert found[0]["payload"]["id"] == body["id"]
    assert found[0]["payload"]["lines"][0]["destination"] == "ST-1"
    assert found[1]["payload"]["status"] == "received"
    assert found[1]["payload"]["lines"][0]["restocked"] is True
