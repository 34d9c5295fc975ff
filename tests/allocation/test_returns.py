"""Returns go where they are worth most net of transport and handling, with the reason why."""

from __future__ import annotations

from alloc_factories import instance, location

from allocation import allocate

PARIS, LYON = (48.86, 2.35), (45.76, 4.84)


def _network() -> list[dict]:
    return [
        location("ST-PARIS", "store", *PARIS, ("pickup", "returns")),
        location("DC-LYON", "warehouse", *LYON, ("ship", "returns")),
        location("RC", "warehouse", 47.0, 3.0, ("returns",), returns_centre=True),
    ]


def _route(condition: str, drop_off: dict, values: list[dict], quantity: int = 1) -> list[dict]:
    """Where one returned line of SKU A goes, with one unit of A at the Lyon DC."""
    line = {
        "id": "R1",
        "sku": "A",
        "quantity": quantity,
        "condition": condition,
        "drop_off": drop_off,
    }
    data = instance(_network(), [("DC-LYON", "A", 1)], [])
    return allocate({**data, "returns": [line], "resale_values": values})["returns"]


def test_a_new_item_that_sells_at_the_drop_off_store_is_restocked_there() -> None:
    routed = _route(
        "new", {"store": "ST-PARIS"}, [{"location": "ST-PARIS", "sku": "A", "value": 30.0}]
    )

    assert routed[0]["destination"] == "ST-PARIS"
    assert routed[0]["route"] == "restock at drop-off"
    assert "sells there" in routed[0]["reason"]


def test_an_item_that_does_not_sell_at_the_drop_off_store_goes_where_it_does() -> None:
    routed = _route(
        "new", {"store": "ST-PARIS"}, [{"location": "DC-LYON", "sku": "A", "value": 30.0}]
    )

    assert routed[0]["destination"] == "DC-LYON"
    assert routed[0]["net_cost"] < 0


def test_a_damaged_item_goes_to_the_returns_centre_even_where_it_would_sell() -> None:
    routed = _route(
        "damaged",
        {"store": "ST-PARIS"},
        [{"location": "ST-PARIS", "sku": "A", "value": 30.0}],
        quantity=2,
    )

    assert routed[0]["destination"] == "RC"
    assert routed[0]["value"] == 0.0
    assert routed[0]["reason"].startswith("damaged")


def test_a_parcel_returned_from_an_address_never_goes_to_a_store() -> None:
    routed = _route(
        "opened", {"lat": 48.85, "lon": 2.35}, [{"location": "ST-PARIS", "sku": "A", "value": 99.0}]
    )

    assert routed[0]["destination"] in {"DC-LYON", "RC"}
    breakdown = routed[0]["cost_breakdown"]
    assert routed[0]["cost"] == round(breakdown["transport"] + breakdown["handling"], 4)
