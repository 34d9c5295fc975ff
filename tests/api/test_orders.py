"""Orders over HTTP against a real server: submission, shipment events, rejections and
re-routing, pickups by transfer and from the shelf, parking, cancellation, cart reservations."""

from __future__ import annotations

import time
import uuid
from typing import Any

import httpx
import pytest

from tests.api.conftest import a_store, sku, stock
from tests.api.served import Served

PROBLEM = "application/problem+json"
LYON = {"method": "ship", "lat": 45.75, "lon": 4.85}  # beside ST-1; WH-1 is in Paris


@pytest.fixture(scope="module")
def oms(api: Served) -> httpx.Client:
    return api.client(api.key("orders:write", name="the OMS"))


@pytest.fixture(scope="module")
def viewer(api: Served) -> httpx.Client:
    return api.client(api.key("availability:read", name="checkout"))


def an_order(*lines: tuple[str, int], delivery: dict | None = None, **more: Any) -> dict:
    return {
        "id": f"O-{uuid.uuid4().hex[:12]}",
        "delivery": delivery or LYON,
        "lines": [{"id": f"L{n}", "sku": s, "quantity": q} for n, (s, q) in enumerate(lines, 1)],
        **more,
    }


def submit(oms: httpx.Client, order: dict) -> dict:
    answer = oms.post("/v1/orders", json=order)
    assert answer.status_code == 201, answer.text
    return answer.json()


def post_event(oms: httpx.Client, shipment: str, kind: str, **more: Any) -> httpx.Response:
    return oms.post(f"/v1/shipments/{shipment}/events", json={"type": kind, **more})


def event_ok(oms: httpx.Client, shipment: str, kind: str, **more: Any) -> dict:
    answer = post_event(oms, shipment, kind, **more)
    assert answer.status_code == 200, answer.text
    return answer.json()


def position(viewer: httpx.Client, item: str, location: str) -> dict:
    """(on_hand, reserved) of a position, from availability's explanation."""
    body = viewer.get(f"/v1/availability/{item}/explain").json()
    found = [p for p in body["contributions"] if p["location"] == location]
    return found[0] if found else {"on_hand": 0, "reserved": 0}


def units(viewer: httpx.Client, item: str, location: str) -> tuple[int, int]:
    part = position(viewer, item, location)
    return part["on_hand"], part["reserved"]


def assert_problem(answer: httpx.Response, status: int) -> dict:
    assert answer.status_code == status, answer.text
    assert answer.headers["content-type"] == PROBLEM
    return answer.json()


def live(order: dict) -> list[dict]:
    return [s for s in order["shipments"] if s["status"] not in ("rejected", "cancelled")]


def test_an_order_is_routed_where_it_costs_least_and_answered_with_its_plan(
    api: Served, oms: httpx.Client, viewer: httpx.Client
) -> None:
    item = sku()
    stock(api, ("WH-1", item, 5), ("ST-1", item, 5))
    order = an_order((item, 2))
    answer = submit(oms, order)
    assert answer["id"] == order["id"] and answer["status"] == "routed"
    assert answer["rule_set"] == "default" and answer["backordered"] == []
    [shipment] = answer["shipments"]
    assert shipment["location"] == "ST-1" and shipment["status"] == "allocated"
    assert shipment["lines"] == [{"id": "L1", "quantity": 2}]
    assert set(shipment["cost_breakdown"]) >= {"handling_fixed", "handling_unit", "shipping"}
    assert answer["cost"] == pytest.approx(shipment["cost"])
    assert answer["cost"] == pytest.approx(sum(shipment["cost_breakdown"].values()))
    assert units(viewer, item, "ST-1") == (5, 2)
    assert oms.get(f"/v1/orders/{order['id']}").json() == answer
    [decision] = oms.get(f"/v1/orders/{order['id']}/explain").json()
    assert decision["cause"] == "submitted" and decision["rule_set"] == "default"
    candidates = {c["location"]: c for c in decision["candidates"]}
    assert candidates["ST-1"]["chosen"] and not candidates["WH-1"]["chosen"]
    assert candidates["WH-1"]["cost_alone"] > candidates["ST-1"]["cost_alone"]
    assert decision["plan"]["shipments"][0]["location"] == "ST-1"


