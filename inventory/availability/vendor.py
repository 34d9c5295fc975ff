"""A drop-ship vendor's confidence rule, stated once: how much of a vendor's reported stock is
trusted, and when its feed is too old to trust at all. Pure.

A vendor's trusted stock is `floor(factor x (on_hand - safety))`, none below zero; its trusted
quantity is that less what is already held there. The factor applies to the stock, never to
what is still free: twenty one-unit holds on a vendor trusted with 5 of its 10 get 5, not 9.
The scalar forms serve holds and explanations; the array forms serve the vectorised tally of a
whole SKU. A test holds the two to the same numbers.
"""

from __future__ import annotations

import math

import numpy as np

from inventory.availability.policy import VendorConfidence


def trusted_stock(stock: int, factor: float) -> int:
    """Units of `stock` (on_hand - safety) a vendor is trusted with: `floor(factor x stock)`,
    none below zero."""
    return math.floor(max(stock, 0) * factor)


def trusted_stock_of(stock: np.ndarray, factor: float) -> np.ndarray:
    """`trusted_stock` over an array of stock."""
    return np.floor(np.maximum(stock, 0) * factor).astype(np.int64)


def trusted_units(stock: int, reserved: int, factor: float) -> int:
    """The vendor's trusted quantity: its trusted stock less what is already held there."""
    return max(0, trusted_stock(stock, factor) - reserved)


def trusted_units_of(stock: np.ndarray, reserved: np.ndarray, factor: float) -> np.ndarray:
    """`trusted_units` over arrays of stock and reserved units."""
    return np.maximum(trusted_stock_of(stock, factor) - reserved, 0)


def feed_stale(reported_s: int | np.ndarray, now_s: int, vendor: VendorConfidence):
    """True where the vendor's last report is older than the policy trusts (scalar or array)."""
    return now_s > feed_trusted_until(reported_s, vendor)


def feed_trusted_until(reported_s: int | np.ndarray, vendor: VendorConfidence):
    """The last second a report made at `reported_s` is trusted (scalar or array)."""
    return reported_s + vendor.max_age_hours * 3600
