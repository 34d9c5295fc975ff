"""The seeded network looks like a real retailer and is the same for the same seed."""

from __future__ import annotations

import re
from collections import Counter, defaultdict
from datetime import UTC, datetime, timedelta
from functools import cache
from itertools import pairwise

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from dom.synthetic import (
    FEED_LATE_SHARE,
    HEAD_SHARE,
    Network,
    generate_network,
    haversine_km,
    stock_events,
)
from dom.synthetic import feed_events as make_feed
from inventory.domain.model import Capability, EventType, LocationType, StockEvent
from inventory.stock.count_rule import Ledgered, fold

AS_OF = datetime(2026, 3, 1, 6, 0, tzinfo=UTC)


@cache
def mid_network() -> Network:
    return generate_network(200, 3_000, seed=7)


def tail_mask(network: Network) -> np.ndarray:
    """True for SKUs in the long tail: the least popular (1 - HEAD_SHARE) of the catalogue."""
    order = np.argsort(-network.popularity, kind="stable")
    rank = np.empty_like(order)
    rank[order] = np.arange(len(order))
    return rank >= round(HEAD_SHARE * len(order))


def kind_of_rows(network: Network) -> np.ndarray:
    kinds = np.array([str(loc.type) for loc in network.locations])
    return kinds[network.stock.location_index]


def test_the_same_seed_builds_the_same_network():
    first, second = generate_network(20, 500, seed=3), generate_network(20, 500, seed=3)

    assert first.locations == second.locations
    assert first.skus == second.skus
    for column in ("location_index", "sku_index", "on_hand"):
        assert np.array_equal(getattr(first.stock, column), getattr(second.stock, column))
    assert np.array_equal(first.popularity, second.popularity)
    assert np.array_equal(first.price, second.price)


def test_a_different_seed_builds_a_different_network():
    first, second = generate_network(20, 500, seed=3), generate_network(20, 500, seed=4)

    assert first.locations != second.locations
    assert not np.array_equal(first.popularity, second.popularity)
    assert len(first.stock) != len(second.stock) or not np.array_equal(
        first.stock.on_hand, second.stock.on_hand
    )


def test_default_sizes_give_one_warehouse_per_sixty_stores_and_one_vendor_per_5000_skus():
    network = mid_network()

    types = Counter(loc.type for loc in network.locations)

    assert types == {LocationType.warehouse: 3, LocationType.store: 200, LocationType.dropship: 1}
    assert len(network.skus) == 3_000


def test_warehouses_sit_near_the_biggest_cities():
    network = mid_network()
    biggest = sorted(network.cities, key=lambda city: -city.population)[:3]

    warehouses = [loc for loc in network.locations if loc.type is LocationType.warehouse]

    assert [w.id for w in warehouses] == ["DC-PARIS", "DC-LYON", "DC-MARSEILLE"]
    for warehouse, city in zip(warehouses, biggest, strict=True):
        assert haversine_km(warehouse.lat, warehouse.lon, city.lat, city.lon) < 60
        assert warehouse.capabilities == {Capability.ship, Capability.transfer, Capability.returns}


def test_the_biggest_city_has_the_most_stores():
    network = mid_network()

    per_city = Counter(loc.region for loc in network.locations if loc.type is LocationType.store)

    (first, first_count), (_, second_count) = per_city.most_common(2)
    assert first == "Paris"
    assert first_count > 2 * second_count


def test_stores_are_a_few_km_from_their_city():
    network = mid_network()
    cities = {city.name: city for city in network.cities}

    for store in (loc for loc in network.locations if loc.type is LocationType.store):
        city = cities[store.region]
        assert haversine_km(store.lat, store.lon, city.lat, city.lon) < 25


def test_stores_offer_pickup_and_returns_and_most_ship_from_store():
    stores = [loc for loc in mid_network().locations if loc.type is LocationType.store]

    assert all(s.can(Capability.pickup) and s.can(Capability.returns) for s in stores)
    ship_share = sum(s.can(Capability.ship) for s in stores) / len(stores)
    assert 0.55 < ship_share < 0.85
    assert all(20 <= s.capacity_per_day <= 80 and s.lead_time_hours == 4 for s in stores)
    assert {s.transfer_days for s in stores} <= {1.0, 2.0, 3.0}