def test_a_retry_returns_the_first_answer_and_another_body_is_a_conflict(
    api: Served, oms: httpx.Client, viewer: httpx.Client
) -> None:
    item = sku()
    stock(api, ("ST-1", item, 3))
    order = an_order((item, 1))
    first = submit(oms, order)
    again = oms.post("/v1/orders", json=order)
    assert again.status_code == 201 and again.json() == first
    assert again.headers["idempotent-replayed"] == "true"
    assert units(viewer, item, "ST-1") == (3, 1)  # held once
    other = {**order, "lines": [{"id": "L1", "sku": item, "quantity": 2}]}
    body = assert_problem(oms.post("/v1/orders", json=other), 409)
    assert order["id"] in body["detail"]
    assert units(viewer, item, "ST-1") == (3, 1)


def test_bad_orders_are_refused_and_change_nothing(api: Served, oms: httpx.Client) -> None:
    item = sku()
    stock(api, ("ST-1", item, 3))
    twice = an_order((item, 1), (item, 1))
    twice["lines"][1]["id"] = "L1"
    refused = assert_problem(oms.post("/v1/orders", json=twice), 422)
    assert "line ids must be unique; repeated: L1" in str(refused)
    nowhere = an_order((item, 1), delivery={"method": "pickup", "store": "ST-NOWHERE"})
    assert_problem(oms.post("/v1/orders", json=nowhere), 422)
    for bad in ({"quantity": 0}, {"quantity": -1}, {"sku": ""}, {"price": -3}):
        order = an_order((item, 1))
        order["lines"][0] |= bad
        assert_problem(oms.post("/v1/orders", json=order), 422)
        assert oms.get(f"/v1/orders/{order['id']}").status_code == 404


def test_a_rejected_shipment_is_re_routed_elsewhere_then_shipped_and_settled(
    api: Served, oms: httpx.Client, viewer: httpx.Client
) -> None:
    item = sku()
    stock(api, ("WH-1", item, 5), ("ST-1", item, 4))
    order = submit(oms, an_order((item, 2)))
    [first] = order["shipments"]
    assert first["location"] == "ST-1"
    event_ok(oms, first["id"], "accepted")
    rejected = event_ok(oms, first["id"], "rejected", reason="not_found")
    assert rejected["status"] == "rejected"
    after = oms.get(f"/v1/orders/{order['id']}").json()
    statuses = {s["id"]: (s["location"], s["status"]) for s in after["shipments"]}
    assert statuses[first["id"]] == ("ST-1", "rejected")
    [second] = live(after)
    assert second["location"] == "WH-1" and second["status"] == "allocated"
    assert after["status"] == "routed" and after["rejections"] == 1
    assert units(viewer, item, "ST-1") == (0, 0)  # not found: counted zero as of now
    assert units(viewer, item, "WH-1") == (5, 2)
    shipped = event_ok(oms, second["id"], "shipped")
    assert shipped["status"] == "shipped" and shipped["order_status"] == "fulfilled"
    assert units(viewer, item, "WH-1") == (3, 0)  # settled: on_hand and reserved both drop
    again = post_event(oms, second["id"], "shipped")  # a retry settles nothing twice
    assert again.status_code == 200 and again.headers["idempotent-replayed"] == "true"
    assert units(viewer, item, "WH-1") == (3, 0)
    kinds = [e["kind"] for e in oms.get(f"/v1/orders/{order['id']}/history").json()]
    assert kinds == ["submitted", "routed", "shipment.accepted", "shipment.rejected",
                     "rerouted", "shipment.shipped"]  # fmt: skip
    causes = [d["cause"] for d in oms.get(f"/v1/orders/{order['id']}/explain").json()]
    # routed again by the rejection itself, or first by the stock watch its count woke
    assert causes in (["submitted", "rejected"], ["submitted", "stock_arrived"])


def test_a_rejection_reason_decides_what_the_ledger_learns(
    api: Served, oms: httpx.Client, viewer: httpx.Client
) -> None:
    damaged, busy = sku(), sku()
    stock(api, ("ST-1", damaged, 4), ("WH-1", damaged, 9), ("ST-1", busy, 4), ("WH-1", busy, 9))
    one = submit(oms, an_order((damaged, 1)))
    event_ok(oms, one["shipments"][0]["id"], "rejected", reason="damaged")
    assert units(viewer, damaged, "ST-1") == (3, 0)  # the unit left stock
    two = submit(oms, an_order((busy, 1)))
    event_ok(oms, two["shipments"][0]["id"], "rejected", reason="no_capacity")
    assert units(viewer, busy, "ST-1") == (4, 0)  # no stock change
    for order in (one, two):
        [now] = live(oms.get(f"/v1/orders/{order['id']}").json())
        assert now["location"] == "WH-1"  # ST-1 is left out of the order for a while


