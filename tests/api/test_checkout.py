"""Checkout over HTTP, against a real server: availability, carts, explanations, reservations."""

from __future__ import annotations

import uuid

from tests.api.conftest import sku, stock
from tests.api.served import Served

PROBLEM = "application/problem+json"


def test_availability_of_one_sku_counts_every_location_that_may_ship_it(api: Served) -> None:
    item = sku()
    stock(api, ("WH-1", item, 7), ("ST-1", item, 3), ("ST-2", item, 5))
    client = api.client(api.key("availability:read"))
    answer = client.get(f"/v1/availability/{item}", params={"quantity": 2})
    assert answer.status_code == 200, answer.text
    body = answer.json()
    assert (body["sku"], body["method"], body["available"]) == (item, "ship", 10)
    assert body["promise"]["met"] and body["promise"]["quantity"] == 2


def test_pickup_availability_names_the_store_shelf_and_what_can_be_transferred(api: Served) -> None:
    item = sku()
    stock(api, ("WH-1", item, 4), ("ST-2", item, 1))
    client = api.client(api.key("availability:read"))
    body = client.get(
        f"/v1/availability/{item}", params={"method": "pickup", "store": "ST-2"}
    ).json()
    assert (body["shelf"], body["transferable"], body["available"]) == (1, 4, 5)


def test_a_cart_promises_each_line_its_own_quantity_and_says_when_all_can_be_met(
    api: Served,
) -> None:
    plenty, scarce = sku(), sku()
    stock(api, ("WH-1", plenty, 50), ("ST-1", scarce, 2))
    client = api.client(api.key("availability:read"))
    cart = {"lines": [{"sku": plenty, "quantity": 10}, {"sku": scarce, "quantity": 3}]}
    body = client.post("/v1/availability/carts", json=cart).json()
    first, second = body["lines"]
    assert first["promise"]["met"] and not second["promise"]["met"]
    assert body["complete"] is False and body["promise_at"] is None
    cart["lines"][1]["quantity"] = 2
    body = client.post("/v1/availability/carts", json=cart).json()
    assert body["complete"] and body["promise_at"] == max(
        line["promise"]["at"] for line in body["lines"]
    )


def test_a_cart_listing_a_sku_twice_is_refused_with_the_field(api: Served) -> None:
    item = sku()
    client = api.client(api.key("availability:read"))
    answer = client.post("/v1/availability/carts", json={"lines": [{"sku": item}, {"sku": item}]})
    assert answer.status_code == 422 and answer.headers["content-type"] == PROBLEM
    assert "each SKU once" in answer.json()["detail"]


def test_explain_lists_every_location_and_why_it_adds_nothing(api: Served) -> None:
    item = sku()
    stock(api, ("WH-1", item, 6), ("ST-2", item, 9))
    client = api.client(api.key("availability:read"))
    body = client.get(f"/v1/availability/{item}/explain").json()
    parts = {part["location"]: part for part in body["contributions"]}
    assert parts["WH-1"]["counted"] == 6
    assert parts["ST-2"]["counted"] == 0 and parts["ST-2"]["excluded"]


def test_a_reservation_holds_every_line_and_a_retry_returns_the_first_answer(api: Served) -> None:
    item = sku()
    stock(api, ("WH-1", item, 5))
    client = api.client(api.key("reservations:write", "availability:read"))
    hold = {"id": f"cart-{uuid.uuid4().hex}", "lines": [{"sku": item, "quantity": 3}], "ttl_s": 600}
    first = client.post("/v1/reservations", json=hold)
    assert first.status_code == 201, first.text
    assert first.json()["status"] == "held"
    assert first.json()["held"] == [{"line": 0, "sku": item, "location": "WH-1", "quantity": 3}]
    again = client.post("/v1/reservations", json=hold)
    assert again.status_code == 201 and again.json() == first.json()
    assert again.headers.get("Idempotent-Replayed") == "true"
    assert client.get(f"/v1/availability/{item}").json()["available"] == 2


def test_the_same_reservation_id_with_another_body_is_a_conflict(api: Served) -> None:
    item = sku()
    stock(api, ("WH-1", item, 5))
    client = api.client(api.key("reservations:write"))
    hold = {"id": f"cart-{uuid.uuid4().hex}", "lines": [{"sku": item, "quantity": 1}]}
    assert client.post("/v1/reservations", json=hold).status_code == 201
    hold["lines"][0]["quantity"] = 2
    answer = client.post("/v1/reservations", json=hold)
    assert answer.status_code == 409 and answer.headers["content-type"] == PROBLEM


