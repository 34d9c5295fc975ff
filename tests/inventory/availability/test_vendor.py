"""The vendor-confidence rule: one rule, the same numbers in its scalar and array forms."""

from __future__ import annotations

import numpy as np
from hypothesis import given
from hypothesis import strategies as st

from inventory.availability.policy import VendorConfidence
from inventory.availability.vendor import (
    feed_stale,
    trusted_stock,
    trusted_stock_of,
    trusted_units,
    trusted_units_of,
)


def test_a_vendor_is_trusted_with_the_floor_of_its_factor_times_its_stock():
    assert trusted_stock(10, 0.5) == 5
    assert trusted_stock(9, 0.5) == 4
    assert trusted_stock(-3, 0.5) == 0


def test_what_is_held_at_a_vendor_comes_out_of_its_trusted_stock_not_out_of_the_factor():
    assert [trusted_units(10, reserved, 0.5) for reserved in range(7)] == [5, 4, 3, 2, 1, 0, 0]


@given(
    st.lists(st.tuples(st.integers(-(10**6), 10**12), st.integers(0, 10**6)), max_size=50),
    st.floats(0, 1),
)
def test_the_array_form_trusts_exactly_what_the_scalar_form_trusts(positions, factor):
    stock = np.array([s for s, _ in positions], dtype=np.int64)
    reserved = np.array([r for _, r in positions], dtype=np.int64)
    assert trusted_stock_of(stock, factor).tolist() == [
        trusted_stock(s, factor) for s, _ in positions
    ]
    assert trusted_units_of(stock, reserved, factor).tolist() == [
        trusted_units(s, r, factor) for s, r in positions
    ]


def test_a_feed_older_than_the_policy_allows_is_stale_and_one_just_inside_is_not():
    vendor = VendorConfidence(factor=0.8, max_age_hours=2)
    now_s = 100_000
    assert feed_stale(now_s - 2 * 3600 - 1, now_s, vendor)
    assert not feed_stale(now_s - 2 * 3600, now_s, vendor)
    reported = np.array([now_s - 2 * 3600 - 1, now_s - 2 * 3600])
    assert feed_stale(reported, now_s, vendor).tolist() == [True, False]
