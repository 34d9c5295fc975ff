"""Small hand-built and random instances for the allocation tests (plain data, like the CLI's)."""

from __future__ import annotations

import itertools
from typing import Any

import numpy as np
from hypothesis import strategies as st

from allocation.costs import OrderOptions
from allocation.evaluate import hard_rule_violations, order_cost
from allocation.rules import Rules, default_cost_model

RULES = default_cost_model()


def location(
    id_: str, type_: str, lat: float, lon: float, caps=("ship",), capacity=1000, **extra: Any
) -> dict[str, Any]:
    return {
        "id": id_,
        "type": type_,
        "lat": lat,
        "lon": lon,
        "capabilities": list(caps),
        "capacity": capacity,
        **extra,
    }


def ship_order(id_: str, lat: float, lon: float, *lines: tuple[str, int]) -> dict[str, Any]:
    return {
        "id": id_,
        "delivery": {"method": "ship", "lat": lat, "lon": lon},
        "lines": [{"id": str(k + 1), "sku": s, "quantity": q} for k, (s, q) in enumerate(lines)],
    }


def pickup_order(id_: str, store: str, *lines: tuple[str, int]) -> dict[str, Any]:
    return {
        "id": id_,
        "delivery": {"method": "pickup", "store": store},
        "lines": [{"id": str(k + 1), "sku": s, "quantity": q} for k, (s, q) in enumerate(lines)],
    }


def instance(locations, stock, orders, **rules: Any) -> dict[str, Any]:  # type: ignore[no-untyped-def]
    return {
        "locations": locations,
        "stock": [{"location": n, "sku": s, "available": a} for n, s, a in stock],
        "orders": orders,
        "rules": {**RULES, **rules},
    }


def brute_force(options: OrderOptions, rules: Rules) -> float:
    """The optimal cost of one order by trying every allocation (tiny orders only)."""
    J, L = options.stock.shape
    per_line = []
    for i in range(L):
        ranges = [range(int(min(options.stock[j, i], options.quantity[i])) + 1) for j in range(J)]
        per_line.append([c for c in itertools.product(*ranges) if sum(c) <= options.quantity[i]])
    skus = [line.sku for line in options.order.lines]
    best = float("inf")
    for choice in itertools.product(*per_line):
        units = np.array(choice, dtype=np.int64).T.reshape(J, L)
        if _over_stock(options, units, skus) or hard_rule_violations(options, units, rules):
            continue
        best = min(best, order_cost(options, units, rules).total)
    return best


def _over_stock(options: OrderOptions, units: np.ndarray, skus: list[str]) -> bool:
    for s in set(skus):
        cols = [i for i, k in enumerate(skus) if k == s]
        if np.any(units[:, cols].sum(axis=1) > options.stock[:, cols[0]]):
            return True
    return False


LAT, LON = st.floats(43.0, 50.5), st.floats(-1.5, 7.5)
MODES = st.sampled_from(["hard", "soft"])


@st.composite
def planner_rules(draw) -> dict[str, Any]:  # type: ignore[no-untyped-def]
    rules: dict[str, Any] = {}
    if draw(st.booleans()):
        rules["max_shipments_per_order"] = {
            "limit": draw(st.integers(1, 2)),
            "mode": draw(MODES),
            "penalty": draw(st.floats(0, 20)),
        }
    if draw(st.booleans()):
        rules["min_value_per_extra_shipment"] = {
            "limit": draw(st.floats(0, 80)),
            "mode": draw(MODES),
            "penalty": draw(st.floats(0, 20)),
        }
    if draw(st.booleans()):
        rules["max_distance_km"] = {
            "store": {
                "limit": draw(st.floats(0, 600)),
                "mode": draw(MODES),
                "penalty": draw(st.floats(0, 9)),
            }
        }
    if draw(st.booleans()):
        rules["kits"] = {"mode": draw(MODES), "penalty": draw(st.floats(0, 9))}
    if draw(st.booleans()):
        rules["exclusions"] = [
            {"type": "dropship", "mode": draw(MODES), "penalty": draw(st.floats(0, 9))}
        ]
    return rules


@st.composite
def small_instances(
    draw,
    max_locations: int = 3,
    max_lines: int = 3,
    max_orders: int = 1,
    max_quantity: int = 2,
    with_rules: bool = True,
) -> dict[str, Any]:  # type: ignore[no-untyped-def]
    """Random instances with few locations and SKUs, planner rules included."""
    n_loc = draw(st.integers(1, max_locations))
    locations = []
    for k in range(n_loc):
        type_ = draw(st.sampled_from(["warehouse", "store", "dropship"]))
        caps = [
            c
            for c, odds in (("ship", 5), ("transfer", 2), ("pickup", 2))
            if draw(st.integers(0, odds)) > 0
        ]
        locations.append(
            location(
                f"L{k}",
                type_,
                draw(LAT),
                draw(LON),
                caps,
                capacity=draw(st.sampled_from([0, 1, 2, 9, 9])),
            )
        )
    skus = ["A", "B", "C"]
    stock = [
        (f"L{k}", s, draw(st.integers(0, 3)))
        for k in range(n_loc)
        for s in skus
        if draw(st.integers(0, 3)) > 0
    ] or [("L0", "A", 1)]
    known = sorted({s for _, s, _ in stock})
    stores = [loc["id"] for loc in locations if loc["type"] == "store"]
    orders = []
    for o in range(draw(st.integers(1, max_orders))):
        n_lines = draw(st.integers(1, max_lines))
        lines = [
            {
                "id": str(i),
                "sku": draw(st.sampled_from(known)),
                "quantity": draw(st.integers(1, max_quantity)),
                "price": draw(st.sampled_from([0.0, 15.0, 40.0])),
                **({"kit": "K"} if draw(st.integers(0, 3)) == 0 else {}),
            }
            for i in range(n_lines)
        ]
        if stores and draw(st.booleans()):
            delivery = {"method": "pickup", "store": draw(st.sampled_from(stores))}
        else:
            delivery = {"method": "ship", "lat": draw(LAT), "lon": draw(LON)}
        orders.append({"id": f"O{o}", "delivery": delivery, "lines": lines})
    return instance(locations, stock, orders, **(draw(planner_rules()) if with_rules else {}))