def test_a_reservation_that_cannot_be_held_is_a_conflict_naming_the_short_line(api: Served) -> None:
    plenty, scarce = sku(), sku()
    stock(api, ("WH-1", plenty, 5), ("WH-1", scarce, 1))
    client = api.client(api.key("reservations:write", "availability:read"))
    hold = {"id": f"cart-{uuid.uuid4().hex}",
            "lines": [{"sku": plenty, "quantity": 1}, {"sku": scarce, "quantity": 2}]}  # fmt: skip
    answer = client.post("/v1/reservations", json=hold)
    assert answer.status_code == 409, answer.text
    assert answer.json()["lines"] == [1] and scarce in answer.json()["detail"]
    assert client.get(f"/v1/availability/{plenty}").json()["available"] == 5  # none held
    assert client.get(f"/v1/reservations/{hold['id']}").status_code == 404


def test_a_released_reservation_gives_its_units_back_once(api: Served) -> None:
    item = sku()
    stock(api, ("WH-1", item, 4))
    client = api.client(api.key("reservations:write", "availability:read"))
    hold = {"id": f"cart-{uuid.uuid4().hex}", "lines": [{"sku": item, "quantity": 4}]}
    assert client.post("/v1/reservations", json=hold).status_code == 201
    assert client.get(f"/v1/reservations/{hold['id']}").json()["status"] == "held"
    released = client.delete(f"/v1/reservations/{hold['id']}")
    assert released.status_code == 200 and released.json()["status"] == "released"
    assert client.delete(f"/v1/reservations/{hold['id']}").json()["status"] == "released"
    assert client.get(f"/v1/availability/{item}").json()["available"] == 4


def test_a_reservation_expires_by_itself(api: Served) -> None:
    item = sku()
    stock(api, ("WH-1", item, 2))
    client = api.client(api.key("reservations:write", "availability:read"))
    hold = {"id": f"cart-{uuid.uuid4().hex}", "lines": [{"sku": item, "quantity": 2}], "ttl_s": 1}
    assert client.post("/v1/reservations", json=hold).status_code == 201
    import time

    deadline = time.monotonic() + 15
    while client.get(f"/v1/availability/{item}").json()["available"] != 2:
        assert time.monotonic() < deadline, "the expired hold's units never came back"
        time.sleep(0.2)
    assert client.get(f"/v1/reservations/{hold['id']}").json()["status"] == "expired"


def test_an_unknown_reservation_is_not_found(api: Served) -> None:
    client = api.client(api.key("reservations:write"))
    answer = client.get("/v1/reservations/nobody-held-this")
    assert answer.status_code == 404 and answer.json()["type"].endswith("unknown-reservation")


def test_a_pickup_at_a_store_the_network_does_not_have_is_invalid_input(api: Served) -> None:
    client = api.client(api.key("availability:read", "reservations:write"))
    answer = client.get(f"/v1/availability/{sku()}", params={"method": "pickup", "store": "NOPE"})
    assert answer.status_code == 422 and "NOPE" in answer.json()["detail"]
    hold = {"id": f"cart-{uuid.uuid4().hex}", "lines": [{"sku": sku(), "quantity": 1}],
            "method": "pickup", "store": "NOPE"}  # fmt: skip
    assert client.post("/v1/reservations", json=hold).status_code == 422


def test_a_hold_split_over_locations_is_answered_the_same_when_retried(api: Served) -> None:
    item = sku()
    stock(api, ("WH-1", item, 2), ("ST-1", item, 2))
    client = api.client(api.key("reservations:write"))
    hold = {"id": f"cart-{uuid.uuid4().hex}", "lines": [{"sku": item, "quantity": 4}]}
    first = client.post("/v1/reservations", json=hold)
    assert first.status_code == 201, first.text
    assert sorted(h["location"] for h in first.json()["held"]) == ["ST-1", "WH-1"]
    assert client.post("/v1/reservations", json=hold).json() == first.json()
    read = client.get(f"/v1/reservations/{hold['id']}").json()
    assert read["held"] == first.json()["held"] and read["created_at"] is not None
