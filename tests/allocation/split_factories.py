"""Orders that need three or more shipments, and an exhaustive search fit for them.

Stock is scattered (each location holds one or two of the order's SKUs, one to three units), so
most plans split; quantities up to three make lines split across locations too.
"""

from __future__ import annotations

import itertools
from typing import Any

from alloc_factories import LAT, LON, instance, location
from hypothesis import strategies as st

from allocation.costs import OrderOptions
from allocation.rules import Rules

SKUS = ("A", "B", "C", "D")


def brute_force_by_open_set(options: OrderOptions, rules: Rules) -> float:
    """The optimal cost of an order whose lines have distinct SKUs and no kit or value rule.

    Every set of candidates that may open, and for each every split of each line's units among
    them: given the set, lines share nothing, so each line's best split is found on its own. A
    set whose best split leaves a candidate empty costs at least the smaller set, which is tried too.
    """
    J, L = options.stock.shape
    best = float("inf")
    for size in range(J + 1):
        for opened in itertools.combinations(range(J), size):
            total = float(sum(options.fixed[j] for j in opened))
            for i in range(L):
                q = int(options.quantity[i])
                ranges = [range(int(min(options.stock[j, i], q)) + 1) for j in opened]
                total += min(
                    sum(float(options.unit[j]) * u for j, u in zip(opened, split, strict=True))
                    + rules.backorder_penalty * (q - sum(split))
                    for split in itertools.product(*ranges)
                    if sum(split) <= q
                )
            best = min(best, total)
    return best


@st.composite
def split_instances(draw, max_locations: int = 7) -> dict[str, Any]:  # type: ignore[no-untyped-def]
    """One order of 3-4 distinct SKUs against 4-``max_locations`` scattered locations."""
    n_loc = draw(st.integers(4, max_locations))
    locations, stock = [], []
    for k in range(n_loc):
        type_ = draw(st.sampled_from(["warehouse", "store", "store", "dropship"]))
        caps = ["ship"] if draw(st.integers(0, 4)) < 4 else []
        caps += ["transfer"] if draw(st.integers(0, 3)) < 3 else []
        caps += ["pickup"] if draw(st.booleans()) else []
        capacity = draw(st.sampled_from([9, 9, 1, 0]))
        locations.append(location(f"L{k}", type_, draw(LAT), draw(LON), caps, capacity))
        for sku in draw(st.lists(st.sampled_from(SKUS), min_size=1, max_size=2, unique=True)):
            stock.append((f"L{k}", sku, draw(st.integers(1, 3))))
    skus = draw(st.lists(st.sampled_from(SKUS), min_size=3, max_size=4, unique=True))
    held = {sku for _, sku, _ in stock}
    stock += [("L0", sku, 0) for sku in skus if sku not in held]  # known, held nowhere
    lines = [
        {"id": str(i), "sku": s, "quantity": draw(st.integers(1, 3))} for i, s in enumerate(skus)
    ]
    stores = [loc["id"] for loc in locations if loc["type"] == "store"]
    if stores and draw(st.integers(0, 2)) == 0:
        delivery: dict[str, Any] = {"method": "pickup", "store": draw(st.sampled_from(stores))}
    else:
        delivery = {"method": "ship", "lat": draw(LAT), "lon": draw(LON)}
    order = {"id": "O", "delivery": delivery, "lines": lines}
    return instance(locations, stock, [order], **draw(_line_free_rules()))


@st.composite
def _line_free_rules(draw) -> dict[str, Any]:  # type: ignore[no-untyped-def]
    """Rules that price shipments or units but never tie one line to another."""
    rules: dict[str, Any] = {"backorder_penalty": draw(st.sampled_from([60.0, 60.0, 25.0, 0.5]))}
    if draw(st.booleans()):
        rules["exclusions"] = [
            {"type": "dropship", "mode": "soft", "penalty": draw(st.floats(0, 9))}
        ]
    if draw(st.booleans()):
        mode = draw(st.sampled_from(["hard", "soft"]))
        cap = {"limit": draw(st.floats(0, 600)), "mode": mode, "penalty": draw(st.floats(0, 9))}
        rules["max_distance_km"] = {"store": cap}
    if draw(st.booleans()):
        rules["max_shipments_per_order"] = {"limit": 9, "mode": "soft", "penalty": 5.0}
    return rules