def test_an_order_rejected_too_often_waits_for_a_person(
    api: Served, oms: httpx.Client, viewer: httpx.Client
) -> None:
    item = sku()
    store = a_store(api)
    stock(api, ("ST-1", item, 2), ("WH-1", item, 2), (store, item, 2))
    order = submit(oms, an_order((item, 1)))
    for _ in range(3):  # the default allows three rejections
        [shipment] = live(oms.get(f"/v1/orders/{order['id']}").json())
        event_ok(oms, shipment["id"], "rejected", reason="no_capacity")
    after = oms.get(f"/v1/orders/{order['id']}").json()
    assert after["status"] == "escalated" and live(after) == []
    assert after["backordered"][0]["escalated"] and after["backordered"][0]["quantity"] == 1
    queue = oms.get("/v1/orders", params={"status": "escalated", "limit": 1000}).json()
    assert order["id"] in [o["id"] for o in queue]
    for location in ("ST-1", "WH-1", store):
        assert units(viewer, item, location) == (2, 0)


def test_illegal_shipment_events_are_refused_and_change_nothing(
    api: Served, oms: httpx.Client, viewer: httpx.Client
) -> None:
    item = sku()
    stock(api, ("ST-1", item, 3))
    order = submit(oms, an_order((item, 1)))
    [shipment] = order["shipments"]
    body = assert_problem(post_event(oms, shipment["id"], "collected"), 409)
    assert "may be" in body["detail"]
    assert_problem(post_event(oms, shipment["id"], "rejected"), 422)  # no reason
    assert_problem(post_event(oms, shipment["id"], "shipped", reason="damaged"), 422)
    assert_problem(post_event(oms, shipment["id"], "lost"), 422)
    event_ok(oms, shipment["id"], "cancelled")
    assert_problem(post_event(oms, shipment["id"], "shipped"), 409)
    assert units(viewer, item, "ST-1") == (3, 0)
    assert_problem(post_event(oms, f"{order['id']}-S99", "shipped"), 404)


def test_a_pickup_served_by_another_location_is_transferred_made_ready_and_collected(
    api: Served, oms: httpx.Client, viewer: httpx.Client
) -> None:
    item = sku()
    stock(api, ("WH-1", item, 4))
    order = submit(oms, an_order((item, 1), delivery={"method": "pickup", "store": "ST-2"}))
    [shipment] = order["shipments"]
    assert (shipment["location"], shipment["route"]) == ("WH-1", "transfer")
    assert "transfer" in shipment["cost_breakdown"]
    assert_problem(post_event(oms, shipment["id"], "collected"), 409)  # never made ready
    event_ok(oms, shipment["id"], "accepted")
    event_ok(oms, shipment["id"], "shipped")
    assert units(viewer, item, "WH-1") == (3, 0)  # the transfer left the warehouse
    ready = event_ok(oms, shipment["id"], "ready_for_pickup")
    assert ready["order_status"] == "partly_fulfilled"
    collected = event_ok(oms, shipment["id"], "collected")
    assert collected["order_status"] == "fulfilled"


def test_a_pickup_from_the_store_shelf_settles_when_collected(
    api: Served, oms: httpx.Client, viewer: httpx.Client
) -> None:
    item = sku()
    stock(api, ("ST-2", item, 3), ("WH-1", item, 3))
    order = submit(oms, an_order((item, 2), delivery={"method": "pickup", "store": "ST-2"}))
    [shipment] = order["shipments"]
    assert (shipment["location"], shipment["route"]) == ("ST-2", "shelf")
    assert_problem(post_event(oms, shipment["id"], "shipped"), 409)
    event_ok(oms, shipment["id"], "ready_for_pickup")
    assert units(viewer, item, "ST-2") == (3, 2)
    event_ok(oms, shipment["id"], "collected")
    assert units(viewer, item, "ST-2") == (1, 0)


