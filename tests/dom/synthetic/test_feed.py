"""The synthetic stock feed: unique ids, the same for a seed, moving forward with a few late
arrivals, mostly store sales of popular SKUs, sane quantities, on any small network."""

from __future__ import annotations

from collections import Counter
from itertools import pairwise

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st

from dom.synthetic import FEED_LATE_SHARE, generate_network
from dom.synthetic import feed_events as make_feed
from inventory.domain.model import EventType, LocationType
from tests.dom.synthetic.samples import (
    AS_OF,
    feed,
    mid_network,
    replay,
    reported_feed,
    reported_network,
)


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


def test_the_feed_arrival_order_has_late_events_but_the_book_holds_by_occurred_at():
    events = reported_feed()
    times = [e.occurred_at for e in events]

    late = sum(later < earlier for earlier, later in pairwise(times))

    assert 0.5 * FEED_LATE_SHARE * len(events) < late < 2 * FEED_LATE_SHARE * len(events)
    assert min(after for _, _, after in replay(reported_network(), events)) >= 0


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
