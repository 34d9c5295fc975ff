"""Holds on availability's terms: never more than availability shows the hold's channel and
method, whatever shelves, fences, the network threshold, vendor confidence or inactive
locations keep back."""

from __future__ import annotations

import dataclasses
import uuid
from datetime import timedelta

from inventory.availability.policy import AvailabilityPolicy, ChannelFence
from inventory.availability.sources import Query
from inventory.holds.request import HoldLine, HoldRequest
from inventory.holds.service import Reservations
from tests.inventory.helpers import NETWORK, STORE, T0, VENDOR, WAREHOUSE, ev, sku
from tests.inventory.holding import all_at_once, assert_never_oversold, available, hold


def test_a_pickup_hold_takes_the_store_shelf_first_then_stock_transferable_to_it(desk, backend):
    s = sku()
    backend.ledger.ingest(
        [
            ev(WAREHOUSE.id, s, "count", 5),  # transfers to stores in 2 days
            ev(STORE.id, s, "count", 1),
            ev(VENDOR.id, s, "count", 50),  # ships parcels, never transfers to a store
        ]
    )
    pickup = {"method": "pickup", "store": STORE.id}
    shown = backend.reader.check([s], Query(method="pickup", store=STORE.id))[0]
    assert (shown.available, shown.shelf, shown.transferable) == (6, 1, 5)
    assert desk.hold(hold((s, 7), **pickup)).status == "refused"
    outcome = desk.hold(hold((s, 2), **pickup))
    assert {(t.location, t.quantity) for t in outcome.takes} == {(STORE.id, 1), (WAREHOUSE.id, 1)}
    assert desk.hold(hold((s, 4), **pickup)).status == "held"
    assert desk.hold(hold((s, 1), **pickup)).status == "refused"
    assert_never_oversold(backend)


def test_a_pickup_hold_keeps_the_shelf_out_of_the_network_threshold(desk, backend, at_t0):
    s = sku()
    backend.ledger.set_policy(AvailabilityPolicy(network_threshold_units=3))
    backend.ledger.ingest([ev(WAREHOUSE.id, s, "count", 2), ev(STORE.id, s, "count", 2)])
    pickup = {"method": "pickup", "store": STORE.id}
    shown = backend.reader.check([s], Query(method="pickup", store=STORE.id))[0]
    assert (shown.available, shown.held_back) == (2, 2)  # the shelf, none of the transfer
    assert desk.hold(hold((s, 3), **pickup)).status == "refused"
    assert desk.hold(hold((s, 2), **pickup)).status == "held"
    assert desk.hold(hold((s, 1), **pickup)).status == "refused"
    assert_never_oversold(backend)


def test_a_hold_never_takes_the_stock_another_channel_keeps(desk, backend, at_t0):
    s = sku()
    backend.ledger.set_policy(
        AvailabilityPolicy(
            fences=[ChannelFence(channel="marketplace", location=WAREHOUSE.id, units=4)]
        )
    )
    backend.ledger.ingest([ev(WAREHOUSE.id, s, "count", 10)])
    assert available(backend, s) == 6
    assert desk.hold(hold((s, 7))).status == "refused"
    assert desk.hold(hold((s, 6))).status == "held"
    assert available(backend, s) == 0
    assert desk.hold(hold((s, 1))).status == "refused"
    assert desk.hold(hold((s, 4), channel="marketplace")).status == "held"
    assert backend.ledger.position(WAREHOUSE.id, s).reserved == 10
    assert_never_oversold(backend)


def test_a_hold_takes_what_a_share_fence_leaves_and_not_one_unit_more(desk, backend, at_t0):
    s = sku()
    backend.ledger.set_policy(
        AvailabilityPolicy(fences=[ChannelFence(channel="b2b", location=WAREHOUSE.id, share=0.5)])
    )
    backend.ledger.ingest([ev(WAREHOUSE.id, s, "count", 9)])
    shown = []
    while (units := available(backend, s)) > 0:  # b2b keeps half of the stock, rounded down
        shown.append(units)
        assert desk.hold(hold((s, units + 1))).status == "refused"
        assert desk.hold(hold((s, units))).status == "held"
    assert shown == [5]  # and what b2b keeps is not worn away by the holds before
    assert desk.hold(hold((s, 4), channel="b2b")).status == "held"
    assert_never_oversold(backend)


