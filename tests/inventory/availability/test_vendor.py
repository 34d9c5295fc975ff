"""The vendor-confidence rule: one rule, the same numbers in its scalar and array forms."""

from __future__ import annotations

import numpy as np
from hypothesis import given
from hypothesis import strategies as st

from inventory.availability.policy import VendorConfidence
from inventory.availability.vendor import feed_stale, trusted_units, trusted_units_of


def test_a_vendor_is_trusted_with_the_floor_of_its_factor_times_its_free_units():
    assert trusted_units(10, 0.5) == 5
    assert trusted_units(9, 0.5) == 4
    assert trusted_units(-3, 0.5) == 0


@given(st.lists(st.integers(-10**6, 10**12), max_size=50), st.floats(0, 1))
def test_the_array_form_trusts_exactly_what_the_scalar_form_trusts(free, factor):
    as_array = trusted_units_of(np.array(free, dtype=np.int64), factor).tolist()
    assert as_array == [trusted_units(units, factor) for units in free]


def test_a_feed_older_than_the_policy_allows_is_stale_and_one_just_inside_is_not():
    vendor = VendorConfidence(factor=0.8, max_age_hours=2)
    now_s = 100_000
    assert feed_stale(now_s - 2 * 3600 - 1, now_s, vendor)
    assert not feed_stale(now_s - 2 * 3600, now_s, vendor)
    reported = np.array([now_s - 2 * 3600 - 1, now_s - 2 * 3600])
    assert feed_stale(reported, now_s, vendor).tolist() == [True, False]
