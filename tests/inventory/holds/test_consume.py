"""Consuming a hold: one order only, never a hold past its expiry, never an id nobody holds."""

from __future__ import annotations

from datetime import timedelta

import pytest

from inventory import HoldStatus, ReservationConflict, UnknownReservation
from tests.inventory.helpers import T0, WAREHOUSE, ev, sku
from tests.inventory.holding import assert_never_oversold, available, hold


def test_a_hold_consumed_by_one_order_is_a_conflict_for_another_naming_the_first(desk, backend):
    s = sku()
    backend.ledger.ingest([ev(WAREHOUSE.id, s, "count", 10)])
    held = desk.hold(hold((s, 3)))
    assert desk.consume(held.id, "O1") is HoldStatus.consumed
    with pytest.raises(ReservationConflict, match="consumed by order 'O1'"):
        desk.consume(held.id, "O2")
    assert available(backend, s) == 7
    assert_never_oversold(backend)


def test_the_same_order_consuming_again_is_a_replay(desk, backend):
    s = sku()
    backend.ledger.ingest([ev(WAREHOUSE.id, s, "count", 10)])
    held = desk.hold(hold((s, 3)))
    assert desk.consume(held.id, "O1") is HoldStatus.consumed
    assert desk.consume(held.id, "O1") is HoldStatus.consumed
    assert available(backend, s) == 7


def test_closing_a_reservation_nobody_holds_is_a_clear_error(desk, backend):
    with pytest.raises(UnknownReservation, match="no reservation 'NOPE'"):
        desk.consume("NOPE", "O1")
    with pytest.raises(UnknownReservation, match="no reservation 'NOPE'"):
        desk.release("NOPE")


@pytest.mark.parametrize("close", ["consume", "release"])
def test_a_hold_past_its_expiry_is_expired_not_consumed_before_any_sweep(desk, backend, close):
    s = sku()
    backend.ledger.ingest([ev(WAREHOUSE.id, s, "count", 10)])
    now = [T0 + timedelta(hours=1)]
    backend.ledger.clock = lambda: now[0]
    held = desk.hold(hold((s, 4), ttl_s=60))
    now[0] += timedelta(seconds=60, milliseconds=500)
    ending = desk.consume(held.id, "O1") if close == "consume" else desk.release(held.id)
    assert ending is HoldStatus.expired
    assert available(backend, s) == 10
    assert desk.expire_due() == 0  # already expired, once
    assert desk.consume(held.id, "O1") is HoldStatus.expired
    assert_never_oversold(backend)
