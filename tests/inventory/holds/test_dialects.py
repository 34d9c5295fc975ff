"""A proposed group is written all or nothing, in one statement, on either driver."""

from __future__ import annotations

from sqlalchemy import func, select

from inventory.holds.dialects import dialect_of
from inventory.sql.transaction import driver_transaction
from tests.inventory.helpers import NETWORK, STORE, WAREHOUSE, ev, sku
from tests.inventory.holding import RES


def _write(backend, totals, reservations, lines, parts):
    engine = backend.ledger.engine
    dialect = dialect_of(engine)
    return driver_transaction(
        engine, lambda conn: dialect.write_at_once(conn, totals, reservations, lines, parts)
    )


def _state(backend, s: str) -> tuple:
    with backend.ledger.engine.connect() as conn:
        held = conn.scalar(select(func.count()).select_from(RES).where(RES.c.channel == s))
    positions = [backend.ledger.position(loc, s) for loc in (WAREHOUSE.id, STORE.id)]
    return held, [(p.reserved, p.on_hand) if p else None for p in positions]


def _group(s: str, rid: str, units: int):
    totals = [((STORE.id, s), units), ((WAREHOUSE.id, s), units)]
    reservations = [(rid, s, "digest", 1, None)]  # the channel names the SKU, to count its rows
    lines = [(rid, 0, STORE.id, s, units), (rid, 1, WAREHOUSE.id, s, units)]
    parts = [(STORE.id, s, s, units), (WAREHOUSE.id, s, s, units)]
    return totals, reservations, lines, parts


def test_a_group_one_of_whose_positions_falls_short_writes_nothing(backend):
    backend.ledger.upsert_locations(NETWORK)
    s = sku()
    backend.ledger.ingest([ev(WAREHOUSE.id, s, "count", 5), ev(STORE.id, s, "count", 1)])
    before = _state(backend, s)
    assert _write(backend, *_group(s, f"R-{s}", 2)) is None
    assert _state(backend, s) == before


def test_a_group_whose_reservation_id_is_recorded_writes_nothing(backend):
    backend.ledger.upsert_locations(NETWORK)
    s = sku()
    backend.ledger.ingest([ev(WAREHOUSE.id, s, "count", 5), ev(STORE.id, s, "count", 5)])
    assert _write(backend, *_group(s, f"R-{s}", 1)) is not None
    before = _state(backend, s)
    assert _write(backend, *_group(s, f"R-{s}", 2)) is None
    assert _state(backend, s) == before


def test_a_whole_group_takes_every_position_and_records_its_reservation(backend):
    backend.ledger.upsert_locations(NETWORK)
    s = sku()
    backend.ledger.ingest([ev(WAREHOUSE.id, s, "count", 5), ev(STORE.id, s, "count", 5)])
    rows = _write(backend, *_group(s, f"R-{s}", 2))
    assert rows is not None and len(rows) == 2
    held, positions = _state(backend, s)
    assert held == 1
    assert [reserved for reserved, _ in positions] == [2, 2]
