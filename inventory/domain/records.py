"""The projection's packed stock record: one SKU's positions as one binary string. Pure.

Checkout reads twenty SKUs held by hundreds of locations each. As one string per SKU, a cart is
twenty bulk replies that numpy reads in place, instead of thousands of hash fields to receive,
decode and split. Each entry is fixed-width and little-endian, so Lua (`struct`) and numpy
(`frombuffer`) agree on it byte for byte:

    version  int64   the position's version in SQL: the projection only ever moves forward
    slot     int32   the location's slot, a small number the ledger gives it once, for good
    reported uint32  when its source last reported, whole seconds since the epoch
    on_hand  int64   as wide as the ledger's columns: receipts may add up past 2**31
    reserved int64
    safety   int64

A position's entry has the location's slot (0 or more). Beside it, each sales channel holding
units there has a pool entry: its slot is negative and names the (location, channel) pair
(`pool_slot`), its `reserved` is what that channel holds at the position, its `version` the
position's version when that changed; its other fields are 0. Channel fences are counted
against these (inventory.availability.sources.Source). A reader of positions skips entries whose
slot is negative, or reads them as pools.
"""

from __future__ import annotations

import struct

import numpy as np

RECORD = np.dtype(
    [
        ("version", "<i8"),
        ("slot", "<i4"),
        ("reported", "<u4"),
        ("on_hand", "<i8"),
        ("reserved", "<i8"),
        ("safety", "<i8"),
    ]
)
SIZE = RECORD.itemsize  # 40 bytes
_ENTRY = struct.Struct("<qiIqqq")  # the same layout, for packing one entry at a time


assert _ENTRY.size == SIZE


INT64 = (-(2**63), 2**63 - 1)


def pack(
    slot: int, version: int, on_hand: int, reserved: int, safety: int, reported_s: int
) -> bytes:
    """One entry. Quantities beyond int64 cannot be: SQL holds 64-bit integers."""
    try:
        return _ENTRY.pack(
            version, slot, min(max(reported_s, 0), 2**32 - 1), on_hand, reserved, safety
        )
    except struct.error:
        for name, value in (("on_hand", on_hand), ("reserved", reserved), ("safety", safety)):
            if not INT64[0] <= value <= INT64[1]:
                raise OverflowError(f"{name} {value} does not fit a projection record") from None
        raise


def unpack(raw: bytes | None) -> np.ndarray:
    """The entries of one SKU (a read-only view over `raw`, no copy)."""
    if not raw:
        return np.empty(0, dtype=RECORD)
    if len(raw) % SIZE:
        raise ValueError(f"a stock record of {len(raw)} bytes is not a whole number of entries")
    return np.frombuffer(raw, dtype=RECORD)


POOL_LOCATION_BITS = 20
MAX_POOL_LOCATION_SLOT = (1 << POOL_LOCATION_BITS) - 1  # a location's slot, in a pool entry
MAX_CHANNEL_NUMBER = (1 << (31 - POOL_LOCATION_BITS)) - 1  # 2047 sales channels


def pool_slot(location_slot: int, channel_number: int) -> int:
    """The negative slot of the pool entry of one channel at one location."""
    if not 0 <= location_slot <= MAX_POOL_LOCATION_SLOT:
        raise OverflowError(f"location slot {location_slot} does not fit a pool entry")
    if not 0 <= channel_number <= MAX_CHANNEL_NUMBER:
        raise OverflowError(f"channel number {channel_number} does not fit a pool entry")
    return -1 - (channel_number << POOL_LOCATION_BITS | location_slot)


def pool_of(slot: int) -> tuple[int, int]:
    """(location slot, channel number) of a pool entry's slot (negative)."""
    pool = -1 - slot
    return pool & MAX_POOL_LOCATION_SLOT, pool >> POOL_LOCATION_BITS


def locations_of(slots: np.ndarray) -> np.ndarray:
    """The location slot of every entry: its own slot, or the location its pool is at."""
    return np.where(slots < 0, (-1 - slots) & MAX_POOL_LOCATION_SLOT, slots)
