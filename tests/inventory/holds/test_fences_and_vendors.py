"""Channel fences and vendor confidence are shares of the stock (on hand less safety), not of what
is still free: holds taken one after another never wear them away, whatever order they come in,
and availability shows each channel what its holds can take."""

from __future__ import annotations

from datetime import timedelta
from functools import partial

import pytest
from sqlalchemy import text

from inventory.availability.policy import AvailabilityPolicy, ChannelFence, VendorConfidence
from inventory.availability.sources import Query
from inventory.holds.service import Reservations
from inventory.projection.rebuild import rebuild
from inventory.sql.engine import open_engine
from tests.inventory.helpers import NETWORK, T0, VENDOR, WAREHOUSE, ev, sku
from tests.inventory.holding import (
    all_at_once,
    assert_never_oversold,
    available,
    hold,
    together,
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


def test_web_holds_never_reach_the_half_of_the_warehouse_kept_for_the_store(desk, backend, at_t0):
    backend.ledger.set_policy(HALF_FOR_THE_STORE)
    s = sku()
    backend.ledger.ingest([ev(WAREHOUSE.id, s, "count", 10)])
    assert available(backend, s, WEB) == 5
    assert granted(desk, s, 20) == 5
    assert (available(backend, s, WEB), available(backend, s, STORE_CHANNEL)) == (0, 5)
    assert granted(desk, s, 20, channel="store") == 5
    assert backend.ledger.position(WAREHOUSE.id, s).reserved == 10
    assert_never_oversold(backend)


def test_the_store_taking_its_fence_first_leaves_the_web_its_half_all_the_same(
    desk, backend, at_t0
):
    backend.ledger.set_policy(HALF_FOR_THE_STORE)
    s = sku()
    backend.ledger.ingest([ev(WAREHOUSE.id, s, "count", 10)])
    assert desk.hold(hold((s, 3), channel="store")).status == "held"
    assert (available(backend, s, WEB), available(backend, s, STORE_CHANNEL)) == (5, 7)
    assert desk.hold(hold((s, 5))).status == "held"
    assert (available(backend, s, WEB), available(backend, s, STORE_CHANNEL)) == (0, 2)
    assert granted(desk, s, 5, channel="store") == 2
    assert_never_oversold(backend)


def test_a_released_store_hold_gives_its_units_back_to_the_store_not_the_web(desk, backend, at_t0):
    backend.ledger.set_policy(HALF_FOR_THE_STORE)
    s = sku()
    backend.ledger.ingest([ev(WAREHOUSE.id, s, "count", 10)])
    store_hold = desk.hold(hold((s, 2), channel="store"))
    assert desk.hold(hold((s, 3), channel="store")).status == "held"
    assert desk.hold(hold((s, 5))).status == "held"
    assert desk.release(store_hold.id) == "released"
    assert (available(backend, s, WEB), available(backend, s, STORE_CHANNEL)) == (0, 2)
    assert desk.hold(hold((s, 1))).status == "refused"
    assert desk.hold(hold((s, 2), channel="store")).status == "held"
    assert_never_oversold(backend)


def test_an_expired_store_hold_gives_its_units_back_to_the_store_not_the_web(desk, backend):
    now = [T0 + timedelta(hours=1)]
    backend.ledger.clock = backend.reader.clock = lambda: now[0]
    backend.ledger.set_policy(HALF_FOR_THE_STORE)
    s = sku()
    backend.ledger.ingest([ev(WAREHOUSE.id, s, "count", 10)])
    assert desk.hold(hold((s, 4), channel="store", ttl_s=60)).status == "held"
    assert desk.hold(hold((s, 1), channel="store")).status == "held"
    assert desk.hold(hold((s, 5))).status == "held"
    now[0] += timedelta(seconds=61)
    assert desk.expire_due() == 1
    assert (available(backend, s, WEB), available(backend, s, STORE_CHANNEL)) == (0, 4)
    assert desk.hold(hold((s, 1))).status == "refused"
    assert_never_oversold(backend)


def test_web_holds_arriving_together_never_reach_the_store_fence(backend, at_t0):
    backend.ledger.upsert_locations(NETWORK)
    backend.ledger.set_policy(HALF_FOR_THE_STORE)
    desk = Reservations(backend.ledger, backend.reader, group_commit=True)
    try:
        for _ in range(3):
            s = sku()
            backend.ledger.ingest([ev(WAREHOUSE.id, s, "count", 10)])
            outcomes = all_at_once(desk.hold, [hold((s, 1)) for _ in range(16)])
            assert sum(outcome.status == "held" for outcome in outcomes) == 5
            assert available(backend, s, STORE_CHANNEL) == 5
    finally:
        desk.close()
    assert_never_oversold(backend)


@pytest.mark.server
def test_concurrent_web_holds_from_several_writers_never_reach_the_store_fence(backend, at_t0):
    """Several processes' writers and direct callers, each on its own PostgreSQL connection."""
    if backend.name != "server":
        pytest.skip("PostgreSQL only: SQLite has one writer at a time")
    backend.ledger.upsert_locations(NETWORK)
    backend.ledger.set_policy(HALF_FOR_THE_STORE)
    desks = [
        Reservations(backend.ledger, backend.reader, group_commit=i % 2 == 0) for i in range(4)
    ]
    try:
        for _ in range(3):
            s = sku()
            backend.ledger.ingest([ev(WAREHOUSE.id, s, "count", 10)])
            outcomes = together(
                *(partial(desks[i % 4].hold, hold((s, 1 + i % 2))) for i in range(24))
            )
            held = sum(sum(t.quantity for t in o.takes) for o in outcomes if o.status == "held")
            assert 4 <= held <= 5  # a 2-unit hold may find 1 left
            assert backend.ledger.position(WAREHOUSE.id, s).reserved == held
            assert available(backend, s, STORE_CHANNEL) == 5
    finally:
        for desk in desks:
            desk.close()
    assert_never_oversold(backend)


def test_a_rebuild_gives_back_each_channels_figures(desk, backend, at_t0):
    backend.ledger.set_policy(HALF_FOR_THE_STORE)
    s = sku()
    backend.ledger.ingest([ev(WAREHOUSE.id, s, "count", 10)])
    assert desk.hold(hold((s, 3), channel="store")).status == "held"
    assert desk.hold(hold((s, 4))).status == "held"
    before = [available(backend, s, q) for q in (WEB, STORE_CHANNEL, Query(channel="b2b"))]
    assert before == [1, 3, 1]
    raw = backend.projection.read([s])
    rebuild(backend.ledger)
    assert backend.projection.read([s]) == raw
    assert [available(backend, s, q) for q in (WEB, STORE_CHANNEL, Query(channel="b2b"))] == before


def test_a_ledger_made_before_holds_were_counted_by_channel_counts_its_open_ones_on_opening(
    desk, backend, at_t0
):
    s = sku()
    backend.ledger.ingest([ev(WAREHOUSE.id, s, "count", 10)])
    desk.hold(hold((s, 2)))
    desk.hold(hold((s, 3), channel="store"))
    desk.release(desk.hold(hold((s, 1), channel="store")).id)
    with backend.ledger.engine.begin() as conn:  # as the previous version made it
        conn.execute(text("DROP TABLE position_channel"))
    open_engine(backend.url).dispose()
    with backend.ledger.engine.connect() as conn:
        rows = conn.execute(text("SELECT channel, reserved FROM position_channel")).all()
    assert sorted(rows) == [("store", 3), ("web", 2)]
    assert_never_oversold(backend)


def test_explain_shows_what_the_fenced_channel_holds_and_what_its_fence_still_keeps(
    desk, backend, at_t0
):
    backend.ledger.set_policy(HALF_FOR_THE_STORE)
    s = sku()
    backend.ledger.ingest([ev(WAREHOUSE.id, s, "count", 10)])
    assert desk.hold(hold((s, 3), channel="store")).status == "held"
    assert desk.hold(hold((s, 1))).status == "held"
    [part] = backend.reader.explain(s, WEB).contributions
    assert (part.reserved, part.by_channel) == (4, {"store": 3})
    assert (part.fenced, part.counted) == (2, 4)  # 10 - 4 held - (5 - 3) kept for the store
    [part] = backend.reader.explain(s, STORE_CHANNEL).contributions
    assert (part.fenced, part.counted) == (0, 6)
