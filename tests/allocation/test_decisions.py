"""What the planner expects of single decisions, told as business sentences."""

from __future__ import annotations

from alloc_factories import instance, location, pickup_order, ship_order

from allocation import allocate, parse_instance
from allocation.audit import plan_problems

PARIS = (48.86, 2.35)
LYON = (45.76, 4.84)
SHORT_OF_A = "not enough A where the rules let it come from, at less than the backorder penalty"


def _plan(data: dict, mode: str = "online") -> dict:
    plan = allocate(data, mode=mode, time_limit_s=5)
    assert plan_problems(parse_instance(data), plan) == []
    return plan


def _sources(plan: dict, order: int = 0) -> list[str]:
    return sorted(s["location"] for s in plan["orders"][order]["shipments"])


def test_a_ship_order_is_served_from_one_warehouse_rather_than_split_across_two_stores() -> None:
    data = instance(
        [
            location("DC", "warehouse", 48.95, 2.55),
            location("S1", "store", *LYON),
            location("S2", "store", 45.75, 4.85),
        ],
        [("DC", "A", 5), ("DC", "B", 5), ("S1", "A", 1), ("S2", "B", 1)],
        [ship_order("O", *LYON, ("A", 1), ("B", 1))],
    )

    assert _sources(_plan(data)) == ["DC"]


def test_a_nearby_store_ships_a_single_unit_when_the_warehouse_is_far() -> None:
    data = instance(
        [location("DC", "warehouse", 43.30, 5.37), location("S1", "store", 48.80, 2.30)],
        [("DC", "A", 5), ("S1", "A", 1)],
        [ship_order("O", *PARIS, ("A", 1))],
    )

    shipment = _plan(data)["orders"][0]["shipments"][0]
    assert shipment["location"] == "S1"
    assert set(shipment["cost_breakdown"]) == {
        "handling_fixed",
        "handling_unit",
        "shipping",
        "penalties",
    }


def test_an_order_no_single_location_can_fill_is_split_over_three_shipments() -> None:
    data = instance(
        [
            location("W1", "warehouse", 48.9, 2.4),
            location("W2", "warehouse", 45.7, 4.8),
            location("W3", "warehouse", 43.3, 5.4),
        ],
        [("W1", "A", 1), ("W2", "B", 1), ("W3", "C", 1)],
        [ship_order("O", *LYON, ("A", 1), ("B", 1), ("C", 1))],
    )

    plan = _plan(data)
    assert _sources(plan) == ["W1", "W2", "W3"]
    assert plan["orders"][0]["backordered"] == []


def test_units_no_location_holds_are_backordered_explicitly_never_dropped() -> None:
    data = instance(
        [location("DC", "warehouse", *PARIS)],
        [("DC", "A", 1), ("DC", "B", 0)],
        [ship_order("O", *LYON, ("A", 3), ("B", 1))],
    )

    order = _plan(data)["orders"][0]

    assert order["backordered"] == [
        {"id": "1", "quantity": 2, "reason": SHORT_OF_A},
        {"id": "2", "quantity": 1, "reason": "no location has B available"},
    ]
    assert order["backorder_cost"] == 180.0


def test_a_pickup_is_served_from_the_store_shelf_and_is_ready_at_its_lead_time() -> None:
    data = instance(
        [
            location("DC", "warehouse", *PARIS, ("ship", "transfer")),
            location("S1", "store", *LYON, ("pickup",), lead_time_hours=2.0),
        ],
        [("DC", "A", 9), ("S1", "A", 1)],
        [pickup_order("O", "S1", ("A", 1))],
    )

    order = _plan(data)["orders"][0]

    assert _sources(_plan(data)) == ["S1"]
    assert order["shipments"][0]["route"] == "shelf"
    assert order["ready_at_hours"] == 2.0


def test_a_pickup_the_shelf_cannot_fill_is_completed_by_a_transfer_that_sets_the_ready_time() -> (
    None
):
    data = instance(
        [
            location("DC", "warehouse", *PARIS, ("ship", "transfer"), transfer_days=2.0),
            location("S1", "store", *LYON, ("pickup",)),
        ],
        [("DC", "A", 9), ("S1", "A", 1), ("DC", "B", 9), ("S1", "B", 0)],
        [pickup_order("O", "S1", ("A", 1), ("B", 1))],
    )

    order = _plan(data)["orders"][0]

    routes = {s["route"] for s in order["shipments"]}
    assert routes <= {"shelf", "transfer"} and "transfer" in routes
    assert order["ready_at_hours"] == 48.0


def test_a_location_without_transfer_never_serves_another_stores_pickup() -> None:
    data = instance(
        [
            location("S2", "store", *PARIS, ("ship", "pickup")),
            location("S1", "store", *LYON, ("pickup",)),
        ],
        [("S2", "A", 9)],
        [pickup_order("O", "S1", ("A", 1))],
    )

    assert _plan(data)["orders"][0]["backordered"] == [
        {"id": "1", "quantity": 1, "reason": SHORT_OF_A}
    ]