def test_a_hold_never_dips_into_the_network_threshold(desk, backend, at_t0):
    s = sku()
    backend.ledger.set_policy(AvailabilityPolicy(network_threshold_units=2))
    backend.ledger.ingest([ev(WAREHOUSE.id, s, "count", 2), ev(STORE.id, s, "count", 1)])
    assert available(backend, s) == 1
    assert desk.hold(hold((s, 2))).status == "refused"
    granted = desk.hold(hold((s, 1)))
    assert [(t.location, t.quantity) for t in granted.takes] == [(WAREHOUSE.id, 1)]
    assert available(backend, s) == 0
    assert desk.hold(hold((s, 1))).status == "refused"

    def pinned(location: str, units: int) -> HoldRequest:
        line = HoldLine(sku=s, quantity=units, location=location)
        return HoldRequest(id=uuid.uuid4().hex, lines=[line])

    # a line pinned to its location (an order's allocation) takes what that location offers:
    # the threshold is for the engine's own picks
    assert desk.hold(pinned(WAREHOUSE.id, 2)).status == "refused"
    assert desk.hold(pinned(STORE.id, 1)).status == "held"
    assert_never_oversold(backend)


def test_holds_arriving_together_never_dip_into_the_network_threshold(backend, at_t0):
    backend.ledger.upsert_locations(NETWORK)
    backend.ledger.set_policy(AvailabilityPolicy(network_threshold_units=2))
    desk = Reservations(backend.ledger, backend.reader, group_commit=True)
    try:
        for _ in range(3):
            s = sku()
            backend.ledger.ingest([ev(WAREHOUSE.id, s, "count", 5)])
            assert available(backend, s) == 3
            outcomes = all_at_once(desk.hold, [hold((s, 1)) for _ in range(8)])
            assert sum(outcome.status == "held" for outcome in outcomes) == 3
            assert backend.ledger.position(WAREHOUSE.id, s).reserved == 3
    finally:
        desk.close()


def test_a_vendor_gives_what_its_confidence_trusts_and_nothing_once_its_feed_is_stale(
    desk, backend, at_t0
):
    s = sku()
    backend.ledger.ingest([ev(VENDOR.id, s, "count", 10)])
    assert available(backend, s) == 8  # 80 % of the vendor's file
    assert desk.hold(hold((s, 9))).status == "refused"
    assert desk.hold(hold((s, 4))).status == "held"
    backend.ledger.clock = backend.reader.clock = lambda: T0 + timedelta(hours=49)
    assert available(backend, s) == 0
    assert desk.hold(hold((s, 1))).status == "refused"
    assert_never_oversold(backend)


def test_an_inactive_location_gives_nothing_to_a_hold(desk, backend, at_t0):
    s = sku()
    backend.ledger.ingest([ev(WAREHOUSE.id, s, "count", 5)])
    backend.ledger.upsert_locations([dataclasses.replace(WAREHOUSE, active=False)])
    assert available(backend, s) == 0
    assert desk.hold(hold((s, 1))).status == "refused"


def test_sources_read_for_a_superseded_network_are_not_served_for_the_new_one(backend):
    backend.ledger.upsert_locations(NETWORK)
    reader = backend.reader
    old = reader.view_for(reader.known_version)
    fence = ChannelFence(channel="marketplace", location=WAREHOUSE.id, units=10)
    backend.ledger.set_policy(AvailabilityPolicy(fences=[fence]))
    new = reader.view_for(backend.projection.network()[1])
    assert new.version != old.version
    reader.sources(old, Query())  # a caller still on the old view, after the cache was cleared
    assert reader.sources(new, Query()).by_location[WAREHOUSE.id].fences == (fence,)