def test_an_out_of_stock_order_is_parked_and_routed_by_itself_when_a_receipt_arrives(
    api: Served, oms: httpx.Client, viewer: httpx.Client
) -> None:
    item, other = sku(), sku()
    stock(api, ("ST-1", other, 3))
    order = submit(oms, an_order((item, 2), (other, 1)))
    assert order["status"] == "parked"
    assert [(b["id"], b["quantity"]) for b in order["backordered"]] == [("L1", 2)]
    assert "no location has" in order["backordered"][0]["reason"]
    assert [s["location"] for s in order["shipments"]] == ["ST-1"]
    receipt = {"event_id": f"r-{uuid.uuid4().hex}", "location": "WH-1", "sku": item,
               "type": "receive", "quantity": 5, "occurred_at": "2026-01-01T00:00:00Z"}  # fmt: skip
    assert api.admin().post("/v1/stock-events", json={"events": [receipt]}).status_code == 200
    deadline = time.monotonic() + 20
    while time.monotonic() < deadline:
        after = oms.get(f"/v1/orders/{order['id']}").json()
        if after["status"] == "routed":
            break
        time.sleep(0.1)
    assert after["status"] == "routed" and after["backordered"] == []
    assert [s["location"] for s in live(after)] == ["ST-1", "WH-1"]
    assert units(viewer, item, "WH-1") == (5, 2)
    causes = [d["cause"] for d in oms.get(f"/v1/orders/{order['id']}/explain").json()]
    assert causes == ["submitted", "stock_arrived"]


def test_cancelling_releases_what_has_not_left(
    api: Served, oms: httpx.Client, viewer: httpx.Client
) -> None:
    a, b = sku(), sku()
    stock(api, ("ST-1", a, 3), ("WH-1", b, 3))
    order = submit(oms, an_order((a, 1), (b, 1)))
    by_location = {s["location"]: s for s in order["shipments"]}
    event_ok(oms, by_location["ST-1"]["id"], "shipped")
    answer = oms.post(f"/v1/orders/{order['id']}/cancel", json={"reason": "changed my mind"})
    assert answer.status_code == 200, answer.text
    after = answer.json()
    statuses = {s["location"]: s["status"] for s in after["shipments"]}
    assert statuses == {"ST-1": "shipped", "WH-1": "cancelled"}
    assert after["status"] == "fulfilled"  # what stands has shipped
    assert units(viewer, b, "WH-1") == (3, 0) and units(viewer, a, "ST-1") == (2, 0)
    again = oms.post(f"/v1/orders/{order['id']}/cancel", json={})
    assert again.status_code == 409  # only shipped units are left
    assert_problem(oms.post("/v1/orders/O-nobody/cancel", json={}), 404)


def test_cancelling_one_line_routes_the_rest_of_its_shipment_again(
    api: Served, oms: httpx.Client, viewer: httpx.Client
) -> None:
    a, b = sku(), sku()
    stock(api, ("ST-1", a, 3), ("ST-1", b, 3))
    order = submit(oms, an_order((a, 1), (b, 2)))
    [shipment] = order["shipments"]
    answer = oms.post(f"/v1/orders/{order['id']}/cancel", json={"lines": [{"id": "L1"}]})
    assert answer.status_code == 200, answer.text
    after = answer.json()
    [now] = live(after)
    assert now["lines"] == [{"id": "L2", "quantity": 2}] and now["id"] != shipment["id"]
    assert units(viewer, a, "ST-1") == (3, 0) and units(viewer, b, "ST-1") == (3, 2)
    lines = {line["id"]: line["cancelled"] for line in after["lines"]}
    assert lines == {"L1": 1, "L2": 0}


def test_an_order_takes_over_its_cart_reservation_without_losing_the_units(
    api: Served, oms: httpx.Client, viewer: httpx.Client
) -> None:
    item = sku()
    stock(api, ("ST-1", item, 1))
    shop = api.client(api.key("reservations:write", name="checkout"))
    cart_id = f"cart-{uuid.uuid4().hex[:8]}"
    held = shop.post(
        "/v1/reservations", json={"id": cart_id, "lines": [{"sku": item, "quantity": 1}]}
    )
    assert held.status_code == 201, held.text
    beaten = submit(oms, an_order((item, 1)))  # the cart holds the last unit
    assert beaten["status"] == "parked"
    order = submit(oms, an_order((item, 1), reservation=cart_id))
    assert order["status"] == "routed" and order["shipments"][0]["location"] == "ST-1"
    assert units(viewer, item, "ST-1") == (1, 1)
    cart = shop.get(f"/v1/reservations/{cart_id}").json()
    assert cart["status"] == "released"
    twice = oms.post("/v1/orders", json=an_order((item, 1), reservation=cart_id))
    assert_problem(twice, 409)
    assert_problem(oms.post("/v1/orders", json=an_order((item, 1), reservation="nope")), 409)


