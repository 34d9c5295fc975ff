"""A realistic synthetic retail network: the one fixture that tests, benchmarks and the demo share.

Pure and deterministic: the same arguments give the same network, array for array. Bulk stock lives
in numpy arrays (one row per position with stock), never in per-position Python objects, so a network
of 1,000 stores x 100,000 SKUs (about 20 million positions) fits in a few hundred MB.
"""

from __future__ import annotations

import unicodedata
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime, timedelta
from functools import cached_property
from heapq import heappop, heappush

import numpy as np

from inventory.geo_data import FRENCH_CITIES, City
from inventory.model import Capability, EventType, Location, LocationType, StockEvent

ZIPF_EXPONENT = 1.1
HEAD_SHARE = 0.7  # the most popular 70% of SKUs; the rest is the long tail, mostly at vendors
MEDIAN_PRICE_EUR = 25.0
STORES_PER_WAREHOUSE = 60
MAX_DEFAULT_WAREHOUSES = 8
SKUS_PER_VENDOR = 5_000
MAX_DEFAULT_VENDORS = 20
SHIP_FROM_STORE_SHARE = 0.7
STORE_ASSORTMENT_SHARE = (0.2, 0.4)  # share of the head SKUs one store carries
SKUS_PER_CHUNK = 2_048  # stock is drawn chunk by chunk to bound memory; fixed so output is stable
POSITIONS_PER_YIELD = 65_536
KM_PER_DEGREE = 111.2
EARTH_RADIUS_KM = 6371.0

# Independent random streams, so that e.g. the catalogue does not move when the store count does.
_LOCATIONS, _CATALOGUE, _STOCK, _FEED = range(4)


@dataclass(frozen=True, eq=False)
class StockTable:
    """Positions with on_hand > 0 as parallel int32 arrays, sorted by (sku_index, location_index)."""

    location_index: np.ndarray
    sku_index: np.ndarray
    on_hand: np.ndarray

    def __len__(self) -> int:
        return len(self.on_hand)


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
    rng = np.random.default_rng([seed, _LOCATIONS])
    dcs = _warehouses(cities, warehouses, rng)
    locations = (*dcs, *_stores(cities, stores, dcs, rng), *_vendors(cities, vendors, rng))
    rank, popularity, price = _catalogue(skus, np.random.default_rng([seed, _CATALOGUE]))
    stock = _stock(rank, (warehouses, stores, vendors), np.random.default_rng([seed, _STOCK]))
    return Network(
        locations=locations,
        skus=tuple(f"SKU-{i:06d}" for i in range(1, skus + 1)),
        stock=stock,
        popularity=popularity,
        price=price,
        cities=cities,
        seed=seed,
    )


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


def _warehouses(cities: tuple[City, ...], count: int, rng: np.random.Generator) -> list[Location]:
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


