"""A seeded network is the same for the same seed, sized as asked or by the default ratios, and
loaded as one count per position."""

from __future__ import annotations

from collections import Counter

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from dom.synthetic import generate_network, stock_events
from inventory.domain.model import EventType, LocationType
from tests.dom.synthetic.samples import AS_OF, mid_network


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
