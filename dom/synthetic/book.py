"""The feed's running book: the on_hand of every position it touched, and restocks on their way.

It keeps the generated feed physically possible: a sale never takes more than the shelf holds, a
position that runs out is restocked some seconds later, counts report the book.
"""

from __future__ import annotations

from dataclasses import dataclass
from heapq import heappop, heappush

import numpy as np

from dom.synthetic.network import Network
from inventory import EventType, LocationType

FEED_MIX = {
    EventType.sale: 0.76,
    EventType.receive: 0.04,
    EventType.adjust: 0.08,
    EventType.count: 0.12,
}
_SALE, _RECEIVE, _ADJUST, _COUNT = range(4)  # indexes into FEED_MIX
FEED_MAX_GAP_MS = 8  # the most time between two events
# A shelf or DC slot that runs out is restocked this long after (ms): a delivery, not a miracle.
FEED_RESTOCK_DELAY_MS = (5_000, 60_000)
FEED_SALE_ATTEMPTS = 4  # a customer facing an empty shelf buys another drawn item instead
FEED_COUNT_ERROR_SHARE = 0.1  # counts one unit off the book: shrink found, a miscount
CASE_UNITS, MAX_CASES = 6, 20  # DC receipts come in cases of six
SHELF_CASES = 2  # a shelf is restocked with one or two cases (or back to its seeded level)
_NO_RESTOCK, _SHELF, _DC = range(3)  # how a position that runs out is restocked (vendors: not)


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


class Book:
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
