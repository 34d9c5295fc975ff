"""A count below what is reserved makes holds short, and that is never silent: the ledger names
the short holds (newest first to go short), a short hold is not consumed, and reconcile and
explain show the position and the holds it leaves short."""

from __future__ import annotations

from datetime import timedelta

import pytest

from inventory import (
    HoldShort,
    HoldStatus,
    Reservations,
    Shortfall,
    ShortHold,
    reconcile,
)
from inventory.holds.shortfall import OpenHold, allot
from tests.inventory.helpers import NETWORK, STORE, T0, WAREHOUSE, ev, sku
from tests.inventory.holding import available, hold


@pytest.fixture
def clock(backend):
    """The ledger's and the reader's clock, moved on by hand: holds decided later are newer."""
    now = [T0 + timedelta(hours=1)]
    backend.ledger.clock = backend.reader.clock = lambda: now[0]
    return now


@pytest.fixture
def counter(backend, clock):
    backend.ledger.upsert_locations(NETWORK)
    reservations = Reservations(backend.ledger, backend.reader, group_commit=False)
    yield reservations
    reservations.close()


def held(desk, clock, *lines, **kw) -> str:
    """A hold of `lines`, decided a second after the one before."""
    clock[0] += timedelta(seconds=1)
    outcome = desk.hold(hold(*lines, location=WAREHOUSE.id, **kw))
    assert outcome.status is HoldStatus.held, outcome.reason
    return outcome.id


def test_a_count_below_what_is_reserved_makes_the_newest_holds_short(desk, backend, clock):
    s = sku()
    backend.ledger.ingest([ev(WAREHOUSE.id, s, "count", 10)])
    oldest, older, newest = (
        held(desk, clock, (s, 2)),
        held(desk, clock, (s, 5)),
        held(desk, clock, (s, 3)),
    )
    result = backend.ledger.ingest([ev(WAREHOUSE.id, s, "count", 4, 30)])
    assert result.left_short() == [(WAREHOUSE.id, s)]
    assert desk.short() == [
        ShortHold(r, HoldStatus.held, None, (Shortfall(r, WAREHOUSE.id, s, units, missing),))
        for r, units, missing in sorted([(older, 5, 3), (newest, 3, 3)])
    ]
    assert oldest not in {h.reservation_id for h in desk.short()}


def test_holds_stock_still_backs_are_never_short(counter, backend, clock):
    s = sku()
    backend.ledger.ingest([ev(WAREHOUSE.id, s, "count", 10)])
    held(counter, clock, (s, 8))
    assert backend.ledger.ingest([ev(WAREHOUSE.id, s, "count", 8, 30)]).left_short() == []
    assert counter.short() == []
    assert counter.short_positions() == []


def test_consuming_a_short_hold_is_refused_naming_the_shortfall_and_it_stays_held(
    counter, backend, clock
):
    s = sku()
    backend.ledger.ingest([ev(WAREHOUSE.id, s, "count", 10)])
    rid = held(counter, clock, (s, 8))
    backend.ledger.ingest([ev(WAREHOUSE.id, s, "count", 3, 30)])
    with pytest.raises(
        HoldShort, match=f"no stock backs 5 of its 8 units at {WAREHOUSE.id}/{s}"
    ) as refused:
        counter.consume(rid, "O1")
    assert refused.value.shortfalls == (Shortfall(rid, WAREHOUSE.id, s, 8, 5),)
    [still] = counter.short()
    assert (still.reservation_id, still.status, still.missing) == (rid, HoldStatus.held, 5)
    assert counter.release(rid) is HoldStatus.released
    assert counter.short() == []
    assert available(backend, s) == 3


def test_an_older_hold_the_stock_still_backs_is_consumed_beside_a_short_one(
    counter, backend, clock
):
    s = sku()
    backend.ledger.ingest([ev(WAREHOUSE.id, s, "count", 10)])
    first, second = held(counter, clock, (s, 3)), held(counter, clock, (s, 5))
    backend.ledger.ingest([ev(WAREHOUSE.id, s, "count", 4, 30)])
    assert counter.consume(first, "O1") is HoldStatus.consumed
    with pytest.raises(HoldShort, match="4 of its 5 units"):
        counter.consume(second, "O2")


