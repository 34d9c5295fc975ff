"""Vendor confidence is a share of the stock (on hand less safety), not of what is still free:
holds taken one after another never wear it away."""

from __future__ import annotations

from inventory.availability.policy import AvailabilityPolicy, ChannelFence, VendorConfidence
from inventory.availability.sources import Query
from tests.inventory.helpers import VENDOR, WAREHOUSE, ev, sku
from tests.inventory.holding import (
    assert_never_oversold,
    available,
    hold,
)

HALF_FOR_THE_STORE = AvailabilityPolicy(
    fences=[ChannelFence(channel="store", location=WAREHOUSE.id, share=0.5)]
)
WEB, STORE_CHANNEL = Query(channel="web"), Query(channel="store")


def granted(desk, s: str, count: int, **kw) -> int:
    """How many of `count` one-unit holds of `s`, asked one after another, are held."""
    return sum(desk.hold(hold((s, 1), **kw)).status == "held" for _ in range(count))


def test_a_vendor_trusted_with_half_of_ten_grants_five_one_unit_holds_not_nine(
    desk, backend, at_t0
):
    backend.ledger.set_policy(AvailabilityPolicy(vendor=VendorConfidence(factor=0.5)))
    s = sku()
    backend.ledger.ingest([ev(VENDOR.id, s, "count", 10)])
    assert available(backend, s) == 5
    assert granted(desk, s, 20) == 5
    assert available(backend, s) == 0
    assert backend.ledger.position(VENDOR.id, s).reserved == 5
    assert_never_oversold(backend)
