"""Settlement: a consumed hold's units leave in a shipment, out of `reserved` and `on_hand`, once.

The reservation moves `consumed` -> `settled` by one conditional update, so it is settled once;
its units leave `reserved` where every hold's units do (inventory.holds.lifecycle.give_back), and
leave `on_hand` as a `ship` stock event per line, decided by the count rule like any other event
(a count taken after the parcel left already excludes it). The ship events carry engine-made ids
that feeds may not use (inventory.domain.model.ENGINE_EVENT_PREFIX). Settlement is whole: the
shipment takes every line of the reservation.
"""

from __future__ import annotations

import hashlib
from datetime import datetime

from sqlalchemy import Connection, select, update

from inventory.domain.model import ENGINE_EVENT_PREFIX, EventType, StockEvent
from inventory.holds.lifecycle import give_back, reproject
from inventory.holds.outcome import Changes, HoldStatus, ReservationConflict, UnknownReservation
from inventory.sql.schema import ReservationLineRow, ReservationRow
from inventory.stock.ingest import ingest_events

RES = ReservationRow.__table__
LINE = ReservationLineRow.__table__


def ship_event_id(reservation_id: str, line: int, location: str) -> str:
    """The id of the ship event settling one line at one location: the same on every retry."""
    digest = hashlib.sha256(reservation_id.encode()).hexdigest()[:32]
    return f"{ENGINE_EVENT_PREFIX}ship:{digest}:{line}:{location}"


def settle(
    conn: Connection,
    reservation_id: str,
    shipment_id: str,
    shipped_at: datetime,
    now_us: int,
    changes: Changes,
) -> HoldStatus:
    """Settle a consumed reservation by `shipment_id`; the same shipment again is a replay."""
    moved = conn.execute(
        update(RES)
        .where(RES.c.id == reservation_id, RES.c.status == HoldStatus.consumed)
        .values(status=HoldStatus.settled, shipment_id=shipment_id)
        .returning(RES.c.id)
    ).first()
    if moved is None:
        return _already(conn, reservation_id, shipment_id, changes)
    lines = conn.execute(
        select(LINE.c.line, LINE.c.location, LINE.c.sku, LINE.c.quantity)
        .where(LINE.c.reservation_id == reservation_id)
        .order_by(LINE.c.line, LINE.c.location)
    ).all()
    give_back(conn, [reservation_id], changes)
    shipped = [
        (k, StockEvent(ship_event_id(reservation_id, line, loc), loc, sku, EventType.ship, units,
                       shipped_at, source="settlement"))
        for k, (line, loc, sku, units) in enumerate(lines)
    ]  # fmt: skip
    changes.positions.update(ingest_events(conn, shipped, now_us, locked=True).changed)
    return HoldStatus.settled


def _already(conn: Connection, reservation_id: str, shipment_id: str, changes: Changes):
    """Why a reservation was not settled now: a replay (re-projected), or a clear refusal."""
    row = conn.execute(
        select(RES.c.status, RES.c.shipment_id).where(RES.c.id == reservation_id)
    ).first()
    if row is None:
        raise UnknownReservation(f"no reservation {reservation_id!r}")
    status = HoldStatus(row.status)
    if status is HoldStatus.settled and row.shipment_id == shipment_id:
        reproject(conn, reservation_id, changes)
        return status
    if status is HoldStatus.settled:
        raise ReservationConflict(
            f"reservation {reservation_id!r} was settled by shipment {row.shipment_id!r}"
        )
    raise ReservationConflict(
        f"reservation {reservation_id!r} is {status.value}: only a consumed hold is settled"
    )
