"""Vectorised tally of one SKU's positions, for the availability hot path. Pure.

A popular SKU sits in hundreds of stores; checkout asks for twenty of them at once, so the
per-position work is done by numpy over arrays, not by a Python loop. inventory.availability keeps
the one-position-at-a-time version for explanations; tests hold the two to the same answers.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from itertools import chain, repeat

import numpy as np

FIELDS = 5  # version:on_hand:reserved:safety:reported_s


@dataclass(frozen=True, slots=True)
class SourceTable:
    """Per location index: may it give, how fast, is it a vendor, is it the pickup shelf."""

    index: dict[str, int]
    eligible: np.ndarray
    lead_hours: np.ndarray
    dropship: np.ndarray
    shelf: np.ndarray


@dataclass(frozen=True, slots=True)
class Tally:
    total: int
    shelf: int
    leads: np.ndarray  # lead hours of the locations that give, fastest first
    cumulative: np.ndarray  # units given by those locations, running total in the same order


def tally(
    positions: Mapping[str, str],
    table: SourceTable,
    now_s: int,
    vendor_max_age_s: float,
    vendor_factor: float,
) -> Tally:
    return tally_many([positions], table, now_s, vendor_max_age_s, vendor_factor)[0]


def tally_many(
    carts: Sequence[Mapping[str, str]],
    table: SourceTable,
    now_s: int,
    vendor_max_age_s: float,
    vendor_factor: float,
) -> list[Tally]:
    """Tally several SKUs at once: one pass of numpy over all their positions, then a slice each."""
    lengths = [len(positions) for positions in carts]
    count = sum(lengths)
    if count == 0:
        return [_EMPTY] * len(carts)
    lookup = map(table.index.get, chain.from_iterable(carts), repeat(-1))  # -1: location unknown
    at = np.fromiter(lookup, dtype=np.int64, count=count)
    raw = ":".join(chain.from_iterable(positions.values() for positions in carts))
    values = np.fromstring(raw, dtype=np.int64, sep=":").reshape(-1, FIELDS)
    sku = np.repeat(np.arange(len(carts)), lengths)
    known = at >= 0
    at = np.where(known, at, 0)
    free = values[:, 1] - values[:, 2] - values[:, 3]
    gives = known & table.eligible[at] & (free > 0)
    vendor = gives & table.dropship[at]
    if vendor.any():
        gives &= ~(vendor & (now_s - values[:, 4] > vendor_max_age_s))
        free = np.where(
            vendor, np.floor(np.maximum(free, 0) * vendor_factor).astype(np.int64), free
        )
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
            Tally(int(totals[i]), int(shelves[i]), leads[start:end], running[start:end] - before)
        )
    return tallies


_EMPTY = Tally(0, 0, np.empty(0), np.empty(0, dtype=np.int64))
