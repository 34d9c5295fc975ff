"""The projection's packed stock record: one SKU's positions as one binary string. Pure.

Checkout reads twenty SKUs held by hundreds of locations each. As one string per SKU, a cart is
twenty bulk replies that numpy reads in place, instead of thousands of hash fields to receive,
decode and split. Each entry is fixed-width and little-endian, so Lua (`struct`) and numpy
(`frombuffer`) agree on it byte for byte:

    version  int64   the position's version in SQL: the projection only ever moves forward
    slot     int32   the location's slot, a small number the ledger gives it once, for good
    reported uint32  when its source last reported, whole seconds since the epoch
    on_hand  int32
    reserved int32
    safety   int32
"""

from __future__ import annotations

import struct

import numpy as np

RECORD = np.dtype(
    [
        ("version", "<i8"),
        ("slot", "<i4"),
        ("reported", "<u4"),
        ("on_hand", "<i4"),
        ("reserved", "<i4"),
        ("safety", "<i4"),
    ]
)
SIZE = RECORD.itemsize  # 28 bytes
_ENTRY = struct.Struct("<qiIiii")  # the same layout, for packing one entry at a time
assert _ENTRY.size == SIZE
INT32 = (-(2**31), 2**31 - 1)


def pack(
    slot: int, version: int, on_hand: int, reserved: int, safety: int, reported_s: int
) -> bytes:
    """One entry. Quantities beyond int32 are refused: a position that large is a feed error."""
    try:
        return _ENTRY.pack(
            version, slot, min(max(reported_s, 0), 2**32 - 1), on_hand, reserved, safety
        )
    except struct.error:
        for name, value in (("on_hand", on_hand), ("reserved", reserved), ("safety", safety)):
            if not INT32[0] <= value <= INT32[1]:
                raise OverflowError(f"{name} {value} does not fit a projection record") from None
        raise


def unpack(raw: bytes | None) -> np.ndarray:
    """The entries of one SKU (a read-only view over `raw`, no copy)."""
    if not raw:
        return np.empty(0, dtype=RECORD)
    if len(raw) % SIZE:
        raise ValueError(f"a stock record of {len(raw)} bytes is not a whole number of entries")
    return np.frombuffer(raw, dtype=RECORD)
