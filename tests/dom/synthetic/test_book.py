"""The feed's running book keeps it physically possible: replayed by occurred_at, or folded by the
ledger, no position goes below zero; counts report the book; shelves that run out are restocked."""

from __future__ import annotations

from collections import Counter, defaultdict

import numpy as np

from dom.synthetic import stock_events
from inventory.domain.model import EventType, LocationType
from inventory.stock.count_rule import Ledgered, fold
from tests.dom.synthetic.samples import AS_OF, replay, reported_feed, reported_network


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
