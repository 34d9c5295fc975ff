"""Invariant 7, checked on a finished plan from the instance alone (independently of any solver).

A plan is feasible when no location gives more than it has available (after store buffers), no
location sends more shipments than its capacity, every ordered unit is allocated or backordered,
capabilities, hard exclusions and hard distance caps hold, and every cost equals the formula.
"""

from __future__ import annotations

from collections import Counter
from typing import Any

from allocation.geo import haversine_km
from allocation.instance import Instance, Order, PickupAt
from allocation.network import compile_network

COST_TOLERANCE = 1e-3  # plans round costs to 4 decimals


def _served_by(order: Order, location: Any) -> str | None:
    if isinstance(order.delivery, PickupAt):
        if location.id == order.delivery.store or "transfer" in location.capabilities:
            return None
        return f"{location.id} may not serve pickup order {order.id} (no transfer)"
    if "ship" not in location.capabilities:
        return f"{location.id} may not ship order {order.id}"
    return None


def _shipment_cost(instance: Instance, order: Order, location: Any, units: int) -> float:
    rules = instance.rules
    cost = rules.handling_fixed[location.type] + rules.handling_unit[location.type] * units
    if isinstance(order.delivery, PickupAt):
        if location.id == order.delivery.store:
            return cost
        store = next(loc for loc in instance.locations if loc.id == order.delivery.store)
        km = float(haversine_km(location.lat, location.lon, store.lat, store.lon))
        return cost + rules.transfer_base + rules.transfer_per_km * km
    km = float(haversine_km(location.lat, location.lon, order.delivery.lat, order.delivery.lon))
    return cost + rules.ship_base + rules.ship_per_km * km


def plan_problems(instance: Instance, plan: dict[str, Any]) -> list[str]:
    """Every way ``plan`` breaks invariant 7 (an empty list for a feasible plan)."""
    network = compile_network(instance)
    locations = {loc.id: loc for loc in instance.locations}
    orders = {o.id: o for o in instance.orders}
    given: Counter[tuple[str, str]] = Counter()
    shipments: Counter[str] = Counter()
    problems: list[str] = []
    if sorted(o["id"] for o in plan["orders"]) != sorted(orders):
        problems.append("the plan does not answer every order exactly once")
    for answer in plan["orders"]:
        order = orders[answer["id"]]
        problems += _order_problems(instance, order, answer, locations, given, shipments)
    for (loc_id, sku), units in given.items():
        n = network.index[loc_id]
        available = dict(zip(*network.holders.get(sku, ([], [])), strict=True)).get(n, 0)
        if units > available:
            problems.append(f"{loc_id} gives {units} of {sku}, only {available} available")
    for loc_id, count in shipments.items():
        if count > locations[loc_id].capacity:
            problems.append(
                f"{loc_id} sends {count} shipments, capacity {locations[loc_id].capacity}"
            )
        if network.excluded[network.index[loc_id]]:
            problems.append(f"{loc_id} is excluded by a hard rule")
    total = sum(o["cost"] for o in plan["orders"])
    if abs(total - plan["cost"]) > COST_TOLERANCE * max(1, len(orders)):
        problems.append(f"plan cost {plan['cost']} is not the sum of its orders {total}")
    return problems


def _order_problems(instance, order, answer, locations, given, shipments) -> list[str]:  # type: ignore[no-untyped-def]
    problems = []
    lines = {line.id: line for line in order.lines}
    sent: Counter[str] = Counter()
    cost = 0.0
    for shipment in answer["shipments"]:
        location = locations[shipment["location"]]
        shipments[location.id] += 1
        if why := _served_by(order, location):
            problems.append(why)
        units = 0
        for part in shipment["lines"]:
            sent[part["id"]] += part["quantity"]
            given[(location.id, lines[part["id"]].sku)] += part["quantity"]
            units += part["quantity"]
        cap = instance.rules.max_distance_km.get(location.type)
        if cap is not None and cap.mode == "hard" and shipment["distance_km"] > cap.limit + 1e-6:
            problems.append(f"{location.id} is beyond the hard distance cap for order {order.id}")
        expected = _shipment_cost(instance, order, location, units)
        expected += shipment["cost_breakdown"]["penalties"]
        if abs(expected - shipment["cost"]) > COST_TOLERANCE:
            problems.append(
                f"order {order.id}: shipment from {location.id} costs "
                f"{shipment['cost']}, the formula says {expected:.4f}"
            )
        cost += shipment["cost"]
    for part in answer["backordered"]:
        sent[part["id"]] += part["quantity"]
    for line in order.lines:
        if sent[line.id] != line.quantity:
            problems.append(
                f"order {order.id} line {line.id}: {sent[line.id]} of "
                f"{line.quantity} units allocated or backordered"
            )
    backorders = instance.rules.backorder_penalty * sum(
        b["quantity"] for b in answer["backordered"]
    )
    cost += backorders + sum(answer["penalties"].values())
    if abs(cost - answer["cost"]) > COST_TOLERANCE * (1 + len(answer["shipments"])):
        problems.append(f"order {order.id}: cost {answer['cost']} is not its parts' sum {cost:.4f}")
    return problems