def test_a_hard_exclusion_keeps_a_location_out_and_a_soft_one_costs_its_penalty() -> None:
    places = [location("DC", "warehouse", *PARIS), location("VD", "dropship", *LYON)]
    stock = [("DC", "A", 9), ("VD", "A", 9)]
    orders = [ship_order("O", *LYON, ("A", 1))]

    hard = _plan(instance(places, stock, orders, exclusions=[{"location": "VD"}]))
    soft = _plan(
        instance(
            places, stock, orders, exclusions=[{"type": "dropship", "mode": "soft", "penalty": 1.0}]
        )
    )

    assert _sources(hard) == ["DC"]
    assert _sources(soft) == ["VD"]
    assert soft["orders"][0]["shipments"][0]["cost_breakdown"]["penalties"] == 1.0


def test_a_hard_distance_cap_on_stores_sends_the_parcel_from_the_warehouse_instead() -> None:
    data = instance(
        [location("DC", "warehouse", 43.30, 5.37), location("S1", "store", 48.80, 2.30)],
        [("DC", "A", 5), ("S1", "A", 1)],
        [ship_order("O", *PARIS, ("A", 1))],
        max_distance_km={"store": {"limit": 1.0}},
    )

    assert _sources(_plan(data)) == ["DC"]


def test_a_kit_ships_complete_from_one_location() -> None:
    data = instance(
        [location("W1", "warehouse", *PARIS), location("W2", "warehouse", 45.7, 4.8)],
        [("W1", "A", 1), ("W2", "B", 1), ("W2", "A", 1), ("W1", "B", 0)],
        [
            {
                "id": "O",
                "delivery": {"method": "ship", "lat": 48.8, "lon": 2.3},
                "lines": [
                    {"id": "1", "sku": "A", "quantity": 1, "kit": "K"},
                    {"id": "2", "sku": "B", "quantity": 1, "kit": "K"},
                ],
            }
        ],
    )

    assert _sources(_plan(data)) == ["W2"]


def test_a_hard_shipment_limit_backorders_rather_than_split() -> None:
    data = instance(
        [location("W1", "warehouse", *PARIS), location("W2", "warehouse", *LYON)],
        [("W1", "A", 1), ("W2", "B", 1)],
        [ship_order("O", *LYON, ("A", 1), ("B", 1))],
        max_shipments_per_order={"limit": 1},
    )

    order = _plan(data)["orders"][0]

    assert len(order["shipments"]) == 1 and len(order["backordered"]) == 1


def test_an_extra_shipment_below_the_minimum_value_is_not_sent() -> None:
    data = instance(
        [location("W1", "warehouse", *PARIS), location("W2", "warehouse", *LYON)],
        [("W1", "A", 1), ("W2", "B", 1)],
        [
            {
                "id": "O",
                "delivery": {"method": "ship", "lat": 45.7, "lon": 4.8},
                "lines": [
                    {"id": "1", "sku": "A", "quantity": 1, "price": 80.0},
                    {"id": "2", "sku": "B", "quantity": 1, "price": 5.0},
                ],
            }
        ],
        min_value_per_extra_shipment={"limit": 20.0},
        backorder_penalty=12.0,
    )

    order = _plan(data)["orders"][0]

    assert len(order["shipments"]) == 1


def test_a_store_buffer_keeps_its_last_units_for_walk_in_customers() -> None:
    data = instance(
        [location("S1", "store", *PARIS)],
        [("S1", "A", 2)],
        [ship_order("O", *PARIS, ("A", 2))],
        store_buffer={"units": 1},
    )

    order = _plan(data)["orders"][0]

    assert order["shipments"][0]["units"] == 1
    assert order["backordered"] == [{"id": "1", "quantity": 1, "reason": SHORT_OF_A}]


def test_a_store_never_sends_more_shipments_than_its_capacity() -> None:
    data = instance(
        [location("S1", "store", *PARIS, capacity=1)],
        [("S1", "A", 5)],
        [ship_order("O1", *PARIS, ("A", 1)), ship_order("O2", *PARIS, ("A", 1))],
    )

    for mode in ("online", "batch"):
        plan = _plan(data, mode)
        assert sum(len(o["shipments"]) for o in plan["orders"]) == 1


def test_the_batch_keeps_a_scarce_shelf_unit_for_the_pickup_that_needs_it() -> None:
    # O1 (ship, first in line) slightly prefers the store's last unit over the warehouse; O2 is a
    # pickup at that store, for which the warehouse unit means a transfer. Order by order, O1 takes
    # the shelf unit; jointly, O1 ships from the warehouse and O2 collects from the shelf.
    data = instance(
        [
            location("S1", "store", *PARIS, ("ship", "pickup")),
            location("DC", "warehouse", 48.95, 2.55, ("ship", "transfer")),
        ],
        [("S1", "A", 1), ("DC", "A", 1)],
        [ship_order("O1", *PARIS, ("A", 1)), pickup_order("O2", "S1", ("A", 1))],
        handling_fixed={"warehouse": 2.0, "store": 0.5, "dropship": 3.0},
    )

    online, batch = _plan(data, "online"), _plan(data, "batch")

    assert _sources(online, 0) == ["S1"]
    assert batch["cost"] < online["cost"]
    assert _sources(batch, 0) == ["DC"] and _sources(batch, 1) == ["S1"]
    assert batch["gap"] < 1e-5


def test_every_plan_names_the_rule_set_version_it_used() -> None:
    data = instance(
        [location("DC", "warehouse", *PARIS)],
        [("DC", "A", 1)],
        [ship_order("O", *LYON, ("A", 1))],
        version="r42",
    )

    assert _plan(data)["rules_version"] == "r42"
