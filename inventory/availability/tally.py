"""Vectorised tally of one SKU's positions, for the availability hot path. Pure.

A popular SKU sits in hundreds of stores; checkout asks for twenty of them at once, so the
per-position work is done by numpy over the projection's packed records (inventory.domain.records), read
in place, not by a Python loop. inventory.availability.compute keeps the one-position-at-a-time version for
explanations; tests hold the two to the same answers.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from inventory.availability.policy import VendorConfidence
from inventory.availability.vendor import feed_stale, feed_trusted_until, trusted_units_of
from inventory.domain.records import RECORD, SIZE


@dataclass(frozen=True, slots=True)
class SourceTable:
    """Per location index: may it give, how fast, is it a vendor, is it the pickup shelf."""

    ids: tuple[str, ...]  # the location at each index
    by_slot: np.ndarray  # a record's slot -> its location's index, -1 where no location has it
    eligible: np.ndarray
    lead_hours: np.ndarray
    dropship: np.ndarray
    shelf: np.ndarray

    def index_of(self, slots: np.ndarray) -> np.ndarray:
        """The location index of each slot, -1 for slots the network does not know."""
        inside = (slots >= 0) & (slots < len(self.by_slot))
        return np.where(inside, self.by_slot[np.where(inside, slots, 0)], -1)


@dataclass(frozen=True, slots=True)
class Tally:
    total: int
    shelf: int
    leads: np.ndarray  # lead hours of the locations that give, fastest first
    cumulative: np.ndarray  # units given by those locations, running total in the same order
    # Time alone changes it after this second (a vendor's feed counted here goes stale); until
    # then the same record and sources give the same tally.
    until_s: float = math.inf


def tally(
    record: bytes | None,
    table: SourceTable,
    now_s: int,
    vendor: VendorConfidence,
) -> Tally:
    return tally_many([record], table, now_s, vendor)[0]


def tally_many(
    carts: Sequence[bytes | None],
    table: SourceTable,
    now_s: int,
    vendor: VendorConfidence,
) -> list[Tally]:
    """Tally several SKUs at once: one pass of numpy over all their records, then a slice each."""
    records = [record or b"" for record in carts]
    lengths = [len(record) // SIZE for record in records]
    if any(
        len(record) % SIZE for record in records
    ):  # a torn write would misread every entry after
        raise ValueError("a stock record is not a whole number of entries: rebuild the projection")
    if sum(lengths) == 0:
        return [_EMPTY] * len(carts)
    values = np.frombuffer(b"".join(records), dtype=RECORD)
    at = table.index_of(values["slot"])
    sku = np.repeat(np.arange(len(carts)), lengths)
    known = at >= 0
    at = np.where(known, at, 0)
    stock = values["on_hand"].astype(np.int64) - values["safety"].astype(np.int64)
    reserved = values["reserved"].astype(np.int64)
    free = stock - reserved
    gives = known & table.eligible[at] & (free > 0)
    dropship = gives & table.dropship[at]
    until = np.full(len(carts), math.inf)
    if dropship.any():
        reported = values["reported"].astype(np.int64)
        stale = feed_stale(reported, now_s, vendor)
        counted = dropship & ~stale
        np.minimum.at(until, sku[counted], feed_trusted_until(reported[counted], vendor))
        gives &= ~(dropship & stale)
        free = np.where(dropship, trusted_units_of(stock, reserved, vendor.factor), free)
        gives &= free > 0
    units, leads, sku, shelf = (
        free[gives],
        table.lead_hours[at[gives]],
        sku[gives],
        table.shelf[at[gives]],
    )
    totals = np.bincount(sku, weights=units, minlength=len(carts)).astype(np.int64)
    shelves = np.bincount(sku, weights=units * shelf, minlength=len(carts)).astype(np.int64)
    order = np.lexsort((leads, sku))  # by SKU, then fastest first (stable within equal leads)
    units, leads, sku = units[order], leads[order], sku[order]
    running = np.cumsum(units)
    bounds = np.searchsorted(sku, np.arange(len(carts) + 1))
    tallies = []
    for i in range(len(carts)):
        start, end = bounds[i], bounds[i + 1]
        before = running[start - 1] if start > 0 else 0
        tallies.append(
            Tally(
                int(totals[i]), int(shelves[i]), leads[start:end], running[start:end] - before,
                float(until[i]),
            )
        )  # fmt: skip
    return tallies


_EMPTY = Tally(0, 0, np.empty(0), np.empty(0, dtype=np.int64))
