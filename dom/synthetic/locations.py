"""Where a synthetic retailer's locations stand: DCs near big cities, stores by population, vendors."""

from __future__ import annotations

import unicodedata

import numpy as np

from allocation.geo import haversine_km
from dom.synthetic.cities import City
from inventory import Capability, Location, LocationType

SHIP_FROM_STORE_SHARE = 0.7
KM_PER_DEGREE = 111.2


def _slug(name: str) -> str:
    ascii_name = unicodedata.normalize("NFKD", name).encode("ascii", "ignore").decode()
    return "-".join("".join(c if c.isalnum() else " " for c in ascii_name).upper().split())


def _jitter(city: City, sigma_km: float, rng: np.random.Generator) -> tuple[float, float]:
    north_km, east_km = rng.normal(0.0, sigma_km, 2)
    lat = city.lat + north_km / KM_PER_DEGREE
    lon = city.lon + east_km / (KM_PER_DEGREE * np.cos(np.radians(city.lat)))
    return round(float(lat), 5), round(float(lon), 5)


def _by_population(cities: tuple[City, ...]) -> np.ndarray:
    population = np.array([city.population for city in cities], dtype=float)
    return population / population.sum()


def place_warehouses(
    cities: tuple[City, ...], count: int, rng: np.random.Generator
) -> list[Location]:
    """One DC on the outskirts of each of the biggest cities, cycling if asked for more."""
    biggest = sorted(cities, key=lambda city: -city.population)
    used: dict[str, int] = {}
    locations = []
    for i in range(count):
        city = biggest[i % len(biggest)]
        slug = _slug(city.name)
        used[slug] = used.get(slug, 0) + 1
        suffix = f"-{used[slug]}" if used[slug] > 1 else ""
        lat, lon = _jitter(city, 12.0, rng)
        locations.append(
            Location(
                id=f"DC-{slug}{suffix}",
                type=LocationType.warehouse,
                lat=lat,
                lon=lon,
                capabilities=frozenset({Capability.ship, Capability.transfer, Capability.returns}),
                capacity_per_day=int(rng.integers(5_000, 20_001)),
                lead_time_hours=24.0,
                transfer_days=2.0,
                region=city.name,
            )
        )
    return locations


def place_stores(
    cities: tuple[City, ...], count: int, dcs: list[Location], rng: np.random.Generator
) -> list[Location]:
    """Stores in cities drawn by population; transfer days grow with the distance to the nearest DC."""
    city_of = rng.choice(len(cities), size=count, p=_by_population(cities))
    ships = rng.random(count) < SHIP_FROM_STORE_SHARE
    capacity = rng.integers(20, 81, size=count)
    dc_lat = np.array([dc.lat for dc in dcs])
    dc_lon = np.array([dc.lon for dc in dcs])
    locations = []
    for i in range(count):
        city = cities[city_of[i]]
        lat, lon = _jitter(city, 3.0, rng)
        nearest_dc_km = float(haversine_km(lat, lon, dc_lat, dc_lon).min())
        capabilities = {Capability.pickup, Capability.returns}
        if ships[i]:
            capabilities.add(Capability.ship)
        locations.append(
            Location(
                id=f"ST-{i + 1:04d}",
                type=LocationType.store,
                lat=lat,
                lon=lon,
                capabilities=frozenset(capabilities),
                capacity_per_day=int(capacity[i]),
                lead_time_hours=4.0,
                transfer_days=1.0 + (nearest_dc_km > 150) + (nearest_dc_km > 400),
                region=city.name,
            )
        )
    return locations


def place_vendors(cities: tuple[City, ...], count: int, rng: np.random.Generator) -> list[Location]:
    city_of = rng.integers(len(cities), size=count)
    capacity = rng.integers(200, 1_001, size=count)
    locations = []
    for i in range(count):
        city = cities[city_of[i]]
        lat, lon = _jitter(city, 15.0, rng)
        locations.append(
            Location(
                id=f"VD-{i + 1:03d}",
                type=LocationType.dropship,
                lat=lat,
                lon=lon,
                capabilities=frozenset({Capability.ship}),
                capacity_per_day=int(capacity[i]),
                lead_time_hours=72.0,
                transfer_days=5.0,
                region=city.name,
            )
        )
    return locations