def test_vendors_only_ship_and_take_three_days():
    vendors = [loc for loc in mid_network().locations if loc.type is LocationType.dropship]

    assert vendors and all(v.capabilities == {Capability.ship} for v in vendors)
    assert all(v.lead_time_hours == 72 for v in vendors)


def test_ids_are_unique_and_well_formed():
    network = generate_network(130, 1_200, seed=1, vendors=3)
    ids = [loc.id for loc in network.locations]

    assert len(set(ids)) == len(ids)
    patterns = {
        LocationType.warehouse: r"DC-[A-Z-]+",
        LocationType.store: r"ST-\d{4}",
        LocationType.dropship: r"VD-\d{3}",
    }
    for loc in network.locations:
        assert re.fullmatch(patterns[loc.type], loc.id), loc.id
    assert network.skus[0] == "SKU-000001" and network.skus[-1] == "SKU-001200"
    assert all(re.fullmatch(r"SKU-\d{6}", sku) for sku in network.skus)


def test_more_warehouses_than_cities_get_numbered_ids():
    network = generate_network(2, 10, seed=0, warehouses=len(generate_network(1, 1).cities) + 1)

    ids = [loc.id for loc in network.locations if loc.type is LocationType.warehouse]

    assert "DC-PARIS" in ids and "DC-PARIS-2" in ids
    assert len(set(ids)) == len(ids)


