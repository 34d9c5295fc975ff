"""A synthetic network: its locations, catalogue and stock, and its initial load as counts."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime
from functools import cached_property

import numpy as np

from dom.synthetic.cities import FRENCH_CITIES, City
from dom.synthetic.locations import place_stores, place_vendors, place_warehouses
from dom.synthetic.stock import StockTable, catalogue, draw_stock
from inventory import EventType, Location, LocationType, StockEvent

STORES_PER_WAREHOUSE = 60
MAX_DEFAULT_WAREHOUSES = 8
SKUS_PER_VENDOR = 5_000
MAX_DEFAULT_VENDORS = 20
POSITIONS_PER_YIELD = 65_536
# Independent random streams, so that e.g. the catalogue does not move when the store count does.
LOCATIONS_STREAM, CATALOGUE_STREAM, STOCK_STREAM, FEED_STREAM = range(4)


@dataclass(frozen=True, eq=False)
class Network:
    """Locations ordered warehouses, then stores, then drop-ship vendors; SKUs ordered by id.

    `popularity[i]` is SKU i's share of demand (sums to 1); `price[i]` its unit price in EUR.
    """

    locations: tuple[Location, ...]
    skus: tuple[str, ...]
    stock: StockTable
    popularity: np.ndarray
    price: np.ndarray
    cities: tuple[City, ...]
    seed: int

    @cached_property
    def _location_indexes(self) -> dict[str, int]:
        return {location.id: i for i, location in enumerate(self.locations)}

    @cached_property
    def _sku_indexes(self) -> dict[str, int]:
        return {sku: i for i, sku in enumerate(self.skus)}

    def location_index(self, location_id: str) -> int:
        return self._location_indexes[location_id]

    def sku_index(self, sku: str) -> int:
        return self._sku_indexes[sku]

    def index_range(self, location_type: LocationType) -> range:
        """The contiguous indexes of one type of location."""
        indexes = [i for i, loc in enumerate(self.locations) if loc.type is location_type]
        return range(indexes[0], indexes[-1] + 1) if indexes else range(0)

    def positions(self) -> Iterator[tuple[str, str, int]]:
        """(location id, sku, on_hand) for every position with stock, lazily, in stock order."""
        ids = [location.id for location in self.locations]
        stock = self.stock
        for start in range(0, len(stock), POSITIONS_PER_YIELD):
            window = slice(start, start + POSITIONS_PER_YIELD)
            rows = zip(
                stock.location_index[window].tolist(),
                stock.sku_index[window].tolist(),
                stock.on_hand[window].tolist(),
                strict=True,
            )
            for location, sku, on_hand in rows:
                yield ids[location], self.skus[sku], on_hand


def generate_network(
    stores: int,
    skus: int,
    seed: int = 0,
    *,
    warehouses: int | None = None,
    vendors: int | None = None,
) -> Network:
    """A retailer in France: DCs near the biggest cities, stores spread by population, vendors."""
    if warehouses is None:
        warehouses = min(MAX_DEFAULT_WAREHOUSES, max(1, stores // STORES_PER_WAREHOUSE))
    if vendors is None:
        vendors = min(MAX_DEFAULT_VENDORS, max(1, skus // SKUS_PER_VENDOR))
    for name, value in (
        ("stores", stores),
        ("skus", skus),
        ("warehouses", warehouses),
        ("vendors", vendors),
    ):
        if value < 1:
            raise ValueError(f"{name} must be at least 1, got {value}")
    if seed < 0:
        raise ValueError(f"seed must be >= 0, got {seed}")
    cities = FRENCH_CITIES
    rng = np.random.default_rng([seed, LOCATIONS_STREAM])
    dcs = place_warehouses(cities, warehouses, rng)
    locations = (
        *dcs,
        *place_stores(cities, stores, dcs, rng),
        *place_vendors(cities, vendors, rng),
    )
    rank, popularity, price = catalogue(skus, np.random.default_rng([seed, CATALOGUE_STREAM]))
    stock = draw_stock(
        rank, (warehouses, stores, vendors), np.random.default_rng([seed, STOCK_STREAM])
    )
    return Network(
        locations=locations,
        skus=tuple(f"SKU-{i:06d}" for i in range(1, skus + 1)),
        stock=stock,
        popularity=popularity,
        price=price,
        cities=cities,
        seed=seed,
    )


def stock_events(
    network: Network, *, as_of: datetime, batch_size: int = 1000, source: str = "seed"
) -> Iterator[list[StockEvent]]:
    """The initial load: one `count` per position as of `as_of`, in batches, with replayable ids."""
    if batch_size < 1:
        raise ValueError(f"batch_size must be at least 1, got {batch_size}")
    batch: list[StockEvent] = []
    for location, sku, on_hand in network.positions():
        event_id = f"{source}-{network.seed}-{location}-{sku}"
        batch.append(StockEvent(event_id, location, sku, EventType.count, on_hand, as_of, source))
        if len(batch) == batch_size:
            yield batch
            batch = []
    if batch:
        yield batch
