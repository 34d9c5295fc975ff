"""Realistic allocation instances: a France-like network, skewed demand, stores holding few units.

When the ledger's generators exist (`dom.synthetic.generate_network`, `dom.synthetic.demand.generate_orders`)
`build_instance(..., source="ledger")` uses them; the default source is the self-contained generator
below so benchmarks run on their own. Everything is seeded.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from allocation.rules import default_cost_model

# (name, lat, lon, urban population in thousands) — weights only, a few percent off changes nothing.
CITIES = (
    ("Paris", 48.857, 2.352, 10800),
    ("Lyon", 45.764, 4.836, 1700),
    ("Marseille", 43.297, 5.370, 1600),
    ("Lille", 50.629, 3.057, 1050),
    ("Toulouse", 43.605, 1.444, 1000),
    ("Bordeaux", 44.838, -0.579, 950),
    ("Nice", 43.710, 7.262, 940),
    ("Nantes", 47.218, -1.554, 670),
    ("Montpellier", 43.611, 3.877, 610),
    ("Toulon", 43.124, 5.928, 580),
    ("Strasbourg", 48.573, 7.752, 500),
    ("Rouen", 49.443, 1.100, 470),
    ("Grenoble", 45.189, 5.725, 450),
    ("Rennes", 48.117, -1.678, 360),
    ("Tours", 47.394, 0.685, 360),
    ("Nancy", 48.692, 6.184, 290),
    ("Clermont-Ferrand", 45.778, 3.087, 270),
    ("Metz", 49.120, 6.176, 290),
    ("Orléans", 47.903, 1.909, 280),
    ("Dijon", 47.322, 5.041, 250),
    ("Angers", 47.478, -0.563, 240),
    ("Reims", 49.258, 4.032, 220),
    ("Le Mans", 48.006, 0.199, 210),
    ("Brest", 48.390, -4.486, 210),
    ("Caen", 49.183, -0.371, 210),
    ("Limoges", 45.834, 1.262, 210),
    ("Perpignan", 42.699, 2.895, 200),
    ("Amiens", 49.894, 2.296, 170),
    ("Pau", 43.295, -0.371, 200),
    ("Besançon", 47.238, 6.024, 180),
)
WAREHOUSE_CITIES = (
    "Paris",
    "Lyon",
    "Lille",
    "Bordeaux",
    "Marseille",
    "Nantes",
    "Toulouse",
    "Strasbourg",
    "Rennes",
    "Dijon",
)
RULES = {"version": "bench-default-1", **default_cost_model()}


def _jitter(rng: np.random.Generator, lat: float, lon: float, km: float) -> tuple[float, float]:
    dlat, dlon = rng.normal(0.0, km / 111.0, 2)
    return round(lat + dlat, 5), round(lon + dlon / np.cos(np.radians(lat)), 5)


def _locations(rng: np.random.Generator, count: int) -> list[dict[str, Any]]:
    weights = np.array([c[3] for c in CITIES], float)
    weights /= weights.sum()
    by_name = {c[0]: c for c in CITIES}
    n_wh = min(len(WAREHOUSE_CITIES), max(3, count // 100))
    n_ds = max(2, count // 100)
    locations = []
    for i, name in enumerate(WAREHOUSE_CITIES[:n_wh]):
        lat, lon = _jitter(rng, by_name[name][1], by_name[name][2], 15)
        locations.append(
            {
                "id": f"DC-{i + 1:02d}",
                "type": "warehouse",
                "lat": lat,
                "lon": lon,
                "capabilities": ["ship", "transfer", "returns"],
                "capacity": 1_000_000,
            }
        )
    for i in range(n_ds):
        city = CITIES[rng.choice(len(CITIES), p=weights)]
        lat, lon = _jitter(rng, city[1], city[2], 30)
        locations.append(
            {
                "id": f"VD-{i + 1:02d}",
                "type": "dropship",
                "lat": lat,
                "lon": lon,
                "capabilities": ["ship"],
                "capacity": 1_000_000,
            }
        )
    for i in range(count - n_wh - n_ds):
        city = CITIES[rng.choice(len(CITIES), p=weights)]
        lat, lon = _jitter(rng, city[1], city[2], 8)
        caps = ["pickup", "returns"] + (["ship"] if rng.random() < 0.8 else [])
        locations.append(
            {
                "id": f"ST-{i + 1:04d}",
                "type": "store",
                "lat": lat,
                "lon": lon,
                "capabilities": caps,
                "capacity": int(rng.integers(5, 30)),
            }
        )
    return locations


def _regional_shares(warehouses: list[dict[str, Any]]) -> np.ndarray:
    """Share of the population whose nearest warehouse is each one (where its stock is put)."""
    shares = np.zeros(len(warehouses))
    for _, lat, lon, population in CITIES:
        d = [(w["lat"] - lat) ** 2 + ((w["lon"] - lon) * 0.7) ** 2 for w in warehouses]
        shares[int(np.argmin(d))] += population
    return shares / shares.sum()


def _stock(
    rng: np.random.Generator,
    locations: list[dict[str, Any]],
    popularity: np.ndarray,
    demand_units: float,
) -> list[dict[str, Any]]:
    """DC stock follows regional demand with a per-SKU coverage: most SKUs cover the wave about
    twice, one in seven is scarce (a hot item or a late supplier). Stores hold a few units of the
    popular SKUs; vendors hold a quarter of the catalogue."""
    skus = len(popularity)
    expected = demand_units * popularity
    coverage = np.where(
        rng.random(skus) < 0.15, rng.uniform(0.2, 0.9, skus), rng.lognormal(np.log(2.0), 0.4, skus)
    )
    warehouses = [loc for loc in locations if loc["type"] == "warehouse"]
    share = dict(zip((w["id"] for w in warehouses), _regional_shares(warehouses), strict=True))
    stock = []
    for loc in locations:
        if loc["type"] == "warehouse":
            held = rng.random(skus) < 0.9
            units = rng.poisson(coverage * expected * share[loc["id"]] + 0.5)
        elif loc["type"] == "dropship":
            held = rng.random(skus) < 0.25
            units = rng.integers(5, 60, skus)
        else:
            held = np.zeros(skus, bool)
            held[rng.choice(skus, size=min(skus, 60), replace=False, p=popularity)] = True
            units = rng.integers(1, 4, skus)
        for s in np.flatnonzero(held & (units > 0)):
            stock.append(
                {"location": loc["id"], "sku": f"SKU-{s + 1:05d}", "available": int(units[s])}
            )
    return stock


def _orders(
    rng: np.random.Generator,
    locations: list[dict[str, Any]],
    popularity: np.ndarray,
    prices: np.ndarray,
    count: int,
    pickup_share: float,
    lines: int | None,
) -> list[dict[str, Any]]:
    weights = np.array([c[3] for c in CITIES], float)
    weights /= weights.sum()
    stores = [loc for loc in locations if loc["type"] == "store"]
    store_lat = np.array([s["lat"] for s in stores])
    store_lon = np.array([s["lon"] for s in stores])
    orders = []
    for i in range(count):
        city = CITIES[rng.choice(len(CITIES), p=weights)]
        lat, lon = _jitter(rng, city[1], city[2], 12)
        n_lines = lines or min(10, int(rng.geometric(0.55)))
        skus = rng.choice(len(popularity), size=n_lines, replace=False, p=popularity)
        order_lines = [
            {
                "id": str(k + 1),
                "sku": f"SKU-{s + 1:05d}",
                "quantity": int(1 + (rng.random() < 0.2) * rng.integers(1, 3)),
                "price": float(prices[s]),
            }
            for k, s in enumerate(skus)
        ]
        if rng.random() < pickup_share:
            nearest = int(np.argmin((store_lat - lat) ** 2 + (store_lon - lon) ** 2))
            delivery = {"method": "pickup", "store": stores[nearest]["id"]}
        else:
            delivery = {"method": "ship", "lat": lat, "lon": lon}
        orders.append({"id": f"O-{i + 1:06d}", "delivery": delivery, "lines": order_lines})
    return orders


def build_instance(
    orders: int,
    locations: int,
    seed: int,
    skus: int | None = None,
    pickup_share: float = 0.15,
    lines: int | None = None,
) -> dict[str, Any]:
    """A France-like instance as plain data, in the `dom allocate` contract's shape."""
    rng = np.random.default_rng(seed)
    skus = skus or max(800, orders // 2)
    popularity = 1.0 / np.arange(1, skus + 1) ** 0.9
    popularity /= popularity.sum()
    prices = np.round(rng.lognormal(3.2, 0.7, skus), 2)
    network = _locations(rng, locations)
    stock = _stock(rng, network, popularity, demand_units=orders * 2.3)
    demand = _orders(rng, network, popularity, prices, orders, pickup_share, lines)
    return {"locations": network, "stock": stock, "orders": demand, "rules": dict(RULES)}


def ledger_instance(
    orders: int, locations: int, seed: int, skus: int | None = None
) -> dict[str, Any] | None:
    """The same kind of instance from the ledger's own generators, or None if they are absent."""
    try:
        from dom.synthetic import generate_network
        from dom.synthetic.demand import generate_orders, instance_for
    except ImportError:
        return None
    network = generate_network(stores=locations, skus=skus or max(800, orders // 2), seed=seed)
    return instance_for(network, generate_orders(network, orders, seed))