def test_a_hold_consumed_before_the_count_is_reported_short_with_its_order(counter, backend, clock):
    s = sku()
    backend.ledger.ingest([ev(WAREHOUSE.id, s, "count", 10)])
    rid = held(counter, clock, (s, 8), kind="allocation")
    assert counter.consume(rid, "O1") is HoldStatus.consumed
    backend.ledger.ingest([ev(WAREHOUSE.id, s, "count", 3, 30)])
    assert counter.consume(rid, "O1") is HoldStatus.consumed  # a replay: its first answer
    assert counter.short() == [
        ShortHold(rid, HoldStatus.consumed, "O1", (Shortfall(rid, WAREHOUSE.id, s, 8, 5),))
    ]


def test_reconcile_names_each_short_position_and_the_holds_it_leaves_short(counter, backend, clock):
    s, t = sku(), sku()
    backend.ledger.ingest([ev(WAREHOUSE.id, s, "count", 10), ev(WAREHOUSE.id, t, "count", 10)])
    older, newer = held(counter, clock, (s, 6)), held(counter, clock, (s, 2), (t, 1))
    backend.ledger.ingest([ev(WAREHOUSE.id, s, "count", 3, 30)])
    report = reconcile(backend.ledger)
    assert report.drifts == []
    [short] = report.short
    assert (short.location, short.sku, short.on_hand, short.reserved, short.missing) == (
        WAREHOUSE.id, s, 3, 8, 5,
    )  # fmt: skip
    assert short.holds == (
        Shortfall(older, WAREHOUSE.id, s, 6, 3),
        Shortfall(newer, WAREHOUSE.id, s, 2, 2),
    )
    assert f"short holds: {older} (3 of 6), {newer} (2 of 2)" in short.describe()
    assert counter.short_positions() == report.short
    assert counter.short_positions([(WAREHOUSE.id, t), (STORE.id, s)]) == []


def test_explain_shows_the_reserved_units_a_position_no_longer_backs(counter, backend, clock):
    s = sku()
    backend.ledger.ingest([ev(WAREHOUSE.id, s, "count", 10), ev(STORE.id, s, "count", 2)])
    held(counter, clock, (s, 8))
    backend.ledger.ingest([ev(WAREHOUSE.id, s, "count", 3, 30)])
    parts = {c.location: c for c in backend.reader.explain(s).contributions}
    assert (parts[WAREHOUSE.id].short, parts[WAREHOUSE.id].counted) == (5, 0)
    assert parts[WAREHOUSE.id].excluded == "short: no stock behind 5 of its 8 reserved units"
    assert (parts[STORE.id].short, parts[STORE.id].excluded) == (0, "")


def test_a_safety_buffer_counts_as_stock_a_hold_may_not_lean_on(counter, backend, clock):
    from inventory import SafetyRule

    s = sku()
    backend.ledger.ingest([ev(WAREHOUSE.id, s, "count", 10)])
    rid = held(counter, clock, (s, 8))
    backend.ledger.set_safety_rules([SafetyRule(4, location=WAREHOUSE.id, sku=s)])
    [short] = counter.short()
    assert (short.reservation_id, short.missing) == (rid, 2)
    backend.ledger.set_safety_rules([])
    assert counter.short() == []


def test_which_holds_are_short_depends_only_on_their_age_then_their_id():
    holds = [OpenHold("B", 5, 2), OpenHold("A", 5, 2), OpenHold("C", 1, 2), OpenHold("D", 9, 4)]
    expected = (Shortfall("B", "L", "S", 2, 1), Shortfall("D", "L", "S", 4, 4))
    assert allot("L", "S", 6, 1, holds) == expected
    assert allot("L", "S", 6, 1, reversed(holds)) == expected
    assert allot("L", "S", 1, 5, holds)[0] == Shortfall("C", "L", "S", 2, 2)  # on hand below safety
    assert allot("L", "S", 20, 0, holds) == ()
