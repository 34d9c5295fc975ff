"""Settlement: a shipped order's units leave on_hand and reserved once; feeds cannot ship."""

from __future__ import annotations

from datetime import timedelta

import pytest

from inventory import HoldStatus, ReservationConflict, UnknownReservation
from tests.inventory.helpers import T0, WAREHOUSE, ev, sku
from tests.inventory.holding import assert_never_oversold, available, hold


def _shipped(desk, backend, s: str, units: int = 3) -> str:
    """Count 10, a hold of `units`, consumed by order O1."""
    backend.ledger.clock = backend.reader.clock = lambda: T0 + timedelta(hours=1)
    backend.ledger.ingest([ev(WAREHOUSE.id, s, "count", 10)])
    held = desk.hold(hold((s, units)))
    assert desk.consume(held.id, "O1") is HoldStatus.consumed
    return held.id


def _position(backend, s: str) -> tuple[int, int]:
    position = backend.ledger.position(WAREHOUSE.id, s)
    return position.on_hand, position.reserved


def test_settling_a_consumed_hold_takes_its_units_out_of_on_hand_and_reserved_once(desk, backend):
    s = sku()
    rid = _shipped(desk, backend, s)
    assert _position(backend, s) == (10, 3)
    assert available(backend, s) == 7

    assert desk.settle(rid, "SHP-1", T0 + timedelta(minutes=30)) is HoldStatus.settled

    assert _position(backend, s) == (7, 0)
    assert available(backend, s) == 7
    assert desk.settle(rid, "SHP-1", T0 + timedelta(minutes=30)) is HoldStatus.settled  # replay
    assert _position(backend, s) == (7, 0)
    assert_never_oversold(backend)


def test_another_shipment_for_a_settled_hold_is_a_conflict_naming_the_first(desk, backend):
    s = sku()
    rid = _shipped(desk, backend, s)
    desk.settle(rid, "SHP-1", T0 + timedelta(minutes=30))
    with pytest.raises(ReservationConflict, match="settled by shipment 'SHP-1'"):
        desk.settle(rid, "SHP-2", T0 + timedelta(minutes=31))
    assert _position(backend, s) == (7, 0)


def test_only_a_consumed_hold_is_settled_and_a_settled_one_gives_nothing_back(desk, backend):
    s = sku()
    backend.ledger.ingest([ev(WAREHOUSE.id, s, "count", 10)])
    held = desk.hold(hold((s, 2)))
    with pytest.raises(ReservationConflict, match="is held: only a consumed hold is settled"):
        desk.settle(held.id, "SHP-1")
    with pytest.raises(UnknownReservation):
        desk.settle("NOPE", "SHP-1")
    rid = _shipped(desk, backend, sku())
    desk.settle(rid, "SHP-9", T0 + timedelta(minutes=30))
    assert desk.release(rid) is HoldStatus.settled  # nothing given back a second time
    assert desk.expire_due() == 0


def test_a_count_taken_after_the_parcel_left_already_excludes_it(desk, backend):
    s = sku()
    rid = _shipped(desk, backend, s)
    backend.ledger.ingest([ev(WAREHOUSE.id, s, "count", 7, minutes=40)])  # counted after it left
    desk.settle(rid, "SHP-1", T0 + timedelta(minutes=30))
    assert _position(backend, s) == (7, 0)
    assert available(backend, s) == 7


def test_a_bad_shipment_id_or_time_changes_nothing(desk, backend):
    s = sku()
    rid = _shipped(desk, backend, s)
    for shipment, when in (("", None), ("bad id", None), ("SHP-1", T0 + timedelta(days=2))):
        with pytest.raises(ValueError):
            desk.settle(rid, shipment, when)
    assert _position(backend, s) == (10, 3)


@pytest.mark.parametrize("kind", ["ship", "return"])
def test_feeds_may_not_send_the_engines_own_event_types(backend, kind):
    s = sku()
    backend.ledger.upsert_locations([WAREHOUSE])
    result = backend.ledger.ingest(
        [ev(WAREHOUSE.id, s, "count", 10), ev(WAREHOUSE.id, s, kind, 3, minutes=1)]
    )
    verdicts = [v for _, v in result.verdicts]
    assert verdicts[0].outcome.value == "applied"
    assert verdicts[1].outcome.value == "rejected"
    assert "written by the engine" in verdicts[1].reason
    assert backend.ledger.position(WAREHOUSE.id, s).on_hand == 10


def test_feeds_may_not_use_the_engines_event_ids(backend):
    backend.ledger.upsert_locations([WAREHOUSE])
    result = backend.ledger.ingest([ev(WAREHOUSE.id, sku(), "count", 10, eid="engine:ship:x")])
    [(_, verdict)] = result.verdicts
    assert verdict.outcome.value == "rejected" and "engine" in verdict.reason