def test_a_location_s_pick_list_holds_its_open_shipments(api: Served, oms: httpx.Client) -> None:
    item = sku()
    store = a_store(api)
    stock(api, (store, item, 5))
    near = {"method": "ship", "lat": 47.2, "lon": -1.55}
    orders = [submit(oms, an_order((item, 1), delivery=near)) for _ in range(3)]
    ids = [o["shipments"][0]["id"] for o in orders]
    event_ok(oms, ids[0], "shipped")
    picks = oms.get("/v1/shipments", params={"location": store}).json()
    assert [p["id"] for p in picks] == ids[1:]
    assert picks[0]["lines"] == [{"id": "L1", "sku": item, "quantity": 1}]
    assert oms.get(f"/v1/shipments/{ids[0]}").json()["status"] == "shipped"


def test_a_store_sends_no_more_shipments_a_day_than_its_capacity_across_orders(
    api: Served, oms: httpx.Client
) -> None:
    item, store = sku(), f"ST-{uuid.uuid4().hex[:8]}"
    location = {"id": store, "type": "store", "lat": 45.75, "lon": 4.85, "capacity_per_day": 2,
                "capabilities": ["ship", "pickup"], "lead_time_hours": 4}  # fmt: skip
    assert api.admin().put("/v1/locations", json={"locations": [location]}).status_code == 200
    stock(api, (store, item, 10), ("WH-1", item, 10))
    first, second, third = (submit(oms, an_order((item, 1))) for _ in range(3))
    assert [s["location"] for s in first["shipments"] + second["shipments"]] == [store, store]
    assert [s["location"] for s in third["shipments"]] == ["WH-1"]  # the store's day is full
    [decision] = oms.get(f"/v1/orders/{third['id']}/explain").json()
    assert {"location": store, "sku": item,
            "reason": "its 2 shipments for today are allocated"} in decision["excluded"]  # fmt: skip
    cancelled = oms.post(f"/v1/orders/{first['id']}/cancel", json={})
    assert cancelled.status_code == 200, cancelled.text
    fourth = submit(oms, an_order((item, 1)))  # the cancelled shipment gave its place back
    assert [s["location"] for s in fourth["shipments"]] == [store]
    assert [s["location"] for s in submit(oms, an_order((item, 1)))["shipments"]] == ["WH-1"]


@pytest.mark.parametrize("reason", ["damaged", "not_found"])
def test_a_rejection_that_changes_stock_leaves_the_projection_as_sql_has_it(
    api: Served, oms: httpx.Client, viewer: httpx.Client, reason: str
) -> None:
    item = sku()
    stock(api, ("ST-1", item, 4), ("WH-1", item, 9))
    order = submit(oms, an_order((item, 2)))
    event_ok(oms, order["shipments"][0]["id"], "rejected", reason=reason)
    assert units(viewer, item, "ST-1") == ((2, 0) if reason == "damaged" else (0, 0))
    report = api.admin().post("/v1/admin/reconcile", json={}).json()
    # the channel's part of reserved is given back in the projection too, not left behind
    assert [d["detail"] for d in report["drifts"] if d["sku"] == item] == []


def test_a_shipment_event_replayed_later_answers_what_it_was_answered_first(
    api: Served, oms: httpx.Client
) -> None:
    item = sku()
    stock(api, ("ST-1", item, 3))
    [shipment] = submit(oms, an_order((item, 1)))["shipments"]
    accepted = event_ok(oms, shipment["id"], "accepted")
    assert event_ok(oms, shipment["id"], "shipped")["status"] == "shipped"
    again = post_event(oms, shipment["id"], "accepted")  # a retry that arrives late
    assert again.status_code == 200 and again.headers["idempotent-replayed"] == "true"
    assert again.json() == accepted and accepted["status"] == "accepted"
    assert oms.get(f"/v1/shipments/{shipment['id']}").json()["status"] == "shipped"
