"""Availability by fulfilment method, read from the projection, with promises and explanations."""

from __future__ import annotations

from datetime import timedelta

import pytest

from inventory.availability.policy import AvailabilityPolicy, ChannelFence, VendorConfidence
from inventory.availability.reader import MAX_CART_SKUS, CartTooLarge
from inventory.availability.sources import InvalidQuery, Query
from inventory.projection.rebuild import rebuild
from inventory.stock.inbound import InboundIn, close, record
from inventory.stock.safety import SafetyRule
from tests.inventory.helpers import NETWORK, STORE, STORE_NO_SHIP, T0, VENDOR, WAREHOUSE, ev, sku


def stock(ledger, s: str, **units: int) -> None:
    ids = {"dc": WAREHOUSE.id, "store": STORE.id, "noship": STORE_NO_SHIP.id, "vendor": VENDOR.id}
    ledger.ingest([ev(ids[k], s, "count", q, 0) for k, q in units.items()])


def test_ship_availability_adds_warehouses_ship_from_stores_and_trusted_vendor_stock(
    ledger, backend
):
    s = sku()
    stock(ledger, s, dc=10, store=3, noship=5, vendor=10)
    answer = backend.reader.explain(s)
    assert (
        answer.available == 10 + 3 + 8
    )  # the vendor counts at 80 %, the store that cannot ship not at all
    excluded = {c.location: c.excluded for c in answer.contributions}
    assert excluded[STORE_NO_SHIP.id] == "cannot ship parcels"


def test_store_buffers_keep_shelf_stock_out_of_online_sales(ledger, backend):
    s = sku()
    ledger.set_safety_rules([SafetyRule(units=2, location_type="store")])
    stock(ledger, s, dc=1, store=3)
    [answer] = backend.reader.check([s])
    assert answer.available == 1 + 1


def test_a_stale_vendor_feed_counts_for_nothing(ledger, backend):
    s = sku()
    stock(ledger, s, vendor=50)
    backend.reader.clock = lambda: T0 + timedelta(hours=49)
    answer = backend.reader.explain(s)
    assert answer.available == 0
    assert "vendor feed older than 48 h" in answer.contributions[0].excluded


def test_ship_from_store_can_be_switched_off(ledger, backend):
    s = sku()
    stock(ledger, s, dc=2, store=5)
    ledger.set_policy(AvailabilityPolicy(ship_from_store=False, vendor=VendorConfidence()))
    assert backend.reader.check([s])[0].available == 2


def test_pickup_counts_the_shelf_and_what_can_be_transferred_in_time(ledger, backend):
    s = sku()
    stock(ledger, s, dc=4, store=2, vendor=9)
    [answer] = backend.reader.check([s], Query(method="pickup", store=STORE.id, quantity=2))
    assert (answer.shelf, answer.transferable, answer.available) == (2, 4, 6)
    assert answer.promise.at == ledger.clock() + timedelta(hours=STORE.lead_time_hours)
    [more] = backend.reader.check([s], Query(method="pickup", store=STORE.id, quantity=5))
    assert more.promise.at == ledger.clock() + timedelta(days=WAREHOUSE.transfer_days)


def test_the_ship_promise_comes_from_the_fastest_sources_first(ledger, backend):
    s = sku()
    stock(ledger, s, dc=1, store=1)
    [one] = backend.reader.check([s], Query(quantity=1))
    [two] = backend.reader.check([s], Query(quantity=2))
    [three] = backend.reader.check([s], Query(quantity=3))
    now = ledger.clock()
    assert one.promise.at == now + timedelta(hours=STORE.lead_time_hours)
    assert two.promise.at == now + timedelta(hours=WAREHOUSE.lead_time_hours)
    assert three.promise.at is None


def test_inbound_supply_is_available_to_promise_on_its_date(ledger, backend):
    s = sku()
    stock(ledger, s, dc=1)
    arrives = T0 + timedelta(days=5)
    record(
        ledger,
        [InboundIn(id=f"PO-{s}", location=WAREHOUSE.id, sku=s, quantity=20, expected_at=arrives)],
    )
    [before] = backend.reader.check([s], Query(quantity=5, on_date=T0 + timedelta(days=4)))
    [after] = backend.reader.check([s], Query(quantity=5, on_date=T0 + timedelta(days=6)))
    assert (before.available, before.on_date, after.on_date) == (1, 1, 21)
    assert after.promise.from_inbound
    assert after.promise.at == arrives + timedelta(hours=WAREHOUSE.lead_time_hours)


def test_closing_inbound_again_projects_it_again(ledger, backend):
    """A close whose projection write never landed is repaired by closing again."""
    s = sku()
    stock(ledger, s, dc=1)
    arrives = T0 + timedelta(days=5)
    po = InboundIn(id=f"PO-{s}", location=WAREHOUSE.id, sku=s, quantity=20, expected_at=arrives)
    record(ledger, [po])
    assert close(ledger, po.id) is True
    ledger.projection.set_inbound(s, {f"{WAREHOUSE.id}|{int(arrives.timestamp())}": 20})  # stale

    assert close(ledger, po.id) is False  # already closed: nothing changes in SQL ...

    [later] = backend.reader.check([s], Query(quantity=5, on_date=T0 + timedelta(days=6)))
    assert later.on_date == 1  # ... and the projection no longer promises it


def test_a_channel_fence_hides_stock_from_other_channels(ledger, backend):
    s = sku()
    stock(ledger, s, dc=10)
    ledger.set_policy(
        AvailabilityPolicy(
            fences=[ChannelFence(channel="marketplace", location=WAREHOUSE.id, units=4)]
        )
    )
    assert backend.reader.check([s], Query(channel="web"))[0].available == 6
    assert backend.reader.check([s], Query(channel="marketplace"))[0].available == 10


