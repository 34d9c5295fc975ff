"""A realistic ongoing stock feed for a synthetic network, in arrival order, in batches."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import datetime, timedelta

import numpy as np

from dom.synthetic.book import FEED_MAX_GAP_MS, FEED_MIX, Book
from dom.synthetic.network import FEED_STREAM, Network
from inventory import LocationType, StockEvent

# Events that arrive after later ones: occurred_at before the previous event's.
FEED_LATE_SHARE = 0.03
FEED_MAX_LATENESS_MS = 3_000
EVENTS_PER_CHUNK = 65_536
FEED_SOURCE = {
    LocationType.warehouse: "wms",
    LocationType.store: "pos",
    LocationType.dropship: "vendor",
}
_MS = timedelta(milliseconds=1)


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
    rng = np.random.default_rng([network.seed, FEED_STREAM, seed])
    book = Book(network)
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
