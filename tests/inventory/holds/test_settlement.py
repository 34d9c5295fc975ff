"""A shipment settles its consumed hold: on_hand and reserved both drop, once. Its effect on
on_hand follows the count rule; the reserved drop always happens. Feeds never send a `ship`."""

from __future__ import annotations

import dataclasses
import uuid
from datetime import timedelta

import pytest

from inventory import (
    HoldLine,
    HoldNotConsumed,
    HoldRequest,
    HoldStatus,
    Outcome,
    ReservationConflict,
    Reservations,
    StockEvent,
    UnknownReservation,
    reconcile,
)
from inventory.domain.model import EventType
from tests.inventory.helpers import NETWORK, STORE, T0, VENDOR, WAREHOUSE, ev, sku
from tests.inventory.holding import assert_never_oversold, available, hold, together


@pytest.fixture
def counter(backend, at_t0):
    """Reservations on the test network, one hold at a time, clocks an hour after T0."""
    backend.ledger.upsert_locations(NETWORK)
    reservations = Reservations(backend.ledger, backend.reader, group_commit=False)
    yield reservations
    reservations.close()


def at(minutes: float):
    return T0 + timedelta(minutes=minutes)


def consumed(desk, backend, units: int = 3, stock: int = 10, order: str = "O1") -> tuple[str, str]:
    """A SKU counted at `stock` at the warehouse, and a hold of `units` consumed by `order`."""
    s = sku()
    backend.ledger.ingest([ev(WAREHOUSE.id, s, "count", stock)])
    held = desk.hold(hold((s, units)))
    assert held.status is HoldStatus.held, held.reason
    assert desk.consume(held.id, order) is HoldStatus.consumed
    return s, held.id


def stock_of(backend, s: str, location: str = WAREHOUSE.id) -> tuple[int, int]:
    p = backend.ledger.position(location, s)
    return p.on_hand, p.reserved


def test_a_shipment_takes_its_units_out_of_on_hand_and_reserved_once(desk, backend, at_t0):
    s, rid = consumed(desk, backend)
    settlement = desk.settle(rid, "SH-1", at(30))
    assert (settlement.shipment_id, settlement.reservation_id) == ("SH-1", rid)
    assert [(u.location, u.sku, u.quantity, u.outcome) for u in settlement.units] == [
        (WAREHOUSE.id, s, 3, Outcome.applied)
    ]
    assert stock_of(backend, s) == (7, 0)
    assert available(backend, s) == 7
    assert_never_oversold(backend)


def test_a_feed_ship_is_refused_so_shipped_units_never_count_twice(counter, backend):
    s, rid = consumed(counter, backend)
    result = backend.ledger.ingest([ev(WAREHOUSE.id, s, "ship", 3, 30)])
    [(_, verdict)] = result.verdicts
    assert verdict.outcome is Outcome.rejected
    assert "written by the engine only" in verdict.reason
    assert stock_of(backend, s) == (10, 3)
    counter.settle(rid, "SH-1", at(30))
    assert stock_of(backend, s) == (7, 0)
    assert available(backend, s) == 7


@pytest.mark.parametrize("kind", [EventType.ship, EventType.return_])
def test_feeds_may_not_send_the_events_only_the_engine_writes(ledger, kind):
    s = sku()
    as_dict = ev(WAREHOUSE.id, s, kind.value, 2)
    as_event = StockEvent("e-" + s, WAREHOUSE.id, s, kind, 2, at(1), "wms")
    result = ledger.ingest([ev(WAREHOUSE.id, s, "count", 5), as_dict, as_event])
    outcomes = [(v.outcome, v.reason) for _, v in result.verdicts]
    assert outcomes[0] == (Outcome.applied, "")
    for outcome, reason in outcomes[1:]:
        assert outcome is Outcome.rejected
        assert reason == f"type: a {kind.value} is written by the engine only, never by a feed"
    assert ledger.position(WAREHOUSE.id, s).on_hand == 5


def test_settling_again_with_the_same_shipment_is_a_replay_returning_the_first_result(
    counter, backend
):
    s, rid = consumed(counter, backend)
    first = counter.settle(rid, "SH-1", at(30))
    again = counter.settle(rid, "SH-1", at(30))
    assert again == dataclasses.replace(first, replayed=True)
    assert stock_of(backend, s) == (7, 0)


def test_another_shipment_for_a_settled_reservation_is_a_conflict_naming_the_first(
    counter, backend
):
    s, rid = consumed(counter, backend)
    counter.settle(rid, "SH-1", at(30))
    with pytest.raises(ReservationConflict, match=f"{rid!r} was settled by shipment 'SH-1'"):
        counter.settle(rid, "SH-2", at(31))
    assert stock_of(backend, s) == (7, 0)


def test_a_shipment_id_names_one_settlement_forever(counter, backend):
    _, rid = consumed(counter, backend)
    t, other = consumed(counter, backend, order="O2")
    counter.settle(rid, "SH-1", at(30))
    with pytest.raises(ReservationConflict, match=f"shipment 'SH-1' settled reservation {rid!r}"):
        counter.settle(rid, "SH-1", at(45))
    with pytest.raises(ReservationConflict, match=f"shipment 'SH-1' settled reservation {rid!r}"):
        counter.settle(other, "SH-1", at(30))
    assert stock_of(backend, t) == (10, 3)


