"""Synthetic customer demand on a seeded network, in the allocation core's instance JSON shape.

Orders follow the network's geography and catalogue: ship addresses near cities by population, pickup
at stores weighted by their city's population, SKUs drawn by popularity. Deterministic for a seed.
"""

from __future__ import annotations

import copy

import numpy as np

from allocation.rules import default_cost_model
from dom.synthetic import KM_PER_DEGREE, Network
from inventory import LocationType

DEFAULT_RULES: dict = default_cost_model()
ADDRESS_SPREAD_KM = 12.0  # standard deviation per axis around the city centre
LINE_QUANTITIES = (1, 2, 3)
LINE_QUANTITY_ODDS = (0.82, 0.13, 0.05)


def generate_orders(
    network: Network,
    n: int,
    seed: int,
    *,
    pickup_share: float = 0.2,
    max_lines: int = 10,
    mean_lines: float = 1.8,
    id_prefix: str = "O",
) -> list[dict]:
    """`n` customer orders: `ship` to an address or `pickup` at a store, lines of distinct SKUs."""
    if n < 0 or seed < 0 or not 0.0 <= pickup_share <= 1.0 or max_lines < 1 or mean_lines < 1.0:
        raise ValueError(
            "need n >= 0, seed >= 0, 0 <= pickup_share <= 1, max_lines >= 1, mean_lines >= 1"
        )
    rng = np.random.default_rng([network.seed, seed])
    line_counts = np.minimum(rng.geometric(1.0 / mean_lines, size=n), max_lines)
    line_counts = np.minimum(line_counts, len(network.skus))
    pickups = rng.random(n) < pickup_share
    pickup_deliveries = iter(_pickup_deliveries(network, int(pickups.sum()), rng))
    ship_deliveries = iter(_ship_deliveries(network, n - int(pickups.sum()), rng))
    cumulative = np.cumsum(network.popularity)
    orders = []
    for i in range(n):
        delivery = next(pickup_deliveries) if pickups[i] else next(ship_deliveries)
        orders.append(
            {
                "id": f"{id_prefix}-{i + 1:06d}",
                "delivery": delivery,
                "lines": _lines(network, int(line_counts[i]), cumulative, rng),
            }
        )
    return orders


def _ship_deliveries(network: Network, count: int, rng: np.random.Generator) -> list[dict]:
    population = np.array([city.population for city in network.cities], dtype=float)
    city = rng.choice(len(network.cities), size=count, p=population / population.sum())
    lat = np.array([c.lat for c in network.cities])[city]
    lon = np.array([c.lon for c in network.cities])[city]
    north_km, east_km = rng.normal(0.0, ADDRESS_SPREAD_KM, (2, count))
    lat = lat + north_km / KM_PER_DEGREE
    lon = lon + east_km / (KM_PER_DEGREE * np.cos(np.radians(lat)))
    return [
        {"method": "ship", "lat": round(a, 5), "lon": round(o, 5)}
        for a, o in zip(lat.tolist(), lon.tolist(), strict=True)
    ]


def _pickup_deliveries(network: Network, count: int, rng: np.random.Generator) -> list[dict]:
    population = {city.name: city.population for city in network.cities}
    stores = [loc for loc in network.locations if loc.type is LocationType.store and loc.active]
    if count and not stores:
        raise ValueError("pickup orders need at least one active store")
    weight = np.array([population.get(store.region, 0) for store in stores], dtype=float) + 1.0
    chosen = rng.choice(len(stores), size=count, p=weight / weight.sum()) if count else []
    return [{"method": "pickup", "store": stores[i].id} for i in chosen]


def _lines(
    network: Network, count: int, cumulative: np.ndarray, rng: np.random.Generator
) -> list[dict]:
    """`count` lines of distinct SKUs drawn by popularity (redrawing duplicates)."""
    chosen: dict[int, None] = {}  # insertion-ordered set
    while len(chosen) < count:
        draws = np.searchsorted(cumulative, rng.random(count) * cumulative[-1], side="right")
        for sku in np.minimum(draws, len(cumulative) - 1).tolist():
            if len(chosen) < count:
                chosen.setdefault(sku, None)
    quantities = rng.choice(LINE_QUANTITIES, size=count, p=LINE_QUANTITY_ODDS).tolist()
    return [
        {
            "id": str(k + 1),
            "sku": network.skus[sku],
            "quantity": quantities[k],
            "price": float(network.price[sku]),
        }
        for k, sku in enumerate(chosen)
    ]


def instance_for(
    network: Network, orders: list[dict], *, rules: dict | None = None, stock_scale: float = 1.0
) -> dict:
    """A full allocation instance: every location, the stock of the ordered SKUs, orders, rules.

    `stock_scale` below 1 makes stock scarce: units are floored, and a position left with 0 units
    stays listed so every ordered SKU remains known to the allocation core.
    """
    if stock_scale < 0:
        raise ValueError(f"stock_scale must be >= 0, got {stock_scale}")
    locations = [
        {
            "id": loc.id,
            "type": str(loc.type),
            "lat": loc.lat,
            "lon": loc.lon,
            "capabilities": sorted(str(c) for c in loc.capabilities),
            "capacity": loc.capacity_per_day,
            "lead_time_hours": loc.lead_time_hours,
            "transfer_days": loc.transfer_days,
        }
        for loc in network.locations
        if loc.active
    ]
    ordered = np.array(
        sorted({network.sku_index(line["sku"]) for o in orders for line in o["lines"]}),
        dtype=np.int64,
    )
    stock = network.stock
    rows = np.flatnonzero(np.isin(stock.sku_index, ordered))
    available = np.floor(stock.on_hand[rows] * stock_scale).astype(np.int64)
    ids = [loc.id for loc in network.locations]
    active = [loc.active for loc in network.locations]
    stock_rows = [
        {"location": ids[location], "sku": network.skus[sku], "available": units}
        for location, sku, units in zip(
            stock.location_index[rows].tolist(),
            stock.sku_index[rows].tolist(),
            available.tolist(),
            strict=True,
        )
        if active[location]
    ]
    return {
        "locations": locations,
        "stock": stock_rows,
        "orders": orders,
        "rules": copy.deepcopy(rules if rules is not None else DEFAULT_RULES),
    }
