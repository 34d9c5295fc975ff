"""Which locations of a synthetic network hold which SKUs, and how many units. Pure numpy."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

ZIPF_EXPONENT = 1.1
HEAD_SHARE = 0.7  # the most popular 70% of SKUs; the rest is the long tail, mostly at vendors
MEDIAN_PRICE_EUR = 25.0
STORE_ASSORTMENT_SHARE = (0.2, 0.4)  # share of the head SKUs one store carries
SKUS_PER_CHUNK = 2_048  # stock is drawn chunk by chunk to bound memory; fixed so output is stable


@dataclass(frozen=True, eq=False)
class StockTable:
    """Positions with on_hand > 0 as parallel int32 arrays, sorted by (sku_index, location_index)."""

    location_index: np.ndarray
    sku_index: np.ndarray
    on_hand: np.ndarray

    def __len__(self) -> int:
        return len(self.on_hand)


def catalogue(skus: int, rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Popularity rank per SKU (0 = best seller, shuffled against the id), Zipf shares, prices."""
    rank = rng.permutation(skus)
    shares = np.arange(1, skus + 1, dtype=float) ** -ZIPF_EXPONENT
    popularity = shares[rank] / shares.sum()
    price = np.round(np.maximum(0.5, MEDIAN_PRICE_EUR * rng.lognormal(0.0, 0.8, skus)), 2)
    return rank, popularity, price


def draw_stock(
    rank: np.ndarray, sizes: tuple[int, int, int], rng: np.random.Generator
) -> StockTable:
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
