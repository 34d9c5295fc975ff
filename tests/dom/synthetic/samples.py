"""Networks and feeds the synthetic-data tests share, the costly ones built once per session."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from functools import cache

from dom.synthetic import Network, generate_network
from dom.synthetic import feed_events as make_feed
from inventory.domain.model import StockEvent

AS_OF = datetime(2026, 3, 1, 6, 0, tzinfo=UTC)


@cache
def mid_network() -> Network:
    return generate_network(200, 3_000, seed=7)


def feed(network: Network, n: int, seed: int = 1, batch_size: int = 1000) -> list:
    start = AS_OF + timedelta(hours=1)
    batches = make_feed(network, start=start, n=n, seed=seed, batch_size=batch_size)
    return [event for batch in batches for event in batch]


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
