"""Short holds: a count below what is reserved names the holds left without stock, newest first."""

from __future__ import annotations

import pytest

from inventory import HoldStatus, ShortReservation
from inventory.holds.outcome import ShortHold
from inventory.holds.short import OpenLine, short_at
from inventory.projection.reconcile import reconcile
from tests.inventory.helpers import WAREHOUSE, ev, sku
from tests.inventory.holding import hold


def _line(created: int, rid: str, units: int, status=HoldStatus.held) -> OpenLine:
    return OpenLine(created, rid, 0, units, status, None)


def test_the_stock_covers_the_oldest_holds_first():
    lines = [_line(3, "c", 4), _line(1, "a", 5), _line(2, "b", 3)]
    short = short_at("WH", "A", 6, lines)
    assert [(s.reservation_id, s.short_units) for s in short] == [("b", 2), ("c", 4)]
    assert short_at("WH", "A", 12, lines) == []
    assert [s.short_units for s in short_at("WH", "A", -2, lines)] == [5, 3, 4]


def test_a_count_below_the_reserved_units_names_the_holds_it_leaves_short(desk, backend):
    s = sku()
    backend.ledger.ingest([ev(WAREHOUSE.id, s, "count", 10)])
    first = desk.hold(hold((s, 5), location=WAREHOUSE.id))
    second = desk.hold(hold((s, 3), location=WAREHOUSE.id))
    assert desk.short(s) == []
    backend.ledger.ingest([ev(WAREHOUSE.id, s, "count", 6, minutes=5)])

    short = desk.short(s)

    assert short == [ShortHold(second.id, HoldStatus.held, None, WAREHOUSE.id, s, 0, 2)]
    assert desk.short() == short  # every short hold of the ledger, this one among them
    assert desk.consume(first.id, "O1") is HoldStatus.consumed  # the oldest keeps its units
    with pytest.raises(ShortReservation, match=f"2 x {s} at {WAREHOUSE.id}") as refused:
        desk.consume(second.id, "O2")
    assert refused.value.short == short
    assert desk.release(second.id) is HoldStatus.released  # the caller re-routes it
    assert desk.short(s) == []


def test_reconcile_names_the_position_and_its_short_holds(desk, backend):
    s = sku()
    backend.ledger.ingest([ev(WAREHOUSE.id, s, "count", 10)])
    held = desk.hold(hold((s, 8), location=WAREHOUSE.id))
    backend.ledger.ingest([ev(WAREHOUSE.id, s, "count", 3, minutes=5)])

    report = reconcile(backend.ledger)

    assert [(h.reservation_id, h.location, h.sku, h.short_units) for h in report.short] == [
        (held.id, WAREHOUSE.id, s, 5)
    ]
    assert not [d for d in report.drifts if d.sku == s]  # short is not drift: the record is right


def test_explain_shows_the_units_reserved_beyond_stock(desk, backend):
    s = sku()
    backend.ledger.ingest([ev(WAREHOUSE.id, s, "count", 10)])
    desk.hold(hold((s, 8), location=WAREHOUSE.id))
    backend.ledger.ingest([ev(WAREHOUSE.id, s, "count", 3, minutes=5)])

    [part] = [c for c in backend.reader.explain(s).contributions if c.location == WAREHOUSE.id]

    assert (part.on_hand, part.reserved, part.short, part.counted) == (3, 8, 5, 0)
