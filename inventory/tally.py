"""Vectorised tally of one SKU's positions, for the availability hot path. Pure.

A popular SKU sits in hundreds of stores; checkout asks for twenty of them at once, so the
per-position work is done by numpy over arrays, not by a Python loop. inventory.availability keeps
the one-position-at-a-time version for explanations; tests hold the two to the same answers.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from itertools import repeat

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
    if not positions:
        return Tally(0, 0, np.empty(0), np.empty(0, dtype=np.int64))
    lookup = map(table.index.get, positions, repeat(-1))  # -1: a location the network no longer has
    at = np.fromiter(lookup, dtype=np.int64, count=len(positions))
    values = np.fromstring(":".join(positions.values()), dtype=np.int64, sep=":").reshape(
        -1, FIELDS
    )
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
    units, leads = free[gives], table.lead_hours[at[gives]]
    order = np.argsort(leads, kind="stable")
    return Tally(
        int(units.sum()),
        int(units[table.shelf[at[gives]]].sum()),
        leads[order],
        np.cumsum(units[order]),
    )