def _stores(
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


def _vendors(cities: tuple[City, ...], count: int, rng: np.random.Generator) -> list[Location]:
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


def haversine_km(lat1, lon1, lat2, lon2) -> np.ndarray:
    """Great-circle distance in km; broadcasts over numpy arrays."""
    phi1, phi2 = np.radians(lat1), np.radians(lat2)
    dphi, dlmb = phi2 - phi1, np.radians(np.subtract(lon2, lon1))
    a = np.sin(dphi / 2) ** 2 + np.cos(phi1) * np.cos(phi2) * np.sin(dlmb / 2) ** 2
    return 2 * EARTH_RADIUS_KM * np.arcsin(np.sqrt(a))


def _catalogue(skus: int, rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Popularity rank per SKU (0 = best seller, shuffled against the id), Zipf shares, prices."""
    rank = rng.permutation(skus)
    shares = np.arange(1, skus + 1, dtype=float) ** -ZIPF_EXPONENT
    popularity = shares[rank] / shares.sum()
    price = np.round(np.maximum(0.5, MEDIAN_PRICE_EUR * rng.lognormal(0.0, 0.8, skus)), 2)
    return rank, popularity, price


def _stock(rank: np.ndarray, sizes: tuple[int, int, int], rng: np.random.Generator) -> StockTable:
    """Draw which locations hold each SKU, a chunk of SKUs at a time, then how many units.

    The output is written into buffers sized from the expected position count, so the peak memory is
    one copy of the table (chunk lists concatenated at the end would need two).
    """
    skus = len(rank)
    assortment = _Assortment.draw(rank, sizes, rng)
    chunks = [slice(s, min(skus, s + SKUS_PER_CHUNK)) for s in range(0, skus, SKUS_PER_CHUNK)]
    expected = sum(assortment.probabilities(chunk).sum(dtype=np.float64) for chunk in chunks)
    table = _TableBuffer(int(expected + 8 * np.sqrt(expected)) + skus + 1_024)
    n_wh, n_st, _ = sizes
    for chunk in chunks:
        prob = assortment.probabilities(chunk)
        held = rng.random(prob.shape, dtype=np.float32) < prob
        assortment.place_orphans(held, chunk)
        rows, cols = np.nonzero(held)  # row-major: already sorted by (sku, location)
        on_hand = _quantities(rank[chunk][rows], cols, assortment.head, n_wh, n_wh + n_st, rng)
        table.append(cols, rows + chunk.start, on_hand)
    return table.finish()


@dataclass(frozen=True)
class _Assortment:
    """Who may hold which SKU: DCs most of the head, stores part of it, vendors the long tail."""

    rank: np.ndarray
    head: int
    sizes: tuple[int, int, int]
    store_share: np.ndarray  # per store, its share of the head SKUs
    vendor: np.ndarray  # per SKU, its main drop-ship vendor
    second_vendor: np.ndarray

    @classmethod
    def draw(cls, rank: np.ndarray, sizes: tuple[int, int, int], rng: np.random.Generator):
        n_vd, skus = sizes[2], len(rank)
        vendor = rng.integers(n_vd, size=skus)
        return cls(
            rank=rank,
            head=max(1, round(HEAD_SHARE * skus)),
            sizes=sizes,
            store_share=rng.uniform(*STORE_ASSORTMENT_SHARE, size=sizes[1]),
            vendor=vendor,
            second_vendor=(vendor + rng.integers(1, max(2, n_vd), size=skus)) % n_vd,
        )

    def probabilities(self, chunk: slice) -> np.ndarray:
        """(sku, location) probability of holding stock, for the SKUs of the chunk."""
        n_wh, n_st, n_vd = self.sizes
        rank = self.rank[chunk]
        in_head = rank < self.head
        depth = np.minimum(1.0, (rank + 0.5) / self.head)  # 0 for the best seller, 1 at head's end
        prob = np.zeros((len(rank), n_wh + n_st + n_vd), dtype=np.float32)
        prob[:, :n_wh] = np.where(in_head, 0.97 - 0.12 * depth, 0.05)[:, None]
        store_weight = np.where(in_head, 2.0 * (1.0 - depth), 0.0)  # mean 1 over the head
        prob[:, n_wh : n_wh + n_st] = np.minimum(1.0, store_weight[:, None] * self.store_share)
        rows, vendors = np.arange(len(rank)), n_wh + n_st
        if n_vd > 1:
            prob[rows, vendors + self.second_vendor[chunk]] = np.where(in_head, 0.0, 0.25)
        prob[rows, vendors + self.vendor[chunk]] = np.where(in_head, 0.01, 0.97)
        return prob

    def place_orphans(self, held: np.ndarray, chunk: slice) -> None:
        """Every SKU is held somewhere: at the first DC (head) or its main vendor (tail)."""
        orphan = np.flatnonzero(~held.any(axis=1))
        in_head = self.rank[chunk][orphan] < self.head
        vendor_column = self.sizes[0] + self.sizes[1] + self.vendor[chunk][orphan]
        held[orphan, np.where(in_head, 0, vendor_column)] = True


class _TableBuffer:
    """Append-only int32 columns with a capacity, grown (copied) only if the estimate falls short."""

    def __init__(self, capacity: int) -> None:
        self.columns = [np.empty(capacity, dtype=np.int32) for _ in range(3)]
        self.size = 0

    def append(self, *values: np.ndarray) -> None:
        end = self.size + len(values[0])
        if end > len(self.columns[0]):
            self.columns = [np.resize(column, int(end * 1.25)) for column in self.columns]
        for column, value in zip(self.columns, values, strict=True):
            column[self.size : end] = value
        self.size = end

    def finish(self) -> StockTable:
        location_index, sku_index, on_hand = (column[: self.size] for column in self.columns)
        return StockTable(location_index, sku_index, on_hand)


def _quantities(
    rank: np.ndarray,
    cols: np.ndarray,
    head: int,
    store_start: int,
    vendor_start: int,
    rng: np.random.Generator,
) -> np.ndarray:
    """Units per position: DCs tens to thousands by popularity, stores 1-6, vendors deep tail stock."""
    relative = (rank + 1.0) ** -ZIPF_EXPONENT  # popularity relative to the best seller
    on_hand = np.empty(len(cols), dtype=np.int32)
    at_wh, at_vd = cols < store_start, cols >= vendor_start
    at_st = ~(at_wh | at_vd)
    wh_units = 10 + 2_000 * relative[at_wh] ** 0.6 * rng.lognormal(0.0, 0.4, at_wh.sum())
    wh_tail = rng.integers(1, 11, size=at_wh.sum())
    on_hand[at_wh] = np.where(rank[at_wh] < head, np.round(wh_units), wh_tail)
    st_units = 1 + rng.poisson(0.4 + 2.5 * relative[at_st] ** 0.25)
    on_hand[at_st] = np.minimum(6, st_units)
    vd_units = np.round(rng.lognormal(np.log(80.0), 0.7, at_vd.sum()))
    on_hand[at_vd] = np.clip(vd_units, 5, 2_000)
    return on_hand


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


# What is drawn; restocks of shelves that ran out then take a slot each as a `receive`, so the
# feed ends up about 60% sales, 20-25% receipts (mostly shelf restocks), 7% adjusts, 10% counts.
FEED_MIX = {
    EventType.sale: 0.76,
    EventType.receive: 0.04,
    EventType.adjust: 0.08,
    EventType.count: 0.12,
}
_SALE, _RECEIVE, _ADJUST, _COUNT = range(4)  # indexes into FEED_MIX
# Events that arrive after later ones: occurred_at before the previous event's.
FEED_LATE_SHARE = 0.03
FEED_MAX_GAP_MS = 8
FEED_MAX_LATENESS_MS = 3_000
# A shelf or DC slot that runs out is restocked this long after (ms): a delivery, not a miracle.
FEED_RESTOCK_DELAY_MS = (5_000, 60_000)
FEED_SALE_ATTEMPTS = 4  # a customer facing an empty shelf buys another drawn item instead
FEED_COUNT_ERROR_SHARE = 0.1  # counts one unit off the book: shrink found, a miscount
CASE_UNITS, MAX_CASES = 6, 20  # DC receipts come in cases of six
SHELF_CASES = 2  # a shelf is restocked with one or two cases (or back to its seeded level)
EVENTS_PER_CHUNK = 65_536
FEED_SOURCE = {
    LocationType.warehouse: "wms",
    LocationType.store: "pos",
    LocationType.dropship: "vendor",
}
_NO_RESTOCK, _SHELF, _DC = range(3)  # how a position that runs out is restocked (vendors: not)
_MS = timedelta(milliseconds=1)


@dataclass(frozen=True)
class _Blocks:
    """Per SKU, the slice of the stock table holding one type of location (contiguous by ordering)."""

    first: np.ndarray
    size: np.ndarray
    weight: np.ndarray  # cumulative popularity over the SKUs that have such positions

    @classmethod
    def of(cls, network: Network, kind: LocationType) -> _Blocks:
        stock, span = network.stock, network.index_range(kind)
        skus = len(network.skus)
        held = np.bincount(stock.sku_index, minlength=skus)
        before = np.bincount(stock.sku_index, stock.location_index < span.start, minlength=skus)
        inside = (stock.location_index >= span.start) & (stock.location_index < span.stop)
        size = np.bincount(stock.sku_index, inside, minlength=skus).astype(np.int64)
        first = np.concatenate(([0], np.cumsum(held)[:-1])) + before.astype(np.int64)
        return cls(first, size, np.cumsum(network.popularity * (size > 0)))

    @property
    def empty(self) -> bool:
        return not self.weight[-1] > 0

    def draw(self, count: int, rng: np.random.Generator) -> np.ndarray:
        """Positions: a SKU by popularity, then one of its positions of this kind uniformly."""
        if count == 0 or self.empty:
            return np.zeros(0, dtype=np.int64)
        sku = np.searchsorted(self.weight, rng.random(count) * self.weight[-1], side="right")
        sku = np.minimum(sku, len(self.size) - 1)
        return self.first[sku] + (rng.random(count) * self.size[sku]).astype(np.int64)


def feed_events(
    network: Network, *, start: datetime, n: int, seed: int, batch_size: int = 1000
) -> Iterator[list[StockEvent]]:
    """An ongoing feed after the initial load: store sales of popular SKUs, DC receipts,
    small adjustments and fresh counts, a few milliseconds apart, a few percent arriving late.

    The feed keeps the book of every position it touches, in occurred_at order, starting from the
    seeded stock: a sale never takes more than the shelf holds, a shelf or DC slot that runs out is
    restocked by a `receive` some seconds later, counts report the book (now and then one unit
    off, which then becomes the book), and shrink never goes below zero. So replaying the initial
    counts and the feed by occurred_at never leaves a position negative, whatever the arrival order.
    """
    if batch_size < 1 or n < 0 or seed < 0:
        raise ValueError(f"need batch_size >= 1, n >= 0, seed >= 0; got {batch_size}, {n}, {seed}")
    rng = np.random.default_rng([network.seed, _FEED, seed])
    book = _Book(network)
    ids = [location.id for location in network.locations]
    sources = [FEED_SOURCE[location.type] for location in network.locations]
    skus, types = network.skus, list(FEED_MIX)
    location_of, sku_of = network.stock.location_index, network.stock.sku_index
    arrivals = _Arrivals()
    prefix = f"feed-{network.seed}-{seed}-"
    batch: list[StockEvent] = []
    clock_ms, emitted = 0, 0
    for offset in range(0, n, EVENTS_PER_CHUNK):
        size = min(EVENTS_PER_CHUNK, n - offset)
        kinds, rows, quantities, at_ms = book.advance(size, clock_ms, rng)
        clock_ms = int(at_ms[-1])
        kinds, rows, quantities, at_ms = arrivals.push(
            kinds, rows, quantities, at_ms, rng, last=offset + size == n
        )
        events = [
            StockEvent(
                prefix + str(i).zfill(9),
                ids[location],
                skus[sku],
                types[kind],
                quantity,
                start + _MS * ms,
                sources[location],
            )
            for i, kind, location, sku, quantity, ms in zip(
                range(emitted, emitted + len(at_ms)),
                kinds.tolist(),
                location_of[rows].tolist(),
                sku_of[rows].tolist(),
                quantities.tolist(),
                at_ms.tolist(),
                strict=True,
            )
        ]
        emitted += len(events)
        batch.extend(events)
        full = len(batch) - len(batch) % batch_size
        for begin in range(0, full, batch_size):
            yield batch[begin : begin + batch_size]
        batch = batch[full:]
    if batch:
        yield batch


class _Book:
    """The running on_hand of the positions the feed touched, and the restocks on their way."""

    def __init__(self, network: Network) -> None:
        self.stock = network.stock
        self.stores = _Blocks.of(network, LocationType.store)
        self.warehouses = _Blocks.of(network, LocationType.warehouse)
        restock = np.full(len(network.locations), _NO_RESTOCK, dtype=np.int8)
        for kind, how in ((LocationType.store, _SHELF), (LocationType.warehouse, _DC)):
            span = network.index_range(kind)
            restock[span.start : span.stop] = how
        self.restock = restock
        self.on_hand: dict[int, int] = {}  # stock row -> units, once the feed touched the row
        self.due: list[tuple[int, int, int]] = []  # heap of (due ms, stock row, how)
        self.pending: set[int] = set()  # rows with a restock on its way

    def advance(
        self, size: int, clock_ms: int, rng: np.random.Generator
    ) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
        """The next `size` events in occurred_at order: kinds, stock rows, quantities, times (ms).

        Kinds, positions and wished quantities are drawn in bulk; one pass in time order then
        holds them to the book, turning a due restock into the slot's event.
        """
        stock = self.stock
        kinds = rng.choice(len(FEED_MIX), size=size, p=list(FEED_MIX.values()))
        for kind, pool in ((_SALE, self.stores), (_RECEIVE, self.warehouses)):
            if pool.empty:  # a tiny network may have no such position: recount instead
                kinds[kinds == kind] = _COUNT
        rows = rng.integers(len(stock), size=size)  # adjust and count: any position
        quantities = np.empty(size, dtype=np.int64)
        sale, receive, adjust, count = (kinds == k for k in (_SALE, _RECEIVE, _ADJUST, _COUNT))
        sales = int(sale.sum())
        rows[sale] = self.stores.draw(sales, rng)
        rows[receive] = self.warehouses.draw(int(receive.sum()), rng)
        quantities[sale] = rng.choice([1, 2, 3], size=sales, p=[0.85, 0.12, 0.03])
        quantities[receive] = CASE_UNITS * rng.integers(1, MAX_CASES + 1, size=int(receive.sum()))
        shrink = rng.random(int(adjust.sum())) < 0.7
        quantities[adjust] = np.where(shrink, -1, 1) * rng.integers(1, 4, size=int(adjust.sum()))
        off = rng.random(int(count.sum())) < FEED_COUNT_ERROR_SHARE
        quantities[count] = np.where(off, rng.choice([-1, 1], size=int(count.sum())), 0)
        at_ms = clock_ms + np.cumsum(rng.integers(1, FEED_MAX_GAP_MS + 1, size=size))
        spares = self.stores.draw(sales, rng)  # other items for customers facing an empty shelf
        delays = rng.integers(FEED_RESTOCK_DELAY_MS[0], FEED_RESTOCK_DELAY_MS[1] + 1, size=size)
        cases = CASE_UNITS * rng.integers(1, MAX_CASES + 1, size=size)
        packs = CASE_UNITS * rng.integers(1, SHELF_CASES + 1, size=size)
        self._hold(
            kinds_out := kinds.tolist(),
            rows_out := rows.tolist(),
            quantities_out := quantities.tolist(),
            at_ms.tolist(),
            stock.on_hand[rows].tolist(),
            self.restock[stock.location_index[rows]].tolist(),
            (spares.tolist(), stock.on_hand[spares].tolist()),
            (delays.tolist(), cases.tolist(), packs.tolist()),
        )
        return (
            np.array(kinds_out, dtype=np.int64),
            np.array(rows_out, dtype=np.int64),
            np.array(quantities_out, dtype=np.int64),
            at_ms,
        )

    def _hold(self, kinds, rows, quantities, times, seeded, restock, spares, draws) -> None:
        """Rewrite the drawn events in place, in time order, so that they agree with the book."""
        on_hand, due, pending, initial = self.on_hand, self.due, self.pending, self.stock.on_hand
        spare_rows, spare_seeded = spares
        delays, cases, packs = draws
        spare, spare_end = 0, len(spare_rows)
        never = 1 << 62
        next_due = due[0][0] if due else never
        drawn = zip(times, kinds, rows, seeded, restock, strict=True)
        for i, (t, kind, row, units, how) in enumerate(drawn):
            if t >= next_due:  # a delivery arrives: it takes this slot
                _, row, how = heappop(due)
                next_due = due[0][0] if due else never
                pending.discard(row)
                units = on_hand[row]
                wanted = cases[i] if how == _DC else max(packs[i], int(initial[row]) - units)
                on_hand[row] = units + wanted
                kinds[i], rows[i], quantities[i] = _RECEIVE, row, wanted
                continue
            units = on_hand.get(row, units)
            if kind == _SALE:
                tries = 0
                while units == 0 and tries < FEED_SALE_ATTEMPTS and spare < spare_end:
                    row = spare_rows[spare]
                    units = on_hand.get(row, spare_seeded[spare])
                    spare += 1
                    tries += 1
                if tries:
                    rows[i], how = row, _SHELF
                if units == 0:  # every shelf tried was empty: a shelf-gap check reports it
                    kinds[i], quantities[i] = _COUNT, 0
                else:
                    wanted = quantities[i]
                    if wanted > units:
                        quantities[i] = wanted = units
                    units -= wanted
            elif kind == _COUNT:
                units += quantities[i]
                if units < 0:
                    units = 0
                quantities[i] = units
            elif kind == _ADJUST:
                change = quantities[i]
                if units + change < 0:  # cannot lose what is not there: stock found, or the rest
                    change = -units if units else -change
                    quantities[i] = change
                units += change
            else:
                units += quantities[i]
            on_hand[row] = units
            if units == 0 and how != _NO_RESTOCK and row not in pending:
                pending.add(row)
                heappush(due, (t + delays[i], row, how))
                next_due = due[0][0]


class _Arrivals:
    """Hands events on in arrival order: most as they occur, FEED_LATE_SHARE of them held back
    up to FEED_MAX_LATENESS_MS, so they arrive after later events (their occurred_at unchanged)."""

    def __init__(self) -> None:
        self.held: tuple[np.ndarray, ...] = tuple(np.zeros(0, dtype=np.int64) for _ in range(5))

    def push(
        self,
        kinds: np.ndarray,
        rows: np.ndarray,
        quantities: np.ndarray,
        at_ms: np.ndarray,
        rng: np.random.Generator,
        *,
        last: bool,
    ) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
        """Take events in occurred_at order; return those that have arrived, in arrival order."""
        size = len(at_ms)
        late = rng.random(size) < FEED_LATE_SHARE
        lateness = rng.integers(FEED_MAX_GAP_MS, FEED_MAX_LATENESS_MS + 1, size=size)
        # Twice the arrival time, plus one when late: a late event comes after the events that
        # occurred at its arrival time, and so after a later event (gaps are <= FEED_MAX_GAP_MS).
        key = 2 * (at_ms + np.where(late, lateness, 0)) + late
        columns = [
            np.concatenate((held, new))
            for held, new in zip(self.held, (key, kinds, rows, quantities, at_ms), strict=True)
        ]
        order = np.argsort(columns[0], kind="stable")
        # Every later event occurs after at_ms[-1], so arrives after 2 * at_ms[-1] + 1.
        cut = (
            len(order)
            if last
            else int(np.searchsorted(columns[0][order], 2 * at_ms[-1] + 1, "right"))
        )
        out, keep = order[:cut], order[cut:]
        self.held = tuple(column[keep] for column in columns)
        return tuple(column[out] for column in columns[1:])  # type: ignore[return-value]