def test_popularity_is_skewed_sums_to_one_and_is_shuffled_against_the_sku_id():
    popularity = mid_network().popularity

    assert abs(popularity.sum() - 1.0) < 1e-9
    top_percent = np.sort(popularity)[::-1][: len(popularity) // 100]
    assert top_percent.sum() > 0.3
    assert not np.all(np.diff(popularity) <= 0)


def test_prices_are_positive_with_a_median_near_25_eur():
    price = mid_network().price

    assert price.min() > 0
    assert 18 < np.median(price) < 33


def test_every_position_has_stock_and_appears_once_in_sku_location_order():
    stock = mid_network().stock

    assert stock.on_hand.min() > 0
    key = stock.sku_index.astype(np.int64) * 10_000 + stock.location_index
    assert np.all(np.diff(key) > 0)  # strictly increasing: sorted and no duplicate position
    assert stock.location_index.dtype == stock.sku_index.dtype == stock.on_hand.dtype == np.int32


def test_every_sku_is_stocked_somewhere():
    network = mid_network()

    assert np.array_equal(np.unique(network.stock.sku_index), np.arange(len(network.skus)))


def test_popular_skus_are_stocked_in_more_locations_than_tail_skus():
    network = mid_network()
    locations_per_sku = np.bincount(network.stock.sku_index, minlength=len(network.skus))
    order = np.argsort(-network.popularity)

    top_decile = locations_per_sku[order[: len(order) // 10]].mean()
    tail = locations_per_sku[tail_mask(network)].mean()

    assert top_decile > 40 > 5 > tail


def test_stores_hold_few_units_and_warehouses_hold_many_of_the_best_sellers():
    network = mid_network()
    kinds = kind_of_rows(network)
    best_seller = int(np.argmax(network.popularity))

    at_stores = network.stock.on_hand[kinds == "store"]
    assert at_stores.min() >= 1 and at_stores.max() <= 6
    best_at_warehouses = (kinds == "warehouse") & (network.stock.sku_index == best_seller)
    assert network.stock.on_hand[best_at_warehouses].min() > 500


def test_each_store_carries_a_fifth_to_two_fifths_of_the_head_skus():
    network = mid_network()
    head_skus = int((~tail_mask(network)).sum())
    kinds = kind_of_rows(network)

    per_store = np.bincount(network.stock.location_index[kinds == "store"])
    per_store = per_store[network.index_range(LocationType.store).start :]

    assert np.all(per_store / head_skus > 0.15) and np.all(per_store / head_skus < 0.45)


def test_the_long_tail_sits_mostly_at_vendors_and_never_in_stores():
    network = mid_network()
    kinds = kind_of_rows(network)
    in_tail = tail_mask(network)[network.stock.sku_index]

    tail_kinds = Counter(kinds[in_tail].tolist())

    assert tail_kinds["store"] == 0
    assert tail_kinds["dropship"] > 2 * tail_kinds["warehouse"]


def test_benchmark_sized_network_has_about_three_million_positions():
    network = generate_network(300, 50_000, seed=0)

    print(f"300 stores x 50,000 SKUs: {len(network.stock):,} positions")
    assert 2_500_000 <= len(network.stock) <= 3_500_000


def test_positions_are_the_stock_table_rows_by_id():
    network = generate_network(5, 40, seed=2)

    positions = list(network.positions())

    assert len(positions) == len(network.stock)
    location, sku, on_hand = positions[0]
    assert network.location_index(location) == network.stock.location_index[0]
    assert network.sku_index(sku) == network.stock.sku_index[0]
    assert on_hand == network.stock.on_hand[0]


def test_the_initial_load_is_one_count_per_position_in_bounded_batches():
    network = generate_network(10, 300, seed=5)

    batches = list(stock_events(network, as_of=AS_OF, batch_size=64))

    assert all(len(batch) == 64 for batch in batches[:-1]) and 0 < len(batches[-1]) <= 64
    events = [event for batch in batches for event in batch]
    assert {(e.location, e.sku, e.quantity) for e in events} == set(network.positions())
    assert len(events) == len(network.stock)
    assert all(e.type is EventType.count and e.occurred_at == AS_OF for e in events)
    assert len({e.event_id for e in events}) == len(events)
    assert events[0].event_id == f"seed-5-{events[0].location}-{events[0].sku}"


def test_replaying_the_initial_load_gives_the_same_event_ids():
    network = generate_network(4, 50, seed=5)

    first = [e.event_id for batch in stock_events(network, as_of=AS_OF) for e in batch]
    again = [e.event_id for batch in stock_events(network, as_of=AS_OF) for e in batch]

    assert first == again


def feed(network: Network, n: int, seed: int = 1, batch_size: int = 1000) -> list:
    start = AS_OF + timedelta(hours=1)
    batches = make_feed(network, start=start, n=n, seed=seed, batch_size=batch_size)
    return [event for batch in batches for event in batch]


def test_the_feed_has_unique_ids_and_the_asked_number_of_events_in_batches():
    network = mid_network()

    batches = list(make_feed(network, start=AS_OF, n=5_000, seed=1, batch_size=700))

    assert [len(b) for b in batches] == [700] * 7 + [100]
    ids = [e.event_id for batch in batches for e in batch]
    assert len(set(ids)) == 5_000


def test_the_feed_is_deterministic_for_a_seed():
    network = mid_network()

    assert feed(network, 500, seed=2) == feed(network, 500, seed=2)
    assert feed(network, 500, seed=2) != feed(network, 500, seed=3)


def test_the_feed_moves_forward_with_a_few_late_arrivals():
    events = feed(mid_network(), 20_000)
    times = np.array([(e.occurred_at - AS_OF).total_seconds() for e in events])

    late = np.diff(times) < 0

    assert 0.5 * FEED_LATE_SHARE < late.mean() < 2 * FEED_LATE_SHARE
    assert times[-1] > times[0]
    assert np.median(np.diff(times)) < 0.01  # a few milliseconds apart


def test_store_sales_hit_stocked_popular_skus_and_dc_receipts_land_at_warehouses():
    network = mid_network()
    stocked = {(loc, sku) for loc, sku, _ in network.positions()}
    types = {loc.id: loc.type for loc in network.locations}
    events = feed(network, 20_000)

    sales = [e for e in events if e.type is EventType.sale]
    receipts = [e for e in events if e.type is EventType.receive]

    assert len(sales) > len(events) / 2 and receipts
    assert all(types[e.location] is LocationType.store for e in sales)
    assert all((e.location, e.sku) in stocked for e in sales)
    assert all(types[e.location] is not LocationType.dropship for e in receipts)
    assert any(types[e.location] is LocationType.warehouse for e in receipts)
    top_decile = set(np.argsort(-network.popularity)[: len(network.skus) // 10].tolist())
    top_sales = sum(network.sku_index(e.sku) in top_decile for e in sales)
    assert top_sales > 0.6 * len(sales)


def test_feed_quantities_are_sane():
    network = mid_network()
    types = {loc.id: loc.type for loc in network.locations}
    events = feed(network, 20_000)
    by_type = {kind: [e.quantity for e in events if e.type is kind] for kind in EventType}
    dc_receipts = [
        e.quantity
        for e in events
        if e.type is EventType.receive and types[e.location] is LocationType.warehouse
    ]

    assert set(by_type[EventType.sale]) <= {1, 2, 3}
    assert dc_receipts and all(q > 0 and q % 6 == 0 and q <= 120 for q in dc_receipts)
    shelf_receipts = [
        e.quantity
        for e in events
        if e.type is EventType.receive and types[e.location] is LocationType.store
    ]
    assert shelf_receipts and set(shelf_receipts) <= {6, 12}  # one or two cases
    assert all(q != 0 and abs(q) <= 3 for q in by_type[EventType.adjust])
    assert all(0 <= q <= 10_000 for q in by_type[EventType.count])
    assert by_type[EventType.adjust] and by_type[EventType.count]


@cache
def reported_network() -> Network:
    """The network on which the old feed sold popular store positions down to about -130."""
    return generate_network(100, 5_000, seed=7)


@cache
def reported_feed() -> tuple[StockEvent, ...]:
    network = reported_network()
    batches = make_feed(network, start=AS_OF + timedelta(hours=1), n=50_000, seed=7)
    return tuple(event for batch in batches for event in batch)


def replay(network: Network, events) -> list[tuple[StockEvent, int, int]]:
    """Each feed event with its position's on_hand before and after it, in occurred_at order,
    from the seeded stock (the initial counts occur before the feed): a count replaces, a delta
    adds, as the ledger does whatever the arrival order."""
    book = {(location, sku): on_hand for location, sku, on_hand in network.positions()}
    steps = []
    for event in sorted(events, key=lambda e: (e.occurred_at, e.event_id)):
        key = (event.location, event.sku)
        before = book.get(key, 0)
        book[key] = event.quantity if event.is_count else before + event.delta
        steps.append((event, before, book[key]))
    return steps


def test_replaying_the_feed_by_occurred_at_never_takes_a_position_below_zero():
    network, events = reported_network(), reported_feed()

    steps = replay(network, events)

    lowest = min(after for _, _, after in steps)
    assert lowest >= 0, f"a position reaches {lowest}"
    assert all(
        event.quantity <= before for event, before, _ in steps if event.type is EventType.sale
    )


def test_the_ledger_fold_agrees_with_the_replay_and_ends_every_position_at_zero_or_more():
    network, events = reported_network(), reported_feed()
    by_position = defaultdict(list)
    for event in events:
        by_position[event.location, event.sku].append(event)
    initial = {
        (e.location, e.sku): e
        for batch in stock_events(network, as_of=AS_OF)
        for e in batch
        if (e.location, e.sku) in by_position
    }
    final = {(event.location, event.sku): after for event, _, after in replay(network, events)}

    for position, history in by_position.items():
        seeded = [initial[position]] if position in initial else []
        on_hand = fold(Ledgered(), [*seeded, *history])[0].on_hand
        assert on_hand == final[position] >= 0, position


def test_the_feed_arrival_order_has_late_events_but_the_book_holds_by_occurred_at():
    events = reported_feed()
    times = [e.occurred_at for e in events]

    late = sum(later < earlier for earlier, later in pairwise(times))

    assert 0.5 * FEED_LATE_SHARE * len(events) < late < 2 * FEED_LATE_SHARE * len(events)
    assert min(after for _, _, after in replay(reported_network(), events)) >= 0


def test_counts_report_the_book_give_or_take_one_unit():
    steps = replay(reported_network(), reported_feed())

    errors = Counter(
        event.quantity - before for event, before, _ in steps if event.type is EventType.count
    )

    assert set(errors) <= {-1, 0, 1}
    assert errors[0] > 0.8 * errors.total()
    assert errors[-1] and errors[1]  # now and then shrink or a miscount shows up


def test_popular_shelves_that_run_out_are_restocked_and_keep_selling():
    network = reported_network()
    types = {loc.id: loc.type for loc in network.locations}
    steps = replay(network, reported_feed())
    seeded = {(location, sku): on_hand for location, sku, on_hand in network.positions()}

    ran_out: set[tuple[str, str]] = set()
    sold: Counter[tuple[str, str]] = Counter()
    for event, _, after in steps:
        position = (event.location, event.sku)
        if event.type is EventType.receive and types[event.location] is LocationType.store:
            assert position in ran_out  # a shelf is restocked after it ran out, not before
        if event.type is EventType.sale:
            sold[position] += event.quantity
        if after == 0:
            ran_out.add(position)

    best_seller = network.skus[int(np.argmax(network.popularity))]
    best = {position: units for position, units in sold.items() if position[1] == best_seller}
    assert len(best) > 20
    assert sum(best.values()) > 5 * sum(seeded[position] for position in best)


def test_sales_are_mostly_store_sales_of_popular_skus():
    network = reported_network()
    events = reported_feed()
    types = {loc.id: loc.type for loc in network.locations}
    top_decile = set(np.argsort(-network.popularity)[: len(network.skus) // 10].tolist())

    sales = [e for e in events if e.type is EventType.sale]
    mix = Counter(e.type for e in events)

    assert mix.most_common(1)[0][0] is EventType.sale and len(sales) > 0.5 * len(events)
    assert all(types[e.location] is LocationType.store for e in sales)
    assert sum(network.sku_index(e.sku) in top_decile for e in sales) > 0.6 * len(sales)


@settings(max_examples=20, deadline=None)
@given(
    stores=st.integers(1, 12),
    skus=st.integers(1, 120),
    seed=st.integers(0, 2**32),
    feed_seed=st.integers(0, 1_000),
)
def test_any_small_network_feed_keeps_every_position_at_zero_or_more(stores, skus, seed, feed_seed):
    network = generate_network(stores, skus, seed)

    events = feed(network, 3_000, seed=feed_seed, batch_size=512)

    assert len(events) == 3_000 and len({e.event_id for e in events}) == 3_000
    assert min(after for _, _, after in replay(network, events)) >= 0


def test_a_network_too_small_for_store_stock_still_feeds_events():
    tiny = next(
        n for n in (generate_network(1, 1, seed) for seed in range(50)) if len(n.stock) == 1
    )

    events = feed(tiny, 100)

    assert len(events) == 100
    assert all(e.type is not EventType.sale for e in events)


@settings(max_examples=25, deadline=None)
@given(
    stores=st.integers(1, 30),
    skus=st.integers(1, 300),
    seed=st.integers(0, 2**32),
    vendors=st.one_of(st.none(), st.integers(1, 4)),
)
def test_any_small_network_keeps_its_stock_invariants(stores, skus, seed, vendors):
    network = generate_network(stores, skus, seed, vendors=vendors)
    stock = network.stock

    assert stock.on_hand.min() > 0
    key = stock.sku_index.astype(np.int64) * len(network.locations) + stock.location_index
    assert np.all(np.diff(key) > 0)
    assert np.array_equal(np.unique(stock.sku_index), np.arange(skus))
    assert stock.location_index.max() < len(network.locations)
    assert len({loc.id for loc in network.locations}) == len(network.locations)


@pytest.mark.parametrize(
    "sizes",
    [{"stores": 0, "skus": 5}, {"stores": 3, "skus": 0}, {"stores": 3, "skus": 5, "seed": -1}],
)
def test_impossible_sizes_are_refused(sizes):
    with pytest.raises(ValueError):
        generate_network(**sizes)
