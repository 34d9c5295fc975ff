"""A drop-ship vendor's confidence rule, stated once: how much of a vendor's reported stock is
trusted, and when its feed is too old to trust at all. Pure.

The scalar forms serve holds and explanations; the array forms serve the vectorised tally of a
whole SKU. A test holds the two to the same numbers.
"""

from __future__ import annotations

import math

import numpy as np

from inventory.availability.policy import VendorConfidence


def trusted_units(free: int, factor: float) -> int:
    """Units of `free` a vendor is trusted with: `floor(factor x free)`, none below zero."""
    return math.floor(max(free, 0) * factor)


def trusted_units_of(free: np.ndarray, factor: float) -> np.ndarray:
    """`trusted_units` over an array of free units."""
    return np.floor(np.maximum(free, 0) * factor).astype(np.int64)


def feed_stale(reported_s: int | np.ndarray, now_s: int, vendor: VendorConfidence):
    """True where the vendor's last report is older than the policy trusts (scalar or array)."""
    return now_s - reported_s > vendor.max_age_hours * 3600