def test_the_network_threshold_holds_back_the_last_units(ledger, backend):
    s = sku()
    stock(ledger, s, dc=3)
    ledger.set_policy(AvailabilityPolicy(network_threshold_units=2))
    [answer] = backend.reader.check([s])
    assert (answer.available, answer.held_back) == (1, 2)


def test_explain_tells_why_the_site_says_zero(ledger, backend):
    s = sku()
    stock(ledger, s, noship=5)
    answer = backend.reader.explain(s)
    assert answer.available == 0
    [part] = answer.contributions
    assert (part.location, part.on_hand, part.excluded) == (
        STORE_NO_SHIP.id,
        5,
        "cannot ship parcels",
    )
    assert part.reported_s == int(T0.timestamp())


def test_a_cart_of_many_skus_is_answered_in_one_call_and_capped(ledger, backend):
    skus = [sku() for _ in range(20)]
    ledger.ingest([ev(WAREHOUSE.id, s, "count", i + 1, 0) for i, s in enumerate(skus)])
    answers = backend.reader.check(skus)
    assert [a.available for a in answers] == list(range(1, 21))
    full = skus + [f"{skus[0]}-{i}" for i in range(MAX_CART_SKUS - len(skus))]
    answers = backend.reader.check(full)
    assert len(answers) == MAX_CART_SKUS
    assert sum(a.available for a in answers) == sum(range(1, 21))
    with pytest.raises(CartTooLarge):
        backend.reader.check([f"SKU-{i}" for i in range(MAX_CART_SKUS + 1)])


def test_rebuilding_the_projection_from_sql_serves_exactly_the_same_answers(ledger, backend):
    skus = [sku() for _ in range(5)]
    for i, s in enumerate(skus):
        stock(ledger, s, dc=i, store=i + 1, vendor=2 * i)
        ledger.ingest([ev(STORE.id, s, "sale", 1, 3)])
    record(
        ledger,
        [
            InboundIn(
                id=f"PO-{skus[0]}",
                location=WAREHOUSE.id,
                sku=skus[0],
                quantity=7,
                expected_at=T0 + timedelta(days=3),
            )
        ],
    )
    queries = [
        Query(),
        Query(method="pickup", store=STORE.id),
        Query(on_date=T0 + timedelta(days=4)),
    ]
    before = [backend.reader.check(skus, q, detail=True) for q in queries]
    raw_before = backend.projection.read(skus)
    report = rebuild(ledger)
    assert report.removed_keys > 0
    assert backend.projection.read(skus) == raw_before
    assert [backend.reader.check(skus, q, detail=True) for q in queries] == before


def test_the_quick_answer_and_the_explained_answer_agree(ledger, backend):
    s = sku()
    stock(ledger, s, dc=7, store=2, noship=4, vendor=9)
    ledger.set_policy(
        AvailabilityPolicy(
            fences=[ChannelFence(channel="b2b", location_type="store", share=0.5)],
            network_threshold_units=1,
        )
    )
    for query in (Query(quantity=3), Query(method="pickup", store=STORE.id, quantity=2)):
        quick = backend.reader.check([s], query)[0]
        explained = backend.reader.check([s], query, detail=True)[0]
        assert (quick.available, quick.shelf, quick.transferable, quick.promise) == (
            explained.available,
            explained.shelf,
            explained.transferable,
            explained.promise,
        )
        assert (
            sum(c.counted for c in explained.contributions)
            == explained.available + explained.held_back
        )


def test_explain_shows_the_buffer_and_the_fence_each_location_keeps(ledger, backend):
    s = sku()
    ledger.set_safety_rules([SafetyRule(units=2, location_type="store")])
    stock(ledger, s, dc=10, store=9)
    ledger.set_policy(
        AvailabilityPolicy(
            fences=[
                ChannelFence(channel="marketplace", location=WAREHOUSE.id, units=3),
                ChannelFence(channel="b2b", location_type="store", share=0.5),
            ]
        )
    )
    parts = {c.location: c for c in backend.reader.explain(s).contributions}
    dc, store = parts[WAREHOUSE.id], parts[STORE.id]
    assert (dc.on_hand, dc.safety, dc.fenced, dc.counted) == (10, 0, 3, 7)
    assert (store.on_hand, store.safety, store.fenced, store.counted) == (9, 2, 3, 4)  # 7 free
    assert backend.reader.check([s])[0].available == 7 + 4


def test_a_malformed_query_is_refused_never_read_as_something_else():
    with pytest.raises(InvalidQuery, match="not 'bogus'"):
        Query(method="bogus")
    with pytest.raises(InvalidQuery, match="names its store"):
        Query(method="pickup")
    for quantity in (0, -1, True, "5", 2.5):
        with pytest.raises(InvalidQuery, match="quantity"):
            Query(quantity=quantity)


def test_a_pickup_read_at_an_unknown_store_or_one_that_is_no_pickup_point_says_so(backend):
    backend.ledger.upsert_locations(NETWORK)
    s = sku()
    backend.ledger.ingest([ev(STORE.id, s, "count", 5)])
    with pytest.raises(InvalidQuery, match="unknown pickup store 'NOPE'"):
        backend.reader.check([s], Query(method="pickup", store="NOPE"))
    with pytest.raises(InvalidQuery, match=f"'{VENDOR.id}' is not a pickup point"):
        backend.reader.check([s], Query(method="pickup", store=VENDOR.id))
    assert backend.reader.check([s], Query(method="pickup", store=STORE.id))[0].available == 5
