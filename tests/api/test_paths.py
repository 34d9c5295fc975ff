"""A client's own ids may hold a slash (`cart/2026/7`): the routes that name them still reach them."""

from __future__ import annotations

import uuid
from urllib.parse import quote

from tests.api.conftest import sku, stock
from tests.api.served import Served


def test_a_reservation_whose_id_holds_a_slash_can_be_read_and_released(api: Served) -> None:
    item = sku()
    stock(api, ("WH-1", item, 3))
    client = api.client(api.key("reservations:write", "availability:read"))
    hold = {"id": f"cart/{uuid.uuid4().hex}/1", "lines": [{"sku": item, "quantity": 3}]}
    assert client.post("/v1/reservations", json=hold).status_code == 201
    where = f"/v1/reservations/{quote(hold['id'], safe='')}"
    assert client.get(where).json()["id"] == hold["id"]
    released = client.delete(where)
    assert released.status_code == 200 and released.json()["status"] == "released", released.text
    assert client.get(f"/v1/availability/{item}").json()["available"] == 3


def test_inbound_supply_whose_id_holds_a_slash_can_be_closed(api: Served) -> None:
    client = api.client(api.key("stock:write"))
    item = {"id": f"po/{uuid.uuid4().hex}", "location": "WH-1", "sku": sku(), "quantity": 5,
            "expected_at": "2030-01-01T00:00:00+00:00"}  # fmt: skip
    assert client.post("/v1/inbound", json={"items": [item]}).json() == {"recorded": 1}
    closed = client.delete(f"/v1/inbound/{quote(item['id'], safe='')}")
    assert closed.status_code == 200 and closed.json() == {"closed": True}, closed.text


def test_a_location_whose_id_holds_a_slash_can_be_read_counted_and_deactivated(api: Served) -> None:
    store, item = f"ST/{uuid.uuid4().hex[:6]}", sku()
    client = api.client(api.key("network:write", "stock:write", "availability:read"))
    location = {"id": store, "type": "store", "lat": 45.0, "lon": 5.0, "capabilities": ["ship"]}
    assert client.put("/v1/locations", json={"locations": [location]}).status_code == 200
    where = f"/v1/locations/{quote(store, safe='')}"
    assert client.get(where).json()["id"] == store
    count = {"id": f"c-{uuid.uuid4().hex[:8]}", "counted_at": "2026-01-01T00:00:00+00:00",
             "lines": [{"sku": item, "quantity": 4}]}  # fmt: skip
    counted = client.post(f"{where}/counts", json=count)
    assert counted.status_code == 200 and counted.json()["location"] == store, counted.text
    assert client.get(f"/v1/availability/{item}").json()["available"] == 4
    assert client.delete(where).json()["active"] is False
    assert client.get(f"/v1/availability/{item}").json()["available"] == 0


def test_a_sku_whose_code_holds_a_slash_has_its_availability_and_explanation(api: Served) -> None:
    item = f"SKU/{uuid.uuid4().hex[:8]}/XL"
    stock(api, ("WH-1", item, 7))
    client = api.client(api.key("availability:read"))
    where = f"/v1/availability/{quote(item, safe='')}"
    answer = client.get(where)
    assert answer.status_code == 200 and (answer.json()["sku"], answer.json()["available"]) == (
        item,
        7,
    )
    explained = client.get(f"{where}/explain")
    assert explained.status_code == 200 and explained.json()["sku"] == item, explained.text