@pytest.mark.parametrize("ending", ["held", "released", "expired"])
def test_only_a_consumed_hold_can_be_settled(counter, backend, ending):
    s = sku()
    backend.ledger.ingest([ev(WAREHOUSE.id, s, "count", 10)])
    held = counter.hold(hold((s, 3), ttl_s=60))
    if ending == "released":
        counter.release(held.id)
    if ending == "expired":
        backend.ledger.clock = lambda: T0 + timedelta(hours=2)
        assert counter.expire_due() == 1
    with pytest.raises(HoldNotConsumed, match=f"{held.id!r} is {ending}, not consumed"):
        counter.settle(held.id, "SH-1", at(30))
    assert stock_of(backend, s) == (10, 3 if ending == "held" else 0)


def test_settling_a_reservation_nobody_holds_is_a_clear_error(counter):
    with pytest.raises(UnknownReservation, match="no reservation 'NOPE'"):
        counter.settle("NOPE", "SH-1", at(30))


def test_a_shipment_is_refused_when_it_claims_to_leave_in_the_future(counter, backend):
    s, rid = consumed(counter, backend)
    with pytest.raises(ValueError, match="shipped_at: lies in the future"):
        counter.settle(rid, "SH-1", T0 + timedelta(days=1))
    with pytest.raises(ValueError, match="shipped_at: must carry a time zone"):
        counter.settle(rid, "SH-1", at(30).replace(tzinfo=None))
    assert stock_of(backend, s) == (10, 3)


def test_a_settled_hold_never_gives_its_units_back(counter, backend):
    s, rid = consumed(counter, backend)
    counter.settle(rid, "SH-1", at(30))
    assert counter.release(rid) is HoldStatus.settled
    assert counter.consume(rid, "O1") is HoldStatus.settled
    with pytest.raises(ReservationConflict, match="consumed by order 'O1'"):
        counter.consume(rid, "O2")
    backend.ledger.clock = lambda: T0 + timedelta(days=30)
    assert counter.expire_due() == 0
    assert stock_of(backend, s) == (7, 0)
    assert_never_oversold(backend)


def test_a_count_taken_after_the_parcel_left_already_excludes_it(counter, backend):
    s, rid = consumed(counter, backend)
    backend.ledger.ingest([ev(WAREHOUSE.id, s, "count", 7, 40)])
    settlement = counter.settle(rid, "SH-1", at(30))
    assert [u.outcome for u in settlement.units] == [Outcome.stale]
    assert stock_of(backend, s) == (7, 0)
    assert available(backend, s) == 7


def test_a_late_count_from_before_the_parcel_left_carries_the_shipment(counter, backend):
    s, rid = consumed(counter, backend)
    counter.settle(rid, "SH-1", at(30))
    backend.ledger.ingest([ev(WAREHOUSE.id, s, "count", 10, 20)])
    assert stock_of(backend, s) == (7, 0)
    report = reconcile(backend.ledger)
    assert report.drifts == []


def test_a_shipment_settles_every_position_of_its_reservation(counter, backend):
    s, t = sku(), sku()
    backend.ledger.ingest([ev(WAREHOUSE.id, s, "count", 10), ev(STORE.id, t, "count", 4)])
    lines = [
        HoldLine(sku=s, quantity=2, location=WAREHOUSE.id),
        HoldLine(sku=t, quantity=1, location=STORE.id),
    ]
    held = counter.hold(HoldRequest(id=uuid.uuid4().hex, lines=lines, kind="allocation"))
    assert held.status is HoldStatus.held, held.reason
    counter.consume(held.id, "O1")
    settlement = counter.settle(held.id, "SH-1", at(30))
    assert sorted((u.location, u.sku, u.quantity) for u in settlement.units) == sorted(
        [(WAREHOUSE.id, s, 2), (STORE.id, t, 1)]
    )
    assert (stock_of(backend, s), stock_of(backend, t, STORE.id)) == ((8, 0), (3, 0))
    assert reconcile(backend.ledger).drifts == []


def test_concurrent_settlements_of_one_reservation_settle_it_once(counter, backend):
    s, rid = consumed(counter, backend)

    def settle(shipment: str):
        try:
            return counter.settle(rid, shipment, at(30))
        except ReservationConflict as conflict:
            return conflict

    answers = together(*(lambda n=n: settle(f"SH-{n}") for n in range(4)))
    settled = [a for a in answers if not isinstance(a, Exception)]
    assert len(settled) == 1, answers
    assert stock_of(backend, s) == (7, 0)
    assert_never_oversold(backend)


def test_a_settlement_does_not_make_a_stale_vendor_feed_look_fresh(counter, backend):
    s = sku()
    backend.ledger.ingest([ev(VENDOR.id, s, "count", 10)])
    held = counter.hold(hold((s, 3), location=VENDOR.id, kind="allocation"))
    assert held.status is HoldStatus.held, held.reason
    counter.consume(held.id, "O1")
    counter.settle(held.id, "SH-1", at(50))
    assert backend.ledger.position(VENDOR.id, s).reported_at == T0
